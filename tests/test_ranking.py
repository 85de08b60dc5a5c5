import numpy as np
import pytest
import torch

from rlhfbook.methods import ranking as rk
from rlhfbook.tasks import toyworld


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def random_points(rng, n):
    """Sequence log-likelihoods of a policy and a reference, like those of 20-token answers."""
    return [
        -np.abs(rng.normal(30, 10, n)) for _ in range(4)
    ]  # policy_w, policy_l, ref_w, ref_l


# --- identities of the paper ----------------------------------------------------------------
@pytest.mark.parametrize("beta", rk.BETAS)
@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0])
def test_thm_4_1_ranked_correctly_iff_loss_below_threshold(rng, beta, gamma):
    # keep beta * gamma * |c| well below 745, where exp underflows in float64 and both sides round to 0
    scale = min(1.0, 5.0 / (beta * max(gamma, 1.0)))
    pw, pl, rw, rl = (scale * x for x in random_points(rng, 20_000))
    loss = rk.dpo_loss(pw, pl, rw, rl, beta, gamma)
    below = loss <= rk.loss_threshold(rk.reference_logratio(rw, rl), beta, gamma)
    assert np.array_equal(rk.ranking_correct(pw, pl), below)
    assert 0.2 < below.mean() < 0.8  # both sides of the equivalence are exercised


def test_thm_4_1_holds_at_exact_ties_where_both_sides_round_alike(rng):
    # pi(y_w) = pi(y_l): ranked correctly (Def. 2.3), so the loss must not exceed the threshold by
    # a rounding step; beta * gamma * c and beta * (0 + gamma * c) differ in the last bit for this c
    c = np.concatenate([[15.279104286326284], rng.uniform(-40, 40, 20_000)])
    tie = rng.normal(-30, 10, c.size)
    for beta, gamma in [(0.1, 1.5), (0.3, 0.7), (1.0, 2.0)]:
        loss = rk.dpo_loss(tie, tie, np.zeros_like(c), c, beta, gamma)
        assert (loss <= rk.loss_threshold(c, beta, gamma)).all()


def test_prop_2_6_low_loss_on_a_reference_correct_pair_means_ranked_correctly(rng):
    pw, pl, rw, rl = random_points(rng, 50_000)
    rw, rl = (
        np.maximum(rw, rl),
        np.minimum(rw, rl),
    )  # the reference ranks every pair correctly
    for beta in rk.BETAS:
        low = rk.dpo_loss(pw, pl, rw, rl, beta) <= 0.6
        assert low.sum() > 1000
        assert rk.ranking_correct(pw, pl)[low].all()


@pytest.mark.parametrize("alpha", [0.55, 0.75, 0.9, 1.0])
@pytest.mark.parametrize("beta", [0.1, 1.0, 5.0])
def test_thm_3_1_soft_label_optimum_matches_the_closed_form(alpha, beta):
    """Minimise alpha * L(y_w, y_l) + (1 - alpha) * L(y_l, y_w) over a free softmax policy
    (the chapter's solver, rlhfbook.chapters.ch02_dpo_ranking.ranking_gap.soft_label_optimum) against Thm 3.1."""
    from rlhfbook.chapters.ch02_dpo_ranking import ranking_gap as rg

    torch.manual_seed(0)
    ref = torch.log_softmax(
        torch.randn(5, dtype=torch.float64), 0
    )  # 5 candidate answers
    assert rg.soft_label_optimum(alpha, beta, ref) == pytest.approx(1, abs=1e-3)


def test_cor_3_3_log_space_equals_the_direct_formula_where_finite(rng):
    _, _, rw, rl = random_points(rng, 5000)
    alpha = rng.choice([0.5, 0.6, 0.75, 0.8, 1.0], 5000)
    compared = 0
    for beta in rk.BETAS:
        a = np.minimum(alpha, 1 - rk.UNANIMOUS_EPS)
        with np.errstate(over="ignore", under="ignore"):
            direct = np.exp(rw) / np.exp(rl) * (a / (1 - a)) ** (1 / beta)
        finite = np.isfinite(direct) & (np.exp(rl) > 0) & (direct > 0)
        log_space = rk.optimal_logratio(rw, rl, alpha, beta) > 0
        assert np.array_equal(log_space[finite], direct[finite] > 1)
        compared += finite.sum()
        assert (
            rk.idealized_ranking_accuracy(rw, rl, alpha, [beta])[beta]
            == log_space.mean()
        )
    assert compared > 10_000


