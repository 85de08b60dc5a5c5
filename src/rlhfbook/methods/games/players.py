"""Players: game state and feedback in, build JSON (text) out.

Every player implements :meth:`Player.act`, which sees a :class:`Turn` (the game, its side,
budget, its previous build and the opponent's current one, last round's winner and a
feedback line) and returns text containing a JSON build. The protocol parses that text;
anything malformed is a rule violation, never an exception.

* :class:`ScriptedReviser` -- a parametric stand-in for an LLM's revision behaviour:
  how often it revises after a loss and after a win, how good a revision is (a best
  response found by simulating candidate edits against the opponent's build, or a random
  edit), how often it slips over the budget, and how well it plans its first build; the
  league's twelve families (:data:`FAMILIES`) have their knobs drawn from a declared prior
  around the family's values (:func:`draw_league`).
* :class:`LLMPlayer` -- prompts any transformers causal LM with the benchmark's prompt.
* :class:`EndpointPlayer` -- the same prompt sent to an OpenAI-compatible chat endpoint
  (standard library only).

Used by chapter 5.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from rlhfbook.core.runtime import device
from rlhfbook.lm.models import load_policy
from rlhfbook.methods.games.base import Build, Game

SIDE_LABEL = {"defender": "Defender", "invader": "Invader"}


@dataclass
class Turn:
    """What a player sees when asked for a build (``own_build is None``: the initial build)."""

    game: Game
    side: str
    round: int  # 0 for the initial build, else the round just simulated
    own_build: Build | None = None
    opponent_build: Build | None = None
    last_winner: str | None = None  # "defender" | "invader" | "none"
    feedback: str = ""
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    history: tuple[
        str, ...
    ] = ()  # the side's results before the last round: won | lost | tie
    match: int = -1  # the match's index among those played side by side (-1: none)

    @property
    def budget(self) -> int:
        return self.game.budgets[self.side]


def prompt(turn: Turn) -> str:
    """The benchmark's prompt (``battle.py::make_prompt`` / ``init.py``), rebuilt from the game's rules."""
    game, side = turn.game, turn.side
    key = game.keys[side]
    parts = [f"You are playing as the {SIDE_LABEL[side]} in this game."]
    if turn.feedback:
        parts.append(turn.feedback)
    parts.append(
        f"Your budget is {turn.budget}. If you exceed your budget, you will lose the match."
    )
    parts.append(f"Game rules:\n{game.rules_text(side)}")
    if turn.opponent_build is not None:
        parts.append(f"Opponent JSON:\n{json.dumps(turn.opponent_build)}")
    if turn.own_build is not None:
        parts.append(f"Your previous {side} JSON:\n{json.dumps(turn.own_build)}")
    parts.append(f"Format example:\n{json.dumps(game.example(side))}")
    parts.append(
        f'Return a single JSON object with the key "{key}" that maximises your chance of winning. '
        "Do not include any other text."
    )
    return "\n\n".join(parts)


class Player(ABC):
    """Anything that answers a :class:`Turn` with text containing a JSON build."""

    name: str

    @abstractmethod
    def act(self, turn: Turn) -> str:
        """The player's answer: a JSON build, possibly wrapped in other text."""

    def act_batch(self, turns: Sequence[Turn]) -> list[str]:
        """Answers to several turns of matches played side by side (a neural player batches them)."""
        return [self.act(turn) for turn in turns]


