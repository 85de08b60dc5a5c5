import itertools

import numpy as np
import pytest

from rlhfbook.methods import bradley_terry as bt
from rlhfbook.methods import reward_distance as rd
from rlhfbook.methods import reward_eval as ev
from rlhfbook.methods import reward_model_family as rmf
from rlhfbook.tasks.toyworld.preference import TOPICS, WORDS, PreferenceTask


@pytest.fixture(scope="module")
def task():
    return PreferenceTask(world_seed=0)


@pytest.fixture(scope="module")
def pool(task):
    return rmf.sample_pool(task, 24, np.random.default_rng(0))


def test_sample_pool_holds_the_task_s_gold_reward_and_block_features(task, pool):
    assert pool.gold.shape == pool.rater.shape == pool.length.shape == (len(TOPICS), 24)
    assert pool.features.shape == (len(TOPICS), 24, len(TOPICS) * len(WORDS))
    i, k = 3, 5
    prompt, response = pool.prompts[i], pool.responses[i][k]
    assert pool.gold[i, k] == task.gold_reward(prompt, response)
    assert pool.rater[i, k] == task.rater_score(prompt, response)
    assert pool.length[i, k] == len(response.split())
    block = slice(i * len(WORDS), (i + 1) * len(WORDS))
    assert pool.features[i, k, block].sum() == sum(w in WORDS for w in response.split())
    assert (
        np.delete(pool.features[i, k], np.r_[block]).sum() == 0
    )  # zero outside its prompt's block
    with pytest.raises(ValueError, match="pool_size must be at least 2"):
        rmf.sample_pool(task, 1, np.random.default_rng(0))


def test_comparisons_are_the_task_s_rater_choices(task, pool):
    x, a, b, label = rmf.comparisons(pool, 200_000, np.random.default_rng(7))
    assert ((x >= 0) & (x < len(TOPICS)) & (a < 24) & (b < 24)).all() and set(
        np.unique(label)
    ) == {0, 1}
    i, j, k = 1, 2, 3  # one pair's frequency against PreferenceTask.rate's probability
    pick = (x == i) & (a == j) & (b == k)
    margin = task.rater_score(pool.prompts[i], pool.responses[i][j]) - task.rater_score(
        pool.prompts[i], pool.responses[i][k]
    )
    assert label[pick].mean() == pytest.approx(
        1 / (1 + np.exp(-margin)), abs=4 / np.sqrt(pick.sum())
    )
    p = bt.sigmoid(pool.rater[x, a] - pool.rater[x, b])
    assert label.mean() == pytest.approx(p.mean(), abs=0.005)


def test_fit_by_prompt_is_the_joint_bradley_terry_fit(pool):
    x, a, b, label = rmf.comparisons(pool, 400, np.random.default_rng(1))
    diff = pool.features[x, a] - pool.features[x, b]
    joint = bt.fit_bradley_terry(diff, label, l2=1e-2)
    np.testing.assert_allclose(
        rmf.fit_by_prompt(diff, x, label, len(TOPICS), 1e-2), joint, atol=1e-8
    )
    # a prompt without comparisons gets zero weights, as the joint fit gives it
    keep = x != 2
    w = rmf.fit_by_prompt(diff[keep], x[keep], label[keep], len(TOPICS), 1e-2)
    block = slice(2 * len(WORDS), 3 * len(WORDS))
    np.testing.assert_array_equal(w[block], 0)
    np.testing.assert_allclose(
        w, bt.fit_bradley_terry(diff[keep], label[keep], l2=1e-2), atol=1e-8
    )
    with pytest.raises(ValueError, match="do not split into 5 equal blocks"):
        rmf.fit_by_prompt(diff, x, label, 5, 1e-2)


def test_more_clean_comparisons_give_a_better_fitted_model(pool):
    models = rmf.fitted_models(pool, (30, 3000), (0.0, 0.4), np.random.default_rng(2))
    assert [m.label for m in models] == [
        "fitted: 30 comparisons, flip 0",
        "fitted: 30 comparisons, flip 0.4",
        "fitted: 3000 comparisons, flip 0",
        "fitted: 3000 comparisons, flip 0.4",
    ]
    distance = [float(rd.bandit_starc_distance(pool.gold, m.scores)) for m in models]
    assert distance[2] < min(distance[0], distance[3])


