"""The match protocol: adjudication, initial builds with retries, alternating revisions, the league."""

import json

import numpy as np
import pytest

from rlhfbook.methods.games import TowerDefense, TurnBased
from rlhfbook.methods.games.metrics import csv_metrics, kept_rounds
from rlhfbook.methods.games.players import Player, ScriptedReviser
from rlhfbook.methods.games.protocol import (
    Match,
    adjudicate,
    initial_build,
    initial_builds,
    play_match,
    play_matches,
    run_league,
    save_csvs,
)

BUDGETS = {"defender": 20, "invader": 20}


@pytest.mark.parametrize(
    "d,i,raw,expected",
    [
        (20, 20, "invader", "invader"),  # both within budget: the simulation decides
        (21, 20, "defender", "invader"),  # only the defender is over
        (20, 25, "invader", "defender"),  # only the invader is over
        (22, 25, "invader", "defender"),  # both over: the smaller relative overrun wins
        (22, 22, "invader", "none"),  # equal overruns: nobody wins
    ],
)
def test_adjudicate(d, i, raw, expected):
    assert adjudicate(d, i, BUDGETS, raw) == expected


def test_adjudicate_uses_relative_overrun():
    # TD: 2200 / 2000 is 10 % over, 1600 / 1500 is 6.7 % over -> the invader wins
    assert adjudicate(2200, 1600, TowerDefense.budgets, "defender") == "invader"


class Script(Player):
    """Replays fixed answers, then repeats the last one."""

    def __init__(self, answers, name="script"):
        self.answers, self.name, self.turns = list(answers), name, []

    def act(self, turn):
        self.turns.append(turn)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


CHEAP = json.dumps(  # three characters (the rules), one skill of cost 1 each
    {
        "defenders": [
            {"element": "Wood", "skills": ["Bud Healing"]},
            {"element": "Earth", "skills": ["Rock Armor"]},
            {"element": "Light", "skills": ["Faith Emblem"]},
        ]
    }
)
DEAR = json.dumps(
    {
        "defenders": [
            {"element": "Wood", "skills": ["Poison Vine"] * 3},
            {"element": "Earth", "skills": ["Core Rebound"] * 3},
            {"element": "Light", "skills": ["Faith Emblem"] * 3},
        ]
    }
)


def test_initial_build_retries_until_within_budget():
    game, player = TurnBased(), Script([DEAR, "garbage", CHEAP])
    build, violations, tries = initial_build(
        game, "defender", player, np.random.default_rng(0)
    )
    assert tries == 3 and violations == [] and game.cost("defender", build) == 3
    assert (
        "over the budget" in player.turns[1].feedback
        and "malformed JSON" in player.turns[2].feedback
    )


def test_initial_build_keeps_the_last_answer():
    game = TurnBased()
    build, _, tries = initial_build(
        game, "defender", Script([DEAR]), np.random.default_rng(0), attempts=5
    )
    assert tries == 5 and game.cost("defender", build) == 33
    build, violations, _ = initial_build(
        game, "defender", Script(["??"]), np.random.default_rng(0)
    )
    assert build == {"defenders": []} and violations
    with pytest.raises(ValueError, match="attempts"):
        initial_build(
            game, "defender", Script([CHEAP]), np.random.default_rng(0), attempts=0
        )


def test_match_alternates_and_records_violations():
    game = TurnBased()
    garbage = Script(["not json at all"], name="garbage")
    opponent = ScriptedReviser("opp", p_revise_loss=1.0, quality=0.0)
    log = play_match(game, garbage, opponent, rounds=6, first="invader", seed=0)
    assert len(log) == 7 and log["round"].tolist() == list(range(1, 8))
    assert log["reviser"].tolist() == ["invader", "defender"] * 3 + [""]
    assert (log["defender_violations"] > 0).all() and (log["defender_cost"] == 0).all()
    assert (log["winner"] == "invader").all()  # an empty team loses
    assert len(kept_rounds(log, "second")) == 3


def test_match_is_deterministic_and_checks_arguments():
    game, a, b = TowerDefense(), ScriptedReviser("a"), ScriptedReviser("b")
    assert play_match(game, a, b, rounds=4, seed=3).equals(
        play_match(game, a, b, rounds=4, seed=3)
    )
    with pytest.raises(ValueError, match="rounds"):
        play_match(game, a, b, rounds=0)
    with pytest.raises(ValueError, match="unknown side"):
        play_match(game, a, b, first="referee")


