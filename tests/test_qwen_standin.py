"""The Qwen-vocabulary stand-in: Qwen2.5's tokenizer rebuilt from its BPE ranks, and the gpu code paths
of chapters 1-3 and the memory plan at Qwen2.5's real vocabulary (random weights, small sizes)."""

import json
from pathlib import Path

import pytest
import regex
import torch

from rlhfbook.lm import models, rollout
from rlhfbook.testing import standin

ROOT = Path(__file__).parents[1]
TEXTS = [
    "Hello world!",
    "def add(x, y):\n    return x + y  # 12345",
    "  leading spaces\n\n\ttabs and\r\nwindows lines",
    "ünïcödé 你好 🙂",
    "The reward model's score was -3.25e-2, wasn't it?",
]


@pytest.fixture(scope="module")
def tok():
    return standin.qwen_tokenizer()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return standin.build(tmp_path_factory.mktemp("qwen"), vocabulary="qwen")


def reference_ids(ranks: dict[bytes, int], text: str) -> list[int]:
    """tiktoken's encoding as a loop: split ``text`` by Qwen's pattern, then in each piece merge the
    adjacent pair whose concatenation has the lowest rank until no pair is a token."""
    ids = []
    for piece in regex.findall(standin.QWEN_PATTERN, text):
        parts = [bytes([b]) for b in piece.encode()]
        while len(parts) > 1:
            pairs = [
                (ranks[a + b], i)
                for i, (a, b) in enumerate(zip(parts, parts[1:]))
                if a + b in ranks
            ]
            if not pairs:
                break
            _, i = min(pairs)
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
        ids += [ranks[p] for p in parts]
    return ids


def test_the_tokenizer_encodes_as_qwens_ranks_do(tok):
    ranks = standin.qwen_ranks()
    assert sorted(ranks.values()) == list(range(151_643))
    for text in TEXTS:
        ids = tok(text)["input_ids"]
        assert ids == reference_ids(ranks, text), text
        assert tok.decode(ids) == text
    assert tok("Hello world")["input_ids"] == [9707, 1879]  # Qwen2.5's own ids
    assert len(tok("12345")["input_ids"]) == 5  # Qwen splits numbers into digits


def test_the_special_tokens_template_and_sizes_are_qwen25s(tok, folder):
    assert len(tok) == 151_665
    specials = [tok.convert_tokens_to_ids(t) for t in standin.QWEN_SPECIALS]
    assert specials == list(range(151_643, 151_665))
    assert (tok.eos_token, tok.pad_token) == (standin.END_OF_TURN, standin.END_OF_TEXT)
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert prompt == (
        f"<|im_start|>system\n{standin.QWEN_SYSTEM}<|im_end|>\n"
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    )
    policy, loaded = models.load_policy(str(folder))  # the from_pretrained path
    assert policy.config.vocab_size == standin.QWEN_EMBEDDING_ROWS
    # the book's own pad (Qwen pads with one of its end tokens), inside the padded embedding matrix
    assert len(loaded) == len(tok) + 1 and loaded.pad_token == "<pad>"
    assert policy.get_input_embeddings().weight.shape[0] == standin.QWEN_EMBEDDING_ROWS
    gen = policy.generation_config
    assert {k: getattr(gen, k) for k in standin.QWEN_SAMPLING} == standin.QWEN_SAMPLING


def test_the_stand_in_ends_a_turn_about_once_in_ten_tokens(folder):
    """A geometric length with p = 0.1, cut at 40 tokens: mean (1 - 0.9^40) / 0.1 = 9.9 tokens."""
    policy, tok = models.load_policy(str(folder))
    torch.manual_seed(0)
    out = rollout.generate(policy, tok, ["write a function"] * 128, max_new_tokens=40)
    assert 0.95 < out.has_eos.float().mean() <= 1
    assert 8 < out.response_mask.sum(1).float().mean() < 12


@pytest.mark.parametrize(
    ("notebook", "data"),
    [("01_ppo_max", "preference_dataset"), ("03_pf_ppo", "dataset")],
)
def test_chapters_1_and_3_run_their_real_model_paths_at_qwens_vocabulary(
    folder, tmp_path, notebook, data
):
    import papermill

    path = (
        standin.write_hh_rlhf(tmp_path / "hh.jsonl", n=48)
        if notebook == "01_ppo_max"
        else standin.write_mbpp(tmp_path / "mbpp.jsonl", n=10)
    )
    papermill.execute_notebook(
        str(ROOT / "notebooks" / f"{notebook}.ipynb"),
        str(tmp_path / "out.ipynb"),
        parameters={
            "profile": "smoke",
            "model_name": str(folder),
            data: str(path),
        },
        kernel_name="python3",
        cwd=str(tmp_path),
        progress_bar=False,
    )
    res = json.loads((tmp_path / "results" / "smoke" / f"{notebook}.json").read_text())
    assert res["checks"]  # the chapter ran to its end and recorded its checks


def test_chapter_2_scores_a_real_vocabularys_log_likelihoods(folder, tmp_path):
    from rlhfbook.book import profiles
    from rlhfbook.chapters.ch02_dpo_ranking import ranking_gap

    P = profiles.resolve(
        "02_dpo_ranking",
        "gpu",
        model_name=str(folder),
        dataset=str(standin.write_hh_rlhf(tmp_path / "hh.jsonl", n=12)),
        n_real_pairs=12,
    )
    report, n = ranking_gap.real_model_report(P, seed=0, device="cpu")
    assert n == 12 and 0 <= report["R"] <= 1


def test_the_memory_plan_bounds_a_ppo_step_at_qwens_vocabulary(monkeypatch):
    """The plan's logits row dominates at 151,936 tokens: the measured peak of a PPO step in a fresh
    process lies between half the plan and the plan, as at the small vocabulary."""
    import importlib

    from transformers import Qwen2Config

    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    bench = importlib.import_module("ppo_memory")
    config = Qwen2Config(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=standin.QWEN_EMBEDDING_ROWS,
        tie_word_embeddings=True,
    )
    m = bench.in_fresh_process(config, 4, 2, 128, 2)
    assert m["plan"]["logits"] > 0.5 * m["plan_bytes"]
    assert 0.5 * m["plan_bytes"] < m["peak_bytes"] < m["plan_bytes"]
