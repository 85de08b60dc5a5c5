"""Policy filtration for PPO (PF-PPO): train only on samples whose reward the model can be trusted for.

Shen & Zhang (2024), *Policy Filtration in RLHF to Fine-Tune LLM for Code Generation*, observe that
a reward model is more reliable where it gives high (or low) rewards than in the middle. PF-PPO
samples N responses per prompt from the policy pi_theta, ranks them by reward
``y_1 >= ... >= y_N`` and trains on samples of the *filtered policy* mu_theta, which outputs
rank i with probability ``w_i`` (their Sec. 4, Eq. 5 and Algorithm 2):

* best-of-N ``w^BoN = (1, 0, ..., 0)``;
* best-random ``w^BR = (1/2, 1/(2(N-1)), ..., 1/(2(N-1)))``;
* best-worst ``w^BW = (1/2, 0, ..., 0, 1/2)``.

Their Sec. 5.6 also tries reward thresholds (``top``, ``top-random``, ``top-bottom``) and reweighting
by ``|r|^k`` (``pow-k``). Which filter to use is predicted by the R^2 between rewards and actual
scores (unit-test pass rates) on samples of mu_theta, computed on groups of responses with
similar rewards (:func:`grouped_r_squared`) or on single samples (:func:`sample_r_squared`).

Ranks: ``rewards`` of one prompt are ranked by a *stable* sort in decreasing order, so among
equal rewards the sample that comes first counts as the better one; the best and the worst rank are
therefore distinct samples even when all N rewards are equal.

Used by chapter 3.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from rlhfbook.methods.reward_eval import r_squared

RANK_STRATEGIES = ("none", "bon", "br", "bw")
THRESHOLD_STRATEGIES = ("top", "top-random", "top-bottom")
STRATEGIES = RANK_STRATEGIES + THRESHOLD_STRATEGIES + ("pow",)
LABELS = {
    "none": "no filter",
    "bon": "BoN",
    "br": "BR",
    "bw": "BW",
    "top": "top",
    "top-random": "top-random",
    "top-bottom": "top-bottom",
    "pow": "pow-k",
}


def _check_strategy(strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise ValueError(
            f"unknown filtering strategy {strategy!r}; valid strategies: {', '.join(STRATEGIES)}"
        )


def _groups(rewards: np.ndarray | torch.Tensor) -> np.ndarray:
    r = np.asarray(rewards, dtype=float)
    if r.ndim != 2 or r.shape[1] < 2:
        raise ValueError(
            f"rewards must have shape (prompts, N) with N >= 2, got {r.shape}"
        )
    if not np.isfinite(r).all():
        raise ValueError("rewards must be finite")
    return r


def rank_weights(strategy: str, n: int) -> np.ndarray:
    """The weight vector ``w`` over ranks 1..n (rank 1 = highest reward) of a rank-based filter
    (Shen & Zhang, 2024, Sec. 4): ``none`` is uniform (no filter), ``bon`` / ``br`` / ``bw`` are
    w^BoN, w^BR and w^BW. Sums to one."""
    if strategy not in RANK_STRATEGIES:
        raise ValueError(
            f"{strategy!r} is not a rank-based strategy; valid: {', '.join(RANK_STRATEGIES)}"
        )
    if n < 2:
        raise ValueError(f"a filter needs N >= 2 samples per prompt, got N = {n}")
    w = np.zeros(n)
    if strategy == "none":
        w[:] = 1.0 / n
    elif strategy == "bon":
        w[0] = 1.0
    elif strategy == "br":
        w[0], w[1:] = 0.5, 0.5 / (n - 1)
    else:  # bw
        w[0] = w[-1] = 0.5
    return w


def ranks(rewards: np.ndarray | torch.Tensor) -> np.ndarray:
    """``order[g, i]`` = column of the sample with rank i + 1 in group g (stable, decreasing reward)."""
    r = _groups(rewards)
    return np.argsort(-r, axis=1, kind="stable")


def sample_weights(
    rewards: np.ndarray | torch.Tensor,
    strategy: str,
    *,
    threshold: float = 0.0,
    bottom: float = 0.0,
    k: float = 1.0,
    random_keep: float = 0.5,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Probability of each sample under the filtered policy mu_theta, shape (prompts, N).

    Rank strategies place :func:`rank_weights` on the ranked samples. The thresholds of Sec. 5.6
    are uniform over the kept samples: ``top`` keeps rewards ``>= threshold``; ``top-random`` also
    keeps each other sample with probability ``random_keep`` (needs ``rng``); ``top-bottom`` keeps
    rewards ``>= threshold`` or ``<= bottom``. ``pow`` weights samples by ``|r|^k`` (uniform when all
    rewards of a prompt are 0). Rows sum to one, except a threshold row with nothing kept, which is all
    zeros: that prompt drops out of the update.
    """
    _check_strategy(strategy)
    r = _groups(rewards)
    if strategy in RANK_STRATEGIES:
        w = np.zeros_like(r)
        np.put_along_axis(
            w,
            ranks(r),
            np.broadcast_to(rank_weights(strategy, r.shape[1]), r.shape),
            axis=1,
        )
        return w
    if strategy == "pow":
        if k < 0:
            raise ValueError(f"pow-k needs k >= 0, got {k}")
        m = np.abs(r) ** k
        m[m.sum(1) == 0] = 1.0
        return m / m.sum(1, keepdims=True)
    keep = r >= threshold
    if strategy == "top-random":
        if rng is None:
            raise ValueError("top-random needs an rng for its random keeps")
        keep |= rng.random(r.shape) < random_keep
    elif strategy == "top-bottom":
        if bottom > threshold:
            raise ValueError(
                f"top-bottom needs bottom <= threshold, got {bottom} > {threshold}"
            )
        keep |= r <= bottom
    counts = keep.sum(1, keepdims=True)
    return np.where(keep, 1.0 / np.maximum(counts, 1), 0.0)


