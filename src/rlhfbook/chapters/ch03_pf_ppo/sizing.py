"""Chapter 3's gpu profiles' work, counted for :mod:`rlhfbook.book.gpu_sizing` (:mod:`rlhfbook.lm.gpu_cost`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rlhfbook.lm.gpu_cost import QWEN_05B, Work, forward, generate, ppo_iteration, train

MBPP_PROMPT_TOKENS = (
    200  # an MBPP problem with its three shown tests, chat-templated (assumed)
)
SANDBOX_S = 0.1  # one generated program run against its tests in a fresh sandboxed process (assumed)


def gpu_work(P: Mapping[str, Any]) -> dict[str, Work]:
    """Chapter 3 on real models: per seed the reward models' samples, programs and training, Part A's
    samples, then every method's PPO run against the reward model (and the control's against the unit
    tests) and its evaluation, greedy and sampled."""
    lm, lora, micro, chunk = (
        QWEN_05B,
        P["lora_rank"] is not None,
        P["micro_batch"],
        P["chunk_size"],
    )
    n, new, prompt = P["n_samples"], P["max_new_tokens"], MBPP_PROMPT_TOKENS
    tokens = prompt + new
    sampled = P["rm_prompts"] * n
    pairs = P["rm_prompts"] * math.comb(n, 2)
    per_seed = (
        generate(lm, sampled, prompt, new, chunk)
        + Work(host_s=sampled * SANDBOX_S)
        + 2 * P["rm_epochs"] * train(lm, 2 * pairs, tokens, 2 * (micro or 32))
        + generate(lm, P["analysis_prompts"] * n, prompt, new, chunk)
        + Work(host_s=P["analysis_prompts"] * n * SANDBOX_S)
        + 2 * forward(lm, P["analysis_prompts"] * n, tokens, 16)
    )
    kept = {"PPO-S": 1, "PPO-M": n, "PF-PPO (BoN)": 1}
    runs = Work()
    for method in (*P["methods"], *P["gold_methods"]):
        rows = P["prompts_per_iteration"] * (1 if method == "PPO-S" else n)
        trained = P["prompts_per_iteration"] * kept.get(method, 2)
        it = ppo_iteration(
            lm, rows, prompt, new, P["epochs"], 1, micro, chunk, lora, trained
        ) + Work(host_s=rows * SANDBOX_S)
        evaluation = (1 + P["eval_samples"]) * (
            generate(lm, P["eval_prompts"], prompt, new, chunk, lora)
            + Work(host_s=P["eval_prompts"] * SANDBOX_S)
        )
        runs = runs + P["iterations"] * it + evaluation
    return {
        "reward models and Part A": P["n_seeds"] * per_seed,
        "PPO runs and evaluations": P["n_seeds"] * runs,
    }
