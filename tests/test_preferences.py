import json

import numpy as np
import pytest
import torch

from rlhfbook.lm.models import load_policy
from rlhfbook.methods import ranking as rk
from rlhfbook.tasks import code_tasks, toyworld
from rlhfbook.tasks.preferences import (
    PreferencePairs,
    load_pairs,
    majority,
    rate_pairs,
    split_prompt,
)

HH = [
    {
        "chosen": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how are you?\n\nAssistant: fine, thanks",
        "rejected": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how are you?\n\nAssistant: go away",
    },
    {
        "chosen": "\n\nHuman: 2+2?\n\nAssistant: 4",
        "rejected": "\n\nHuman: 2+2?\n\nAssistant: 5",
    },
    {
        "chosen": "\n\nHuman: name a fruit\n\nAssistant: apple",
        "rejected": "\n\nHuman: name a fruit\n\nAssistant: a car",
    },
]


def test_split_prompt_cuts_at_the_last_shared_assistant_turn():
    p, c, r = split_prompt(HH[0]["chosen"], HH[0]["rejected"])
    assert (
        p.endswith("how are you?\n\nAssistant:")
        and c == " fine, thanks"
        and r == " go away"
    )
    # answers that start alike still split at the turn, not inside the answer
    assert split_prompt(
        "\n\nHuman: x\n\nAssistant: abc", "\n\nHuman: x\n\nAssistant: abd"
    )[1:] == (" abc", " abd")
    with pytest.raises(ValueError, match="prompt"):
        split_prompt("abc", "abd")


def test_load_pairs_from_jsonl_and_json(tmp_path):
    jsonl = tmp_path / "hh.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in HH))
    pairs = load_pairs(str(jsonl))
    assert (
        len(pairs) == 3
        and pairs.chosen[1] == " 4"
        and pairs.alpha.tolist() == [1, 1, 1]
    )
    sub = load_pairs(str(jsonl), n=2, seed=1)
    assert len(sub) == 2 and set(sub.chosen) <= {" fine, thanks", " 4", " apple"}
    plain = tmp_path / "plain.json"
    plain.write_text(
        json.dumps([{"prompt": "q", "chosen": "a", "rejected": "b", "alpha": 0.75}])
    )
    assert load_pairs(str(plain)).alpha.tolist() == [0.75]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"chosen": "a"}))
    with pytest.raises(ValueError, match="'rejected'"):
        load_pairs(str(bad))
    with pytest.raises(ValueError, match="offline"):
        load_pairs("Anthropic/hh-rlhf")


def test_ranking_report_of_a_local_model_folder_on_a_local_hh_file(tmp_path):
    """The gpu profile's path (a model folder + an HH-RLHF file), run on a tiny local model."""
    torch.manual_seed(0)
    tok = toyworld.build_tokenizer()
    toyworld.new_model("tiny", tok).save_pretrained(tmp_path / "model")
    tok.save_pretrained(tmp_path / "model")
    (tmp_path / "hh.jsonl").write_text("\n".join(json.dumps(r) for r in HH))
    model, tok = load_policy(tmp_path / "model")
    pairs = load_pairs(str(tmp_path / "hh.jsonl"))
    lw, nw = rk.sequence_logprobs(
        model, tok, pairs.prompts, pairs.chosen, add_eos=False, max_prompt_tokens=20
    )
    ll, nl = rk.sequence_logprobs(
        model, tok, pairs.prompts, pairs.rejected, add_eos=False, max_prompt_tokens=20
    )
    assert nw.tolist() == [len(c) for c in pairs.chosen]
    report = rk.accuracy_report(lw, ll, nw, nl, pairs.alpha)
    assert report["R"] == rk.ranking_accuracy(lw, ll)
    assert (
        report["R* max"] == 1.0
    )  # beta = 0.01 with unanimous votes beats any |c| < 690
    assert set(report) >= {"R~", "R* median", "R~* min", "R* (official code) median"}
    assert all(0 <= v <= 1 for v in report.values() if np.isfinite(v))


def test_select_keeps_pairs_aligned():
    pairs = PreferencePairs(
        ["a", "b", "c"], ["x", "y", "z"], ["u", "v", "w"], np.array([1.0, 0.6, 0.8])
    )
    part = pairs.select(np.array([2, 0]))
    assert (part.prompts, part.chosen, part.rejected) == (
        ["c", "a"],
        ["z", "x"],
        ["w", "u"],
    )
    assert part.alpha.tolist() == [0.8, 1.0] and len(part) == 2


@pytest.mark.parametrize("n_raters", [1, 3, 4, 5])
def test_majority_against_a_loop_over_every_vote(n_raters):
    votes = np.arange(n_raters + 1)
    first, alpha = majority(votes, n_raters, np.random.default_rng(0))
    coins = np.random.default_rng(0)
    for k in votes:
        if 2 * k == n_raters:  # a tie: the first answer wins a coin flip
            wins = coins.random() < 0.5
        else:
            wins = 2 * k > n_raters
        assert first[k] == wins
        assert alpha[k] == (k if wins else n_raters - k) / n_raters
    assert (alpha >= 0.5).all()
    with pytest.raises(ValueError, match="odd number of raters"):
        majority(2, 4)


