"""Plays command sequences in the real ALFWorld text engine (textworld PddlEnv + ALFWorld's AlfredDemangler) and
prints what it answered, as JSON, for gtr's household conformance check (issue 7).

    python scripts/alfworld_driver.py GAME.tw-pddl --commands CMDS.json       # play a given sequence
    python scripts/alfworld_driver.py GAME.tw-pddl --random 40 --seed 3      # 40 random admissible commands
                                                                              # (every 7th one made invalid)
    python scripts/alfworld_driver.py --batch JOBS.json                       # many games in one process:
        JOBS = [{"game": PATH, "commands": [...]} or {"game": PATH, "random": N, "seed": S}, ...] → a JSON list
Output: {"intro": str, "admissible": [sorted], "won": bool,
         "steps": [{"command": str, "feedback": str, "admissible": [sorted], "won": bool}, ...]}

Needs `pip install alfworld==0.4.2` (textworld 1.7 with Fast Downward); no ALFWorld data download.
Behaviour observed with it that the native engine reproduces: admissible commands are the rendered templates of
the applicable grounded operators, sorted; `go to` the current receptacle and `examine OBJECT` for objects not
held are never admissible; anything not admissible answers "Nothing happens."; lists render as "a x", "a x, and
a y", "a x, a y, and a z" or "nothing", in the order of the entities' PDDL names.
"""
import argparse
import json
import random
import sys

ARGV = list(sys.argv)  # fast_downward's translator overwrites sys.argv


def play(game, commands=None, n_random=0, seed=0):
    import textworld
    from alfworld.agents.environment.alfred_tw_env import AlfredDemangler

    infos = textworld.EnvInfos(won=True, admissible_commands=True)
    env = textworld.start(game, infos, wrappers=[AlfredDemangler()])
    s = env.reset()
    out = {"intro": s.feedback, "admissible": sorted(s.admissible_commands), "won": bool(s.won), "steps": []}
    rng = random.Random(seed)
    n = len(commands) if commands is not None else n_random
    admissible = sorted(s.admissible_commands)
    for k in range(n):
        if commands is not None:
            c = commands[k]
        elif k % 7 == 6:
            c = rng.choice(["jump around", "take unicorn 1 from countertop 1", "go to moon 1", admissible[0] + " now"])
        else:
            c = rng.choice(admissible)
        s, _, done = env.step(c)
        admissible = sorted(s.admissible_commands)
        out["steps"].append({"command": c, "feedback": s.feedback, "admissible": admissible, "won": bool(s.won)})
        if done:
            break
    env.close()
    return out


def bench(games, steps, seed):
    """Mean seconds per load, reset and step (random admissible commands) of the real engine."""
    import time
    import textworld
    from alfworld.agents.environment.alfred_tw_env import AlfredDemangler

    infos = textworld.EnvInfos(won=True, admissible_commands=True)
    rng = random.Random(seed)
    load = reset = step = 0.0
    n_steps = n_resets = 0
    for g in games:
        t = time.perf_counter()
        env = textworld.start(g, infos, wrappers=[AlfredDemangler()])
        s = env.reset()
        load += time.perf_counter() - t
        for _ in range(2):
            t = time.perf_counter()
            s = env.reset()
            reset += time.perf_counter() - t
            n_resets += 1
            for _ in range(steps):
                c = rng.choice(sorted(s.admissible_commands))
                t = time.perf_counter()
                s, _, done = env.step(c)
                step += time.perf_counter() - t
                n_steps += 1
                if done:
                    break
        env.close()
    return {"load": load / len(games), "reset": reset / n_resets, "step": step / n_steps, "steps": n_steps}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("game", nargs="?")
    p.add_argument("--bench", nargs="*")
    p.add_argument("--commands")
    p.add_argument("--random", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch")
    a = p.parse_args(ARGV[1:])
    if a.bench:
        json.dump(bench(a.bench, a.random or 30, a.seed), sys.stdout)
        return
    if a.batch:
        with open(a.batch) as f:
            jobs = json.load(f)
        json.dump([play(j["game"], j.get("commands"), j.get("random", 0), j.get("seed", 0)) for j in jobs], sys.stdout)
        return
    commands = None
    if a.commands:
        with open(a.commands) as f:
            commands = json.load(f)
    json.dump(play(a.game, commands, a.random, a.seed), sys.stdout)


if __name__ == "__main__":
    main()
