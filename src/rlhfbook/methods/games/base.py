"""What every game offers the match protocol: costs, rule checks, simulation, build edits.

A *build* is the JSON object a player submits (AdvGameBench's "placement"): a dict with one
key per side (``"defenders"`` / ``"invaders"``, or ``"humans"`` / ``"demons"``). Players answer
with text; :meth:`Game.parse` turns that text into a legal build and a list of *rule
violations* (malformed JSON, unknown units, illegal placements). Offending entries are
dropped and recorded; they never raise, so a match always completes.

Used by chapter 5.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

SIDES: tuple[str, str] = ("defender", "invader")
Build = dict[str, Any]


def other(side: str) -> str:
    """The opposing side."""
    if side not in SIDES:
        raise ValueError(f"unknown side {side!r}; valid sides: {', '.join(SIDES)}")
    return SIDES[1 - SIDES.index(side)]


@dataclass(frozen=True)
class Outcome:
    """Result of one simulation before budget adjudication.

    ``winner`` is ``"defender"``, ``"invader"`` or ``"none"``; ``margin`` in [-1, 1] is how
    clearly the defender won (negative: the invader won), which scripted best-response
    players use to rank candidate builds.
    """

    winner: str
    margin: float

    def margin_for(self, side: str) -> float:
        return self.margin if side == "defender" else -self.margin


def parse_build(text: str) -> Any:
    """The JSON object in a model's answer: a fenced ```json block, else the first {...}.

    Raises ``ValueError`` when there is no parseable object (the protocol records it as a
    "malformed JSON" rule violation).
    """
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    candidate = fenced.group(1) if fenced else text
    start = candidate.find("{")
    if start < 0:
        raise ValueError("malformed JSON: no object found")
    depth, in_string, escaped = 0, False, False
    for i, ch in enumerate(candidate[start:], start):
        if in_string:
            escaped = (ch == "\\") and not escaped
            if ch == '"' and not escaped:
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                try:
                    return json.loads(candidate[start : i + 1])
                except json.JSONDecodeError as e:
                    raise ValueError(f"malformed JSON: {e.msg}") from None
    raise ValueError("malformed JSON: unbalanced braces")


class Game(ABC):
    """A two-sided build game with budgets (AdvGameBench's per-game ``battle.py`` contract)."""

    name: str
    budgets: dict[str, int]
    keys: dict[str, str]  # side -> the build's JSON key

    def __init__(self) -> None:
        self.n_simulations = 0

    # --- rules ---------------------------------------------------------------------------
    @abstractmethod
    def cost(self, side: str, build: Build) -> int:
        """Total cost of a (validated) build."""

    @abstractmethod
    def validate(self, side: str, obj: Any) -> tuple[Build, list[str]]:
        """A legal build from a parsed JSON object, and the rule violations dropped from it."""

    @abstractmethod
    def rules_text(self, side: str) -> str:
        """The rules and both unit catalogues as shown to an LLM player."""

    @abstractmethod
    def example(self, side: str) -> Build:
        """An example build (format only) for the prompt."""

    def describe(self, side: str, build: Build) -> str:
        """A short human-readable form of a build (for traces and tables)."""
        return json.dumps(build[self.keys[side]])

    def empty(self, side: str) -> Build:
        return {self.keys[side]: []}

    def legal(self, side: str, build: Build) -> bool:
        """Whether a validated build may be played at all (a stated rule that dropping entries cannot fix)."""
        return True

    def parse(self, side: str, text: str) -> tuple[Build | None, list[str]]:
        """Build and rule violations from a player's text answer; ``None`` if unparseable or illegal.

        An illegal build (:meth:`legal`) is rejected like an unparseable answer: the protocol
        keeps the previous build in play and records the violations.
        """
        try:
            obj = parse_build(text)
        except ValueError as e:
            return None, [str(e)]
        build, violations = self.validate(side, obj)
        if not self.legal(side, build):
            return None, violations
        return build, violations

    # --- simulation ----------------------------------------------------------------------
    def simulate(
        self, defender: Build, invader: Build, rng: np.random.Generator | None = None
    ) -> Outcome:
        """One simulation of two validated builds (counted in ``n_simulations``).

        Deterministic without ``rng``; a game with outcome noise draws it from ``rng``.
        """
        self.n_simulations += 1
        return self._simulate(defender, invader, rng)

    @abstractmethod
    def _simulate(
        self, defender: Build, invader: Build, rng: np.random.Generator | None = None
    ) -> Outcome: ...

    # --- edits used by the scripted players -------------------------------------------------
    @abstractmethod
    def random_build(self, side: str, rng: np.random.Generator) -> Build:
        """A random build within the side's budget."""

    @abstractmethod
    def mutate(self, side: str, build: Build, rng: np.random.Generator) -> Build:
        """A copy of ``build`` with one random local edit (may change the cost)."""

    @abstractmethod
    def static_value(self, side: str, build: Build) -> float:
        """A rules-only estimate of a build's strength (no simulation): initial planning."""

    @abstractmethod
    def repair(self, side: str, build: Build, rng: np.random.Generator) -> Build:
        """A copy of ``build`` brought within budget by random cheaper edits / removals."""

    @abstractmethod
    def inflate(
        self, side: str, build: Build, rng: np.random.Generator, target: int
    ) -> Build:
        """A copy of ``build`` with cost raised to at least ``target`` (a budget slip)."""

    def planned_build(
        self, side: str, rng: np.random.Generator, drafts: int = 16
    ) -> Build:
        """The best of ``drafts`` random builds by :meth:`static_value` (planning from the rules)."""
        builds = [self.random_build(side, rng) for _ in range(drafts)]
        return max(builds, key=lambda b: self.static_value(side, b))

    def over_budget(self, side: str, build: Build) -> bool:
        return self.cost(side, build) > self.budgets[side]