class Recorder:
    """Raters who prefer the longer answer, unanimously, and log every vote they cast."""

    def __init__(self):
        self.calls = []

    def rate(self, prompt, a, b, n_raters, rng):
        self.calls.append(("rate", prompt, rng.random()))
        return n_raters if len(a) > len(b) else 0


def test_rate_pairs_orders_by_the_vote_and_rates_as_it_samples():
    raters, rng = Recorder(), np.random.default_rng(1)

    def candidates():
        for x in ("p", "q", "r"):
            raters.calls.append(("sample", x, rng.random()))
            yield x, "a" * (1 + (x == "q")), "bb"

    pairs = rate_pairs(raters, candidates(), 3, rng)
    assert pairs.rows() == [
        {"prompt": "p", "chosen": "bb", "rejected": "a"},
        {
            "prompt": "q",
            "chosen": "bb",
            "rejected": "aa",
        },  # equal length: the raters prefer b
        {"prompt": "r", "chosen": "bb", "rejected": "a"},
    ]
    assert pairs.alpha.tolist() == [1.0, 1.0, 1.0]
    # one pair sampled, then rated, then the next: the draws alternate on the shared rng
    assert [c[0] for c in raters.calls] == ["sample", "rate"] * 3
    reference = np.random.default_rng(1).random(6)
    assert [c[2] for c in raters.calls] == reference.tolist()


def test_unit_test_pairs_rate_every_pair_whose_scores_differ(tmp_path):
    rows = [
        {
            "text": "Add.",
            "code": "def f(a, b):\n    return a + b",
            "test_list": ["assert f(1, 2) == 3", "assert f(0, 0) == 0"],
        }
    ]
    (tmp_path / "mbpp.jsonl").write_text(json.dumps(rows[0]))
    task = code_tasks.UnitTestTask(code_tasks.load_problems(tmp_path / "mbpp.jsonl"))
    raters = code_tasks.UnitTestRaters(
        task, tau=1e-3
    )  # nearly noiseless: the better program wins
    p = task.prompts[0]
    good, half, bad = (
        rows[0]["code"],
        "def f(a, b):\n    return a * b",
        "def f(a, b):\n    return 7",
    )
    group = [
        good,
        half,
        good,
        bad,
        half.replace("*", " * "),
    ]  # a duplicate; two programs scoring 1/2
    pairs = code_tasks.unit_test_pairs(raters, [p], [group], np.random.default_rng(0))
    scores = {r: task.gold_reward(p, r) for r in group}
    assert scores[good] == 1.0 and scores[half] == 0.5 and scores[bad] == 0.0
    # distinct programs: good, half, bad, half'; pairs with different scores: 5 of the 6
    assert len(pairs) == 5 and all(
        scores[w] > scores[lo] for w, lo in zip(pairs.chosen, pairs.rejected)
    )
    with pytest.raises(ValueError, match="groups of responses"):
        code_tasks.unit_test_pairs(raters, [p], [], np.random.default_rng(0))


def test_pairs_check_alignment_and_map_answers_keeps_votes():
    with pytest.raises(ValueError, match="same length"):
        PreferencePairs(["a"], ["b"], [])
    with pytest.raises(ValueError, match="alpha"):
        PreferencePairs(["a"], ["b"], ["c"], np.array([1.0, 0.5]))
    pairs = PreferencePairs(
        ["x", "y"], ["w1", "w2"], ["l1", "l2"], np.array([0.6, 1.0])
    )
    shown = pairs.map_answers(lambda x, r: f"{x}:{r}")
    assert (shown.chosen, shown.rejected, shown.alpha.tolist()) == (
        ["x:w1", "y:w2"],
        ["x:l1", "y:l2"],
        [0.6, 1.0],
    )
    assert pairs.chosen == ["w1", "w2"]  # the original is untouched
    assert pairs.to_dataset().to_list() == pairs.rows()


def test_load_pairs_reads_rows_and_passes_pairs_through():
    pairs = load_pairs([{"prompt": "q", "chosen": "a", "rejected": "b"}, HH[1]])
    assert pairs.rows() == [
        {"prompt": "q", "chosen": "a", "rejected": "b"},
        {"prompt": "\n\nHuman: 2+2?\n\nAssistant:", "chosen": " 4", "rejected": " 5"},
    ]
    assert load_pairs(pairs) is pairs
    with pytest.raises(
        ValueError, match="^preference rows: rows need 'chosen' and 'rejected'"
    ):
        load_pairs([{"prompt": "a", "answer": "b"}])
