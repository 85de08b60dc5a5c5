"""The game engines: hand-checked outcomes, rule validation, determinism, speed."""

import json
import time

import numpy as np
import pytest

from rlhfbook.methods.games import GAMES, TowerDefense, TurnBased, parse_build
from rlhfbook.methods.games.turn_based import multiplier


def _solo(element, skill, key):
    return {key: [{"element": element, "skills": [skill] * 3}]}


def test_turn_based_duel_by_hand():
    game = TurnBased()
    # Fire hits Wood for int(44 * 1.2) = 52 a turn; Wood heals 22: 100 -> 48 -> 70 -> 18 -> 40 -> dead.
    out = game.simulate(
        _solo("Wood", "Bud Healing", "defenders"),
        _solo("Fire", "Magma Eruption", "invaders"),
    )
    assert out.winner == "invader" and out.margin == pytest.approx(-100 / 300)


def test_elemental_multipliers():
    assert multiplier("Fire", "Wood") == 1.2 and multiplier("Wood", "Fire") == 0.8
    assert multiplier("Earth", "Water") == 1.2 and multiplier("Water", "Earth") == 0.8
    assert multiplier("Light", "Dark") == multiplier("Dark", "Light") == 1.5
    assert multiplier("Fire", "Light") == 1.0


def test_turn_based_validation_records_violations():
    game = TurnBased()
    build, violations = game.validate(
        "invader",
        {
            "invaders": [
                {
                    "element": "Fire",
                    "skills": [
                        "flame_splash",
                        "Nuke",
                        "Magma Eruption",
                        "Hell Curtain",
                        "Flame Splash",
                    ],
                },
                {"element": "Wood", "skills": ["Bud Healing"]},
                {"element": "Fire", "skills": ["Flame Splash"]},
            ]
        },
    )
    assert build == {
        "invaders": [
            {
                "element": "Fire",
                "skills": ["Flame Splash", "Magma Eruption", "Hell Curtain"],
            }
        ]
    }
    assert len(violations) == 5 and game.cost("invader", build) == 10
    assert violations[-1] == "fewer than three characters (1)"
    assert game.validate("invader", [1, 2]) == (
        {"invaders": []},
        ["missing list 'invaders'"],
    )


def test_turn_based_rejects_a_two_character_build():
    """The rules field three characters: a two-character build is rejected, not played."""
    game = TurnBased()
    three = game.example("defender")
    two = {"defenders": three["defenders"][:2]}
    build, violations = game.parse("defender", json.dumps(two))
    assert build is None and violations == ["fewer than three characters (2)"]
    assert game.parse("defender", json.dumps(three)) == (three, [])
    # the dominant build: one Wood character with Forest Reincarnation x3
    lone = {"defenders": [{"element": "Wood", "skills": ["Forest Reincarnation"] * 3}]}
    assert game.parse("defender", json.dumps(lone))[0] is None


def test_tower_defense_by_hand():
    game = TowerDefense()
    demon = {"demons": [{"name": "Normal", "y": 0, "spawn_time": 0}]}
    # no defence: the demon walks through and all its HP leaks
    assert game.simulate({"humans": []}, demon).margin == pytest.approx(-1.0)
    # a Handgun fires at ticks 0, 8, 16 (4 dmg each): the 10-HP demon dies after 16 steps of 0.1 cells
    out = game.simulate(
        {"humans": [{"name": "Handgun", "x": 0, "y": 0, "spawn_time": 0}]}, demon
    )
    assert out.winner == "defender" and out.margin == pytest.approx(
        0.2 + 0.8 * (11 - 1.6) / 11
    )
    # a unit in another row does nothing; nothing to defend against is a defender win
    assert (
        game.simulate(
            {"humans": [{"name": "Handgun", "x": 0, "y": 1, "spawn_time": 0}]}, demon
        ).winner
        == "invader"
    )
    assert game.simulate({"humans": []}, {"demons": []}).winner == "defender"


