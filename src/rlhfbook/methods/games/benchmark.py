"""AdvGameBench's evaluator, ported from its definitions as a test oracle for :mod:`.metrics`.

The benchmark scores a model from CSV files in its own schema: one row per simulated round with
``round``, ``defender_cost``, ``invader_cost``, ``winner`` ("Defenders" / "Invaders") and the
names of the two models in ``defender_LLM`` / ``invader_LLM``; ``evaluator.py::compute_metrics``
walks that table row by row. :func:`compute_metrics` does the same from the definitions, in the
benchmark's schema and under its metric names, independently of :mod:`.metrics` (which works on
the book's tidy logs): a win is a row whose winner label is the model's side *and* whose
model column names it, the slope is a least-squares fit with an intercept (the benchmark uses
scikit-learn's ``LinearRegression``), and the edge cases return the benchmark's zeros.
:func:`parity` compares the two on random logs.

Used by chapter 5.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rlhfbook.methods.games.metrics import csv_metrics

WINNER_LABELS = {"defender": "Defenders", "invader": "Invaders", "none": "None"}
NAMES = {
    "WR": "win_rate",
    "ORR": "correction_rate",
    "CSR": "correction_success_rate",
    "slope": "improvement_slope",
    "OBR": "over_budget_ratio",
}


def to_benchmark_csv(log: pd.DataFrame) -> pd.DataFrame:
    """A match log of :mod:`.protocol` in the benchmark's CSV schema."""
    return pd.DataFrame(
        {
            "round": log["round"],
            "defender_cost": log["defender_cost"],
            "invader_cost": log["invader_cost"],
            "winner": log["winner"].map(WINNER_LABELS),
            "defender_LLM": log["defender_player"],
            "invader_LLM": log["invader_player"],
        }
    )


def compute_metrics(
    csv: pd.DataFrame, model: str, role: str, tag: str, budget: float
) -> dict[str, float]:
    """The five metrics of ``model`` playing ``role`` with move order ``tag``, from a benchmark CSV."""
    parity_ = {"first": 0, "second": 1}[tag]
    label = WINNER_LABELS[role]
    wins, costs = [], []
    for row in csv.to_dict(orient="records"):
        if row["round"] == 1 or row["round"] % 2 != parity_:
            continue
        wins.append(1 if row[f"{role}_LLM"] == model and row["winner"] == label else 0)
        costs.append(row[f"{role}_cost"])
    n = len(wins)
    if n == 0:
        return dict.fromkeys(NAMES.values(), 0.0)
    changes = [i for i in range(1, n) if costs[i] != costs[i - 1]]
    slope = 0.0
    if n > 1:
        design = np.column_stack([np.ones(n), np.arange(n)])
        slope = float(
            np.linalg.lstsq(design, np.asarray(wins, dtype=float), rcond=None)[0][1]
        )
    return {
        "win_rate": sum(wins) / n,
        "correction_rate": len(changes) / (n - 1) if n > 1 else 0.0,
        "correction_success_rate": sum(wins[i] for i in changes) / len(changes)
        if changes
        else 0.0,
        "improvement_slope": slope,
        "over_budget_ratio": sum(c > budget for c in costs) / n,
    }


def random_log(rng: np.random.Generator, budget: int = 20) -> pd.DataFrame:
    """A random log of one to three appended matches (as in a benchmark CSV), costs around ``budget``."""
    n = int(rng.integers(1, 34))
    costs = {
        side: rng.integers(budget - 3, budget + 3, n)
        for side in ("defender", "invader")
    }
    return pd.DataFrame(
        {
            "round": np.tile(np.arange(1, 12), 3)[:n],
            "defender_cost": costs["defender"],
            "invader_cost": costs["invader"],
            "winner": rng.choice(["defender", "invader", "none"], n),
            "defender_violations": rng.integers(0, 2, n),
            "invader_violations": rng.integers(0, 2, n),
            "defender_build": costs["defender"].astype(str),
            "invader_build": costs["invader"].astype(str),
            "defender_player": "a",
            "invader_player": "b",
        }
    )


def parity(n_logs: int, seed: int = 0, budget: int = 20) -> float:
    """Largest absolute difference between :func:`.metrics.csv_metrics` and :func:`compute_metrics`.

    Over ``n_logs`` random logs (each one benchmark CSV), both roles, both move orders and all
    five metrics; the book's side computes all of them in one call, as a league is scored.
    """
    rng = np.random.default_rng(seed)
    logs = [random_log(rng, budget) for _ in range(n_logs)]
    pooled = pd.concat(
        [
            log.assign(seed=i, match=(log["round"] == 1).cumsum())
            for i, log in enumerate(logs)
        ],
        ignore_index=True,
    )
    settings = [
        (side, model, tag)
        for side, model in (("defender", "a"), ("invader", "b"))
        for tag in ("first", "second")
    ]
    tagged = pd.concat(
        [
            pooled.assign(game="game", player=model, role=side, tag=tag)
            for side, model, tag in settings
        ],
        ignore_index=True,
    )
    ours = {
        (r["seed"], r["role"], r["tag"]): r
        for r in csv_metrics(
            tagged, {"game": {"defender": budget, "invader": budget}}
        ).to_dict(orient="records")
    }
    worst = 0.0
    for i, log in enumerate(logs):
        csv = to_benchmark_csv(log)
        for side, model, tag in settings:
            theirs, mine = (
                compute_metrics(csv, model, side, tag, budget),
                ours[(i, side, tag)],
            )
            worst = max(
                worst, *(abs(mine[k] - theirs[name]) for k, name in NAMES.items())
            )
    return worst
