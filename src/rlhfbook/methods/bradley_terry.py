"""Linear Bradley-Terry reward models, fitted in numpy.

The Bradley-Terry model (Bradley & Terry, 1952) behind RLHF's reward models: a rater prefers
response a to b with probability ``sigmoid(r(x, a) - r(x, b))``. With a linear reward
``r(x, y) = w . phi(x, y)`` fitting it is logistic regression on feature differences,
solved here by Newton's method: a reward model in milliseconds, for chapters that need many.
"""

from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * np.asarray(z, float)))


def bag_of_words(
    contexts: list[str],
    texts: list[str],
    context_vocab: tuple[str, ...],
    word_vocab: tuple[str, ...],
) -> np.ndarray:
    """Word counts of each text, one block of ``len(word_vocab)`` features per context:
    ``phi[i, c * V + v]`` = count of word v in text i if its context is c (unknown words ignored)."""
    if len(contexts) != len(texts):
        raise ValueError(f"{len(contexts)} contexts but {len(texts)} texts")
    c_index = {c: i for i, c in enumerate(context_vocab)}
    w_index = {w: i for i, w in enumerate(word_vocab)}
    n_words = len(word_vocab)
    phi = np.zeros((len(texts), len(context_vocab) * n_words))
    for i, (c, text) in enumerate(zip(contexts, texts)):
        if c not in c_index:
            raise ValueError(
                f"unknown context {c!r}; valid: {', '.join(context_vocab)}"
            )
        for w in text.split():
            if w in w_index:
                phi[i, c_index[c] * n_words + w_index[w]] += 1
    return phi


def fit_bradley_terry(
    diff_features: np.ndarray,
    a_preferred: np.ndarray,
    l2: float = 1e-2,
    n_iter: int = 50,
    tol: float = 1e-10,
) -> np.ndarray:
    """Weights ``w`` minimising ``mean log-loss(sigmoid(w . (phi_a - phi_b)), y) + l2/2 |w|^2``.

    ``a_preferred`` holds labels in [0, 1] (a fraction of raters preferring a also works). Newton's
    method on this strictly convex objective (``l2 > 0``) converges in a few steps.
    """
    x, y = np.asarray(diff_features, float), np.asarray(a_preferred, float)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(
            f"need diff_features (pairs, features) and labels (pairs,), got {x.shape}, {y.shape}"
        )
    if l2 <= 0:
        raise ValueError(f"l2 must be positive, got {l2}")
    n, d = x.shape
    w = np.zeros(d)
    for _ in range(n_iter):
        p = sigmoid(x @ w)
        grad = x.T @ (p - y) / n + l2 * w
        hess = (x.T * (p * (1 - p))) @ x / n + l2 * np.eye(d)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < tol:
            break
    return w
