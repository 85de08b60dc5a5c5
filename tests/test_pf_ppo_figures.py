import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from rlhfbook.chapters.ch03_pf_ppo import pf_ppo  # noqa: E402
from rlhfbook.chapters.ch03_pf_ppo import pf_ppo_figures as figures  # noqa: E402


def test_training_figure_bars_are_the_sft_rate_plus_the_gain():
    logs = pd.DataFrame(
        {
            "method": ["PPO-M"] * 2 + ["PF-PPO (BW)"] * 2,
            "sampled": [10, 20, 10, 20],
            "gold_reward": [0.1, 0.3, 0.2, 0.6],
        }
    )
    passed = {
        "PPO-M": np.array([[0.5, 0.7], [0.3, 0.5]]),
        "PF-PPO (BW)": np.array([[1.0, 0.0], [1.0, 1.0]]),
    }
    sft = np.array([0.25, 0.25])
    fig = figures.training_figure(logs, passed, sft)
    curves, bars = fig.axes
    assert (curves.get_xlabel(), bars.get_ylabel()) == (
        "sampled responses",
        "held-out pass@1 (%), ± 2 SE",
    )
    assert [t.get_text() for t in bars.get_xticklabels()] == ["PPO-M", "BW"]
    heights = [p.get_height() for p in bars.patches]
    assert heights == pytest.approx(
        [100 * (0.25 + pf_ppo.pass_rate_z(p, sft)[0]) for p in passed.values()]
    )
    np.testing.assert_allclose(
        curves.lines[1].get_ydata(), [0.2, 0.4]
    )  # the rolling mean of 0.2, 0.6
    assert curves.lines[0].get_color() == figures.COLOURS["PPO-M"]
    plt.close(fig)


def test_paired_figure_has_a_panel_per_check_with_its_seeds_mean_and_threshold():
    per_seed = {"a": {0: 0.1, 1: 0.3}, "b": {0: -1.0, 1: 1.0, 2: 0.0}}
    fig = figures.paired_figure(per_seed, {"a": 0.0, "b": 0.5})
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    dots, mean = fig.axes[1].lines[0], fig.axes[1].lines[1]
    np.testing.assert_array_equal(dots.get_ydata(), [-1.0, 1.0, 0.0])
    assert mean.get_ydata()[0] == pytest.approx(0.0)
    assert fig.axes[1].lines[-1].get_ydata()[0] == 0.5  # the threshold
    plt.close(fig)
    five = figures.paired_figure(
        {str(k): {0: 0.1, 1: 0.2} for k in range(5)},
        dict.fromkeys(map(str, range(5)), 0.0),
    )
    assert (
        five.get_figwidth() <= 10 and len(five.axes) == 5
    )  # two rows of three, none empty
    plt.close(five)


def test_reliability_seeds_figure_draws_mean_and_spread_with_the_reference():
    over = {"score_mean": np.array([0.1, 0.9]), "score_std": np.array([0.2, 0.1])}
    over |= {"score_mean_2se": np.zeros(2), "score_std_2se": np.zeros(2)}
    ref = {"score_mean": np.array([0.3, 0.5]), "score_std": np.array([0.4, 0.4])}
    fig = figures.reliability_seeds_figure(over, ref)
    left, right = fig.axes
    np.testing.assert_array_equal(left.lines[0].get_ydata(), over["score_mean"])
    np.testing.assert_array_equal(right.lines[-1].get_ydata(), ref["score_std"])
    plt.close(fig)
