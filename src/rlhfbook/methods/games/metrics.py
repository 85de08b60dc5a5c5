"""AdvGameBench's process metrics (``advgamebench/*/evaluator.py::compute_metrics``).

For one tested player in one (role, move-order tag) match log:

1. drop round 1 (the initial builds) and keep the rounds that evaluate a build the tested
   player has just revised: even rounds when it moves first, odd rounds when second;
2. on the kept sequence of n rounds with wins :math:`w_k` (after budget adjudication; a
   tie counts as a loss) and own build costs :math:`c_k`, k = 0..n-1:

   * WR  = mean of :math:`w_k`;
   * OBR = mean of :math:`1[c_k > B]` (over-budget ratio);
   * a *correction* at k >= 1 is a cost change, :math:`c_k \\ne c_{k-1}`;
     ORR = #corrections / (n - 1) (the code's ``correction_rate``, the paper's
     over-correction risk rate);
   * CSR = #{corrections followed by a win at the same k} / #corrections;
   * slope = OLS slope of :math:`w_k` on k.

Edge cases take the benchmark's values: no kept round -> all zeros; one kept round ->
ORR = slope = 0; no correction -> CSR = 0. The paper's prose defines CSR differently ("how
often a revision leads to improved results, either by eliminating a rule violation or by
turning a loss into a win"); :func:`csr_paper` implements that reading as a named variant.

Used by chapter 5.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from rlhfbook.methods.games.base import SIDES

METRICS = ("WR", "OBR", "ORR", "CSR", "slope")


def kept_rounds(log: pd.DataFrame, tag: str) -> pd.DataFrame:
    """Rounds that evaluate the tested player's fresh revisions (step 1 above)."""
    if tag not in ("first", "second"):
        raise ValueError(f"unknown tag {tag!r}; valid tags: 'first', 'second'")
    parity = 0 if tag == "first" else 1
    kept = log[(log["round"] != 1) & (log["round"] % 2 == parity)]
    return kept.reset_index(drop=True)


def ols_slope(y: Sequence[float]) -> float:
    """Least-squares slope of ``y`` on 0..n-1 (0 for fewer than two points)."""
    y = np.asarray(y, dtype=float)
    if len(y) < 2:
        return 0.0
    k = np.arange(len(y), dtype=float)
    k -= k.mean()
    return float(k @ (y - y.mean()) / (k @ k))


def process_metrics(
    wins: Sequence[int], costs: Sequence[float], budget: float
) -> dict[str, float]:
    """WR, OBR, ORR, CSR and improvement slope of one kept sequence (the benchmark's code)."""
    w, c = np.asarray(wins, dtype=float), np.asarray(costs, dtype=float)
    if w.shape != c.shape or w.ndim != 1:
        raise ValueError(
            f"wins and costs must be 1-d and of equal length, got {w.shape} and {c.shape}"
        )
    if not np.isin(w, (0, 1)).all():
        raise ValueError("wins must be 0 or 1")
    n = len(w)
    if n == 0:
        return dict.fromkeys(METRICS, 0.0)
    corrected = np.diff(c) != 0
    n_corr = int(corrected.sum())
    return {
        "WR": float(w.mean()),
        "OBR": float((c > budget).mean()),
        "ORR": n_corr / (n - 1) if n > 1 else 0.0,
        "CSR": float(w[1:][corrected].sum() / n_corr) if n_corr else 0.0,
        "slope": ols_slope(w),
    }


def csr_paper(
    wins: Sequence[int],
    costs: Sequence[float],
    budget: float,
    violations: Sequence[int] | None = None,
) -> float:
    """The paper's prose CSR: share of corrections that remove a rule violation or turn a loss into a win.

    A correction at k (cost change) succeeds if the previous build broke a rule (over budget,
    or ``violations[k-1] > 0``) and this one does not, or if ``w[k-1] = 0`` and ``w[k] = 1``.
    """
    w, c = np.asarray(wins, dtype=float), np.asarray(costs, dtype=float)
    v = np.zeros(len(c)) if violations is None else np.asarray(violations, dtype=float)
    if not (len(w) == len(c) == len(v)):
        raise ValueError("wins, costs and violations must have equal length")
    if len(w) < 2:
        return 0.0
    broke = (c > budget) | (v > 0)
    corrected = np.diff(c) != 0
    fixed = broke[:-1] & ~broke[1:]
    turned = (w[:-1] == 0) & (w[1:] == 1)
    return (
        float((corrected & (fixed | turned)).sum() / corrected.sum())
        if corrected.any()
        else 0.0
    )


