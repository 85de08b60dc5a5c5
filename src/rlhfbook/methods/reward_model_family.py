"""A family of reward models of known quality on the toy world's preference task (the bridge of chapter 4).

A reward model for language scores a response to a prompt: a contextual bandit. On the book's
preference task (:mod:`rlhfbook.tasks.toyworld.preference`) the gold reward is known, so every offline
metric of a reward model -- pairwise accuracy, R^2 to gold, calibration, and the STARC distance of
Skalse et al. (2024), which in a bandit is the distance of per-prompt-centred, normalised scores
(:func:`rlhfbook.methods.reward_distance.bandit_starc_distance`) -- can be set beside the quantity it is meant
to predict: the gold regret of best-of-N sampling under the reward model.

The family mixes reward models whose metrics agree with ones whose metrics disagree:

* ``fitted`` -- linear Bradley-Terry models on bag-of-words features, fitted on rater comparisons,
  over the number of comparisons and the fraction of labels flipped: every metric moves together;
* ``noisy`` -- gold plus independent noise per response: errors everywhere, mostly small;
* ``length-biased`` -- gold plus a bonus per word (the raters' own bias, exaggerated): a feature the
  gold reward does not want, present in every response;
* ``word-biased`` -- gold plus a bonus for one rare, bad word: a few large errors, which best-of-N
  finds whenever the word is among the N, while pairwise accuracy barely sees them;
* ``offset`` -- a fitted model plus a constant per prompt: no effect on any choice between responses
  to the same prompt, on accuracy or on the STARC distance (which removes per-prompt baselines), but
  a large one on R^2 to gold.

"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlhfbook.methods import bradley_terry as bt
from rlhfbook.methods import reward_eval as ev
from rlhfbook.methods.reward_distance import bandit_starc_distance
from rlhfbook.tasks.toyworld.preference import TOPICS, WORDS, PreferenceTask

KINDS: tuple[str, ...] = ("fitted", "noisy", "length-biased", "word-biased", "offset")
METRICS: tuple[str, ...] = (
    "STARC distance",
    "best-of-N regret",
    "accuracy (gold)",
    "accuracy (raters)",
    "Brier",
    "ECE",
    "R2 (affine)",
)  # the keys of :func:`evaluate`


@dataclass(frozen=True)
class ResponsePool:
    """Sampled responses to every prompt and what is known about them, as arrays ``[prompt, response]``."""

    prompts: tuple[str, ...]
    responses: tuple[tuple[str, ...], ...]
    gold: np.ndarray  # gold reward
    rater: np.ndarray  # what the (length-biased) raters perceive
    features: (
        np.ndarray
    )  # [prompt, response, feature]: word counts in the prompt's block
    length: np.ndarray  # number of words


@dataclass(frozen=True)
class RewardModel:
    """One member of the family: its kind (see :data:`KINDS`), a readable label, its scores ``[prompt, response]``."""

    kind: str
    label: str
    scores: np.ndarray


def sample_pool(
    task: PreferenceTask, pool_size: int, rng: np.random.Generator
) -> ResponsePool:
    """``pool_size`` demonstrations (the sampling policy) for each of the task's prompts, one per topic."""
    if pool_size < 2:
        raise ValueError(f"pool_size must be at least 2, got {pool_size}")
    prompts = tuple(task.prompt(t) for t in TOPICS)
    responses = tuple(
        tuple(task.demonstration(p, rng) for _ in range(pool_size)) for p in prompts
    )
    gold = np.array(
        [[task.gold_reward(p, y) for y in row] for p, row in zip(prompts, responses)]
    )
    rater = np.array(
        [[task.rater_score(p, y) for y in row] for p, row in zip(prompts, responses)]
    )
    features = bt.bag_of_words(
        [t for t in TOPICS for _ in range(pool_size)],
        [y for row in responses for y in row],
        TOPICS,
        WORDS,
    )
    length = np.array([[len(y.split()) for y in row] for row in responses], float)
    return ResponsePool(
        prompts,
        responses,
        gold,
        rater,
        features.reshape(len(TOPICS), pool_size, -1),
        length,
    )


def comparisons(pool: ResponsePool, n: int, rng: np.random.Generator):
    """``n`` rater comparisons: a random prompt, two random responses from its pool, one rater's choice
    (:meth:`~rlhfbook.tasks.toyworld.preference.PreferenceTask.rate`: a prefers with probability
    ``sigmoid(rater(a) - rater(b))``, drawn here for all pairs at once from the pool's rater scores).
    Returns index arrays ``(prompt, a, b)`` and ``label`` (1 where the rater preferred a)."""
    n_prompts, pool_size = pool.gold.shape
    x, (a, b) = rng.integers(n_prompts, size=n), rng.integers(pool_size, size=(2, n))
    label = (rng.random(n) < bt.sigmoid(pool.rater[x, a] - pool.rater[x, b])).astype(
        int
    )
    return x, a, b, label


def fitted_models(
    pool: ResponsePool,
    train_sizes: tuple[int, ...],
    flip_rates: tuple[float, ...],
    rng: np.random.Generator,
    l2: float = 1e-2,
) -> list[RewardModel]:
    """Linear Bradley-Terry models (Bradley & Terry, 1952), one per (number of comparisons, label-flip
    rate): each size draws fresh comparisons, and each flip rate flips that fraction of their labels."""
    models = []
    for n in train_sizes:
        x, a, b, label = comparisons(pool, n, rng)
        for flip in flip_rates:
            noisy = np.where(rng.random(n) < flip, 1 - label, label)
            w = fit_by_prompt(
                pool.features[x, a] - pool.features[x, b],
                x,
                noisy,
                pool.gold.shape[0],
                l2,
            )
            models.append(
                RewardModel(
                    "fitted",
                    f"fitted: {n} comparisons, flip {flip:g}",
                    pool.features @ w,
                )
            )
    return models


