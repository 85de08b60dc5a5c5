"""Chapter 5's league analysis, tables, figures and check bounds (``notebooks/05_strategic_games``).

The chapter plays a league of scripted revisers and a trained player (three training seeds)
through AdvGameBench's protocol (Yuan et al. 2025), in a turn-based game with outcome noise, and
reads its logs with :mod:`.metrics`. This module holds what the chapter does with those metrics:
the claims and their per-seed rules (section 4) and :func:`record_checks`, the checkpoints'
behaviour and the flip test (section 7), the per-seed correlations of section 8 (the paper's raw
r(ORR, CSR) = -0.51, checked, and the partial r given WR, reported), the pairs of players win
rate does not separate, the budget counterfactual of section 9 (through :mod:`.probes`), the
top player's slope (section 10, reported), the dominance report, the chapter's figures, the
comparison with the paper and the summary.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from rlhfbook.methods.games import learned, probes
from rlhfbook.methods.games import metrics as gm
from rlhfbook.methods.games import players as gp
from rlhfbook.methods.games import protocol as pr
from rlhfbook.methods.games.base import Game
from rlhfbook.tasks.toyworld import build_tokenizer, new_model

if TYPE_CHECKING:
    from rlhfbook.report.results import Check, Results

CHECKPOINTS = list(learned.CHECKPOINTS)  # SFT, RL early, RL late
SHOWN = ["best-response-1", "overcorrector-1", "random-reviser-1", "budget-slipper-2"]
COLOURS = dict(
    zip(
        CHECKPOINTS + SHOWN,
        ["#4c72b0", "#dd8452", "#c44e52", "#55a868", "#8172b3", "#937860", "#da8bc3"],
    )
)
OTHER = "#8c8c8c"  # every other scripted player
KNOBS = (
    "name",
    "p_revise_loss",
    "p_revise_win",
    "quality",
    "slip",
    "planning",
    "fresh",
)


def colour(name: str) -> str:
    """The chapter's colour of a player: its own for the checkpoints and the named revisers, grey otherwise."""
    return COLOURS.get(name, OTHER)


