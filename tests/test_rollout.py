import numpy as np
import pytest
import torch

from rlhfbook.lm import rollout
from rlhfbook.tasks import toyworld


def test_response_mask_stops_after_the_first_eos():
    eos = 2
    ids = torch.tensor([[5, 6, eos, 7, eos], [5, 5, 5, 5, 5], [eos, 9, 9, 9, 9]])
    mask, has_eos = rollout.response_mask_from_ids(ids, eos)
    assert mask.tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]]
    assert has_eos.tolist() == [True, False, True]


def test_generate_and_logprobs_agree_and_select_keeps_rows_aligned():
    torch.manual_seed(0)
    tok = toyworld.build_tokenizer()
    model = toyworld.new_model("tiny", tok).eval()
    prompts = ["food: ", "a much longer prompt: ", "x"]
    out = rollout.generate(model, tok, prompts, max_new_tokens=6)
    assert (
        out.query_ids.shape[0] == 3 and (out.query_ids[:, -1] != tok.pad_token_id).all()
    )  # left padded
    assert (out.response_ids[out.response_mask == 0] == tok.pad_token_id).all()
    lp = rollout.sequence_logprob(model, out)
    # one row at a time (no padding at all) gives the same log-likelihood
    for i in range(3):
        alone = out.select([i])
        n = int(alone.query_mask.sum())
        alone.query_ids, alone.query_mask = (
            alone.query_ids[:, -n:],
            alone.query_mask[:, -n:],
        )
        assert torch.allclose(
            rollout.sequence_logprob(model, alone), lp[i : i + 1], atol=1e-5
        )
    sub = out.select([2, 0])
    assert sub.prompts == ["x", "food: "] and torch.equal(
        sub.response_ids[1], out.response_ids[0]
    )


def test_gold_scores_penalise_missing_eos():
    task = toyworld.task("code")
    p = task.sample_prompts(1, __import__("numpy").random.default_rng(0))[0]
    r = rollout.Rollout(
        [p, p],
        [task.demonstration(p)] * 2,
        torch.zeros(2, 1, dtype=torch.long),
        torch.ones(2, 1, dtype=torch.long),
        torch.zeros(2, 1, dtype=torch.long),
        torch.ones(2, 1, dtype=torch.long),
        torch.tensor([True, False]),
    )
    assert rollout.gold_scores(task, r).tolist() == [1.0, 1.0]
    assert rollout.gold_scores(task, r, no_eos_score=-1.0).tolist() == [1.0, -1.0]


def test_the_eos_trick_floors_only_responses_without_eos():
    tok = toyworld.build_tokenizer()
    r = rollout.rollout_from_ids(
        tok, ["a", "b", "c"], [[5, tok.eos_token_id], [5, 6], [tok.eos_token_id]]
    )
    scores = torch.tensor([0.5, 2.0, -3.0])
    assert r.has_eos.tolist() == [True, False, True]
    assert rollout.eos_trick(scores, r, -1.0).tolist() == [0.5, -1.0, -3.0]
    assert rollout.eos_trick(scores, r, None) is scores


def test_generation_takes_bounded_rows_per_call_on_a_gpu_and_the_whole_batch_on_a_cpu():
    cpu, gpu = torch.device("cpu"), torch.device("cuda")  # a device object needs no GPU
    assert (
        rollout.rows_per_call(1024, None, cpu) == 1024
    )  # the smoke and cpu profiles: one call
    assert (
        rollout.rows_per_call(1024, None, gpu) == rollout.GPU_ROWS <= 64
    )  # chapter 1's evaluation on a T4
    assert rollout.rows_per_call(16, None, gpu) == 16
    assert (
        rollout.rows_per_call(1024, 8, gpu) == rollout.rows_per_call(1024, 8, cpu) == 8
    )


def test_no_eos_floor_lies_below_every_score():
    scores = np.array([-1.5, 0.2, 0.75, 3.0])
    assert rollout.no_eos_floor(scores) == pytest.approx(-1.5 - scores.std())
    with pytest.raises(ValueError, match="two finite"):
        rollout.no_eos_floor([1.0])