def brute_accuracy(pool, scores, labels):
    agree, count = 0.0, 0
    for x in range(scores.shape[0]):
        for a, b in itertools.permutations(range(scores.shape[1]), 2):
            if labels == "gold":
                if pool.gold[x, a] == pool.gold[x, b]:
                    continue
                p = float(pool.gold[x, a] > pool.gold[x, b])
            else:
                p = 1 / (1 + np.exp(-(pool.rater[x, a] - pool.rater[x, b])))
            s = np.sign(scores[x, a] - scores[x, b])
            agree += p if s > 0 else 1 - p if s < 0 else 0.5
            count += 1
    return agree / count


@pytest.mark.parametrize("labels", ["gold", "raters"])
def test_pool_accuracy_matches_a_loop_over_pairs(pool, labels):
    rng = np.random.default_rng(3)
    scores = np.round(pool.gold + rng.standard_normal(pool.gold.shape), 0)  # with ties
    assert rmf.pool_accuracy(pool, scores, labels) == pytest.approx(
        brute_accuracy(pool, scores, labels), abs=1e-12
    )
    offset = (
        scores + rng.standard_normal((scores.shape[0], 1)) * 100
    )  # pairs never cross prompts
    assert rmf.pool_accuracy(pool, offset, labels) == pytest.approx(
        rmf.pool_accuracy(pool, scores, labels)
    )
    assert rmf.pool_accuracy(pool, np.zeros_like(scores), labels) == pytest.approx(0.5)


def test_pool_accuracy_extremes_and_bad_labels(pool):
    assert rmf.pool_accuracy(pool, pool.gold, "gold") == 1
    assert rmf.pool_accuracy(pool, -pool.gold, "gold") == 0
    with pytest.raises(ValueError, match="labels must be 'gold' or 'raters'"):
        rmf.pool_accuracy(pool, pool.gold, "humans")


def test_perturbed_models_change_what_they_say(pool):
    base = rmf.RewardModel(
        "fitted",
        "base",
        pool.gold + np.random.default_rng(4).standard_normal(pool.gold.shape),
    )
    models = rmf.perturbed_models(pool, base, np.random.default_rng(5))
    kinds = [m.kind for m in models]
    assert (
        kinds
        == ["noisy"] * 5 + ["length-biased"] * 4 + ["word-biased"] * 4 + ["offset"] * 3
    )
    has_word = np.array([["dirty" in y.split() for y in row] for row in pool.responses])
    for m in models:
        if m.kind == "word-biased":  # only responses with the word move, and only up
            np.testing.assert_array_equal(m.scores[~has_word], pool.gold[~has_word])
            assert (m.scores[has_word] > pool.gold[has_word]).all()
        if (
            m.kind == "offset"
        ):  # invisible to the distance, to accuracy and to best-of-N, not to R^2
            assert float(rd.bandit_starc_distance(base.scores, m.scores)) < 1e-12
            assert rmf.pool_accuracy(pool, m.scores) == pytest.approx(
                rmf.pool_accuracy(pool, base.scores)
            )
            assert ev.best_of_n_regret(pool.gold, m.scores, 4) == pytest.approx(
                ev.best_of_n_regret(pool.gold, base.scores, 4)
            )
            assert ev.r_squared(pool.gold, m.scores, affine=True) < ev.r_squared(
                pool.gold, base.scores, affine=True
            )
    noisy = [
        rd.bandit_starc_distance(pool.gold, m.scores)
        for m in models
        if m.kind == "noisy"
    ]
    assert np.all(np.diff(noisy) > 0)  # more noise, farther from gold
    with pytest.raises(ValueError, match="unknown word 'grand'"):
        rmf.perturbed_models(pool, base, np.random.default_rng(5), word="grand")


def test_evaluate_reports_every_metric(task, pool):
    held_out = rmf.comparisons(pool, 300, np.random.default_rng(6))
    perfect = rmf.evaluate(pool, 3 * pool.gold + 1, held_out, 4)
    assert tuple(perfect) == rmf.METRICS
    assert perfect["STARC distance"] == pytest.approx(0, abs=1e-12)
    assert perfect["best-of-N regret"] == pytest.approx(0, abs=1e-12)
    assert perfect["accuracy (gold)"] == 1 and perfect["R2 (affine)"] == pytest.approx(
        1
    )
    worst = rmf.evaluate(pool, -pool.gold, held_out, 4)
    assert worst["STARC distance"] == pytest.approx(2) and worst["accuracy (gold)"] == 0
    assert worst["best-of-N regret"] > 0 and worst["Brier"] > perfect["Brier"]
