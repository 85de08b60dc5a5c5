"""The interface every task of the book offers: prompts, a demonstration to imitate, a gold reward.

The toy world's preference and code tasks (chapters 0, 1 and 4), the unit-test code task (chapter
3) and the ranking task (chapter 2) all implement :class:`Task`, so supervised fine-tuning, PPO's
rewards and the evaluations take any of them.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Task(Protocol):
    """A task with a known gold score."""

    def sample_prompts(self, n: int, rng: np.random.Generator) -> list[str]:
        """``n`` prompts drawn with ``rng``."""
        ...

    def demonstration(self, prompt: str, rng: np.random.Generator) -> str:
        """A good response to ``prompt``, the supervised fine-tuning target."""
        ...

    def gold_reward(self, prompt: str, response: str) -> float:
        """The gold score of ``response`` to ``prompt`` (what the reward model stands in for)."""
        ...
