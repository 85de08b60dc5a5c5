import json

import numpy as np
import pytest
import torch

from rlhfbook.lm import models
from rlhfbook.lm.rollout import (
    forward_values,
    generate,
    reward_model_scores,
    rollout_from_ids,
)
from rlhfbook.methods import ppo
from rlhfbook.methods import reward_model as rm
from rlhfbook.tasks.toyworld import PreferenceTask, build_tokenizer, new_model


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    """A local causal-LM folder standing in for a hub id (the gpu profile's path)."""
    folder = tmp_path_factory.mktemp("tiny_policy")
    tok = build_tokenizer()
    torch.manual_seed(0)
    new_model("tiny", tok).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def test_preference_pairs_are_complete_distinct_and_labelled(tiny_folder, monkeypatch):
    votes = []  # every (prompt, a, b, raters preferring a) the task's raters cast, in order
    rate = PreferenceTask.rate

    def recorded(self, prompt, a, b, n_raters, rng):
        votes.append((prompt, a, b, rate(self, prompt, a, b, n_raters, rng)))
        return votes[-1][-1]

    monkeypatch.setattr(PreferenceTask, "rate", recorded)
    policy, tok = models.load_policy(tiny_folder)
    torch.manual_seed(0)
    pairs = rm.preference_pairs(
        policy,
        tok,
        PreferenceTask(),
        5,
        np.random.default_rng(0),
        max_new_tokens=12,
        n_raters=3,
        batch_size=64,
    )
    assert len(pairs) == 5
    assert all(
        p["chosen"] != p["rejected"] and p["prompt"].endswith(": ")
        for p in pairs.rows()
    )
    # labelled: one vote per kept pair, and chosen is the answer most of the 3 raters preferred
    assert len(votes) >= 5
    for row, (prompt, a, b, k) in zip(pairs.rows(), votes):
        assert row["prompt"] == prompt and {row["chosen"], row["rejected"]} == {a, b}
        assert row["chosen"] == (a if k >= 2 else b)
    with pytest.raises(ValueError, match="n_pairs"):
        rm.preference_pairs(
            policy, tok, PreferenceTask(), 0, np.random.default_rng(0), max_new_tokens=4
        )


def test_reward_model_from_a_local_dataset_file_scores_like_reward_trainer(
    tiny_folder, tmp_path
):
    rows = [
        {"prompt": "food: ", "chosen": "superb tasty", "rejected": "awful"},
        {"prompt": "film: ", "chosen": "great", "rejected": "dull messy"},
    ] * 8
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _, tok = models.load_policy(tiny_folder)
    folder, history = rm.train_reward_model(
        tiny_folder, tok, data, tmp_path / "rm", steps=3, batch_size=8
    )
    assert history[-1]["step"] == 3
    reward, tok = models.load_reward_model(str(folder), tok)
    policy, _ = models.load_policy(tiny_folder)
    torch.manual_seed(0)
    rollout = generate(policy, tok, ["food: ", "a longer prompt: "], max_new_tokens=6)
    with torch.no_grad():
        scores = reward_model_scores(reward, rollout)
        for i in range(
            2
        ):  # the text RewardTrainer trains on: prompt + response + EOS, no padding
            text = (
                rollout.prompts[i]
                + rollout.responses[i]
                + (tok.eos_token if rollout.has_eos[i] else "")
            )
            ids = tok(text, add_special_tokens=False, return_tensors="pt")
            assert scores[i].item() == pytest.approx(
                reward(**ids).logits.item(), abs=1e-5
            )
        values = forward_values(reward, rollout)
    assert values.shape == rollout.response_ids.shape
    penalised = reward_model_scores(reward, rollout, no_eos_score=-7.0)
    assert all(
        s == -7.0 for s, e in zip(penalised.tolist(), rollout.has_eos.tolist()) if not e
    )

    # the gpu profile's path: policy and reward model given as names (folders here), critic from the RM
    critic, _ = models.load_reward_model(str(folder), tok)
    ref, _ = models.load_policy(tiny_folder)

    def proxy(r):
        with torch.no_grad():
            return reward_model_scores(reward, r, no_eos_score=-1.0)

    cfg = ppo.PPOConfig(
        iterations=2, prompts_per_iteration=4, max_new_tokens=6, critic_warmup=1
    )
    log = ppo.train(
        policy,
        ref,
        critic,
        tok,
        PreferenceTask().sample_prompts,
        proxy,
        cfg,
        progress=False,
    )
    assert [row["policy_updated"] for row in log] == [0.0, 1.0]


def test_rollout_from_ids_matches_generate(tiny_folder):
    policy, tok = models.load_policy(tiny_folder)
    torch.manual_seed(3)
    rollout = generate(policy, tok, ["food: ", "park: ", "a: "], max_new_tokens=8)
    lists = [
        ids[m.bool()].tolist()
        for ids, m in zip(rollout.response_ids, rollout.response_mask)
    ]
    again = rollout_from_ids(tok, rollout.prompts, lists)
    assert again.responses == rollout.responses
    assert torch.equal(again.has_eos, rollout.has_eos) and torch.equal(
        again.lengths, rollout.lengths
    )
    with pytest.raises(ValueError, match="prompts"):
        rollout_from_ids(tok, ["a: "], [])


