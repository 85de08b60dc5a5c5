"""Chapter 5's probes: the feedback-flip test, the dominance report, the budget counterfactual."""

import json

import numpy as np
import pandas as pd
import pytest

from rlhfbook.methods.games import TurnBased, probes
from rlhfbook.methods.games import players as gp
from rlhfbook.methods.games import protocol as pr


def _turns(game, n=40, seed=0):
    rng = np.random.default_rng(seed)
    return [
        gp.Turn(
            game,
            side,
            2,
            game.random_build(side, rng),
            game.random_build("invader" if side == "defender" else "defender", rng),
            side,
        )
        for side in ("defender", "invader")
        for _ in range(n // 2)
    ]


def test_flip_test_finds_no_effect_in_a_player_that_ignores_feedback():
    game = TurnBased()
    ignores = gp.ScriptedReviser(
        "ignores", p_revise_loss=0.5, p_revise_win=0.5, quality=0.0
    )
    out = probes.flip_test(ignores, _turns(game), seed=3)
    assert out["effect"] == 0.0 and 0 < out["keep after a win"] < 1
    assert out["opponent effect"] == 0.0  # random edits never read the opponent's build
    assert out["turns"] == 40


def test_flip_test_finds_the_effect_in_a_player_that_uses_feedback():
    game = TurnBased()
    uses = gp.ScriptedReviser(
        "win-stay-lose-shift", p_revise_loss=1.0, p_revise_win=0.0, quality=0.0
    )
    out = probes.flip_test(uses, _turns(game), seed=3)
    assert out["keep after a win"] == 1.0
    assert out["keep after a loss"] < 0.2 and out["effect"] > 0.8
    # it reads the result but not the opponent's build: the two effects are separate
    assert out["opponent effect"] == 0.0


def test_flip_test_finds_the_opponent_effect_in_a_best_responder():
    game = TurnBased()
    responds = gp.ScriptedReviser(
        "best-response", p_revise_loss=1.0, p_revise_win=1.0, quality=1.0
    )
    out = probes.flip_test(responds, _turns(game), seed=3)
    assert out["effect"] == 0.0  # revises whatever the result
    assert out["opponent effect"] > 0.5  # its answer is a best response to that build


def test_swapped_opponents_are_other_builds_of_the_same_side():
    game = TurnBased()
    turns = _turns(game, 10)
    swapped = probes.swapped_opponents(turns, seed=1)
    assert len(swapped) == len(turns)
    for t, b in zip(turns, swapped):
        assert b != t.opponent_build
        assert b in [u.opponent_build for u in turns if u.side == t.side]
    assert swapped == probes.swapped_opponents(turns, seed=1)
    # a single opponent build: a random build of that side instead
    one = [
        gp.Turn(game, "defender", 2, t.own_build, turns[1].opponent_build)
        for t in turns[:3]
    ]
    for b in probes.swapped_opponents(one):
        assert b != turns[1].opponent_build
        assert game.parse("invader", json.dumps(b))[1] == []


def test_shown_rewrites_result_and_feedback():
    game = TurnBased()
    turn = _turns(game, 2)[0]
    lost = probes.shown(turn, False, np.random.default_rng(0))
    assert lost.last_winner == "invader" and "the Invader won" in lost.feedback
    assert lost.own_build is turn.own_build


def test_dominance_report_ranks_builds_by_win_rate():
    game = TurnBased()
    rng = np.random.default_rng(0)
    population = [game.random_build("invader", rng) for _ in range(30)]
    strong = game.planned_build("defender", rng, drafts=64)
    weak = {
        "defenders": [
            {"element": el, "skills": ["Bud Healing"] * 3} for el in ("Wood",)
        ]
        + [
            {"element": "Earth", "skills": ["Rock Armor"] * 3},
            {"element": "Light", "skills": ["Faith Emblem"] * 3},
        ]
    }  # heals and shields, no damage: cannot win
    over = game.inflate("defender", strong, rng, 30)  # over budget: loses by the rule
    report = probes.dominance(game, "defender", [weak, strong, over], population)
    assert list(report.columns) == ["build", "cost", "win rate"]
    assert report["win rate"].is_monotonic_decreasing
    assert report.loc[0, "build"] == game.describe("defender", strong)
    by_build = report.set_index("build")["win rate"]
    assert by_build[game.describe("defender", weak)] == 0.0
    assert by_build[game.describe("defender", over)] == 0.0
    # the win rate is the share of the population beaten, by hand
    wins = sum(game.simulate(strong, b).winner == "defender" for b in population)
    assert report.loc[0, "win rate"] == pytest.approx(wins / 30)


def test_budget_counterfactual_on_a_league():
    game = TurnBased()
    slipper = gp.ScriptedReviser("slipper", 1.0, 0.5, 0.3, slip=0.8)
    logs, _ = pr.run_league(
        [game],
        [slipper],
        [gp.ScriptedReviser("static", 0, 0, 0, planning=1.0)],
        rounds=4,
        seeds=[0, 1],
        progress=False,
    )
    cf = probes.budget_counterfactual(game, logs)
    assert len(cf) > 0 and set(cf["seed"]) == {0, 1}
    assert (
        cf["win"] == 0
    ).all()  # over budget against an opponent within it: lost by the rule
    beyond = probes.beyond_rule(cf)
    assert set(beyond) == {0, 1}
    for s, v in beyond.items():
        rows = cf[cf["seed"] == s]
        assert v == pytest.approx(
            rows["affordable win"].mean() - rows["raw win"].mean()
        )


def test_turns_from_logs_are_the_players_revision_turns():
    game = TurnBased()
    logs, _ = pr.run_league(
        [game],
        [gp.ScriptedReviser("a", 1.0, 0.0, 0.5)],
        [gp.ScriptedReviser("static", 0, 0, 0)],
        rounds=4,
        progress=False,
    )
    turns = probes.turns_from_logs(game, logs, "a")
    mine = logs[logs["reviser"] == logs["role"]]
    assert len(turns) == len(mine) == 4 * 2  # 4 settings x 2 revisions each
    t, row = turns[0], mine.iloc[0]
    assert t.side == row["role"] and t.last_winner == row["winner"]
    assert t.own_build == json.loads(row[f"{t.side}_build"])
    # the match's earlier results, from the turn's side
    for t, (_, r) in zip(turns, mine.iterrows()):
        earlier = logs[logs["match"] == r["match"]]["winner"].iloc[: t.round - 1]
        assert t.history == tuple(
            "won" if w == t.side else "tie" if w == "none" else "lost" for w in earlier
        )
    assert turns[1].history  # the second revision has earlier rounds
    assert isinstance(logs, pd.DataFrame)
