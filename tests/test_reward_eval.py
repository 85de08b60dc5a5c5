import itertools

import numpy as np
import pytest

from rlhfbook.methods import reward_eval as ev


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_pairwise_accuracy_counts_agreements_and_half_ties():
    assert ev.pairwise_accuracy(
        [2, 0, 1, 5], [1, 1, 1, 0], [True, True, True, False]
    ) == pytest.approx(1.5 / 4)
    with pytest.raises(ValueError, match="equal shape"):
        ev.pairwise_accuracy([1, 2], [0, 1], [True])


def test_brier_score_closed_forms():
    assert ev.brier_score([0.5, 0.5], [1, 0]) == 0.25
    assert ev.brier_score([1.0, 0.0], [1, 0]) == 0
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        ev.brier_score([1.5], [1])
    with pytest.raises(ValueError, match="equal shape"):
        ev.brier_score([0.5], [1, 0])


def test_reliability_curve_and_ece_match_a_loop_reference(rng):
    p = rng.random(500)
    y = (rng.random(500) < p**2).astype(float)
    conf, freq, count = ev.reliability_curve(p, y, 5)
    ece = 0.0
    for b in range(5):
        inside = (p >= b / 5) & (p < (b + 1) / 5)
        assert count[b] == inside.sum()
        assert conf[b] == pytest.approx(p[inside].mean()) and freq[b] == pytest.approx(
            y[inside].mean()
        )
        ece += inside.mean() * abs(y[inside].mean() - p[inside].mean())
    assert ev.expected_calibration_error(p, y, 5) == pytest.approx(ece)
    assert (
        ev.reliability_curve([1.0], [1], 5)[2][-1] == 1
    )  # p = 1 falls in the last bin


def test_ece_is_small_for_calibrated_and_large_for_overconfident_predictions(rng):
    p = rng.random(20000)
    y = (rng.random(20000) < p).astype(float)
    assert ev.expected_calibration_error(p, y) < 0.02
    assert ev.expected_calibration_error(np.clip(2 * p - 0.5, 0, 1), y) > 0.1
    with pytest.raises(ValueError, match="n_bins must be positive"):
        ev.reliability_curve(p, y, 0)


def test_r_squared(rng):
    t = rng.standard_normal(100)
    assert ev.r_squared(t, t) == 1
    assert ev.r_squared(t, np.full(100, t.mean())) == pytest.approx(0)
    x = 3 * t + 2 + 0.1 * rng.standard_normal(100)
    assert ev.r_squared(t, x) < 0  # wrong scale and offset
    assert ev.r_squared(t, x, affine=True) == pytest.approx(
        np.corrcoef(t, x)[0, 1] ** 2
    )
    with pytest.raises(ValueError, match="constant"):
        ev.r_squared(np.ones(3), [1, 2, 3])


def test_best_of_n_regret_is_the_exact_expectation(rng):
    gold = rng.standard_normal((3, 7))
    proxy = np.round(rng.standard_normal((3, 7)))  # ties, broken at random
    for n in (1, 3, 7):
        reference = []  # every n-subset of each row, ties averaged
        for g, p in zip(gold, proxy):
            for pick in itertools.combinations(range(7), n):
                pick = list(pick)
                reference.append(
                    g[pick].max() - g[[i for i in pick if p[i] == p[pick].max()]].mean()
                )
        assert ev.best_of_n_regret(gold, proxy, n) == pytest.approx(
            np.mean(reference), abs=1e-12
        )


def test_best_of_n_regret_properties_and_monte_carlo(rng):
    gold, proxy = rng.standard_normal((2, 4, 40))
    assert ev.best_of_n_regret(gold, gold, 5) == pytest.approx(0, abs=1e-12)
    assert ev.best_of_n_regret(gold, 2 * gold + 1, 5) == pytest.approx(
        0, abs=1e-12
    )  # order is all that matters
    assert ev.best_of_n_regret(gold, proxy, 1) == pytest.approx(
        0, abs=1e-12
    )  # the best of one is the one
    assert ev.best_of_n_regret(gold, proxy, 40) == pytest.approx(
        np.mean(gold.max(1) - gold[np.arange(4), proxy.argmax(1)])
    )
    assert ev.best_of_n_regret(gold, -gold, 5) > ev.best_of_n_regret(gold, proxy, 5) > 0
    picks = np.argsort(rng.random((4, 20000, 40)), -1)[
        ..., :8
    ]  # Monte Carlo: 20000 draws of 8 per row
    g, p = (
        gold[np.arange(4)[:, None, None], picks],
        proxy[np.arange(4)[:, None, None], picks],
    )
    sampled = np.mean(
        g.max(-1) - np.take_along_axis(g, p.argmax(-1)[..., None], -1)[..., 0]
    )
    assert ev.best_of_n_regret(gold, proxy, 8) == pytest.approx(sampled, abs=0.02)
    with pytest.raises(ValueError, match="n must lie in 1..40"):
        ev.best_of_n_regret(gold, proxy, 41)