def test_league_shape_metrics_and_csvs(tmp_path):
    games = [TurnBased(), TowerDefense()]
    players = [
        ScriptedReviser("p1", quality=1.0, n_candidates=2),
        ScriptedReviser("p2", quality=0.0),
    ]
    opponents = [ScriptedReviser("o1", 0.0, 0.0), ScriptedReviser("o2", n_candidates=2)]
    logs, timing = run_league(
        games, players, opponents, rounds=4, seeds=[0], progress=False
    )
    assert (
        logs["match"].nunique() == 2 * 2 * 4 * 2
        and len(logs) == 32 * 5
        and set(logs["seed"]) == {0}
    )
    assert timing["simulations"] >= len(logs) and timing["simulations_per_s"] > 0
    budgets = {g.name: g.budgets for g in games}
    assert (
        len(csv_metrics(logs, budgets)) == 16
        and len(csv_metrics(logs, budgets, per_match=True)) == 32
    )
    # a player's initial build is shared by all its matches in one role (the benchmark's init.py)
    first = logs[
        (logs["round"] == 1)
        & (logs["player"] == "p1")
        & (logs["role"] == "defender")
        & (logs["game"] == "turn_based")
    ]
    assert first["defender_build"].nunique() == 1
    paths = save_csvs(logs, tmp_path)
    assert (
        len(paths) == 16
        and (
            tmp_path / "turn_based" / "invader_results" / "second" / "p2_results.csv"
        ).exists()
    )
    logs2, _ = run_league(
        games, players, opponents, rounds=4, seeds=[0], progress=False
    )
    assert logs.equals(logs2)
    # two league seeds: the first is the same league, the second a different one
    both, _ = run_league(
        games, players, opponents, rounds=4, seeds=[0, 1], progress=False
    )
    assert (
        both[both["seed"] == 0]
        .drop(columns="match")
        .reset_index(drop=True)
        .equals(logs.drop(columns="match"))
    )
    assert (
        not both[both["seed"] == 1]["defender_build"]
        .reset_index(drop=True)
        .equals(logs["defender_build"])
    )
    assert both["match"].nunique() == 2 * logs["match"].nunique()


def test_league_with_players_drawn_per_seed():
    game = TurnBased()
    opponents = [ScriptedReviser("o", 0.0, 0.0)]
    a0, a1 = ScriptedReviser("a", quality=0.0), ScriptedReviser("a", quality=1.0)
    roster = {0: [a0], 1: [a1]}
    logs, _ = run_league(
        [game], roster, opponents, rounds=4, seeds=[0, 1], progress=False
    )
    # each seed's matches are those of that seed's player, played alone
    for s, lineup in roster.items():
        alone, _ = run_league(
            [game], lineup, opponents, rounds=4, seeds=[s], progress=False
        )
        mine = logs[logs["seed"] == s].reset_index(drop=True)
        cols = ["round", "defender_build", "invader_build", "winner"]
        assert mine[cols].equals(alone[cols])
    assert set(logs["player"]) == {"a"}


def test_matches_played_side_by_side_equal_matches_played_alone():
    game = TurnBased()
    a, b = (
        ScriptedReviser("a", quality=1.0, n_candidates=3, slip=0.2),
        ScriptedReviser("b", p_revise_win=0.5),
    )
    matches = [
        Match(game, a, b, rounds=r, first=f, seed=s)
        for r, f, s in ((4, "defender", 0), (6, "invader", 1), (2, "defender", 2))
    ]
    together = play_matches(matches)
    for m, log in zip(matches, together):
        assert log.equals(
            play_match(
                game, m.defender, m.invader, rounds=m.rounds, first=m.first, seed=m.seed
            )
        )


class Counter(Player):
    """Counts how many batched calls it answers."""

    name = "counter"

    def __init__(self):
        self.calls = 0

    def act(self, turn):
        return CHEAP

    def act_batch(self, turns):
        self.calls += 1
        return [self.act(t) for t in turns]


def test_a_round_of_side_by_side_matches_asks_each_player_once():
    game, counter = TurnBased(), Counter()
    opponent = ScriptedReviser("o", 1.0, 1.0, quality=0.0)
    play_matches([Match(game, counter, opponent, rounds=4, seed=s) for s in range(5)])
    # one call for the initial builds, then one per round in which the counter revises (rounds 1 and 3)
    assert counter.calls == 1 + 2
    built = initial_builds([(game, "defender", counter, np.random.default_rng(0))] * 3)
    assert [tries for _, _, tries in built] == [1, 1, 1]
