"""AdvGameBench's match protocol (``init.py`` + ``battle.py::main_loop``) and the league.

A match between a defender and an invader player:

1. **Initial builds.** Each player writes a build from the rules; an answer that is over
   budget or unparseable is sent back with feedback, up to ``attempts`` tries in all, and the
   last answer is kept even if still over budget (an unparseable one becomes the empty build).
2. **Alternating revisions.** Rounds r = 1 .. rounds + 1 each simulate the two current
   builds and record costs and the adjudicated winner; after round r <= rounds one side --
   alternating, starting with ``first`` -- sees the result and returns a full new build.
   So each side revises ``rounds / 2`` times and the last simulation evaluates the last
   revision (the official loops label that final simulation with a duplicate round number).
3. **Budget adjudication** (:func:`adjudicate`).

The league plays every tested player against every fixed opponent in every game and in the
four (tested role x moves first / second) settings.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from ..progress import track

from .base import SIDES, Build, Game, other
from .players import Player, Turn

SETTINGS: tuple[tuple[str, str], ...] = (
    ("defender", "first"), ("defender", "second"), ("invader", "first"), ("invader", "second"))


def adjudicate(defender_cost: float, invader_cost: float, budgets: dict[str, int], raw_winner: str) -> str:
    """The winner after the budget rule (``battle.py::decide_winner``).

    Exactly one side over budget: it loses. Neither: the simulation's winner stands. Both:
    the smaller relative overrun wins; equal relative overruns: ``"none"``.
    """
    over_d = max(defender_cost - budgets["defender"], 0) / budgets["defender"]
    over_i = max(invader_cost - budgets["invader"], 0) / budgets["invader"]
    if over_d == 0 and over_i == 0:
        return raw_winner
    if over_d < over_i:
        return "defender"
    if over_i < over_d:
        return "invader"
    return "none"


def _answer(game: Game, side: str, player: Player, turn: Turn) -> tuple[Build | None, list[str]]:
    return game.parse(side, player.act(turn))


def initial_build(game: Game, side: str, player: Player, rng: np.random.Generator,
                  attempts: int = 5) -> tuple[Build, list[str], int]:
    """Ask for a first build until it is parseable and within budget (``init.py``).

    Returns the build, the rule violations of the kept answer and the number of tries.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    feedback = ""
    for attempt in range(1, attempts + 1):
        build, violations = _answer(game, side, player, Turn(game, side, 0, feedback=feedback, rng=rng))
        if build is not None and not game.over_budget(side, build):
            return build, violations, attempt
        feedback = (f"Your previous answer was rejected: {'; '.join(violations)}" if build is None else
                    f"Your previous build cost {game.cost(side, build)}, over the budget of {game.budgets[side]}.")
    return (build if build is not None else game.empty(side)), violations, attempts


def _feedback(game: Game, side: str, winner: str, cost: int, violations: list[str]) -> str:
    result = {"none": "no winner", "defender": "the Defender won", "invader": "the Invader won"}[winner]
    text = f"Last round result: {result}. Your cost was {cost}, budget is {game.budgets[side]}."
    if violations:
        text += f" Rule violations in your last answer (ignored): {'; '.join(violations)}."
    return text


