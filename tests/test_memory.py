"""rlhfbook.lm.memory: parameter counts against a published model's, and the gpu profiles against a T4."""

from pathlib import Path

import pytest
import torch
from transformers import Qwen2Config

from rlhfbook.book import profiles
from rlhfbook.lm import memory

T4 = 15_835_398_144  # torch.cuda.get_device_properties(0).total_memory on a Colab T4


def test_parameters_are_counted_as_the_model_card_and_the_adapters_as_r_times_in_plus_out():
    config = Qwen2Config(**memory.QWEN2_5_05B)
    assert memory.count_parameters(config) == (
        494_032_768,
        494_032_768,
    )  # Qwen2.5-0.5B: 0.49B
    # per block: q, k, v, o, gate, up, down: r x (d_in + d_out) each
    per_block = (896 + 896) + 2 * (896 + 128) + (896 + 896) + 3 * (896 + 4864)
    assert memory.count_parameters(config, lora_rank=16) == (
        494_032_768,
        24 * 16 * per_block,
    )
    total, trainable = memory.count_parameters(config, lora_rank=16, critic=True)
    assert trainable == 24 * 16 * per_block + 896  # and the value head
    assert memory.trained_bytes(10, 10) == 160 and memory.trained_bytes(10, 1) == 52
    assert memory.trained_bytes(10, 1, frozen_size=2) == 34


def _profile(chapter, **changes):
    P = profiles.resolve(chapter, "gpu")
    return profiles.Profile(chapter, "gpu", {**P, **changes})


@pytest.mark.parametrize("chapter", ["01_ppo_max", "03_pf_ppo"])
def test_the_gpu_profiles_ppo_fits_a_t4_only_with_its_adapters(
    chapter, tmp_path, monkeypatch
):
    """The control: the same settings in full fine-tuning (2 x 0.49B x 16 B = 15.8 GB for policy and
    critic alone) must not fit, and are stopped in one line that names the way out."""
    folder = tmp_path / "qwen"
    Qwen2Config(**memory.QWEN2_5_05B).save_pretrained(
        folder
    )  # the config alone: nothing is downloaded or allocated
    P = _profile(chapter, model_name=str(folder))
    plan = memory.check_fits(P, profiles.spec(chapter), total_bytes=T4)
    assert sum(plan.values()) < memory.HEADROOM * T4
    assert (
        plan["the notebook's models"]
        == memory.notebook_bytes(
            Qwen2Config(**memory.QWEN2_5_05B), profiles.spec(chapter).notebook_models
        )
        > 1.9e9
    )
    adapters = memory.count_parameters(Qwen2Config(**memory.QWEN2_5_05B), 16)[1]
    assert (
        plan["policy"] == 2 * (494_032_768 - adapters) + 16 * adapters
    )  # frozen weights in 16 bits; adapters with fp32 weights, gradient and AdamW moments
    with pytest.raises(
        memory.GPUMemoryError, match=r"needs about 2\d\.\d GB .* set lora_rank"
    ) as error:
        memory.check_fits(
            _profile(chapter, model_name=str(folder), lora_rank=None),
            profiles.spec(chapter),
            total_bytes=T4,
        )
    assert "\n" not in str(error.value)


