"""Probes of chapter 5's world and players: does feedback matter, does one build dominate, does
overspending cost wins beyond the budget rule?

* :func:`flip_test` -- the same revision turns answered twice, once told "you won" and once
  "you lost" (the result token flipped, everything else equal, the same random draws): a player
  that ignores the feedback keeps its build equally often in both; one that uses it does not.
  The same turns are also answered with the opponent's last build swapped for another one the
  player met (the result as it was): a player that ignores the opponent's build writes the same
  answers, one that responds to it does not.
* :func:`dominance` -- each candidate build's win rate against a population of opposing builds
  (budget adjudication included); a world where one build beats nearly everything leaves
  revision nothing to decide.
* :func:`budget_counterfactual` -- every over-budget kept build, and the same build made
  affordable (:meth:`Game.repair`), each simulated against the same opposing build. The
  over-budget build's *raw* result (the budget rule switched off) against the affordable build's
  adjudicated one says whether overspending costs wins beyond what the rule removes.

Used by chapter 5.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from rlhfbook.methods.games.base import Build, Game, other
from rlhfbook.methods.games.players import Player, Turn
from rlhfbook.methods.games.protocol import _feedback, adjudicate, results


def _pair(side: str, own: Build, opp: Build) -> tuple[Build, Build]:
    return (own, opp) if side == "defender" else (opp, own)


def shown(turn: Turn, won: bool, rng: np.random.Generator) -> Turn:
    """``turn`` with its last result replaced by a win (or a loss) of its side, and its feedback line to match."""
    winner = turn.side if won else other(turn.side)
    cost = turn.game.cost(turn.side, turn.own_build)
    return replace(
        turn,
        last_winner=winner,
        feedback=_feedback(turn.game, turn.side, winner, cost, []),
        rng=rng,
    )


def swapped_opponents(turns: Sequence[Turn], seed: int = 0) -> list[Build]:
    """For each turn, another opponent build the player met in ``turns`` (same side, a different
    build, drawn with a generator seeded by ``(seed, i)``), or a random build of the opponent's side
    when the turns hold no other one."""
    pool: dict[str, dict[str, Build]] = {}
    for t in turns:
        pool.setdefault(t.side, {})[json.dumps(t.opponent_build, sort_keys=True)] = (
            t.opponent_build
        )
    out = []
    for i, t in enumerate(turns):
        rng = np.random.default_rng([seed, i, 1])
        mine = json.dumps(t.opponent_build, sort_keys=True)
        others = [b for k, b in sorted(pool[t.side].items()) if k != mine]
        out.append(
            others[rng.integers(len(others))]
            if others
            else t.game.random_build(other(t.side), rng)
        )
    return out


def _answers(player: Player, asked: Sequence[Turn], seed: int) -> list[Build | None]:
    import torch

    torch.manual_seed(seed)
    texts = player.act_batch(asked)
    return [t.game.parse(t.side, text)[0] for t, text in zip(asked, texts)]


def flip_test(player: Player, turns: Sequence[Turn], seed: int = 0) -> dict[str, float]:
    """Does ``player`` use the feedback of its revision ``turns``? Two perturbations of its input.

    *Result token*: P(keep | shown a win) and P(keep | shown a loss), and their difference
    (``effect``). *Opponent's last build*: the share of turns whose answer changes when the
    opponent's build is swapped for another (:func:`swapped_opponents`) and the result is shown
    as it was, a tie as a loss (``opponent effect``). Every pass draws the same random numbers: each turn gets a
    generator seeded by ``(seed, i)``, and torch (a neural player samples from it) is seeded with
    ``seed`` before each pass. An answer *keeps* when it parses to the player's current build (an
    illegal or unparseable answer also leaves the build in play, so it counts as a keep too).
    """

    def rng(i: int) -> np.random.Generator:
        return np.random.default_rng([seed, i])

    keep = {}
    for won in (True, False):
        asked = [shown(t, won, rng(i)) for i, t in enumerate(turns)]
        keep[won] = np.array(
            [
                b is None or b == t.own_build
                for t, b in zip(asked, _answers(player, asked, seed))
            ],
            dtype=float,
        )
    as_met = [shown(t, t.last_winner == t.side, rng(i)) for i, t in enumerate(turns)]
    other_opp = [
        replace(t, opponent_build=b, rng=rng(i))
        for i, (t, b) in enumerate(zip(as_met, swapped_opponents(turns, seed)))
    ]
    changed = [
        a != b
        for a, b in zip(
            _answers(player, as_met, seed), _answers(player, other_opp, seed)
        )
    ]
    return {
        "keep after a win": float(keep[True].mean()),
        "keep after a loss": float(keep[False].mean()),
        "effect": float(keep[True].mean() - keep[False].mean()),
        "opponent effect": float(np.mean(changed)) if changed else 0.0,
        "turns": len(turns),
    }


def turns_from_logs(
    game: Game, logs: pd.DataFrame, player: str, limit: int | None = None
) -> list[Turn]:
    """The revision turns ``player`` met in league ``logs``: its build, the opponent's, the result
    it saw and the results of the match's earlier rounds."""
    mine = logs[(logs["player"] == player) & (logs["reviser"] == logs["role"])]
    if limit is not None:
        mine = mine.iloc[:limit]
    winners = logs.groupby("match", sort=False)["winner"].apply(list).to_dict()
    turns = []
    for row in mine.itertuples(index=False):
        side, r = row.role, int(row.round)
        earlier = [{"winner": w} for w in winners[row.match][: r - 1]]
        turns.append(
            Turn(
                game,
                side,
                r,
                json.loads(getattr(row, f"{side}_build")),
                json.loads(getattr(row, f"{other(side)}_build")),
                row.winner,
                history=results(earlier, side),
            )
        )
    return turns