def fit_by_prompt(
    diff_features: np.ndarray,
    prompt: np.ndarray,
    label: np.ndarray,
    n_prompts: int,
    l2: float,
) -> np.ndarray:
    """:func:`rlhfbook.methods.bradley_terry.fit_bradley_terry` on features made of one block per prompt (a
    comparison's features are zero outside its prompt's block), solved block by block.

    The objective ``mean log-loss + l2/2 |w|^2`` splits into one problem per prompt i,
    ``mean_i log-loss + (l2 n / n_i)/2 |w_i|^2``, so the blocks are the joint solution (and a prompt
    without comparisons gets w_i = 0); small problems keep the linear algebra fast and single-threaded.
    """
    n, d = diff_features.shape
    if d % n_prompts:
        raise ValueError(f"{d} features do not split into {n_prompts} equal blocks")
    block = d // n_prompts
    w = np.zeros(d)
    for i in range(n_prompts):
        rows, cols = prompt == i, slice(i * block, (i + 1) * block)
        if rows.any():
            w[cols] = bt.fit_bradley_terry(
                diff_features[rows][:, cols], label[rows], l2=l2 * n / rows.sum()
            )
    return w


def perturbed_models(
    pool: ResponsePool,
    base: RewardModel,
    rng: np.random.Generator,
    noise: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0, 2.0),
    length_bias: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0),
    word_bias: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0),
    offsets: tuple[float, ...] = (1.0, 3.0, 10.0),
    word: str = "dirty",
) -> list[RewardModel]:
    """The gold reward with one kind of error each (noise, a bonus per word, a bonus per ``word``) at the
    given strengths, in units of the gold's std; and ``base`` plus a random constant per prompt, of
    standard deviation ``offsets`` times the spread of ``base``'s scores.

    The default strengths span pairwise accuracies from about 0.65 to 0.97 for noise and length, as the
    fitted models do; a rare word ("dirty" is the task's worst) can only cost a few percent of accuracy
    however large its bonus, so its strengths go up until best-of-N picks it whenever it is drawn.
    """
    if word not in WORDS:
        raise ValueError(f"unknown word {word!r}; the task's words: {', '.join(WORDS)}")
    unit = pool.gold.std()
    count = np.array(
        [[y.split().count(word) for y in row] for row in pool.responses], float
    )
    length = (pool.length - pool.length.mean()) / pool.length.std()
    models = [
        RewardModel(
            "noisy",
            f"noisy: sd {s:g}",
            pool.gold + s * unit * rng.standard_normal(pool.gold.shape),
        )
        for s in noise
    ]
    models += [
        RewardModel(
            "length-biased",
            f"length-biased: {s:g} per sd of length",
            pool.gold + s * unit * length,
        )
        for s in length_bias
    ]
    models += [
        RewardModel(
            "word-biased",
            f"'{word}'-biased: {s:g} per '{word}'",
            pool.gold + s * unit * count,
        )
        for s in word_bias
    ]
    models += [
        RewardModel(
            "offset",
            f"{base.label} + per-prompt offset {s:g}",
            base.scores
            + s * base.scores.std() * rng.standard_normal((pool.gold.shape[0], 1)),
        )
        for s in offsets
    ]
    return models


def pool_accuracy(
    pool: ResponsePool, scores: np.ndarray, labels: str = "gold"
) -> float:
    """Pairwise accuracy over *all* pairs of responses to the same prompt (exact: no sampled test pairs).

    ``labels="gold"``: the fraction of pairs with different gold rewards that ``scores`` orders as the
    gold reward does. ``labels="raters"``: the expected agreement with one rater's label, who prefers a
    with probability ``sigmoid(rater(a) - rater(b))`` -- the accuracy on held-out rater comparisons, in
    expectation. A tie in ``scores`` counts 1/2.
    """
    if labels not in ("gold", "raters"):
        raise ValueError(f"labels must be 'gold' or 'raters', got {labels!r}")
    # agreement with a label that prefers a with probability p: 1/2 + sign(s_a - s_b) (p - 1/2)
    if labels == "gold":
        lean = 0.5 * np.sign(
            pool.gold[:, :, None] - pool.gold[:, None, :]
        )  # p - 1/2; 0 on gold ties
        n_pairs = np.count_nonzero(lean)
    else:
        lean = bt.sigmoid(pool.rater[:, :, None] - pool.rater[:, None, :]) - 0.5
        n_pairs = lean.size - lean.shape[0] * lean.shape[1]  # every ordered pair a != b
    sign = np.sign(
        scores[:, :, None] - scores[:, None, :]
    )  # 0 on the diagonal and on ties
    return float(0.5 + np.einsum("xab,xab->", sign, lean) / n_pairs)


def evaluate(
    pool: ResponsePool, scores: np.ndarray, held_out, bon_n: int
) -> dict[str, float]:
    """STARC distance to gold, exact best-of-``bon_n`` gold regret, and the usual reward-model metrics of
    one model (``held_out``: rater comparisons from :func:`comparisons`, for the rater-label metrics)."""
    x, a, b, label = held_out
    prob = bt.sigmoid(scores[x, a] - scores[x, b])
    return {
        "STARC distance": float(bandit_starc_distance(pool.gold, scores)),
        "best-of-N regret": ev.best_of_n_regret(pool.gold, scores, bon_n),
        "accuracy (gold)": pool_accuracy(pool, scores, "gold"),
        "accuracy (raters)": pool_accuracy(pool, scores, "raters"),
        "Brier": ev.brier_score(prob, label),
        "ECE": ev.expected_calibration_error(prob, label),
        "R2 (affine)": ev.r_squared(pool.gold, scores, affine=True),
    }