def play_match(game: Game, defender: Player, invader: Player, *, rounds: int = 10, first: str = "defender",
               seed: int | np.random.SeedSequence = 0, attempts: int = 5,
               initial: dict[str, tuple[Build, list[str]]] | None = None) -> pd.DataFrame:
    """One match as a tidy table, one row per simulated round.

    ``initial`` maps a side to a ready (build, violations) pair -- the benchmark writes each
    model's initial build once and reuses it in all its matches; sides not in it are asked.
    Columns: round, defender_cost, invader_cost, raw_winner, winner, margin, reviser (the
    side that revises after this round), <side>_violations (rule violations of the answer
    that produced the side's current build), <side>_build (JSON), <side>_player.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    other(first)  # validates
    rng = np.random.default_rng(seed)
    players = {"defender": defender, "invader": invader}
    builds, violations = {}, {}
    for side in SIDES:
        if initial and side in initial:
            builds[side], violations[side] = initial[side][0], list(initial[side][1])
        else:
            builds[side], violations[side], _ = initial_build(game, side, players[side], rng, attempts)
    order = (first, other(first))
    records = []
    for r in range(1, rounds + 2):
        out = game.simulate(builds["defender"], builds["invader"])
        costs = {side: game.cost(side, builds[side]) for side in SIDES}
        winner = adjudicate(costs["defender"], costs["invader"], game.budgets, out.winner)
        reviser = order[(r - 1) % 2] if r <= rounds else ""
        records.append({
            "round": r, "defender_cost": costs["defender"], "invader_cost": costs["invader"],
            "raw_winner": out.winner, "winner": winner, "margin": out.margin, "reviser": reviser,
            **{f"{s}_violations": len(violations[s]) for s in SIDES},
            **{f"{s}_build": json.dumps(builds[s]) for s in SIDES},
            **{f"{s}_player": players[s].name for s in SIDES},
        })
        if reviser:
            turn = Turn(game, reviser, r, builds[reviser], builds[other(reviser)], winner,
                        _feedback(game, reviser, winner, costs[reviser], violations[reviser]), rng)
            build, violations[reviser] = _answer(game, reviser, players[reviser], turn)
            if build is not None:  # unparseable: the previous build stays in play
                builds[reviser] = build
    return pd.DataFrame.from_records(records)


def run_league(games: Sequence[Game], players: Sequence[Player], opponents: Sequence[Player], *,
               rounds: int = 10, seed: int = 0, attempts: int = 5, shuffle_opponents: bool = False,
               progress: bool = True) -> tuple[pd.DataFrame, dict[str, float]]:
    """Every player x game x setting x fixed opponent (the loops of ``battle.py::__main__``).

    Each player's initial build per game and side is written once and reused in all its
    matches, as the benchmark's ``init.py`` does.
    Returns all match logs in one tidy table (match metadata: match, game, player, opponent,
    role, tag) in play order, and the timing (seconds, simulations, simulations per second).
    Each match draws from its own seed, so the league is reproducible. The benchmark plays
    the fixed opponents in the order given and pools them into one CSV, so its improvement
    slope also measures that order; ``shuffle_opponents`` draws the order at random for
    each (game, player, setting) instead.
    """
    logs = []
    n_sim0 = sum(g.n_simulations for g in games)
    start = time.perf_counter()
    order_rng = np.random.default_rng(np.random.SeedSequence([seed, 1_000_003]))
    everyone = list(players) + list(opponents)
    initial = {(gi, ei, side): initial_build(games[gi], side, everyone[ei],
                                             np.random.default_rng([seed, 2_000_003, gi, ei, k]), attempts)[:2]
               for gi in range(len(games)) for ei in range(len(everyone)) for k, side in enumerate(SIDES)}
    jobs = [(gi, pi, si, int(oi)) for gi in range(len(games)) for pi in range(len(players))
            for si in range(len(SETTINGS))
            for oi in (order_rng.permutation(len(opponents)) if shuffle_opponents else range(len(opponents)))]
    for match_id, (gi, pi, si, oi) in enumerate(track(jobs, desc="league matches", enabled=progress)):
        game, player, opponent = games[gi], players[pi], opponents[oi]
        role, tag = SETTINGS[si]
        sides = {role: player, other(role): opponent}
        idx = {role: pi, other(role): len(players) + oi}
        log = play_match(game, sides["defender"], sides["invader"], rounds=rounds,
                         first=role if tag == "first" else other(role),
                         seed=np.random.SeedSequence([seed, gi, pi, oi, si]), attempts=attempts,
                         initial={side: initial[(gi, idx[side], side)] for side in SIDES})
        logs.append(log.assign(match=match_id, game=game.name, player=player.name, opponent=opponent.name,
                               role=role, tag=tag))
    seconds = time.perf_counter() - start
    n_sim = sum(g.n_simulations for g in games) - n_sim0
    timing = {"seconds": seconds, "simulations": n_sim, "simulations_per_s": n_sim / seconds}
    return pd.concat(logs, ignore_index=True), timing


def save_csvs(logs: pd.DataFrame, root: Path) -> list[Path]:
    """Write the benchmark's layout: ``root/<game>/<role>_results/<tag>/<player>_results.csv``.

    As in ``battle.py``, one CSV per (player, role, tag) holds its matches against all fixed
    opponents one after the other.
    """
    paths = []
    for (game, player, role, tag), df in logs.groupby(["game", "player", "role", "tag"], sort=False):
        path = Path(root) / game / f"{role}_results" / tag / f"{player}_results.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(path, index=False)
        paths.append(path)
    return paths
