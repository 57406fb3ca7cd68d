#!/usr/bin/env python3
"""Load test of a running `gtr serve`, and the same client loop on in-process peers, for side-by-side steps/s.

    .venv-serve/bin/python scripts/serve_load.py URL [--sessions 64] [--steps 500] [--pid SERVER_PID]
        [--household-sessions 8] [--household-steps 100] [--loop-steps 300]
        [--alfworld-python .venv-alfworld/bin/python] [--gym-cards PATH] [--json OUT]

1. Concurrency (asyncio + websockets, one connection per session): SESSIONS sessions x STEPS steps of Points24,
   uniformly random over legal_actions, resetting when done; once with frames off, once with frames on; then
   household with fewer sessions. Every session is dealt its own cards (`cards=` reset option) and its own seeds
   (base + 1000 * session + episode) and checks every reply is its own: reply type, session id constant, episode
   counter = its own count, t = its own step count, the executed action = the one it sent (or "(invalid)"),
   metadata.seed = the seed it sent, info's cards = the cards it was dealt, a frame exactly when frames are on.
   Reports steps/s (all sessions together), p50/p99 step latency, and the server's peak RSS (VmHWM of --pid).
2. The same synchronous gymnasium-style loop (reset, random legal action, step, reset when done) for one session:
   gtr serve Points24 and household through gtr_client.GtrEnv; the real ALFWorld text engine in-process (games
   written by `gtr gen-household`, run by this very script under the alfworld venv's python: `--peer alfworld`);
   gym-cards' Points24 in-process when `--gym-cards PATH` points at a checkout of RL4VLM's gym-cards (not on PyPI;
   skipped with a message otherwise).
Prints one JSON summary line (exit 1 with a one-line reason if any check fails).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

ARGV = list(sys.argv)  # the ALFWorld engine's translator overwrites sys.argv

from serve_common import REPO, fail, finish, run_main, use_repo_client, ws_url  # noqa: E402

NAME = "serve_load"


def percentile(xs: Sequence[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))
    return s[k]


def latency_summary(lat: Sequence[float], wall: float) -> Dict[str, Any]:
    return {"steps": len(lat), "seconds": round(wall, 3), "steps_per_s": round(len(lat) / wall, 1) if wall else None,
            "p50_ms": round(percentile(lat, 0.5) * 1e3, 3), "p99_ms": round(percentile(lat, 0.99) * 1e3, 3)}


def hand_for(i: int) -> List[str]:
    """A distinct 4-card hand (card names, suit then rank: "HJ", "D7") per session index."""
    ranks, suits = "A23456789TJQK", "HSDC"
    return [suits[(i + k) % 4] + ranks[(i // 13 ** k + 5 * k) % 13] for k in range(4)]


# -- 1. concurrent sessions over raw WebSockets ------------------------------------------------------------------

class Mismatch(Exception):
    pass


async def session_worker(url: str, index: int, steps: int, env: str, frames: bool,
                         latencies: List[float], counts: Dict[str, int]) -> None:
    import websockets

    rng = random.Random(1_000_003 * (index + 1))
    cards = hand_for(index) if env == "points24" else None
    base_seed = 10_000 + 1000 * index
    async with websockets.connect(ws_url(url), max_size=None, open_timeout=30, ping_interval=None) as ws:
        async def ask(msg: Dict[str, Any]) -> Dict[str, Any]:
            await ws.send(json.dumps(msg))
            reply = json.loads(await ws.recv())
            if reply.get("type") != "observation":
                raise Mismatch(f"session {index}: {msg['type']} answered {json.dumps(reply)[:200]}")
            return reply["data"]

        episode = 0
        sid: Optional[str] = None

        async def reset() -> Dict[str, Any]:
            nonlocal episode, sid
            episode += 1
            seed = base_seed + episode
            data: Dict[str, Any] = {"env": env, "seed": seed, "frames": frames}
            if cards:
                data["cards"] = cards
            d = await ask({"type": "reset", "data": data})
            o, meta = d["observation"], d.get("metadata") or {}
            sid = sid or o.get("session_id")
            if meta.get("seed") not in (seed, str(seed)):
                raise Mismatch(f"session {index}: reset with seed {seed} reports seed {meta.get('seed')!r}")
            check(o, 0, d)
            counts["resets"] += 1
            return o

        def check(o: Dict[str, Any], t: int, d: Dict[str, Any]) -> None:
            if o.get("session_id") != sid:
                raise Mismatch(f"session {index}: session id {o.get('session_id')!r}, expected {sid!r}")
            if o.get("episode") != episode or o.get("t") != t:
                raise Mismatch(f"session {index}: got episode {o.get('episode')} t={o.get('t')}, "
                               f"expected episode {episode} t={t}")
            if cards is not None:
                dealt = (o.get("info") or {}).get("Cards")
                if dealt is None or [c.replace("10", "T") for c in dealt] != cards:
                    raise Mismatch(f"session {index}: info Cards {dealt}, dealt {cards}")
            if frames != bool(o.get("frame")):
                raise Mismatch(f"session {index}: frames={frames} but frame is {'set' if o.get('frame') else 'null'}")

        o = await reset()
        t = 0
        for _ in range(steps):
            legal = o.get("legal_actions") or []
            if not legal:
                raise Mismatch(f"session {index}: no legal actions at t={t}")
            action = rng.choice(legal)
            t0 = time.perf_counter()
            d = await ask({"type": "step", "data": {"action": action}})
            latencies.append(time.perf_counter() - t0)
            o = d["observation"]
            t += 1
            check(o, t, d)
            if o.get("action") not in (action, "(invalid)"):
                raise Mismatch(f"session {index}: sent {action!r}, server executed {o.get('action')!r}")
            counts["steps"] += 1
            if d.get("done"):
                counts["episodes"] += 1
                o = await reset()
                t = 0
        await ws.send(json.dumps({"type": "close"}))


async def concurrent_phase(url: str, sessions: int, steps: int, env: str, frames: bool) -> Dict[str, Any]:
    latencies: List[float] = []
    counts = {"steps": 0, "resets": 0, "episodes": 0}
    t0 = time.perf_counter()
    results = await asyncio.gather(*(session_worker(url, i, steps, env, frames, latencies, counts)
                                     for i in range(sessions)), return_exceptions=True)
    wall = time.perf_counter() - t0
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        fail(f"{env} frames={frames}: {len(errors)} of {sessions} sessions failed; first: "
             f"{type(errors[0]).__name__}: {errors[0]}")
    if counts["steps"] != sessions * steps:
        fail(f"{env} frames={frames}: {counts['steps']} steps counted, expected {sessions * steps}")
    return {"env": env, "frames": frames, "sessions": sessions, "episodes_finished": counts["episodes"],
            "resets": counts["resets"], **latency_summary(latencies, wall)}


# -- 2. one synchronous gymnasium-style loop, on the server and on in-process peers -------------------------------

Reset = Callable[[int], Tuple[Any, List[str]]]
Step = Callable[[Any], Tuple[bool, List[str]]]


def sync_loop(reset: Reset, step: Step, steps: int, seed: int = 0) -> Dict[str, Any]:
    """reset(seed) -> (obs, legal); step(action) -> (done, legal). Random legal actions; reset when done."""
    rng = random.Random(seed)
    lat: List[float] = []
    episode = 0
    t_start = time.perf_counter()
    _, legal = reset(seed * 1000 + episode)
    resets = 1
    for _ in range(steps):
        a = rng.choice(legal)
        t0 = time.perf_counter()
        done, legal = step(a)
        lat.append(time.perf_counter() - t0)
        if done:
            episode += 1
            _, legal = reset(seed * 1000 + episode)
            resets += 1
    wall = time.perf_counter() - t_start
    out = latency_summary(lat, wall)
    out["resets"] = resets
    out["steps_per_s_incl_resets"] = out.pop("steps_per_s")
    return out


def gtr_env_loop(url: str, env: str, steps: int) -> Dict[str, Any]:
    use_repo_client()
    from gtr_client import GtrEnv

    # Points24 with its frame, as gym-cards renders one every step; the household engine is text.
    g = GtrEnv(url, env=env, frames=(env == "points24"), client="serve_load")
    try:
        def reset(seed: int):
            obs, _ = g.reset(seed=seed)
            return obs, list(obs["legal_actions"])

        def step(a):
            obs, _, term, trunc, _ = g.step(a)
            return term or trunc, list(obs["legal_actions"])

        return {"peer": f"gtr serve {env} (GtrEnv over OpenEnv's client)", **sync_loop(reset, step, steps)}
    finally:
        g.close()


def gym_cards_loop(path: str, steps: int) -> Dict[str, Any]:
    sys.path.insert(0, path)
    import gymnasium
    import gym_cards  # noqa: F401  (registers gym_cards/Points24-v0)

    env = gymnasium.make("gym_cards/Points24-v0")
    n = env.action_space.n

    def reset(seed: int):
        obs, _ = env.reset(seed=seed)
        return obs, list(range(n))

    def step(a):
        _, _, term, trunc, _ = env.step(a)
        return term or trunc, list(range(n))

    return {"peer": "gym-cards Points24-v0 in-process (renders a frame every step)", **sync_loop(reset, step, steps)}


def alfworld_peer(games: List[str], steps: int) -> Dict[str, Any]:
    """Runs inside the alfworld venv: the real text engine (textworld PddlEnv + ALFWorld's AlfredDemangler)."""
    import textworld
    from alfworld.agents.environment.alfred_tw_env import AlfredDemangler

    infos = textworld.EnvInfos(won=True, admissible_commands=True)
    t0 = time.perf_counter()
    envs = [textworld.start(g, infos, wrappers=[AlfredDemangler()]) for g in games]
    load = (time.perf_counter() - t0) / len(envs)
    current = {"env": envs[0]}

    def reset(seed: int):
        e = envs[seed % len(envs)]
        current["env"] = e
        s = e.reset()
        return s.feedback, sorted(s.admissible_commands)

    def step(a):
        s, _, done = current["env"].step(a)
        return bool(done), sorted(s.admissible_commands)

    out = {"peer": "ALFWorld 0.4.2 text engine in-process (stock textworld PddlEnv)", "games": len(games),
           "load_s_per_game": round(load, 3), **sync_loop(reset, step, steps)}
    for e in envs:
        e.close()
    return out


def run_alfworld_peer(python: str, gtr: str, steps: int) -> Dict[str, Any]:
    if not os.path.exists(python):
        return {"peer": "ALFWorld", "skipped": f"{python} not found (make alfworld)"}
    if not os.path.exists(gtr):
        return {"peer": "ALFWorld", "skipped": f"{gtr} not found (games are written by gtr gen-household)"}
    with tempfile.TemporaryDirectory(prefix="gtr-load-") as tmp:
        r = subprocess.run([gtr, "gen-household", f"out={tmp}/games", "task=all", "games=1", "seed=7"], cwd=REPO,
                           env={**os.environ, "GTR_HOME": tmp, "NO_COLOR": "1"}, capture_output=True, text=True,
                           timeout=300)
        games = sorted(os.path.join(d, "game.tw-pddl") for d, _, files in os.walk(f"{tmp}/games")
                       if "game.tw-pddl" in files)
        if r.returncode != 0 or not games:
            return {"peer": "ALFWorld", "skipped": f"gtr gen-household failed: {(r.stderr or r.stdout).strip()[:200]}"}
        r = subprocess.run([python, os.path.abspath(__file__), "--peer", "alfworld", "--loop-steps", str(steps),
                            "--games", *games], cwd=REPO, capture_output=True, text=True, timeout=1800)
        if r.returncode != 0:
            return {"peer": "ALFWorld", "skipped": f"peer failed: {(r.stderr.strip().splitlines() or ['?'])[-1][:300]}"}
        return json.loads(r.stdout.strip().splitlines()[-1])


def vm_hwm(pid: Optional[int]) -> Optional[int]:
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("url", nargs="?")
    p.add_argument("--sessions", type=int, default=64)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--household-sessions", type=int, default=8)
    p.add_argument("--household-steps", type=int, default=100)
    p.add_argument("--loop-steps", type=int, default=300, help="steps of the single-session loop per peer")
    p.add_argument("--pid", type=int)
    p.add_argument("--alfworld-python", default=os.path.join(REPO, ".venv-alfworld", "bin", "python"))
    p.add_argument("--gtr", default=os.path.join(REPO, ".build", "release", "gtr"))
    p.add_argument("--gym-cards", help="path to a gym-cards source checkout (RL4VLM/gym-cards)")
    p.add_argument("--no-peers", action="store_true")
    p.add_argument("--json", help="also write the summary here")
    p.add_argument("--table", action="store_true", help="also print a readable table (make bench)")
    p.add_argument("--peer", choices=["alfworld"], help=argparse.SUPPRESS)
    p.add_argument("--games", nargs="*", help=argparse.SUPPRESS)
    a = p.parse_args(ARGV[1:])

    if a.peer == "alfworld":  # child mode, under the alfworld venv
        print(json.dumps(alfworld_peer(a.games, a.loop_steps)))
        return
    if not a.url:
        fail("usage: serve_load.py URL [--sessions N] [--steps N] [--pid PID] ...")

    phases = []
    for frames in (False, True):
        phases.append(asyncio.run(concurrent_phase(a.url, a.sessions, a.steps, "points24", frames)))
        print(json.dumps(phases[-1]), file=sys.stderr, flush=True)
    if a.household_sessions > 0:
        phases.append(asyncio.run(concurrent_phase(a.url, a.household_sessions, a.household_steps, "household",
                                                   False)))
        print(json.dumps(phases[-1]), file=sys.stderr, flush=True)

    loops: List[Dict[str, Any]] = []
    if not a.no_peers:
        loops.append(gtr_env_loop(a.url, "points24", a.loop_steps))
        loops.append(gtr_env_loop(a.url, "household", a.loop_steps))
        loops.append(run_alfworld_peer(a.alfworld_python, a.gtr, a.loop_steps))
        if a.gym_cards:
            try:
                loops.append(gym_cards_loop(a.gym_cards, a.loop_steps))
            except Exception as e:  # noqa: BLE001
                loops.append({"peer": "gym-cards", "skipped": f"{type(e).__name__}: {e}"})
        else:
            loops.append({"peer": "gym-cards", "skipped": "gym_cards is not on PyPI; pass --gym-cards PATH"})
        for loop in loops:
            print(json.dumps(loop), file=sys.stderr, flush=True)

    summary = {"url": a.url, "phases": phases, "single_session_loops": loops,
               "server_peak_rss_bytes": vm_hwm(a.pid)}
    if a.table:
        print_table(summary)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=1)
    finish(NAME, summary)