def sample_filtered(
    rewards: np.ndarray | torch.Tensor,
    strategy: str,
    draws: int,
    rng: np.random.Generator,
    **params,
) -> np.ndarray:
    """Draw ``draws`` samples of the filtered policy mu_theta per prompt: columns ``z ~ Categorical(w)``
    (with replacement), shape (prompts, draws). Rows that a threshold filter empties get -1."""
    w = sample_weights(rewards, strategy, rng=rng, **params)
    cdf = np.cumsum(w, 1)
    u = rng.random((w.shape[0], draws)) * cdf[:, -1:]
    idx = np.minimum((u[:, :, None] >= cdf[:, None, :]).sum(-1), w.shape[1] - 1)
    return np.where(cdf[:, -1:] > 0, idx, -1)


def select_for_update(
    rewards: np.ndarray | torch.Tensor,
    strategy: str,
    rng: np.random.Generator,
    **params,
) -> np.ndarray:
    """Flat indices (row-major into the (prompts, N) batch) of the samples that enter the PPO update.

    This is how the official code fills the PPO buffer (``select_max_random``): a stratified sample
    of mu_theta with a fixed size per prompt. ``bon`` keeps the best sample; ``br`` the best and one
    uniformly random other; ``bw`` the best and the worst; ``none`` all N (PPO-M). Threshold strategies
    keep every sample with positive weight; ``pow`` draws 2 distinct samples per prompt with
    probabilities ``|r|^k``. Indices are sorted, so samples of a prompt stay adjacent.
    """
    _check_strategy(strategy)
    r = _groups(rewards)
    g, n = r.shape
    if strategy == "pow":
        w = sample_weights(r, "pow", **params)
        keys = np.log(rng.random(r.shape)) / np.maximum(
            w, 1e-300
        )  # Efraimidis-Spirakis: top-2 of u^(1/w)
        cols = np.argsort(-keys, axis=1, kind="stable")[:, :2]
    elif strategy in THRESHOLD_STRATEGIES:
        keep = sample_weights(r, strategy, rng=rng, **params) > 0
        return np.flatnonzero(keep.ravel())
    else:
        order = ranks(r)
        if strategy == "none":
            cols = order
        elif strategy == "bon":
            cols = order[:, :1]
        elif strategy == "bw":
            cols = order[:, [0, n - 1]]
        else:  # br: the best, then one of ranks 2..N uniformly
            other = order[np.arange(g), 1 + rng.integers(n - 1, size=g)]
            cols = np.stack([order[:, 0], other], 1)
    return np.sort((np.arange(g)[:, None] * n + cols).ravel())


def selector(strategy: str, rng: np.random.Generator, **params) -> Callable:
    """The hook between scoring and the update of :func:`rlhfbook.methods.ppo.train`:
    ``select(rollout, scores, group_size) -> index`` of the samples to train on."""
    _check_strategy(strategy)

    def select(rollout, scores: torch.Tensor, group_size: int) -> torch.Tensor:
        if len(scores) % group_size:
            raise ValueError(f"{len(scores)} scores do not form groups of {group_size}")
        grouped = scores.detach().float().cpu().numpy().reshape(-1, group_size)
        return torch.as_tensor(
            select_for_update(grouped, strategy, rng, **params), dtype=torch.long
        )

    return select


# --- does the reward predict the actual score? ------------------------------------------


def sample_r_squared(rewards: np.ndarray, scores: np.ndarray) -> float:
    """R^2 of the least-squares line ``s_hat = a R + b`` fitted to (reward, actual score) points;
    NaN when the actual scores are all equal (nothing to explain)."""
    s = np.asarray(scores, float)
    if s.size >= 2 and np.ptp(s) == 0:
        return float("nan")
    return r_squared(s, np.asarray(rewards, float), affine=True)


def grouped_r_squared(
    rewards: np.ndarray, scores: np.ndarray, n_groups: int = 20
) -> float:
    """The paper's R^2: sort samples by reward, split them into ``n_groups`` groups of (nearly)
    equal size, and fit the line to the (mean reward, mean actual score) of the groups."""
    r, s = np.asarray(rewards, float).ravel(), np.asarray(scores, float).ravel()
    if r.shape != s.shape:
        raise ValueError(
            f"rewards and scores need equal shapes, got {r.shape} and {s.shape}"
        )
    if not 2 <= n_groups <= r.size:
        raise ValueError(
            f"n_groups must lie in 2..{r.size} (the number of samples), got {n_groups}"
        )
    order = np.argsort(r, kind="stable")
    parts = np.array_split(order, n_groups)
    return sample_r_squared([r[p].mean() for p in parts], [s[p].mean() for p in parts])


