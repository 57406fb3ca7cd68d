#!/usr/bin/env python3
"""A `gtr serve` started with a token: OpenEnv's stock client without it gets UNAUTHORIZED (and no session is
opened), with a wrong one the same; with ?token= in the URL (or a bearer header on a raw WebSocket) it plays.

    .venv-serve/bin/python scripts/serve_token_check.py URL TOKEN
Prints one JSON summary line; exit 1 with a one-line reason otherwise.
"""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.request

from serve_common import fail, finish, run_main

NAME = "serve_token_check"


def main() -> None:
    from openenv.core.generic_client import GenericEnvClient
    import websockets

    url, token = sys.argv[1], sys.argv[2]
    # OpenEnv's client as it comes, without the token (a wrong token goes through a raw WebSocket below).
    try:
        with GenericEnvClient(base_url=url).sync() as env:
            env.reset(seed=1)
        fail("a client without the token was served")
    except RuntimeError as e:
        if "UNAUTHORIZED" not in str(e):
            fail(f"expected UNAUTHORIZED, got: {e}")
        refused = str(e)

    ws = url.replace("http://", "ws://") + "/ws"

    async def raw() -> dict:
        out = {}
        c = await websockets.connect(ws + "?token=wrong")
        try:
            out["wrong"] = json.loads(await c.recv())["data"]["code"]
        except websockets.exceptions.ConnectionClosed:
            out["wrong"] = "closed without a reply"
        try:
            await c.close()
        except websockets.exceptions.ConnectionClosed:
            pass  # the server closed first, with code 1008
        async with websockets.connect(ws + "?token=" + token + "&client=token-check") as c:
            await c.send(json.dumps({"type": "reset", "data": {"seed": 2, "frames": False}}))
            out["query"] = json.loads(await c.recv())["type"]
        async with websockets.connect(ws, additional_headers={"Authorization": "Bearer " + token}) as c:
            await c.send(json.dumps({"type": "state"}))
            out["bearer"] = json.loads(await c.recv())["type"]
        return out

    got = asyncio.run(raw())
    if got != {"wrong": "UNAUTHORIZED", "query": "observation", "bearer": "state"}:
        fail(f"unexpected replies: {got}")
    req = urllib.request.Request(url + "/metadata")
    try:
        urllib.request.urlopen(req, timeout=10)
        fail("GET /metadata without the token was answered")
    except urllib.error.HTTPError as e:
        if e.code != 401:
            fail(f"GET /metadata without the token: HTTP {e.code}, expected 401")
        body = e.read().decode()
        if token in body:
            fail("the token was echoed")
    finish(NAME, {"refused": refused[:120], **got})


if __name__ == "__main__":
    run_main(NAME, main)