def test_idealized_accuracy_rises_as_beta_falls(rng):
    _, _, rw, rl = random_points(rng, 2000)
    r_star = rk.idealized_ranking_accuracy(rw, rl, rng.choice([0.6, 0.8, 1.0], 2000))
    values = [r_star[b] for b in sorted(r_star)]
    assert values == sorted(values, reverse=True) and values[0] > 0.95


def test_official_variant_hand_computed():
    # unanimous, normalised: votes 1/eps; model ratio exp(-1 - -2) = e; posterior huge -> y_w first
    assert (
        rk.idealized_ranking_accuracy_official(
            [-1.0], [-2.0], [1], [1], [1.0], 1.0, normalized=True
        )
        == 1
    )
    # non-normalised: the log-likelihood ratio (-10)/(-1) = 10 with votes 3^(1/1) -> y_w first (agrees)
    # while the true likelihood ratio e^-9 * 3 < 1 would rank y_l first
    assert (
        rk.idealized_ranking_accuracy_official(
            [-10.0], [-1.0], [5], [5], [0.75], 1.0, normalized=False
        )
        == 1
    )
    assert rk.idealized_ranking_accuracy([-10.0], [-1.0], [0.75], [1.0])[1.0] == 0
    # a tie vote matches only a posterior within 5% of 1
    assert (
        rk.idealized_ranking_accuracy_official(
            [-1.0, -1.0], [-1.0, -3.0], [1, 1], [1, 1], [0.5, 0.5], 1.0, normalized=True
        )
        == 0.5
    )


# --- accuracies -----------------------------------------------------------------------------------
def test_ranking_correct_ties_and_ge():
    assert rk.ranking_correct([-1.0, -2.0], [-1.0, -1.0]).tolist() == [True, False]
    # a tie (alpha = 0.5) is correct when the probabilities differ by less than 0.01
    got = rk.ranking_correct(np.log([0.5, 0.5]), np.log([0.505, 0.6]), alpha=[0.5, 0.5])
    assert got.tolist() == [True, False]
    assert rk.ranking_accuracy(
        [-1, -3, -1], [-2, -2, -2], alpha=[1, 1, 0.5]
    ) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="equal shape"):
        rk.ranking_correct([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match=r"\[0.5, 1\]"):
        rk.ranking_correct([1.0], [0.0], alpha=[0.3])


def test_reward_accuracy_is_not_ranking_accuracy():
    # the policy raised y_w relative to the reference (reward correct) but y_w is still less likely
    pw, pl, rw, rl = (
        np.array([-20.0]),
        np.array([-5.0]),
        np.array([-30.0]),
        np.array([-5.0]),
    )
    assert (
        rk.reward_correct(pw, pl, rw, rl).all() and not rk.ranking_correct(pw, pl).any()
    )


def test_dpo_loss_closed_forms_and_errors():
    assert rk.dpo_loss(
        np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3), 0.1
    ) == pytest.approx(np.log(2))
    # gamma = 0 ignores the reference
    assert rk.dpo_loss(-1.0, -2.0, -50.0, 0.0, 1.0, gamma=0.0) == pytest.approx(
        -np.log(1 / (1 + np.exp(-1)))
    )
    t = rk.dpo_loss(
        torch.tensor([-1.0]),
        torch.tensor([-2.0]),
        torch.tensor([-1.0]),
        torch.tensor([-1.0]),
        1.0,
    )
    assert isinstance(t, torch.Tensor)
    with pytest.raises(ValueError, match="beta must be positive"):
        rk.dpo_loss(0.0, 0.0, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="beta must be positive"):
        rk.loss_threshold(1.0, -1.0)


def test_flip_table_counts():
    table = rk.flip_table(
        [True, True, False, False, False], [True, False, True, False, False]
    )
    assert table == {
        "correct -> correct": 1,
        "correct -> incorrect": 1,
        "incorrect -> correct": 1,
        "incorrect -> incorrect": 2,
    }


