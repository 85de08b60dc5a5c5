import numpy as np
import pytest
import torch

from rlhfbook.chapters.ch02_dpo_ranking import unigram_dpo as ud
from rlhfbook.chapters.ch02_dpo_ranking.unigram_dpo import Sandbox
from rlhfbook.methods import ranking as rk


def test_pairs_follow_the_raters_majority():
    rng = np.random.default_rng(0)
    sb = Sandbox.build(rng, utility_scale=2.0)
    pairs = sb.sample_pairs(500, rng)
    assert (
        pairs.counts_w.shape == (500, 16) and (pairs.counts_w.sum(1) == sb.length).all()
    )
    # loop reference: replay the same draws, count each pair's votes, put the majority's answer first
    replay = np.random.default_rng(0)
    Sandbox.build(replay, utility_scale=2.0)
    p = np.exp(sb.ref_logits - sb.ref_logits.max())
    tokens = replay.choice(16, size=(2, 500, sb.length), p=p / p.sum())
    z = replay.normal(0, 1, (2, 500))
    counts = [
        [np.bincount(tokens[j, i], minlength=16) for i in range(500)] for j in range(2)
    ]
    reward = [[counts[j][i] @ sb.utility for i in range(500)] for j in range(2)]
    votes_first = replay.binomial(
        5, 1 / (1 + np.exp(-(np.array(reward[0]) - np.array(reward[1]))))
    )
    for i in range(500):
        won = 0 if votes_first[i] >= 3 else 1
        np.testing.assert_array_equal(pairs.counts_w[i], counts[won][i])
        np.testing.assert_array_equal(pairs.counts_l[i], counts[1 - won][i])
        assert (pairs.z_w[i], pairs.z_l[i]) == (z[won, i], z[1 - won, i])
        assert (
            pairs.alpha[i] == (votes_first[i] if won == 0 else 5 - votes_first[i]) / 5
        )  # the chosen's vote share
    assert (pairs.alpha > 0.5).all() and set(np.unique(pairs.alpha)) == {0.6, 0.8, 1.0}
    # strong utilities: the majority winner nearly always has the higher hidden reward
    assert ((pairs.counts_w - pairs.counts_l) @ sb.utility > 0).mean() > 0.8
    with pytest.raises(ValueError, match="odd number"):
        Sandbox.build(rng, n_raters=4).sample_pairs(3, rng)


def test_nuisance_dials_up_c_and_dpo_flips_fewer_hard_pairs():
    flips = {}
    for nuisance in (0.0, 20.0):
        rng = np.random.default_rng(0)
        sb = Sandbox.build(rng, nuisance=nuisance)
        train, val = sb.sample_pairs(1000, rng), sb.sample_pairs(300, rng)
        theta, history = sb.train_dpo(train, val, beta=0.1, steps=100)
        assert history[-1]["train_loss"] < history[0]["train_loss"]
        ref = [
            x.numpy() for x in sb.logprobs(torch.zeros(16, dtype=torch.float64), train)
        ]
        pol = [x.detach().numpy() for x in sb.logprobs(torch.as_tensor(theta), train)]
        c = rk.reference_logratio(*ref)
        loss = rk.dpo_loss(*pol, *ref, 0.1)
        assert np.array_equal(
            rk.ranking_correct(*pol), loss <= rk.loss_threshold(c, 0.1)
        )  # Thm 4.1
        flips[nuisance] = (np.median(np.abs(c)), rk.ranking_correct(*pol)[c > 0].mean())
    assert flips[20.0][0] > 3 * flips[0.0][0]
    assert flips[20.0][1] < flips[0.0][1]


def test_gamma_zero_ignores_the_reference_term():
    rng = np.random.default_rng(1)
    sb = Sandbox.build(rng, nuisance=5.0)
    train, val = sb.sample_pairs(200, rng), sb.sample_pairs(60, rng)
    _, history = sb.train_dpo(train, val, beta=0.1, gamma=0.0, steps=0)
    pol = sb.logprobs(torch.zeros(16, dtype=torch.float64), train)
    # at theta = 0 the gamma = 0 loss is -log sigmoid(beta (log pi(y_w) - log pi(y_l))), not log 2
    expected = rk.dpo_loss(*pol, *pol, 0.1, gamma=0.0).mean().item()
    assert history[0]["train_loss"] == pytest.approx(expected)
    assert history[0]["train_loss"] != pytest.approx(np.log(2))


def test_study_small_c_flips_most_and_large_c_rarely():
    small = ud.study(0, nuisance=0.0, n_pairs=1000, steps=150)
    large = ud.study(0, nuisance=20.0, n_pairs=1000, steps=150)
    s, big = small.summary(), large.summary()
    assert s["flipped"] > 0.5 and s["R after DPO"] > s["R reference"] + 0.1
    assert big["median |c|"] > 5 * s["median |c|"]
    assert (
        big["flipped (c in top quartile)"] < 0.5 * big["flipped (c in bottom quartile)"]
    )
    assert s["Thm 4.1 agreement"] == big["Thm 4.1 agreement"] == 1.0
    assert len(small.flipped) == (~small.ref_correct).sum()
