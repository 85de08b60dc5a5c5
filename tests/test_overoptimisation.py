import numpy as np
import pandas as pd
import pytest

from rlhfbook import overoptimisation as oo
from rlhfbook import toyworld
from rlhfbook.toyworld.preference import WORDS


def test_gold_terms_sum_to_the_gold_reward():
    task = toyworld.task("preference")
    rng = np.random.default_rng(0)
    vocab = list(WORDS) + ["superbree", "lovelysdey"]
    for _ in range(300):
        prompt = task.sample_prompts(1, rng)[0]
        response = " ".join(rng.choice(vocab, size=int(rng.integers(0, 12))))
        terms = oo.gold_terms(task, prompt, response)
        assert sum(terms.values()) == pytest.approx(task.gold_reward(prompt, response), abs=1e-12)
    assert oo.gold_terms(task, "food: ", "superb great", has_eos=False) == dict.fromkeys(oo.TERMS, 0.0) | {
        "no EOS": -1.0
    }


def test_each_channel_is_charged_where_it_occurs():
    task = toyworld.task("preference")
    t = oo.gold_terms(task, "food: ", "superb superb zzz " + " ".join(WORDS[:6]))
    assert t["non-words"] == -1.0 and t["repeats"] == pytest.approx(-2 * task.repeat_penalty)
    assert t["rambling"] == pytest.approx(-task.ramble_penalty * (9 - 6))


def test_smoothing_matches_pandas_rolling_mean():
    y = np.random.default_rng(1).normal(size=23)
    assert np.allclose(oo.smooth(y, 5), pd.Series(y).rolling(5, min_periods=1).mean())


def test_collapse_and_slope_on_a_rise_and_fall():
    gold = np.array([1.0, 2.0, 4.0, 3.0, 1.0])
    proxy = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    assert oo.collapse(gold, proxy) == {"end_over_peak": 0.25, "proxy_gain": 2.0, "peak_iteration": 2}
    assert oo.slope(np.array([1.0, 3.0, 5.0])) == pytest.approx(2.0)


def test_collapse_iteration_is_the_first_drop_below_a_fraction_of_the_running_peak():
    gold = np.array([1.0, 2.0, 4.0, 3.5, 3.1, 3.5, 2.0])
    assert oo.collapse_iteration(gold) == 4  # 3.1 <= 0.8 * 4
    assert oo.collapse_iteration(gold, fraction=0.5) == 6
    assert oo.collapse_iteration(np.array([1.0, 2.0, 3.0])) is None


def test_train_sends_a_run_with_grpo_settings_to_trl_and_the_others_to_ppo(monkeypatch):
    monkeypatch.setattr(oo, "run_ppo", lambda run: "ppo")
    monkeypatch.setattr(oo, "run_grpo", lambda run: "grpo")
    ppo_run = oo.Run("A", 0, "sft", "rm", "sft", config=dict(iterations=2))
    assert oo.train(ppo_run) == "ppo"
    assert oo.train(oo.Run("G", 0, "sft", "rm", "sft", grpo=dict(max_steps=2))) == "grpo"
