import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from rlhfbook import filtration, pf_ppo  # noqa: E402
from rlhfbook import pf_ppo_figures as figures  # noqa: E402


def test_reliability_figure_draws_each_reward_models_regions():
    rng = np.random.default_rng(0)
    rewards, scores = rng.random((20, 5)), rng.random((20, 5))
    regions = {
        name: filtration.reliability_by_region(rewards, scores, 10)
        for name in pf_ppo.READS
    }
    fig = figures.reliability_figure(regions)
    axes = fig.axes
    assert (
        len(axes) == 2
        and axes[0].get_ylabel() == "actual score (fraction of tests): mean ± std"
    )
    for ax, name in zip(axes, pf_ppo.READS):
        assert ax.get_title() == f"reward model: {name}"
        assert ax.get_xlabel() == "reward region (1 = lowest rewards, equal counts)"
        x, y = ax.lines[0].get_data()
        np.testing.assert_array_equal(x, np.arange(1, 11))
        np.testing.assert_array_equal(y, regions[name]["score_mean"])
    plt.close(fig)


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
