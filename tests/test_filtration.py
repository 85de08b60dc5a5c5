import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification

from rlhfbook.lm.rollout import generate
from rlhfbook.methods import filtration, ppo
from rlhfbook.tasks.toyworld import build_tokenizer, new_model
from rlhfbook.tasks.toyworld.model import model_config


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.mark.parametrize("n", [2, 3, 5, 8])
@pytest.mark.parametrize("strategy", filtration.RANK_STRATEGIES)
def test_rank_weights_sum_to_one(strategy, n):
    w = filtration.rank_weights(strategy, n)
    assert w.shape == (n,) and w.sum() == pytest.approx(1.0) and (w >= 0).all()


def test_rank_weights_are_the_papers_vectors():
    np.testing.assert_allclose(filtration.rank_weights("bon", 5), [1, 0, 0, 0, 0])
    np.testing.assert_allclose(
        filtration.rank_weights("br", 5), [0.5, 0.125, 0.125, 0.125, 0.125]
    )
    np.testing.assert_allclose(filtration.rank_weights("bw", 5), [0.5, 0, 0, 0, 0.5])
    np.testing.assert_allclose(filtration.rank_weights("none", 4), [0.25] * 4)
    with pytest.raises(ValueError, match="N >= 2"):
        filtration.rank_weights("bw", 1)
    with pytest.raises(ValueError, match="not a rank-based"):
        filtration.rank_weights("top", 5)


def test_sample_weights_put_rank_weights_on_the_ranked_samples(rng):
    r = rng.normal(size=(50, 5))
    for strategy in filtration.RANK_STRATEGIES:
        w = filtration.sample_weights(r, strategy)
        np.testing.assert_allclose(w.sum(1), 1.0)
        for g in range(50):  # loop reference: sorted() of (reward, column), best first
            order = [c for _, c in sorted((-r[g, c], c) for c in range(5))]
            np.testing.assert_allclose(
                w[g, order], filtration.rank_weights(strategy, 5)
            )


def test_ties_go_to_the_first_sample_and_best_and_worst_stay_distinct():
    r = np.array([[1.0, 3.0, 3.0, 0.0, 0.0], [2.0, 2.0, 2.0, 2.0, 2.0]])
    np.testing.assert_array_equal(
        filtration.ranks(r), [[1, 2, 0, 3, 4], [0, 1, 2, 3, 4]]
    )
    np.testing.assert_allclose(
        filtration.sample_weights(r, "bon"), [[0, 1, 0, 0, 0], [1, 0, 0, 0, 0]]
    )
    np.testing.assert_allclose(
        filtration.sample_weights(r, "bw"), [[0, 0.5, 0, 0, 0.5], [0.5, 0, 0, 0, 0.5]]
    )
    np.testing.assert_array_equal(
        filtration.select_for_update(r, "bw", np.random.default_rng(0)), [1, 4, 5, 9]
    )


def test_threshold_and_pow_strategies(rng):
    r = np.array([[0.9, 0.1, -0.8, 0.5], [0.2, 0.1, 0.0, 0.3], [0.0, 0.0, 0.0, 0.0]])
    top = filtration.sample_weights(r, "top", threshold=0.4)
    np.testing.assert_allclose(
        top, [[0.5, 0, 0, 0.5], [0, 0, 0, 0], [0, 0, 0, 0]]
    )  # nothing kept: row drops out
    tb = filtration.sample_weights(r, "top-bottom", threshold=0.4, bottom=-0.5)
    np.testing.assert_allclose(tb[0], [1 / 3, 0, 1 / 3, 1 / 3])
    tr = filtration.sample_weights(
        r, "top-random", threshold=0.4, random_keep=1.0, rng=rng
    )
    np.testing.assert_allclose(tr, 0.25)
    pw = filtration.sample_weights(r, "pow", k=2)
    np.testing.assert_allclose(pw[0], np.array([0.81, 0.01, 0.64, 0.25]) / 1.71)
    np.testing.assert_allclose(pw[2], 0.25)
    np.testing.assert_allclose(pw.sum(1), 1.0)
    with pytest.raises(ValueError, match="needs an rng"):
        filtration.sample_weights(r, "top-random")
    with pytest.raises(ValueError, match="bottom <= threshold"):
        filtration.sample_weights(r, "top-bottom", threshold=0.0, bottom=0.5)
    with pytest.raises(ValueError, match="unknown filtering strategy 'best'"):
        filtration.sample_weights(r, "best")
    with pytest.raises(ValueError, match=r"shape \(prompts, N\)"):
        filtration.sample_weights(r[0], "bon")


