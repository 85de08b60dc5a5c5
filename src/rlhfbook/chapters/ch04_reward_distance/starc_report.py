"""Chapter 4's experiments, tables and figures: STARC against EPIC and DARD on random MDPs, and the
reward-model family on the toy world.

The methods live in :mod:`rlhfbook.methods.reward_distance` (canonicalisations, norms, the paper's
interpolation protocol) and :mod:`rlhfbook.methods.reward_model_family` (the bridge's reward models and their
metrics). This module runs them over the chapter's seeds and turns the results into what chapter 4
(``notebooks/04_reward_distance.py``) shows: the correlation of every pseudometric with regret (the
analogue of Skalse et al. 2024, Fig. 1), VAL's lead over EPIC and DARD, on ordinary and on nearly trivial
rewards, and its control, the rounding level of the canonicalisations, the paper code's Monte-Carlo regret
beside the exact one, the property report, the family's metrics ranked against best-of-N regret, and the
check arguments of the findings.

Conventions: a *correlation table* maps each seed to ``{(canonicalisation, normalisation, metric):
Pearson r}``, in seed order; a *cell* names a normalisation that is also the metric (``"L2"`` stands
for ``("L2", "L2")``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from scipy.stats import spearmanr

from rlhfbook.methods import bradley_terry as bt
from rlhfbook.methods import reward_distance as rd
from rlhfbook.methods import reward_eval as ev
from rlhfbook.methods import reward_model_family as rmf
from rlhfbook.report import verdicts
from rlhfbook.tasks.toyworld.preference import PreferenceTask

CHECKED: tuple[str, ...] = (
    "L2",
    "wL2",
)  # the cells every seed computes: unweighted and tau-weighted L2
CELLS: tuple[tuple[str, str], ...] = tuple(
    (n, n) for n in CHECKED
)  # as (normalisation, metric)
CANON_COLOURS: dict[str, str] = dict(
    none="tab:gray",
    EPIC="tab:orange",
    DARD="tab:green",
    VAL="tab:blue",
    minimal="tab:purple",
)
KIND_COLOURS: dict[str, str] = {
    "fitted": "black",
    "noisy": "tab:red",
    "length-biased": "tab:brown",
    "word-biased": "tab:pink",
    "offset": "tab:olive",
}
BETTER_HIGH: tuple[str, ...] = (
    "accuracy (gold)",
    "accuracy (raters)",
    "R2 (affine)",
)  # metrics where larger is better

CorrelationTable = Mapping[int, Mapping[tuple[str, str, str], float]]


# --------------------------------------------------------------------------- the findings' seed rule


def mean_sd(x: Sequence[float]) -> str:
    """``"mean ± sd"`` over seeds (sd with ddof 1; 0 for a single seed), three decimals."""
    return f"{np.mean(x):.3f} ± {np.std(x, ddof=1) if len(x) > 1 else 0:.3f}"


def finding(
    seeds: Sequence[int],
    values: Sequence[float],
    threshold: float,
    rule: str,
    direction: str = ">=",
) -> tuple[dict[str, Any], int]:
    """The arguments of a ``results.check(kind="finding", ...)`` with one decisive number per seed
    (``per_seed``, ``threshold``, ``direction``, ``rule``), and how many seeds clear the threshold."""
    values = np.asarray(values, float)
    clear = values >= threshold if direction == ">=" else values <= threshold
    return dict(
        per_seed=dict(zip(seeds, values.tolist())),
        threshold=threshold,
        direction=direction,
        rule=rule,
    ), int(clear.sum())


# --------------------------------------------------------------------------- section 1: equivalent copies


def equivalent_copies(
    mdp: rd.TabularMDP, r: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Copies of ``r`` that order every policy as ``r`` does (potential-shaped, S'-redistributed by noise
    of 3 reward sd, scaled by 3.7, all three) and its negation: the paper's three invariances (Sec. 2)."""
    return {
        "potential-shaped": rd.potential_shaping(mdp, r, rd.random_potential(mdp, rng)),
        "S'-redistributed": rd.s_prime_redistribution(
            mdp, r, 3 * r.std() * rng.standard_normal(r.shape)
        ),
        "scaled by 3.7": 3.7 * r,
        "all three": 3.7
        * rd.s_prime_redistribution(
            mdp,
            rd.potential_shaping(mdp, r, rd.random_potential(mdp, rng)),
            3 * r.std() * rng.standard_normal(r.shape),
        ),
        "negated": -r,
    }


def copy_table(
    mdp: rd.TabularMDP, r: np.ndarray, copies: Mapping[str, np.ndarray]
) -> pd.DataFrame:
    """Per copy of ``r``: its raw L2 distance relative to ``|r|``, its symmetric normalised regret, and its
    EPIC, DARD, VAL and minimal distance (L2 / L2) to ``r``."""
    demo = pd.DataFrame(
        {
            name: {
                "raw L2 / |R|": np.linalg.norm(other - r) / np.linalg.norm(r),
                "regret": float(rd.symmetric_regret(mdp, r, other)),
                **{
                    f"{c} distance": float(rd.starc_distance(mdp, r, other, c))
                    for c in ("EPIC", "DARD", "VAL", "minimal")
                },
            }
            for name, other in copies.items()
        }
    ).T
    demo.index.name = "copy of R"
    return demo


# --------------------------------------------------------------------------- section 4: the interpolation experiment


def interpolation_runs(
    seeds: Iterable[int],
    n_envs: int,
    n_pairs: int,
    n_steps: int,
    stream: int | None = None,
    **kwargs: Any,
) -> dict[int, dict[str, Any]]:
    """:func:`rlhfbook.methods.reward_distance.interpolation_experiment` once per seed, each from its own generator
    (``default_rng(seed)``, or ``default_rng([seed, stream])`` for an independent stream such as the
    control's). Returns ``{seed: {"regret", "grid", "mdps", "signal"}}``; ``kwargs`` go to the experiment."""
    runs = {}
    for s in seeds:
        rng = np.random.default_rng(s if stream is None else [s, stream])
        regret, grid, mdps, signal = rd.interpolation_experiment(
            rng, n_envs, n_pairs, n_steps, progress=False, **kwargs
        )
        runs[s] = dict(regret=regret, grid=grid, mdps=mdps, signal=signal)
    return runs


def correlations(
    runs: Mapping[int, Mapping[str, Any]],
) -> dict[int, dict[tuple[str, str, str], float]]:
    """The paper's score of a pseudometric (Fig. 1): the Pearson correlation of its distance with regret
    over all points of a seed, for every pseudometric of every run."""
    return {
        s: {k: rd.pearson(v, run["regret"]) for k, v in run["grid"].items()}
        for s, run in runs.items()
    }


