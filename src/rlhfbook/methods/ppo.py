"""PPO for language models, with every ingredient of PPO-max as a named switch.

Zheng et al. (2023), *Secrets of RLHF in Large Language Models Part I: PPO*, study which
implementation details keep PPO stable against a learned reward model. Their recipe,
**PPO-max**, is: reward normalisation and clipping with running moments (Eq. 18), a
token-level KL penalty to the SFT policy (Eq. 19), advantage whitening (and clipping),
value-loss clipping, a critic initialised from the reward model and pre-trained with
value-only updates, global gradient clipping, and optionally the PPO-ptx language-model
loss. Each is a field of :class:`PPOConfig`, so that a chapter can switch one off and watch.

The loop also follows the checklist of Huang et al. (2024), *The N+ Implementation Details
of RLHF with PPO*: the response is cut after the first EOS, a response without EOS gets a
fixed low score, the reward-model score is added at the last response token, and rollout and
training log-probs are computed by the same function (the ratio is exactly 1 at the first
epoch). One iteration is: sample -> score -> *select* -> update. The ``select`` hook lets a
later chapter (PF-PPO) choose which samples enter the update without copying the loop.

Memory on a GPU: every forward pass of the policy, critic and reference policy takes
``micro_batch`` rows at a time, and an optimiser step accumulates the gradients of its
minibatch's micro-batches, weighted so that the step is that of the whole minibatch
(:func:`micro_batches`); the forward passes run under autocast (:class:`Precision`) with fp32
weights. :func:`rlhfbook.lm.memory.logits_bytes` is the arithmetic behind the gpu profiles' ``micro_batch``. With
``lora_rank`` the policy and critic train low-rank adapters (:mod:`rlhfbook.lm.lora`) instead of all
their weights, so that both fit a 16 GB GPU (:mod:`rlhfbook.lm.memory`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch

from rlhfbook.core import runtime
from rlhfbook.core.progress import track
from rlhfbook.lm import lora
from rlhfbook.lm.rollout import (
    Rollout,
    forward_logits,
    forward_values,
    generate,
    response_logprobs,
    token_logprobs,
)

# --- masked statistics -----------------------------------------------------------------


def masked_mean(
    x: torch.Tensor, mask: torch.Tensor, dim: int | None = None
) -> torch.Tensor:
    """Mean of ``x`` over the entries where ``mask`` is 1."""
    mask = mask.to(x.dtype)
    if dim is None:
        return (x * mask).sum() / mask.sum().clamp(min=1)
    return (x * mask).sum(dim) / mask.sum(dim).clamp(min=1)


def masked_var(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Unbiased variance of ``x`` over the masked entries (Bessel-corrected, as in the paper's code)."""
    mean = masked_mean(x, mask)
    n = mask.sum()
    if n < 2:
        raise ValueError("masked_var needs at least two unmasked entries")
    return masked_mean((x - mean) ** 2, mask) * n / (n - 1)


def masked_whiten(
    x: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True, eps: float = 1e-8
) -> torch.Tensor:
    """(x - mean) / std over the masked entries; masked-out entries are returned as 0.

    Advantage normalisation of PPO (MOSS-RLHF ``utils.whiten``). ``shift_mean=False`` divides the
    centred values by the std and adds the mean back, ``(x - mean) / std + mean``: the masked mean
    is kept, the spread becomes 1, and entries may change sign (as in MOSS-RLHF and TRL).
    """
    mean, var = masked_mean(x, mask), masked_var(x, mask)
    out = (x - mean) * torch.rsqrt(var + eps)
    if not shift_mean:
        out = out + mean
    return out * mask.to(x.dtype)