def test_proxy_reward_is_the_frozen_reward_model_read_at_eos(tiny_folder):
    tok = models.load_tokenizer(tiny_folder)
    torch.manual_seed(
        1
    )  # the folder is a causal LM: its score head is initialised at load
    rm_model, _ = models.load_reward_model(tiny_folder, tok)
    torch.manual_seed(1)
    score = rm.proxy_reward(tiny_folder, tok, no_eos_score=-7.0)
    policy, _ = models.load_policy(tiny_folder)
    torch.manual_seed(0)
    batch = generate(policy, tok, ["food: ", "trip: "], max_new_tokens=4)
    batch.has_eos = torch.tensor([True, False])
    got = score(batch)
    assert not got.requires_grad
    assert (
        torch.allclose(got[:1], reward_model_scores(rm_model, batch)[:1])
        and got[1].item() == -7.0
    )


def test_proxy_reward_can_score_a_rewritten_text(tiny_folder):
    tok = models.load_tokenizer(tiny_folder)
    torch.manual_seed(1)
    rm_model, _ = models.load_reward_model(tiny_folder, tok)
    torch.manual_seed(1)
    score = rm.proxy_reward(
        tiny_folder, tok, no_eos_score=-7.0, text_fn=lambda p, r: r + " | checked"
    )
    policy, _ = models.load_policy(tiny_folder)
    torch.manual_seed(0)
    batch = generate(policy, tok, ["food: ", "trip: "], max_new_tokens=4)
    batch.has_eos = torch.tensor([True, False])
    got = score(batch)
    text = batch.prompts[0] + batch.responses[0] + " | checked" + tok.eos_token
    with torch.no_grad():
        want = rm_model(
            **tok(text, add_special_tokens=False, return_tensors="pt")
        ).logits.item()
    assert got[0].item() == pytest.approx(want, abs=1e-5) and got[1].item() == -7.0


def test_micro_batches_train_the_reward_model_of_one_pass(tiny_folder, tmp_path):
    """runtime.trainer_batch: 8 pairs a step in passes of 2 (gradient accumulation) log the losses of
    one pass of 8, to float rounding; a batch that does not split is refused in one line."""
    from rlhfbook.core import runtime

    rows = [
        {"prompt": "food: ", "chosen": "superb tasty", "rejected": "awful"},
        {"prompt": "a film: ", "chosen": "great", "rejected": "dull and messy"},
    ] * 8
    _, tok = models.load_policy(tiny_folder)
    logs = {}
    for micro in (None, 2):
        _, history = rm.train_reward_model(
            tiny_folder,
            tok,
            rows,
            tmp_path / f"rm{micro}",
            steps=3,
            batch_size=8,
            lr=1e-2,
            logging_steps=1,
            micro_batch=micro,
        )
        logs[micro] = [h["loss"] for h in history if "loss" in h]
    assert len(logs[None]) == 3 and logs[None][0] != logs[None][-1]
    np.testing.assert_allclose(logs[2], logs[None], rtol=1e-4)
    assert runtime.trainer_batch(32, 2) == dict(
        per_device_train_batch_size=2, gradient_accumulation_steps=16
    )
    assert (
        runtime.trainer_batch(32, None)
        == runtime.trainer_batch(32, 64)
        == dict(per_device_train_batch_size=32, gradient_accumulation_steps=1)
    )
    with pytest.raises(ValueError, match="does not split"):
        runtime.trainer_batch(32, 5)


@pytest.mark.parametrize("init_scale, stops", [(0.5, True), (2.0**16, False)])
def test_a_collapsed_fp16_loss_scale_stops_the_reward_trainer_in_one_line(
    tiny_folder, tmp_path, monkeypatch, init_scale, stops
):
    """runtime.prepare_trainer's guard reads the loss scaler of TRL's accelerate-wrapped optimizer after
    every step: a scale below 1 (what an fp16 forward overflow leaves) stops the run with the fp16
    advice; the control, the scale fp16 training starts at, trains as without a scaler. (Accelerate
    has no fp16 on a CPU, so the scaler is the one a GPU run gets, set on the trainer's accelerator.)"""
    from rlhfbook.core import runtime

    prepare = runtime.prepare_trainer

    def with_scaler(trainer):
        trainer.accelerator.scaler = torch.amp.GradScaler("cpu", init_scale=init_scale)
        return prepare(trainer)

    monkeypatch.setattr(runtime, "prepare_trainer", with_scaler)
    rows = [{"prompt": "food: ", "chosen": "superb tasty", "rejected": "awful"}] * 8
    _, tok = models.load_policy(tiny_folder)

    def train():
        return rm.train_reward_model(
            tiny_folder, tok, rows, tmp_path / "rm", steps=3, batch_size=8, lr=1e-2
        )

    if stops:
        with pytest.raises(
            runtime.HalfPrecisionOverflow,
            match="RewardTrainer's fp16 loss scale fell below 1",
        ) as error:
            train()
        assert "\n" not in str(error.value) and "autocast='float32'" in str(error.value)
    else:
        _, history = train()
        assert history[-1]["step"] == 3
