"""The GPU profiles' sizes: the work's arithmetic (rlhfbook.lm.gpu_cost) by hand, the cards' time
(rlhfbook.book.gpu_sizing), and each profile within its budget on its card."""

import math

import pytest
import torch
from transformers import Qwen2Config

from rlhfbook.book import gpu_sizing as g
from rlhfbook.book import profiles
from rlhfbook.chapters import SPECS
from rlhfbook.lm import gpu_cost as c
from rlhfbook.lm import memory

LM = c.LM("toy", params=1e9, layers=10)


def test_generate_counts_prefill_and_decoding_steps_per_call():
    w = c.generate(LM, rows=10, prompt=5, new=4, chunk=4)  # 3 calls
    assert w.generated == 40
    assert w.flops == 2 * 1e9 * 10 * (5 + 4)
    assert w.launches == 3 * (4 + 1) * 10
    assert w.weight_bytes == 3 * 4 * 2 * 1e9
    assert c.generate(LM, 10, 5, 4, lora=True).launches == 1 * 5 * 10 * 1.5


def test_training_costs_6n_per_token_and_4n_with_adapters():
    full, lora = c.train(LM, 8, 100, micro=2), c.train(LM, 8, 100, micro=2, lora=True)
    assert full.flops == 6 * 1e9 * 800 and lora.flops == 4 * 1e9 * 800
    assert full.launches == 4 * 3 * 10 and lora.launches == 4 * 3 * 10 * 1.5
    assert c.forward(LM, 8, 100, micro=3).launches == math.ceil(8 / 3) * 10


def test_a_ppo_iteration_is_its_rollout_scoring_and_updates():
    it = c.ppo_iteration(
        LM, 8, 10, 6, epochs=2, scorers=2, micro=4, chunk=None, lora=False
    )
    by_hand = (
        c.generate(LM, 8, 10, 6)
        + 5
        * c.forward(LM, 8, 16, 4)  # old policy, reference, critic, two reward models
        + 2 * 2 * c.train(LM, 8, 16, 4)  # two epochs of the policy and the critic
    )
    assert it == by_hand
    filtered = c.ppo_iteration(LM, 8, 10, 6, 2, 1, 4, None, False, trained_rows=2)
    assert filtered.trained == 2 * 2 * 2 * 16


def test_seconds_adds_flops_launches_weights_and_host_time():
    card = g.Card(
        "c", 16, peak_tflops=100, efficiency=0.5, bandwidth_gbs=1000, launch_ms=2
    )
    w = c.Work(flops=1e14, launches=500, weight_bytes=2e12, host_s=3)
    assert g.seconds(w, card) == pytest.approx(2 + 1 + 2 + 3)


def test_a_decoding_step_of_a_05b_model_costs_what_public_measurements_show():
    """One more decoding step of one row: 10-30 ms (public measurements of HF generate at batch 1 on
    one GPU: 50-70 tokens per second)."""
    for card in g.CARDS.values():
        step = g.seconds(c.generate(c.QWEN_05B, 1, 0, 2), card) - g.seconds(
            c.generate(c.QWEN_05B, 1, 0, 1), card
        )
        assert 0.010 < step < 0.030, card.name


@pytest.mark.parametrize("chapter", g.sized())
def test_each_gpu_profile_fits_its_budget_on_its_card(chapter):
    for profile, cards in g.PROFILE_CARDS.items():
        budget = profiles.budget_minutes(chapter)[profile]
        assert (
            g.minutes(chapter, profiles.resolve(chapter, profile), cards[0]) <= budget
        )


def test_gpu_full_runs_the_seeds_the_verdict_rule_needs_and_chapter_3s_control():
    for chapter in ("01_ppo_max", "02_dpo_ranking", "03_pf_ppo"):
        assert profiles.resolve(chapter, "gpu-full").n_seeds >= 6
    assert profiles.resolve("03_pf_ppo", "gpu-full").gold_methods


def test_todays_old_gpu_profile_would_not_have_fitted():
    """The sizes before this estimate (chapter 1: 3 seeds x 4 configurations x 200 iterations of 64
    prompts) come out at days on a T4, as the review of the gpu path found."""
    old = dict(profiles.resolve("01_ppo_max", "gpu")) | dict(
        n_seeds=3,
        iterations=200,
        prompts_per_iteration=64,
        max_new_tokens=128,
        epochs=4,
        gold_rm_steps=4700,
        rm_steps=250,
        run_ppo_max_no_kl=True,
    )
    assert g.minutes("01_ppo_max", old, "T4") > 24 * 60


@pytest.mark.parametrize(
    ("chapter", "profile", "gb"),
    [
        ("01_ppo_max", "gpu", 15.8),
        ("03_pf_ppo", "gpu", 15.8),
        ("01_ppo_max", "gpu-full", 80),
        ("03_pf_ppo", "gpu-full", 80),
    ],
)
def test_each_gpu_profile_fits_its_cards_memory_even_in_fp32(chapter, profile, gb):
    """The memory plan (rlhfbook.lm.memory, the notebook's own models included) at the profile's micro-batch,
    with autocast='float32', the way out of an fp16 overflow."""
    P = profiles.resolve(chapter, profile)
    P32 = profiles.Profile(chapter, profile, dict(P) | {"autocast": "float32"})
    config = Qwen2Config(**memory.QWEN2_5_05B)
    spec = profiles.spec(chapter)
    plan = memory.ppo_plan(config, P32, spec.ppo_scorers, torch.float32, torch.float16)
    need = sum(plan.values()) + memory.notebook_bytes(config, spec.notebook_models)
    assert need <= memory.HEADROOM * gb * 1e9, need / 1e9


def test_chapter_2s_measured_toy_seconds_are_of_the_cpu_profiles_runs():
    from rlhfbook.chapters.ch02_dpo_ranking import sizing

    cpu = profiles.resolve("02_dpo_ranking", "cpu")
    assert sizing.TOY_RUNS_MEASURED == cpu.n_seeds * len(cpu.gammas)


def test_every_chapter_either_counts_its_gpu_work_or_says_what_its_gpu_profile_does():
    for chapter in (spec.chapter for spec in SPECS):
        spec = profiles.spec(chapter)
        assert (spec.gpu_work is None) == bool(spec.gpu_note), chapter
        assert g.estimate(chapter, "gpu")
