"""Chapter 5's spec (strategic games): its settings, profiles, time budgets and needs.

One frozen dataclass with one documented field per setting (a field's default is the ``cpu``
profile), its four profiles as instances that name only what they change, and the
:class:`~rlhfbook.report.spec.ChapterSpec` the book reads them from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rlhfbook.chapters.ch05_strategic_games.sizing import gpu_work
from rlhfbook.report.spec import ChapterSpec, setting


@dataclass(frozen=True)
class StrategicGamesSettings:
    """Chapter 5: the game league, the player trained in the book, and an LLM player."""

    rounds: int = setting(
        10, "revision rounds per match, in the league and in RL sparring (rounds)"
    )
    league_seeds: int = setting(10, "league seeds: seed, seed + 1, ... (seeds)")
    n_candidates: int = setting(
        10, "candidate builds a scripted best response compares (builds)"
    )
    knob_spread: float = setting(
        0.15,
        "prior of the scripted players: revise after a loss / a win, quality and slip drawn per league seed uniformly within +- this of the family's value, clipped to [0, 1] (probability)",
    )
    demo_matches: int = setting(
        400, "scripted matches whose turns are the trained player's SFT data (matches)"
    )
    sft_steps: int = setting(250, "SFT steps of the trained player (optimiser steps)")
    rl_iterations: int = setting(
        30, "GRPO iterations of the trained player (iterations)"
    )
    rl_matches: int = setting(
        12,
        "sparring matches per GRPO iteration; the learner's turns are the states (matches)",
    )
    group_size: int = setting(8, "builds sampled per state in a GRPO group (responses)")
    rl_early: int = setting(
        5,
        "the 'RL early' checkpoint is taken after this many GRPO iterations (iterations)",
    )
    llm_rounds: int = setting(2, "revision rounds per match of the LLM player (rounds)")
    llm_seeds: int = setting(1, "league seeds a real LLM plays (seeds)")
    llm_new_tokens: int = setting(32, "longest LLM answer per turn (tokens)")
    llm_prompt_tokens: int | None = setting(
        96,
        "the LLM reads the last this many prompt tokens (tokens; None: the whole prompt)",
    )
    model_name: str | None = setting(
        None, "LLM player: a hub id or local folder (None: an untrained toy model)"
    )
    endpoint: str | None = setting(
        None,
        "an OpenAI-compatible base URL the LLM player is served from (uses model_name; None: local)",
    )


STRATEGIC_GAMES_GPU = StrategicGamesSettings(
    llm_rounds=10,
    llm_seeds=3,
    llm_new_tokens=512,
    llm_prompt_tokens=None,
    model_name="Qwen/Qwen2.5-1.5B-Instruct",
)


SPEC = ChapterSpec(
    chapter="05_strategic_games",
    profiles={
        "smoke": StrategicGamesSettings(
            rounds=4,
            league_seeds=3,
            n_candidates=4,
            demo_matches=8,
            sft_steps=4,
            rl_iterations=2,
            rl_matches=2,
            group_size=2,
            rl_early=1,
            llm_new_tokens=8,
        ),
        "cpu": StrategicGamesSettings(),
        "gpu": STRATEGIC_GAMES_GPU,
        "gpu-full": replace(STRATEGIC_GAMES_GPU, llm_seeds=6),
    },
    budget_min={"smoke": 1, "cpu": 6},
    needs_gpu=True,
    gpu_work=gpu_work,
)
