import hashlib
import string

import numpy as np
import pytest
import torch

from rlhfbook.lm import models
from rlhfbook.tasks import toyworld
from rlhfbook.tasks.toyworld import code, policies
from rlhfbook.tasks.toyworld.preference import PreferenceTask


@pytest.fixture(scope="module")
def tok():
    return toyworld.build_tokenizer()


def test_tokenizer_round_trips_ascii_text(tok):
    rng = np.random.default_rng(0)
    alphabet = (
        string.printable.replace("\r", "")
        .replace("\x0b", "")
        .replace("\x0c", "")
        .replace("\t", "")
    )
    for _ in range(200):
        text = "".join(rng.choice(list(alphabet), size=int(rng.integers(0, 60))))
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert tok.decode(ids) == text
        assert len(ids) == len(text)


def test_tokenizer_special_tokens(tok):
    assert tok.pad_token_id != tok.eos_token_id
    assert tok.padding_side == "left"
    assert tok("ab<eos>", add_special_tokens=False)["input_ids"][-1] == tok.eos_token_id


def test_model_save_and_reload_gives_the_same_logits(tok, tmp_path):
    torch.manual_seed(0)
    model = toyworld.new_model("tiny", tok).eval()
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    reloaded, tok2 = models.load_policy(tmp_path)
    ids = torch.tensor([tok("food: fresh", add_special_tokens=False)["input_ids"]])
    assert torch.equal(model(ids).logits, reloaded(ids).logits)
    assert (
        tok2.decode(ids[0]) == "food: fresh" and tok2.pad_token_id == tok.pad_token_id
    )


def test_unknown_model_size_is_a_clear_error(tok):
    with pytest.raises(
        ValueError, match="unknown model size 'huge'; valid sizes: tiny, small, base"
    ):
        toyworld.new_model("huge", tok)


def test_gold_reward_of_hand_made_responses():
    task = PreferenceTask()
    p = "food: "
    u = task.word_utilities(p)
    assert task.gold_reward(p, "great fresh") == pytest.approx(u["great"] + u["fresh"])
    assert task.gold_reward(p, "great great") == pytest.approx(u["great"] - 0.6)
    assert task.gold_reward(p, "great zzz") == pytest.approx(u["great"] - 1.0)
    eight = "superb great lovely fresh tasty cozy bright smart"
    assert task.gold_reward(p, eight) == pytest.approx(
        sum(u[w] for w in eight.split()) - 2 * 0.4
    )
    assert task.gold_reward(p, task.best_response(p)) >= max(
        task.gold_reward(p, task.demonstration(p, np.random.default_rng(i)))
        for i in range(200)
    )


def test_raters_prefer_longer_answers_and_agree_more_on_clear_pairs():
    task = PreferenceTask()
    rng = np.random.default_rng(0)
    p = "food: "
    # equal gold reward, one word longer (an unknown-utility-free comparison via rater_score)
    assert task.rater_score(p, "great fresh") - task.gold_reward(
        p, "great fresh"
    ) == pytest.approx(0.7)
    clear = np.mean(
        [task.rate(p, task.best_response(p), "awful dirty", 5, rng) for _ in range(200)]
    )
    close = np.mean([task.rate(p, "great", "superb", 5, rng) for _ in range(200)])
    assert clear > 4.8 and 1.0 < close < 4.0


def test_unknown_topic_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown topic"):
        PreferenceTask().gold_reward("moon: ", "great")


def test_code_language_and_unit_tests():
    assert (
        code.run("inc dbl", 3) == 8
        and code.run("half", -3) == -2
        and code.run("neg sqr", 2) == 4
    )
    with pytest.raises(code.ProgramError, match="unknown operation"):
        code.parse("inc import os")
    task = toyworld.CodeTask()
    rng = np.random.default_rng(1)
    for prompt in task.sample_prompts(50, rng):
        intended = task.demonstration(prompt)
        assert all(code.run(intended, x) == y for x, y in task.examples(prompt))
        assert task.gold_reward(prompt, intended) == 1.0
        assert task.gold_reward(prompt, "not a program") == 0.0
    # the intended program is dbl; sqr agrees with it on one hidden test input (0)
    assert task.gold_reward("f(1)=2 f(2)=4 f(3)=6 ->", "sqr") == pytest.approx(1 / 5)