def print_table(summary: Dict[str, Any]) -> None:
    """The figures as `make bench` shows them (the JSON line follows)."""
    rss = summary.get("server_peak_rss_bytes")
    print("| gtr serve, loopback | steps/s | p50 | p99 | notes |")
    print("|---|---|---|---|---|")
    for ph in summary["phases"]:
        per = ph["steps"] // max(1, ph["sessions"])
        name = f"{ph['sessions']} sessions x {per} steps, {ph['env']}" + (", frames on" if ph["frames"] else ", frames off")
        print(f"| {name} | {ph['steps_per_s']} | {ph['p50_ms']} ms | {ph['p99_ms']} ms | "
              f"all {ph['steps']} replies checked: none lost or crossed |")
    for lp in summary["single_session_loops"]:
        if "skipped" in lp:
            print(f"| one session, {lp.get('peer')} | - | - | - | skipped: {lp['skipped']} |")
        else:
            print(f"| one session, {lp.get('peer')} | {lp.get('steps_per_s_incl_resets')} | {lp.get('p50_ms')} ms | "
                  f"{lp.get('p99_ms')} ms | same Python loop, {lp.get('resets')} resets in {lp.get('steps')} steps (steps/s include resets; p50/p99 per step) |")
    if rss:
        print(f"server peak RSS: {rss / 2**20:.0f} MiB")


if __name__ == "__main__":
    run_main(NAME, main)
