"""Chapter 0's figures of the toy world's base policies: their SFT loss curves and the gold
scores of their samples beside an untrained model's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def sft_losses(losses: Mapping[str, Sequence[float]]) -> Figure:
    """The SFT loss of each task's base policy per optimizer step, smoothed by a moving average
    over 1/50 of the run."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, curve in losses.items():
        curve = np.asarray(curve, dtype=float)
        window = max(1, len(curve) // 50)
        ax.plot(
            np.convolve(curve, np.ones(window) / window, mode="valid"),
            label=f"{name} task",
        )
    ax.set(
        title="SFT of the base policies",
        xlabel="optimizer step",
        ylabel="cross-entropy (nats / token)",
    )
    ax.legend()
    fig.tight_layout()
    return fig


def gold_histograms(
    scores: Mapping[tuple[str, str], np.ndarray], tasks: Sequence[str]
) -> Figure:
    """One panel per task: histograms of the gold scores of sampled responses, untrained model
    against SFT policy (``scores`` keyed by (task, policy))."""
    fig, axes = plt.subplots(1, len(tasks), figsize=(10, 3.5), squeeze=False)
    for ax, name in zip(axes[0], tasks):
        for label in ("untrained", "SFT"):
            ax.hist(scores[(name, label)], bins=25, alpha=0.6, label=label)
        ax.set(
            title=f"{name} task: gold score of samples",
            xlabel="gold score"
            if name == "preference"
            else "fraction of unit tests passed",
            ylabel="number of responses",
        )
        ax.legend()
    fig.tight_layout()
    return fig
