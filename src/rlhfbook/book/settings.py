"""Each chapter's settings: one frozen dataclass per chapter, one documented field per setting.

Every field has a type and ``metadata={"help": ...}``: its meaning in one line, with its unit
(as in TRL's config classes). A field's default is the chapter's ``cpu`` profile (the book's
default); the ``smoke``, ``gpu`` and ``gpu-full`` profiles are instances that name only what they
change, ``gpu-full`` as a change of ``gpu`` (:data:`PPO_MAX_GPU`, :data:`PF_PPO_GPU`). Their sizes
follow the arithmetic of :mod:`rlhfbook.book.gpu_sizing`: ``gpu`` a free Colab T4 in 45 minutes,
``gpu-full`` one 80 GB GPU in two hours with six seeds.
:data:`TABLE` (chapter -> profile -> instance) is what :mod:`rlhfbook.book.profiles` resolves, so
every profile of a chapter has the same keys by construction. ``profiles.describe(chapter)``
shows a chapter's fields, meanings and values in the profiles.

Used by every chapter, through :func:`rlhfbook.book.profiles.resolve` (called by
:func:`rlhfbook.start_chapter`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any


def setting(default: Any, help: str) -> Any:
    """A dataclass field with its ``cpu``-profile ``default`` and a one-line ``help``."""
    return field(default=default, metadata={"help": help})


def as_dict(settings: Any) -> dict[str, Any]:
    """A settings instance as ``{field: value}``, in field order (values as they are, not copied)."""
    return {f.name: getattr(settings, f.name) for f in fields(settings)}


# --- 00 The toy world ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ToyWorldSettings:
    """Chapter 0: the toy world's tasks and their SFT policies."""

    n_eval_prompts: int = setting(
        512,
        "prompts per task on which the untrained and SFT policies are scored by the gold reward (prompts)",
    )


# --- 01 PPO-max ----------------------------------------------------------------------------------


AUTOCAST_HELP = (  # chapters 1 and 3: the precision of PPO and of the TRL trainers
    "dtype of the forward passes of PPO and of the TRL trainers (reward models, GRPO; runtime.autocast_dtype): "
    "'auto' is bf16 on a GPU that has it, else fp16 "
    "with loss scaling, and fp32 on a CPU; 'float32' forces fp32 on a GPU, for a T4 whose fp16 overflows "
    "(runtime.HalfPrecisionOverflow) (dtype)"
)