def test_sampling_the_filtered_policy_follows_the_weights(rng):
    r = rng.normal(size=(4, 5))
    for strategy in ("br", "bw", "pow"):
        idx = filtration.sample_filtered(r, strategy, 20_000, rng, k=2)
        freq = np.stack([np.bincount(row, minlength=5) / 20_000 for row in idx])
        np.testing.assert_allclose(
            freq, filtration.sample_weights(r, strategy, k=2), atol=0.015
        )
    empty = filtration.sample_filtered(
        np.zeros((2, 3)) - 1, "top", 4, rng, threshold=0.0
    )
    assert (empty == -1).all()


def test_select_for_update_keeps_the_documented_samples(rng):
    r = rng.normal(size=(30, 5))
    order = filtration.ranks(r)
    flat = lambda cols: np.sort((np.arange(30)[:, None] * 5 + cols).ravel())  # noqa: E731
    np.testing.assert_array_equal(
        filtration.select_for_update(r, "none", rng), np.arange(150)
    )
    np.testing.assert_array_equal(
        filtration.select_for_update(r, "bon", rng), flat(order[:, :1])
    )
    np.testing.assert_array_equal(
        filtration.select_for_update(r, "bw", rng), flat(order[:, [0, 4]])
    )
    br = filtration.select_for_update(r, "br", rng).reshape(30, 2)
    assert (
        len(br) == 30 and (br // 5 == np.arange(30)[:, None]).all()
    )  # two of each prompt
    assert (np.isin(flat(order[:, :1]), br)).all()  # the best is always kept
    assert (br[:, 0] != br[:, 1]).all()
    pw = filtration.select_for_update(r, "pow", rng, k=1).reshape(30, 2)
    assert (pw // 5 == np.arange(30)[:, None]).all() and (pw[:, 0] != pw[:, 1]).all()
    # br's second sample is uniform over ranks 2..N
    counts = np.zeros(5)
    for _ in range(400):
        idx = filtration.select_for_update(r[:1], "br", rng)
        counts[list(order[0]).index(idx[idx != order[0, 0]][0])] += 1
    assert counts[0] == 0 and counts[1:].min() > 60


def test_r_squared_matches_numpy_least_squares(rng):
    r = rng.normal(size=300)
    s = 0.7 * r + rng.normal(scale=0.5, size=300)
    design = np.stack([r, np.ones_like(r)], 1)
    coef, res, *_ = np.linalg.lstsq(design, s, rcond=None)
    expected = 1 - res[0] / np.sum((s - s.mean()) ** 2)
    assert filtration.sample_r_squared(r, s) == pytest.approx(expected)
    # grouped: the same fit on the means of equal-count groups of the reward-sorted samples
    order = np.argsort(r)
    gr = np.array([r[order[i * 15 : (i + 1) * 15]].mean() for i in range(20)])
    gs = np.array([s[order[i * 15 : (i + 1) * 15]].mean() for i in range(20)])
    design = np.stack([gr, np.ones_like(gr)], 1)
    _, res, *_ = np.linalg.lstsq(design, gs, rcond=None)
    assert filtration.grouped_r_squared(r, s, 20) == pytest.approx(
        1 - res[0] / np.sum((gs - gs.mean()) ** 2)
    )
    assert np.isnan(filtration.sample_r_squared(r, np.ones_like(r)))
    with pytest.raises(ValueError, match="n_groups must lie"):
        filtration.grouped_r_squared(r, s, 1)


def test_best_worst_filter_raises_r_squared_when_the_middle_is_noisy(rng):
    """The paper's mechanism: reward noise that is largest in the middle region hurts BoN, helps BW."""
    s = rng.random(size=(2000, 5))
    r = s + rng.normal(size=s.shape) * 0.4 * (1 - np.abs(2 * s - 1))
    out = {
        k: filtration.filtered_r_squared(r, s, k, rng)["sample"]
        for k in filtration.RANK_STRATEGIES
    }
    assert out["bw"] > out["none"] > out["bon"]


def test_reliability_by_region(rng):
    r = np.arange(100.0)
    s = np.where(r < 50, 0.0, 1.0)
    out = filtration.reliability_by_region(r, s, 4)
    np.testing.assert_allclose(out["score_mean"], [0, 0, 1, 1])
    np.testing.assert_allclose(out["count"], 25)
    np.testing.assert_allclose(out["score_std"], 0)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    tok = build_tokenizer()
    policy = new_model("tiny", tok).eval()
    config = model_config("tiny", tok)
    config.num_labels = 1
    critic = AutoModelForSequenceClassification.from_config(config).eval()
    critic.config.pad_token_id = tok.pad_token_id
    return policy, critic, tok


def test_a_filtered_batch_keeps_masks_logprobs_and_values_aligned(tiny, rng):
    policy, critic, tok = tiny
    prompts = [p for p in ("f(1)=2 ->", "f(-3)=9 f(2)=4 ->", "x") for _ in range(4)]
    torch.manual_seed(1)
    full = generate(policy, tok, prompts, max_new_tokens=10)
    scores = torch.tensor(rng.normal(size=len(prompts)), dtype=torch.float32)
    cfg = ppo.PPOConfig(
        iterations=1,
        critic_warmup=0,
        group_size=4,
        prompts_per_iteration=3,
        reward_norm=False,
        advantage_whiten=False,
        advantage_clip=None,
    )
    index = filtration.selector("bw", rng)(full, scores, 4)
    assert len(index) == 6
    sub = full.select(index)
    batch, _ = ppo.make_batch(
        policy, policy, critic, sub, scores[index], cfg, ppo.RunningMoments()
    )
    ref, _ = ppo.make_batch(
        policy, policy, critic, full, scores, cfg, ppo.RunningMoments()
    )
    torch.testing.assert_close(batch.mask, ref.mask[index])
    torch.testing.assert_close(
        batch.old_logp * batch.mask,
        ref.old_logp[index] * ref.mask[index],
        atol=1e-5,
        rtol=1e-4,
    )
    torch.testing.assert_close(
        batch.old_values, ref.old_values[index], atol=1e-5, rtol=1e-4
    )
    torch.testing.assert_close(
        batch.advantages, ref.advantages[index], atol=1e-5, rtol=1e-4
    )
    assert sub.responses == [full.responses[i] for i in index.tolist()]
    assert sub.prompts == [full.prompts[i] for i in index.tolist()]
    with pytest.raises(ValueError, match="groups of 5"):
        filtration.selector("bw", rng)(full, scores, 5)


def test_ppo_with_a_filter_trains_on_two_of_five_samples(tiny):
    policy, critic, tok = tiny
    cfg = ppo.PPOConfig(
        iterations=2,
        prompts_per_iteration=3,
        group_size=5,
        max_new_tokens=6,
        epochs=2,
        critic_warmup=0,
    )
    sample = lambda n, g: ["f(1)=2 ->"] * n  # noqa: E731
    reward = lambda r: torch.tensor([float(len(x)) for x in r.responses])  # noqa: E731
    log = ppo.train(
        policy,
        policy,
        critic,
        tok,
        sample,
        reward,
        cfg,
        select=filtration.selector("br", np.random.default_rng(0)),
        progress=False,
        after_iteration=lambda it: {"seen": it * 10},
    )
    assert [row["updated_samples"] for row in log] == [6, 6]
    assert [row["seen"] for row in log] == [0, 10]
    assert log[-1]["backward_samples"] == 2 * 6 * 2