# --- sequence log-likelihoods from a causal LM ----------------------------------------------------
@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    tok = toyworld.build_tokenizer()
    return toyworld.new_model("tiny", tok).eval(), tok


def test_sequence_logprobs_match_a_loop_reference_and_ignore_batching(tiny):
    model, tok = tiny
    prompts, responses = (
        ["food: ", "a much longer prompt: ", "x"],
        ["fresh tasty", "ok", "dull messy rude"],
    )
    logp, n = rk.sequence_logprobs(model, tok, prompts, responses, batch_size=8)
    one = np.concatenate(
        [
            rk.sequence_logprobs(model, tok, [p], [r])[0]
            for p, r in zip(prompts, responses)
        ]
    )
    assert np.allclose(logp, one, atol=1e-5)
    for i, (p, r) in enumerate(zip(prompts, responses)):
        p_ids = tok(p, add_special_tokens=False)["input_ids"]
        ids = p_ids + tok(r, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        with torch.no_grad():
            lp = torch.log_softmax(
                model(torch.tensor([ids])).logits[0, :-1].double(), -1
            )
        expected = sum(lp[t - 1, ids[t]].item() for t in range(len(p_ids), len(ids)))
        assert logp[i] == pytest.approx(expected, abs=1e-4)
        assert n[i] == len(r) + 1
    with pytest.raises(ValueError, match="2 responses"):
        rk.encode_responses(tok, ["a", "b", "c"], ["x", "y"])


def test_truncation_is_the_same_for_both_answers(tiny):
    _, tok = tiny
    batch = rk.encode_responses(
        tok,
        ["abcdef", "abcdef"],
        ["xyz", "xy"],
        max_prompt_tokens=3,
        max_response_tokens=2,
    )
    assert batch.prompts == ["def", "def"] and batch.lengths.tolist() == [3, 3]


def test_pair_scorer_matches_sequence_logprobs_and_reward_accuracy_counts_ties_half(
    rng,
):
    from rlhfbook.tasks.preferences import PreferencePairs

    torch.manual_seed(0)
    tok = toyworld.build_tokenizer()
    model = toyworld.new_model("tiny", tok)
    task = toyworld.task("preference")
    prompts = task.sample_prompts(7, rng)
    pairs = PreferencePairs(
        prompts,
        [task.demonstration(p, rng) for p in prompts],
        [task.demonstration(p, rng) for p in prompts],
        np.ones(7),
    )
    scored = rk.PairScorer(tok, pairs, batch_size=3)(model)
    w, nw = rk.sequence_logprobs(model, tok, pairs.prompts, pairs.chosen)
    l, nl = rk.sequence_logprobs(model, tok, pairs.prompts, pairs.rejected)
    np.testing.assert_allclose(scored.w, w, atol=1e-5)
    np.testing.assert_allclose(scored.l, l, atol=1e-5)
    assert (scored.nw == nw).all() and (scored.nl == nl).all()
    np.testing.assert_allclose(scored.per_token[0], w / nw)
    # at the reference itself every implicit reward is 0: a tie on every pair, counted one half
    assert (
        rk.reward_accuracy(w, l, w, l) == 0.5
        and not rk.reward_correct(w, l, w, l).any()
    )
    assert rk.reward_accuracy([1.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 1.0]) == 1.0


def test_a_cut_prompt_never_re_encodes_longer_than_its_budget():
    from rlhfbook.testing import standin

    tok = (
        standin.build_tokenizer()
    )  # byte-level BPE learnt on ASCII: "é" is two byte tokens
    text = "é" * 10
    assert len(tok(text, add_special_tokens=False)["input_ids"]) == 20
    naive = tok.decode(
        tok(text, add_special_tokens=False)["input_ids"][-5:]
    )  # starts inside a character
    assert (
        len(tok(naive, add_special_tokens=False)["input_ids"]) > 5
    )  # what overflowed GPT-2's positions
    tok.pad_token, tok.padding_side = standin.END_OF_TEXT, "left"
    batch = rk.encode_responses(
        tok, [text, "a"], ["b", "c"], max_prompt_tokens=5, max_response_tokens=3
    )
    assert batch.query_ids.shape[1] <= 5 and rk.last_tokens(tok, text, 5).endswith("éé")
