"""The turn-based combat game of AdvGameBench, re-implemented deterministically.

Invaders (Fire, Water, Dark) face Defenders (Wood, Earth, Light); budget 20 per side. Each
side fields three characters, one per element, each with three skills from its element's
six (costs 1-5); a build costs the sum of its skill costs. Every character starts with
100 HP. As in the official engine, characters use their skills in **round-robin order**
and the team fight is a queue of one-on-one duels (the invader strikes first); the duel's
winner stays at the front with the HP it has left, for at most 100 duels.

Elemental multipliers: Fire > Wood > Earth > Water > Fire (x1.2 effective, x0.8 resisted),
Light and Dark x1.5 against each other, otherwise x1.0.

**Outcome noise** (``TurnBased(noise=s)``, off by default): when a simulation is given a random
generator, each character's damage in that simulation is scaled by its *form*, a log-normal
factor exp(s z), z ~ N(0, 1), drawn afresh for every simulation. A build that won can then lose
the next round unchanged, so a result is evidence about a build, not a verdict on it.

Skill names and costs follow the benchmark's catalogue; their effects are simplified to
five primitives (damage, burn over turns, self-heal, shield, boost of the next hit,
exposure of the target to the next hit) so that the catalogue text the LLM player reads is
generated from the same table the engine runs. The official engine never processes
statuses (burns and heals over time do nothing there); here they do.

Used by chapter 5.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlhfbook.methods.games.base import Build, Game, Outcome

ELEMENTS = {
    "invader": ("Fire", "Water", "Dark"),
    "defender": ("Wood", "Earth", "Light"),
}
_BEATS = {("Fire", "Wood"), ("Wood", "Earth"), ("Earth", "Water"), ("Water", "Fire")}
MAX_HP = 100
MAX_DUELS = 100
MAX_TURNS = 200  # per duel; then the fighter with more HP wins


@dataclass(frozen=True)
class Skill:
    """One skill: its cost and the primitives it applies (all optional)."""

    name: str
    element: str
    cost: int
    damage: int = 0  # direct damage to the target
    burn: int = 0  # damage to the target at the start of each of its next `turns` turns
    turns: int = 0
    heal: int = 0  # self-heal, capped at 100 HP
    shield: int = 0  # absorbs the next incoming damage
    boost: float = 0.0  # own next damaging skill x(1 + boost)
    expose: float = 0.0  # target's next incoming hit x(1 + expose)

    def describe(self) -> str:
        parts = []
        if self.damage:
            parts.append(f"{self.damage} dmg")
        if self.burn:
            parts.append(f"{self.burn} dmg/turn to the target for {self.turns} turns")
        if self.heal:
            parts.append(f"heal {self.heal} HP")
        if self.shield:
            parts.append(f"{self.shield}-point shield")
        if self.boost:
            parts.append(f"next own hit +{self.boost:.0%}")
        if self.expose:
            parts.append(f"target takes +{self.expose:.0%} from the next hit")
        return f"{self.name}: {', '.join(parts)}. Cost {self.cost}"


def _s(name: str, element: str, cost: int, **kw: Any) -> Skill:
    return Skill(name, element, cost, **kw)


SKILLS: dict[str, tuple[Skill, ...]] = {
    "Fire": (
        _s("Flame Splash", "Fire", 1, damage=10, burn=4, turns=2),
        _s("Residual Warmth", "Fire", 1, boost=0.3, heal=5),
        _s("Burst Flame Bomb", "Fire", 2, damage=22),
        _s("Flame Whirlwind", "Fire", 3, burn=9, turns=3),
        _s("Magma Eruption", "Fire", 4, damage=44),
        _s("Hell Curtain", "Fire", 5, damage=39, shield=20),
    ),
    "Water": (
        _s("Stream Pierce", "Water", 1, damage=9, shield=3),
        _s("Water Barrier", "Water", 1, shield=10),
        _s("Whirlpool Strangle", "Water", 2, damage=21),
        _s("Ice Branded", "Water", 3, damage=17, expose=0.6),
        _s("Tsunami Ending", "Water", 4, damage=42),
        _s("Abyss Resonance", "Water", 5, damage=26, shield=30),
    ),
    "Dark": (
        _s("Shadow Claw", "Dark", 1, damage=12, heal=4),
        _s("Fear Whisper", "Dark", 1, shield=8),
        _s("Soul Siphon", "Dark", 2, damage=26),
        _s("Night Ambush", "Dark", 3, damage=22, expose=0.25),
        _s("Final Announcement", "Dark", 4, damage=48),
        _s("Void Assimilation", "Dark", 5, damage=54),
    ),
    "Wood": (
        _s("Bud Healing", "Wood", 1, heal=22),
        _s("Parasitic Seed", "Wood", 1, damage=10, burn=5, turns=3),
        _s("Life Totem", "Wood", 2, heal=30),
        _s("Natural Purification", "Wood", 3, damage=45),
        _s("Forest Reincarnation", "Wood", 4, damage=30, heal=40),
        _s("Poison Vine", "Wood", 5, burn=25, turns=3),
    ),
    "Earth": (
        _s("Rock Armor", "Earth", 1, shield=12),
        _s("Earth Shock", "Earth", 1, damage=20),
        _s("Granite Barrier", "Earth", 2, shield=25),
        _s("Quicksand Trap", "Earth", 3, damage=15, burn=8, turns=3),
        _s("Earth Pulse", "Earth", 4, damage=35, shield=20),
        _s("Core Rebound", "Earth", 5, damage=70),
    ),
    "Light": (
        _s("Holy Glimmer", "Light", 1, damage=12, heal=10),
        _s("Faith Emblem", "Light", 1, shield=10),
        _s("Divine Link", "Light", 2, shield=20),
        _s("Luminous Dispel", "Light", 3, damage=22, expose=0.3),
        _s("Angelic Sanctuary", "Light", 4, shield=40),
        _s("Divine Sword", "Light", 5, damage=48, boost=0.3),
    ),
}


def _key(name: str) -> str:
    """Skill names are matched case- and separator-insensitively ("flame_splash")."""
    return str(name).lower().replace("_", " ").strip()


_BY_KEY = {(el, _key(s.name)): s for el, skills in SKILLS.items() for s in skills}


def multiplier(attacker: str, defender: str) -> float:
    """The elemental damage multiplier of ``attacker`` hitting ``defender``."""
    if (attacker, defender) in _BEATS:
        return 1.2
    if (defender, attacker) in _BEATS:
        return 0.8
    if {attacker, defender} == {"Light", "Dark"}:
        return 1.5
    return 1.0


class _Fighter:
    __slots__ = (
        "element",
        "skills",
        "hp",
        "shield",
        "boost",
        "expose",
        "burn",
        "burn_turns",
        "idx",
        "form",
    )

    def __init__(self, element: str, skills: list[Skill], form: float = 1.0):
        self.element, self.skills, self.form = element, skills, form
        self.hp, self.shield, self.boost, self.expose = MAX_HP, 0, 0.0, 0.0
        self.burn = self.burn_turns = self.idx = 0

    def reset_status(self) -> None:
        self.shield, self.boost, self.expose, self.burn, self.burn_turns, self.idx = (
            0,
            0.0,
            0.0,
            0,
            0,
            0,
        )


def _act(actor: _Fighter, target: _Fighter) -> None:
    """One turn of ``actor``: burn ticks, then its next skill in round-robin order."""
    if actor.burn_turns:
        actor.hp -= actor.burn
        actor.burn_turns -= 1
        if actor.hp <= 0:
            return
    skill = actor.skills[actor.idx]
    actor.idx = (actor.idx + 1) % len(actor.skills)
    mult = multiplier(actor.element, target.element)
    if skill.damage:
        dmg = int(
            skill.damage * mult * actor.form * (1 + actor.boost) * (1 + target.expose)
        )
        actor.boost = target.expose = 0.0
        absorbed = min(dmg, target.shield)
        target.shield -= absorbed
        target.hp -= dmg - absorbed
    if skill.burn:
        target.burn, target.burn_turns = (
            int(skill.burn * mult * actor.form),
            skill.turns,
        )
    if skill.heal:
        actor.hp = min(MAX_HP, actor.hp + skill.heal)
    actor.shield += skill.shield
    if skill.boost:
        actor.boost = skill.boost
    if skill.expose:
        target.expose = skill.expose


def duel(first: _Fighter, second: _Fighter) -> _Fighter:
    """Alternate turns (``first`` strikes first) until one falls; returns the winner."""
    first.reset_status()
    second.reset_status()
    pair = (first, second)
    for turn in range(MAX_TURNS):
        actor, target = pair[turn % 2], pair[1 - turn % 2]
        _act(actor, target)
        if actor.hp <= 0:
            return target
        if target.hp <= 0:
            return actor
    return first if first.hp >= second.hp else second


class TurnBased(Game):
    """Turn-based combat: three characters per side, round-robin skills, queued duels."""

    name = "turn_based"
    budgets = {"defender": 20, "invader": 20}
    keys = {"defender": "defenders", "invader": "invaders"}

    def __init__(self, noise: float = 0.0):
        super().__init__()
        if noise < 0:
            raise ValueError(f"noise must be >= 0, got {noise}")
        self.noise = noise

    def __repr__(self) -> str:
        return f"TurnBased(noise={self.noise})"

    def cost(self, side: str, build: Build) -> int:
        return sum(
            _BY_KEY[(c["element"], _key(s))].cost
            for c in build[self.keys[side]]
            for s in c["skills"]
        )

    def validate(self, side: str, obj: Any) -> tuple[Build, list[str]]:
        key, violations, team = self.keys[side], [], []
        entries = obj.get(key) if isinstance(obj, dict) else None
        if not isinstance(entries, list):
            return self.empty(side), [f"missing list {key!r}"]
        for entry in entries:
            element = entry.get("element") if isinstance(entry, dict) else None
            if element not in ELEMENTS[side]:
                violations.append(f"unknown element {element!r} for {side}")
                continue
            if any(c["element"] == element for c in team):
                violations.append(f"second {element} character")
                continue
            if len(team) == 3:
                violations.append("more than three characters")
                continue
            skills = []
            raw = entry.get("skills") if isinstance(entry.get("skills"), list) else []
            for name in raw:
                if (element, _key(name)) not in _BY_KEY:
                    violations.append(f"unknown {element} skill {name!r}")
                elif len(skills) == 3:
                    violations.append(f"more than three skills for {element}")
                else:
                    skills.append(_BY_KEY[(element, _key(name))].name)
            if skills:
                team.append({"element": element, "skills": skills})
            else:
                violations.append(f"{element} character without a valid skill")
        if len(team) < 3:
            violations.append(f"fewer than three characters ({len(team)})")
        return {key: team}, violations

    def legal(self, side: str, build: Build) -> bool:
        """The rules field three characters, one per element: a smaller team is rejected."""
        return len(build[self.keys[side]]) == 3

    def _team(
        self, side: str, build: Build, rng: np.random.Generator | None = None
    ) -> list[_Fighter]:
        team = build[self.keys[side]]
        forms = (
            np.exp(self.noise * rng.standard_normal(len(team)))
            if rng is not None and self.noise
            else np.ones(len(team))
        )
        return [
            _Fighter(
                c["element"],
                [_BY_KEY[(c["element"], _key(s))] for s in c["skills"]],
                float(f),
            )
            for c, f in zip(team, forms)
        ]

    def _simulate(
        self, defender: Build, invader: Build, rng: np.random.Generator | None = None
    ) -> Outcome:
        defenders, invaders = (
            self._team("defender", defender, rng),
            self._team("invader", invader, rng),
        )
        d, i = 0, 0  # queue fronts
        for _ in range(MAX_DUELS):
            if d == len(defenders) or i == len(invaders):
                break
            if duel(invaders[i], defenders[d]) is invaders[i]:
                d += 1
            else:
                i += 1
        if not defenders and not invaders:
            return Outcome("none", 0.0)
        hp_def = sum(max(f.hp, 0) for f in defenders[d:])
        hp_inv = sum(max(f.hp, 0) for f in invaders[i:])
        winner = (
            "invader"
            if i < len(invaders) and (d == len(defenders) or hp_inv > hp_def)
            else "defender"
        )
        return Outcome(winner, (hp_def - hp_inv) / (3 * MAX_HP))

    # --- prompt --------------------------------------------------------------------------
    def rules_text(self, side: str) -> str:
        def catalogue(s: str) -> str:
            return "\n".join(
                f"{el} skills:\n" + "\n".join(f"- {sk.describe()}" for sk in SKILLS[el])
                for el in ELEMENTS[s]
            )

        return (
            "Turn-based battle between Invaders (Fire, Water, Dark) and Defenders (Wood, Earth, Light).\n"
            "Each side fields three characters, one per element, each with exactly three skills of its "
            "element; a build costs the sum of its skill costs. Characters have 100 HP and use their "
            "three skills in the listed order, cyclically. The first character of each side duels the "
            "other's first (the invader strikes first); the duel's winner stays in with its remaining HP "
            "and meets the next opponent. Elements: Fire > Wood > Earth > Water > Fire (x1.2 effective, "
            "x0.8 resisted); Light and Dark x1.5 against each other. A side wins when all opposing "
            f"characters are eliminated. Budgets: {self.budgets['defender']} per side; "
            "a side over its budget loses the match.\n\n"
            f"Your catalogue ({side}s):\n{catalogue(side)}\n\n"
            f"Opponent catalogue:\n{catalogue('invader' if side == 'defender' else 'defender')}"
        )

    def describe(self, side: str, build: Build) -> str:
        return " | ".join(
            f"{c['element']}: {', '.join(c['skills'])}" for c in build[self.keys[side]]
        )

    def example(self, side: str) -> Build:
        return {
            self.keys[side]: [
                {"element": el, "skills": [s.name for s in SKILLS[el][:3]]}
                for el in ELEMENTS[side]
            ]
        }

    # --- edits ---------------------------------------------------------------------------
    def random_build(self, side: str, rng: np.random.Generator) -> Build:
        order = rng.permutation(3)
        team = [
            {
                "element": ELEMENTS[side][k],
                "skills": [
                    SKILLS[ELEMENTS[side][k]][j].name for j in rng.integers(0, 6, 3)
                ],
            }
            for k in order
        ]
        return self.repair(side, {self.keys[side]: team}, rng)

    def mutate(self, side: str, build: Build, rng: np.random.Generator) -> Build:
        new = copy.deepcopy(build)
        team = new[self.keys[side]]
        if not team:
            return self.random_build(side, rng)
        move = rng.integers(0, 3)
        if move == 0 and len(team) > 1:  # swap two characters in the queue
            a, b = rng.choice(len(team), 2, replace=False)
            team[a], team[b] = team[b], team[a]
        elif move == 1:  # reorder one character's skills
            c = team[rng.integers(len(team))]
            c["skills"] = [c["skills"][j] for j in rng.permutation(len(c["skills"]))]
        else:  # replace one skill
            c = team[rng.integers(len(team))]
            c["skills"][rng.integers(len(c["skills"]))] = SKILLS[c["element"]][
                rng.integers(0, 6)
            ].name
        return new

    def static_value(self, side: str, build: Build) -> float:
        total = 0.0
        for c in build[self.keys[side]]:
            for s in c["skills"]:
                sk = _BY_KEY[(c["element"], _key(s))]
                total += (
                    sk.damage
                    + sk.burn * sk.turns
                    + 0.7 * (sk.heal + sk.shield)
                    + 30 * (sk.boost + sk.expose)
                )
        return total

    def _replace(
        self, side: str, build: Build, rng: np.random.Generator, cheaper: bool
    ) -> Build | None:
        """Swap one random skill for a cheaper (or dearer) one of its element, if any."""
        slots = [
            (c, j) for c in build[self.keys[side]] for j in range(len(c["skills"]))
        ]
        for idx in rng.permutation(len(slots)):
            c, j = slots[idx]
            cost = _BY_KEY[(c["element"], _key(c["skills"][j]))].cost
            options = [
                s
                for s in SKILLS[c["element"]]
                if (s.cost < cost if cheaper else s.cost > cost)
            ]
            if options:
                c["skills"][j] = options[rng.integers(len(options))].name
                return build
        return None

    def repair(self, side: str, build: Build, rng: np.random.Generator) -> Build:
        new = copy.deepcopy(build)
        while self.cost(side, new) > self.budgets[side] and self._replace(
            side, new, rng, cheaper=True
        ):
            pass
        return new

    def inflate(
        self, side: str, build: Build, rng: np.random.Generator, target: int
    ) -> Build:
        new = copy.deepcopy(build)
        while self.cost(side, new) < target and self._replace(
            side, new, rng, cheaper=False
        ):
            pass
        return new
