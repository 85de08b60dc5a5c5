"""The benchmarks' cores on small models: they run, our PPO update equals the reference loop bit for bit,
and the memory plan bounds a measured PPO step."""

import dataclasses
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(
        name, ROOT / "benchmarks" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ppo_bench():
    return _load("ppo_ratio")


@pytest.mark.parametrize("config", ["ch01", "ch03"])
@pytest.mark.parametrize(
    "minibatches, train_policy", [(1, True), (1, False), (2, True)]
)
def test_our_ppo_update_is_bit_identical_to_the_straightforward_loop(
    ppo_bench, config, minibatches, train_policy
):
    policy, ref_policy, critic, rollout, scores, cfg = ppo_bench.setup(
        config, "tiny", prompts=4
    )
    cfg = dataclasses.replace(cfg, minibatches=minibatches, epochs=2)
    models = (policy, ref_policy, critic)
    _, reference = ppo_bench.timed(
        ppo_bench.reference_update, models, rollout, scores, cfg, train_policy
    )
    _, ours = ppo_bench.timed(
        ppo_bench.our_update, models, rollout, scores, cfg, train_policy
    )
    assert ppo_bench.identical(reference, ours)
    assert not ppo_bench.identical(
        reference, (policy, critic)
    )  # the update changed the weights
    # the policy is trained exactly when asked
    assert ppo_bench.identical(reference[:1], (policy,)) == (not train_policy)


def test_ppo_benchmark_reports_the_ratio(ppo_bench):
    m = ppo_bench.measure("ch03", "tiny", repeats=2, prompts=2)
    assert m["identical"] and m["samples"] == 10
    assert (
        m["ratio"] == pytest.approx(m["reference_s"] / m["ours_s"]) and m["ours_s"] > 0
    )


def test_dpo_benchmark_runs_both_trainers():
    m = _load("dpo_ratio").measure(n_pairs=16, size="tiny", batch_size=8)
    assert m["steps"] == 2
    assert (
        m["ours_s"] > 0
        and m["defaults_s"] > 0
        and m["ratio"] == pytest.approx(m["defaults_s"] / m["ours_s"])
    )


def test_memory_plan_bounds_a_ppo_steps_measured_peak(monkeypatch):
    """A PPO step's peak in a fresh process (live tensors: fixed mmap threshold) stays under
    ``memory.ppo_plan`` in full fine-tuning and with adapters, and uses at least half of it."""
    import importlib

    from transformers import Qwen2Config

    from rlhfbook.lm import memory

    monkeypatch.syspath_prepend(
        str(ROOT / "benchmarks")
    )  # the spawned process imports it by name
    bench = importlib.import_module("ppo_memory")
    config = Qwen2Config(
        hidden_size=256,
        intermediate_size=1024,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=32768,
        tie_word_embeddings=True,
    )
    full, adapted = (
        bench.in_fresh_process(config, rank, 2, 128, 2) for rank in (None, 4)
    )
    assert full["plan"]["policy"] == memory.trained_bytes(
        *memory.count_parameters(config)
    )  # all of it trains
    assert adapted["plan"]["policy"] == memory.trained_bytes(
        *memory.count_parameters(config, 4)
    )
    for m in (full, adapted):
        assert 0.5 * m["plan_bytes"] < m["peak_bytes"] < m["plan_bytes"]
    assert adapted["peak_bytes"] < full["peak_bytes"]
