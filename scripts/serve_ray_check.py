#!/usr/bin/env python3
"""A Ray job against a running `gtr serve`: 4 actors x 25 Points24 episodes (clients/python/examples/ray_rollouts.py),
then checks that all 100 episodes are accounted for.

    .venv-serve/bin/python scripts/serve_ray_check.py URL [--policy random|expert] [--workers 4] [--episodes 25]
        [--db $GTR_HOME/gtr.sqlite]

Checks: one summary row per (worker, episode), 100 distinct pairs and 100 distinct seeds (seed = base + worker *
episodes + episode); each episode finished (terminated or truncated, never both); its step rows number its
`steps`, run t = 1..n, end with the only done row, and sum to its return; each worker's session counts episodes
1..25 and different workers have different session ids. With --db (the server's session log, read-only): every
seed appears as a logged Points24 episode of that length (retried for a few seconds while the log catches up).
Prints one JSON summary line; exit 1 with a one-line reason otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from typing import Any, Dict, List

from serve_common import CLIENT_DIR, fail, finish, run_main

NAME = "serve_ray_check"


def check_rows(rows: List[Dict[str, Any]], workers: int, episodes: int, base: int) -> Dict[str, Any]:
    eps = [r for r in rows if r["kind"] == "episode"]
    steps = defaultdict(list)
    for r in rows:
        if r["kind"] == "step":
            steps[(r["worker"], r["episode"])].append(r)
    keys = {(e["worker"], e["episode"]) for e in eps}
    if len(eps) != workers * episodes or len(keys) != workers * episodes:
        fail(f"{len(eps)} episode rows, {len(keys)} distinct (worker, episode); expected {workers * episodes}")
    seeds = {e["seed"] for e in eps}
    if len(seeds) != workers * episodes:
        fail(f"{len(seeds)} distinct seeds for {workers * episodes} episodes")
    sessions = defaultdict(set)
    for e in eps:
        w, k = e["worker"], e["episode"]
        if e["seed"] != base + w * episodes + k:
            fail(f"worker {w} episode {k}: seed {e['seed']}, expected {base + w * episodes + k}")
        if not e["finished"] or (e["terminated"] and e["truncated"]):
            fail(f"worker {w} episode {k}: terminated={e['terminated']} truncated={e['truncated']}")
        s = steps[(w, k)]
        if len(s) != e["steps"] or not s:
            fail(f"worker {w} episode {k}: {len(s)} step rows, summary says {e['steps']}")
        if [r["t"] for r in s] != list(range(1, len(s) + 1)):
            fail(f"worker {w} episode {k}: t runs {[r['t'] for r in s][:10]}...")
        if [r["done"] for r in s] != [False] * (len(s) - 1) + [True]:
            fail(f"worker {w} episode {k}: done flags {[r['done'] for r in s]}")
        if abs(sum(r["reward"] for r in s) - e["return"]) > 1e-6:
            fail(f"worker {w} episode {k}: rewards do not sum to the return")
        if any(r["seed"] != e["seed"] for r in s):
            fail(f"worker {w} episode {k}: a step row carries another seed")
        if e["server_episode"] != k + 1:
            fail(f"worker {w} episode {k}: the server counts it as episode {e['server_episode']} of the session")
        sessions[w].add(e["session_id"])
    if any(len(v) != 1 for v in sessions.values()):
        fail(f"a worker's episodes came from several sessions: {dict(sessions)}")
    ids = [next(iter(v)) for v in sessions.values()]
    if len(set(ids)) != len(ids) or None in ids:
        fail(f"workers share session ids: {ids}")
    return {"episodes": len(eps), "steps": sum(len(v) for v in steps.values()),
            "terminated": sum(1 for e in eps if e["terminated"]), "truncated": sum(1 for e in eps if e["truncated"]),
            "mean_return": round(sum(e["return"] for e in eps) / len(eps), 4), "sessions": len(ids)}


def check_log(db: str, eps: List[Dict[str, Any]]) -> Dict[str, Any]:
    want = {e["seed"]: e["steps"] for e in eps}
    missing: Dict[int, Any] = dict(want)
    deadline = time.time() + 15
    while True:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            placeholders = ",".join("?" * len(want))
            logged = con.execute(f"SELECT seed, length FROM episodes WHERE env = 'points24' AND seed IN "
                                 f"({placeholders}) AND ended_at IS NOT NULL", list(want)).fetchall()
        finally:
            con.close()
        lengths = defaultdict(set)
        for seed, length in logged:
            lengths[seed].add(length)
        missing = {s: n for s, n in want.items() if n not in lengths.get(s, set())}
        if not missing or time.time() > deadline:
            break
        time.sleep(1)
    if missing:
        s = next(iter(missing))
        fail(f"the server's log lacks {len(missing)} of {len(want)} episodes, e.g. seed {s} with {missing[s]} steps "
             f"(logged lengths {sorted(lengths.get(s, set()))})")
    return {"log_episodes_found": len(want)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--policy", choices=["random", "expert"], default="random")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--episodes", type=int, default=25)
    p.add_argument("--seed", type=int, default=20_000)
    p.add_argument("--db", help="the server's session log ($GTR_HOME/gtr.sqlite)")
    a = p.parse_args()
    sys.path.insert(0, os.path.join(CLIENT_DIR, "examples"))
    try:
        import ray  # noqa: F401
    except ImportError as e:
        fail(f"ray is not importable here: {e}")
    import ray_rollouts

    with tempfile.TemporaryDirectory(prefix="gtr-ray-") as tmp:
        out = os.path.join(tmp, "traj.jsonl")
        summary = ray_rollouts.main(["--url", a.url, "--workers", str(a.workers), "--episodes", str(a.episodes),
                                     "--env", "points24", "--policy", a.policy, "--seed", str(a.seed),
                                     "--out", out])
        with open(out) as f:
            rows = [json.loads(line) for line in f]
    result = check_rows(rows, a.workers, a.episodes, a.seed)
    if a.db:
        result |= check_log(a.db, [r for r in rows if r["kind"] == "episode"])
    finish(NAME, {"policy": a.policy, "workers": a.workers, **result, "seconds": summary["seconds"],
                  "steps_per_s": summary["steps_per_s"]})


if __name__ == "__main__":
    run_main(NAME, main)
