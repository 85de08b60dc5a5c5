import time

import pytest
import torch

from rlhfbook import models, toyworld


def test_a_hub_id_without_network_fails_fast_and_points_to_the_cpu_profile():
    start = time.perf_counter()
    with pytest.raises(models.ModelUnavailable, match="could not fetch model 'Qwen/Qwen2.5-0.5B'.*'cpu' profile"):
        models.load_policy("Qwen/Qwen2.5-0.5B")
    assert time.perf_counter() - start < 2.0


def test_local_folder_loads_policy_and_reward_model(tmp_path):
    tok = toyworld.build_tokenizer()
    torch.manual_seed(0)
    toyworld.new_model("tiny", tok).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    policy, ptok = models.load_policy(str(tmp_path))
    assert not policy.training and ptok.padding_side == "left"
    assert all(p.requires_grad for p in policy.parameters())
    frozen, _ = models.load_policy(tmp_path, frozen=True)
    assert not any(p.requires_grad for p in frozen.parameters())
    rm, _ = models.load_reward_model(tmp_path, ptok)
    ids = ptok(["food: fresh", "trip: dull"], return_tensors="pt", padding=True)
    assert rm(**ids).logits.shape == (2, 1)


def test_a_tokenizer_without_pad_gets_one_distinct_from_eos(tmp_path):
    tok = toyworld.build_tokenizer()
    tok.pad_token = tok.eos_token  # what many hub tokenizers ship
    tok.save_pretrained(tmp_path)
    loaded = models.load_tokenizer(tmp_path)
    assert loaded.pad_token_id != loaded.eos_token_id