class RunningMoments:
    """Mean and variance of every value seen so far, merged batch by batch.

    The "historical mean and variance" of reward normalisation (Zheng et al., 2023, Eq. 18),
    with Chan et al.'s parallel merge of (count, mean, M2): after any sequence of updates,
    ``mean`` and ``var`` equal numpy's ``mean`` and ``var`` of the concatenated batches.
    """

    def __init__(self) -> None:
        self.count, self.mean, self._m2 = 0, 0.0, 0.0

    def update(self, x: torch.Tensor | np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64).ravel()
        if x.size == 0:
            raise ValueError("RunningMoments.update needs a non-empty batch")
        n, mean, m2 = x.size, float(x.mean()), float(((x - x.mean()) ** 2).sum())
        total = self.count + n
        delta = mean - self.mean
        self._m2 += m2 + delta**2 * self.count * n / total
        self.mean += delta * n / total
        self.count = total

    @property
    def var(self) -> float:
        """Population variance (numpy's default ``ddof=0``)."""
        return self._m2 / self.count if self.count else 1.0

    @property
    def std(self) -> float:
        return math.sqrt(self.var)


# --- the pieces of the PPO objective ---------------------------------------------------


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor,
    gamma: float = 1.0,
    lam: float = 0.95,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation (Schulman et al., 2016) over response tokens.

    ``delta_t = r_t + gamma V(s_{t+1}) - V(s_t)`` and ``A_t = sum_l (gamma lam)^l delta_{t+l}``;
    returns ``(advantages, returns)`` with ``returns = A + V``. Responses are left-aligned and
    ``mask`` marks their tokens: the state after the last token is terminal (value 0).
    Shapes [B, T]; entries outside the mask are 0.
    """
    if not (rewards.shape == values.shape == mask.shape):
        raise ValueError(
            f"rewards, values and mask need equal shapes, got {rewards.shape}, {values.shape}, {mask.shape}"
        )
    mask = mask.to(values.dtype)
    values = values * mask
    rewards = rewards * mask
    advantages = torch.zeros_like(values)
    last = torch.zeros_like(values[:, 0])
    for t in reversed(range(values.shape[1])):
        next_value = (
            values[:, t + 1] if t + 1 < values.shape[1] else torch.zeros_like(last)
        )
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        last = (delta + gamma * lam * last) * mask[:, t]
        advantages[:, t] = last
    return advantages, (advantages + values) * mask


def kl_k1(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token KL estimate ``log pi - log pi_ref`` (unbiased, can be negative; Schulman, 2020)."""
    return logp - ref_logp


def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token KL estimate ``(r - 1) - log r`` with ``r = pi_ref / pi`` (unbiased, always >= 0)."""
    log_ratio = ref_logp - logp
    return torch.expm1(log_ratio) - log_ratio


def policy_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip: float = 0.2,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Clipped surrogate ``-E[min(rho A, clip(rho, 1-eps, 1+eps) A)]``, ``rho = pi / pi_old``.

    Returns the loss and diagnostics: the fraction of tokens whose ratio was clipped, the
    approximate KL ``E[(rho - 1) - log rho]`` to the rollout policy, and the mean ratio.
    """
    log_ratio = logp - old_logp
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1 - clip, 1 + clip)
    loss = masked_mean(torch.maximum(unclipped, clipped), mask)
    with torch.no_grad():
        stats = {
            "clip_frac": masked_mean((clipped > unclipped).float(), mask).item(),
            "approx_kl": masked_mean(torch.expm1(log_ratio) - log_ratio, mask).item(),
            "ratio": masked_mean(ratio, mask).item(),
        }
    return loss, stats


def value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    clip: float | None = 0.2,
) -> torch.Tensor:
    """``0.5 E[max((V - R)^2, (clip(V, V_old - eps, V_old + eps) - R)^2)]``; plain MSE when ``clip`` is None."""
    loss = (values - returns) ** 2
    if clip is not None:
        clipped = old_values + torch.clamp(values - old_values, -clip, clip)
        loss = torch.maximum(loss, (clipped - returns) ** 2)
    return 0.5 * masked_mean(loss, mask)


