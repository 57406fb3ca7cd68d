#!/usr/bin/env python3
"""Rollouts from `gtr serve` with Ray actors, the way distributed RL trainers collect them.

    python ray_rollouts.py --url http://127.0.0.1:8000 --workers 4 --episodes 25 --env points24 \
        --policy random|expert|openai [--openai-url http://127.0.0.1:8080 --model NAME] --seed 0 --out traj.jsonl

Each `@ray.remote` actor owns one gtr session (its own WebSocket, through gtr_client.GtrEnv) and plays its
episodes with the chosen policy:
  random  uniform over the observation's legal_actions (seeded per worker and episode);
  expert  the server's `expert` message, on the same session;
  openai  an OpenAI-compatible /v1/chat/completions endpoint: GTR's prompt as the user message, the reply text
          goes to the server as {"text": reply} (GTR parsing and the env's invalid= rule happen server-side).
The seed of episode e of worker w is SEED + w * EPISODES + e: distinct and deterministic, so every episode is
accounted for. Writes JSONL: one line per step {"kind": "step", worker, episode, seed, t, prompt, action, reward,
done, terminated, truncated, invalid, text} and one per episode {"kind": "episode", worker, episode, seed, steps,
return, terminated, truncated, session_id}; prints a summary (and, with --json-summary, one JSON line).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import urllib.request
from typing import Any, Dict, List, Optional

import ray

CLIENT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # clients/python


def episode_seed(base: int, worker: int, episode: int, episodes: int) -> int:
    return base + worker * episodes + episode


def coerce(value: str) -> Any:
    """Command-line option values: integers and true/false become JSON numbers and booleans."""
    if value.lstrip("-").isdigit():
        return int(value)
    return {"true": True, "false": False}.get(value.lower(), value)


def chat_completion(url: str, model: str, prompt: str, api_key: Optional[str], timeout: float = 120.0) -> str:
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": 256,
            "temperature": 1.0}
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    endpoint = url.rstrip("/")
    if not endpoint.endswith("/chat/completions"):
        endpoint += "/chat/completions" if endpoint.endswith("/v1") else "/v1/chat/completions"
    req = urllib.request.Request(endpoint, data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        reply = json.loads(r.read().decode())
    return reply["choices"][0]["message"].get("content") or ""


@ray.remote(num_cpus=0.5)
class RolloutWorker:
    def __init__(self, worker: int, url: str, env: str, reset_options: Dict[str, Any], token: Optional[str]):
        if CLIENT_DIR not in sys.path:  # the repo's package when gtr-client is not installed
            sys.path.insert(0, CLIENT_DIR)
        from gtr_client import GtrEnv

        self.worker = worker
        self.env = GtrEnv(url, env=env, token=token, client=f"ray-worker-{worker}", **reset_options)

    def run(self, episodes: int, base_seed: int, policy: str, max_steps: int,
            openai: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        rows: List[Dict[str, Any]] = []
        for e in range(episodes):
            seed = episode_seed(base_seed, self.worker, e, episodes)
            rng = random.Random(seed)
            obs, info = self.env.reset(seed=seed)
            ret, steps, terminated, truncated = 0.0, 0, False, False
            while not (terminated or truncated) and steps < max_steps:
                if policy == "random":
                    action: Any = rng.choice(list(obs["legal_actions"]))
                    shown = action
                elif policy == "expert":
                    action = self.env.expert()["action"]
                    shown = action
                else:
                    reply = chat_completion(openai["url"], openai["model"], obs["prompt"], openai.get("api_key"))
                    action, shown = {"text": reply}, reply
                prompt = obs["prompt"]
                obs, reward, terminated, truncated, info = self.env.step(action)
                steps += 1
                ret += reward
                rows.append({"kind": "step", "worker": self.worker, "episode": e, "seed": seed, "t": info.get("t"),
                             "prompt": prompt, "action": shown, "executed": info.get("action"), "reward": reward,
                             "done": terminated or truncated, "terminated": terminated, "truncated": truncated,
                             "invalid": info.get("invalid"), "text": obs["text"]})
            rows.append({"kind": "episode", "worker": self.worker, "episode": e, "seed": seed, "steps": steps,
                         "return": ret, "terminated": terminated, "truncated": truncated,
                         "finished": terminated or truncated, "server_episode": info.get("episode"),
                         "session_id": info.get("session_id")})
        return rows

    def close(self) -> None:
        self.env.close()


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    p = argparse.ArgumentParser(description="Ray rollouts from gtr serve")
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--episodes", type=int, default=5, help="episodes per worker")
    p.add_argument("--env", default="points24")
    p.add_argument("--policy", choices=["random", "expert", "openai"], default="random")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-steps", type=int, default=200, help="client-side cap per episode (the env ends sooner)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a reset option (cards=..., task=..., max_steps=..., observation=text, invalid=...)")
    p.add_argument("--frames", action="store_true", help="ask for the base64 PNG frame in observations")
    p.add_argument("--token")
    p.add_argument("--openai-url", help="OpenAI-compatible server (…/v1/chat/completions)")
    p.add_argument("--model", default="default")
    p.add_argument("--api-key", default=os.environ.get("OPENAI_API_KEY"))
    p.add_argument("--out", default="trajectories.jsonl")
    p.add_argument("--num-cpus", type=int, default=2)
    p.add_argument("--json-summary", action="store_true", help="print the summary as one JSON line too")
    a = p.parse_args(argv)
    if a.policy == "openai" and not a.openai_url:
        p.error("--policy openai needs --openai-url")
    options: Dict[str, Any] = {k: coerce(v) for k, v in (kv.split("=", 1) for kv in a.option)}
    options["frames"] = a.frames

    t0 = time.perf_counter()
    # Workers must import this module (the actor class is pickled by reference when it is imported, as
    # scripts/serve_ray_check.py does) and gtr_client: both directories go on their PYTHONPATH.
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.pathsep.join(p for p in (here, CLIENT_DIR, os.environ.get("PYTHONPATH")) if p)
    ray.init(num_cpus=a.num_cpus, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    try:
        workers = [RolloutWorker.remote(w, a.url, a.env, options, a.token) for w in range(a.workers)]
        openai = {"url": a.openai_url, "model": a.model, "api_key": a.api_key} if a.policy == "openai" else None
        results = ray.get([w.run.remote(a.episodes, a.seed, a.policy, a.max_steps, openai) for w in workers])
        ray.get([w.close.remote() for w in workers])
    finally:
        ray.shutdown()
    wall = time.perf_counter() - t0

    rows = [r for worker_rows in results for r in worker_rows]
    with open(a.out, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    eps = [r for r in rows if r["kind"] == "episode"]
    steps = [r for r in rows if r["kind"] == "step"]
    summary = {"workers": a.workers, "episodes": len(eps), "steps": len(steps), "policy": a.policy, "env": a.env,
               "finished": sum(1 for e in eps if e["finished"]), "truncated": sum(1 for e in eps if e["truncated"]),
               "mean_return": round(sum(e["return"] for e in eps) / max(1, len(eps)), 4),
               "success": sum(1 for e in eps if e["return"] > 0), "seconds": round(wall, 2),
               "steps_per_s": round(len(steps) / wall, 1), "out": a.out}
    print(f"{summary['episodes']} episodes ({summary['finished']} finished, {summary['truncated']} truncated), "
          f"{summary['steps']} steps by {a.workers} workers in {wall:.1f}s; mean return {summary['mean_return']}, "
          f"{summary['success']} with a positive return; wrote {a.out}")
    if a.json_summary:
        print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
