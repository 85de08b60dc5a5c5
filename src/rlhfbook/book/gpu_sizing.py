"""How long a chapter's GPU profiles take, by arithmetic: the work each computes and what a card does.

No chapter's ``gpu`` or ``gpu-full`` profile has run on a GPU yet, so their sizes rest on this
estimate (shown on ``book/running.md`` and beside each chapter's budget) until a measurement
replaces it. Each chapter counts its work from its settings (its spec's ``gpu_work``, in the
:class:`~rlhfbook.lm.gpu_cost.Work` of :mod:`rlhfbook.lm.gpu_cost`: FLOPs, the host's kernel
launches, weights read per decoding step, host seconds), and a :class:`Card`'s time is
``flops / (peak x efficiency) + launches x launch + weight_bytes / bandwidth + host_s``
(:func:`seconds`). Peaks and bandwidths are the datasheets'; the efficiency and the launch time
per layer are assumptions (about ±50%), chosen so that a decoding step of a 0.5B model costs
20-30 ms, as public measurements of HF ``generate`` at batch 1 show (50-70 tokens per second for
Qwen2.5 models on one GPU), and are replaced by ``python -m rlhfbook.book.gpu_check``'s timed PPO
iteration when a GPU run exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rlhfbook.book import profiles
from rlhfbook.chapters import SPECS
from rlhfbook.lm.gpu_cost import Work
from rlhfbook.report import tables


@dataclass(frozen=True)
class Card:
    """A GPU as this estimate sees it (datasheet peaks, assumed efficiency and launch time)."""

    name: str
    memory_gb: float
    peak_tflops: float  # dense fp16/bf16 tensor-core peak (datasheet)
    efficiency: float  # share of the peak that eager PyTorch reaches on the book's micro-batches (assumed)
    bandwidth_gbs: float  # memory bandwidth (datasheet)
    launch_ms: float  # host time to launch one transformer layer's kernels (assumed; Colab's host is slow)


CARDS: dict[str, Card] = {
    "T4": Card("a Colab T4", 15.8, 65, 0.12, 320, 1.0),
    "A100": Card("an A100 80 GB", 80, 312, 0.25, 2039, 0.6),
    "H100": Card("an H100 80 GB", 80, 989, 0.2, 3350, 0.5),
}
# The card each GPU profile is sized for (its budget's card), and the cards its estimate is shown on.
PROFILE_CARDS: dict[str, tuple[str, ...]] = {
    "gpu": ("T4", "H100"),
    "gpu-full": ("A100", "H100"),
}


def seconds(work: Work, card: Card) -> float:
    """The work's wall time on ``card``: FLOPs at the effective throughput, plus the host's launches,
    plus the weights read per decoding step, plus the host's own work."""
    return (
        work.flops / (card.peak_tflops * 1e12 * card.efficiency)
        + work.launches * card.launch_ms / 1e3
        + work.weight_bytes / (card.bandwidth_gbs * 1e9)
        + work.host_s
    )


def sized() -> list[str]:
    """The chapters whose GPU profiles are sized: those whose spec counts their work (``gpu_work``)."""
    return [spec.chapter for spec in SPECS if spec.gpu_work is not None]


def work(chapter: str, P: Mapping[str, Any]) -> dict[str, Work]:
    """Part -> :class:`~rlhfbook.lm.gpu_cost.Work` of ``chapter`` (one of :func:`sized`) at settings ``P``."""
    return profiles.spec(chapter).gpu_work(P)


def minutes(chapter: str, P: Mapping[str, Any], card: str) -> float:
    """The estimated wall time (minutes) of ``chapter`` at settings ``P`` on ``card`` (a key of
    :data:`CARDS`)."""
    total = sum(work(chapter, P).values(), Work())
    return seconds(total, CARDS[card]) / 60


def estimate(chapter: str, profile: str) -> str:
    """The estimate of ``chapter``'s GPU ``profile`` as the runtime tables show it: minutes on each
    card of :data:`PROFILE_CARDS` (or the chapter's ``gpu_note``)."""
    if chapter not in sized():
        return profiles.spec(chapter).gpu_note
    P = profiles.resolve(chapter, profile)
    cards = [
        f"{minutes(chapter, P, c):.0f} min on {CARDS[c].name}"
        for c in PROFILE_CARDS[profile]
    ]
    return "about " + ", ".join(cards) + " (±50%)"


ARITHMETIC_HEADER = (
    "chapter",
    "profile",
    "seeds",
    "part",
    "tokens generated",
    "tokens scored",
    "tokens trained",
    "FLOP",
    "host (min)",
    *(f"min on {CARDS[c].name}" for c in CARDS),
)


def arithmetic_rows() -> list[list[str]]:
    """Per sized chapter, GPU profile and part: the seeds, the work (:class:`Work`) and its minutes on
    every card, then the chapter's total beside its budget: the table of ``book/running.md``."""
    rows = []
    for chapter in sized():
        for profile in PROFILE_CARDS:
            P = profiles.resolve(chapter, profile)
            seeds = next((P[k] for k in ("n_seeds", "llm_seeds") if k in P), 1)
            parts = work(chapter, P)
            total = sum(parts.values(), Work())
            budget = profiles.budget_minutes(chapter)[profile]
            for part, w in [*parts.items(), (f"total (budget {budget:g} min)", total)]:
                rows.append(
                    [
                        chapter[:2],
                        profile,
                        str(seeds),
                        part,
                        *(
                            f"{x:.2g}"
                            for x in (w.generated, w.forward, w.trained, w.flops)
                        ),
                        f"{w.host_s / 60:.1f}",
                        *(f"{seconds(w, card) / 60:.1f}" for card in CARDS.values()),
                    ]
                )
    return rows


def card_rows() -> list[list[str]]:
    """The cards' datasheet peaks and bandwidths and this estimate's assumptions, one row each."""
    return [
        [
            card.name,
            f"{card.memory_gb:g}",
            f"{card.peak_tflops:g}",
            f"{card.efficiency:.0%}",
            f"{card.bandwidth_gbs:g}",
            f"{card.launch_ms:g}",
        ]
        for card in CARDS.values()
    ]


CARD_HEADER = (
    "card",
    "memory (GB)",
    "16-bit peak (TFLOPS)",
    "share of the peak reached (assumed)",
    "bandwidth (GB/s)",
    "host launch per layer (ms, assumed)",
)
ARITHMETIC_CELL = "<!-- gpu sizing -->"  # where book/running.md shows the tables


def fill_running(text: str) -> str:
    """``book/running.md`` with :data:`ARITHMETIC_CELL` replaced by the cards' table and the
    arithmetic of every sized chapter's GPU profiles."""
    return text.replace(
        ARITHMETIC_CELL,
        tables.table(CARD_HEADER, card_rows())
        + "\n\n"
        + tables.table(ARITHMETIC_HEADER, arithmetic_rows()),
    )