@dataclass
class ScriptedReviser(Player):
    """A parametric reviser.

    p_revise_loss / p_revise_win: probability of revising after a loss / after a win
    (revising winning builds is the over-correction the paper's ORR is named after);
    quality: probability a revision is a one-step best response (``n_candidates`` local edits
    simulated against the opponent's current build, best margin kept, the current build
    included), else 1-3 random edits; slip: probability a proposed build is pushed 10-50 %
    over budget; planning: probability the first build is planned from the rules
    (:meth:`Game.planned_build`) rather than random.
    """

    name: str
    p_revise_loss: float = 1.0
    p_revise_win: float = 0.0
    quality: float = 0.5
    slip: float = 0.0
    planning: float = 0.5
    fresh: float = 0.5
    max_edits: int = 3
    n_candidates: int = 10

    def __post_init__(self) -> None:
        for knob in (
            "p_revise_loss",
            "p_revise_win",
            "quality",
            "slip",
            "planning",
            "fresh",
        ):
            if not 0 <= getattr(self, knob) <= 1:
                raise ValueError(
                    f"{knob} must be a probability in [0, 1], got {getattr(self, knob)}"
                )
        if self.max_edits < 1:
            raise ValueError(f"max_edits must be >= 1, got {self.max_edits}")
        if self.n_candidates < 1:
            raise ValueError(f"n_candidates must be >= 1, got {self.n_candidates}")

    def act(self, turn: Turn) -> str:
        return json.dumps(self.build(turn))

    def build(self, turn: Turn) -> Build:
        game, side, rng = turn.game, turn.side, turn.rng
        if turn.own_build is None:
            new = (
                game.planned_build(side, rng)
                if rng.random() < self.planning
                else game.random_build(side, rng)
            )
        else:
            lost = turn.last_winner != side
            if rng.random() >= (self.p_revise_loss if lost else self.p_revise_win):
                return turn.own_build
            if rng.random() < self.quality:
                new = self.best_response(turn)
            else:
                new = turn.own_build
                for _ in range(rng.integers(1, 4)):
                    new = game.mutate(side, new, rng)
                new = game.repair(side, new, rng)
        if rng.random() < self.slip:
            new = game.inflate(
                side, new, rng, math.ceil(turn.budget * rng.uniform(1.1, 1.5))
            )
        return new

    def best_response(self, turn: Turn) -> Build:
        """The best of the current build and ``n_candidates`` candidates, by simulated margin.

        Each candidate is a fresh random build with probability ``fresh``, else 1 to ``max_edits`` local edits
        of the current build (``fresh = 0``: a hill climber that improves step by step).
        """
        game, side, rng = turn.game, turn.side, turn.rng
        current = game.repair(side, turn.own_build, rng)
        candidates = [current]
        for _ in range(self.n_candidates):
            if rng.random() < self.fresh:  # a fresh build instead of an edit
                candidates.append(game.random_build(side, rng))
                continue
            new = current
            for _ in range(rng.integers(1, self.max_edits + 1)):
                new = game.mutate(side, new, rng)
            candidates.append(game.repair(side, new, rng))
        pair = (
            (lambda b: (b, turn.opponent_build))
            if side == "defender"
            else (lambda b: (turn.opponent_build, b))
        )
        # with outcome noise, one noisy simulation per candidate: a private, noisy judgement
        scores = [game.simulate(*pair(b), rng).margin_for(side) for b in candidates]
        return candidates[int(np.argmax(scores))]


FAMILIES = (  # name, p_revise_loss, p_revise_win, quality, slip, planning, fresh
    ("best-response-1", 1.0, 0.0, 0.95, 0.0, 0.0, 0.0),
    ("best-response-2", 0.9, 0.1, 0.85, 0.02, 0.0, 0.0),
    ("careful", 0.8, 0.05, 0.7, 0.0, 0.5, 0.5),
    ("steady", 0.5, 0.0, 0.5, 0.0, 1.0, 0.5),
    ("tinkerer", 0.8, 0.5, 0.4, 0.05, 0.5, 0.5),
    ("passive", 0.2, 0.0, 0.3, 0.0, 0.5, 0.5),
    ("overcorrector-1", 1.0, 0.9, 0.2, 0.05, 0.5, 0.5),
    ("overcorrector-2", 1.0, 1.0, 0.0, 0.0, 0.5, 0.5),
    ("random-reviser-1", 1.0, 0.5, 0.0, 0.0, 0.0, 0.5),
    ("random-reviser-2", 0.8, 0.3, 0.0, 0.05, 0.0, 0.5),
    ("budget-slipper-1", 0.8, 0.2, 0.5, 0.6, 0.5, 0.5),
    ("budget-slipper-2", 0.9, 0.4, 0.3, 0.8, 0.5, 0.5),
)
DRAWN = ("p_revise_loss", "p_revise_win", "quality", "slip")  # the knobs a prior draws


def league(n_candidates: int = 10) -> list[ScriptedReviser]:
    """The book's 12 scripted families at their declared knob values (named by the behaviour they stand for)."""
    return [
        ScriptedReviser(name, *k, n_candidates=n_candidates) for name, *k in FAMILIES
    ]


def draw_league(
    spread: float, rng: np.random.Generator, n_candidates: int = 10
) -> list[ScriptedReviser]:
    """The 12 families with their :data:`DRAWN` knobs drawn from the declared prior.

    Prior: each drawn knob ~ Uniform(m - ``spread``, m + ``spread``) around its family's value
    m, clipped to [0, 1] (so a family at 0 or 1 stays there about half the time); how often a
    player revises after a loss and after a win, how good its revisions are and how often it
    slips over the budget vary from draw to draw, its planning and fresh-candidate share do not.
    """
    out = []
    for p in league(n_candidates):
        knobs = {
            k: float(np.clip(getattr(p, k) + rng.uniform(-spread, spread), 0.0, 1.0))
            for k in DRAWN
        }
        out.append(replace(p, **knobs))
    return out