def match_metrics(
    log: pd.DataFrame, side: str, tag: str, budget: float
) -> dict[str, float]:
    """All metrics of the tested ``side`` in one match log (columns from :mod:`.protocol`)."""
    kept = kept_rounds(log, tag)
    wins = (kept["winner"] == side).astype(int).to_numpy()
    costs = kept[f"{side}_cost"].to_numpy()
    out = process_metrics(wins, costs, budget)
    out["CSR_paper"] = csr_paper(
        wins, costs, budget, kept[f"{side}_violations"].to_numpy()
    )
    out["violations"] = float(kept[f"{side}_violations"].sum())
    return out


def kept_table(logs: pd.DataFrame, budgets: dict[str, dict[str, int]]) -> pd.DataFrame:
    """Every kept round of every match, one row each, from the tested player's point of view.

    ``logs`` are league logs (:func:`.protocol.run_league`: matches one after the other, rounds
    in order). Columns: the match metadata (seed when present, match, game, player, opponent,
    role, tag), ``k`` (the position among the match's kept rounds, 0 = the first revision),
    ``win``, ``cost``, ``budget``, ``over`` (own build over budget), ``opponent_over``,
    ``violations`` (rule violations of the answer behind the build), ``after_win`` (the result
    the player saw before revising) and ``revised`` (its build differs from the one it had:
    any change, cost-neutral ones included).
    """
    meta = [
        c
        for c in ("seed", "match", "game", "player", "opponent", "role", "tag")
        if c in logs
    ]
    if not logs["tag"].isin(("first", "second")).all():
        raise ValueError("unknown tag in the logs; valid tags: 'first', 'second'")
    defender = (logs["role"] == "defender").to_numpy()
    previous = logs.shift(
        1
    )  # the round before, within the same match for every round > 1
    kept = (
        (logs["round"] != 1)
        & (logs["round"] % 2 == (logs["tag"] == "second").astype(int))
    ).to_numpy()

    def own(frame: pd.DataFrame, column: str, mine: bool = True) -> np.ndarray:
        d, i = (
            frame[f"defender_{column}"].to_numpy(),
            frame[f"invader_{column}"].to_numpy(),
        )
        return np.where(defender == mine, d, i)

    budget = {
        side: logs["game"].map({g: b[side] for g, b in budgets.items()}).to_numpy()
        for side in SIDES
    }
    own_budget, opp_budget = (
        np.where(defender, budget["defender"], budget["invader"]),
        np.where(defender, budget["invader"], budget["defender"]),
    )
    out = logs[meta].copy()
    out["win"] = (logs["winner"].to_numpy() == logs["role"].to_numpy()).astype(int)
    out["cost"] = own(logs, "cost")
    out["budget"] = own_budget
    out["over"] = out["cost"] > own_budget
    out["opponent_over"] = own(logs, "cost", mine=False) > opp_budget
    out["violations"] = own(logs, "violations")
    out["after_win"] = previous["winner"].to_numpy() == logs["role"].to_numpy()
    out["revised"] = own(logs, "build") != own(previous, "build")
    out = out[kept].reset_index(drop=True)
    out.insert(len(meta), "k", out.groupby(meta, sort=False).cumcount())
    return out


def partial_correlation(
    x: Sequence[float], y: Sequence[float], given: Sequence[float]
) -> float:
    """Pearson correlation of ``x`` and ``y`` after removing the linear effect of ``given`` from both.

    The correlation of the least-squares residuals of x on ``given`` and of y on ``given``;
    it equals (r_xy - r_xz r_yz) / sqrt((1 - r_xz^2)(1 - r_yz^2)).
    """
    x, y, z = (np.asarray(v, dtype=float) for v in (x, y, given))
    if not (len(x) == len(y) == len(z)) or len(x) < 4:
        raise ValueError(
            f"need at least 4 points of equal length, got {len(x)}, {len(y)}, {len(z)}"
        )
    design = np.column_stack([np.ones_like(z), z])
    rx = x - design @ np.linalg.lstsq(design, x, rcond=None)[0]
    ry = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    return float(stats.pearsonr(rx, ry).statistic)


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (std with ddof 1 over sqrt(n)) of per-seed values."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        raise ValueError(f"need at least two values, got {len(v)}")
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v)))