# --- Section 4: the claims and their rules ---------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """One check of section 4, fixed before the league is run: its kind, its decisive number,
    the sign of its rule, the claim in words, the paper's number it tests, and whose claim it is.

    ``sign = -1``: a positive effect, reproduced when mean - 2 SE >= ``threshold`` over the
    league seeds; ``sign = +1``: a negative correlation, reproduced when mean + 2 SE <=
    ``threshold`` (the book's verdict rule, :mod:`rlhfbook.report.verdicts`; the threshold is 0
    where the paper's claim is a sign); ``sign = 0``: a sanity bound, passing when the value is
    at most :data:`SANITY_TOLERANCE`.
    """

    name: str
    kind: str
    decisive: str
    sign: int
    claim: str
    paper: str
    note: str = ""  # added to the rule a check records
    origin: str = (
        "paper"  # "extension": the paper does not make this claim (it trains nothing)
    )
    threshold: float = 0.0  # the paper's side begins here (fixed before the run)

    @property
    def rule(self) -> str:
        """The rule as the section-4 table states it."""
        if self.sign == 0:
            return f"<= {SANITY_TOLERANCE:.0e}"
        t = f"{self.threshold:.3g}"
        return f"mean - 2 SE >= {t}" if self.sign < 0 else f"mean + 2 SE <= {t}"


SANITY_TOLERANCE = 1e-12
MATCHED_WR_MARGIN = (
    0.05  # |WR(a) - WR(b)| below this: win rate does not separate a pair
)
SEPARATION_UNITS = (
    12  # matches per player and league seed: 3 opponents x 2 roles x 2 orders
)


def chance_separation(units: int = SEPARATION_UNITS, metrics: int = 2) -> float:
    """The share of pairs of *identical* players that the separation rule flags by chance.

    The rule flags a pair when, on at least one of ``metrics`` process metrics, the mean of its
    ``units`` paired differences lies beyond 2 SE of 0; for one metric that happens with
    probability P(|t| > 2), t with ``units - 1`` degrees of freedom, and for independent metrics
    with 1 - (1 - P)^metrics (an upper bound when the metrics move together).
    """
    p = 2 * float(stats.t.sf(2.0, units - 1))
    return 1 - (1 - p) ** metrics


CLAIMS = (
    Claim(
        "orr_csr_raw",
        "finding",
        "Pearson r(ORR, CSR) across the league's players (the paper's statistic, raw)",
        +1,
        "Across players, revising more often (ORR) goes with revising less successfully (CSR).",
        "r(ORR, CSR) = -0.51 over 12 models (p = 0.093); threshold 0: the paper's claim is the sign",
    ),
    Claim(
        "process_separates_matched_wr",
        "finding",
        f"share of the pairs of players whose win rates differ by less than {MATCHED_WR_MARGIN} "
        "that ORR or CSR separates (mean per-match difference beyond 2 SE, "
        f"{SEPARATION_UNITS} matches each)",
        -1,
        "Process metrics separate players that win rate does not: among pairs at matched win "
        "rate, ORR or CSR tells more of them apart than chance would.",
        "process metrics reveal what win rate hides (the paper's framing, no number); threshold: "
        "the share chance flags among identical players, "
        f"{chance_separation():.3f} (two metrics, t with {SEPARATION_UNITS - 1} df)",
        threshold=chance_separation(),
    ),
    Claim(
        "budget_beyond_rule",
        "finding",
        "win rate of the over-budget builds made affordable minus their win rate with the budget "
        "rule switched off, against the same opposing builds",
        -1,
        "Overspending costs wins beyond what the budget rule itself removes: the same builds, made "
        "affordable, would have won more than the over-budget builds win on the field.",
        "Qwen-Plus: OBR 0.51, WR 25.6 %, 'primarily due to excessive resource use'; threshold 0",
    ),
    Claim(
        "rl_raises_csr_prose",
        "finding",
        "prose CSR (a correction that removes a rule violation or turns a loss into a win), "
        "RL late - SFT, against the fixed opponents",
        -1,
        "Training changes the process: RL raises the share of corrections that turn a loss into a "
        "win (the paper's prose definition of CSR).",
        "CSR separates models (o3-mini 78.6 %); threshold 0",
        origin="extension",
    ),
    Claim(
        "feedback_used",
        "finding",
        "P(keep | shown a win) - P(keep | shown a loss) of RL late on its own league turns "
        "(the flip test: result token flipped, same random draws)",
        -1,
        "The trained player's decisions depend on the feedback: told it won, it keeps its build "
        "more often than told it lost.",
        "(the paper's revision prompt carries last round's winner); threshold 0",
        "RL late's own revision turns in the seed's league",
        origin="extension",
    ),
    Claim(
        "rl_beats_sft",
        "control",
        "WR(RL late) - WR(SFT): training worked at all",
        -1,
        "Precondition: RL raised the win rate over the SFT start against the fixed opponents.",
        "(precondition of rl_raises_csr_prose and feedback_used)",
        origin="extension",
    ),
    Claim(
        "three_characters",
        "sanity",
        "share of played builds with fewer than three characters",
        0,
        "Every build in play fields three characters, as the rules say: the validator rejects the rest.",
        "the rules: 'each side fields three characters'",
    ),
    Claim(
        "metrics_match_benchmark",
        "sanity",
        "largest difference from the ported evaluator on random logs",
        0,
        "The metrics agree with the benchmark's evaluator, ported from its definitions, on random logs.",
        "evaluator.py::compute_metrics",
    ),
    Claim(
        "metrics_match_hand_values",
        "sanity",
        "largest difference from the hand-worked example",
        0,
        "The metric functions give the hand-computed values, and every edge case is defined.",
        "costs [18,18,20,19,19], wins [0,0,1,0,1], B=18: ORR 0.5, CSR 0.5, WR 0.4, OBR 0.6, slope 0.2",
    ),
)
CLAIM = {c.name: c for c in CLAIMS}


def claims_table() -> pd.DataFrame:
    """Section 4's table: every check, its kind, its decisive number per league seed and its rule."""
    return pd.DataFrame(
        [(c.name, c.kind, c.decisive, c.rule) for c in CLAIMS],
        columns=["check", "kind", "decisive number (per league seed)", "passes when"],
    ).set_index("check")


def seed_check(
    results: Results,
    name: str,
    per_seed: Mapping[int, float],
    checked: str,
    *,
    ours: Mapping[str, object] | None = None,
) -> Check:
    """Record the finding or control ``name`` of :data:`CLAIMS` (kind, claim, paper, origin) under its
    section-4 rule: the per-seed values against its threshold, ``>=`` for a positive effect and
    ``<=`` for a negative correlation; ``checked`` names the seeds in the rule, ``ours`` the numbers beside it."""
    c = CLAIM[name]
    rule = f"per seed: {c.decisive}, over {checked}"
    return results.check(
        name,
        kind=c.kind,
        claim=c.claim,
        paper=c.paper,
        origin=c.origin,
        per_seed=per_seed,
        threshold=c.threshold,
        direction=">=" if c.sign < 0 else "<=",
        rule=rule + (f" ({c.note})" if c.note else ""),
        ours=ours or {},
    )


@dataclass(frozen=True)
class SeedChecks:
    """:func:`seed_check` bound to a chapter's results and the name of its league seeds."""

    results: Results
    checked: str

    def __call__(self, name: str, per_seed: Mapping[int, float], **kwargs) -> Check:
        """Record ``name`` from ``per_seed`` (see :func:`seed_check` for ``ours``)."""
        return seed_check(self.results, name, per_seed, self.checked, **kwargs)


def sanity_check(
    results: Results,
    name: str,
    value: float,
    rule: str,
    *,
    ours: Mapping[str, object],
    passed: bool | None = None,
) -> Check:
    """Record the sanity check ``name`` of :data:`CLAIMS`: ``value`` at most :data:`SANITY_TOLERANCE`."""
    c = CLAIM[name]
    return results.check(
        name,
        kind=c.kind,
        claim=c.claim,
        paper=c.paper,
        value=value,
        threshold=SANITY_TOLERANCE,
        direction="<=",
        rule=rule,
        ours=ours,
        **({} if passed is None else {"passed": passed}),
    )


@dataclass(frozen=True)
class Evidence:
    """Everything the chapter's checks read, each a per-league-seed mapping or one value."""

    raw_r: Mapping[int, float]  # r(ORR, CSR) across players, per league seed
    n_players: int
    separation: (
        pd.DataFrame
    )  # separated_pairs: per league seed, matched and separated pairs
    beyond: Mapping[
        int, float
    ]  # affordable win rate - raw win rate of over-budget builds
    counterfactual: pd.DataFrame  # probes.budget_counterfactual rows
    d_csr_prose: Mapping[
        int, float
    ]  # prose CSR, RL late - SFT, mean over training seeds
    flip: pd.DataFrame  # flip test of RL late per league seed, mean over training seeds
    d_wr: Mapping[int, float]  # WR, RL late - SFT, mean over training seeds
    characters: Mapping[str, float]  # character_counts
    table: pd.DataFrame  # the player table (means over league seeds)
    training_seeds: int


def record_checks(results: Results, seeds: Sequence[int], ev: Evidence) -> None:
    """Record section 4's findings and controls from ``ev`` under their rules (the sanity checks
    are recorded where they are computed)."""
    check = SeedChecks(results, f"{len(seeds)} league seeds")
    m, se = gm.mean_se(list(ev.raw_r.values()))
    check(
        "orr_csr_raw",
        ev.raw_r,
        ours={"players": ev.n_players, "r mean": m, "r SE": se, "paper r": -0.51},
    )
    sep = ev.separation
    check(
        "process_separates_matched_wr",
        sep["share separated"].to_dict(),
        ours={
            "matched pairs per seed": float(sep["matched pairs"].mean()),
            "separated pairs per seed": float(sep["separated"].mean()),
            "chance share": CLAIM["process_separates_matched_wr"].threshold,
        },
    )
    cf = ev.counterfactual
    check(
        "budget_beyond_rule",
        ev.beyond,
        ours={
            "over-budget kept rounds": len(cf),
            "won (budget rule on)": float(cf["win"].mean()),
            "won (budget rule off)": float(cf["raw win"].mean()),
            "won, made affordable": float(cf["affordable win"].mean()),
        },
    )
    check(
        "rl_raises_csr_prose",
        ev.d_csr_prose,
        ours={
            f"prose CSR {c}, mean over {ev.training_seeds} training seeds": float(
                np.mean(
                    [
                        ev.table.loc[replica_names(k)[i], "CSR_paper"]
                        for k in range(ev.training_seeds)
                    ]
                )
            )
            for i, c in enumerate(("SFT", "RL late"))
        },
    )
    check(
        "feedback_used",
        ev.flip["effect"].to_dict(),
        ours={
            "keep after a win": float(ev.flip["keep after a win"].mean()),
            "keep after a loss": float(ev.flip["keep after a loss"].mean()),
            "answers changed, opponent's build swapped": float(
                ev.flip["opponent effect"].mean()
            ),
            "turns per seed": float(ev.flip["turns"].mean()),
        },
    )
    check("rl_beats_sft", ev.d_wr, ours={"training seeds": ev.training_seeds})
    sanity_check(
        results,
        "three_characters",
        ev.characters["fewer than three characters"],
        "share of the tested players' builds in play with one or two characters",
        ours=dict(ev.characters),
    )


# --- Sections 1 and 5: the engines' speed, the players --------------------------------------


EDGE_CASES = {
    "no kept round": ([], []),
    "a single round": ([1], [20]),
    "no revision at all": ([0, 1, 1], [18, 18, 18]),
    "ties only (no winner)": ([0, 0, 0], [17, 18, 17]),
}


def metric_edge_cases(budget: float = 18) -> dict[str, dict[str, float]]:
    """Section 3's edge cases: :func:`.metrics.process_metrics` of each kept sequence
    (wins, costs) in :data:`EDGE_CASES`, where the benchmark's code defines the value."""
    return {
        name: gm.process_metrics(wins, costs, budget)
        for name, (wins, costs) in EDGE_CASES.items()
    }


def time_simulations(
    games: Iterable, rng: np.random.Generator, n: int = 300
) -> tuple[dict, dict]:
    """Milliseconds per simulation of ``n`` random build pairs per game, and the defenders' win share."""
    speed, defender_wins = {}, {}
    for g in games:
        pairs = [
            (g.random_build("defender", rng), g.random_build("invader", rng))
            for _ in range(n)
        ]
        start = time.perf_counter()
        outcomes = [g.simulate(d, i) for d, i in pairs]
        speed[g.name] = (time.perf_counter() - start) / len(pairs) * 1e3
        defender_wins[g.name] = float(
            np.mean([o.winner == "defender" for o in outcomes])
        )
    return speed, defender_wins


def knob_table(league_players: Sequence, opponents: Sequence) -> pd.DataFrame:
    """The scripted revisers' knobs (section 5), league players first, then the fixed opponents."""
    knobs = pd.DataFrame(
        [
            {k: getattr(p, k) for k in KNOBS}
            for p in list(league_players) + list(opponents)
        ]
    )
    knobs["group"] = ["league"] * len(league_players) + ["fixed opponent"] * len(
        opponents
    )
    return knobs.set_index("name")


def plot_grpo(grpo_log: pd.DataFrame, marks: Mapping[str, int]) -> plt.Figure:
    """The RL stage per GRPO iteration (section 5's figure); ``marks`` places each checkpoint's line."""
    fig, axs = plt.subplots(1, 2, figsize=(10, 3.6))
    axs[0].plot(
        grpo_log.index,
        grpo_log["win"],
        color="k",
        label="share of the later rounds won (the reward)",
    )
    axs[0].plot(
        grpo_log.index,
        grpo_log["over_budget"],
        color="k",
        ls="--",
        label="answers over budget",
    )
    axs[1].plot(
        grpo_log.index, grpo_log["keep"], color="k", label="answers that keep the build"
    )
    axs[1].plot(
        grpo_log.index,
        grpo_log["kl_ref"],
        color="k",
        ls=":",
        label="KL to SFT (nats per token)",
    )
    for ax in axs:
        for name, it in marks.items():
            ax.axvline(it, color=COLOURS[name], lw=2, alpha=0.7)
        ax.set_xlabel("GRPO iteration")
        ax.legend(fontsize=8)
    axs[0].set(
        ylabel="share of sampled answers", title="Reward against the sparring partners"
    )
    axs[1].set(ylabel="share / nats", title="Keeping, and distance from the SFT policy")
    fig.tight_layout()
    return fig


def replica_names(k: int) -> tuple[str, str]:
    """The league names of training seed number ``k`` (0-based) of the SFT and RL late checkpoints."""
    return ("SFT", "RL late") if k == 0 else (f"SFT (t{k + 1})", f"RL late (t{k + 1})")


def replicas(
    recipe: learned.Recipe,
    demonstrators: Sequence[gp.Player],
    sparring: Sequence[gp.Player],
    n: int,
) -> dict[str, gp.Player]:
    """SFT and RL late of training seeds ``recipe.seed + 1 .. recipe.seed + n - 1`` (the same recipe
    otherwise, each trained once and cached), named by :func:`replica_names`."""
    out = {}
    for k in range(1, n):
        players, _ = learned.trained_players(
            replace(recipe, seed=recipe.seed + k), demonstrators, sparring
        )
        for checkpoint, name in zip(("SFT", "RL late"), replica_names(k)):
            players[checkpoint].name = name
            out[name] = players[checkpoint]
    return out


def over_training_seeds(
    values: pd.Series, seeds: Iterable[int], n: int
) -> dict[int, float]:
    """Per league seed, the mean over the ``n`` training seeds of RL late - SFT in ``values``."""
    seeds = list(seeds)
    per_k = [
        per_seed_difference(values, seeds, *replica_names(k)[::-1]) for k in range(n)
    ]
    return {s: float(np.mean([d[s] for d in per_k])) for s in seeds}


def training_summary(record: Mapping, recipe: learned.Recipe) -> str:
    """One line on the two training stages of section 5: demonstrations, SFT loss, GRPO iterations, time."""
    sft_losses = record["sft_losses"]
    return (
        f"{record['demonstrations']} demonstrations; SFT loss {sft_losses[0]:.2f} -> {np.mean(sft_losses[-20:]):.2f} "
        f"per token; {recipe.grpo.iterations} GRPO iterations of {recipe.grpo.matches} matches and groups of "
        f"{recipe.grpo.group_size}; trained in {record['seconds']:.0f} s"
        + (" (read from the cache now)" if record["cached"] else "")
    )


def example_answer(
    game: Game, player: gp.Player, codec: learned.Codec, seed: int
) -> tuple[str, str]:
    """The context ``player`` reads as defender after a loss, with the game's example builds, and its answer
    as the protocol parses it (the build and its rule violations). Samples from torch's random state."""
    example = gp.Turn(
        game,
        "defender",
        1,
        game.example("defender"),
        game.example("invader"),
        "invader",
        "",
        np.random.default_rng(seed),
    )
    answer, violations = game.parse("defender", player.act(example))
    read = "unparseable" if answer is None else game.describe("defender", answer)
    return codec.context(
        example
    ), f"{read} (rule violations: {'; '.join(violations) or 'none'})"


# --- Section 6: the league table and the radar charts ---------------------------------------

RADAR_AXES = ["WR", "CSR", "1 - OBR", "1 - ORR", "slope (scaled)"]


def radar_values(table: pd.DataFrame) -> pd.DataFrame:
    """The league table with every axis oriented outward-is-better: 1 - OBR, 1 - ORR, clip(0.5 + 5 slope, 0, 1)."""
    return pd.DataFrame(
        {
            "WR": table["WR"],
            "CSR": table["CSR"],
            "1 - OBR": 1 - table["OBR"],
            "1 - ORR": 1 - table["ORR"],
            "slope (scaled)": (0.5 + 5 * table["slope"]).clip(0, 1),
        }
    )


def plot_radar(
    table: pd.DataFrame, panels: Sequence[tuple[Sequence[str], str]]
) -> plt.Figure:
    """One polar panel per (players, title): each player's :func:`radar_values`, with its composite S."""
    radar = radar_values(table)
    angles = np.linspace(0, 2 * np.pi, len(RADAR_AXES), endpoint=False)
    fig, axs = plt.subplots(
        1, len(panels), figsize=(10, 4.6), subplot_kw={"projection": "polar"}
    )
    for ax, (names, title) in zip(np.atleast_1d(axs), panels):
        for name in names:
            values = np.r_[radar.loc[name].to_numpy(), radar.loc[name].iloc[0]]
            label = f"{name} (S = {table.loc[name, 'S']:.2f})"
            ax.plot(
                np.r_[angles, angles[0]], values, color=COLOURS[name], lw=2, label=label
            )
            ax.fill(np.r_[angles, angles[0]], values, color=COLOURS[name], alpha=0.08)
        ax.set_xticks(angles, RADAR_AXES, fontsize=9)
        ax.set_ylim(0, 1)
        ax.set_yticks([0.5, 1.0], ["0.5", "1"], fontsize=8)
        ax.set_title(title, pad=18)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def match_log(
    logs: pd.DataFrame, seed: int, player: str, opponent: str, role: str, tag: str
) -> pd.DataFrame:
    """The rounds of one match of the league: ``player`` in ``role``, moving ``tag``, against ``opponent``."""
    return logs[
        (logs["seed"] == seed)
        & (logs["player"] == player)
        & (logs["opponent"] == opponent)
        & (logs["role"] == role)
        & (logs["tag"] == tag)
    ]


def described_trace(
    logs: pd.DataFrame,
    game: Game,
    seed: int,
    player: str,
    opponent: str,
    role: str = "defender",
    tag: str = "first",
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Section 6's revision trace of one league match, with its metrics.

    Returns :func:`.metrics.revision_trace` of ``player`` in ``role`` moving ``tag`` against
    ``opponent`` in league seed ``seed``, its own builds described in words, and the process
    metrics (:data:`.metrics.METRICS`) of that match alone, against ``role``'s budget.
    """
    one = match_log(logs, seed, player, opponent, role, tag)
    trace = gm.revision_trace(one, role, tag)
    trace["own build"] = [
        game.describe(role, json.loads(b)) for b in trace["own build"]
    ]
    metrics = gm.match_metrics(one, role, tag, game.budgets[role])
    return trace, {k: v for k, v in metrics.items() if k in gm.METRICS}


# --- Section 7: does training change the process? -------------------------------------------


def slope_per_match(per_match: pd.DataFrame) -> pd.Series:
    """The improvement slope per (league seed, player): a regression per match, then the mean over matches."""
    return per_match.groupby(["seed", "player"], sort=False)["slope"].mean()


def checkpoint_behaviour(
    table: pd.DataFrame,
    kept: pd.DataFrame,
    slope_match: pd.Series,
    names: Sequence[str] = CHECKPOINTS,
) -> pd.DataFrame:
    """Section 7's table: the checkpoints' metrics and how often each changes its build after a loss and a win."""
    names = list(names)
    ck = kept[kept["player"].isin(names)]
    return pd.DataFrame(
        {
            "WR": table.loc[names, "WR"],
            "OBR": table.loc[names, "OBR"],
            "ORR": table.loc[names, "ORR"],
            "CSR": table.loc[names, "CSR"],
            "CSR (prose)": table.loc[names, "CSR_paper"],
            "slope per match": slope_match.groupby("player").mean().loc[names],
            "slope, pooled CSV": table.loc[names, "slope"],
            "changes build after a loss": ck[~ck["after_win"]]
            .groupby("player")["revised"]
            .mean()
            .reindex(names),
            "changes build after a win": ck[ck["after_win"]]
            .groupby("player")["revised"]
            .mean()
            .reindex(names),
            "violations per CSV": table.loc[names, "violations"],
        }
    )


def per_seed_difference(
    values: pd.Series, seeds: Iterable[int], a: str = "RL late", b: str = "SFT"
) -> dict[int, float]:
    """values[(seed, a)] - values[(seed, b)] for every league seed."""
    return {s: float(values[(s, a)] - values[(s, b)]) for s in seeds}


def difference_summary(differences: Mapping[str, Mapping[int, float]]) -> pd.DataFrame:
    """Mean and SE over the league seeds of each per-seed difference RL late - SFT."""
    summary = pd.DataFrame(
        {
            name: dict(zip(("mean", "SE"), gm.mean_se(list(d.values()))))
            for name, d in differences.items()
        }
    ).T
    summary.index.name = "RL late - SFT"
    return summary


def plot_win_curves(
    kept: pd.DataFrame, static_opponent: str, names: Sequence[str]
) -> plt.Figure:
    """Win rate at each kept round k, against the static opponent (left) and the adapting ones (right)."""
    curve = kept.groupby(["player", kept["opponent"] == static_opponent, "k"])[
        "win"
    ].mean()
    fig, axs = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, static, title in (
        (axs[0], True, f"against {static_opponent}"),
        (axs[1], False, "against the two adapting opponents"),
    ):
        for name in names:
            c = curve.loc[(name, static)]
            ax.plot(c.index, c.to_numpy(), marker="o", color=COLOURS[name], label=name)
        ax.set(
            xlabel="kept round k in the match (0 = after the first revision)",
            title=title,
            ylim=(0, 1),
            xticks=sorted(kept["k"].unique()),
        )
    axs[0].set_ylabel("win rate at k")
    axs[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def first_and_last_wins(
    kept: pd.DataFrame, names: Sequence[str] = CHECKPOINTS
) -> tuple[pd.Series, pd.Series]:
    """Each checkpoint's win rate at its first kept round (k = 0) and at the last one."""
    ck = kept[kept["player"].isin(list(names))]
    return (
        ck[ck["k"] == 0].groupby("player")["win"].mean(),
        ck[ck["k"] == ck["k"].max()].groupby("player")["win"].mean(),
    )


def training_quotes(
    behaviour: pd.DataFrame,
    k_first: pd.Series,
    k_last: pd.Series,
    d_csr: Mapping,
    d_slope: Mapping,
) -> dict[str, float]:
    """Section 7's reading of the checkpoints, RL late against SFT, as numbers for the prose
    (:func:`rlhfbook.report.display.quote`): wins in the first and last kept rounds, the mean
    and SE over league seeds of the prose-CSR and per-match-slope differences, how often
    each changes its build after a loss and after a win, and its over-budget share."""
    m_csr, se_csr = gm.mean_se(list(d_csr.values()))
    m_slope, se_slope = gm.mean_se(list(d_slope.values()))
    out = {"d_csr_prose": m_csr, "d_csr_prose_se": se_csr}
    out |= {"d_slope_match": m_slope, "d_slope_match_se": se_slope}
    for key, name in (("rl", "RL late"), ("sft", "SFT")):
        out[f"{key}_first_win"] = float(k_first[name])
        out[f"{key}_last_win"] = float(k_last[name])
        out[f"{key}_change_loss"] = float(
            behaviour.loc[name, "changes build after a loss"]
        )
        out[f"{key}_change_win"] = float(
            behaviour.loc[name, "changes build after a win"]
        )
        out[f"{key}_obr"] = float(behaviour.loc[name, "OBR"])
    return out


def frequent_builds(
    logs: pd.DataFrame, game: Game, player: str = "RL late", top: int = 2
) -> pd.DataFrame:
    """A player's ``top`` most frequent builds per side after round 1: share of rounds, cost, violations."""
    mine = logs[(logs["player"] == player) & (logs["round"] > 1)]
    is_def = (mine["role"] == "defender").to_numpy()
    played = pd.DataFrame(
        {
            "side": mine["role"].to_numpy(),
            "build": np.where(is_def, mine["defender_build"], mine["invader_build"]),
            "cost": np.where(is_def, mine["defender_cost"], mine["invader_cost"]),
            "violations": np.where(
                is_def, mine["defender_violations"], mine["invader_violations"]
            ),
        }
    )
    frequent = (
        played.groupby(["side", "build"], sort=False)
        .agg(
            rounds=("cost", "size"),
            cost=("cost", "first"),
            violations=("violations", "mean"),
        )
        .reset_index()
    )
    frequent["share of the side's rounds"] = frequent["rounds"] / frequent.groupby(
        "side"
    )["rounds"].transform("sum")
    frequent = (
        frequent.sort_values("rounds", ascending=False)
        .groupby("side", sort=False)
        .head(top)
    )
    frequent["build"] = [
        game.describe(side, json.loads(b))
        for side, b in zip(frequent["side"], frequent["build"])
    ]
    return frequent.drop(columns="rounds")


# --- Section 8: ORR against CSR ------------------------------------------------------------


def seed_correlations(
    seed_table: pd.DataFrame, seeds: Iterable[int], players: Sequence[str] | None = None
) -> pd.DataFrame:
    """Per league seed, across players: r(ORR, CSR) (the paper's -0.51), r(CSR, WR), r(ORR, WR) and the partial r.

    The partial correlation given WR is :func:`.metrics.partial_correlation` (section 8's
    equation). ``players`` restricts the players (default: all of the seed's rows).
    """
    rows = {}
    for s in seeds:
        x = (
            seed_table.loc[s]
            if players is None
            else seed_table.loc[s].loc[list(players)]
        )
        rows[s] = {
            "r(ORR, CSR)": float(stats.pearsonr(x["ORR"], x["CSR"]).statistic),
            "r(CSR, WR)": float(stats.pearsonr(x["CSR"], x["WR"]).statistic),
            "r(ORR, WR)": float(stats.pearsonr(x["ORR"], x["WR"]).statistic),
            "partial r(ORR, CSR | WR)": gm.partial_correlation(
                x["ORR"], x["CSR"], x["WR"]
            ),
        }
    correlations = pd.DataFrame.from_dict(rows, orient="index")
    correlations.index.name = "league seed"
    return correlations


def separated_pairs(
    per_match: pd.DataFrame,
    seed_table: pd.DataFrame,
    seeds: Iterable[int],
    margin: float = MATCHED_WR_MARGIN,
    metrics: Sequence[str] = ("ORR", "CSR"),
) -> pd.DataFrame:
    """Per league seed: the pairs of players win rate does not separate, and how many a process
    metric does.

    A pair (a, b) is *matched* when its win rates in the seed (``seed_table``) differ by less than
    ``margin``; a matched pair is *separated* when, for at least one of ``metrics``, the mean of
    the per-match differences a - b (``per_match`` rows paired by role, move order and opponent)
    lies beyond 2 SE of 0. Returns one row per seed: matched pairs, separated pairs, and the
    share separated (0 when no pair is matched).
    """
    keys, rows = ["role", "tag", "opponent"], {}
    for s in seeds:
        wr = seed_table.loc[s, "WR"]
        m = per_match[per_match["seed"] == s].set_index(["player", *keys]).sort_index()
        values = {p: m.loc[p, list(metrics)].to_numpy(float) for p in wr.index}
        matched = separated = 0
        names = list(wr.index)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                if abs(wr[a] - wr[b]) >= margin:
                    continue
                d = values[a] - values[b]
                se = d.std(axis=0, ddof=1) / np.sqrt(len(d))
                matched += 1
                separated += bool((np.abs(d.mean(axis=0)) > 2 * se).any())
        rows[s] = {
            "matched pairs": matched,
            "separated": separated,
            "share separated": separated / matched if matched else 0.0,
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "league seed"
    return out


def residual(y: pd.Series, x: pd.Series) -> pd.Series:
    """What is left of y after a least-squares line on x."""
    return y - np.polyval(np.polyfit(x, y, 1), x)


def _label(ax, x: pd.Series, y: pd.Series, names: Iterable[str]) -> None:
    for name in names:
        ax.annotate(
            name,
            (x[name], y[name]),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )


def plot_orr_csr(
    table: pd.DataFrame, labelled: Sequence[str], raw_r: float, partial_r: float
) -> plt.Figure:
    """Section 8's figure: CSR against ORR across players, raw (left) and with WR's fit removed from both
    (right). The points are the players' means over the league seeds; the titles quote the statistics the
    chapter reports, ``raw_r`` and ``partial_r``: the means over league seeds of the per-seed correlations
    (not the correlation of the plotted means, which is a different number)."""
    fig, axs = plt.subplots(1, 2, figsize=(10, 4))
    panels = (
        (
            table["ORR"],
            table["CSR"],
            "ORR",
            "CSR",
            f"raw: r = {raw_r:+.2f} (mean over seeds)",
        ),
        (
            residual(table["ORR"], table["WR"]),
            residual(table["CSR"], table["WR"]),
            "ORR minus its fit on WR",
            "CSR minus its fit on WR",
            f"given WR: partial r = {partial_r:+.2f} (mean over seeds)",
        ),
    )
    for ax, (x, y, xl, yl, title) in zip(axs, panels):
        ax.scatter(x, y, c=[colour(n) for n in table.index], s=45)
        _label(ax, x, y, labelled)
        ax.set(
            xlabel=f"{xl} (share of revisions)",
            ylabel=f"{yl} (share of corrections)",
            title=title,
        )
    fig.tight_layout()
    return fig


# --- Section 9: budget discipline ----------------------------------------------------------


def budget_evidence(
    seed_table: pd.DataFrame, kept: pd.DataFrame, seeds: Iterable[int]
) -> dict[str, dict]:
    """Per league seed: r(OBR, WR) across players, the share of over-budget kept rounds still won,
    and the share of kept rounds in which the opponent is over budget (section 9)."""
    seeds = list(seeds)
    return {
        "r(OBR, WR)": {
            s: float(
                stats.pearsonr(
                    seed_table.loc[s, "OBR"], seed_table.loc[s, "WR"]
                ).statistic
            )
            for s in seeds
        },
        "over-budget rounds won": {
            s: float(kept[(kept["seed"] == s) & kept["over"]]["win"].mean())
            for s in seeds
        },
        "opponent over budget": {
            s: float(kept[kept["seed"] == s]["opponent_over"].mean()) for s in seeds
        },
    }


def overspenders(heavy: pd.DataFrame) -> str:
    """The players with OBR >= 0.5 and their win rates, in one line (section 9)."""
    return "players with OBR >= 0.5: " + (
        ", ".join(f"{n} (OBR {r.OBR:.2f}, WR {r.WR:.2f})" for n, r in heavy.iterrows())
        or "none"
    )


def plot_obr_wr(table: pd.DataFrame, labelled: Sequence[str]) -> plt.Figure:
    """Section 9's figure: each player's win rate against its over-budget ratio."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.scatter(table["OBR"], table["WR"], c=[colour(n) for n in table.index], s=50)
    _label(ax, table["OBR"], table["WR"], labelled)
    ax.set(
        xlabel="OBR (share of kept builds over budget)",
        ylabel="WR (share of kept rounds won)",
        title="Win rate against over-budget ratio",
        xlim=(-0.05, 1),
        ylim=(0, 1),
    )
    return fig


# --- Section 10: the top player against adapting opponents ---------------------------------


def top_player_slopes(
    per_match: pd.DataFrame,
    seed_table: pd.DataFrame,
    table: pd.DataFrame,
    opponents: Sequence[str],
    seeds,
) -> tuple[dict, dict, pd.DataFrame]:
    """The top player by composite S per league seed, its slope per match against the adapting opponents
    (all but ``opponents[0]``, the static one), and each top player's slope per opponent."""
    adaptive = per_match[per_match["opponent"] != opponents[0]]
    slope_adaptive = slope_per_match(adaptive)
    top_player = {s: gm.composite(seed_table.loc[s]).idxmax() for s in seeds}
    top_slope = {s: float(slope_adaptive[(s, top_player[s])]) for s in seeds}
    by_opponent = per_match[
        per_match["player"].isin(set(top_player.values()))
    ].pivot_table(index="player", columns="opponent", values="slope", sort=False)[
        list(opponents)
    ]
    by_opponent["pooled CSV (benchmark order)"] = table.loc[by_opponent.index, "slope"]
    by_opponent["top player in seeds"] = [
        sum(v == n for v in top_player.values()) for n in by_opponent.index
    ]
    return top_player, top_slope, by_opponent


# --- Probes: the rules enforced, one build dominating, feedback used, overspending's cost ----


def character_counts(logs: pd.DataFrame, game: Game) -> dict[str, float]:
    """Share of the tested players' builds in play (every round) with 1-2 characters (against the
    rules) and with none (a forfeit: no legal first build after every try)."""
    counts = np.array(
        [
            len(json.loads(b)[game.keys[role]])
            for role, b in zip(
                logs["role"],
                np.where(
                    logs["role"] == "defender",
                    logs["defender_build"],
                    logs["invader_build"],
                ),
            )
        ]
    )
    return {
        "fewer than three characters": float(((counts > 0) & (counts < 3)).mean()),
        "empty (forfeit)": float((counts == 0).mean()),
    }


def dominance_report(
    game: Game,
    logs: pd.DataFrame,
    seed: int,
    n_candidates: int = 150,
    n_population: int = 150,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """The best fixed builds against the league's population: per side, ``n_candidates`` distinct
    builds played in ``logs`` each against ``n_population`` distinct opposing builds played there
    (disjoint draws). Returns the top three per side and the best win rate per side."""
    rng = np.random.default_rng([seed, 7])
    tops, best = [], {}
    for side in ("defender", "invader"):
        population = probes.distinct_builds(
            logs, "invader" if side == "defender" else "defender", n_population, rng
        )
        candidates = probes.distinct_builds(logs, side, n_candidates, rng)
        ranked = probes.dominance(game, side, candidates, population, rng)
        best[side] = float(ranked.loc[0, "win rate"])
        tops.append(ranked.head(3).assign(side=side))
    return pd.concat(tops).set_index("side"), best


def flip_by_seed(
    player: gp.Player, game: Game, logs: pd.DataFrame, seeds: Iterable[int]
) -> pd.DataFrame:
    """:func:`.probes.flip_test` of ``player`` on its own revision turns of each league seed."""
    rows = {
        s: probes.flip_test(
            player,
            probes.turns_from_logs(game, logs[logs["seed"] == s], player.name),
            seed=s,
        )
        for s in seeds
    }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "league seed"
    return out


def flip_tests(
    players: Mapping[str, gp.Player],
    game: Game,
    logs: pd.DataFrame,
    seeds: Sequence[int],
    n: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`flip_by_seed` of SFT and RL late of each of ``n`` training seeds: one row per checkpoint
    (means over league seeds), and RL late's values per league seed averaged over the training seeds."""
    per = {
        name: flip_by_seed(players[name], game, logs, seeds)
        for k in range(n)
        for name in replica_names(k)
    }
    table = pd.DataFrame({name: f.mean() for name, f in per.items()}).T
    return table, sum(per[replica_names(k)[1]] for k in range(n)) / n


# --- Sections 12 and 13: the second game, an LLM player -------------------------------------


def per_game_table(
    turn_based: pd.DataFrame, tower_defense: pd.DataFrame
) -> pd.DataFrame:
    """One league seed's win rates in both games and the tower-defence OBR, per scripted player."""
    per_game = pd.DataFrame(
        {
            "WR, turn-based": turn_based.loc[tower_defense.index, "WR"],
            "WR, tower defence": tower_defense["WR"],
            "OBR, tower defence": tower_defense["OBR"],
        }
    )
    per_game["WR gap"] = per_game["WR, tower defence"] - per_game["WR, turn-based"]
    return per_game


def llm_player(
    endpoint: str | None,
    model_name: str | None,
    new_tokens: int,
    prompt_tokens: int,
    seed: int,
):
    """Section 13's LLM player: through ``endpoint``, from ``model_name``, or the toy world's untrained model.

    Only the untrained model seeds torch (with ``seed``) before it is initialised.
    """
    if endpoint:
        return gp.EndpointPlayer(
            endpoint, model=model_name or "default", max_tokens=new_tokens
        )
    if model_name:
        return gp.LLMPlayer.from_pretrained(
            model_name, max_new_tokens=new_tokens, max_prompt_tokens=prompt_tokens
        )
    import torch

    torch.manual_seed(seed)
    tokenizer = build_tokenizer()
    return gp.LLMPlayer(
        new_model("tiny", tokenizer).eval(),
        tokenizer,
        name="toy-tiny-untrained",
        max_new_tokens=new_tokens,
        max_prompt_tokens=prompt_tokens,
    )


def llm_league(
    llm,
    games: Sequence,
    opponents: Sequence,
    rounds: int,
    seeds: Sequence[int],
    full: bool,
):
    """Section 13's matches: the league programme in every game when ``full`` (a real model), else one
    short match of the first game against the first opponent, in the first seed."""
    if full:
        return pr.run_league(
            list(games), [llm], opponents, rounds=rounds, seeds=list(seeds)
        )[0]
    return one_match(games[0], llm, opponents[0], rounds=rounds, seed=seeds[0])


def play_llm(
    P: Mapping,
    games: Sequence[Game],
    opponents: Sequence,
    seeds: Sequence[int],
    seed: int,
) -> tuple[gp.Player, pd.DataFrame]:
    """Section 13 in one call: the LLM player of profile ``P`` (:func:`llm_player`) and its log.

    A real model (``P.endpoint`` or ``P.model_name`` set) plays the league programme in every
    game on the first ``P.llm_seeds`` of ``seeds``; the cpu profile's untrained toy model plays
    one short match (:func:`llm_league`) in league seed ``seed``. Matches last
    ``P.llm_rounds`` revisions.
    """
    llm = llm_player(
        P.endpoint, P.model_name, P.llm_new_tokens, P.llm_prompt_tokens, seed
    )
    full = bool(P.endpoint or P.model_name)
    played = list(seeds)[: P.llm_seeds] if full else [seed]
    return llm, llm_league(llm, games, opponents, P.llm_rounds, played, full)


def one_match(
    game: Game, player: gp.Player, opponent: gp.Player, rounds: int, seed: int
) -> pd.DataFrame:
    """One match of ``player`` as defender moving first, labelled like a league's log."""
    return pr.play_match(game, player, opponent, rounds=rounds, seed=seed).assign(
        seed=seed,
        match=0,
        game=game.name,
        player=player.name,
        opponent=opponent.name,
        role="defender",
        tag="first",
    )


# --- Paper vs this book, and the summary ---------------------------------------------------


def comparison_table(
    *,
    league_size: int,
    parameters: int,
    rounds: int,
    matches: int,
    seeds: int,
    raw: tuple[float, float],
    n_players: int,
    partial: tuple[float, float],
    separation: tuple[float, float],
    beyond: tuple[float, float],
    heavy: pd.DataFrame,
    wr_gain: float,
    csr_gain: float,
    flip: float,
    min_rho: float,
) -> pd.DataFrame:
    """The chapter's "Paper vs this book" table; pairs are (mean, SE) over the league seeds."""
    overspenders = "; ".join(
        f"{n}: OBR {r.OBR:.2f}, WR {r.WR:.1%}" for n, r in heavy.iterrows()
    )
    rows = [
        (
            "players",
            "12 LLMs (API)",
            f"{league_size} scripted revisers drawn per league seed from family priors + the checkpoints of a trained {parameters:,}-parameter transformer",
        ),
        (
            "games",
            "tower defence, auto-battler, turn-based",
            "turn-based (all players), tower defence (scripted players, one seed)",
        ),
        (
            "rounds",
            "4,320",
            f"{rounds} simulated rounds in {matches} matches over {seeds} league seeds",
        ),
        (
            "r(ORR, CSR)",
            "-0.51 (p = 0.093) across 12 models",
            f"{raw[0]:+.2f} (SE {raw[1]:.2f}) across {n_players} players; given WR {partial[0]:+.2f} "
            f"(SE {partial[1]:.2f}, reported, not checked)",
        ),
        (
            "players win rate does not separate",
            "process metrics tell models apart (no number)",
            f"ORR or CSR separates {separation[0]:.2f} (SE {separation[1]:.2f}) of the pairs "
            f"within {MATCHED_WR_MARGIN} WR of each other; chance {chance_separation():.2f}",
        ),
        (
            "overspending",
            "Qwen-Plus: OBR 0.51, WR 25.6 %",
            f"affordable minus over-budget (rule off) win rate {beyond[0]:+.2f} (SE {beyond[1]:.2f}); "
            + (overspenders or "no player with OBR >= 0.5"),
        ),
        (
            "o3-mini: CSR 78.6 %, slope +0.041",
            "one model's values",
            "not testable: no player here is o3-mini; slopes are reported per player only",
        ),
        (
            "training",
            "not studied",
            f"RL late - SFT: WR {wr_gain:+.2f}, prose CSR {csr_gain:+.2f}; flip-test effect {flip:+.2f}",
        ),
        (
            "composite score",
            "not published",
            f"book's S, leave-one-out Spearman rho >= {min_rho:.2f}",
        ),
    ]
    return pd.DataFrame(rows, columns=["quantity", "paper", "this book"]).set_index(
        "quantity"
    )


def summary_quotes(
    status: Mapping[str, str],
    wr_gain: float,
    csr_gain: float,
    flip: Mapping[str, float],
) -> dict[str, object]:
    """The summary's own quotes (the rest are quoted where the chapter computes them):
    each check's status as ``status_<check>``, RL late's mean gains over SFT in WR and
    prose CSR, how often it keeps its build when told it won or lost, and how often its answer
    changes with the opponent's last build swapped (the flip test)."""
    return {
        **{f"status_{name}": st for name, st in status.items()},
        "wr_gain": float(wr_gain),
        "csr_gain": float(csr_gain),
        "flip_keep_win": float(flip["keep after a win"]),
        "flip_keep_loss": float(flip["keep after a loss"]),
        "flip_opponent": float(flip["opponent effect"]),
    }