def dominance(
    game: Game,
    side: str,
    candidates: Sequence[Build],
    population: Sequence[Build],
    rng: np.random.Generator | None = None,
) -> pd.DataFrame:
    """Each candidate ``side`` build's win rate against every build of ``population`` (the other side),
    after budget adjudication; sorted best first, with the build described and its cost. ``rng``
    draws a game's outcome noise (one simulation per pair)."""
    rows = []
    for build in candidates:
        wins = 0
        for opp in population:
            d, i = _pair(side, build, opp)
            winner = adjudicate(
                game.cost("defender", d),
                game.cost("invader", i),
                game.budgets,
                game.simulate(d, i, rng).winner,
            )
            wins += winner == side
        rows.append(
            {
                "build": game.describe(side, build),
                "cost": game.cost(side, build),
                "win rate": wins / len(population),
            }
        )
    return (
        pd.DataFrame(rows)
        .sort_values("win rate", ascending=False, kind="stable")
        .reset_index(drop=True)
    )


def distinct_builds(
    logs: pd.DataFrame, side: str, n: int, rng: np.random.Generator
) -> list[Build]:
    """Up to ``n`` distinct ``side`` builds played in ``logs``, drawn at random."""
    unique = logs[f"{side}_build"].drop_duplicates().to_numpy()
    pick = rng.choice(len(unique), size=min(n, len(unique)), replace=False)
    return [json.loads(unique[i]) for i in sorted(pick)]


def budget_counterfactual(
    game: Game, logs: pd.DataFrame, seed: int = 0
) -> pd.DataFrame:
    """Every kept round of league ``logs`` whose tested build is over budget: its adjudicated and raw
    (budget rule off) result, and the adjudicated result of the same build made affordable
    (:meth:`Game.repair`) against the same opposing build. One row per such round."""
    rng = np.random.default_rng(seed)
    kept = (logs["round"] != 1) & (
        logs["round"] % 2 == (logs["tag"] == "second").astype(int)
    )
    rows = []
    for r in logs[kept].to_dict(orient="records"):
        side = r["role"]
        own = json.loads(r[f"{side}_build"])
        if not game.over_budget(side, own):
            continue
        opp = json.loads(r[f"{other(side)}_build"])
        d, i = _pair(side, game.repair(side, own, rng), opp)
        cf = adjudicate(
            game.cost("defender", d),
            game.cost("invader", i),
            game.budgets,
            game.simulate(d, i, rng).winner,
        )
        rows.append(
            {
                "seed": r.get("seed", 0),
                "player": r["player"],
                "win": float(r["winner"] == side),
                "raw win": float(r["raw_winner"] == side),
                "affordable win": float(cf == side),
            }
        )
    return pd.DataFrame(
        rows, columns=["seed", "player", "win", "raw win", "affordable win"]
    )


def beyond_rule(counterfactual: pd.DataFrame) -> dict[int, float]:
    """Per league seed: the affordable builds' win rate minus the over-budget builds' raw win rate
    (positive: overspending costs wins beyond what the budget rule removes)."""
    g = counterfactual.groupby("seed")
    return {
        int(s): float(v)
        for s, v in (g["affordable win"].mean() - g["raw win"].mean()).items()
    }
