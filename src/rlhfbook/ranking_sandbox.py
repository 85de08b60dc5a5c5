"""An analytic sandbox for Thm 4.1 of Chen et al. (2024): DPO on a model with free per-token
logits, where the reference's log-ratio ``c`` can be dialled up.

Answers are ``length`` tokens drawn from a vocabulary of ``vocab`` tokens. The reference is a
unigram model ``softmax(l_ref)`` times a frozen per-answer factor ``exp(nuisance * z_y)``,
``z_y ~ N(0, 1)``: the idiosyncratic likelihood a real LM gives to a particular answer, which
fine-tuning a few shared parameters cannot cancel. The policy is ``softmax(l_ref + theta)``
with the same factor, and DPO trains ``theta`` (one logit per token). Normalising over answers
divides every answer by the same constant, which cancels in every ranking and log-ratio, so
``log pi(y) = counts(y) . log softmax(l_ref + theta) + nuisance * z_y``.

Raising ``nuisance`` raises ``|c|`` without changing what the raters prefer (a hidden
per-token utility summed over the answer, judged by Bradley-Terry raters).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import ranking


@dataclass
class Pairs:
    """Token counts (``[n, vocab]``) and nuisance draws of each pair's two answers, and votes."""

    counts_w: np.ndarray
    counts_l: np.ndarray
    z_w: np.ndarray
    z_l: np.ndarray
    alpha: np.ndarray

    def __len__(self) -> int:
        return len(self.alpha)


@dataclass(frozen=True)
class Sandbox:
    """The unigram world: reference logits, hidden token utilities, nuisance scale."""

    ref_logits: np.ndarray
    utility: np.ndarray
    nuisance: float
    length: int = 12
    n_raters: int = 5

    @classmethod
    def build(cls, rng: np.random.Generator, *, vocab: int = 16, nuisance: float = 0.0,
              utility_scale: float = 0.5, **kwargs) -> "Sandbox":
        return cls(rng.normal(0, 1, vocab), rng.normal(0, utility_scale, vocab), nuisance, **kwargs)

    def sample_pairs(self, n: int, rng: np.random.Generator) -> Pairs:
        """``n`` pairs of reference samples, ordered by a majority of Bradley-Terry raters
        (an odd number of raters, so there are no ties)."""
        if self.n_raters % 2 == 0:
            raise ValueError("use an odd number of raters so that every pair has a majority")
        p = np.exp(self.ref_logits - self.ref_logits.max())
        tokens = rng.choice(len(p), size=(2, n, self.length), p=p / p.sum())
        counts = np.stack([np.apply_along_axis(np.bincount, 1, t, minlength=len(p)) for t in tokens])
        z = rng.normal(0, 1, (2, n))
        reward = counts @ self.utility
        k = rng.binomial(self.n_raters, 1 / (1 + np.exp(-(reward[0] - reward[1]))))
        first = 2 * k > self.n_raters
        pick = lambda a: (np.where(first[:, None] if a.ndim == 3 else first, a[0], a[1]),  # noqa: E731
                          np.where(first[:, None] if a.ndim == 3 else first, a[1], a[0]))
        (cw, cl), (zw, zl) = pick(counts), pick(z)
        alpha = np.where(first, k, self.n_raters - k) / self.n_raters
        return Pairs(cw, cl, zw, zl, alpha)

    def logprobs(self, theta, pairs: Pairs):
        """``(log pi(y_w), log pi(y_l))`` under logits ``l_ref + theta`` (torch, differentiable)."""
        logq = torch.log_softmax(torch.as_tensor(self.ref_logits) + theta, 0)
        out = []
        for counts, z in ((pairs.counts_w, pairs.z_w), (pairs.counts_l, pairs.z_l)):
            out.append(torch.as_tensor(counts, dtype=logq.dtype) @ logq + self.nuisance * torch.as_tensor(z))
        return out

    def train_dpo(self, train: Pairs, val: Pairs, *, beta: float, gamma: float = 1.0, steps: int = 300,
                  lr: float = 0.05, eval_every: int = 10) -> tuple[np.ndarray, list[dict]]:
        """Full-batch DPO on ``theta`` with Adam (the gamma-scaled loss of Eq. 4 when
        ``gamma != 1``); returns ``theta`` at the lowest validation loss and the history of
        (step, train loss, validation loss)."""
        zero = torch.zeros(len(self.ref_logits), dtype=torch.float64)
        ref_tr, ref_va = self.logprobs(zero, train), self.logprobs(zero, val)
        theta = zero.clone().requires_grad_(True)
        opt = torch.optim.Adam([theta], lr=lr)
        best, history = (np.inf, theta.detach().numpy().copy()), []
        for step in range(steps + 1):
            loss = ranking.dpo_loss(*self.logprobs(theta, train), *ref_tr, beta, gamma).mean()
            if step % eval_every == 0:
                with torch.no_grad():
                    val_loss = ranking.dpo_loss(*self.logprobs(theta, val), *ref_va, beta, gamma).mean().item()
                history.append(dict(step=step, train_loss=loss.item(), val_loss=val_loss))
                if val_loss < best[0]:
                    best = (val_loss, theta.detach().numpy().copy())
            if step < steps:
                opt.zero_grad()
                loss.backward()
                opt.step()
        return best[1], history
