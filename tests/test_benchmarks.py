"""The benchmarks' cores on tiny models: they run, and our PPO update equals the reference loop bit for bit."""

import dataclasses
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ppo_bench():
    return _load("ppo_ratio")


@pytest.mark.parametrize("config", ["ch01", "ch03"])
@pytest.mark.parametrize("minibatches, train_policy", [(1, True), (1, False), (2, True)])
def test_our_ppo_update_is_bit_identical_to_the_straightforward_loop(ppo_bench, config, minibatches, train_policy):
    policy, ref_policy, critic, rollout, scores, cfg = ppo_bench.setup(config, "tiny", prompts=4)
    cfg = dataclasses.replace(cfg, minibatches=minibatches, epochs=2)
    models = (policy, ref_policy, critic)
    _, reference = ppo_bench.timed(ppo_bench.reference_update, models, rollout, scores, cfg, train_policy)
    _, ours = ppo_bench.timed(ppo_bench.our_update, models, rollout, scores, cfg, train_policy)
    assert ppo_bench.identical(reference, ours)
    assert not ppo_bench.identical(reference, (policy, critic))  # the update changed the weights
    # the policy is trained exactly when asked
    assert ppo_bench.identical(reference[:1], (policy,)) == (not train_policy)


def test_ppo_benchmark_reports_the_ratio(ppo_bench):
    m = ppo_bench.measure("ch03", "tiny", repeats=2, prompts=2)
    assert m["identical"] and m["samples"] == 10
    assert m["ratio"] == pytest.approx(m["reference_s"] / m["ours_s"]) and m["ours_s"] > 0


def test_dpo_benchmark_runs_both_trainers():
    m = _load("dpo_ratio").measure(n_pairs=16, size="tiny", batch_size=8)
    assert m["steps"] == 2
    assert m["ours_s"] > 0 and m["defaults_s"] > 0 and m["ratio"] == pytest.approx(m["defaults_s"] / m["ours_s"])
