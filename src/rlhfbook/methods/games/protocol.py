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

Used by chapter 5.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rlhfbook.core.progress import track
from rlhfbook.methods.games.base import SIDES, Build, Game, other
from rlhfbook.methods.games.players import Player, Turn

SETTINGS: tuple[tuple[str, str], ...] = (
    ("defender", "first"),
    ("defender", "second"),
    ("invader", "first"),
    ("invader", "second"),
)


def adjudicate(
    defender_cost: float, invader_cost: float, budgets: dict[str, int], raw_winner: str
) -> str:
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


def answers(requests: Sequence[tuple[Player, Turn]]) -> list[str]:
    """Every player's answers to its turns, with one :meth:`Player.act_batch` call per player.

    Matches played side by side ask their questions together, so a neural player answers a
    whole batch of turns in one forward pass; a scripted player answers them one by one.
    """
    out: list[str] = [""] * len(requests)
    groups: dict[int, tuple[Player, list[int]]] = {}
    for i, (player, _) in enumerate(requests):
        groups.setdefault(id(player), (player, []))[1].append(i)
    for player, index in groups.values():
        for i, text in zip(
            index, player.act_batch([requests[i][1] for i in index]), strict=True
        ):
            out[i] = text
    return out


def initial_builds(
    requests: Sequence[tuple[Game, str, Player, np.random.Generator]], attempts: int = 5
) -> list[tuple[Build, list[str], int]]:
    """Ask for first builds until each is parseable and within budget (``init.py``).

    ``requests`` are (game, side, player, rng); all are asked together, attempt by attempt.
    Returns, per request, the build, the rule violations of the kept answer and the number
    of tries; after ``attempts`` the last answer is kept (an unparseable one: the empty build).
    """
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    feedback = [""] * len(requests)
    last: list[tuple[Build | None, list[str]]] = [(None, [])] * len(requests)
    done: dict[int, tuple[Build, list[str], int]] = {}
    for attempt in range(1, attempts + 1):
        pending = [i for i in range(len(requests)) if i not in done]
        if not pending:
            break
        texts = answers(
            [
                (
                    requests[i][2],
                    Turn(
                        requests[i][0],
                        requests[i][1],
                        0,
                        feedback=feedback[i],
                        rng=requests[i][3],
                    ),
                )
                for i in pending
            ]
        )
        for i, text in zip(pending, texts):
            game, side = requests[i][0], requests[i][1]
            build, violations = last[i] = game.parse(side, text)
            if build is not None and not game.over_budget(side, build):
                done[i] = (build, violations, attempt)
            elif build is None:
                feedback[i] = (
                    f"Your previous answer was rejected: {'; '.join(violations)}"
                )
            else:
                feedback[i] = (
                    f"Your previous build cost {game.cost(side, build)}, over the budget of {game.budgets[side]}."
                )
    for i, (build, violations) in enumerate(last):
        if i not in done:
            done[i] = (
                build if build is not None else requests[i][0].empty(requests[i][1]),
                violations,
                attempts,
            )
    return [done[i] for i in range(len(requests))]


def initial_build(
    game: Game, side: str, player: Player, rng: np.random.Generator, attempts: int = 5
) -> tuple[Build, list[str], int]:
    """One first build (see :func:`initial_builds`): the build, its rule violations, the tries."""
    return initial_builds([(game, side, player, rng)], attempts)[0]


def _feedback(
    game: Game, side: str, winner: str, cost: int, violations: list[str]
) -> str:
    result = {
        "none": "no winner",
        "defender": "the Defender won",
        "invader": "the Invader won",
    }[winner]
    text = f"Last round result: {result}. Your cost was {cost}, budget is {game.budgets[side]}."
    if violations:
        text += (
            f" Rule violations in your last answer (ignored): {'; '.join(violations)}."
        )
    return text


def results(records: Sequence[dict], side: str) -> tuple[str, ...]:
    """The rounds' results from ``side``'s view (won | lost | tie), in order (a turn's history)."""
    return tuple(
        "won" if r["winner"] == side else "tie" if r["winner"] == "none" else "lost"
        for r in records
    )