def per_seed(table: CorrelationTable, canonical: str, cell: str) -> np.ndarray:
    """Correlation with regret of one pseudometric (normalisation = metric = ``cell``), per seed."""
    return np.array([t[canonical, cell, cell] for t in table.values()])


def correlation_table(
    table: CorrelationTable,
    canonicalisations: Sequence[str],
    cells: Sequence[str] = CHECKED,
) -> pd.DataFrame:
    """Per canonicalisation, its correlation with regret in each cell: mean ± sd and minimum over seeds."""
    out = pd.DataFrame(
        {
            c: {
                **{f"{n}/{n} mean ± sd": mean_sd(per_seed(table, c, n)) for n in cells},
                **{f"{n}/{n} min": per_seed(table, c, n).min() for n in cells},
            }
            for c in canonicalisations
        }
    ).T
    out.index.name = "canonicalisation"
    return out


def correlation_metric(
    table: CorrelationTable,
    canonicalisations: Sequence[str],
    cells: Sequence[str] = CHECKED,
) -> dict[str, dict[str, float]]:
    """The correlations as a results metric: ``{"<canonicalisation> <cell>/<cell>": {seed: r}}``."""
    return {
        f"{c} {n}/{n}": dict(zip(map(str, table), per_seed(table, c, n)))
        for c in canonicalisations
        for n in cells
    }


