"""A discrete-tick tower-defence game after AdvGameBench's Tower Defense (Humans vs Demons).

Humans (the defender, budget 2000) place units on a 5 x 11 board (rows y = 0..4, columns
x = 0..10, one unit per cell); Demons (the invader, budget 1500) enter a row at x = 11 at
their spawn time and walk left. Humans win when no demon reaches the left edge (x = 0)
within the time limit; Demons win when any does. The official simulator is a real-time
pygame loop (wall-clock ticks), so its outcomes can vary from run to run; here time moves in
fixed ticks of 125 ms and a simulation is a pure function of the two builds.

Rules of this version (a subset of the benchmark's units, same costs and roles):

* shooters fire every ``interval`` at the nearest demon in their row that is in front of
  them (hits are instant); Ice also halves the target's speed for 2 s;
* a demon that reaches a living human unit stops and hits it once per second;
* rows do not interact, so each row is simulated on its own;
* a shot does 4 damage instead of the benchmark's 1: with 1, demons won 98% of matches between
  random builds in this discrete version, with 4 two rules-planned builds split about evenly.

Used by chapter 5.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlhfbook.methods.games.base import Build, Game, Outcome

TICK_S = 0.125
ROWS, COLS, ENTRY_X = 5, 11, 11.0
TIME_LIMIT_S = 60.0
MAX_SPAWN_S = 30.0
SLOW_TICKS = 16  # Ice: 2 s at half speed
ATTACK_TICKS = 8  # demons hit once per second
SHOT_DAMAGE = 4  # the benchmark uses 1; see the module docstring


@dataclass(frozen=True)
class HumanUnit:
    name: str
    cost: int
    hp: int
    interval_ms: int  # 0: does not fire
    damage: int
    slows: bool = False
    note: str = ""


@dataclass(frozen=True)
class DemonUnit:
    name: str
    cost: int
    hp: int
    damage: int  # per hit on a blocking unit (one hit per second)
    speed: float  # cells per second
    note: str = ""


HUMANS = {
    u.name: u
    for u in (
        HumanUnit("Handgun", 100, 3, 1000, SHOT_DAMAGE),
        HumanUnit("Rifle", 200, 3, 500, SHOT_DAMAGE),
        HumanUnit("MachineGun", 400, 3, 250, SHOT_DAMAGE),
        HumanUnit("Shield", 50, 15, 0, 0, note="blocks only"),
        HumanUnit(
            "Ice",
            200,
            2,
            1000,
            SHOT_DAMAGE,
            slows=True,
            note="halves the target's speed for 2 s",
        ),
    )
}
DEMONS = {
    u.name: u
    for u in (
        DemonUnit("Normal", 100, 10, 1, 0.8),
        DemonUnit("Great", 200, 20, 1, 0.8),
        DemonUnit("Speedy", 150, 10, 1, 1.6),
        DemonUnit("DemonKing", 800, 80, 5, 0.8),
    )
}


def simulate_row(
    humans: list[list], demons: list[list], n_ticks: int
) -> tuple[float, float]:
    """Simulate one row; returns (hp of demons that reached x = 0, smallest x any demon reached).

    humans: [x, hp, interval_ticks, damage, slows, spawn_tick, cooldown]
    demons: [x, hp, damage, speed_per_tick, spawn_tick, slow_until, cooldown]
    """
    leaked, min_x = 0.0, ENTRY_X
    pending = sorted(demons, key=lambda d: d[4])
    active: list[list] = []
    for t in range(n_ticks):
        while pending and pending[0][4] <= t:
            active.append(pending.pop(0))
        if not active and not pending:
            break
        live = [h for h in humans if h[1] > 0 and h[5] <= t]
        for h in live:  # shooters
            if not h[2] or not active:
                continue
            if h[6] > 0:
                h[6] -= 1
                continue
            front = [d for d in active if d[0] > h[0]]
            if front:
                target = min(front, key=lambda d: d[0])
                target[1] -= h[3]
                if h[4]:
                    target[5] = t + SLOW_TICKS
                h[6] = h[2] - 1
        active = [d for d in active if d[1] > 0]
        for d in active:  # demons walk or attack
            blockers = [h for h in live if h[1] > 0 and h[0] + 1 <= d[0]]
            step = d[3] * (0.5 if d[5] > t else 1.0)
            blocker = max(blockers, key=lambda h: h[0]) if blockers else None
            if blocker is not None and d[0] - step <= blocker[0] + 1:
                d[0] = blocker[0] + 1.0
                if d[6] > 0:
                    d[6] -= 1
                else:
                    blocker[1] -= d[2]
                    d[6] = ATTACK_TICKS - 1
            else:
                d[0] -= step
            min_x = min(min_x, d[0])
        for d in active:
            if d[0] <= 0:
                leaked += d[1]
        active = [d for d in active if d[0] > 0]
    return leaked, max(min_x, 0.0)


class TowerDefense(Game):
    """Humans (defender) place units on a 5 x 11 board; Demons (invader) spawn and walk left."""

    name = "tower_defense"
    budgets = {"defender": 2000, "invader": 1500}
    keys = {"defender": "humans", "invader": "demons"}

    def cost(self, side: str, build: Build) -> int:
        table = HUMANS if side == "defender" else DEMONS
        return sum(table[u["name"]].cost for u in build[self.keys[side]])

    def validate(self, side: str, obj: Any) -> tuple[Build, list[str]]:
        key, table, violations, units, cells = (
            self.keys[side],
            HUMANS if side == "defender" else DEMONS,
            [],
            [],
            set(),
        )
        entries = obj.get(key) if isinstance(obj, dict) else None
        if not isinstance(entries, list):
            return self.empty(side), [f"missing list {key!r}"]
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("name") not in table:
                violations.append(
                    f"unknown unit {entry.get('name') if isinstance(entry, dict) else entry!r}"
                )
                continue
            try:
                y = int(entry.get("y"))
                spawn = float(entry.get("spawn_time", 0))
                x = int(entry.get("x")) if side == "defender" else None
            except (TypeError, ValueError):
                violations.append(f"non-numeric position or time in {entry}")
                continue
            if (
                not 0 <= y < ROWS
                or not 0 <= spawn <= MAX_SPAWN_S
                or (x is not None and not 0 <= x < COLS)
            ):
                violations.append(f"illegal placement {entry}")
                continue
            if x is not None and (x, y) in cells:
                violations.append(f"cell ({x}, {y}) already occupied")
                continue
            unit = {"name": entry["name"], "y": y, "spawn_time": spawn}
            if x is not None:
                unit["x"] = x
                cells.add((x, y))
            units.append(unit)
        return {key: units}, violations

    def _simulate(
        self, defender: Build, invader: Build, rng: np.random.Generator | None = None
    ) -> Outcome:  # deterministic: ``rng`` is not used
        n_ticks = int(TIME_LIMIT_S / TICK_S)
        total_hp = sum(DEMONS[u["name"]].hp for u in invader["demons"])
        if total_hp == 0:
            return Outcome("defender", 1.0)
        leaked, min_x = 0.0, ENTRY_X
        for y in range(ROWS):
            demons = [
                [
                    ENTRY_X,
                    DEMONS[u["name"]].hp,
                    DEMONS[u["name"]].damage,
                    DEMONS[u["name"]].speed * TICK_S,
                    int(round(u["spawn_time"] / TICK_S)),
                    -1,
                    0,
                ]
                for u in invader["demons"]
                if u["y"] == y
            ]
            if not demons:
                continue
            humans = [
                [
                    u["x"],
                    HUMANS[u["name"]].hp,
                    HUMANS[u["name"]].interval_ms // int(TICK_S * 1000),
                    HUMANS[u["name"]].damage,
                    HUMANS[u["name"]].slows,
                    int(round(u["spawn_time"] / TICK_S)),
                    0,
                ]
                for u in defender["humans"]
                if u["y"] == y
            ]
            row_leaked, row_min = simulate_row(humans, demons, n_ticks)
            leaked, min_x = leaked + row_leaked, min(min_x, row_min)
        if leaked > 0:
            return Outcome("invader", -(0.2 + 0.8 * leaked / total_hp))
        return Outcome("defender", 0.2 + 0.8 * min_x / ENTRY_X)

    # --- prompt --------------------------------------------------------------------------
    def rules_text(self, side: str) -> str:
        humans = "\n".join(
            f"- {u.name}: HP {u.hp}, "
            + (
                f"fires every {u.interval_ms} ms for {u.damage} dmg"
                if u.interval_ms
                else "does not fire"
            )
            + (f", {u.note}" if u.note else "")
            + f". Cost {u.cost}"
            for u in HUMANS.values()
        )
        demons = "\n".join(
            f"- {u.name}: HP {u.hp}, hits blocking units for {u.damage} dmg/s, speed {u.speed} cells/s. Cost {u.cost}"
            for u in DEMONS.values()
        )
        mine, theirs = (humans, demons) if side == "defender" else (demons, humans)
        return (
            f"Tower defence on a {ROWS} x {COLS} board (rows y 0-{ROWS - 1}, columns x 0-{COLS - 1}). "
            "Humans place units on free cells (one per cell); Demons enter row y at x = 11 at their "
            "spawn_time (seconds, 0-30) and walk left. Shooters hit the nearest demon in front of them in "
            "their row; a demon that reaches a unit stops and attacks it. Demons win if any demon reaches "
            f"x = 0; Humans win otherwise (time limit {TIME_LIMIT_S:.0f} s). Budgets: Humans "
            f"{self.budgets['defender']}, Demons {self.budgets['invader']}; a side over its budget loses.\n\n"
            f"Your units:\n{mine}\n\nOpponent units:\n{theirs}"
        )

    def example(self, side: str) -> Build:
        if side == "defender":
            return {
                "humans": [
                    {"name": "Rifle", "x": 2, "y": 0, "spawn_time": 0},
                    {"name": "Shield", "x": 5, "y": 0, "spawn_time": 0},
                ]
            }
        return {
            "demons": [
                {"name": "Normal", "y": 0, "spawn_time": 0},
                {"name": "Speedy", "y": 3, "spawn_time": 2},
            ]
        }

    # --- edits ---------------------------------------------------------------------------
    def _new_unit(
        self, side: str, build: Build, rng: np.random.Generator, name: str | None = None
    ) -> dict | None:
        table = HUMANS if side == "defender" else DEMONS
        name = name or list(table)[rng.integers(len(table))]
        if side == "invader":
            return {
                "name": name,
                "y": int(rng.integers(ROWS)),
                "spawn_time": float(rng.integers(0, 31)) / 2,
            }
        used = {(u["x"], u["y"]) for u in build["humans"]}
        free = [(x, y) for x in range(COLS) for y in range(ROWS) if (x, y) not in used]
        if not free:
            return None
        x, y = free[rng.integers(len(free))]
        return {"name": name, "x": x, "y": y, "spawn_time": 0.0}

    def random_build(self, side: str, rng: np.random.Generator) -> Build:
        build, budget = self.empty(side), self.budgets[side]
        table = HUMANS if side == "defender" else DEMONS
        cheapest = min(u.cost for u in table.values())
        while budget - self.cost(side, build) >= cheapest:
            unit = self._new_unit(side, build, rng)
            if unit is None:
                break
            if self.cost(side, build) + table[unit["name"]].cost <= budget:
                build[self.keys[side]].append(unit)
        return build

    def mutate(self, side: str, build: Build, rng: np.random.Generator) -> Build:
        new = copy.deepcopy(build)
        units, table = new[self.keys[side]], HUMANS if side == "defender" else DEMONS
        move = int(rng.integers(4)) if units else 3
        if move == 0:  # relocate a unit / change its row and time
            i = rng.integers(len(units))
            unit = self._new_unit(
                side,
                {**new, self.keys[side]: units[:i] + units[i + 1 :]},
                rng,
                units[i]["name"],
            )
            if unit is not None:
                units[i] = unit
        elif move == 1:  # change a unit's type
            units[rng.integers(len(units))]["name"] = list(table)[
                rng.integers(len(table))
            ]
        elif move == 2:  # remove a unit
            units.pop(int(rng.integers(len(units))))
        else:  # add a unit
            unit = self._new_unit(side, new, rng)
            if unit is not None:
                units.append(unit)
        return new

    def static_value(self, side: str, build: Build) -> float:
        if side == "defender":
            dps, block = np.zeros(ROWS), np.zeros(ROWS)
            for u in build["humans"]:
                unit = HUMANS[u["name"]]
                dps[u["y"]] += (
                    unit.damage * 1000 / unit.interval_ms if unit.interval_ms else 0
                )
                block[u["y"]] += unit.hp
            return float(np.sqrt(dps).sum() + 0.05 * np.sqrt(block).sum())
        hp = np.zeros(ROWS)
        for u in build["demons"]:
            hp[u["y"]] += DEMONS[u["name"]].hp * DEMONS[u["name"]].speed
        return float(hp.max() + 0.2 * hp.sum())

    def repair(self, side: str, build: Build, rng: np.random.Generator) -> Build:
        new = copy.deepcopy(build)
        units = new[self.keys[side]]
        while self.cost(side, new) > self.budgets[side]:
            units.pop(int(rng.integers(len(units))))
        return new

    def inflate(
        self, side: str, build: Build, rng: np.random.Generator, target: int
    ) -> Build:
        new = copy.deepcopy(build)
        for _ in range(100):
            if self.cost(side, new) >= target:
                break
            unit = self._new_unit(side, new, rng)
            if unit is not None:
                new[self.keys[side]].append(unit)
        return new


def crossing_time_s(unit: str = "Normal") -> float:
    """Seconds an unhindered demon needs to cross the board."""
    return (
        ENTRY_X / DEMONS[unit].speed if math.isfinite(DEMONS[unit].speed) else math.inf
    )
