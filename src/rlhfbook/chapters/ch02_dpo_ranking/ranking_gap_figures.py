"""The figures of chapter 2 (Chen et al., 2024): the sandbox's flips by c, the reference's
log-ratios, training curves of reward and ranking accuracy, the four-way flip table (Fig. 2),
loss against c (Fig. 3) and ranking accuracy against win rate (Sec. 5).

Each function draws one figure from what :mod:`rlhfbook.chapters.ch02_dpo_ranking.ranking_gap` computes and returns it;
colours: one per beta (:func:`beta_colours`), green for a pair ranked correctly, red for one
ranked wrongly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from rlhfbook.chapters.ch02_dpo_ranking.ranking_gap import (
    DPOStudy,
    Key,
    SeedData,
    flip_table_along,
    flipped_wrong,
)
from rlhfbook.methods import ranking as rk

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from rlhfbook.chapters.ch02_dpo_ranking.unigram_dpo import Study

RIGHT, WRONG = "C2", "C3"  # a pair ranked correctly / wrongly, in every figure


def beta_colours(betas: Sequence[float]) -> dict[float, str]:
    """One matplotlib colour per beta, the same in every figure of the chapter."""
    return {b: f"C{i}" for i, b in enumerate(betas)}


def flip_curve(
    ax: Axes, c_wrong: np.ndarray, flipped: np.ndarray, bins: int = 8, **style
) -> None:
    """Share of wrongly ranked pairs flipped, per quantile bin of c (one point per bin, at the
    bin's median c); Fig. 3's message as a curve."""
    edges = np.quantile(c_wrong, np.linspace(0, 1, bins + 1))
    which = np.clip(np.digitize(c_wrong, edges[1:-1]), 0, bins - 1)
    ax.plot(
        [np.median(c_wrong[which == k]) for k in range(bins)],
        [flipped[which == k].mean() for k in range(bins)],
        "o-",
        **style,
    )


def sandbox_flips(studies: dict[float, Study]) -> Figure:
    """Part B: per sigma of the sandbox, the share of wrongly ranked pairs DPO flips by c."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(studies)))
    for colour, (sigma, st) in zip(colours, studies.items()):
        flip_curve(
            ax,
            st.c[~st.ref_correct],
            st.flipped,
            color=colour,
            label=f"$\\sigma$ = {sigma:g}",
        )
    ax.set_xscale("log")
    ax.set_xlabel("reference log-ratio c of the pair (nats, log scale)")
    ax.set_ylabel("share of wrongly ranked pairs flipped")
    ax.set_title("Sandbox: wrongly ranked pairs that DPO flips, by c")
    ax.legend(fontsize=8)
    return fig


def reference_logratios(data: dict[int, SeedData], seed: int) -> Figure:
    """Left: the histogram of c over every seed's train pairs; right: the reference's c
    against the writer's exact c on seed ``seed``'s pairs."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    c_all = np.concatenate([d.c for d in data.values()])
    axes[0].hist(c_all, bins=60, color="0.5")
    axes[0].axvline(0, color="k", lw=1)
    axes[0].set_xlabel("c = log pi_Ref(y_l) - log pi_Ref(y_w) (nats)")
    axes[0].set_ylabel("train pairs (all seeds)")
    axes[0].set_title(f"Reference log-ratio; R_ref = {np.mean(c_all <= 0):.3f}")
    d0 = data[seed]
    axes[1].scatter(d0.c_writer, d0.c, s=4, alpha=0.5, color="0.3")
    lim = np.abs(d0.c_writer).max()
    axes[1].plot([-lim, lim], [-lim, lim], "k:", lw=1)
    axes[1].set_xlabel("c of the writer's exact likelihood (nats)")
    axes[1].set_ylabel("c of the reference model (nats)")
    axes[1].set_title(f"The reference has learned the writer (seed {seed})")
    fig.tight_layout()
    return fig


def training_curves(study: DPOStudy, betas: Sequence[float]) -> Figure:
    """Reward accuracy (left) and ranking accuracy R (right) on the train pairs along each
    run, coloured by beta, with a dot at the best-validation checkpoint."""
    import matplotlib.pyplot as plt

    colour = beta_colours(betas)
    first = next(iter(study.tables))[0]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for (s, b), tab in study.tables.items():
        for ax, col in zip(axes, ("reward acc", "R")):
            ax.plot(
                tab.index,
                tab[col],
                "-",
                color=colour[b],
                lw=1,
                alpha=0.8,
                label=f"beta {b}" if s == first else None,
            )
            ax.plot(
                study.best_step[s, b],
                tab.loc[study.best_step[s, b], col],
                "o",
                color=colour[b],
                ms=5,
            )
    for ax, name in zip(axes, ("reward accuracy", "ranking accuracy R")):
        ax.set_xlabel("DPO step")
        ax.set_title(f"{name} on the train pairs")
    axes[0].set_ylabel("share of train pairs")
    axes[0].legend(fontsize=9)
    fig.tight_layout()
    return fig


def flips(
    study: DPOStudy, data: dict[int, SeedData], main: Key, betas: Sequence[float]
) -> Figure:
    """Fig. 2: the four-way flip table along the run ``main`` = (seed, beta) (left), and the
    share of wrongly ranked pairs flipped at the best checkpoint by c, pooled over seeds, per
    beta (right)."""
    import matplotlib.pyplot as plt

    colour = beta_colours(betas)
    shares = flip_table_along(data[main[0]], study.runs[main], study.tables[main].index)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    axes[0].stackplot(
        shares.index,
        shares.T.values,
        labels=shares.columns,
        alpha=0.8,
        colors=["0.75", "#f4a582", RIGHT, WRONG],
    )
    axes[0].axvline(
        study.best_step[main], color="k", ls=":", label="best validation loss"
    )
    axes[0].set_xlabel("DPO step")
    axes[0].set_ylabel("share of train pairs")
    axes[0].set_title(f"Four-way flip table (seed {main[0]}, beta {main[1]})")
    axes[0].legend(fontsize=7, loc="lower left")
    for b in betas:
        pooled = [flipped_wrong(d, study.best_cp[s, b]) for s, d in data.items()]
        c_wrong, flipped = (np.concatenate(part) for part in zip(*pooled))
        flip_curve(axes[1], c_wrong, flipped, color=colour[b], label=f"beta {b}")
    axes[1].set_xlabel("c of the wrongly ranked pair (nats)")
    axes[1].set_ylabel("share flipped at the best checkpoint")
    axes[1].set_title("Flipped pairs by c (all seeds)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def loss_vs_c(
    study: DPOStudy, d: SeedData, seed: int, betas: Sequence[float]
) -> Figure:
    """Fig. 3: at the best checkpoint of each beta on seed ``seed`` (whose pairs are ``d``),
    TRL's DPO loss of each train pair against its c, coloured by whether the book's forward
    pass ranks it correctly, with Thm 4.1's bound -log sigmoid(beta c)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(betas), figsize=(10, 3.8), squeeze=False)
    for ax, b in zip(axes[0], betas):
        cp, c_s = study.best_cp[seed, b], d.c
        loss = rk.dpo_loss(*cp.trl.T, b)
        ok = rk.ranking_correct(cp.train.w, cp.train.l)
        ax.scatter(
            c_s[ok], loss[ok], s=4, alpha=0.5, color=RIGHT, label="ranked correctly"
        )
        ax.scatter(
            c_s[~ok], loss[~ok], s=4, alpha=0.5, color=WRONG, label="ranked wrongly"
        )
        grid = np.linspace(c_s.min(), c_s.max(), 200)
        ax.plot(
            grid, rk.loss_threshold(grid, b), "k", lw=1, label="-log sigmoid(beta c)"
        )
        ax.set_yscale("log")
        ax.set_ylim(
            loss.min() / 10, max(loss.max(), np.log(2)) * 3
        )  # the curve runs on below the losses reached
        ax.set_xlabel("c (nats)")
        ax.set_title(f"beta = {b}, seed {seed}, step {study.best_step[seed, b]}")
    axes[0][0].set_ylabel("TRL's DPO loss of the pair (log scale)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def rank_vs_win(
    tables: dict[Key, pd.DataFrame], seeds: Sequence[int], betas: Sequence[float]
) -> Figure:
    """Sec. 5: ranking accuracy against win rate, one point per checkpoint, one line per run
    (colour: beta, marker: seed)."""
    import matplotlib.pyplot as plt

    colour = beta_colours(betas)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    markers = "osD^v<>"
    for (s, b), tab in tables.items():
        ax.plot(
            tab["R"],
            tab["win rate"],
            "-",
            marker=markers[list(seeds).index(s) % len(markers)],
            ms=4,
            lw=1,
            color=colour[b],
            label=f"beta {b}, seed {s}",
        )
    ax.set_xlabel("ranking accuracy R (share of train pairs)")
    ax.set_ylabel("win rate against the reference (share)")
    ax.set_title("Ranking accuracy vs win rate, one point per checkpoint")
    ax.legend(fontsize=7, ncol=2)
    return fig
