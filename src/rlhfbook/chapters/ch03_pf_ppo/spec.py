"""Chapter 3's spec (PF-PPO): its settings, profiles, time budgets and needs.

One frozen dataclass with one documented field per setting (a field's default is the ``cpu``
profile), its four profiles as instances that name only what they change, and the
:class:`~rlhfbook.report.spec.ChapterSpec` the book reads them from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rlhfbook.chapters.ch03_pf_ppo.sizing import gpu_work
from rlhfbook.core.runtime import AUTOCAST_HELP
from rlhfbook.report.spec import ChapterSpec, setting


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
    ops: int | None = setting(
        2,
        "toy code task: the operations of every prompt's intended program (toyworld.CodeTask.ops; None: "
        "1 to 3, a mix in which PPO learns to stop after one operation, benchmarks/ch03_greedy.py) (operations)",
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
        0.2,
        "KL coefficient eta, k1 per token in the reward (dimensionless; chapter 1's 0.05 lets PPO collapse on "
        "the toy task's two-operation prompts, benchmarks/ch03_pilot.py; gpu: 0.05)",
    )
    critic_warmup: int = setting(
        1, "first PPO iterations that update only the critic (iterations)"
    )
    epochs: int = setting(2, "PPO epochs over each iteration's samples (epochs)")
    temperature: float = setting(
        1.0,
        "temperature of the samples PPO trains on, the policy it optimises being pi at that "
        "temperature (dimensionless; held-out sampled pass@1 is always at 1)",
    )
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
        "memory.logits_bytes) = 2.7 GB of logits on a T4; gpu-full: 8 rows on 80 GB",
    )
    lora_rank: int | None = setting(
        None,
        "PPO trains rank-r adapters on every linear layer of the policy and critic instead of all their "
        "weights (rlhfbook.lm.lora; None: all weights); gpu: 16, with lr and critic_lr at ten times full "
        "fine-tuning's (Schulman et al. 2025, LoRA Without Regret), to fit both on a 16 GB GPU (rank)",
    )
    autocast: str = setting("auto", AUTOCAST_HELP)


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
    kl_coef=0.05,
    critic_warmup=3,
    eval_prompts=100,
    max_new_tokens=128,
    jobs=1,
    chunk_size=64,
    micro_batch=2,  # beside the notebook's own models on a T4 (memory.notebook_bytes)
    lora_rank=16,
)


SPEC = ChapterSpec(
    chapter="03_pf_ppo",
    profiles={
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
    budget_min={"smoke": 1, "cpu": 8},
    needs_gpu=True,
    fans_out=True,
    ppo_scorers=1,
    notebook_models=(1, 0),
    gpu_work=gpu_work,
)
