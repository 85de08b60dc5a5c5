"""The book's own GRPO (Shao et al. 2024), for the small word-level policies of chapter 5: group
advantages and the clipped update with a KL penalty to a reference, built on PPO's pieces.

Chapter 1 compares PPO with TRL's ``GRPOTrainer`` (``trl.GRPOConfig``) instead; this module is not
that, and its config lives with the game player that uses it
(:class:`rlhfbook.methods.games.learned.LeagueGRPOConfig`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rlhfbook.lm.rollout import forward_logits, token_logprobs
from rlhfbook.methods.ppo import kl_k3, masked_mean, policy_loss


def group_advantages(
    rewards: torch.Tensor, group_size: int, eps: float = 1e-6
) -> torch.Tensor:
    """GRPO's advantage (Shao et al. 2024, outcome supervision): each reward standardised by the mean
    and std of its group, ``group_size`` consecutive rewards (0 for a constant group)."""
    if rewards.ndim != 1 or len(rewards) % group_size:
        raise ValueError(
            f"{len(rewards)} rewards do not split into groups of {group_size}"
        )
    r = rewards.view(-1, group_size)
    return ((r - r.mean(1, keepdim=True)) / (r.std(1, keepdim=True) + eps)).view(-1)


def grpo_update(
    model: Any,
    ref: Any,
    opt: torch.optim.Optimizer,
    rollout: Any,
    advantages: torch.Tensor,
    cfg: Any,
) -> dict[str, float]:
    """``cfg.epochs`` passes of minibatch updates on one rollout: PPO's clipped surrogate (Eq. 1 of
    Schulman et al. 2017, :func:`rlhfbook.methods.ppo.policy_loss`) with the sequence's group advantage
    at every token, plus ``cfg.kl_coef`` x the k3 estimate of KL to ``ref`` (GRPO's Eq. 4, Shao et al.
    2024). ``cfg`` has ``epochs``, ``minibatch``, ``clip``, ``kl_coef`` and ``temperature``."""

    mask = rollout.response_mask.float()
    with torch.no_grad():
        old_logp = token_logprobs(
            forward_logits(model, rollout), rollout.response_ids, cfg.temperature
        )
        ref_logp = token_logprobs(
            forward_logits(ref, rollout), rollout.response_ids, cfg.temperature
        )
    model.train()
    stats = []
    for _ in range(cfg.epochs):
        for idx in torch.randperm(len(rollout)).split(cfg.minibatch):
            part = rollout.select(idx)
            logp = token_logprobs(
                forward_logits(model, part), part.response_ids, cfg.temperature
            )
            pg, s = policy_loss(
                logp,
                old_logp[idx],
                advantages[idx, None].expand_as(logp),
                mask[idx],
                cfg.clip,
            )
            kl = masked_mean(kl_k3(logp, ref_logp[idx]), mask[idx])
            opt.zero_grad()
            (pg + cfg.kl_coef * kl).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            stats.append({**s, "kl_ref": kl.item()})
    model.eval()
    return {k: float(np.mean([s[k] for s in stats])) for k in stats[0]}