def entropy(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean per-token entropy of the policy's next-token distribution (nats)."""
    logp = torch.log_softmax(logits.float(), -1)
    return masked_mean(-(logp.exp() * logp).sum(-1), mask)


# --- the loop --------------------------------------------------------------------------


@dataclass(frozen=True)
class PPOConfig:
    """Every knob of the loop. The defaults are PPO-max (Zheng et al., 2023, Sec. 5.4)."""

    iterations: int = 40
    prompts_per_iteration: int = 32
    group_size: int = 1  # samples per prompt (PF-PPO and PPO-M use several)
    max_new_tokens: int = 64
    temperature: float = 1.0
    epochs: int = 4
    minibatches: int = 1
    lr: float = 1e-4
    critic_lr: float = 3e-4
    gamma: float = 1.0
    lam: float = 0.95
    clip: float = 0.2
    # PPO-max switches
    reward_norm: bool = True  # r <- (r - running mean) / running std
    reward_clip: float | None = 5.0  # then clip to [-delta, delta]
    kl_coef: float = 0.05  # token-level KL penalty eta (0 switches it off)
    advantage_whiten: bool = True
    advantage_clip: float | None = 5.0
    value_clip: float | None = 0.2
    critic_warmup: int = 5  # first iterations update only the critic
    grad_clip: float | None = 1.0  # global gradient-norm clipping
    ptx_coef: float = 0.0  # PPO-ptx: weight of the SFT language-model loss
    # rows per generate call (None: the whole batch)
    chunk_size: int | None = None
    # rows per forward pass of the policy, critic and reference policy: the old/reference log-probs
    # and values, and the update's forward/backward passes, whose gradients are accumulated over the
    # minibatch (None, or at least the minibatch's rows: one pass)
    micro_batch: int | None = None
    # autocast dtype of the policy's and critic's forward passes (:class:`Precision`,
    # runtime.autocast_dtype): "auto" is bfloat16, else float16 with loss scaling, on CUDA, and
    # none on a CPU; "bfloat16" | "float16" force one, "float32" or None is fp32
    autocast: str | None = "auto"
    # train low-rank adapters of this rank on every linear layer of the policy's and critic's blocks,
    # and the critic's value head, instead of all weights (rlhfbook.lm.lora; None: full fine-tuning)
    lora_rank: int | None = None

    def __post_init__(self) -> None:
        n = self.prompts_per_iteration * self.group_size
        if n % self.minibatches:
            raise ValueError(
                f"{n} samples per iteration do not split into {self.minibatches} minibatches"
            )
        if self.kl_coef < 0 or self.ptx_coef < 0:
            raise ValueError("kl_coef and ptx_coef must be >= 0")
        if self.micro_batch is not None and self.micro_batch < 1:
            raise ValueError(
                f"micro_batch must be None or >= 1, got {self.micro_batch}"
            )
        if self.lora_rank is not None and self.lora_rank < 1:
            raise ValueError(f"lora_rank must be None or >= 1, got {self.lora_rank}")
        runtime.check_autocast(self.autocast)
        if self.critic_warmup >= self.iterations and self.iterations > 0:
            raise ValueError(
                f"critic_warmup={self.critic_warmup} leaves no policy update in {self.iterations} iterations"
            )


def config_fields(settings: Any) -> dict[str, Any]:
    """The :class:`PPOConfig` fields that ``settings`` (a chapter's settings, or any object with
    attributes) sets, by name: the one place where settings become an algorithm config, so a
    setting the config has cannot be left out by a hand-copied list, and a default is stated once."""
    return {
        f.name: getattr(settings, f.name)
        for f in fields(PPOConfig)
        if hasattr(settings, f.name)
    }


VANILLA = dict(
    reward_norm=False,
    reward_clip=None,
    kl_coef=0.0,
    advantage_clip=None,
    value_clip=None,
    critic_warmup=0,
    grad_clip=None,
)
"""The switches that turn :class:`PPOConfig`'s PPO-max defaults into vanilla PPO (the critic
of vanilla PPO is also built from the SFT policy with a fresh head, not from the RM)."""

Scorer = Callable[[Rollout], torch.Tensor]
Selector = Callable[[Rollout, torch.Tensor, int], torch.Tensor]


@dataclass
class Precision:
    """Mixed precision of the policy's and critic's forward passes (Micikevicius et al., 2018).

    Trained weights, gradients and AdamW moments stay fp32 (:func:`rlhfbook.core.runtime.dtype_for`;
    with adapters the frozen weights are stored in 16 bits on a GPU, :func:`optimisers`);
    the forward passes run under ``torch.autocast`` in ``dtype`` (None: fp32, autocast off), and
    the log-softmax of :func:`rlhfbook.lm.rollout.token_logprobs` is fp32 whatever the logits. With
    float16, whose range ends at 65504, each model's loss is multiplied by its dynamic
    ``GradScaler`` before backward and the gradients divided back before clipping; a step whose
    gradients overflowed is skipped and the scale halved. The scalers are disabled (identity)
    for any other dtype.
    """

    dtype: torch.dtype | None
    device_type: str
    policy_scaler: torch.amp.GradScaler = field(repr=False)
    critic_scaler: torch.amp.GradScaler = field(repr=False)

    @classmethod
    def create(cls, autocast: str | None, device: torch.device | str) -> Precision:
        """The precision of :attr:`PPOConfig.autocast` on ``device`` ("auto": the dtype the book
        samples and scores in there, which is fp32 on a CPU; TF32 matmuls on CUDA)."""
        device = torch.device(device)
        dtype = runtime.autocast_dtype(autocast, device)
        scaling = dtype == torch.float16
        scalers = [torch.amp.GradScaler(device.type, enabled=scaling) for _ in range(2)]
        return cls(dtype, device.type, *scalers)

    def autocast(self) -> torch.autocast:
        """The context of a forward pass."""
        return torch.autocast(
            self.device_type, dtype=self.dtype, enabled=self.dtype is not None
        )


@dataclass
class FirstPass:
    """The first update epoch's forward pass over the whole batch, with its autograd graph.

    With one minibatch taken in one pass (``micro_batch`` None or at least the batch), the first
    epoch's forward passes of the (not yet updated) policy and critic give exactly the rollout
    log-probs and values: :func:`make_batch` computes them once, in the epoch's shuffled
    ``order``, and :func:`update` takes its first step from them.
    """

    order: torch.Tensor  # the first epoch's permutation of the batch
    logits: torch.Tensor  # policy logits of rollout.select(order) (with a graph when the policy is trained)
    values: torch.Tensor  # critic values of rollout.select(order)


@dataclass
class Batch:
    """What one update trains on: the selected rollout and its per-token targets."""

    rollout: Rollout
    mask: torch.Tensor
    old_logp: torch.Tensor
    old_values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    first: FirstPass | None = None


def token_rewards(
    scores: torch.Tensor,
    logp: torch.Tensor,
    ref_logp: torch.Tensor,
    mask: torch.Tensor,
    kl_coef: float,
) -> torch.Tensor:
    """Per-token reward ``-eta (log pi - log pi_SFT)`` plus the score at the last response token (Eq. 19)."""
    rewards = -kl_coef * kl_k1(logp, ref_logp) * mask
    last = (mask.sum(1).long() - 1).clamp(min=0)
    return rewards.scatter_add(1, last[:, None], scores[:, None].to(rewards.dtype))


def shape_scores(
    scores: torch.Tensor, moments: RunningMoments, cfg: PPOConfig
) -> torch.Tensor:
    """Reward normalisation with the running moments of all scores so far, then clipping (Eq. 18)."""
    if cfg.reward_norm:
        moments.update(scores)
        scores = (scores - moments.mean) / max(moments.std, 1e-8)
    if cfg.reward_clip is not None:
        scores = scores.clamp(-cfg.reward_clip, cfg.reward_clip)
    return scores


def first_pass(
    policy,
    critic,
    rollout: Rollout,
    train_policy: bool = True,
    precision: Precision | None = None,
) -> FirstPass:
    """Draw the first update epoch's order and run its policy and critic forward passes."""
    precision = precision or Precision.create(None, "cpu")
    order = torch.randperm(len(rollout))
    sub = rollout.select(order)
    with precision.autocast():
        with torch.set_grad_enabled(
            train_policy
        ):  # no graph for a policy that this update does not train
            logits = forward_logits(policy, sub)
        with torch.enable_grad():
            values = forward_values(critic, sub).float()
    return FirstPass(order, logits, values)


def chunked_values(critic, rollout: Rollout, rows: int | None = None) -> torch.Tensor:
    """:func:`rlhfbook.lm.rollout.forward_values` ``rows`` rows at a time (all by default), shape [B, Lr]."""
    if rows is None or rows >= len(rollout):
        return forward_values(critic, rollout)
    return torch.cat(
        [
            forward_values(critic, rollout.select(i))
            for i in torch.arange(len(rollout)).split(rows)
        ]
    )


def make_batch(
    policy,
    ref_policy,
    critic,
    rollout: Rollout,
    scores: torch.Tensor,
    cfg: PPOConfig,
    moments: RunningMoments,
    *,
    train_policy: bool = True,
    precision: Precision | None = None,
) -> tuple[Batch, dict[str, float]]:
    """Old/reference log-probs and values, shaped rewards, GAE advantages and returns.

    With one minibatch in one pass, the policy and critic passes are those of the update's first
    epoch (:class:`FirstPass`, kept in ``Batch.first``): the same numbers, two forward passes
    fewer. Otherwise every pass runs ``cfg.micro_batch`` rows at a time without a graph.
    ``precision`` (default: ``cfg.autocast`` on the policy's device) must be the update's, so that
    the first epoch's ratio is 1.
    """
    precision = precision or Precision.create(
        cfg.autocast, next(policy.parameters()).device
    )
    mask = rollout.response_mask.float()
    one_pass = cfg.minibatches == 1 and (
        cfg.micro_batch is None or cfg.micro_batch >= len(rollout)
    )
    first = (
        first_pass(policy, critic, rollout, train_policy, precision)
        if one_pass
        else None
    )
    with torch.no_grad(), precision.autocast():
        if first is None:
            old_logp = response_logprobs(
                policy, rollout, cfg.temperature, cfg.micro_batch
            ).cpu()
            values = chunked_values(critic, rollout, cfg.micro_batch)
        else:  # back from the epoch's order to the rollout's
            inverse = torch.argsort(first.order)
            logits, values = (
                first.logits.detach()[inverse],
                first.values.detach()[inverse],
            )
            old_logp = token_logprobs(
                logits, rollout.response_ids, cfg.temperature
            ).cpu()
        if (
            ref_policy is None
        ):  # with adapters: pi_SFT is the policy with its adapters off
            with lora.disabled(policy):
                ref_logp = response_logprobs(
                    policy, rollout, cfg.temperature, cfg.micro_batch
                ).cpu()
        else:
            ref_logp = response_logprobs(
                ref_policy, rollout, cfg.temperature, cfg.micro_batch
            ).cpu()
    old_values = values.float().cpu() * mask
    rewards = token_rewards(
        shape_scores(scores, moments, cfg), old_logp, ref_logp, mask, cfg.kl_coef
    )
    advantages, returns = gae(rewards, old_values, mask, cfg.gamma, cfg.lam)
    if cfg.advantage_whiten:
        advantages = masked_whiten(advantages, mask)
    if cfg.advantage_clip is not None:
        advantages = advantages.clamp(-cfg.advantage_clip, cfg.advantage_clip)
    n_tokens = mask.sum(1).clamp(min=1)
    stats = {
        "kl": (kl_k1(old_logp, ref_logp) * mask).sum(1).mean().item(),
        "kl_k3": (kl_k3(old_logp, ref_logp) * mask).sum(1).mean().item(),
        "perplexity": torch.exp(-(old_logp * mask).sum(1) / n_tokens).mean().item(),
    }
    return Batch(rollout, mask, old_logp, old_values, advantages, returns, first), stats


def micro_batches(
    idx: torch.Tensor, mask: torch.Tensor, rows: int | None
) -> list[tuple[torch.Tensor, float]]:
    """The minibatch ``idx`` in chunks of ``rows`` rows, each with its share of the minibatch's
    response tokens (``mask``): a masked mean over the minibatch is the sum of the chunks' masked
    means times their shares, so accumulating the weighted chunks' gradients gives the gradient
    of the whole minibatch (one chunk: share 1.0 exactly)."""
    total = float(mask[idx].sum().clamp(min=1))
    return [
        (rows_, float(mask[rows_].sum()) / total)
        for rows_ in idx.split(rows or len(idx))
    ]


def _policy_backward(
    policy,
    batch: Batch,
    rows: torch.Tensor,
    share: float,
    cfg: PPOConfig,
    precision: Precision,
    logits: torch.Tensor | None = None,
    extra_loss: Callable[[], torch.Tensor] | None = None,
) -> dict[str, float]:
    """Backpropagate ``share`` x the clipped surrogate of the rows ``rows`` (+ ``extra_loss()``)
    into the policy's gradients; returns the rows' diagnostics times ``share``. ``logits`` are
    the rows' logits when already computed (:class:`FirstPass`)."""
    device = next(policy.parameters()).device
    sub, mask = batch.rollout.select(rows), batch.mask[rows].to(device)
    with precision.autocast():
        if logits is None:
            logits = forward_logits(policy, sub)
        logp = token_logprobs(logits, sub.response_ids, cfg.temperature)
        loss, stats = policy_loss(
            logp,
            batch.old_logp[rows].to(device),
            batch.advantages[rows].to(device),
            mask,
            cfg.clip,
        )
        loss = loss * share
        if extra_loss is not None:
            loss = loss + extra_loss()
    precision.policy_scaler.scale(loss).backward()
    stats["entropy"] = entropy(logits.detach(), mask).item()
    return {k: v * share for k, v in stats.items()}


def _critic_backward(
    critic,
    batch: Batch,
    rows: torch.Tensor,
    share: float,
    cfg: PPOConfig,
    precision: Precision,
    values: torch.Tensor | None = None,
) -> float:
    """Backpropagate ``share`` x the (clipped) value loss of the rows ``rows`` into the critic's
    gradients; returns that weighted loss. ``values`` when already computed (:class:`FirstPass`)."""
    device = next(critic.parameters()).device
    mask = batch.mask[rows].to(device)
    with precision.autocast():
        if values is None:
            values = forward_values(critic, batch.rollout.select(rows)).float()
        loss = share * value_loss(
            values,
            batch.old_values[rows].to(device),
            batch.returns[rows].to(device),
            mask,
            cfg.value_clip,
        )
    precision.critic_scaler.scale(loss).backward()
    return loss.item()


def _step(
    model, optimizer, scaler: torch.amp.GradScaler, grad_clip: float | None
) -> None:
    """The optimiser step on the accumulated gradients: unscaled, clipped to ``grad_clip`` global norm.

    With fp16 loss scaling, a step whose gradients hold inf or NaN is skipped and the scale halved;
    a scale that falls below 1 stops training (:func:`rlhfbook.core.runtime.check_loss_scale`)."""
    scaler.unscale_(optimizer)
    if grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()
    runtime.check_loss_scale(scaler, "PPO")


def _add(total: dict[str, float], part: dict[str, float]) -> dict[str, float]:
    return {k: total.get(k, 0.0) + v for k, v in part.items()}


def update(
    policy,
    critic,
    batch: Batch,
    cfg: PPOConfig,
    policy_opt,
    critic_opt,
    *,
    train_policy: bool = True,
    ptx_batch: Callable[[], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
    | None = None,
    precision: Precision | None = None,
) -> dict[str, float]:
    """``cfg.epochs`` passes over the batch in ``cfg.minibatches`` shuffled minibatches.

    The policy step minimises the clipped surrogate (+ ``ptx_coef`` x the SFT loss); the
    critic step minimises the (clipped) value loss. Each step's gradient is that of its whole
    minibatch, accumulated over ``cfg.micro_batch``-row forward/backward passes
    (:func:`micro_batches`). ``train_policy=False`` is the critic warm-up. Diagnostics of the
    very first minibatch (``first_ratio``, ``first_approx_kl``) check that rollout and training
    log-probs agree: ratio 1 and approx-KL 0. With a single minibatch in one pass, the first
    epoch trains on the forward passes ``make_batch`` ran (``batch.first``). ``precision``
    (default: ``cfg.autocast`` on the policy's device, fresh loss scalers) keeps its scalers
    across the updates of a run.
    """
    device = next(policy.parameters()).device
    precision = precision or Precision.create(cfg.autocast, device)
    n = len(batch.rollout)
    size = math.ceil(n / cfg.minibatches)  # a filtered batch may not split evenly
    stats: dict[str, list[float]] = {
        "clip_frac": [],
        "approx_kl": [],
        "entropy": [],
        "value_loss": [],
    }
    first: dict[str, float] = {}

    def ptx_loss() -> torch.Tensor:
        ids, attn, labels = ptx_batch()
        out = policy(
            input_ids=ids.to(device),
            attention_mask=attn.to(device),
            labels=labels.to(device),
        )
        return cfg.ptx_coef * out.loss

    # make_batch's forward passes of the first epoch, used once (only with a single pass)
    pending, batch.first = batch.first, None
    for _ in range(cfg.epochs):
        order = pending.order if pending is not None else torch.randperm(n)
        for start in range(0, n, size):
            chunks = micro_batches(
                order[start : start + size], batch.mask, cfg.micro_batch
            )
            if train_policy:
                policy_opt.zero_grad(set_to_none=True)
                pstats: dict[str, float] = {}
                for j, (rows, share) in enumerate(chunks):
                    logits = (
                        pending.logits
                        if pending is not None and pending.logits.requires_grad
                        else None
                    )
                    extra = (
                        ptx_loss if cfg.ptx_coef > 0 and j == 0 else None
                    )  # once per step
                    pstats = _add(
                        pstats,
                        _policy_backward(
                            policy, batch, rows, share, cfg, precision, logits, extra
                        ),
                    )
                _step(policy, policy_opt, precision.policy_scaler, cfg.grad_clip)
                if not first:
                    first = {
                        "first_ratio": pstats["ratio"],
                        "first_approx_kl": pstats["approx_kl"],
                    }
                for k in ("clip_frac", "approx_kl", "entropy"):
                    stats[k].append(pstats[k])
            critic_opt.zero_grad(set_to_none=True)
            vloss = 0.0
            for rows, share in chunks:
                values = pending.values if pending is not None else None
                vloss += _critic_backward(
                    critic, batch, rows, share, cfg, precision, values
                )
            _step(critic, critic_opt, precision.critic_scaler, cfg.grad_clip)
            stats["value_loss"].append(vloss)
            pending = None
    out = {k: float(np.mean(v)) if v else float("nan") for k, v in stats.items()}
    return out | first


def optimisers(
    policy, critic, cfg: PPOConfig
) -> tuple[torch.optim.AdamW, torch.optim.AdamW]:
    """The policy's and critic's AdamW, over all their weights or, with ``cfg.lora_rank``, over the
    low-rank adapters it adds to both first (and the critic's value head; :mod:`rlhfbook.lm.lora`).
    Their frozen weights are then stored in :func:`rlhfbook.core.runtime.frozen_dtype` (16 bits under
    a GPU's autocast)."""
    if cfg.lora_rank is not None:
        device = next(policy.parameters()).device
        frozen = runtime.frozen_dtype(cfg.autocast, device)
        lora.add_adapters(policy, cfg.lora_rank, frozen_dtype=frozen)
        lora.add_adapters(critic, cfg.lora_rank, train=("score",), frozen_dtype=frozen)
    kw = dict(betas=(0.9, 0.95), eps=1e-6, weight_decay=0.0)
    return (
        torch.optim.AdamW(lora.trainable(policy), lr=cfg.lr, **kw),
        torch.optim.AdamW(lora.trainable(critic), lr=cfg.critic_lr, **kw),
    )


def train(
    policy,
    ref_policy,
    critic,
    tokenizer,
    sample_prompts: Callable[[int, np.random.Generator], list[str]],
    reward_fn: Scorer,
    cfg: PPOConfig,
    *,
    seed: int = 0,
    gold_fn: Scorer | None = None,
    select: Selector | None = None,
    ptx_batch: Callable[[], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
    | None = None,
    progress: bool = True,
    desc: str = "PPO",
    after_iteration: Callable[[int], dict[str, float]] | None = None,
) -> list[dict[str, float]]:
    """Run PPO; returns one log row per iteration.

    Each iteration samples ``group_size`` responses for each of ``prompts_per_iteration``
    prompts, scores them with ``reward_fn`` (the proxy, e.g. a reward model) and ``gold_fn``
    (logged only), keeps the samples ``select(rollout, scores, group_size)`` returns (default:
    all; samples of one prompt are adjacent rows), and updates on them. ``policy`` and
    ``critic`` are trained in place; ``ref_policy`` is the frozen SFT policy of the KL penalty (None
    with ``cfg.lora_rank``: the policy with its adapters switched off, :func:`rlhfbook.lm.lora.disabled`).
    The log counts ``backward_samples`` and ``critic_backward_samples``: samples x epochs of
    policy and critic updates so far (the compute measure of PF-PPO's comparisons).
    ``after_iteration(it)`` (e.g. a held-out evaluation) returns extra entries for row ``it``.
    """
    if cfg.ptx_coef > 0 and ptx_batch is None:
        raise ValueError(
            "ptx_coef > 0 needs ptx_batch (a function returning SFT input_ids, mask, labels)"
        )
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    if ref_policy is None and cfg.lora_rank is None:
        raise ValueError(
            "ref_policy=None needs lora_rank: only adapters leave the SFT policy inside the policy"
        )
    if ref_policy is not None:
        ref_policy.eval()
    precision = Precision.create(cfg.autocast, next(policy.parameters()).device)
    policy_opt, critic_opt = optimisers(policy, critic, cfg)
    moments = RunningMoments()
    log: list[dict[str, float]] = []
    backward_samples = critic_backward_samples = 0
    for it in track(range(cfg.iterations), desc=desc, enabled=progress):
        start = time.perf_counter()
        policy.eval(), critic.eval()  # dropout off everywhere (N+ details)
        prompts = [
            p
            for p in sample_prompts(cfg.prompts_per_iteration, rng)
            for _ in range(cfg.group_size)
        ]
        with precision.autocast():
            rollout = generate(
                policy,
                tokenizer,
                prompts,
                max_new_tokens=cfg.max_new_tokens,
                temperature=cfg.temperature,
                chunk_size=cfg.chunk_size,
            )
        gen_s = time.perf_counter() - start
        scores = reward_fn(rollout).float()
        row = {
            "iteration": it,
            "proxy_reward": scores.mean().item(),
            "length": rollout.lengths.float().mean().item(),
            "eos_frac": rollout.has_eos.float().mean().item(),
        }
        if gold_fn is not None:
            row["gold_reward"] = gold_fn(rollout).float().mean().item()
        if select is not None:
            index = torch.as_tensor(
                select(rollout, scores, cfg.group_size), dtype=torch.long
            )
            rollout, scores = rollout.select(index), scores[index]
        train_policy = it >= cfg.critic_warmup
        batch, batch_stats = make_batch(
            policy,
            ref_policy,
            critic,
            rollout,
            scores,
            cfg,
            moments,
            train_policy=train_policy,
            precision=precision,
        )
        row |= batch_stats | update(
            policy,
            critic,
            batch,
            cfg,
            policy_opt,
            critic_opt,
            train_policy=train_policy,
            ptx_batch=ptx_batch,
            precision=precision,
        )
        backward_samples += len(rollout) * cfg.epochs * train_policy
        critic_backward_samples += len(rollout) * cfg.epochs
        row |= {
            "samples": len(prompts),
            "updated_samples": len(rollout),
            "backward_samples": backward_samples,
            "critic_backward_samples": critic_backward_samples,
            "policy_updated": float(train_policy),
            "generate_s": gen_s,
            "seconds": time.perf_counter() - start,
        }
        if after_iteration is not None:
            row |= after_iteration(it)
        log.append(row)
    policy.eval(), critic.eval()
    return log