def test_shield_delays_the_leak():
    game = TowerDefense()
    king = {"demons": [{"name": "DemonKing", "y": 2, "spawn_time": 0}]}
    gun = {
        "name": "Handgun",
        "x": 0,
        "y": 2,
        "spawn_time": 0,
    }  # 4 dmg/s: 20 s for 80 HP
    assert (
        game.simulate({"humans": [gun]}, king).winner == "invader"
    )  # crossing takes 13.75 s
    shields = [{"name": "Shield", "x": x, "y": 2, "spawn_time": 0} for x in (4, 6, 8)]
    assert (
        game.simulate({"humans": [gun, *shields]}, king).winner == "defender"
    )  # 3 s per shield


def test_tower_defense_validation():
    game = TowerDefense()
    build, violations = game.validate(
        "defender",
        {
            "humans": [
                {"name": "Rifle", "x": 1, "y": 1},
                {"name": "Rifle", "x": 1, "y": 1},
                {"name": "Laser", "x": 2, "y": 2},
                {"name": "Rifle", "x": 11, "y": 0},
                {"name": "Rifle", "x": "a", "y": 0},
            ]
        },
    )
    assert build == {"humans": [{"name": "Rifle", "y": 1, "spawn_time": 0.0, "x": 1}]}
    assert len(violations) == 4 and game.cost("defender", build) == 200


def test_parse_build():
    assert parse_build('blah ```json\n{"a": {"b": "}"}}\n``` tail') == {"a": {"b": "}"}}
    assert parse_build('text {"a": 1} more {"b": 2}') == {"a": 1}
    for bad in ("no json here", "{'a': 1}", '{"a": 1'):
        with pytest.raises(ValueError, match="malformed JSON"):
            parse_build(bad)
    assert TurnBased().parse("defender", "I cannot") == (
        None,
        ["malformed JSON: no object found"],
    )


@pytest.mark.parametrize("name", sorted(GAMES))
def test_edits_respect_the_budget_and_the_rules(name):
    game, rng = GAMES[name](), np.random.default_rng(0)
    for side in ("defender", "invader"):
        for _ in range(20):
            build = game.random_build(side, rng)
            assert not game.over_budget(side, build) and game.validate(side, build) == (
                build,
                [],
            )
            mutated = game.mutate(side, build, rng)
            assert game.validate(side, mutated)[1] == []
            target = int(game.budgets[side] * 1.3)
            assert game.cost(side, game.inflate(side, build, rng, target)) >= target
            assert not game.over_budget(
                side, game.repair(side, game.inflate(side, build, rng, target), rng)
            )


@pytest.mark.parametrize("name", sorted(GAMES))
def test_simulation_is_deterministic_and_fast(name):
    game, rng = GAMES[name](), np.random.default_rng(0)
    pairs = [
        (game.random_build("defender", rng), game.random_build("invader", rng))
        for _ in range(100)
    ]
    start = time.perf_counter()
    outs = [game.simulate(d, i) for d, i in pairs]
    per_sim = (time.perf_counter() - start) / len(pairs)
    assert outs == [game.simulate(d, i) for d, i in pairs]
    assert all(
        o.winner in ("defender", "invader") and -1 <= o.margin <= 1 for o in outs
    )
    assert per_sim < 5e-3, f"{per_sim * 1e3:.2f} ms per simulation"
    assert game.n_simulations == 200


def test_turn_based_outcome_noise():
    """Without a generator (or with noise 0) a simulation is deterministic; with both, a build's
    result varies from simulation to simulation, and the same seed replays the same results."""
    rng = np.random.default_rng(0)
    quiet, noisy = TurnBased(), TurnBased(noise=0.3)
    pairs = [
        (quiet.random_build("defender", rng), quiet.random_build("invader", rng))
        for _ in range(30)
    ]
    assert [quiet.simulate(d, i, np.random.default_rng(1)) for d, i in pairs] == [
        quiet.simulate(d, i) for d, i in pairs
    ]
    assert [noisy.simulate(d, i) for d, i in pairs] == [
        quiet.simulate(d, i) for d, i in pairs
    ]
    d, i = pairs[0]
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    margins = [noisy.simulate(d, i, g1).margin for _ in range(50)]
    assert margins == [noisy.simulate(d, i, g2).margin for _ in range(50)]
    assert len(set(margins)) > 10
    flips = sum(
        len({noisy.simulate(d, i, g1).winner for _ in range(40)}) > 1 for d, i in pairs
    )
    assert flips > 0  # some results are not settled by the builds alone
    with pytest.raises(ValueError, match="noise"):
        TurnBased(noise=-0.1)
