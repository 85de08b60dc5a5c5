"""Chapter 2's spec (DPO and the ranking-accuracy gap): its settings, profiles, time budgets and needs.

One frozen dataclass with one documented field per setting (a field's default is the ``cpu``
profile), its four profiles as instances that name only what they change, and the
:class:`~rlhfbook.report.spec.ChapterSpec` the book reads them from.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlhfbook.chapters.ch02_dpo_ranking.sizing import gpu_work
from rlhfbook.report.spec import ChapterSpec, setting


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


SPEC = ChapterSpec(
    chapter="02_dpo_ranking",
    profiles={
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
    budget_min={"smoke": 1, "cpu": 4},
    needs_gpu=True,
    gpu_work=gpu_work,
)