def fixed_opponents(n_candidates: int = 10) -> list[ScriptedReviser]:
    """The three fixed opponents every league player meets (the benchmark's ``--fix-models``).

    The two that revise also overspend sometimes (slip 0.3 and 0.2), as the benchmark's fixed
    LLMs can: a player's over-budget build then does not lose by the rules alone.
    """
    return [
        ScriptedReviser("fixed-static", 0.0, 0.0, 0.0, 0.0, 1.0, 0.5, n_candidates),
        ScriptedReviser("fixed-moderate", 0.6, 0.0, 0.5, 0.3, 1.0, 0.5, n_candidates),
        ScriptedReviser("fixed-strong", 0.9, 0.0, 0.9, 0.2, 1.0, 0.5, n_candidates),
    ]


class LLMPlayer(Player):
    """A transformers causal LM prompted with :func:`prompt`; greedy decoding by default.

    Turns of matches played side by side are answered in batches of ``batch_size`` (left
    padding); ``max_prompt_tokens`` keeps the last tokens of a long prompt (tiny models have
    short contexts); ``transcript`` keeps every (prompt, answer) for the revision trace.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        name: str = "llm",
        max_new_tokens: int = 256,
        max_prompt_tokens: int | None = None,
        do_sample: bool = False,
        batch_size: int = 32,
    ):
        self.model, self.tokenizer, self.name = model, tokenizer, name
        self.max_new_tokens, self.max_prompt_tokens, self.do_sample = (
            max_new_tokens,
            max_prompt_tokens,
            do_sample,
        )
        self.batch_size = batch_size
        self.tokenizer.padding_side = self.tokenizer.truncation_side = "left"
        if (
            self.tokenizer.pad_token is None
        ):  # batches need a pad token; EOS is the usual stand-in
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.transcript: list[tuple[str, str]] = []

    @classmethod
    def from_pretrained(cls, name_or_path: str, **kwargs: Any) -> LLMPlayer:
        """A hub id or local folder via :func:`rlhfbook.lm.models.load_policy`, in the sampling dtype of
        :func:`rlhfbook.core.runtime.dtype_for` (bf16 on a GPU that has it, else fp16; fp32 on a CPU).

        Hub downloads need the ``gpu`` profile, ``RLHFBOOK_ONLINE=1`` or Colab.
        """

        model, tokenizer = load_policy(name_or_path, sample_only=True)
        model = model.to(device())
        return cls(
            model,
            tokenizer,
            name=kwargs.pop("name", str(name_or_path).rstrip("/").split("/")[-1]),
            **kwargs,
        )

    def _text(self, turn: Turn) -> str:
        text = prompt(turn)
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": text}],
                tokenize=False,
                add_generation_prompt=True,
            )
        return text

    def act(self, turn: Turn) -> str:
        return self.act_batch([turn])[0]

    def act_batch(self, turns: Sequence[Turn]) -> list[str]:
        import torch

        texts, answers = [self._text(t) for t in turns], []
        for start in range(0, len(texts), self.batch_size):
            chunk = texts[start : start + self.batch_size]
            enc = self.tokenizer(
                chunk,
                return_tensors="pt",
                add_special_tokens=False,
                padding=True,
                truncation=self.max_prompt_tokens is not None,
                max_length=self.max_prompt_tokens,
            )
            ids, mask = (
                enc["input_ids"].to(self.model.device),
                enc["attention_mask"].to(self.model.device),
            )
            with torch.no_grad():
                out = self.model.generate(
                    ids,
                    attention_mask=mask,
                    max_new_tokens=self.max_new_tokens,
                    do_sample=self.do_sample,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            answers += self.tokenizer.batch_decode(
                out[:, ids.shape[1] :], skip_special_tokens=True
            )
        self.transcript += list(zip(texts, answers))
        return answers


class EndpointPlayer(Player):
    """An OpenAI-compatible ``/chat/completions`` endpoint (vLLM, llama.cpp server, OpenAI ...).

    Network or protocol errors come back as the answer text ``<endpoint error: ...>``, which
    the match records as a malformed-JSON rule violation.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        name: str | None = None,
        max_tokens: int = 512,
        timeout_s: float = 120.0,
    ):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.api_key, self.name = model, api_key, name or model
        self.max_tokens, self.timeout_s = max_tokens, timeout_s
        self.transcript: list[tuple[str, str]] = []

    def act(self, turn: Turn) -> str:
        text = prompt(turn)
        body = json.dumps(
            {
                "model": self.model,
                "messages": [{"role": "user", "content": text}],
                "temperature": 0,
                "max_tokens": self.max_tokens,
            }
        ).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(
            self.url, data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                answer = json.loads(response.read())["choices"][0]["message"]["content"]
        except (
            urllib.error.URLError,
            OSError,
            KeyError,
            IndexError,
            TypeError,
            ValueError,
        ) as e:
            answer = f"<endpoint error: {e}>"
        self.transcript.append((text, answer))
        return answer
