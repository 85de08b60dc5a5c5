"""Chapter 1's gpu profiles' work, counted for :mod:`rlhfbook.book.gpu_sizing` (:mod:`rlhfbook.lm.gpu_cost`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rlhfbook.lm.gpu_cost import QWEN_05B, Work, forward, generate, ppo_iteration, train

# Token counts of HH-RLHF, assumed (means, before any cut at a max_length)
HH_PROMPT_TOKENS = 80  # a one-turn HH-RLHF prompt in Qwen2.5's chat template
HH_TRANSCRIPT_TOKENS = 250  # an HH-RLHF transcript (chosen or rejected)


def gpu_work(P: Mapping[str, Any]) -> dict[str, Work]:
    """Chapter 1 on real models (:mod:`rlhfbook.chapters.ch01_ppo_max.gold_proxy`): a gold and a proxy reward model, then
    per seed PPO's configurations and GRPO, each evaluated on held-out prompts, and the exercises."""
    lm, lora, micro = QWEN_05B, P["lora_rank"] is not None, P["micro_batch"]
    rm = min(P["rm_max_length"], HH_TRANSCRIPT_TOKENS)
    new, rows = P["max_new_tokens"], P["prompts_per_iteration"]
    shape = (
        lm,
        rows,
        HH_PROMPT_TOKENS,
        new,
        P["epochs"],
        2,
        micro,
        P["chunk_size"],
        lora,
    )
    it, grpo = ppo_iteration(*shape), ppo_iteration(*shape, critic=False)
    evaluation = generate(
        lm, P["eval_prompts"], HH_PROMPT_TOKENS, new, P["chunk_size"], lora
    ) + 2 * forward(lm, P["eval_prompts"], HH_PROMPT_TOKENS + new, 16)
    configs = 3 + P["run_ppo_max_no_kl"]
    runs = P["n_seeds"] * configs
    pair_rows = 32 * 2  # TRL RewardTrainer: 32 pairs a step, two sequences each
    return {
        "gold reward model": train(
            lm, P["gold_rm_steps"] * pair_rows, rm, 2 * (micro or 32)
        ),
        "proxy reward model": forward(lm, 2 * P["proxy_pairs"], rm, 32)
        + train(lm, P["rm_steps"] * pair_rows, rm, 2 * (micro or 32)),
        "PPO runs": runs * P["iterations"] * it,
        "GRPO runs": P["n_seeds"] * P["iterations"] * grpo,
        "evaluations": (runs + P["n_seeds"] + 5) * evaluation,
        "exercises": 3 * P["exercise_iterations"] * it,
    }
