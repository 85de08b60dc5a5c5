"""The diagram at the start of each chapter: what the chapter runs, from data to evaluation.

Drawn by matplotlib when the chapter runs, so it needs no network and no drawing tool, and it
shows the stages the chapter actually executes.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

STAGE_COLOURS = {
    "data": "#dbe9f6",
    "model": "#fde8cf",
    "train": "#f8d5d5",
    "evaluate": "#d9f0d3",
}


def pipeline(stages: Sequence[tuple[str, str, str]], width: float = 10.0) -> Figure:
    """Boxes left to right joined by arrows, one per stage ``(kind, title, detail)``; ``kind`` is one of
    :data:`STAGE_COLOURS` (data, model, train, evaluate) and colours the box."""
    unknown = {k for k, _, _ in stages} - set(STAGE_COLOURS)
    if unknown:
        raise ValueError(
            f"stage kinds must be among {sorted(STAGE_COLOURS)}, not {sorted(unknown)}"
        )
    n = len(stages)
    gap, box_w = 0.35, (width - 0.35 * (n - 1)) / n
    titles = [
        textwrap.fill(title, max(8, int(box_w * 10))) for _, title, _ in stages
    ]  # 10.5-pt bold
    details = [
        textwrap.fill(detail, max(10, int(box_w * 10.5))) for _, _, detail in stages
    ]  # 9-pt
    t_lines = max(t.count("\n") + 1 for t in titles)
    d_lines = max(d.count("\n") + 1 for d in details)
    height = 0.35 + 0.2 * t_lines + 0.17 * d_lines
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set(xlim=(-0.02, width + 0.02), ylim=(0, height))
    ax.axis("off")
    for i, (kind, title, detail) in enumerate(
        zip((k for k, _, _ in stages), titles, details)
    ):
        x = i * (box_w + gap)
        box = FancyBboxPatch(
            (x + 0.03, 0.04),
            box_w - 0.06,
            height - 0.08,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=STAGE_COLOURS[kind],
            edgecolor="0.35",
            linewidth=1,
        )
        ax.add_patch(box)
        ax.text(
            x + box_w / 2,
            height - 0.14,
            title,
            ha="center",
            va="top",
            fontsize=10.5,
            weight="bold",
        )
        ax.text(
            x + box_w / 2,
            height - 0.2 - 0.2 * t_lines,
            detail,
            ha="center",
            va="top",
            fontsize=9,
        )
        if i < n - 1:
            arrow = FancyArrowPatch(
                (x + box_w - 0.01, height / 2),
                (x + box_w + gap + 0.01, height / 2),
                arrowstyle="-|>",
                mutation_scale=14,
                color="0.25",
            )
            ax.add_patch(arrow)
    fig.subplots_adjust(0, 0, 1, 1)
    return fig