def filtered_r_squared(
    rewards: np.ndarray,
    scores: np.ndarray,
    strategy: str,
    rng: np.random.Generator,
    *,
    draws: int | None = None,
    n_groups: int = 20,
    **params,
) -> dict[str, float]:
    """Sample-level and grouped R^2 between rewards and actual scores on samples of mu_theta.

    ``rewards`` and ``scores`` have shape (prompts, N); each prompt contributes ``draws`` samples of
    the filtered policy (default N, the same number as the unfiltered policy)."""
    r, s = _groups(rewards), np.asarray(scores, float)
    if s.shape != r.shape:
        raise ValueError(
            f"rewards and scores need equal shapes, got {r.shape} and {s.shape}"
        )
    idx = sample_filtered(r, strategy, draws or r.shape[1], rng, **params)
    rows = np.broadcast_to(np.arange(r.shape[0])[:, None], idx.shape)
    ok = idx >= 0
    rr, ss = r[rows[ok], idx[ok]], s[rows[ok], idx[ok]]
    return {
        "sample": sample_r_squared(rr, ss),
        "grouped": grouped_r_squared(rr, ss, n_groups),
        "n": int(ok.sum()),
    }


def reliability_by_region(
    rewards: np.ndarray, scores: np.ndarray, n_regions: int = 10
) -> dict[str, np.ndarray]:
    """Actual score per reward region (the paper's Fig. 1): samples sorted by reward and split into
    ``n_regions`` equal-count regions; per region the mean reward, and the mean and standard deviation
    of the actual score. A reliable region has a small spread of actual scores."""
    r, s = np.asarray(rewards, float).ravel(), np.asarray(scores, float).ravel()
    if r.shape != s.shape or r.size < n_regions or n_regions < 1:
        raise ValueError(
            f"need equal shapes and at least n_regions={n_regions} samples, got {r.shape}, {s.shape}"
        )
    parts = np.array_split(np.argsort(r, kind="stable"), n_regions)
    return {
        "reward": np.array([r[p].mean() for p in parts]),
        "score_mean": np.array([s[p].mean() for p in parts]),
        "score_std": np.array([s[p].std() for p in parts]),
        "count": np.array([p.size for p in parts]),
    }


def bootstrap_r_squared(
    rewards: np.ndarray,
    scores: np.ndarray,
    strategies: list[str],
    rng: np.random.Generator,
    *,
    n_boot: int = 200,
    n_groups: int = 20,
) -> tuple[dict[str, dict[str, float]], np.ndarray]:
    """:func:`filtered_r_squared` of each rank strategy, with a bootstrap over prompts.

    Returns ``(point, boot)``: ``point[strategy]`` holds the sample-level and grouped R^2 on all
    prompts; ``boot[b, j]`` the same two numbers for ``strategies[j]`` on the b-th resample of the
    prompts (drawn with replacement, one resample shared by all strategies so that differences
    between strategies are paired; each resample also draws mu_theta's samples afresh).
    """
    r, s = _groups(rewards), np.asarray(scores, float)
    if s.shape != r.shape:
        raise ValueError(
            f"rewards and scores need equal shapes, got {r.shape} and {s.shape}"
        )
    if n_boot < 2:
        raise ValueError(f"n_boot must be >= 2, got {n_boot}")

    def both(rows: np.ndarray, strategy: str) -> tuple[float, float]:
        out = filtered_r_squared(r[rows], s[rows], strategy, rng, n_groups=n_groups)
        return out["sample"], out["grouped"]

    everything = np.arange(r.shape[0])
    point = {
        k: dict(zip(("sample", "grouped"), both(everything, k))) for k in strategies
    }
    boot = np.empty((n_boot, len(strategies), 2))
    for b in range(n_boot):
        rows = rng.integers(r.shape[0], size=r.shape[0])
        boot[b] = [both(rows, k) for k in strategies]
    return point, boot


def r_squared_differences(
    point: dict[str, dict[str, float]],
    boot: np.ndarray,
    strategies: list[str],
    pairs: list[tuple[str, str]],
) -> list[dict[str, float | str]]:
    """For each pair ``(a, b)`` and each of the sample-level and grouped R^2: the difference
    ``R^2(a) - R^2(b)`` and its bootstrap standard error (from :func:`bootstrap_r_squared`)."""
    rows = []
    for a, b in pairs:
        i, j = strategies.index(a), strategies.index(b)
        for m, metric in enumerate(("sample", "grouped")):
            rows.append(
                {
                    "difference": f"{LABELS.get(a, a)} - {LABELS.get(b, b)}",
                    "R²": metric,
                    "value": point[a][metric] - point[b][metric],
                    "se": float(np.std(boot[:, i, m] - boot[:, j, m], ddof=1)),
                }
            )
    return rows
