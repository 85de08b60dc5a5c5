"""The figures of chapter 3 (Shen & Zhang, 2024): the actual score by reward region, over the seeds'
reward models (the paper's Fig. 1), PF-PPO's training curves beside the final policies' pass@1, and
every check's per-seed paired differences.

Each function draws one figure from what :mod:`rlhfbook.chapters.ch03_pf_ppo.pf_ppo` computes and returns it; colours:
one per method (:data:`COLOURS`) and one per reward model (:data:`RM_COLOURS`), the same in every figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rlhfbook.chapters.ch03_pf_ppo.pf_ppo import pass_rate_z, short_name

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

COLOURS = {
    "PPO-S": "C4",
    "PPO-M": "C0",
    "PF-PPO (BoN)": "C3",
    "PF-PPO (BR)": "C1",
    "PF-PPO (BW)": "C2",
}
RM_COLOURS = {"program only": "C7", "program + shown outputs": "C9"}


def training_figure(
    logs: pd.DataFrame, passed: dict[str, np.ndarray], sft_pass: np.ndarray
) -> Figure:
    """Left: the mean actual score of each method's training samples against the responses sampled so
    far (5-iteration rolling mean over seeds). Right: each method's final held-out pass@1 (Table 3), with
    two standard errors of its gain over the SFT policy (:func:`rlhfbook.chapters.ch03_pf_ppo.pf_ppo.pass_rate_z`), and the SFT line."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for m, p in passed.items():
        g = logs[logs.method == m].groupby("sampled")["gold_reward"].mean()
        ax[0].plot(
            g.index, g.rolling(5, min_periods=1).mean(), label=m, color=COLOURS[m]
        )
        gain, se = pass_rate_z(p, sft_pass)
        ax[1].bar(
            short_name(m),
            100 * (sft_pass.mean() + gain),
            yerr=200 * se,
            color=COLOURS[m],
            capsize=4,
        )
    ax[1].axhline(100 * sft_pass.mean(), color="grey", ls=":", label="SFT policy")
    ax[0].set(
        xlabel="sampled responses",
        ylabel="mean actual score of the samples",
        title="Training prompts (5-iteration average)",
    )
    ax[1].set(
        ylabel="held-out pass@1 (%), ± 2 SE", title="Final policy, mean over seeds"
    )
    ax[0].legend(fontsize=9)
    ax[1].legend(fontsize=9, loc="lower right")
    fig.tight_layout()
    return fig


def reliability_seeds_figure(
    over_seeds: dict[str, np.ndarray], reference: dict[str, np.ndarray] | None = None
) -> Figure:
    """The paper's Fig. 1 with one reward model per seed (:func:`rlhfbook.chapters.ch03_pf_ppo.pf_ppo.reliability_over_seeds`):
    left, the mean actual score per reward region; right, its spread (std) inside the region, each mean
    ± 2 SE over seeds. ``reference`` (one :func:`rlhfbook.methods.filtration.reliability_by_region`, the
    character-only reward model of the first seed) is drawn in grey beside it."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    x = np.arange(len(over_seeds["score_mean"])) + 1
    for a, key, label in zip(ax, ("score_mean", "score_std"), ("mean", "spread (std)")):
        a.errorbar(
            x,
            over_seeds[key],
            yerr=over_seeds[key + "_2se"],
            fmt="o-",
            capsize=3,
            color=RM_COLOURS["program + shown outputs"],
            label="program + shown outputs (mean ± 2 SE over seeds)",
        )
        if reference is not None:
            a.plot(
                x,
                reference[key],
                "s--",
                color=RM_COLOURS["program only"],
                label="program only (first seed)",
            )
        a.set(
            xlabel="reward region (1 = lowest rewards, equal counts)",
            ylabel=f"actual score: {label}",
            xticks=x,
        )
    ax[0].set_title("Actual score by reward region")
    ax[1].set_title("How much the reward leaves open (small = reliable)")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def paired_figure(per_seed: dict[str, dict], thresholds: dict[str, float]) -> Figure:
    """One panel per check, three to a row (10 inches wide, the column's width): its per-seed
    paired difference (a dot per seed), the mean ± 2 SE over seeds (the verdict rule's interval,
    black) and the paper's threshold (dashed)."""
    import matplotlib.pyplot as plt

    rows = -(-len(per_seed) // 3)
    fig, ax = plt.subplots(
        rows, min(3, len(per_seed)), figsize=(10, 3.4 * rows), squeeze=False
    )
    for a in ax.flat[len(per_seed) :]:
        fig.delaxes(a)  # no empty panel
    for a, (name, values) in zip(ax.flat, per_seed.items()):
        v = np.array(list(values.values()), float)
        jitter = np.linspace(-0.15, 0.15, len(v))
        a.plot(jitter, v, "o", color="C0", alpha=0.7, label="one seed")
        se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else 0.0
        a.errorbar(
            [0.45],
            [v.mean()],
            yerr=[2 * se],
            fmt="D",
            color="k",
            capsize=5,
            label="mean ± 2 SE",
        )
        a.axhline(thresholds[name], color="grey", ls="--", label="threshold")
        a.set(xlim=(-0.5, 0.8), xticks=[])
        a.set_title(name, fontsize=10)
    for row in ax:
        row[0].set_ylabel("per-seed paired difference")
    fig.tight_layout(rect=(0, 0.08 / rows, 1, 1))
    fig.legend(
        *ax[0, 0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=9
    )  # below, over no dot
    return fig