def revision_trace(log: pd.DataFrame, side: str, tag: str) -> pd.DataFrame:
    """One match from the tested ``side``'s point of view: which rounds count and why.

    Columns: round, reviser, own and opponent cost, winner, kept (the round evaluates a
    fresh revision of ``side``), correction (kept and the cost changed since the previous
    kept round), own build (JSON).
    """
    kept = set(kept_rounds(log, tag)["round"])
    opp = "invader" if side == "defender" else "defender"
    trace = pd.DataFrame(
        {
            "round": log["round"],
            "reviser": log["reviser"],
            "own cost": log[f"{side}_cost"],
            "opponent cost": log[f"{opp}_cost"],
            "winner": log["winner"],
            "kept": log["round"].isin(kept),
        }
    )
    kept_costs = trace.loc[trace["kept"], "own cost"]
    trace["correction"] = False
    trace.loc[kept_costs.index[1:], "correction"] = (
        kept_costs.diff().iloc[1:].ne(0).to_numpy()
    )
    trace["own build"] = log[f"{side}_build"]
    return trace.set_index("round")


def csv_metrics(
    logs: pd.DataFrame, budgets: dict[str, dict[str, int]], per_match: bool = False
) -> pd.DataFrame:
    """One row of metrics per benchmark CSV: (seed, game, player, role, tag), matches in play order.

    The benchmark appends a player's matches against all fixed opponents to one CSV and
    computes the metrics on the concatenation, so the first kept round of a match is
    compared with the last kept round of the previous one (a cost change there counts as
    a correction) and the slope runs across matches. ``per_match=True`` gives one row per
    match instead. ``budgets`` maps game name -> side -> budget. Each kept sequence goes
    through :func:`process_metrics` and :func:`csr_paper`.
    """
    keys = (
        ["seed"] * ("seed" in logs)
        + ["game", "player", "role", "tag"]
        + (["opponent"] if per_match else [])
    )
    groups = (
        logs[keys].drop_duplicates().reset_index(drop=True)
    )  # every CSV, kept rounds or not
    kept = kept_table(logs, budgets).merge(
        groups.reset_index(names="group"), on=keys, how="left"
    )
    order = np.argsort(
        kept["group"].to_numpy(), kind="stable"
    )  # rounds stay in play order
    index = np.split(
        order,
        np.searchsorted(kept["group"].to_numpy()[order], np.arange(1, len(groups))),
    )
    wins, costs, viol = (kept[c].to_numpy() for c in ("win", "cost", "violations"))
    rows = []
    for meta, idx in zip(groups.to_dict(orient="records"), index):
        budget = budgets[meta["game"]][meta["role"]]
        m = process_metrics(wins[idx], costs[idx], budget)
        m["CSR_paper"] = csr_paper(wins[idx], costs[idx], budget, viol[idx])
        m["violations"] = float(viol[idx].sum())
        rows.append({**meta, **m})
    return pd.DataFrame(rows)


def player_table(per_csv: pd.DataFrame) -> pd.DataFrame:
    """Per-player metrics: mean over its CSVs within each game, then mean over games (the paper).

    With a ``seed`` column (several leagues), one row per (seed, player).
    """
    cols = [c for c in per_csv.columns if c in (*METRICS, "CSR_paper", "violations")]
    keys = ["seed"] * ("seed" in per_csv) + ["player"]
    return (
        per_csv.groupby([*keys, "game"], sort=False)[cols]
        .mean()
        .groupby(keys, sort=False)
        .mean()
    )


def composite(table: pd.DataFrame, leave_out: str | None = None) -> pd.Series:
    """The book's composite score (not the paper's, which is unpublished).

    S = mean(WR, CSR, 1 - OBR, 1 - ORR, clip(0.5 + 5 slope, 0, 1)); ``leave_out`` drops one term.
    """
    terms = pd.DataFrame(
        {
            "WR": table["WR"],
            "CSR": table["CSR"],
            "OBR": 1 - table["OBR"],
            "ORR": 1 - table["ORR"],
            "slope": (0.5 + 5 * table["slope"]).clip(0, 1),
        }
    )
    if leave_out is not None:
        if leave_out not in terms:
            raise ValueError(f"unknown metric {leave_out!r}; valid: {', '.join(terms)}")
        terms = terms.drop(columns=leave_out)
    return terms.mean(axis=1)


def rank_stability(table: pd.DataFrame) -> pd.DataFrame:
    """Spearman rho and largest rank shift of the composite ranking when each metric is left out."""
    full = composite(table).rank(ascending=False)
    rows = []
    for metric in METRICS:
        ranks = composite(table, leave_out=metric).rank(ascending=False)
        rows.append(
            {
                "left out": metric,
                "spearman_rho": float(stats.spearmanr(full, ranks).statistic),
                "max_rank_shift": float((full - ranks).abs().max()),
                "top_player": ranks.idxmin(),
            }
        )
    return pd.DataFrame(rows).set_index("left out")