@dataclass(frozen=True)
class PPOMaxSettings:
    """Chapter 1: vanilla PPO, PPO-max and TRL's GRPO from one SFT policy and reward model.

    With ``model_name`` set the chapter runs the over-optimisation setup of Gao et al. (2022) on
    real models (:mod:`rlhfbook.gold_proxy`): a gold reward model trained on all of
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
        "copies, ppo.logits_bytes) = 1.2 GB of logits on a T4; gpu-full: 8 rows on 80 GB",
    )
    chunk_size: int | None = setting(
        None,
        "rows per generate call of PPO's rollouts and of the held-out evaluation, to bound GPU memory "
        "(rows; None: the whole batch at once); gpu: 64 rows at a time on a T4, gpu-full 256",
    )
    lora_rank: int | None = setting(
        None,
        "PPO and GRPO train rank-r adapters on every linear layer of the policy and critic instead of all "
        "their weights (rlhfbook.lora; None: all weights); gpu: 16, which with lr and critic_lr at ten times "
        "full fine-tuning's (Schulman et al. 2025, LoRA Without Regret) fits both on a 16 GB GPU (rank)",
    )
    autocast: str = setting("auto", AUTOCAST_HELP)
    jobs: int | None = setting(
        None,
        "worker processes for the PPO and GRPO runs (processes; None: one per core); gpu: 1, since each "
        "run holds its models on the one GPU (rlhfbook.memory plans one run)",
    )


# --- 02 DPO ranking accuracy -----------------------------------------------------------------------


@dataclass(frozen=True)
class DPORankingSettings:
    """Chapter 2: the identities, the analytic sandbox, and DPO (TRL) on the ranking task."""

    ref_size: str = setting(
        "tiny", "size of the reference transformer (a key of toyworld.model.SIZES)"
    )
    sft_steps: int = setting(
        300,
        "SFT steps that make the reference model on the writer's answers (optimiser steps)",
    )
    sft_batch: int = setting(64, "SFT batch (answers per step)")
    sft_lr: float = setting(
        1e-2, "SFT peak learning rate, cosine-decayed (AdamW step size)"
    )
    n_pairs: int = setting(
        1400, "rated answer pairs per seed, the validation pairs included (pairs)"
    )
    n_val: int = setting(
        800,
        "of those, the validation pairs that pick the lowest-loss checkpoint (pairs)",
    )
    n_raters: int = setting(1, "rater votes per pair (votes)")
    n_seeds: int = setting(
        6, "seeds of the DPO study, each its own pairs, votes and data order (seeds)"
    )
    betas: tuple[float, ...] = setting(
        (0.1, 1.0), "DPO's beta values trained on every seed (dimensionless)"
    )
    check_beta: float = setting(
        0.1,
        "the beta of the checks, the flip table and the gamma sweep (dimensionless)",
    )
    lr_x_beta: float = setting(
        3e-4,
        "DPO learning rate times beta: each beta trains at lr_x_beta / beta (AdamW step size x beta)",
    )
    epochs: int = setting(3, "DPO epochs over the training pairs (epochs)")
    batch_size: int = setting(32, "DPO batch (pairs per optimiser step)")
    eval_every: int = setting(
        10, "a checkpoint is measured every this many DPO steps (optimiser steps)"
    )
    gammas: tuple[float, ...] = setting(
        (0.0, 0.5, 1.0, 2.0),
        "gamma values of the reference-scaled loss (Eq. 4) at check_beta; 1 is plain DPO, not rerun (dimensionless)",
    )
    eval_batch: int = setting(
        256, "batch when scoring log-likelihoods (sequences per forward pass)"
    )
    n_win_prompts: int = setting(
        256,
        "prompts on which each checkpoint's win rate over the reference is measured (prompts)",
    )
    sandbox_nuisance: tuple[float, ...] = setting(
        (0.0, 2.0, 5.0, 10.0, 20.0),
        "sandbox nuisance scales sigma, one study each (nats: std of an answer's frozen log-likelihood offset)",
    )
    sandbox_pairs: int = setting(
        3000, "training pairs per sandbox study; a third as many validate (pairs)"
    )
    sandbox_steps: int = setting(
        500, "full-batch Adam steps of DPO per sandbox study (optimiser steps)"
    )
    n_identity_points: int = setting(
        20000,
        "random log-likelihood quadruples on which the paper's identities are checked (points)",
    )
    model_name: str | None = setting(
        None,
        "a real causal LM (local folder or hub id) whose ranking accuracy is measured on dataset (None: skip)",
    )
    dataset: str | None = setting(
        None,
        "HH-RLHF-like pairs for the real model: a local .json/.jsonl or hub id (None: skip)",
    )
    n_real_pairs: int = setting(1000, "pairs of dataset the real model scores (pairs)")
    max_prompt_tokens: int = setting(
        768, "real model: context kept before each answer (tokens)"
    )
    max_response_tokens: int = setting(
        256, "real model: longest answer scored (tokens)"
    )
    real_eval_batch: int = setting(
        8,
        "real model: pairs' sequences per forward pass (sequences; each keeps its full fp32 logits)",
    )


# --- 03 PF-PPO -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PFPPOSettings:
    """Chapter 3: reward-model reliability and filtered PPO on code with unit tests."""

    base_policy: str = setting(
        "cpu",
        "recipe of the cached toy-world SFT policy for the code task (smoke | cpu | gpu; toyworld.base_policy)",
    )
    model_name: str | None = setting(
        None,
        "a causal LM to start from instead: a local folder or hub id (None: the toy SFT policy)",
    )
    reward_model_name: str | None = setting(
        None,
        "a reward model reading code_tasks.with_execution's text, used instead of training one (None: train here)",
    )
    dataset: str | None = setting(
        None,
        "MBPP-format problems run in the sandbox: a local .json/.jsonl or hub id (None: the toy code task)",
    )
    n_samples: int = setting(
        5, "N: responses sampled per prompt, which the filters rank (responses)"
    )
    rm_prompts: int = setting(
        300,
        "prompts whose N SFT samples make each seed's reward models' training pairs (prompts)",
    )
    rm_tau: float = setting(
        0.1,
        "raters' noise: P(a preferred) = sigmoid((s(a) - s(b)) / tau), s the "
        "fraction of tests passed (fraction of tests)",
    )
    rm_epochs: int = setting(1, "reward-model training epochs (epochs)")
    rm_lr: float = setting(3e-3, "reward-model learning rate (AdamW step size)")
    rm_batch: int = setting(32, "reward-model batch (pairs per step)")
    analysis_prompts: int = setting(
        400, "fresh prompts, N samples each, for Part A's reliability and R^2 (prompts)"
    )
    n_regions: int = setting(10, "equal-count reward regions of Fig. 1 (regions)")
    n_groups: int = setting(
        20, "equal-count groups of the paper's grouped R^2 (groups)"
    )
    n_boot: int = setting(
        200, "bootstrap resamples of the prompts for the R^2 intervals (resamples)"
    )
    methods: tuple[str, ...] = setting(
        ("PPO-M", "PF-PPO (BoN)", "PF-PPO (BR)", "PF-PPO (BW)"),
        "methods Part B trains on every seed (keys of pf_ppo.METHODS)",
    )
    gold_methods: tuple[str, ...] = setting(
        ("PPO-M", "PF-PPO (BW)"),
        "methods Part B also trains on every seed against the unit tests instead of the reward model, the "
        "control (keys of pf_ppo.METHODS; empty: no control)",
    )
    iterations: int = setting(10, "PPO iterations per run (iterations)")
    prompts_per_iteration: int = setting(
        24, "prompts per PPO iteration, N responses each (prompts)"
    )
    lr: float = setting(
        5e-4,
        "policy learning rate (AdamW step size; gpu: 1e-5 for adapters, ten times 1e-6)",
    )
    critic_lr: float = setting(
        1e-4,
        "critic learning rate (AdamW step size; gpu: 5e-5 for adapters, ten times 5e-6)",
    )
    kl_coef: float = setting(
        0.05, "KL coefficient eta, k1 per token in the reward (dimensionless)"
    )
    critic_warmup: int = setting(
        1, "first PPO iterations that update only the critic (iterations)"
    )
    epochs: int = setting(2, "PPO epochs over each iteration's samples (epochs)")
    eval_prompts: int = setting(
        1024, "held-out prompts on which pass@1 is measured (prompts)"
    )
    eval_samples: int = setting(
        1, "samples per prompt for pass@1 where it is not computed exactly (responses)"
    )
    n_seeds: int = setting(
        6,
        "seeds per method, each with its own reward model: seed, seed + 1, ... (seeds)",
    )
    max_new_tokens: int = setting(16, "longest sampled program (tokens)")
    pilot_seed: int = setting(
        500,
        "record of the pilot (benchmarks/ch03_pilot.py): the first of the seeds lr, rm_prompts and the "
        "iterations x prompts_per_iteration trade were set on, "
        "outside the checked blocks (0.. and 1000..); the chapter states it beside the runs and does not re-run "
        "the pilot (seed)",
    )
    jobs: int | None = setting(
        None,
        "worker processes for the reward-model and PPO runs (processes; None: one per core)",
    )
    chunk_size: int | None = setting(
        None,
        "rows per generate call, to bound GPU memory (rows; None: the whole batch at once)",
    )
    micro_batch: int | None = setting(
        None,
        "rows per forward/backward pass of PPO (and per log-prob pass) and of the reward models (pairs), "
        "gradients accumulated over the batch (rows; None: one pass); gpu: 2 rows x (512 prompt + "
        "128 response tokens) x a 151,936-token vocabulary x 14 bytes (fp16 logits + 3 fp32 copies, "
        "ppo.logits_bytes) = 2.7 GB of logits on a T4; gpu-full: 8 rows on 80 GB",
    )
    lora_rank: int | None = setting(
        None,
        "PPO trains rank-r adapters on every linear layer of the policy and critic instead of all their "
        "weights (rlhfbook.lora; None: all weights); gpu: 16, with lr and critic_lr at ten times full "
        "fine-tuning's (Schulman et al. 2025, LoRA Without Regret), to fit both on a 16 GB GPU (rank)",
    )
    autocast: str = setting("auto", AUTOCAST_HELP)


# --- 04 Reward distance (STARC) --------------------------------------------------------------------


@dataclass(frozen=True)
class RewardDistanceSettings:
    """Chapter 4: STARC distances on random MDPs, and on a family of toy-world reward models."""

    n_seeds: int = setting(8, "seeds of every experiment: seed, seed + 1, ... (seeds)")
    n_envs: int = setting(
        64, "random MDPs per seed in the interpolation experiment (MDPs)"
    )
    control_envs: int = setting(
        32,
        "random MDPs per seed in the control, whose rewards ignore the next state (MDPs)",
    )
    grid_envs: int = setting(
        16, "MDPs of the first seed on which every pseudometric is computed (MDPs)"
    )
    mc_envs: int = setting(
        8,
        "MDPs of the first seed whose regret is also computed with the paper code's Monte-Carlo returns (MDPs)",
    )
    n_pairs: int = setting(4, "random reward pairs per MDP (pairs)")
    n_steps: int = setting(
        16, "interpolation steps between the two rewards of a pair (points per pair)"
    )
    property_mdps: int = setting(
        2, "MDPs per seed on which STARC's defining properties are measured (MDPs)"
    )
    n_triples: int = setting(
        100,
        "random reward triples per MDP for symmetry and the triangle inequality (triples)",
    )
    pool_size: int = setting(
        256,
        "responses per prompt in the pool the reward-model family is scored on (responses)",
    )
    train_sizes: tuple[int, ...] = setting(
        (30, 100, 300, 1000, 3000),
        "training comparisons of the fitted reward models, one model per size and flip rate (comparisons)",
    )
    flip_rates: tuple[float, ...] = setting(
        (0.0, 0.2, 0.4),
        "share of training labels flipped, one model per size and rate; the first must be 0 (fraction)",
    )
    n_eval_pairs: int = setting(
        4000, "held-out rater comparisons for accuracy and calibration (comparisons)"
    )
    bon_n: int = setting(16, "N of the best-of-N gold regret (responses)")


# --- 05 Strategic games --------------------------------------------------------------------------


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


# Chapter -> profile -> settings. The cpu profile is each class's defaults.
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

# Chapter 3 on a Colab T4 in 45 minutes (rlhfbook.book.gpu_sizing): one seed, no control.
PF_PPO_GPU = PFPPOSettings(
    base_policy="gpu",
    model_name="Qwen/Qwen2.5-Coder-0.5B-Instruct",
    dataset="mbpp",
    rm_prompts=100,
    rm_lr=1e-5,
    rm_batch=8,
    analysis_prompts=50,
    gold_methods=(),  # the control's runs do not fit a T4's 45 minutes (gpu-full runs them)
    n_seeds=1,
    iterations=20,
    prompts_per_iteration=4,
    lr=1e-5,
    critic_lr=5e-5,
    critic_warmup=3,
    eval_prompts=100,
    max_new_tokens=128,
    jobs=1,
    chunk_size=64,
    micro_batch=2,  # beside the notebook's own models on a T4 (memory.notebook_bytes)
    lora_rank=16,
)

REWARD_DISTANCE_GPU = RewardDistanceSettings(
    n_envs=128,
    control_envs=128,
    grid_envs=128,
    n_pairs=8,
    property_mdps=4,
    train_sizes=(30, 100, 300, 1000, 3000, 10000),
)

STRATEGIC_GAMES_GPU = StrategicGamesSettings(
    llm_rounds=10,
    llm_seeds=3,
    llm_new_tokens=512,
    llm_prompt_tokens=None,
    model_name="Qwen/Qwen2.5-1.5B-Instruct",
)

TABLE: dict[str, dict[str, Any]] = {
    "00_toy_world": {
        "smoke": ToyWorldSettings(n_eval_prompts=16),
        "cpu": ToyWorldSettings(),
        "gpu": ToyWorldSettings(n_eval_prompts=2048),
        "gpu-full": ToyWorldSettings(n_eval_prompts=2048),
    },
    "01_ppo_max": {
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
    "02_dpo_ranking": {
        "smoke": DPORankingSettings(
            sft_steps=20,
            sft_batch=32,
            n_pairs=90,
            n_val=40,
            n_seeds=1,
            epochs=1,
            batch_size=16,
            eval_every=2,
            gammas=(0.0, 1.0, 2.0),
            n_win_prompts=16,
            sandbox_nuisance=(0.0, 20.0),
            sandbox_pairs=300,
            sandbox_steps=30,
            n_identity_points=2000,
        ),
        "cpu": DPORankingSettings(),
        "gpu": DPORankingSettings(
            gammas=(0.0, 0.5, 1.0, 1.5, 2.0),
            n_win_prompts=1024,
            n_identity_points=100000,
            model_name="gpt2",
            dataset="Anthropic/hh-rlhf",
        ),
        "gpu-full": DPORankingSettings(
            n_seeds=10,
            gammas=(0.0, 0.5, 1.0, 1.5, 2.0),
            n_win_prompts=1024,
            n_identity_points=100000,
            model_name="gpt2",
            dataset="Anthropic/hh-rlhf",
        ),
    },
    "03_pf_ppo": {
        "smoke": PFPPOSettings(
            base_policy="smoke",
            rm_prompts=16,
            rm_lr=1e-3,
            analysis_prompts=16,
            n_regions=4,
            n_groups=4,
            n_boot=5,
            methods=("PPO-S", "PPO-M", "PF-PPO (BoN)", "PF-PPO (BR)", "PF-PPO (BW)"),
            iterations=2,
            prompts_per_iteration=2,
            lr=1e-4,
            critic_warmup=1,
            epochs=1,
            eval_prompts=8,
            n_seeds=1,
            jobs=1,
        ),
        "cpu": PFPPOSettings(),
        "gpu": PF_PPO_GPU,
        "gpu-full": replace(
            PF_PPO_GPU,
            n_seeds=6,
            rm_prompts=120,
            analysis_prompts=80,
            gold_methods=("PPO-M", "PF-PPO (BW)"),
            prompts_per_iteration=6,
            iterations=16,
            eval_prompts=150,
            micro_batch=8,  # 80 GB: 32 GB planned in fp32 (memory.ppo_plan)
            chunk_size=256,
        ),
    },
    "04_reward_distance": {
        "smoke": RewardDistanceSettings(
            n_seeds=2,
            n_envs=2,
            control_envs=2,
            grid_envs=2,
            mc_envs=1,
            n_pairs=2,
            n_steps=4,
            property_mdps=1,
            n_triples=10,
            pool_size=32,
            train_sizes=(30, 300),
            flip_rates=(0.0, 0.3),
            n_eval_pairs=200,
            bon_n=8,
        ),
        "cpu": RewardDistanceSettings(),
        "gpu": REWARD_DISTANCE_GPU,
        "gpu-full": REWARD_DISTANCE_GPU,
    },
    "05_strategic_games": {
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
}
