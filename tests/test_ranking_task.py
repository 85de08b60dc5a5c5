import numpy as np
import pytest

from rlhfbook.core import runtime
from rlhfbook.methods import ranking as rk
from rlhfbook.tasks import toyworld
from rlhfbook.tasks.ranking_task import RankingTask
from rlhfbook.tasks.toyworld.sft import supervised_finetune


@pytest.fixture(scope="module")
def task():
    return RankingTask()


def test_tokenizer_has_one_token_per_word_and_round_trips(task):
    tok = task.tokenizer()
    rng = np.random.default_rng(0)
    prompt = task.sample_prompts(1, rng)[0]
    answer = task.demonstration(prompt, rng)
    ids = tok(prompt + answer + tok.eos_token, add_special_tokens=False)["input_ids"]
    prompt_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    # as TRL tokenises a pair: the prompt's tokens are a prefix, then one token per word, then EOS
    assert (
        ids[: len(prompt_ids)] == prompt_ids
        and len(prompt_ids) == task.details_per_prompt + 2
    )
    assert (
        len(ids) == len(prompt_ids) + len(answer.split()) + 1
        and ids[-1] == tok.eos_token_id
    )
    assert tok.decode(ids[len(prompt_ids) :], skip_special_tokens=True) == answer
    assert tok.unk_token_id not in ids


def test_writer_draws_lengths_uniformly_and_words_by_frequency(task):
    rng = np.random.default_rng(1)
    prompts = task.sample_prompts(4000, rng)
    answers = [task.demonstration(p, rng).split() for p in prompts]
    lengths = np.array([len(a) for a in answers])
    assert lengths.min() == task.min_words and lengths.max() == task.max_words
    counts = np.bincount(
        [task.words.index(w) for a in answers for w in a], minlength=task.n_words
    )
    assert np.abs(counts / counts.sum() - task.frequency).max() < 0.01
    # the writer's log-likelihood: the length's probability plus each word's log-frequency
    y = " ".join(answers[0])
    expected = -np.log(task.max_words - task.min_words + 1) + sum(
        np.log(task.frequency[task.words.index(w)]) for w in answers[0]
    )
    assert task.writer_logprob(prompts[0], y) == pytest.approx(expected)
    assert task.writer_logprob(prompts[0], task.words[0]) == float(
        "-inf"
    )  # too short for the writer


def test_frequency_is_unrelated_to_utility_and_the_score_to_length(task):
    assert abs(np.corrcoef(np.log(task.frequency), task.utility)[0, 1]) < 0.3
    rng = np.random.default_rng(2)
    prompts = task.sample_prompts(3000, rng)
    for p in prompts[:20]:
        assert task.frequency @ task.word_utilities(p) == pytest.approx(
            0.0, abs=1e-12
        )  # centred per prompt
    answers = [task.demonstration(p, rng) for p in prompts]
    lengths = np.array([len(a.split()) for a in answers])
    shared = np.array([task.shared_utility(p, a) for p, a in zip(prompts, answers)])
    for part in (lengths <= 14, lengths >= 20):  # expected score 0 whatever the length
        assert abs(shared[part].mean()) < 3 * shared[part].std() / np.sqrt(part.sum())


def test_taste_is_a_fixed_draw_with_the_stated_spread(task):
    rng = np.random.default_rng(3)
    prompts = task.sample_prompts(3000, rng)
    answers = [task.demonstration(p, rng) for p in prompts]
    taste = np.array([task.taste(p, a) for p, a in zip(prompts, answers)])
    assert (
        task.taste(prompts[0], answers[0])
        == taste[0]
        == RankingTask().taste(prompts[0], answers[0])
    )
    assert taste.std() == pytest.approx(task.taste_scale, rel=0.08)
    shared = np.array([task.shared_utility(p, a) for p, a in zip(prompts, answers)])
    assert abs(np.corrcoef(taste, shared)[0, 1]) < 0.06
    assert (
        taste.std() >= shared.std()
    )  # the idiosyncratic part spreads at least as much as the shared one
    assert task.gold_reward(prompts[0], answers[0]) == pytest.approx(
        shared[0] + taste[0]
    )


