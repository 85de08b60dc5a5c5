"""DPO on a unigram model with free per-token logits, in closed form: a sandbox for Thm 4.1 of
Chen et al. (2024) where the reference's log-ratio ``c`` can be dialled up.

Answers are ``length`` tokens drawn from a vocabulary of ``vocab`` tokens. The reference is a
unigram model ``softmax(l_ref)`` times a frozen per-answer factor ``exp(nuisance * z_y)``,
``z_y ~ N(0, 1)``: the idiosyncratic likelihood a real LM gives to a particular answer, which
fine-tuning a few shared parameters cannot cancel. The policy is ``softmax(l_ref + theta)``
with the same factor, and DPO trains ``theta`` (one logit per token). Normalising over answers
divides every answer by the same constant, which cancels in every ranking and log-ratio, so
``log pi(y) = counts(y) . log softmax(l_ref + theta) + nuisance * z_y``.

Raising ``nuisance`` raises ``|c|`` without changing what the raters prefer (a hidden
per-token utility summed over the answer, judged by Bradley-Terry raters).

Used by chapter 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rlhfbook.methods import ranking
from rlhfbook.tasks.preferences import majority


@dataclass
class Pairs:
    """Pairs of the sandbox's answers, which are token counts rather than texts: counts
    (``[n, vocab]``) and nuisance draws of each pair's winner and loser, and the winner's share of
    the votes (the texts' pair type is :class:`rlhfbook.tasks.preferences.PreferencePairs`)."""

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
    def build(
        cls,
        rng: np.random.Generator,
        *,
        vocab: int = 16,
        nuisance: float = 0.0,
        utility_scale: float = 0.5,
        **kwargs,
    ) -> Sandbox:
        return cls(
            rng.normal(0, 1, vocab),
            rng.normal(0, utility_scale, vocab),
            nuisance,
            **kwargs,
        )

    def sample_pairs(self, n: int, rng: np.random.Generator) -> Pairs:
        """``n`` pairs of reference samples, ordered by a majority of Bradley-Terry raters
        (an odd number of raters, so there are no ties)."""
        if self.n_raters % 2 == 0:
            raise ValueError(
                "use an odd number of raters so that every pair has a majority"
            )
        p = np.exp(self.ref_logits - self.ref_logits.max())
        tokens = rng.choice(len(p), size=(2, n, self.length), p=p / p.sum())
        counts = np.stack(
            [np.apply_along_axis(np.bincount, 1, t, minlength=len(p)) for t in tokens]
        ).astype(np.float64)
        z = rng.normal(0, 1, (2, n))
        reward = counts @ self.utility
        k = rng.binomial(self.n_raters, 1 / (1 + np.exp(-(reward[0] - reward[1]))))
        first, alpha = majority(k, self.n_raters)

        def pick(a):  # (the majority's answer, the other one) of every pair
            won = first[:, None] if a.ndim == 3 else first
            return np.where(won, a[0], a[1]), np.where(won, a[1], a[0])

        (cw, cl), (zw, zl) = pick(counts), pick(z)
        return Pairs(cw, cl, zw, zl, alpha)

    def logprobs(self, theta, pairs: Pairs):
        """``(log pi(y_w), log pi(y_l))`` under logits ``l_ref + theta`` (torch, differentiable)."""
        logq = torch.log_softmax(torch.as_tensor(self.ref_logits) + theta, 0)
        out = []
        for counts, z in ((pairs.counts_w, pairs.z_w), (pairs.counts_l, pairs.z_l)):
            out.append(
                torch.from_numpy(counts) @ logq + self.nuisance * torch.from_numpy(z)
            )
        return out

    def train_dpo(
        self,
        train: Pairs,
        val: Pairs,
        *,
        beta: float,
        gamma: float = 1.0,
        steps: int = 300,
        lr: float = 0.05,
        eval_every: int = 10,
    ) -> tuple[np.ndarray, list[dict]]:
        """Full-batch DPO on ``theta`` with Adam (the gamma-scaled loss of Eq. 4 when
        ``gamma != 1``); returns ``theta`` at the lowest validation loss and the history of
        (step, train loss, validation loss)."""
        zero = torch.zeros(len(self.ref_logits), dtype=torch.float64)
        ref_tr, ref_va = self.logprobs(zero, train), self.logprobs(zero, val)
        theta = zero.clone().requires_grad_(True)
        opt = torch.optim.Adam([theta], lr=lr)
        best, history = (np.inf, theta.detach().numpy().copy()), []
        for step in range(steps + 1):
            loss = ranking.dpo_loss(
                *self.logprobs(theta, train), *ref_tr, beta, gamma
            ).mean()
            if step % eval_every == 0:
                with torch.no_grad():
                    val_loss = (
                        ranking.dpo_loss(
                            *self.logprobs(theta, val), *ref_va, beta, gamma
                        )
                        .mean()
                        .item()
                    )
                history.append(
                    dict(step=step, train_loss=loss.item(), val_loss=val_loss)
                )
                if val_loss < best[0]:
                    best = (val_loss, theta.detach().numpy().copy())
            if step < steps:
                opt.zero_grad()
                loss.backward()
                opt.step()
        return best[1], history


@dataclass
class Study:
    """What DPO did to the train pairs of one sandbox world (see :func:`study`)."""

    c: np.ndarray  # the reference's log-ratio c of each train pair
    ref_correct: np.ndarray  # the reference ranks the pair correctly
    policy_correct: np.ndarray  # the best-validation policy ranks it correctly
    reward_accuracy: float  # DPO's reward accuracy at that policy (ties one half)
    thm41_agreement: (
        float  # share of pairs where R = 1 iff loss <= -log sigmoid(beta gamma c)
    )

    @property
    def flipped(self) -> np.ndarray:
        """For each pair the reference mis-ranks (``c > 0``): does DPO now rank it correctly?"""
        return self.policy_correct[~self.ref_correct]

    def summary(self) -> dict[str, float]:
        """Median |c|, ranking accuracy before and after, reward accuracy, and the share of
        mis-ranked pairs flipped: all of them, and those in the bottom and top quartile of c."""
        c_wrong = self.c[~self.ref_correct]
        q1, q3 = np.quantile(c_wrong, [0.25, 0.75])
        return {
            "median |c|": float(np.median(np.abs(self.c))),
            "R reference": float(self.ref_correct.mean()),
            "R after DPO": float(self.policy_correct.mean()),
            "reward accuracy": self.reward_accuracy,
            "flipped": float(self.flipped.mean()),
            "flipped (c in bottom quartile)": float(self.flipped[c_wrong <= q1].mean()),
            "flipped (c in top quartile)": float(self.flipped[c_wrong >= q3].mean()),
            "Thm 4.1 agreement": self.thm41_agreement,
        }


def study(
    seed: int,
    *,
    nuisance: float,
    n_pairs: int,
    steps: int,
    beta: float = 0.1,
    gamma: float = 1.0,
) -> Study:
    """Build a world from ``seed``, draw ``n_pairs`` train and ``n_pairs // 3`` validation pairs,
    train DPO (:meth:`Sandbox.train_dpo`) and measure the train pairs at the best checkpoint."""
    rng = np.random.default_rng(seed)
    sb = Sandbox.build(rng, nuisance=nuisance)
    train, val = sb.sample_pairs(n_pairs, rng), sb.sample_pairs(n_pairs // 3, rng)
    theta, _ = sb.train_dpo(train, val, beta=beta, gamma=gamma, steps=steps)
    ref = [
        x.numpy()
        for x in sb.logprobs(torch.zeros(len(theta), dtype=torch.float64), train)
    ]
    pol = [x.detach().numpy() for x in sb.logprobs(torch.as_tensor(theta), train)]
    c = ranking.reference_logratio(*ref)
    correct = ranking.ranking_correct(*pol)
    below = ranking.dpo_loss(*pol, *ref, beta, gamma) <= ranking.loss_threshold(
        c, beta, gamma
    )
    return Study(
        c,
        c <= 0,
        correct,
        ranking.reward_accuracy(*pol, *ref),
        float(np.mean(correct == below)),
    )
