#!/usr/bin/env python3
"""Plays whole episodes on a running `gtr serve` with OpenEnv's stock GenericEnvClient (unchanged) and writes the
per-step transcript for RealClientTests, which replays the same seeds and actions in gtr's REPL and compares.

    .venv-serve/bin/python scripts/serve_openenv_check.py http://127.0.0.1:PORT OUT.json

Episodes: Points24 seeds 1-4 follow the server's expert, seeds 5-7 a fixed rule over legal_actions (with a
parsed and an unparsable model output mixed in, sent as {"text": ...}); household seeds 1-3 follow the expert,
seed 4 a fixed rule (with one unparsable output). The expert is gtr's `expert` message sent over the same
WebSocket session through the stock client's own request path (OpenEnv's SyncEnvClient forwards coroutine
methods), i.e. without changing or subclassing the client.

OUT.json: {"client": "...", "episodes": [{"env", "seed", "policy", "reset": {"text", "prompt", "legal_actions",
"episode", "t", "done"}, "steps": [{"send": {"action": A} | {"text": T}, "action", "reward", "done",
"terminated", "truncated", "invalid", "text", "t", "episode", "episode_return"}], "return", "steps_played"}]}
Checks on the way: rewards are numbers, t counts up by one, the episode counter is the session's 1-based count,
the session id stays the same, every episode ends (done) within its step budget, state() agrees with the last
step. Prints one JSON summary line; exit 1 with a one-line reason otherwise.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Dict, List

from serve_common import fail, finish, run_main

NAME = "serve_openenv_check"
POINTS24_EXPERT = [1, 2, 3, 4]
POINTS24_RULE = [5, 6, 7]
HOUSEHOLD_EXPERT = [1, 2, 3]
HOUSEHOLD_RULE = [4]
MAX_STEPS = 200  # a safety net: every episode must end on its own well before this
PARSED_OUTPUT = '{"thoughts": "append a plus", "action": "+"}'
GARBAGE_OUTPUT = "no json here, just words"


def rule_action(seed: int, t: int, legal: List[str]) -> Dict[str, str]:
    """A fixed, seed-dependent walk over legal_actions, with two model outputs mixed in."""
    if t == 1:
        return {"text": PARSED_OUTPUT}
    if t == 2:
        return {"text": GARBAGE_OUTPUT}
    if not legal:
        fail(f"seed {seed} t={t}: empty legal_actions")
    return {"action": legal[(seed * 7 + t * 3) % len(legal)]}


def household_rule_action(seed: int, t: int, legal: List[str]) -> Dict[str, str]:
    if t == 3:
        return {"text": GARBAGE_OUTPUT}
    if not legal:
        fail(f"household seed {seed} t={t}: empty legal_actions")
    return {"action": legal[(seed * 5 + t * 11) % len(legal)]}


def play(client: Any, env: str, seed: int, policy: str, counters: Dict[str, Any]) -> Dict[str, Any]:
    result = client.reset(env=env, seed=seed, frames=False)
    obs = result.observation
    if result.done:
        fail(f"{env} seed {seed}: done right after reset")
    counters["episode"] += 1
    sid = obs.get("session_id")
    if counters["session"] is None:
        counters["session"] = sid
    elif sid != counters["session"]:
        fail(f"{env} seed {seed}: session_id changed from {counters['session']!r} to {sid!r}")
    if obs.get("episode") != counters["episode"]:
        fail(f"{env} seed {seed}: episode counter {obs.get('episode')!r}, expected {counters['episode']}")
    if obs.get("t") != 0:
        fail(f"{env} seed {seed}: t={obs.get('t')!r} after reset")
    # gtr's REPL calls the household env "alfworld"; the server may report either name.
    if obs.get("env") not in ((env, "alfworld") if env == "household" else (env,)):
        fail(f"{env} seed {seed}: observation says env={obs.get('env')!r}")
    record: Dict[str, Any] = {
        "env": env, "seed": seed, "policy": policy,
        "reset": {k: obs.get(k) for k in ("text", "prompt", "legal_actions", "episode", "t")} | {"done": result.done},
        "steps": [],
    }
    total = 0.0
    for t in range(1, MAX_STEPS + 1):
        legal = list(obs.get("legal_actions") or [])
        if policy == "expert":
            # gtr's `expert` message through the stock client's request path, on the same session.
            reply = client._send_and_receive({"type": "expert"})
            if reply.get("type") != "expert":
                fail(f"{env} seed {seed} t={t}: expert answered {reply.get('type')!r}")
            send = {"action": reply["data"]["action"]}
        elif env == "household":
            send = household_rule_action(seed, t, legal)
        else:
            send = rule_action(seed, t, legal)
        result = client.step(send)
        obs = result.observation
        if not isinstance(result.reward, (int, float)):
            fail(f"{env} seed {seed} t={t}: reward {result.reward!r} is not a number")
        if obs.get("t") != t:
            fail(f"{env} seed {seed}: step {t} reports t={obs.get('t')!r}")
        if obs.get("episode") != counters["episode"]:
            fail(f"{env} seed {seed} t={t}: episode counter moved to {obs.get('episode')!r}")
        total += float(result.reward)
        record["steps"].append({
            "send": send, "action": obs.get("action"), "reward": float(result.reward), "done": bool(result.done),
            "terminated": obs.get("terminated"), "truncated": obs.get("truncated"), "invalid": obs.get("invalid"),
            "text": obs.get("text"), "t": obs.get("t"), "episode": obs.get("episode"),
            "episode_return": obs.get("episode_return"),
        })
        if result.done:
            break
    else:
        fail(f"{env} seed {seed}: not done after {MAX_STEPS} steps")
    if abs(float(obs.get("episode_return", total)) - total) > 1e-6:
        fail(f"{env} seed {seed}: episode_return {obs.get('episode_return')!r} but rewards sum to {total}")
    state = client.state()
    if state.get("step_count") != len(record["steps"]) or state.get("done") is not True:
        fail(f"{env} seed {seed}: state() says step_count={state.get('step_count')!r} done={state.get('done')!r} "
             f"after {len(record['steps'])} steps ending the episode")
    if state.get("seed") not in (seed, str(seed)):
        fail(f"{env} seed {seed}: state() says seed={state.get('seed')!r}")
    record["return"] = total
    record["steps_played"] = len(record["steps"])
    if policy == "expert" and env == "household" and not obs.get("info", {}).get("won", total > 0):
        fail(f"household seed {seed}: the expert's episode did not end won (return {total})")
    return record


def main() -> None:
    if len(sys.argv) != 3:
        fail("usage: serve_openenv_check.py URL OUT.json")
    url, out = sys.argv[1], sys.argv[2]
    t0 = time.perf_counter()
    try:
        from openenv.core.generic_client import GenericEnvClient
    except ImportError as e:
        fail(f"openenv-core is not importable here: {e}")
    from importlib.metadata import version

    episodes: List[Dict[str, Any]] = []
    plan = ([("points24", s, "expert") for s in POINTS24_EXPERT] + [("points24", s, "rule") for s in POINTS24_RULE]
            + [("household", s, "expert") for s in HOUSEHOLD_EXPERT]
            + [("household", s, "rule") for s in HOUSEHOLD_RULE])
    client = GenericEnvClient(base_url=url).sync()
    counters: Dict[str, Any] = {"episode": 0, "session": None}
    with client:
        for env, seed, policy in plan:
            episodes.append(play(client, env, seed, policy, counters))
    p24 = [e for e in episodes if e["env"] == "points24"]
    hh = [e for e in episodes if e["env"] == "household"]
    if not any(e["return"] > 0 for e in p24 if e["policy"] == "expert"):
        fail("no Points24 expert episode scored (the expert should solve solvable hands)")
    with open(out, "w") as f:
        json.dump({"client": f"openenv-core {version('openenv-core')} GenericEnvClient", "url": url,
                   "episodes": episodes}, f, indent=1)
    finish(NAME, {
        "episodes": len(episodes), "points24_episodes": len(p24), "household_episodes": len(hh),
        "steps": sum(e["steps_played"] for e in episodes),
        "points24_returns": [e["return"] for e in p24], "household_returns": [e["return"] for e in hh],
        "truncated": sum(1 for e in episodes if e["steps"] and e["steps"][-1]["truncated"]),
        "out": out, "seconds": round(time.perf_counter() - t0, 2),
    })


if __name__ == "__main__":
    run_main(NAME, main)
