"""Chapter 0's spec (the toy world): its settings, profiles, time budgets and needs.

One frozen dataclass with one documented field per setting (a field's default is the ``cpu``
profile), its four profiles as instances that name only what they change, and the
:class:`~rlhfbook.report.spec.ChapterSpec` the book reads them from.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlhfbook.report.spec import ChapterSpec, setting


@dataclass(frozen=True)
class ToyWorldSettings:
    """Chapter 0: the toy world's tasks and their SFT policies."""

    n_eval_prompts: int = setting(
        512,
        "prompts per task on which the untrained and SFT policies are scored by the gold reward (prompts)",
    )


SPEC = ChapterSpec(
    chapter="00_toy_world",
    profiles={
        "smoke": ToyWorldSettings(n_eval_prompts=16),
        "cpu": ToyWorldSettings(),
        "gpu": ToyWorldSettings(n_eval_prompts=2048),
        "gpu-full": ToyWorldSettings(n_eval_prompts=2048),
    },
    budget_min={"smoke": 1, "cpu": 2.5},
    gpu_note="a few minutes: two toy SFT policies of 3,000 steps each on the GPU",
)
