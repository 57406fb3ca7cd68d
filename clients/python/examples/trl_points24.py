#!/usr/bin/env python3
"""GRPO on gtr's Points24 through TRL's environment hook, with the game served by `gtr serve`.

Written against TRL 1.16.0 (read from its wheel: trl/trainer/grpo_trainer.py). In that version
`GRPOTrainer(..., environment_factory=F)` (experimental; needs transformers >= 5.2 and a chat template that can
render tool calls) works like this:
  * `F()` is called once up front (a probe, kept in a pool) and again whenever a batch needs more concurrent
    instances; instances are reused across batches, one per rollout at a time.
  * Before each rollout the trainer calls `instance.reset(**row)` with the dataset row (here `prompt` and `seed`);
    a string it returns is appended to the last user message.
  * Every public method other than `reset`/`get_reward` becomes a tool: its name, type hints and Google-style
    docstring make the schema. Tool calls run until the model answers without one (or
    `max_tool_calling_iterations`); an exception becomes `{"error": str(e)}` as the tool's result.
  * `get_reward()` (no arguments, returns a float) is called once per finished rollout and is added as a reward
    source (weight 1, named after the class), so `reward_funcs` may be omitted.
GRPO's `num_generations` rollouts of one row share its seed, so a group plays the same hand.

    pip install 'trl==1.16.0' 'transformers>=5.2' torch datasets ./clients/python
    gtr serve port=8000 &      # or .build/release/gtr-serve port=8000
    GTR_URL=http://127.0.0.1:8000 python trl_points24.py --model Qwen/Qwen3-0.6B --hands 64 --max-steps 50

Not run in gtr's CI (no torch/trl there).
"""

from __future__ import annotations

import argparse
import os
from typing import Any, Optional

from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer

from gtr_client import GtrEnv

GTR_URL = os.environ.get("GTR_URL", "http://127.0.0.1:8000")
GTR_TOKEN = os.environ.get("GTR_TOKEN")

INSTRUCTIONS = (
    "Play the 24 points card game. Build a formula that uses each of the four card numbers exactly once "
    "(J, Q and K count as 10) with + - * / and brackets so that it equals 24. Build it one token at a time with "
    "the `append` tool, then append '=' to have it evaluated. The table:\n"
)


class Points24Game:
    """One gtr serve session per instance (TRL keeps a pool of them); one hand per rollout."""

    def __init__(self) -> None:
        # Text observations: the server sends no frame, and the table is described in words.
        self._env = GtrEnv(GTR_URL, env="points24", frames=False, token=GTR_TOKEN, client="trl-grpo",
                           observation="text")
        self._return = 0.0
        self._done = True

    def reset(self, seed: Optional[int] = None, **row: Any) -> str:
        obs, _ = self._env.reset(seed=None if seed is None else int(seed))
        self._return = 0.0
        self._done = False
        return obs["text"]

    def append(self, token: str) -> str:
        """Append one token to the formula on the table.

        Args:
            token: A card number from "1" to "10", an operator ("+", "-", "*", "/"), a bracket ("(" or ")"),
                or "=" to evaluate the formula and end the hand.

        Returns:
            The table after the move (cards and formula), the move's reward, and whether the hand is over.
        """
        if self._done:
            raise ValueError("The hand is over; no more moves.")
        obs, reward, terminated, truncated, info = self._env.step(token)
        self._return += reward
        self._done = terminated or truncated
        status = "hand over" if self._done else "continue"
        note = " (invalid move)" if info.get("invalid") else ""
        return f"{obs['text']}\nreward {reward:g}{note}; {status}"

    def get_reward(self) -> float:
        """The hand's return: gtr's Points24 rewards (10 for a formula equal to 24, -1 per invalid move)."""
        return self._return


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="Qwen/Qwen3-0.6B")
    p.add_argument("--hands", type=int, default=64, help="dataset rows (one seeded hand each)")
    p.add_argument("--seed", type=int, default=1_000_000)
    p.add_argument("--max-steps", type=int, default=50)
    p.add_argument("--output-dir", default="grpo-points24")
    a = p.parse_args()

    dataset = Dataset.from_dict({
        "prompt": [[{"role": "user", "content": INSTRUCTIONS}] for _ in range(a.hands)],
        "seed": [a.seed + i for i in range(a.hands)],
    })
    config = GRPOConfig(
        output_dir=a.output_dir,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=1024,
        max_tool_calling_iterations=24,  # a Points24 hand ends after at most ~20 tokens
        max_steps=a.max_steps,
        logging_steps=1,
        log_completions=True,
        report_to="none",
    )
    trainer = GRPOTrainer(model=a.model, args=config, train_dataset=dataset, environment_factory=Points24Game)
    trainer.train()


if __name__ == "__main__":
    main()