@dataclass
class Match:
    """One match to play: the game, both players and the protocol's settings.

    ``initial`` maps a side to a ready (build, violations) pair -- the benchmark writes each
    model's initial build once and reuses it in all its matches; sides not in it are asked.
    """

    game: Game
    defender: Player
    invader: Player
    rounds: int = 10
    first: str = "defender"
    seed: int | np.random.SeedSequence = 0
    initial: dict[str, tuple[Build, list[str]]] | None = None

    def __post_init__(self) -> None:
        if self.rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {self.rounds}")
        other(self.first)  # validates

    def player(self, side: str) -> Player:
        return self.defender if side == "defender" else self.invader


def play_matches(
    matches: Sequence[Match],
    *,
    attempts: int = 5,
    progress: bool = False,
    desc: str = "match rounds",
) -> list[pd.DataFrame]:
    """Play matches side by side, round by round; one tidy table per match, one row per round.

    Each match draws from its own random generator (seeded by ``Match.seed``), so a match's
    log does not depend on which other matches share its rounds. Columns: round,
    defender_cost, invader_cost, raw_winner, winner, margin, reviser (the side that revises
    after this round), <side>_violations (rule violations of the answer that produced the
    side's current build), <side>_build (JSON), <side>_player.
    """
    rngs = [np.random.default_rng(m.seed) for m in matches]
    builds: list[dict[str, Build]] = [{} for _ in matches]
    violations: list[dict[str, list[str]]] = [{} for _ in matches]
    for side in (
        SIDES
    ):  # the defender's first build, then the invader's, as one match would ask
        asked = [
            i for i, m in enumerate(matches) if not (m.initial and side in m.initial)
        ]
        for i, m in enumerate(matches):
            if i not in asked:
                builds[i][side], violations[i][side] = (
                    m.initial[side][0],
                    list(m.initial[side][1]),
                )
        ready = initial_builds(
            [(matches[i].game, side, matches[i].player(side), rngs[i]) for i in asked],
            attempts,
        )
        for i, (build, v, _) in zip(asked, ready):
            builds[i][side], violations[i][side] = build, v
    records: list[list[dict]] = [[] for _ in matches]
    longest = max((m.rounds for m in matches), default=0)
    for r in track(range(1, longest + 2), desc=desc, enabled=progress):
        requests, revising = [], []
        for i, m in enumerate(matches):
            if r > m.rounds + 1:
                continue
            game, b = m.game, builds[i]
            out = game.simulate(b["defender"], b["invader"], rngs[i])
            costs = {side: game.cost(side, b[side]) for side in SIDES}
            winner = adjudicate(
                costs["defender"], costs["invader"], game.budgets, out.winner
            )
            order = (m.first, other(m.first))
            reviser = order[(r - 1) % 2] if r <= m.rounds else ""
            records[i].append(
                {
                    "round": r,
                    "defender_cost": costs["defender"],
                    "invader_cost": costs["invader"],
                    "raw_winner": out.winner,
                    "winner": winner,
                    "margin": out.margin,
                    "reviser": reviser,
                    **{f"{s}_violations": len(violations[i][s]) for s in SIDES},
                    **{f"{s}_build": json.dumps(b[s]) for s in SIDES},
                    **{f"{s}_player": m.player(s).name for s in SIDES},
                }
            )
            if reviser:
                requests.append(
                    (
                        m.player(reviser),
                        Turn(
                            game,
                            reviser,
                            r,
                            b[reviser],
                            b[other(reviser)],
                            winner,
                            _feedback(
                                game,
                                reviser,
                                winner,
                                costs[reviser],
                                violations[i][reviser],
                            ),
                            rngs[i],
                            results(records[i][:-1], reviser),
                            i,
                        ),
                    )
                )
                revising.append(i)
        for i, (_, turn), text in zip(revising, requests, answers(requests)):
            build, violations[i][turn.side] = matches[i].game.parse(turn.side, text)
            if build is not None:  # unparseable: the previous build stays in play
                builds[i][turn.side] = build
    return [pd.DataFrame.from_records(rec) for rec in records]


def play_match(
    game: Game,
    defender: Player,
    invader: Player,
    *,
    rounds: int = 10,
    first: str = "defender",
    seed: int | np.random.SeedSequence = 0,
    attempts: int = 5,
    initial: dict[str, tuple[Build, list[str]]] | None = None,
) -> pd.DataFrame:
    """One match as a tidy table (see :class:`Match` and :func:`play_matches`)."""
    return play_matches(
        [Match(game, defender, invader, rounds, first, seed, initial)],
        attempts=attempts,
    )[0]


