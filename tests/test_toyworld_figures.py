"""Chapter 0's figures: one curve per task, one panel per task, labelled axes."""

import matplotlib.pyplot as plt
import numpy as np

from rlhfbook.chapters.ch00_toy_world import figures


def test_sft_losses_draws_one_smoothed_curve_per_task():
    fig = figures.sft_losses(
        {"preference": np.linspace(3, 1, 200), "code": np.ones(10)}
    )
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["preference task", "code task"]
    assert (
        len(ax.lines[0].get_xdata()) == 200 - 4 + 1
    )  # a moving average over 200 / 50 steps
    assert ax.get_xlabel() and ax.get_ylabel()
    plt.close(fig)


def test_gold_histograms_has_one_panel_per_task_with_both_policies():
    rng = np.random.default_rng(0)
    scores = {
        (t, p): rng.random(30)
        for t in ("preference", "code")
        for p in ("untrained", "SFT")
    }
    fig = figures.gold_histograms(scores, ["preference", "code"])
    assert len(fig.axes) == 2
    assert fig.axes[1].get_xlabel() == "fraction of unit tests passed"
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "untrained",
        "SFT",
    ]
    plt.close(fig)
