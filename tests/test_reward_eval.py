import numpy as np
import pytest

from rlhfbook import reward_eval as ev


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_pairwise_accuracy_counts_agreements_and_half_ties():
    assert ev.pairwise_accuracy([2, 0, 1, 5], [1, 1, 1, 0], [True, True, True, False]) == pytest.approx(1.5 / 4)
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
        assert conf[b] == pytest.approx(p[inside].mean()) and freq[b] == pytest.approx(y[inside].mean())
        ece += inside.mean() * abs(y[inside].mean() - p[inside].mean())
    assert ev.expected_calibration_error(p, y, 5) == pytest.approx(ece)
    assert ev.reliability_curve([1.0], [1], 5)[2][-1] == 1  # p = 1 falls in the last bin


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
    assert ev.r_squared(t, x, affine=True) == pytest.approx(np.corrcoef(t, x)[0, 1] ** 2)
    with pytest.raises(ValueError, match="constant"):
        ev.r_squared(np.ones(3), [1, 2, 3])


def test_best_of_n_regret(rng):
    gold = rng.standard_normal((4, 10))
    assert ev.best_of_n_regret(gold, gold, 5, 100, rng) == 0
    assert ev.best_of_n_regret(gold, 2 * gold + 1, 5, 100, rng) == 0  # order is all that matters
    # n = K: the whole pool, so regret = max - gold at the proxy's argmax, exactly
    proxy = rng.standard_normal((4, 10))
    exact = np.mean(gold.max(1) - gold[np.arange(4), proxy.argmax(1)])
    assert ev.best_of_n_regret(gold, proxy, 10, 3, rng) == pytest.approx(exact)
    worse = ev.best_of_n_regret(gold, -gold, 5, 200, rng)
    assert worse > ev.best_of_n_regret(gold, proxy, 5, 200, rng) > 0
    # n = 1 selects at random: regret 0 by definition (the best of one is the one)
    assert ev.best_of_n_regret(gold, proxy, 1, 10, rng) == 0
    with pytest.raises(ValueError, match="n must lie in 1..10"):
        ev.best_of_n_regret(gold, proxy, 11, 10, rng)