def test_nothing_is_checked_for_the_toy_world_other_chapters_or_a_cpu(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert (
        memory.check_fits(
            profiles.resolve("01_ppo_max", "cpu"), profiles.spec("01"), total_bytes=1
        )
        is None
    )  # toy world
    assert (
        memory.check_fits(
            profiles.resolve("05_strategic_games", "gpu"),
            profiles.spec("05"),
            total_bytes=1,
        )
        is None
    )
    assert (
        memory.check_fits(profiles.resolve("03_pf_ppo", "gpu"), profiles.spec("03"))
        is None
    )  # no CUDA here


def test_the_gpu_appendixs_memory_table_is_the_plan_of_chapter_1(root):
    """The table on book/gpu.md (the appendix on the gpu profile), row by row, is ppo_plan's (in GB, one decimal)."""
    from dataclasses import replace

    from rlhfbook.book.profiles import _TABLE as TABLE

    config = Qwen2Config(**memory.QWEN2_5_05B)
    G = TABLE["01_ppo_max"]["gpu"]
    notebook = {
        "the notebook's models": memory.notebook_bytes(
            config, profiles.spec("01").notebook_models
        )
    }
    plans = [
        memory.ppo_plan(
            config, replace(G, lora_rank=r), profiles.spec("01").ppo_scorers
        )
        | notebook
        for r in (None, 16)
    ]
    rows = [
        line
        for line in (root / "book" / "gpu.md").read_text().splitlines()
        if line.endswith(" GB |")
    ]
    parts = [
        ["policy"],
        ["critic"],
        ["reference policy"],
        ["reward models"],
        ["logits"],
        ["activations"],
    ]
    parts += [["the notebook's models"], None]
    assert len(rows) == len(parts)
    for row, keys in zip(rows, parts):
        cells = [c.strip() for c in row.strip("|").split("|")][-2:]
        expected = [
            sum(p.values()) if keys is None else sum(p[k] for k in keys) for p in plans
        ]
        assert cells == [f"{x / 1e9:.1f} GB" for x in expected], row


@pytest.mark.parametrize("lora_rank", [None, 16])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_saved_activations_extrapolate_from_one_and_two_blocks_to_a_direct_measurement(
    lora_rank, dtype
):
    """activation_bytes solves for per-token, per-block and fixed bytes on 1 and 2 blocks at 8 and 16
    tokens; on 3 blocks, 2 rows of 20 tokens it must give what the hooks measure directly (the LM
    head's 16-bit weight copy, 2 x vocab x hidden bytes under autocast without adapters, is not in
    saved_bytes; with adapters the frozen head is 16-bit already)."""
    config = Qwen2Config(
        **memory.QWEN2_5_05B | dict(num_hidden_layers=3, vocab_size=64)
    )
    head = 2 * 64 * 896 if dtype == torch.float16 and lora_rank is None else 0
    direct = memory.saved_bytes(config, 40, lora_rank, dtype)
    assert memory.activation_bytes(config, 2, 20, lora_rank, dtype) - head == direct


def test_the_plan_is_in_the_autocast_dtype_and_the_gpu_appendix_quotes_it(
    root, tmp_path
):
    """check_fits plans fp32 logits and activations for autocast='float32' (the control: 'auto' plans
    16-bit ones) with the reward models in 16 bits either way; the page's fp32 totals are these numbers."""
    folder = tmp_path / "qwen"
    Qwen2Config(**memory.QWEN2_5_05B).save_pretrained(folder)
    page = (root / "book" / "gpu.md").read_text()
    totals = []
    for chapter in ("01_ppo_max", "03_pf_ppo"):
        auto = memory.check_fits(
            _profile(chapter, model_name=str(folder)),
            profiles.spec(chapter),
            total_bytes=T4,
        )
        fp32 = memory.check_fits(
            _profile(chapter, model_name=str(folder), autocast="float32"),
            profiles.spec(chapter),
            total_bytes=T4,
        )
        assert (
            fp32["logits"] > auto["logits"]
            and fp32["reward models"] == auto["reward models"]
        )
        totals.append(sum(fp32.values()) / 1e9)
    assert "chapter 1 needs {:.1f} GB and chapter 3 {:.1f} GB".format(*totals) in page


def test_the_plan_counts_the_models_the_notebook_keeps_on_the_gpu(tmp_path):
    """Chapter 1's notebook holds its fp32 SFT policy and two fp16 reward models on the GPU while its
    runs train in its process: 4.0 GB that the run's own plan does not have. At two-row
    micro-batches the whole fits a T4 in 16 bits but not in fp32 (the way out of an fp16 overflow),
    though the run's own plan would; the gpu appendix says so."""
    folder = tmp_path / "qwen"
    config = Qwen2Config(**memory.QWEN2_5_05B)
    config.save_pretrained(folder)
    total, _ = memory.count_parameters(config)
    critic, _ = memory.count_parameters(config, critic=True)
    assert (
        memory.notebook_bytes(config, profiles.spec("01").notebook_models)
        == 4 * total + 2 * 2 * critic
    )
    assert (
        memory.notebook_bytes(config, profiles.spec("03").notebook_models) == 4 * total
    )
    with pytest.raises(
        memory.GPUMemoryError,
        match=r"needs about 15\.7 GB .*the notebook's models 4\.0",
    ) as error:
        memory.check_fits(
            _profile(
                "01_ppo_max", model_name=str(folder), micro_batch=2, autocast="float32"
            ),
            profiles.spec("01"),
            total_bytes=T4,
        )
    assert memory.check_fits(
        _profile("01_ppo_max", model_name=str(folder), micro_batch=2),
        profiles.spec("01"),
        total_bytes=T4,
    )
    assert "not in fp32 ({}, over 90% of a T4)".format(
        error.value.args[0].split("needs about ")[1].split(" (")[0]
    ) in (Path(__file__).parents[1] / "book" / "gpu.md").read_text().replace("\n", " ")