def test_code_task_of_one_difficulty():
    task = toyworld.CodeTask(ops=2)
    one_op = list(code.OPS)
    for prompt in task.sample_prompts(100, np.random.default_rng(2)):
        assert len(task.demonstration(prompt).split()) == 2
        examples = task.examples(prompt)
        assert not any(all(code.run(p, x) == y for x, y in examples) for p in one_op)
    # the default mix draws what it always drew (the cached SFT policies and chapter 0 depend on it)
    assert toyworld.CodeTask().sample_prompts(3, np.random.default_rng(1)) == [
        "f(7)=49 f(-5)=25 f(-3)=9 ->",
        "f(0)=-1 f(6)=5 f(-1)=-2 ->",
        "f(-4)=-4 f(-5)=-5 f(7)=7 ->",
    ]
    with pytest.raises(ValueError, match="ops must be in 1..max_ops=3, got 4"):
        toyworld.CodeTask(ops=4)


def _weights_hash(folder):
    return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()


def test_base_policy_is_cached_and_reused(isolated, monkeypatch):
    folder = toyworld.base_policy("code", "smoke", progress=False)
    assert policies.verify(
        folder, policies.cache_key("code", policies.RECIPES["smoke"])
    )
    monkeypatch.setattr(
        policies, "_train", lambda *a, **k: pytest.fail("retrained a valid cache entry")
    )
    assert toyworld.base_policy("code", "smoke", progress=False) == folder


def test_the_gpu_recipe_trains_on_the_gpu_and_the_others_on_the_cpu(
    isolated, monkeypatch
):
    from rlhfbook.core import runtime
    from rlhfbook.tasks.toyworld import policies

    class Trained(Exception):
        pass

    devices = []

    def record(model, *args, **kwargs):  # where the model is when training starts
        devices.append(next(model.parameters()).device.type)
        raise Trained

    monkeypatch.setattr(
        runtime, "device", lambda: torch.device("meta")
    )  # stands for CUDA: not the CPU
    monkeypatch.setattr(policies, "supervised_finetune", record)
    for profile in ("gpu", "cpu", "smoke"):
        with pytest.raises(Trained):
            toyworld.base_policy("code", profile, progress=False)
    assert devices == ["meta", "cpu", "cpu"]


def test_corrupt_or_partial_cache_entries_are_rebuilt(isolated):
    folder = toyworld.base_policy("code", "smoke", progress=False)
    good = _weights_hash(folder)
    (folder / "model.safetensors").write_bytes(b"garbage")  # corrupt
    assert toyworld.base_policy("code", "smoke", progress=False) == folder
    assert _weights_hash(folder) == good
    (folder / policies.MANIFEST).unlink()  # partial: no manifest
    assert toyworld.base_policy("code", "smoke", progress=False) == folder
    assert _weights_hash(folder) == good and policies.verify(
        folder, policies.cache_key("code", policies.RECIPES["smoke"])
    )


def test_cache_key_covers_recipe_seed_and_task():
    smoke = policies.RECIPES["smoke"]
    keys = {
        policies.cache_key("code", smoke),
        policies.cache_key("preference", smoke),
        policies.cache_key(
            "code",
            policies.Recipe(
                size=smoke.size, steps=smoke.steps, batch_size=smoke.batch_size, seed=1
            ),
        ),
        policies.cache_key(
            "code",
            policies.Recipe(
                size=smoke.size, steps=smoke.steps + 1, batch_size=smoke.batch_size
            ),
        ),
    }
    assert len(keys) == 4


def test_same_seed_gives_bit_identical_base_policies(tmp_path, monkeypatch):
    hashes = []
    for run in ("a", "b"):
        monkeypatch.setenv("RLHFBOOK_CACHE", str(tmp_path / run))
        hashes.append(
            _weights_hash(toyworld.base_policy("preference", "smoke", progress=False))
        )
    assert hashes[0] == hashes[1]


def test_unknown_task_or_profile_is_a_clear_error():
    with pytest.raises(
        ValueError, match="unknown task 'chess'; valid tasks: preference, code"
    ):
        toyworld.base_policy("chess", "cpu")
    with pytest.raises(ValueError, match="unknown profile 'big'"):
        toyworld.base_policy("code", "big")


def test_base_policy_cache_key_covers_every_training_module():
    """The cache key hashes the modules that train a base policy: every toy-world module but
    its figures, so a new training module cannot be left out of the key by accident."""
    from pathlib import Path

    from rlhfbook.tasks.toyworld import policies

    folder = Path(policies.__file__).parent
    modules = {p.name for p in folder.glob("*.py")} - {"__init__.py", "figures.py"}
    assert set(policies.TRAINING_SOURCES) == modules
