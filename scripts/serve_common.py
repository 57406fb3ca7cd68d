"""Shared bits of the gtr serve check scripts (scripts/serve_*.py): failing with one line, the final JSON summary,
finding the in-repo client package, and the HTTP /health probe."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from typing import Any, Dict, NoReturn

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLIENT_DIR = os.path.join(REPO, "clients", "python")


def use_repo_client() -> None:
    """Make `import gtr_client` find clients/python when the package is not installed."""
    if CLIENT_DIR not in sys.path:
        sys.path.insert(0, CLIENT_DIR)


class CheckFailed(Exception):
    pass


def fail(reason: str) -> NoReturn:
    raise CheckFailed(reason)


def finish(name: str, summary: Dict[str, Any], ok: bool = True) -> None:
    """Print the final JSON summary line and exit 0 (or 1)."""
    summary = {"check": name, "ok": ok, **summary}
    print(json.dumps(summary, sort_keys=False), flush=True)
    sys.exit(0 if ok else 1)


def run_main(name: str, main) -> None:
    """Run `main()`; a CheckFailed (or any exception) becomes one line on stderr, a JSON summary and exit 1."""
    try:
        main()
    except CheckFailed as e:
        print(f"{name}: FAILED: {e}", file=sys.stderr, flush=True)
        finish(name, {"reason": str(e)}, ok=False)
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - one line, whatever went wrong
        reason = f"{type(e).__name__}: {e}".splitlines()[0][:500]
        print(f"{name}: FAILED: {reason}", file=sys.stderr, flush=True)
        finish(name, {"reason": reason}, ok=False)


def http_json(url: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url.rstrip("/") + path, data=data,
                                 headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read().decode())


def health(url: str) -> Dict[str, Any]:
    h = http_json(url, "/health")
    if h.get("status") != "healthy":
        fail(f"/health answered {h!r}")
    return h


def ws_url(url: str) -> str:
    u = url.rstrip("/")
    if u.startswith("http://"):
        u = "ws://" + u[len("http://"):]
    elif u.startswith("https://"):
        u = "wss://" + u[len("https://"):]
    return u + "/ws"