def test_pairs_follow_the_raters_and_their_length_does_not(task, monkeypatch):
    votes = []  # every (prompt, a, b, raters preferring a) the raters cast, in order
    rate = RankingTask.rate

    def recorded(self, prompt, a, b, n_raters, rng):
        votes.append((prompt, a, b, rate(self, prompt, a, b, n_raters, rng)))
        return votes[-1][-1]

    monkeypatch.setattr(RankingTask, "rate", recorded)
    rng = np.random.default_rng(4)
    pairs = task.sample_pairs(2000, 1, rng)
    assert len(pairs) == 2000 and set(np.unique(pairs.alpha)) == {1.0}
    assert len(votes) == 2000
    for p, w, lo, (prompt, a, b, k) in zip(
        pairs.prompts, pairs.chosen, pairs.rejected, votes
    ):
        assert p == prompt and (w, lo) == (
            (a, b) if k == 1 else (b, a)
        )  # chosen is the one the rater picked
    assert all(w != lo for w, lo in zip(pairs.chosen, pairs.rejected))
    longer = np.mean(
        [
            len(w.split()) > len(lo.split())
            for w, lo in zip(pairs.chosen, pairs.rejected)
        ]
    )
    shorter = np.mean(
        [
            len(w.split()) < len(lo.split())
            for w, lo in zip(pairs.chosen, pairs.rejected)
        ]
    )
    assert abs(longer - shorter) < 0.06
    gold = np.array(
        [
            task.gold_reward(p, w) - task.gold_reward(p, lo)
            for p, w, lo in zip(pairs.prompts, pairs.chosen, pairs.rejected)
        ]
    )
    assert (
        0.7 < np.mean(gold > 0) < 0.95
    )  # one Bradley-Terry vote: mostly, not always, the higher score
    votes.clear()
    five = task.sample_pairs(500, 5, rng)
    assert len(votes) == 500
    for i, (prompt, a, b, k) in enumerate(
        votes
    ):  # loop reference: the majority's answer, its vote share
        won_a = k >= 3
        assert five.prompts[i] == prompt and (five.chosen[i], five.rejected[i]) == (
            (a, b) if won_a else (b, a)
        )
        assert five.alpha[i] == (k if won_a else 5 - k) / 5
    assert (five.alpha > 0.5).all() and set(np.unique(five.alpha)) == {0.6, 0.8, 1.0}


def test_bad_input_is_one_clear_error(task):
    with pytest.raises(ValueError, match="not a prompt"):
        task.details_of("food: ")
    with pytest.raises(ValueError, match="unknown detail"):
        task.details_of("ask: a b c -> ")
    with pytest.raises(ValueError, match="unknown word"):
        task.writer_logprob(
            task.sample_prompts(1, np.random.default_rng(0))[0], "hello world"
        )
    with pytest.raises(ValueError, match="odd number"):
        task.sample_pairs(3, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="min_words"):
        RankingTask(min_words=5, max_words=4)


def test_a_tiny_reference_learns_the_writer_not_the_raters(task):
    tok = task.tokenizer()
    runtime.seed_everything(
        0, threads=1
    )  # the book's setting: a second thread only waits on a busy machine
    model = toyworld.new_model("tiny", tok)
    supervised_finetune(
        model, tok, task, steps=150, batch_size=64, lr=1e-2, seed=0, progress=False
    )
    pairs = task.sample_pairs(300, 1, np.random.default_rng(5))
    ref = rk.pair_logprobs(model, tok, pairs, batch_size=300)
    writer = [
        np.array([task.writer_logprob(p, y) for p, y in zip(pairs.prompts, ys)])
        for ys in (pairs.chosen, pairs.rejected)
    ]
    c_model, c_writer = ref.l - ref.w, writer[1] - writer[0]
    assert np.corrcoef(c_model, c_writer)[0, 1] > 0.99
    assert (
        np.median(np.abs(c_model)) > 10
    )  # answers long enough that the reference mis-ranks by many nats
    assert (
        0.4 < rk.ranking_accuracy(ref.w, ref.l) < 0.6
    )  # it ranks the raters' pairs like a coin