def run_league(
    games: Sequence[Game],
    players: Sequence[Player] | Mapping[int, Sequence[Player]],
    opponents: Sequence[Player],
    *,
    rounds: int = 10,
    seeds: Sequence[int] = (0,),
    attempts: int = 5,
    shuffle_opponents: bool = False,
    progress: bool = True,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Every player x game x setting x fixed opponent (the loops of ``battle.py::__main__``), per league seed.

    Each player's initial build per game and side is written once per league seed and reused in
    all its matches, as the benchmark's ``init.py`` does. Returns all match logs in one tidy table
    (match metadata: seed, match, game, player, opponent, role, tag) in play order, and the timing
    (seconds, simulations, simulations per second). All matches are played side by side
    (:func:`play_matches`) and each draws from its own seed, so the league is reproducible. The
    benchmark plays the fixed opponents in the order given and pools them into one CSV, so its
    improvement slope also measures that order; ``shuffle_opponents`` draws the order at random
    for each (game, player, setting) instead. ``players`` may map each league seed to its own
    players (a population drawn per seed); a player's position in its list seeds its matches.
    """
    n_sim0 = sum(g.n_simulations for g in games)
    start = time.perf_counter()
    roster = (
        {s: list(players[s]) for s in seeds}
        if isinstance(players, Mapping)
        else {s: list(players) for s in seeds}
    )
    everyone = {s: roster[s] + list(opponents) for s in seeds}
    keys = [
        (s, gi, ei, k)
        for s in seeds
        for gi in range(len(games))
        for ei in range(len(everyone[s]))
        for k in range(len(SIDES))
    ]
    ready = initial_builds(
        [
            (
                games[gi],
                SIDES[k],
                everyone[s][ei],
                np.random.default_rng([s, 2_000_003, gi, ei, k]),
            )
            for s, gi, ei, k in keys
        ],
        attempts,
    )
    initial = {key: r[:2] for key, r in zip(keys, ready)}
    jobs, meta = [], []
    for s in seeds:
        order_rng = np.random.default_rng(np.random.SeedSequence([s, 1_000_003]))
        lineup = roster[s]
        for gi, pi, si in [
            (gi, pi, si)
            for gi in range(len(games))
            for pi in range(len(lineup))
            for si in range(len(SETTINGS))
        ]:
            order = (
                order_rng.permutation(len(opponents))
                if shuffle_opponents
                else range(len(opponents))
            )
            for oi in map(int, order):
                role, tag = SETTINGS[si]
                sides = {role: lineup[pi], other(role): opponents[oi]}
                idx = {role: pi, other(role): len(lineup) + oi}
                jobs.append(
                    Match(
                        games[gi],
                        sides["defender"],
                        sides["invader"],
                        rounds,
                        role if tag == "first" else other(role),
                        np.random.SeedSequence([s, gi, pi, oi, si]),
                        {
                            side: initial[(s, gi, idx[side], k)]
                            for k, side in enumerate(SIDES)
                        },
                    )
                )
                meta.append(
                    dict(
                        seed=s,
                        match=len(meta),
                        game=games[gi].name,
                        player=lineup[pi].name,
                        opponent=opponents[oi].name,
                        role=role,
                        tag=tag,
                    )
                )
    logs = play_matches(
        jobs, attempts=attempts, progress=progress, desc="league rounds"
    )
    lengths = [len(log) for log in logs]
    table = pd.concat(logs, ignore_index=True)
    for key in meta[0]:
        table[key] = np.repeat([m[key] for m in meta], lengths)
    seconds = time.perf_counter() - start
    n_sim = sum(g.n_simulations for g in games) - n_sim0
    timing = {
        "seconds": seconds,
        "simulations": n_sim,
        "simulations_per_s": n_sim / seconds,
    }
    return table, timing


def save_csvs(logs: pd.DataFrame, root: Path) -> list[Path]:
    """Write the benchmark's layout: ``root/<game>/<role>_results/<tag>/<player>_results.csv``.

    As in ``battle.py``, one CSV per (player, role, tag) holds its matches against all fixed
    opponents one after the other.
    """
    paths = []
    for (game, player, role, tag), df in logs.groupby(
        ["game", "player", "role", "tag"], sort=False
    ):
        path = Path(root) / game / f"{role}_results" / tag / f"{player}_results.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(path, index=False)
        paths.append(path)
    return paths
