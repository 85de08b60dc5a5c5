"""Chapter 5's gpu profiles' work, counted for :mod:`rlhfbook.book.gpu_sizing` (:mod:`rlhfbook.lm.gpu_cost`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rlhfbook.lm.gpu_cost import QWEN_15B, Work, generate

GAME_PROMPT_TOKENS = (
    1000  # a turn of chapter 5's games: rules, history, the question (assumed)
)
GAME_MATCHES_PER_SEED = (
    50  # matches the LLM plays in one league seed (both games, both roles)
)
# The cpu profile's league, measured: 290 s (a clean clone on 2 cores, 2026-12-07); it stays on the CPU.
LEAGUE_SECONDS = 290


def gpu_work(P: Mapping[str, Any]) -> dict[str, Work]:
    """Chapter 5's LLM player: greedy turns of Qwen2.5-1.5B in matches played side by side, 32 turns
    a ``generate`` call, on ``llm_seeds`` league seeds; the league itself is the cpu profile's."""
    turns = GAME_MATCHES_PER_SEED * P["llm_seeds"] * (P["llm_rounds"] + 1)
    prompt = P["llm_prompt_tokens"] or GAME_PROMPT_TOKENS
    return {
        "LLM player": generate(QWEN_15B, turns, prompt, P["llm_new_tokens"], 32),
        "league (CPU)": Work(host_s=LEAGUE_SECONDS),
    }
