"""A neural reward model: preference pairs sampled from a policy, trained with TRL's RewardTrainer.

The RLHF pipeline's second stage (Ouyang et al., 2022; Zheng et al., 2023, Sec. 3.2): sample
two responses per prompt from the SFT policy, let raters pick one, and fit a Bradley-Terry
model ``P(chosen > rejected) = sigmoid(r(x, chosen) - r(x, rejected))``. In the toy world the
raters are the task's simulated, length-biased raters, so the learned reward inherits a
documented, exploitable bias. RewardTrainer appends the EOS to every text and reads the score
at that token; :func:`rlhfbook.lm.rollout.reward_model_scores` reads PPO's samples the same way.

Used by chapters 1 and 3, and by ``python -m rlhfbook.book.launch reward``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from rlhfbook.core import runtime
from rlhfbook.lm.models import fit_embeddings, load_reward_model
from rlhfbook.lm.rollout import (
    Rollout,
    eos_trick,
    format_prompts,
    generate,
    reward_model_scores,
    rollout_from_ids,
)
from rlhfbook.tasks.preferences import PreferencePairs, load_pairs, rate_pairs


def preference_pairs(
    policy,
    tokenizer,
    task,
    n_pairs: int,
    rng: np.random.Generator,
    *,
    max_new_tokens: int,
    temperature: float = 1.0,
    n_raters: int = 1,
    batch_size: int = 256,
) -> PreferencePairs:
    """``n_pairs`` pairs: two samples of ``policy`` per prompt, labelled by the majority of
    ``n_raters`` of the task's raters (ties go to a coin flip).

    Only pairs in which both responses end with EOS and differ are kept, and sampling goes on
    until there are ``n_pairs`` of them (seed torch for reproducible samples).
    """
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be >= 1, got {n_pairs}")

    def two_samples():
        kept = 0
        while kept < n_pairs:
            prompts = task.sample_prompts(batch_size, rng)
            a = generate(
                policy,
                tokenizer,
                prompts,
                max_new_tokens=max_new_tokens,
                temperature=temperature,
            )
            b = generate(
                policy,
                tokenizer,
                prompts,
                max_new_tokens=max_new_tokens,
                temperature=temperature,
            )
            for i, prompt in enumerate(prompts):
                if a.has_eos[i] and b.has_eos[i] and a.responses[i] != b.responses[i]:
                    kept += 1
                    yield prompt, a.responses[i], b.responses[i]

    return rate_pairs(task, two_samples(), n_raters, rng).select(range(n_pairs))


def cut_lengths(max_length: int) -> tuple[int, int]:
    """The tokens of a prompt (its last) and of an answer (its first) that a reward model of
    ``max_length`` tokens reads when the whole is longer: half each, one of the answer's for the EOS."""
    return max_length // 2, max_length // 2 - 1


