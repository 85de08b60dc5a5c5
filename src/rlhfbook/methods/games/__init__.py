"""Strategic games for process metrics (AdvGameBench, Yuan et al. 2025).

* :mod:`.base` -- the :class:`~.base.Game` interface, build parsing and rule violations;
* :mod:`.turn_based` -- the turn-based combat game (three characters, round-robin skills);
* :mod:`.tower_defense` -- a discrete-tick tower-defence game (5 x 11 board);
* :mod:`.protocol` -- initial builds, alternating revisions, budget adjudication, the league;
* :mod:`.players` -- the :class:`~.players.Player` interface, scripted revisers, LLM players;
* :mod:`.metrics` -- WR, OBR, ORR, CSR, improvement slope, the book's composite score.

Used by chapter 5 (its league analysis: :mod:`rlhfbook.chapters.ch05_strategic_games.report`).
"""

from rlhfbook.methods.games.base import SIDES, Game, Outcome, parse_build
from rlhfbook.methods.games.tower_defense import TowerDefense
from rlhfbook.methods.games.turn_based import TurnBased

GAMES = {"turn_based": TurnBased, "tower_defense": TowerDefense}

__all__ = [
    "GAMES",
    "SIDES",
    "Game",
    "Outcome",
    "TowerDefense",
    "TurnBased",
    "parse_build",
]
