import numpy as np
import pytest

from rlhfbook.methods import bradley_terry as bt


def test_bag_of_words_blocks_per_context():
    phi = bt.bag_of_words(["a", "b"], ["x y x z", "y"], ("a", "b"), ("x", "y"))
    np.testing.assert_array_equal(phi, [[2, 1, 0, 0], [0, 0, 0, 1]])
    with pytest.raises(ValueError, match="unknown context 'c'"):
        bt.bag_of_words(["c"], ["x"], ("a", "b"), ("x",))
    with pytest.raises(ValueError, match="1 contexts but 2 texts"):
        bt.bag_of_words(["a"], ["x", "y"], ("a",), ("x",))


def test_fit_recovers_the_weights_of_simulated_raters():
    rng = np.random.default_rng(0)
    w_true = rng.standard_normal(5)
    x = rng.standard_normal((20000, 5))
    y = rng.random(20000) < bt.sigmoid(x @ w_true)
    w = bt.fit_bradley_terry(x, y, l2=1e-6)
    np.testing.assert_allclose(w, w_true, atol=0.08)


def test_fit_is_the_stationary_point_of_the_regularised_loss():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((50, 8)), rng.random(50)  # soft labels
    w = bt.fit_bradley_terry(x, y, l2=0.1)
    grad = x.T @ (bt.sigmoid(x @ w) - y) / 50 + 0.1 * w
    np.testing.assert_allclose(grad, 0, atol=1e-10)
    with pytest.raises(ValueError, match="l2 must be positive"):
        bt.fit_bradley_terry(x, y, l2=0)
    with pytest.raises(ValueError, match="labels"):
        bt.fit_bradley_terry(x, y[:3])