def fit_length(pairs: PreferencePairs, tokenizer, max_length: int) -> PreferencePairs:
    """``pairs`` with each pair whose prompt + answer + EOS exceeds ``max_length`` tokens cut to
    :func:`cut_lengths` (as :mod:`rlhfbook.chapters.ch01_ppo_max.gold_proxy` scores it); the others as they are. TRL's
    ``RewardTrainer`` drops a pair with a longer sequence instead of truncating it."""
    prompt_tokens, answer_tokens = cut_lengths(max_length)

    def ids(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    rows = []
    for p, c, r in zip(pairs.prompts, pairs.chosen, pairs.rejected):
        p_ids, c_ids, r_ids = ids(p), ids(c), ids(r)
        if len(p_ids) + max(len(c_ids), len(r_ids)) + 1 > max_length:
            p, c, r = (
                tokenizer.decode(x)
                for x in (
                    p_ids[-prompt_tokens:],
                    c_ids[:answer_tokens],
                    r_ids[:answer_tokens],
                )
            )
        rows.append((p, c, r))
    prompts, chosen, rejected = (list(x) for x in zip(*rows))
    return PreferencePairs(prompts, chosen, rejected, pairs.alpha.copy())


def reward_trainer(
    base: str | Path,
    tokenizer,
    pairs,
    out_dir: str | Path,
    *,
    steps: int,
    batch_size: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
    max_length: int = 128,
    logging_steps: int | None = None,
    micro_batch: int | None = None,
    autocast: str | None = "auto",
    chat: bool | None = False,
):
    """TRL's ``RewardTrainer`` of :func:`train_reward_model` (its arguments), ready to train; its
    ``train_dataset`` holds the token ids the reward model trains on: every pair, those longer than
    ``max_length`` cut (:func:`fit_length`).

    ``chat`` decides the prompt text, as :func:`rlhfbook.lm.rollout.format_prompts` does for the policy:
    False, the prompt as written (chapter 1's HH-RLHF transcripts, scored with ``chat=False``);
    None, a user turn of the tokenizer's chat template when it has one, which is the text the
    policy is conditioned on and :func:`proxy_reward` scores (chapter 3)."""
    from dataclasses import replace

    from trl import RewardConfig, RewardTrainer

    args = RewardConfig(
        **runtime.trainer_settings(out_dir, seed, autocast),
        max_steps=steps,
        **runtime.trainer_batch(batch_size, micro_batch),
        learning_rate=lr,
        lr_scheduler_type="cosine",
        warmup_steps=0,
        logging_steps=logging_steps or max(1, steps // 10),
        max_length=max_length,
    )
    pairs = load_pairs(pairs)
    pairs = fit_length(
        replace(pairs, prompts=format_prompts(tokenizer, pairs.prompts, chat)),
        tokenizer,
        max_length,
    )
    trainer = RewardTrainer(
        model=str(base),
        args=args,
        train_dataset=pairs.to_dataset(),
        processing_class=tokenizer,
    )
    # TRL loads the model from the folder as saved: a pad token that load_tokenizer added (gpt2,
    # Llama 3) is past its embeddings until they are resized (the optimizer is made in train()).
    fit_embeddings(trainer.model, tokenizer)
    return runtime.prepare_trainer(trainer)


def train_reward_model(
    base: str | Path, tokenizer, pairs, out_dir: str | Path, **settings
) -> tuple[Path, list[dict]]:
    """Fit a reward model initialised from ``base`` (a causal-LM folder or hub id: TRL adds a
    fresh scalar ``score`` head) on ``pairs`` (anything :func:`rlhfbook.tasks.preferences.load_pairs`
    reads: pairs, rows, a local file or a hub id's train split) with TRL's
    ``RewardTrainer`` (:func:`reward_trainer`, whose keyword ``settings`` it takes: ``steps``,
    ``batch_size``, ``lr``, ``seed``, ``max_length``, ``logging_steps`` (by default a tenth of the
    run), ``micro_batch``, ``autocast``, ``chat``); saves it in ``out_dir`` and returns the folder and
    the training log. Each step's gradient is that of ``batch_size`` pairs, accumulated over passes
    of ``micro_batch`` pairs (:func:`runtime.trainer_batch`), in the mixed precision of ``autocast``
    (:func:`runtime.trainer_precision`)."""
    trainer = reward_trainer(base, tokenizer, pairs, out_dir, **settings)
    trainer.train()
    trainer.model.config.pad_token_id = tokenizer.pad_token_id
    trainer.save_model(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    return Path(out_dir), trainer.state.log_history


def proxy_reward(
    rm_path: str | Path,
    tokenizer,
    device: torch.device | str = "cpu",
    no_eos_score: float | None = -1.0,
    text_fn: Callable[[str, str], str] | None = None,
) -> Callable[[Rollout], torch.Tensor]:
    """The trained reward model r_phi, frozen, as a function rollout -> scores [B].

    This is PPO's *proxy* reward: what the policy optimises in place of the gold reward it
    cannot see. A response cut off without EOS scores ``no_eos_score`` (the EOS trick; None keeps
    the model's score). ``text_fn(prompt, response)``, when given, is the text the reward model reads
    in place of the response (e.g. :func:`rlhfbook.tasks.code_tasks.with_execution`: the program and what it
    does on the prompt's examples); the policy's own text is unchanged.
    """
    rm, _ = load_reward_model(rm_path, tokenizer, sample_only=True)
    rm.to(device).requires_grad_(False)

    @torch.no_grad()
    def score(rollout: Rollout) -> torch.Tensor:
        if text_fn is None:
            return reward_model_scores(rm, rollout, no_eos_score=no_eos_score)
        ids = [
            tokenizer(text_fn(p, r), add_special_tokens=False)["input_ids"]
            + [tokenizer.eos_token_id]
            for p, r in zip(rollout.prompts, rollout.responses)
        ]
        return eos_trick(
            reward_model_scores(rm, rollout_from_ids(tokenizer, rollout.prompts, ids)),
            rollout,
            no_eos_score,
        )

    return score
