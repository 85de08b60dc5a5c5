"""Chapter 1's spec (PPO-max): its settings, profiles, time budgets and needs.

One frozen dataclass with one documented field per setting (a field's default is the ``cpu``
profile), its four profiles as instances that name only what they change, and the
:class:`~rlhfbook.report.spec.ChapterSpec` the book reads them from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rlhfbook.chapters.ch01_ppo_max.sizing import gpu_work
from rlhfbook.core.runtime import AUTOCAST_HELP
from rlhfbook.report.spec import ChapterSpec, setting


@dataclass(frozen=True)
class PPOMaxSettings:
    """Chapter 1: vanilla PPO, PPO-max and TRL's GRPO from one SFT policy and reward model.

    With ``model_name`` set the chapter runs the over-optimisation setup of Gao et al. (2022) on
    real models (:mod:`rlhfbook.chapters.ch01_ppo_max.gold_proxy`): a gold reward model trained on all of
    ``preference_dataset`` but the held-out prompts' rows, a proxy trained on ``proxy_pairs`` of
    them relabelled by the gold model, PPO on the held-out prompts, gold = the gold model's score.
    """

    base_policy: str = setting(
        "cpu",
        "recipe of the cached toy-world SFT policy to start from (smoke | cpu | gpu; toyworld.base_policy)",
    )
    model_name: str | None = setting(
        None,
        "policy to start from instead, an instruct model (local folder or hub id); it switches the chapter to "
        "gold and proxy reward models on preference_dataset (None: the toy SFT policy and the toy gold reward)",
    )
    reward_model_name: str | None = setting(
        None,
        "a trained proxy reward model (local folder or hub id, with the policy's tokenizer: it also initialises "
        "PPO-max's critic) to use instead of training one (None: train one here)",
    )
    gold_reward_model_name: str | None = setting(
        None,
        "with model_name: a trained gold reward model (local folder or hub id) to use instead of training one "
        "on preference_dataset (None: train it here)",
    )
    preference_dataset: str | None = setting(
        None,
        "with model_name: HH-RLHF-format pairs (hub id or local .json/.jsonl; 'chosen' / 'rejected' "
        "transcripts, the 'train' split) for the gold and proxy reward models and PPO's prompts",
    )
    proxy_pairs: int = setting(
        1000,
        "with model_name: rows of the gold model's training data the proxy trains on, labelled by the gold "
        "model as Gao et al. (2022) label their proxies' data, so the proxy errs only by having less (pairs)",
    )
    ppo_prompt_pool: int = setting(
        1024,
        "with model_name: held-out one-turn prompts PPO and GRPO sample from; eval_prompts more are "
        "held out for the evaluation, and no reward model trains on a row with either (prompts)",
    )
    rm_pairs: int = setting(
        1024,
        "toy world: preference pairs sampled from the SFT policy and rated, to train the reward model (pairs)",
    )
    rm_steps: int = setting(
        100,
        "(proxy) reward-model training steps of TRL's RewardTrainer, 32 pairs each (optimiser steps)",
    )
    gold_rm_steps: int = setting(
        400,
        "with model_name: the gold reward model's training steps, 32 pairs each (optimiser steps)",
    )
    rm_lr: float = setting(
        1e-3,
        "reward-model learning rate, cosine-decayed (AdamW step size; gpu: 1e-5, TRL's reward-modelling "
        "example; Secrets of RLHF use 5e-6)",
    )
    rm_max_length: int = setting(
        128, "longest text a reward model trains on and reads (tokens)"
    )
    iterations: int = setting(
        24,
        "PPO iterations of every configuration (A, A + KL, B and C), each a rollout and its updates; also "
        "fixes GRPO's samples and optimiser steps (iterations)",
    )
    run_ppo_max_no_kl: bool = setting(
        False,
        "also run configuration C, PPO-max without the KL penalty (no check reads it)",
    )
    prompts_per_iteration: int = setting(
        32,
        "prompts per PPO iteration, one response each; also GRPO's samples per generation (prompts); cpu: "
        "32 from the pilot, where 16 left the logged gold so noisy that a flat run's smoothed end fell below "
        "0.9 of its (noise-inflated) peak",
    )
    epochs: int = setting(
        2,
        "PPO epochs over each iteration's samples; GRPO's num_iterations (epochs); cpu: 2, so that 32 "
        "samples x 2 epochs cost the update what 16 x 4 did",
    )
    minibatches: int = setting(
        1,
        "minibatches per PPO epoch, one optimiser step each; GRPO's optimiser steps per pass (minibatches)",
    )
    max_new_tokens: int = setting(
        64,
        "longest sampled response, for PPO, GRPO and the reward model's pairs (tokens)",
    )
    lr: float = setting(
        2e-4,
        "policy learning rate of PPO and of TRL's GRPO (AdamW step size; gpu: 3e-5 for the adapters, ten "
        "times the full fine-tuning rate 3e-6 of TRL's PPO example and Huang et al. 2024's N+ details for "
        "1B-7B models; Secrets of RLHF 5e-7, OpenRLHF's examples 5e-7)",
    )
    critic_lr: float = setting(
        3e-4,
        "critic learning rate of PPO (AdamW step size; gpu: 9e-5 for adapters, ten times OpenRLHF's 9e-6)",
    )
    kl_coef: float = setting(
        0.05,
        "KL coefficient eta (PPO: k1 per token in the reward; GRPO: beta); 0.05 as Secrets of RLHF's Fig. 7, "
        "TRL's PPOConfig and the N+ details; exercise 2 halves and doubles it (dimensionless)",
    )
    critic_warmup: int = setting(
        3, "first PPO iterations that update only the critic (iterations)"
    )
    n_seeds: int = setting(
        6,
        "seeds per configuration: seed, seed + 1, ...; in the toy world each seed also samples its own "
        "preference pairs and trains its own reward model (seeds)",
    )
    pilot_seed: int = setting(
        500,
        "record of the pilot: the first of the seeds (500, 501, ...) on which the sizes were chosen, outside "
        "every reported block (cpu: 500-505, 16 x 4 epochs vs eta 0.1 vs 32 x 2 epochs; numbers in "
        "benchmarks/ch01_pilot.py); the chapter states it and does not re-run the pilot (seed)",
    )
    eval_prompts: int = setting(
        256,
        "held-out prompts on which every final policy's gold reward and win rate are measured (prompts)",
    )
    grpo_generations: int = setting(
        8, "responses per prompt in a GRPO group (responses)"
    )
    exercise_iterations: int = setting(
        8, "PPO iterations of each short run in the exercise solutions (iterations)"
    )
    micro_batch: int | None = setting(
        None,
        "rows per forward/backward pass of PPO (and per log-prob pass), of the reward models (pairs) and of "
        "GRPO (completions), gradients accumulated over the batch (rows; None: one pass); gpu: 1 row x "
        "(512 prompt + 64 response tokens) x a 151,936-token vocabulary x 14 bytes (fp16 logits + 3 fp32 "
        "copies, memory.logits_bytes) = 1.2 GB of logits on a T4; gpu-full: 8 rows on 80 GB",
    )
    chunk_size: int | None = setting(
        None,
        "rows per generate call of PPO's rollouts and of the held-out evaluation, to bound GPU memory "
        "(rows; None: the whole batch at once); gpu: 64 rows at a time on a T4, gpu-full 256",
    )
    lora_rank: int | None = setting(
        None,
        "PPO and GRPO train rank-r adapters on every linear layer of the policy and critic instead of all "
        "their weights (rlhfbook.lm.lora; None: all weights); gpu: 16, which with lr and critic_lr at ten times "
        "full fine-tuning's (Schulman et al. 2025, LoRA Without Regret) fits both on a 16 GB GPU (rank)",
    )
    autocast: str = setting("auto", AUTOCAST_HELP)
    jobs: int | None = setting(
        None,
        "worker processes for the PPO and GRPO runs (processes; None: one per core); gpu: 1, since each "
        "run holds its models on the one GPU (rlhfbook.lm.memory plans one run)",
    )


# Chapter 1 on a Colab T4 in 45 minutes (rlhfbook.book.gpu_sizing): one seed of A, A + KL, B and GRPO.
PPO_MAX_GPU = PPOMaxSettings(
    model_name="Qwen/Qwen2.5-0.5B-Instruct",
    preference_dataset="Anthropic/hh-rlhf",
    proxy_pairs=640,
    ppo_prompt_pool=1024,
    rm_steps=20,
    gold_rm_steps=40,
    rm_lr=1e-5,
    rm_max_length=256,
    iterations=30,
    n_seeds=1,
    prompts_per_iteration=16,
    epochs=2,
    max_new_tokens=64,
    lr=3e-5,
    critic_lr=9e-5,
    critic_warmup=3,
    eval_prompts=128,
    exercise_iterations=4,
    chunk_size=64,
    micro_batch=1,  # beside the notebook's own models on a T4 (memory.notebook_bytes)
    lora_rank=16,
    jobs=1,
)


SPEC = ChapterSpec(
    chapter="01_ppo_max",
    profiles={
        "smoke": PPOMaxSettings(
            base_policy="smoke",
            rm_pairs=32,
            rm_steps=2,
            iterations=4,
            run_ppo_max_no_kl=True,
            prompts_per_iteration=4,
            lr=1e-4,
            critic_warmup=1,
            n_seeds=1,
            eval_prompts=8,
            grpo_generations=2,
            exercise_iterations=2,
            proxy_pairs=8,
            ppo_prompt_pool=8,
            gold_rm_steps=2,
        ),
        "cpu": PPOMaxSettings(),
        "gpu": PPO_MAX_GPU,
        "gpu-full": replace(
            PPO_MAX_GPU,
            n_seeds=6,
            iterations=48,
            prompts_per_iteration=32,
            max_new_tokens=96,
            gold_rm_steps=600,
            rm_steps=100,
            proxy_pairs=3200,
            rm_max_length=512,
            eval_prompts=512,
            exercise_iterations=16,
            micro_batch=8,  # 80 GB: 34 GB planned in fp32 (memory.ppo_plan)
            chunk_size=256,
        ),
    },
    budget_min={"smoke": 0.5, "cpu": 8},
    needs_gpu=True,
    fans_out=True,
    ppo_scorers=2,
    notebook_models=(1, 2),
    gpu_work=gpu_work,
)
