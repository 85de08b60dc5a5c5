"""Evaluating a reward model against preferences and a gold score.

The usual offline metrics of reward-model evaluation: pairwise accuracy, calibration of the
Bradley-Terry preference probability (Brier score, expected calibration error and the
reliability diagram behind it), R^2 to a gold score, and the downstream quantity they are meant to
predict, the gold regret of best-of-N sampling under the reward model.

Used by chapters 3 and 4.
"""

from __future__ import annotations

import numpy as np


def _check_probabilities(
    prob: np.ndarray, outcome: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    p, y = np.asarray(prob, float), np.asarray(outcome, float)
    if p.shape != y.shape or p.size == 0:
        raise ValueError(
            f"prob and outcome must be non-empty and of equal shape, got {p.shape} and {y.shape}"
        )
    if (p < 0).any() or (p > 1).any() or (y < 0).any() or (y > 1).any():
        raise ValueError("prob and outcome must lie in [0, 1]")
    return p.ravel(), y.ravel()


def pairwise_accuracy(
    score_a: np.ndarray, score_b: np.ndarray, a_preferred: np.ndarray
) -> float:
    """Fraction of pairs where the reward model orders (a, b) as the label does; a tie counts 1/2."""
    margin = np.asarray(score_a, float) - np.asarray(score_b, float)
    label = np.asarray(a_preferred, bool)
    if margin.shape != label.shape:
        raise ValueError(
            f"scores and labels must have equal shape, got {margin.shape} and {label.shape}"
        )
    agree = np.where(label, margin > 0, margin < 0) + 0.5 * (margin == 0)
    return float(agree.mean())


def brier_score(prob: np.ndarray, outcome: np.ndarray) -> float:
    """Mean squared error ``E[(p - y)^2]`` of predicted probabilities p against outcomes y (Brier, 1950)."""
    p, y = _check_probabilities(prob, outcome)
    return float(np.mean((p - y) ** 2))


def reliability_curve(prob: np.ndarray, outcome: np.ndarray, n_bins: int = 10):
    """Equal-width bins of predicted probability: ``(mean prediction, observed frequency, count)`` per
    bin (NaN in empty bins), the points of a reliability diagram."""
    p, y = _check_probabilities(prob, outcome)
    if n_bins < 1:
        raise ValueError(f"n_bins must be positive, got {n_bins}")
    idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(idx, p, n_bins) / count
        freq = np.bincount(idx, y, n_bins) / count
    return conf, freq, count


def expected_calibration_error(
    prob: np.ndarray, outcome: np.ndarray, n_bins: int = 10
) -> float:
    """ECE (Naeini et al., 2015; Guo et al., 2017): ``sum_b (n_b / n) |freq_b - conf_b|`` over the
    reliability curve's bins."""
    conf, freq, count = reliability_curve(prob, outcome, n_bins)
    full = count > 0
    return float(np.sum(count[full] * np.abs(freq[full] - conf[full])) / count.sum())


def r_squared(
    target: np.ndarray, prediction: np.ndarray, affine: bool = False
) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot`` of ``prediction`` for ``target``.

    A reward model's scale and offset are arbitrary (Bradley-Terry sees only differences), so with
    ``affine=True`` the prediction is first mapped by the least-squares affine fit to the target
    (then R^2 equals the squared Pearson correlation).
    """
    t, x = np.asarray(target, float).ravel(), np.asarray(prediction, float).ravel()
    if t.shape != x.shape or t.size < 2:
        raise ValueError(
            f"target and prediction need equal shape and 2+ values, got {t.shape} and {x.shape}"
        )
    if affine:
        design = np.stack([x, np.ones_like(x)], 1)
        x = design @ np.linalg.lstsq(design, t, rcond=None)[0]
    ss_tot = np.sum((t - t.mean()) ** 2)
    if ss_tot == 0:
        raise ValueError("target is constant: R^2 is undefined")
    return float(1 - np.sum((t - x) ** 2) / ss_tot)


def best_of_n_regret(gold: np.ndarray, proxy: np.ndarray, n: int) -> float:
    """Expected gold regret of best-of-n selection by ``proxy``, exactly: for each prompt (row), n of its
    K sampled responses drawn uniformly without replacement, the proxy's favourite kept (ties broken
    at random), its gold score compared with the gold-best of the same n; mean over prompts.

    The expectation is a sum over the rows sorted by score: the highest-scoring of n draws falls in a
    group of tied scores with ``b`` scores below it and ``m`` in it with probability
    ``(C(b + m, n) - C(b, n)) / C(K, n)``, and is then a random member of the group.
    """
    gold, proxy = np.asarray(gold, float), np.asarray(proxy, float)
    if gold.shape != proxy.shape or gold.ndim != 2:
        raise ValueError(
            f"gold and proxy must both have shape (prompts, K), got {gold.shape}, {proxy.shape}"
        )
    if not 1 <= n <= gold.shape[1]:
        raise ValueError(f"n must lie in 1..{gold.shape[1]}, got {n}")
    best = np.mean([_expected_pick(g, g, n) for g in gold])
    return float(best - np.mean([_expected_pick(g, p, n) for g, p in zip(gold, proxy)]))


def _expected_pick(gold: np.ndarray, score: np.ndarray, n: int) -> float:
    """Expected gold of the top-``score`` response among n of the K drawn without replacement."""
    from scipy.special import gammaln

    def log_choose(k):  # log C(k, n), -inf where k < n
        with np.errstate(divide="ignore"):
            return np.where(
                k >= n,
                gammaln(k + 1) - gammaln(np.maximum(k - n, 0) + 1) - gammaln(n + 1),
                -np.inf,
            )

    values, group, size = np.unique(score, return_inverse=True, return_counts=True)
    below = np.cumsum(size) - size  # responses scoring strictly less than each group
    total = log_choose(np.array(len(score)))
    p_top = np.exp(log_choose(below + size) - total) - np.exp(log_choose(below) - total)
    mean_gold = np.bincount(group, gold, len(values)) / size
    return float(p_top @ mean_gold)