def grid_summary(
    full_corr: pd.Series, canonicalisations: Sequence[str]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Best, median and worst pseudometric of each canonicalisation over the whole grid (``full_corr``
    indexed by ``(canonicalisation, normalisation, metric)``), its worst normalisation (lowest mean over
    metrics), and how many of the ten best pseudometrics each canonicalisation holds."""
    summary = (
        full_corr.groupby(level=0)
        .agg(["max", "median", "min"])
        .loc[list(canonicalisations)]
    )
    summary.columns = ["best", "median", "worst"]
    summary["worst normalisation"] = (
        full_corr.groupby(level=[0, 1])
        .mean()
        .unstack()
        .idxmin(axis=1)
        .loc[list(canonicalisations)]
    )
    summary.index.name = "canonicalisation"
    ranked = full_corr.sort_values(ascending=False)
    top10 = {
        c: int(n)
        for c, n in pd.Series([k[0] for k in ranked.index[:10]]).value_counts().items()
    }
    return summary, top10


def margins(
    table: CorrelationTable,
    competitors: Sequence[str] = ("EPIC", "DARD"),
    cells: Sequence[str] = CHECKED,
) -> dict[tuple[str, str], np.ndarray]:
    """VAL's correlation minus a competitor's, per seed, for each (competitor, cell)."""
    return {
        (c, n): per_seed(table, "VAL", n) - per_seed(table, c, n)
        for c in competitors
        for n in cells
    }


def margin_table(
    margin: Mapping[tuple[str, str], np.ndarray], threshold: float = 0.02
) -> pd.DataFrame:
    """Per (competitor, cell), VAL's lead: mean ± sd and minimum over seeds, seeds reaching ``threshold``."""
    rows = {
        f"VAL − {c}, {n}/{n}": {
            "mean ± sd": mean_sd(v),
            "min": v.min(),
            f"seeds ≥ {threshold} (of {len(v)})": int(np.sum(v >= threshold)),
        }
        for (c, n), v in margin.items()
    }
    out = pd.DataFrame(rows).T
    out.index.name = "margin in correlation with regret"
    return out


def transition_sparsity(mdps: Sequence[rd.TabularMDP]) -> dict[str, float]:
    """How sparse the random dynamics are: next states of probability > 0.001 per state-action pair (mean),
    the share of ``(s, a, s')`` entries of probability < 1e-6, and the probability they carry per pair."""
    tau = np.stack([m.transition for m in mdps])
    unlikely = tau < 1e-6
    return {
        "likely next states": float((tau > 1e-3).sum(-1).mean()),
        "states": tau.shape[-1],
        "unlikely share": float(unlikely.mean()),
        "unlikely mass": float(np.where(unlikely, tau, 0).sum(-1).mean()),
    }


def lead_quotes(
    main: Mapping[tuple[str, str], np.ndarray],
    control: Mapping[tuple[str, str], np.ndarray],
    band: float = 0.02,
) -> dict[str, float | str]:
    """What the chapter's prose quotes of VAL's mean lead over EPIC and DARD with the
    paper's rewards (``main``) and with next-state-independent ones (``control``), in
    the L2 and wL2 cells: ``lead_{EPIC,DARD}_{L2,wL2}`` and ``gone_…`` as plain floats
    for ``{glue:text}``; ``lead_weighting``, the sentence on how much of the unweighted
    lead the weighted one keeps (empty without an L2 lead of more than ``band``); and
    ``lead_reading``, what the control says of the lead."""
    lead = {
        (c, n): float(np.mean(main[c, n])) for c in ("EPIC", "DARD") for n in CHECKED
    }
    gone = {
        (c, n): float(np.mean(control[c, n])) for c in ("EPIC", "DARD") for n in CHECKED
    }
    vanishes = max(abs(v) for v in gone.values()) <= band
    l2_lead, w_lead = (
        min(lead["EPIC", "L2"], lead["DARD", "L2"]),
        min(lead["EPIC", "wL2"], lead["DARD", "wL2"]),
    )
    quotes: dict[str, float | str] = {
        f"{name}_{c}_{n}": values[c, n]
        for name, values in (("lead", lead), ("gone", gone))
        for c in ("EPIC", "DARD")
        for n in CHECKED
    }
    quotes["lead_weighting"] = (
        f"The weighted lead is {w_lead / max(lead['EPIC', 'L2'], lead['DARD', 'L2']):.0%} "
        f"to {max(lead['EPIC', 'wL2'], lead['DARD', 'wL2']) / l2_lead:.0%} of the "
        "unweighted one. Weighting each entry by τ(s, a, s′) discounts the differences on "
        "unlikely transitions before they are measured, whatever the canonicalisation, so "
        "it leaves less for VAL's averaging to remove."
        if l2_lead > band and w_lead > 0
        else ""
    )
    if l2_lead <= band:
        quotes["lead_reading"] = (
            f"Without a lead of more than {band} on the paper's rewards, there is no "
            "advantage here for the control to take away."
        )
    elif vanishes:
        quotes["lead_reading"] = (
            "VAL's advantage on the paper's benchmark vanishes with the noise over next "
            "states: it is its invariance to S′-redistribution at work, as the paper argues."
        )
    else:
        quotes["lead_reading"] = (
            "VAL keeps part of its advantage without noise over next states, so "
            "invariance to S′-redistribution does not explain all of it here."
        )
    return quotes


def rounding_table(
    mdps: Sequence[rd.TabularMDP], rng: np.random.Generator
) -> pd.DataFrame:
    """The rounding level of every canonicalisation in every norm of the grid: the largest ``n(c(R)) / n(R)``
    over :func:`rlhfbook.methods.reward_distance.trivial_rewards` drawn on each of ``mdps`` (rows: canonicalisations,
    columns: norms; ``Linf`` is the criterion of :func:`rlhfbook.methods.reward_distance.is_zero`)."""
    levels = [
        rd.rounding_level(m, rd.trivial_rewards(m, rng), rd.METRICS) for m in mdps
    ]
    worst = {k: max(level[k] for level in levels) for k in levels[0]}
    out = pd.Series(worst).unstack()[list(rd.METRICS)]
    out.index.name = "canonicalisation"
    return out


# --------------------------------------------------------------------------- where the lead comes from: endpoints


ENDPOINTS: tuple[str, ...] = ("ordinary endpoints", "a nearly trivial endpoint")


def signal_summary(
    runs: Mapping[int, Mapping[str, Any]],
    grid_envs: int,
    n_steps: int,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, dict[str, float | None], str]:
    """The rounding level of each canonicalisation (:func:`rounding_table` on the first run's first
    ``grid_envs`` MDPs) and how the random rewards of all ``runs`` split into trivial, nearly trivial
    and ordinary by their policy signal (every ``n_steps``-th point is an endpoint R1 or R2): the
    table, the numbers (for the results), and one sentence saying both."""
    mdps = next(iter(runs.values()))["mdps"][:grid_envs]
    rounding = rounding_table(mdps, rng)
    signal = np.concatenate([run["signal"][::n_steps].ravel() for run in runs.values()])
    nearly = (signal > rd.ROUNDING) & (signal < rd.NEARLY_TRIVIAL)
    ordinary = signal[signal >= rd.NEARLY_TRIVIAL]
    numbers = {
        "rounding level": float(rounding.to_numpy().max()),
        "nearly trivial share": float(nearly.mean()),
        "trivial share": float((signal <= rd.ROUNDING).mean()),
        "smallest nearly trivial": float(signal[nearly].min())
        if nearly.any()
        else None,
        "largest nearly trivial": float(signal[nearly].max()) if nearly.any() else None,
        "smallest ordinary": float(ordinary.min()),
    }
    span = (
        f"(signal {signal[nearly].min():.1e} to {signal[nearly].max():.1e}), "
        if nearly.any()
        else ""
    )
    text = (
        f"Rounding level n(c(R)) / n(R) over exactly trivial rewards on {len(mdps)} MDPs: "
        f"{numbers['rounding level']:.1e} at most, against the tolerance {rd.ROUNDING:g} on "
        f"max|c(R)| / max|R| (the Linf column of the table). Of the {len(signal)} random rewards of "
        f"the runs ({len(runs)} seeds), {nearly.mean():.1%} are nearly trivial {span}"
        f"{(signal <= rd.ROUNDING).mean():.2%} trivial (signal at most {rd.ROUNDING:g}), the rest "
        f"ordinary (signal {ordinary.min():.1e} or more)."
    )
    return rounding, numbers, text


def endpoint_correlations(
    runs: Mapping[int, Mapping[str, Any]], threshold: float = rd.NEARLY_TRIVIAL
) -> dict[str, dict[int, dict[tuple[str, str, str], float]]]:
    """Correlation tables (as :func:`correlations`) on two parts of every seed's points: pairs whose endpoints
    R1, R2 both order policies by more than ``threshold`` of their size (``signal``, see
    :func:`rlhfbook.methods.reward_distance.interpolation_experiment`), and pairs with a (nearly) trivial endpoint."""
    parts = {}
    for name in ENDPOINTS:
        parts[name] = {}
        for s, run in runs.items():
            signal = run["signal"].min(-1)
            keep = signal >= threshold if name == ENDPOINTS[0] else signal < threshold
            parts[name][s] = {
                k: rd.pearson(v[keep], run["regret"][keep])
                for k, v in run["grid"].items()
            }
    return parts


def endpoint_table(
    runs: Mapping[int, Mapping[str, Any]], threshold: float = rd.NEARLY_TRIVIAL
) -> pd.DataFrame:
    """VAL's lead over the better of EPIC and DARD on all points and on each part of :func:`endpoint_correlations`,
    per checked cell: the share of points, each correlation's mean, and the lead's mean ± 2 SE over seeds."""
    parts = {"all points": correlations(runs), **endpoint_correlations(runs, threshold)}
    share = {
        "all points": 1.0,
        ENDPOINTS[0]: np.mean(
            [np.mean(r["signal"].min(-1) >= threshold) for r in runs.values()]
        ),
        ENDPOINTS[1]: np.mean(
            [np.mean(r["signal"].min(-1) < threshold) for r in runs.values()]
        ),
    }
    rows = {}
    for name, table in parts.items():
        for n in CHECKED:
            rows[f"{name}, {n}/{n}"] = {
                "share of points": share[name],
                **{
                    f"{c} corr.": per_seed(table, c, n).mean()
                    for c in ("VAL", "EPIC", "DARD")
                },
                "VAL's lead (mean ± 2 SE)": mean_2se(lead(table, n)),
            }
    out = pd.DataFrame(rows).T
    out.index.name = "pairs, cell"
    return out


def endpoint_quotes(
    part_lead: Mapping[tuple[str, str], np.ndarray], *overall: np.ndarray
) -> dict[str, float | str]:
    """What the chapter's prose quotes of :func:`endpoint_table`: VAL's lead (per seed)
    on pairs of ordinary rewards (``part_lead[ENDPOINTS[0], cell]``), on pairs with a
    nearly trivial endpoint (``ENDPOINTS[1]``) and on all points (``overall``, one array
    per checked cell), each as the verdict rule's mean and 2 SE (plain floats
    ``ep_{ordinary,trivial,all}_{cell}_{mean,2se}`` for ``{glue:text}``); the number of
    seeds ``ep_seeds``; and ``ep_reading``: whether the lead on ordinary rewards is real
    (its whole interval above 0) and how much of the mean lead the nearly trivial
    endpoints carry."""
    ordinary = {n: part_lead[ENDPOINTS[0], n] for n in CHECKED}
    parts = {
        "ordinary": ordinary,
        "trivial": {n: part_lead[ENDPOINTS[1], n] for n in CHECKED},
        "all": dict(zip(CHECKED, overall)),
    }
    quotes: dict[str, float | str] = {"ep_seeds": len(ordinary[CHECKED[0]])}
    for part, values in parts.items():
        for n, v in values.items():
            iv = verdicts.interval(v)
            quotes[f"ep_{part}_{n}_mean"] = float(iv.mean)
            quotes[f"ep_{part}_{n}_2se"] = float(2 * iv.se)
    real = [n for n, v in ordinary.items() if verdicts.interval(v).low > 0]
    quotes["ep_reading"] = (
        f"So VAL's lead is real on ordinary rewards ({' and '.join(real)}: the whole "
        "interval above 0), and leaving out the pairs with an endpoint that puts its reward "
        "on transitions the dynamics almost never take removes "
        f"{1 - ordinary['L2'].mean() / overall[0].mean():.0%} of its mean L2 lead and "
        f"{1 - ordinary['wL2'].mean() / overall[1].mean():.0%} of its mean wL2 lead."
        if real
        else "On ordinary rewards alone VAL's lead is not distinguishable from 0 at this "
        "number of seeds."
    )
    return quotes


def lead(table: CorrelationTable, cell: str) -> np.ndarray:
    """VAL's lead over the better of EPIC and DARD, per seed: ``min(VAL - EPIC, VAL - DARD)`` in ``cell``."""
    margin = margins(table, cells=(cell,))
    return np.minimum(margin["EPIC", cell], margin["DARD", cell])


def mean_2se(x: Sequence[float]) -> str:
    """``"mean ± 2 SE"`` over seeds, three decimals, as the verdict rule's interval
    (:func:`rlhfbook.report.verdicts.interval`)."""
    iv = verdicts.interval(x)
    return f"{iv.mean:+.3f} ± {2 * iv.se:.3f}"


def step_profiles(
    run: Mapping[str, Any], n_steps: int, threshold: float = rd.NEARLY_TRIVIAL
) -> pd.DataFrame:
    """Mean regret and mean L2 / L2 distance (VAL, EPIC, DARD) at each interpolation step ``i = 1..n_steps``,
    over the pairs of one run with ordinary endpoints, with a nearly trivial R1, and with a nearly trivial R2.
    Rows: (pairs, step); columns: regret and the three distances."""
    step = np.arange(len(run["regret"])) % n_steps + 1
    small = run["signal"] < threshold
    groups = {
        "ordinary endpoints": ~small.any(-1),
        "nearly trivial R1": small[:, 0] & ~small[:, 1],
        "nearly trivial R2": ~small[:, 0] & small[:, 1],
    }
    columns = {
        "regret": run["regret"],
        **{c: run["grid"][c, "L2", "L2"] for c in ("VAL", "EPIC", "DARD")},
    }
    frame = pd.DataFrame(columns).assign(step=step)
    out = pd.concat(
        {
            g: frame[keep].groupby("step").mean()
            for g, keep in groups.items()
            if keep.any()
        }
    )
    out.index.names = ["pairs", "step"]
    return out


def step_figure(profiles: pd.DataFrame, seed: int) -> Figure:
    """:func:`step_profiles` as one panel per kind of pair: mean regret (black) and mean distances along the
    interpolation."""
    groups = list(dict.fromkeys(profiles.index.get_level_values(0)))
    fig, axes = plt.subplots(
        1, len(groups), figsize=(min(10.0, 3.4 * len(groups)), 3.8), sharey=True
    )
    for ax, g in zip(np.atleast_1d(axes), groups):
        part = profiles.loc[g]
        ax.plot(part.index, part["regret"], "k-", lw=2, label="regret")
        for c in ("VAL", "EPIC", "DARD"):
            ax.plot(
                part.index,
                part[c] / 2,
                "o-",
                ms=3,
                color=CANON_COLOURS[c],
                label=f"{c} distance / 2",
            )
        ax.set(title=g, xlabel="interpolation step i", ylim=(0, 1.05))
    np.atleast_1d(axes)[0].set_ylabel("mean over pairs")
    np.atleast_1d(axes)[0].legend(fontsize=8, loc="upper left")
    fig.suptitle(
        f"Regret and distance along the interpolation R1 -> R2 (seed {seed}, L2 / L2)"
    )
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- the paper code's Monte-Carlo regret


def monte_carlo_comparison(
    seed: int, n_envs: int, n_pairs: int, n_steps: int
) -> dict[str, np.ndarray]:
    """On the first ``n_envs`` MDPs of a seed's run (the draws of :func:`interpolation_runs`), every point's
    exact symmetric regret, the regret from the paper code's Monte-Carlo returns
    (:func:`rlhfbook.methods.reward_distance.monte_carlo_regret`, generator ``default_rng([seed, 3])``) and its VAL
    distance (L2 / L2), and the smaller policy signal of its endpoints. Returns
    ``{"exact", "monte carlo", "VAL distance", "signal"}``, one array each."""
    rng, mc_rng = np.random.default_rng(seed), np.random.default_rng([seed, 3])
    out: dict[str, list] = {
        "exact": [],
        "monte carlo": [],
        "VAL distance": [],
        "signal": [],
    }
    for _ in range(n_envs):
        mdp, r1, r2 = rd.random_pairs(rng, n_pairs)
        for a, b in zip(r1, r2):
            ri = rd.interpolate(a, b, n_steps)
            out["exact"].append(rd.symmetric_regret(mdp, a, ri))
            out["monte carlo"].append(rd.monte_carlo_regret(mdp, a, ri, mc_rng))
            out["VAL distance"].append(rd.starc_distance(mdp, a, ri))
            out["signal"].append(
                np.full(
                    n_steps, min(rd.policy_signal(mdp, a), rd.policy_signal(mdp, b))
                )
            )
    return {k: np.concatenate(v) for k, v in out.items()}


def monte_carlo_summary(
    mc: Mapping[str, np.ndarray], threshold: float = rd.NEARLY_TRIVIAL
) -> dict[str, float]:
    """What :func:`monte_carlo_comparison` shows: the share of Monte-Carlo regrets outside [0, 1], the mean
    |Monte Carlo - exact| on pairs of ordinary rewards and on pairs with a nearly trivial endpoint (NaN where
    there are none), and VAL's correlation with each regret."""
    error = np.abs(mc["monte carlo"] - mc["exact"])
    nearly = mc["signal"] < threshold
    return {
        "points": len(error),
        "outside [0, 1]": float(
            np.mean((mc["monte carlo"] < 0) | (mc["monte carlo"] > 1))
        ),
        "error, ordinary endpoints": float(error[~nearly].mean())
        if (~nearly).any()
        else float("nan"),
        "error, a nearly trivial endpoint": float(error[nearly].mean())
        if nearly.any()
        else float("nan"),
        "pairs with a nearly trivial endpoint": float(nearly.mean()),
        "VAL corr exact": rd.pearson(mc["VAL distance"], mc["exact"]),
        "VAL corr monte carlo": rd.pearson(mc["VAL distance"], mc["monte carlo"]),
    }


# --------------------------------------------------------------------------- the properties


INVARIANCES: tuple[str, ...] = tuple(
    f"{c} to {k}"
    for c in ("VAL", "minimal")
    for k in ("shaped", "redistributed", "scaled")
)


def property_reports(
    runs: Mapping[int, Mapping[str, Any]], property_mdps: int, n_triples: int
) -> pd.DataFrame:
    """:func:`rlhfbook.methods.reward_distance.property_report` on the first ``property_mdps`` MDPs of every run,
    MDP ``i`` of seed ``s`` with generator ``default_rng([s, i])``; one row per MDP."""
    return pd.DataFrame(
        [
            rd.property_report(m, np.random.default_rng([s, i]), n_triples)
            for s, run in runs.items()
            for i, m in enumerate(run["mdps"][:property_mdps])
        ]
    )


def property_summary(reports: pd.DataFrame) -> dict[str, float]:
    """The worst case over MDPs of each defining property of a STARC metric (Sec. 3: invariance to the three
    transformations; EPIC's and DARD's lack of it; d(R, -R) = 2, symmetry, triangle inequality, d <= 2)."""
    return {
        "max STARC distance to an equivalent reward": reports[list(INVARIANCES)]
        .max()
        .max(),
        "min EPIC distance to the S'-redistributed copy": reports[
            "EPIC to redistributed"
        ].min(),
        "min DARD distance to the S'-redistributed copy": reports[
            "DARD to redistributed"
        ].min(),
        "max |d(R, -R) - 2|": (reports["VAL d(R, -R)"] - 2).abs().max(),
        "max asymmetry |d(x,y) - d(y,x)|": reports["max asymmetry"].max(),
        "max triangle violation d(x,z) - d(x,y) - d(y,z)": reports[
            "max triangle violation"
        ].max(),
        "max distance": reports["max distance"].max(),
    }


# --------------------------------------------------------------------------- section 5: the reward-model family


def family(task: PreferenceTask, seed: int, settings: Any) -> dict[str, Any]:
    """One seed's reward-model family on the toy world (generator ``default_rng([seed, 2])``): a response
    pool, held-out rater comparisons, the fitted models over ``settings.train_sizes`` x
    ``settings.flip_rates`` and the perturbed models of the best clean fitted one. Returns
    ``{"pool", "held_out", "models"}``."""
    rng = np.random.default_rng([seed, 2])
    pool = rmf.sample_pool(task, settings.pool_size, rng)
    held_out = rmf.comparisons(pool, settings.n_eval_pairs, rng)
    fitted = rmf.fitted_models(pool, settings.train_sizes, settings.flip_rates, rng)
    base = fitted[
        -len(settings.flip_rates)
    ]  # the most comparisons, no flipped labels (flip_rates[0] = 0)
    return dict(
        pool=pool,
        held_out=held_out,
        models=fitted + rmf.perturbed_models(pool, base, rng),
    )


def family_table(fam: Mapping[str, Any], bon_n: int) -> pd.DataFrame:
    """Every model of a family with its kind and the metrics of :func:`rlhfbook.methods.reward_model_family.evaluate`."""
    table = pd.DataFrame(
        {
            m.label: {
                "kind": m.kind,
                **rmf.evaluate(fam["pool"], m.scores, fam["held_out"], bon_n),
            }
            for m in fam["models"]
        }
    ).T.astype({k: float for k in rmf.METRICS})
    table.index.name = "reward model"
    return table


def rank_against_regret(tables: Mapping[int, pd.DataFrame]) -> pd.DataFrame:
    """Per metric (rows) and seed (columns), the Spearman correlation of the metric with best-of-N regret
    across the family, sign flipped where larger is better (:data:`BETTER_HIGH`): 1 orders the models as
    regret does."""
    return pd.DataFrame(
        {
            s: {
                m: (-1 if m in BETTER_HIGH else 1)
                * spearmanr(t[m], t["best-of-N regret"]).statistic
                for m in rmf.METRICS
                if m != "best-of-N regret"
            }
            for s, t in tables.items()
        }
    )


def rank_summary(rank: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd, minimum and maximum over seeds of each metric's rank correlation with regret."""
    out = pd.DataFrame(
        {
            "mean ± sd": rank.apply(lambda v: mean_sd(v.values), axis=1),
            "min": rank.min(axis=1),
            "max": rank.max(axis=1),
        }
    )
    out.index.name = "metric (ranked against best-of-N regret)"
    return out


def overconfidence(conf: np.ndarray, freq: np.ndarray, count: np.ndarray) -> float:
    """Mean over-confidence of a reliability curve, ``sum_b n_b/n (|conf_b - 1/2| - |freq_b - 1/2|)`` over
    non-empty bins (positive: predictions further from 1/2 than the observed frequencies)."""
    full = count > 0
    return float(
        np.sum(count[full] * (np.abs(conf[full] - 0.5) - np.abs(freq[full] - 0.5)))
        / count.sum()
    )


def bridge_quotes(rank: pd.DataFrame) -> dict[str, float | str]:
    """The numbers the chapter's prose quotes on how the STARC distance and pairwise
    accuracy rank best-of-N regret (:func:`rank_against_regret`): each metric's Spearman
    correlation, mean and sd over seeds (sd with ddof 1; 0 for one seed), as plain floats
    for ``{glue:text}`` (``rank_starc_mean``, ``rank_starc_sd``, ``rank_gold_…``,
    ``rank_raters_…``), and ``rank_reading``: the sentence that reads which labels rank
    regret better."""
    quotes: dict[str, float | str] = {}
    for key, metric in (
        ("starc", "STARC distance"),
        ("gold", "accuracy (gold)"),
        ("raters", "accuracy (raters)"),
    ):
        x = rank.loc[metric].to_numpy(float)
        quotes[f"rank_{key}_mean"] = float(np.mean(x))
        quotes[f"rank_{key}_sd"] = float(np.std(x, ddof=1)) if len(x) > 1 else 0.0
    quotes["rank_reading"] = (
        "Rater labels rank regret better than gold labels do: a Bradley-Terry rater is "
        "nearly a coin flip on pairs whose rewards are close and nearly certain on pairs "
        "far apart, so agreeing with raters weighs each pair by how much it matters, as "
        "regret does, while gold-label accuracy counts a swap of two nearly equal responses "
        "like a swap of the best and the worst. The STARC distance weighs errors by their "
        "size directly."
        if quotes["rank_raters_mean"] > quotes["rank_gold_mean"]
        else "Gold labels rank regret at least as well as rater labels do in this run."
    )
    return quotes


# --------------------------------------------------------------------------- paper vs this book


def paper_vs_book(
    settings: Any,
    seeds: Sequence[int],
    full_corr: pd.Series,
    n_grid_points: int,
    corr: CorrelationTable,
    control_margin: Mapping[tuple[str, str], np.ndarray],
    n_models: int,
    rank: pd.DataFrame,
) -> pd.DataFrame:
    """The chapter's "Paper vs this book" table: the protocol side by side, then the findings (the paper's
    Fig. 1 qualitatively, ours as numbers)."""
    P = settings
    starc_best = max(full_corr.loc[["VAL", "minimal"]])
    other_best = max(full_corr.loc[["EPIC", "DARD"]])
    return pd.DataFrame(
        [
            (
                "MDPs",
                "32 states, 4 actions, gamma 0.95, sparse random dynamics",
                "same",
            ),
            (
                "points",
                "128 MDPs x 8 pairs x 16 steps = 16,384",
                f"{P.n_envs} x {P.n_pairs} x {P.n_steps} = "
                f"{P.n_envs * P.n_pairs * P.n_steps} per seed, {len(seeds)} seeds",
            ),
            (
                "returns for regret",
                "Monte-Carlo rollouts of greedy policies",
                "exact (Bellman linear system), on c_VAL(R)",
            ),
            (
                "standardisation: c(R) counts as 0 when",
                "c(R) = 0 (the code always divides)",
                f"max |c(R)| <= {rd.ROUNDING:g} max |R|, the rounding level; regret uses the same test",
            ),
            (
                "minimal canonicalisation",
                "unweighted L2, gradient descent (Adam)",
                "tau-weighted L2, closed form",
            ),
            (
                "canonicalisations",
                "None, EPIC, DARD, VAL, minimal, and potential-only variants",
                "None, EPIC, DARD, VAL, minimal",
            ),
            (
                "best STARC / best EPIC or DARD pseudometric",
                "STARC highest of all",
                f"{starc_best:.3f} / {other_best:.3f} ({n_grid_points} points of seed {seeds[0]})",
            ),
            *[
                (
                    f"{c}, L2 / L2",
                    "VAL above EPIC and DARD; none much worse" if c == "VAL" else "-",
                    mean_sd(per_seed(corr, c, "L2")),
                )
                for c in ("VAL", "EPIC", "DARD", "none")
            ],
            *[
                (f"{c}, wL2 / wL2", "-", mean_sd(per_seed(corr, c, "wL2")))
                for c in ("VAL", "EPIC", "DARD")
            ],
            (
                "VAL − EPIC, s'-independent rewards (L2 / L2)",
                "not reported",
                mean_sd(control_margin["EPIC", "L2"]),
            ),
            (
                "reward models (bridge)",
                "continuous-control Reacher: distances rank perturbed rewards as expected",
                f"toy-world bandit, {n_models} reward models: Spearman with best-of-N regret, STARC "
                f"{rank.loc['STARC distance'].mean():.3f}, gold accuracy {rank.loc['accuracy (gold)'].mean():.3f}, "
                f"rater accuracy {rank.loc['accuracy (raters)'].mean():.3f}",
            ),
        ],
        columns=["", "paper", "this book"],
    ).set_index("")


# --------------------------------------------------------------------------- figures


def grid_figure(
    full_corr: pd.Series,
    n_grid_points: int,
    corr: CorrelationTable,
    canonicalisations: Sequence[str],
    cells: Sequence[str] = CHECKED,
) -> Figure:
    """The analogue of the paper's Fig. 1. Left: every pseudometric of ``full_corr`` sorted by its
    correlation with regret, coloured by canonicalisation. Right: each canonicalisation in the two checked
    cells (solid L2, hatched wL2), mean over seeds with one sd as error bar."""
    n_seeds = len(corr)
    ranked = full_corr.sort_values(ascending=False)
    fig, (ax0, ax1) = plt.subplots(
        1, 2, figsize=(10, 4.2), gridspec_kw=dict(width_ratios=[1.6, 1])
    )
    ax0.bar(
        np.arange(len(ranked)),
        ranked.values,
        width=1.0,
        color=[CANON_COLOURS[k[0]] for k in ranked.index],
    )
    ax0.set(
        title=f"All {len(ranked)} pseudometrics ({n_grid_points} points)",
        xlabel="pseudometric, sorted (colour: canonicalisation, as on the right)",
        ylabel="Pearson correlation with regret",
        xlim=(-1, len(ranked)),
    )
    x = np.arange(len(canonicalisations))
    for j, n in enumerate(cells):
        values = np.array([per_seed(corr, c, n) for c in canonicalisations])
        ax1.bar(
            x + (j - 0.5) * 0.4,
            values.mean(1),
            0.4,
            yerr=values.std(1, ddof=1) if n_seeds > 1 else None,
            color=[CANON_COLOURS[c] for c in canonicalisations],
            alpha=1 if j == 0 else 0.5,
            hatch=None if j == 0 else "//",
        )
    ax1.set_xticks(x, canonicalisations, rotation=30)
    ax1.legend(
        handles=[
            Patch(facecolor="white", edgecolor="k", label=f"{cells[0]} / {cells[0]}"),
            Patch(
                facecolor="white",
                edgecolor="k",
                hatch="//",
                label=f"{cells[1]} / {cells[1]}",
            ),
        ],
        loc="upper left",
    )
    ax1.set(
        title=f"Checked cells, {n_seeds} seeds",
        xlabel="canonicalisation",
        ylabel="Pearson correlation with regret",
        ylim=(0, 1),
    )
    fig.tight_layout()
    return fig


def scatter_figure(
    run: Mapping[str, Any], corr: Mapping[tuple[str, str, str], float], seed: int
) -> Figure:
    """Distance (L2 / L2) against regret on one seed's points, one panel per canonicalisation (none, EPIC,
    DARD, VAL), each titled with its Pearson r from ``corr`` (that seed's correlations)."""
    fig, axes = plt.subplots(2, 2, figsize=(9, 7), sharex=True, sharey=True)
    for ax, c in zip(axes.flat, ["none", "EPIC", "DARD", "VAL"]):
        ax.scatter(
            run["grid"][c, "L2", "L2"],
            run["regret"],
            s=3,
            alpha=0.3,
            color=CANON_COLOURS[c],
        )
        ax.set_title(f"{c}: r = {corr[c, 'L2', 'L2']:.3f}")
    for ax in axes[1]:
        ax.set_xlabel("distance, L2 / L2 (unitless)")
    for ax in axes[:, 0]:
        ax.set_ylabel("normalised regret")
    fig.suptitle(
        f"Distance vs regret on {len(run['regret'])} interpolated reward pairs (seed {seed})"
    )
    fig.tight_layout()
    return fig


def margin_figure(
    main: Mapping[tuple[str, str], np.ndarray],
    control: Mapping[tuple[str, str], np.ndarray],
    cells: Sequence[str] = CHECKED,
    band: float = 0.02,
) -> Figure:
    """VAL's lead over EPIC and DARD per seed, with the paper's rewards (circles) and next-state-independent
    ones (squares), one panel per cell; the grey band is ``±band``."""
    fig, axes = plt.subplots(1, len(cells), figsize=(10, 4), sharey=True)
    for ax, n in zip(axes, cells):
        for k, margin in enumerate((main, control)):
            for j, c in enumerate(("EPIC", "DARD")):
                v = margin[c, n]
                ax.scatter(
                    np.full(len(v), k + (j - 0.5) * 0.25)
                    + np.linspace(-0.06, 0.06, len(v)),
                    v,
                    color=CANON_COLOURS[c],
                    marker="o" if k == 0 else "s",
                    s=22,
                )
        ax.axhspan(-band, band, color="0.85", zorder=0)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks([0, 1], ["paper's rewards", "s'-independent"])
        ax.set(title=f"{n} / {n}", xlabel="random rewards", xlim=(-0.5, 1.5))
    axes[0].set_ylabel("VAL's correlation minus competitor's")
    axes[0].legend(
        handles=[
            Line2D(
                [], [], color=CANON_COLOURS[c], marker="o", ls="", label=f"VAL − {c}"
            )
            for c in ("EPIC", "DARD")
        ],
        loc="upper right",
    )
    fig.tight_layout()
    return fig


def _kind_legend() -> list[Line2D]:
    return [
        Line2D([], [], color=KIND_COLOURS[k], marker="o", ls="", label=k)
        for k in rmf.KINDS
    ]


def bridge_figure(table: pd.DataFrame, bon_n: int, seed: int) -> Figure:
    """One point per reward model of ``table`` (:func:`family_table`), coloured by kind: best-of-N gold regret
    against the STARC distance to gold (left) and against pairwise accuracy (right; filled gold labels,
    hollow raters)."""
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    colour = table["kind"].map(KIND_COLOURS)
    ax0.scatter(table["STARC distance"], table["best-of-N regret"], c=colour, s=28)
    ax0.set(
        title="STARC distance",
        xlabel="STARC distance to the gold reward (0 to 2)",
        ylabel=f"best-of-{bon_n} gold regret (gold-reward units)",
    )
    ax1.scatter(table["accuracy (gold)"], table["best-of-N regret"], c=colour, s=28)
    ax1.scatter(
        table["accuracy (raters)"],
        table["best-of-N regret"],
        facecolors="none",
        edgecolors=colour,
        s=28,
    )
    ax1.set(
        title="Pairwise accuracy",
        xlabel="pairwise accuracy (filled: gold labels; hollow: raters)",
    )
    ax0.legend(handles=_kind_legend(), loc="upper left")
    fig.suptitle(f"{len(table)} reward models on the toy world (seed {seed})")
    fig.tight_layout()
    return fig


def calibration_figure(
    table: pd.DataFrame, fam: Mapping[str, Any], shown: Sequence[str], bon_n: int
) -> tuple[Figure, dict[str, float]]:
    """Left: best-of-N regret against R^2 to gold, per model of ``table``. Right: reliability diagrams
    (10 bins, held-out rater labels) of the fitted models labelled ``shown``. Returns the figure and each
    shown model's :func:`overconfidence`."""
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4.2))
    ax0.scatter(
        table["R2 (affine)"],
        table["best-of-N regret"],
        c=table["kind"].map(KIND_COLOURS),
        s=28,
    )
    ax0.set(
        title="R² to gold",
        xlabel="R² to the gold reward (affine fit)",
        ylabel=f"best-of-{bon_n} gold regret (gold-reward units)",
    )
    ax0.legend(handles=_kind_legend(), loc="upper right")
    x, a, b, label = fam["held_out"]
    fitted_by_label = {m.label: m for m in fam["models"] if m.kind == "fitted"}
    over = {}
    for name, style in zip(shown, ["o-", "s--", "^:"]):
        scores = fitted_by_label[name].scores
        conf, freq, count = ev.reliability_curve(
            bt.sigmoid(scores[x, a] - scores[x, b]), label, 10
        )
        over[name] = overconfidence(conf, freq, count)
        ax1.plot(
            conf,
            freq,
            style,
            color=KIND_COLOURS["fitted"],
            label=name.removeprefix("fitted: "),
        )
    ax1.plot([0, 1], [0, 1], color="0.6", lw=1, label="calibrated")
    ax1.set(
        title="Reliability (held-out rater labels)",
        xlabel="predicted P(a preferred)",
        ylabel="observed frequency a preferred",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax1.legend(fontsize=9, loc="upper left")
    fig.tight_layout()
    return fig, over


def record_checks(
    results: Any,
    runs: Mapping[int, Mapping[str, Any]],
    corr: CorrelationTable,
    control: CorrelationTable,
    rank: pd.DataFrame,
    props: Mapping[str, float],
    *,
    n_models: int,
    bon_n: int,
    n_mdps: int,
    n_triples: int,
) -> None:
    """Chapter 4's findings, control and sanity checks, recorded on ``results`` (a
    :class:`rlhfbook.report.results.Results`): per seed, VAL's lead over EPIC and DARD in the two
    checked cells (Fig. 1), the same lead with next-state-independent rewards (control), the gap
    to no canonicalisation, VAL's correlation, the STARC-versus-accuracy bridge, and the
    canonicalisation and metric axioms over ``n_mdps`` MDPs."""
    seeds = list(runs)
    parts = endpoint_correlations(runs)
    main_margin, control_margin = margins(corr), margins(control)
    part_lead = {(p, n): lead(parts[p], n) for p in ENDPOINTS for n in CHECKED}
    bridge_margin = {
        name: rank.loc["STARC distance"] - rank.loc[name]
        for name in ("accuracy (gold)", "accuracy (raters)")
    }
    ordinary_share = np.mean(
        [np.mean(r["signal"].min(-1) >= rd.NEARLY_TRIVIAL) for r in runs.values()]
    )
    for n, label in (("L2", "unweighted L2"), ("wL2", "tau-weighted L2")):
        rule, n_ok = finding(
            seeds,
            lead(corr, n),
            0.02,
            f"per seed: min(VAL - EPIC, VAL - DARD), {n} / {n}",
        )
        results.check(
            f"val_beats_epic_dard_{n}",
            kind="finding",
            claim=f"VAL's distance correlates with regret better than EPIC's and DARD's ({label} normalisation and "
            "metric).",
            paper="STARC (VAL) above EPIC and DARD (Fig. 1)",
            **rule,
            ours={
                "VAL - EPIC mean": np.mean(main_margin["EPIC", n]),
                "VAL - DARD mean": np.mean(main_margin["DARD", n]),
                "lead, ordinary endpoints": mean_2se(part_lead[ENDPOINTS[0], n]),
                "lead, a nearly trivial endpoint": mean_2se(part_lead[ENDPOINTS[1], n]),
                "seeds clearing": n_ok,
            },
            context=f"Correlation with regret: VAL {mean_sd(per_seed(corr, 'VAL', n))}, EPIC "
            f"{mean_sd(per_seed(corr, 'EPIC', n))}, DARD {mean_sd(per_seed(corr, 'DARD', n))} (mean ± sd). On the "
            f"{ordinary_share:.0%} of points whose pair has two ordinary endpoints VAL leads by "
            f"{mean_2se(part_lead[ENDPOINTS[0], n])}, on the rest (a nearly trivial endpoint) by "
            f"{mean_2se(part_lead[ENDPOINTS[1], n])} (mean ± 2 SE).",
        )

    results.check(
        "control_next_state_independent",
        kind="control",
        claim="With rewards that do not depend on the next state, VAL's lead over EPIC disappears "
        "(nothing to redistribute over next states).",
        paper="EPIC and DARD fail only through S'-redistribution (the paper's argument)",
        per_seed=dict(
            zip(
                seeds, np.maximum(*(np.abs(control_margin["EPIC", n]) for n in CHECKED))
            )
        ),
        threshold=0.02,
        direction="<=",
        rule="per seed: the larger |VAL - EPIC| of the L2 and wL2 cells",
        ours={
            f"VAL - EPIC {n} mean": np.mean(control_margin["EPIC", n]) for n in CHECKED
        }
        | {f"VAL - DARD {n} mean": np.mean(control_margin["DARD", n]) for n in CHECKED},
        context=f"With rewards drawn per (s, a), VAL - EPIC is {mean_2se(control_margin['EPIC', 'L2'])} (L2) and "
        f"{mean_2se(control_margin['EPIC', 'wL2'])} (wL2), against {mean_2se(main_margin['EPIC', 'L2'])} and "
        f"{mean_2se(main_margin['EPIC', 'wL2'])} with the paper's rewards (mean ± 2 SE).",
    )

    none_gap = per_seed(corr, "EPIC", "L2") - per_seed(corr, "none", "L2")
    rule, n_ok = finding(
        seeds, none_gap, 0.15, "per seed: corr(EPIC) - corr(none), L2 / L2"
    )
    results.check(
        "none_much_worse",
        kind="finding",
        claim="Without canonicalisation the distance predicts regret much worse than EPIC's (L2 / L2).",
        paper="None far below (Fig. 1)",
        **rule,
        ours={
            "corr(none) mean": per_seed(corr, "none", "L2").mean(),
            "min gap": none_gap.min(),
            "seeds clearing": n_ok,
        },
        context=f"Correlation with regret without canonicalisation {mean_sd(per_seed(corr, 'none', 'L2'))}, with EPIC "
        f"{mean_sd(per_seed(corr, 'EPIC', 'L2'))} (mean ± sd over seeds, L2 / L2).",
    )

    val_corr = per_seed(corr, "VAL", "L2")
    rule, n_ok = finding(
        seeds,
        val_corr,
        0.85,
        "per seed: Pearson correlation of VAL's distance with regret, L2 / L2",
    )
    results.check(
        "val_correlation",
        kind="finding",
        claim="The VAL distance (L2 / L2) is strongly correlated with regret.",
        paper="highest correlations of the grid (Fig. 1)",
        **rule,
        ours={
            "min": val_corr.min(),
            "wL2 / wL2 mean": per_seed(corr, "VAL", "wL2").mean(),
            "seeds clearing": n_ok,
        },
        context=f"VAL's correlation is {mean_sd(val_corr)} in the L2 cell and {mean_sd(per_seed(corr, 'VAL', 'wL2'))} in "
        "the tau-weighted L2 cell (mean ± sd): the same, as it must be for a canonical reward that does not depend on "
        f"the next state; on pairs of ordinary rewards it is {mean_sd(per_seed(parts[ENDPOINTS[0]], 'VAL', 'L2'))}.",
    )

    for name, key in (("gold", "accuracy (gold)"), ("rater", "accuracy (raters)")):
        gap = bridge_margin[key].values
        rule, n_ok = finding(
            seeds,
            gap,
            0.10,
            f"per seed: Spearman(STARC) - Spearman(accuracy, {name} labels)",
        )
        results.check(
            f"bridge_starc_beats_{name}_accuracy",
            kind="finding",
            origin="extension",
            claim=f"Across reward models whose metrics disagree, the STARC distance to gold ranks best-of-N regret "
            f"better than pairwise accuracy on {name} labels does (Spearman, by 0.10 or more).",
            paper="a small STARC distance guarantees small regret (soundness); accuracy gives no such guarantee",
            **rule,
            ours={
                "Spearman STARC mean": rank.loc["STARC distance"].mean(),
                f"Spearman accuracy ({name}) mean": rank.loc[key].mean(),
                "seeds clearing": n_ok,
            },
            context=f"Spearman correlation with best-of-{bon_n} regret across {n_models} reward models: STARC "
            f"distance {mean_sd(rank.loc['STARC distance'].values)}, pairwise accuracy on {name} labels "
            f"{mean_sd(rank.loc[key].values)} (mean ± sd over seeds); STARC's lead {mean_2se(gap)} (mean ± 2 SE)."
            + (
                " Against a Bradley-Terry rater, ordering two close responses either way is right about half the time, "
                "while swapping two distant ones is a whole error, so accuracy on rater labels already weighs errors by "
                "their size, as regret does."
                if name == "rater"
                else ""
            ),
        )

    results.check(
        "starc_invariances",
        kind="sanity",
        claim="VAL and minimal distances to a potential-shaped, S'-redistributed or scaled copy are 0",
        paper="definition of a canonicalisation",
        value=props["max STARC distance to an equivalent reward"],
        threshold=1e-8,
        direction="<=",
        rule=f"largest over {n_mdps} MDPs",
    )
    results.check(
        "epic_dard_not_invariant",
        kind="sanity",
        claim="EPIC and DARD distances to an S'-redistributed copy (noise of 3 reward sd) are not 0",
        paper="EPIC and DARD are not canonicalisations (App. A/B)",
        value=min(
            props["min EPIC distance to the S'-redistributed copy"],
            props["min DARD distance to the S'-redistributed copy"],
        ),
        threshold=0.05,
        rule=f"smallest over {n_mdps} MDPs",
    )
    axioms = max(
        props["max |d(R, -R) - 2|"],
        props["max asymmetry |d(x,y) - d(y,x)|"],
        props["max triangle violation d(x,z) - d(x,y) - d(y,z)"],
        props["max distance"] - 2,
    )
    results.check(
        "metric_axioms",
        kind="sanity",
        claim="d(R, -R) = 2, symmetry, triangle inequality, d <= 2 (VAL, L2 / L2)",
        paper="STARC metrics are pseudometrics bounded by 2",
        value=axioms,
        threshold=1e-8,
        direction="<=",
        rule=f"largest violation over {n_mdps} MDPs x {n_triples} triples",
        ours={
            k: v for k, v in props.items() if k.startswith("max") and "STARC" not in k
        },
    )
