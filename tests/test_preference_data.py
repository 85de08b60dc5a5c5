import json

import numpy as np
import pytest
import torch

import rlhfbook  # noqa: F401  (switches the hub offline before transformers is imported)
from rlhfbook import ranking as rk
from rlhfbook import toyworld
from rlhfbook.models import load_policy
from rlhfbook.preference_data import load_pairs, split_prompt

HH = [
    {
        "chosen": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how are you?\n\nAssistant: fine, thanks",
        "rejected": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how are you?\n\nAssistant: go away",
    },
    {"chosen": "\n\nHuman: 2+2?\n\nAssistant: 4", "rejected": "\n\nHuman: 2+2?\n\nAssistant: 5"},
    {
        "chosen": "\n\nHuman: name a fruit\n\nAssistant: apple",
        "rejected": "\n\nHuman: name a fruit\n\nAssistant: a car",
    },
]


def test_split_prompt_cuts_at_the_last_shared_assistant_turn():
    p, c, r = split_prompt(HH[0]["chosen"], HH[0]["rejected"])
    assert p.endswith("how are you?\n\nAssistant:") and c == " fine, thanks" and r == " go away"
    # answers that start alike still split at the turn, not inside the answer
    assert split_prompt("\n\nHuman: x\n\nAssistant: abc", "\n\nHuman: x\n\nAssistant: abd")[1:] == (" abc", " abd")
    with pytest.raises(ValueError, match="prompt"):
        split_prompt("abc", "abd")


def test_load_pairs_from_jsonl_and_json(tmp_path):
    jsonl = tmp_path / "hh.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in HH))
    pairs = load_pairs(str(jsonl))
    assert len(pairs) == 3 and pairs.chosen[1] == " 4" and pairs.alpha.tolist() == [1, 1, 1]
    sub = load_pairs(str(jsonl), n=2, seed=1)
    assert len(sub) == 2 and set(sub.chosen) <= {" fine, thanks", " 4", " apple"}
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps([{"prompt": "q", "chosen": "a", "rejected": "b", "alpha": 0.75}]))
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
    lw, nw = rk.sequence_logprobs(model, tok, pairs.prompts, pairs.chosen, add_eos=False, max_prompt_tokens=20)
    ll, nl = rk.sequence_logprobs(model, tok, pairs.prompts, pairs.rejected, add_eos=False, max_prompt_tokens=20)
    assert nw.tolist() == [len(c) for c in pairs.chosen]
    report = rk.accuracy_report(lw, ll, nw, nl, pairs.alpha)
    assert report["R"] == rk.ranking_accuracy(lw, ll)
    assert report["R* max"] == 1.0  # beta = 0.01 with unanimous votes beats any |c| < 690
    assert set(report) >= {"R~", "R* median", "R~* min", "R* (official code) median"}
    assert all(0 <= v <= 1 for v in report.values() if np.isfinite(v))


def test_select_keeps_pairs_aligned():
    from rlhfbook.preference_data import PreferencePairs

    pairs = PreferencePairs(["a", "b", "c"], ["x", "y", "z"], ["u", "v", "w"], np.array([1.0, 0.6, 0.8]))
    part = pairs.select(np.array([2, 0]))
    assert (part.prompts, part.chosen, part.rejected) == (["c", "a"], ["z", "x"], ["w", "u"])
    assert part.alpha.tolist() == [0.8, 1.0] and len(part) == 2
