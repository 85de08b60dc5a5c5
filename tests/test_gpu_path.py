"""The gpu profile's code paths on a local stand-in for a hub instruct model (CPU, no network).

:mod:`rlhfbook.testing.standin` builds a Qwen2-architecture model whose tokenizer has a chat template,
two end tokens and no pad token: what Qwen2.5-Instruct, Llama 3 and gpt2 give the book on a GPU.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rlhfbook.chapters.ch01_ppo_max import gold_proxy
from rlhfbook.lm import models, rollout
from rlhfbook.methods import ppo, reward_model
from rlhfbook.tasks import code_tasks, preferences
from rlhfbook.testing import standin


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return standin.build(tmp_path_factory.mktemp("standin"))


@pytest.fixture(scope="module")
def policy(folder):
    return models.load_policy(folder)


def _favour(model, token_id):
    """Make the model emit ``token_id`` first, whatever the context (a hook on its LM head)."""
    bias = torch.zeros(model.get_output_embeddings().weight.shape[0])
    bias[token_id] = 1e4
    return model.get_output_embeddings().register_forward_hook(
        lambda m, i, out: out + bias
    )


def test_the_stand_in_looks_like_a_hub_instruct_model(folder):
    tok = standin.build_tokenizer()
    assert tok.pad_token is None and tok.chat_template
    loaded, _ = models.load_policy(folder)
    assert loaded.config.model_type == "qwen2"
    assert loaded.generation_config.eos_token_id == [
        tok.convert_tokens_to_ids(t) for t in (standin.END_OF_TURN, standin.END_OF_TEXT)
    ]


def test_pad_token_is_added_and_the_policy_embeddings_grow(folder, policy):
    model, tok = policy
    ends = rollout.end_token_ids(tok, model)
    assert (
        tok.pad_token_id is not None and tok.pad_token_id not in ends and len(ends) == 2
    )
    assert model.get_input_embeddings().num_embeddings == len(tok) > tok.pad_token_id
    ids, mask = rollout.encode_prompts(tok, ["hi", "write a python function please"])
    assert (ids[0] == tok.pad_token_id).any()  # the short prompt is padded...
    assert (
        model(input_ids=ids, attention_mask=mask).logits.shape[:2] == ids.shape
    )  # ...and indexes in range


def test_a_reward_model_loaded_from_the_stand_in_takes_the_new_pad(folder, policy):
    _, tok = policy
    rm, _ = models.load_reward_model(folder, tok)
    assert (
        rm.get_input_embeddings().num_embeddings == len(tok)
        and rm.config.pad_token_id == tok.pad_token_id
    )
    enc = tok(
        ["short", "a much longer text to score here"], return_tensors="pt", padding=True
    )
    assert rm(**enc).logits.shape == (2, 1)


def test_reward_trainer_from_the_folder_resizes_for_the_new_pad(
    folder, policy, tmp_path
):
    _, tok = policy
    pairs = standin.write_hh_rlhf(tmp_path / "hh.jsonl", n=8)
    out, log = reward_model.train_reward_model(
        folder, tok, pairs, tmp_path / "rm", steps=2, batch_size=4
    )
    rm, _ = models.load_reward_model(out, tok)
    assert rm.get_input_embeddings().num_embeddings == len(tok)
    assert log and all(
        torch.isfinite(torch.tensor(r["loss"])) for r in log if "loss" in r
    )


def test_rollouts_use_the_chat_template_and_keep_the_raw_prompts(policy):
    model, tok = policy
    torch.manual_seed(0)
    r = rollout.generate(model, tok, ["hi", "write code"], max_new_tokens=4)
    assert r.prompts == ["hi", "write code"]
    queries = tok.batch_decode(r.query_ids, skip_special_tokens=False)
    assert (
        queries[1] == "<|im_start|>user\nwrite code<|im_end|>\n<|im_start|>assistant\n"
    )
    assert queries[0].endswith(
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    )


@pytest.mark.parametrize("end", [standin.END_OF_TURN, standin.END_OF_TEXT])
def test_generation_stops_and_detects_eos_on_either_end_token(policy, end):
    model, tok = policy
    end_id = tok.convert_tokens_to_ids(end)
    hook = _favour(model, end_id)
    try:
        r = rollout.generate(
            model, tok, ["hi", "write code"], max_new_tokens=6, greedy=True
        )
    finally:
        hook.remove()
    assert (
        r.has_eos.all()
        and (r.lengths == 1).all()
        and (r.response_ids[:, 0] == end_id).all()
    )


def test_responses_from_ids_end_on_either_end_token(policy):
    model, tok = policy
    ends = rollout.end_token_ids(tok, model)
    word = tok("sure", add_special_tokens=False)["input_ids"]
    r = rollout.rollout_from_ids(
        tok,
        ["a", "b", "c"],
        [word + [ends[0]], word + [ends[1]], word * 3],
        eos_ids=ends,
    )
    assert r.has_eos.tolist() == [True, True, False]
    assert r.lengths.tolist() == [len(word) + 1, len(word) + 1, 3 * len(word)]


def test_chunked_log_probs_and_generation_match_one_batch(policy):
    model, tok = policy
    torch.manual_seed(0)
    r = rollout.generate(
        model,
        tok,
        ["hi", "write code", "what is a prime", "thanks", "sort a list"],
        max_new_tokens=6,
    )
    with torch.no_grad():
        full = rollout.response_logprobs(model, r)
        for chunk in (1, 2, 4):
            torch.testing.assert_close(
                rollout.response_logprobs(model, r, chunk_size=chunk),
                full,
                atol=1e-5,
                rtol=1e-5,
            )
        torch.testing.assert_close(
            rollout.sequence_logprob(model, r, chunk_size=2),
            rollout.sequence_logprob(model, r),
            atol=1e-4,
            rtol=1e-5,
        )
    torch.manual_seed(1)
    chunked = rollout.generate(model, tok, r.prompts, max_new_tokens=6, chunk_size=2)
    assert chunked.query_ids.equal(r.query_ids) and chunked.response_ids.shape[0] == 5
    assert (chunked.response_mask.sum(1) == chunked.lengths).all()
    assert (chunked.response_ids[chunked.response_mask == 0] == tok.pad_token_id).all()


def test_samples_come_from_the_policy_whose_log_probs_ppo_computes(policy, monkeypatch):
    model, tok = policy
    assert (
        model.generation_config.repetition_penalty
        == standin.QWEN_SAMPLING["repetition_penalty"]
    )
    scores = []
    real_generate = model.generate

    def generate_with_scores(
        *args, **kwargs
    ):  # the real generate, also returning its sampling scores
        out = real_generate(
            *args, **kwargs, output_scores=True, return_dict_in_generate=True
        )
        scores.append(torch.stack(out.scores, 1))
        return out.sequences

    monkeypatch.setattr(model, "generate", generate_with_scores)
    torch.manual_seed(0)
    r = rollout.generate(
        model,
        tok,
        ["write code that sorts", "hi hi hi", "what is a prime"],
        max_new_tokens=8,
    )
    sampled = torch.log_softmax(scores[0].float(), -1).gather(
        -1, r.response_ids[:, : scores[0].shape[1], None]
    )
    with torch.no_grad():
        policy_logp = rollout.response_logprobs(model, r)
    mask = r.response_mask.bool()
    torch.testing.assert_close(
        sampled.squeeze(-1)[mask], policy_logp[mask], atol=1e-4, rtol=1e-4
    )
    assert (
        model.generation_config.repetition_penalty
        == standin.QWEN_SAMPLING["repetition_penalty"]
    )  # restored


def test_chapter_3_reward_models_train_on_the_token_ids_they_score(
    folder, tmp_path, monkeypatch
):
    from rlhfbook.chapters.ch03_pf_ppo import pf_ppo

    tok = models.load_tokenizer(folder)
    pair = {
        "prompt": "Write add(x), x plus 1.",
        "chosen": "def add(x):\n    return x + 1",
        "rejected": "def add(x): pass",
    }
    trainers = []
    real_trainer = reward_model.reward_trainer
    monkeypatch.setattr(
        reward_model,
        "reward_trainer",
        lambda *a, **k: trainers.append(real_trainer(*a, **k)) or trainers[-1],
    )
    spec = dict(
        base=str(folder),
        out_dir=str(tmp_path / "rm"),
        pairs=[pair, pair],
        epochs=1,
        batch_size=2,
        lr=1e-3,
    )
    pf_ppo.reward_model_run(
        spec | dict(seed=0, max_length=256, micro_batch=None, autocast="auto")
    )
    trained = trainers[0].train_dataset[0]["chosen_ids"]
    answer = tok(pair["chosen"], add_special_tokens=False)["input_ids"] + [
        tok.eos_token_id
    ]
    scored = rollout.rollout_from_ids(
        tok, [pair["prompt"]], [answer]
    )  # what proxy_reward reads, one row: no padding
    assert torch.cat([scored.query_ids[0], scored.response_ids[0]]).tolist() == trained
    assert trained[0] == tok.convert_tokens_to_ids(
        standin.START_OF_TURN
    )  # in the chat template


def test_reward_models_train_on_every_pair_the_long_ones_cut_as_they_are_scored(
    folder, tmp_path
):
    tok = models.load_tokenizer(folder)
    long_prompt, long_answer = (
        "write python code that sums a list " * 40,
        "def f(x): return x + 1 " * 40,
    )
    rows = [
        {"prompt": "hi", "chosen": "sure", "rejected": "no"},
        {"prompt": long_prompt, "chosen": long_answer, "rejected": "no"},
        {"prompt": "hi", "chosen": long_answer, "rejected": long_answer + "!"},
    ]
    max_length = 64
    trainer = reward_model.reward_trainer(
        folder, tok, rows, tmp_path / "rm", steps=1, max_length=max_length
    )
    data = trainer.train_dataset
    assert len(data) == len(rows)  # TRL would drop the two long pairs
    assert (
        max(len(ids) for k in ("chosen_ids", "rejected_ids") for ids in data[k])
        <= max_length
    )
    assert data[0]["chosen_ids"] == tok("hisure", add_special_tokens=False)[
        "input_ids"
    ] + [tok.eos_token_id]
    prompt_tokens, answer_tokens = reward_model.cut_lengths(max_length)
    cut = tok(long_prompt, add_special_tokens=False)["input_ids"][-prompt_tokens:]
    assert (
        data[1]["chosen_ids"][: len(cut) - 1] == cut[:-1]
    )  # its last tokens (TRL merges the one at the seam)


def test_a_ppo_rollout_and_step_run_on_the_stand_in(folder):
    policy, tok = models.load_policy(folder)
    ref, _ = models.load_policy(folder, frozen=True)
    critic, _ = models.load_reward_model(folder, tok)
    before = [p.detach().clone() for p in policy.parameters()]
    cfg = ppo.PPOConfig(
        iterations=2,
        critic_warmup=1,
        prompts_per_iteration=2,
        group_size=2,
        max_new_tokens=6,
        epochs=1,
        chunk_size=3,
        lr=1e-3,
    )
    log = ppo.train(
        policy,
        ref,
        critic,
        tok,
        lambda n, rng: ["hi", "write code"][:n],
        lambda r: r.lengths.float(),
        cfg,
        seed=0,
        progress=False,
    )
    assert len(log) == 2 and all(
        torch.isfinite(torch.tensor(row["proxy_reward"])) for row in log
    )
    assert any(
        not torch.equal(a, b) for a, b in zip(before, policy.parameters())
    )  # the PPO step moved the policy


def test_local_hh_rlhf_and_mbpp_files_are_read_by_the_chapters_loaders(tmp_path):
    hh = standin.write_hh_rlhf(tmp_path / "hh.jsonl", n=6)
    pairs = preferences.load_pairs(str(hh))
    assert (
        len(pairs) == 6
        and pairs.prompts[0].endswith("\n\nAssistant:")
        and pairs.rejected[0] == " No."
    )
    dataset = (
        pairs.to_dataset()
    )  # what TRL reads: prompt + chosen is the transcript again
    assert (
        dataset[0]["prompt"] + dataset[0]["chosen"]
        == json.loads(hh.read_text().splitlines()[0])["chosen"]
    )
    problems = code_tasks.load_problems(
        standin.write_mbpp(tmp_path / "mbpp.jsonl", n=4)
    )
    task = code_tasks.UnitTestTask(problems)
    assert (
        len(task.prompts) == 4
        and task.gold_reward(task.prompts[0], problems[0]["code"]) == 1.0
    )


def test_preference_pairs_are_scored_as_written_without_the_chat_template(policy):
    from rlhfbook.methods import ranking

    model, tok = policy
    r = ranking.encode_responses(tok, ["\n\nHuman: hi\n\nAssistant:"], [" hello"])
    assert (
        tok.decode(r.query_ids[0], skip_special_tokens=True)
        == "\n\nHuman: hi\n\nAssistant:"
    )
    assert "<|im_start|>" not in tok.decode(r.query_ids[0])


def test_chapter_1_splits_the_pairs_into_gold_proxy_and_held_out_prompts(tmp_path):
    pairs = preferences.load_pairs(
        str(standin.write_hh_rlhf(tmp_path / "hh.jsonl", n=30))
    )
    s = gold_proxy.split(pairs, n_proxy=5, n_ppo=6, n_eval=4, seed=0)
    held = set(s.ppo_prompts) | set(s.eval_prompts)
    assert len(held) == 10 and not set(s.ppo_prompts) & set(s.eval_prompts)
    assert (
        s.proxy == s.gold[:5] and len(s.gold) == 20
    )  # the proxy trains on part of the gold's rows
    assert not held & {
        gold_proxy.single_turn(pairs.prompts[i]) for i in s.gold
    }  # no RM sees a held-out prompt
    assert gold_proxy.transcript(s.eval_prompts[0]) in pairs.prompts
    with pytest.raises(ValueError, match="n_proxy"):
        gold_proxy.split(pairs, n_proxy=20, n_ppo=6, n_eval=4, seed=0)


def test_chapter_1_ppo_on_the_stand_in_is_scored_by_the_gold_and_the_proxy_reward_model(
    folder, tmp_path, monkeypatch
):
    from rlhfbook.chapters.ch01_ppo_max import overoptimisation as oo

    seen: dict[str, list[float]] = {}
    real = gold_proxy.transcript_reward

    def spy(
        path, *args, **kwargs
    ):  # record what each reward model scored, by its folder
        fn = real(path, *args, **kwargs)

        def scored(r):
            out = fn(r)
            seen.setdefault(str(path), []).append(out.float().mean().item())
            return out

        return scored

    monkeypatch.setattr(gold_proxy, "transcript_reward", spy)
    pairs = preferences.load_pairs(
        str(standin.write_hh_rlhf(tmp_path / "hh.jsonl", n=30))
    )
    s = gold_proxy.split(pairs, n_proxy=5, n_ppo=6, n_eval=4, seed=0)
    _, tok = models.load_policy(folder)
    gold, _ = reward_model.train_reward_model(
        folder, tok, pairs.select(s.gold), tmp_path / "gold", steps=2
    )
    labelled, _ = gold_proxy.gold_labelled(pairs, s.proxy, gold, "cpu", 128)
    proxy, _ = reward_model.train_reward_model(
        folder, tok, labelled, tmp_path / "proxy", steps=2, seed=1
    )
    pool = gold_proxy.PromptPool.of(s)
    run = oo.Run(
        "B PPO-max",
        0,
        str(folder),
        str(proxy),
        str(proxy),
        # the gpu profile's PPO: adapters on the Qwen2 blocks, one row per forward/backward pass
        dict(
            iterations=2,
            critic_warmup=1,
            prompts_per_iteration=2,
            max_new_tokens=6,
            epochs=1,
            lora_rank=4,
            micro_batch=1,
        ),
        n_eval=4,
        gold_path=str(gold),
        prompts_path=pool.save(tmp_path / "prompts.json"),
    )
    seen.clear()
    out = oo.run_ppo(run)
    assert [row["gold_reward"] for row in out["log"]] == pytest.approx(
        seen[str(gold)][:2]
    )
    assert [row["proxy_reward"] for row in out["log"]] == pytest.approx(
        seen[str(proxy)]
    )
    assert np.mean(out["eval_gold"]) == pytest.approx(
        seen[str(gold)][2]
    )  # held-out gold: the gold model too
    assert (
        out["eval_terms"] == {} and "gold utility" not in out["log"][0]
    )  # no toy terms on real models

    # TRL's GRPO on the same models trains only the adapters the gpu profile gives it (peft's, from
    # lora.config), with no second model for its reference (the policy with its adapters off), and
    # stores the frozen weights in 16 bits, as on a GPU (dtype_for's answer there, on this CPU)
    from dataclasses import replace

    from rlhfbook.core import runtime

    trainers = []
    prepare = runtime.prepare_trainer
    monkeypatch.setattr(
        runtime,
        "prepare_trainer",
        lambda trainer: trainers.append(trainer) or prepare(trainer),
    )
    monkeypatch.setattr(
        runtime,
        "dtype_for",
        lambda device, trainable=False: torch.float32 if trainable else torch.bfloat16,
    )
    grpo = dict(
        n_prompts=4,
        lora_rank=4,
        chunk_size=2,
        autocast="auto",
        max_steps=2,
        num_iterations=1,
        per_device_train_batch_size=4,
    )
    grpo |= dict(
        num_generations=2,
        max_completion_length=6,
        learning_rate=1e-2,
        beta=0.05,
        loss_type="grpo",
    )
    monkeypatch.setattr(  # the stand-in never ends in 6 tokens: score the cut responses too,
        gold_proxy,  # so that a group's rewards differ and GRPO has an advantage to step on
        "transcript_reward",
        lambda path, device, max_length, _no_eos: real(path, device, max_length, None),
    )
    out = oo.run_grpo(replace(run, name="TRL GRPO", config={}, grpo=grpo))
    assert out["optimizer_steps"] == 2 and len(trainers) == 1
    assert trainers[0].ref_model is None  # no reference copy: adapters off
    trained = dict(trainers[0].model.named_parameters())
    adapters = {n for n in trained if ".lora_A." in n or ".lora_B." in n}
    assert adapters and {n for n, p in trained.items() if p.requires_grad} == adapters
    assert {trained[n].dtype for n in adapters} == {torch.float32}
    assert {p.dtype for n, p in trained.items() if n not in adapters} == {
        torch.bfloat16
    }
    assert any(
        trained[n].abs().sum() > 0 for n in adapters if ".lora_B." in n
    )  # the step moved them


def test_chapter_1_notebook_runs_the_real_model_path_on_the_stand_in(folder, tmp_path):
    import json

    import papermill

    hh = standin.write_hh_rlhf(tmp_path / "hh.jsonl", n=48)
    papermill.execute_notebook(
        str(Path(__file__).parents[1] / "notebooks" / "01_ppo_max.ipynb"),
        str(tmp_path / "out.ipynb"),
        parameters=dict(
            profile="smoke", model_name=str(folder), preference_dataset=str(hh)
        ),
        kernel_name="python3",
        cwd=str(tmp_path),
        progress_bar=False,
    )
    res = json.loads((tmp_path / "results" / "smoke" / "01_ppo_max.json").read_text())
    m = res["metrics"]
    assert (
        m["gold_rm_pairs"] == 48 - 16 and m["proxy_rm_pairs"] == 8
    )  # smoke: 8 + 8 prompts held out
    checks = {c["name"]: c for c in res["checks"]}
    assert (
        checks["vanilla_loses_gold_through_ood_strings"]["value"] is None
    )  # toy-only: recorded, not computed
    assert checks["vanilla_overoptimises"]["value"] is not None


def test_gold_labels_put_the_gold_models_preferred_answer_first(monkeypatch):
    pairs = preferences.PreferencePairs(
        ["p", "q", "r"], ["long answer", "b", "ccc"], ["a", "long answer", "dd"]
    )
    monkeypatch.setattr(
        gold_proxy,
        "_scorer",
        lambda *a: lambda x, ys: torch.tensor([float(len(y)) for y in ys]),
    )
    labelled, agreement = gold_proxy.gold_labelled(pairs, [1, 0, 2], "gold", "cpu", 64)
    assert labelled.rows() == [
        {
            "prompt": "q",
            "chosen": "long answer",
            "rejected": "b",
        },  # the human label flipped: gold prefers length
        {"prompt": "p", "chosen": "long answer", "rejected": "a"},
        {"prompt": "r", "chosen": "ccc", "rejected": "dd"},
    ]
    assert agreement == pytest.approx(2 / 3)


def _settings(hh, **kw):
    from dataclasses import replace

    from rlhfbook.chapters.ch01_ppo_max.spec import PPOMaxSettings

    return replace(
        PPOMaxSettings(),
        preference_dataset=str(hh),
        proxy_pairs=5,
        ppo_prompt_pool=6,
        eval_prompts=4,
        **kw,
    )


def test_chapter_1_loads_the_dataset_into_gold_rows_proxy_rows_and_held_out_prompts(
    tmp_path,
):
    P = _settings(standin.write_hh_rlhf(tmp_path / "hh.jsonl", n=30))
    data = gold_proxy.load(P, seed=3)
    pairs = preferences.load_pairs(P.preference_dataset, seed=3, split="train")
    assert data.split == gold_proxy.split(
        pairs, 5, 6, 4, seed=3
    )  # the same split as the function's by hand
    assert (
        len(data.pairs) == 30
        and len(data.split.gold) == 20
        and data.split.proxy == data.split.gold[:5]
    )
    assert (data.pool.ppo, data.pool.eval) == (
        data.split.ppo_prompts,
        data.split.eval_prompts,
    )
    assert str(data) == (
        "30 preference pairs: 20 for the gold reward model, 5 of them for the proxy; "
        "6 held-out prompts for PPO, 4 for the evaluation"
    )
    from dataclasses import replace

    with pytest.raises(ValueError, match="model_name needs preference_dataset"):
        gold_proxy.load(replace(P, preference_dataset=None), seed=3)


def test_chapter_1_proxy_pairs_are_the_proxy_rows_labelled_by_the_gold_model(
    tmp_path, monkeypatch
):
    data = gold_proxy.load(
        _settings(standin.write_hh_rlhf(tmp_path / "hh.jsonl", n=30)), seed=0
    )
    calls = []

    def scorer(
        path, device, max_length
    ):  # a "gold model" that prefers the shorter answer
        calls.append((path, max_length))
        return lambda prompts, ys: torch.tensor([-float(len(y)) for y in ys])

    monkeypatch.setattr(gold_proxy, "_scorer", scorer)
    labelled, agreement = data.proxy_pairs("gold", "cpu", 64)
    rows = data.pairs.select(data.split.proxy)
    assert calls == [("gold", 64)] and labelled.prompts == rows.prompts
    assert (
        labelled.chosen == rows.rejected and labelled.rejected == rows.chosen
    )  # " No." is shorter: flipped
    assert agreement == 0.0


def test_chapter_1_run_fields_carry_the_gold_model_and_the_held_out_prompts(tmp_path):
    from rlhfbook.chapters.ch01_ppo_max import overoptimisation as oo

    data = gold_proxy.load(
        _settings(standin.write_hh_rlhf(tmp_path / "hh.jsonl", n=30)), seed=0
    )
    fields = data.run_fields(tmp_path / "gold", tmp_path, 96, -2.5, 0.75)
    run = oo.Run("B", 0, "sft", "rm", "rm", **fields)
    assert (run.gold_path, run.rm_max_length) == (str(tmp_path / "gold"), 96)
    assert (run.gold_no_eos, run.proxy_no_eos) == (-2.5, 0.75)
    assert gold_proxy.PromptPool.load(run.prompts_path) == data.pool


def test_chapter_1_truncated_answers_score_below_every_complete_one_on_real_models(
    folder, policy, tmp_path, monkeypatch
):
    """Defect 1.9 of the gpu review: a fixed -1 for a response cut off without EOS can sit inside
    a Bradley-Terry reward model's range. Calibrated on the SFT policy's samples, the score of a
    truncated answer lies below every complete one's, for a model whose scores are all below -1
    and for one whose scores are all above it."""
    from rlhfbook.chapters.ch01_ppo_max import overoptimisation as oo

    model, tok = policy
    pairs = preferences.load_pairs(
        str(standin.write_hh_rlhf(tmp_path / "hh.jsonl", n=12))
    )
    path, _ = reward_model.train_reward_model(
        folder, tok, pairs, tmp_path / "rm", steps=1
    )
    torch.manual_seed(0)
    samples = rollout.generate(
        model, tok, ["Hi", "Tell me a joke"] * 4, max_new_tokens=4
    )
    samples.has_eos[:4] = True  # half complete, half cut off
    samples.has_eos[4:] = False
    assert (
        oo.no_eos_score(None, samples, "cpu", 64) == oo.NO_EOS_SCORE
    )  # the toy world's
    scorer = gold_proxy._scorer
    for offset in (
        -1e3,
        1e3,
    ):  # the same model's scores shifted far below and far above -1
        monkeypatch.setattr(
            gold_proxy,
            "_scorer",
            lambda *a, o=offset: lambda *t: scorer(*a)(*t) + o,
        )
        floor = oo.no_eos_score(path, samples, "cpu", 64)
        raw = gold_proxy.transcript_reward(path, "cpu", 64, None)(samples)
        assert floor < raw[:4].min().item()
        assert abs(floor - offset) < 100  # on the model's own scale, not -1
        scored = oo.proxy_reward(path, tok, "cpu", True, 64, floor)(samples)
        assert scored[4:].tolist() == pytest.approx([floor] * 4)
        assert scored[:4].tolist() == raw[:4].tolist()


def test_chapter_1_gold_model_trains_seeded_on_the_gold_rows_with_the_gold_steps(
    tmp_path, monkeypatch
):
    P = _settings(
        standin.write_hh_rlhf(tmp_path / "hh.jsonl", n=30), gold_rm_steps=7, rm_steps=3
    )
    data = gold_proxy.load(P, seed=0)
    seen = {}

    def fake(base, tok, pairs, out, **kw):
        seen.update(base=base, pairs=pairs, out=out, draw=torch.rand(1), **kw)
        return Path(out), []

    monkeypatch.setattr(reward_model, "train_reward_model", fake)
    torch.manual_seed(99)
    assert (
        gold_proxy.train_gold(P, "sft", None, data, tmp_path / "g", seed=5)
        == tmp_path / "g"
    )
    assert seen["pairs"].rows() == data.pairs.select(data.split.gold).rows()
    assert (seen["steps"], seen["seed"], seen["lr"], seen["max_length"]) == (
        7,
        5,
        P.rm_lr,
        P.rm_max_length,
    )
    torch.manual_seed(5)
    assert seen["draw"].equal(
        torch.rand(1)
    )  # torch was seeded with the chapter's seed first
