"""A player trained in the book: a tiny transformer that reads the game and writes its next build.

The benchmark's LLMs read a prompt (their side, last round's result, their cost and the
budget, both builds) and answer with a JSON build. This player reads the same information as
a short sequence of *game tokens* and writes ``keep`` or ``revise`` followed by a full build,
one token per character or skill, for the turn-based game::

    context:  defender lost $17 own Wood Wood/Bud_Healing ... opp Fire Fire/Flame_Splash ... out
    answer:   revise Earth Earth/Core_Rebound Earth/Rock_Armor Earth/Earth_Shock Wood ... <eos>

Nothing in the vocabulary or the decoding enforces the rules: a build may cost more than the
budget, repeat an element or give a character another element's skill. The answer is turned
into the JSON text the protocol parses, so those are over-budget builds and rule violations
exactly as for an LLM.

Training (all on CPU in seconds, cached like the toy world's base policies):

1. **SFT** on demonstrations: the turns of the book's scripted revisers playing each other
   (:func:`demonstrations`), with the toy world's SFT loop.
2. **RL** with a group-relative policy gradient (GRPO, Shao et al. 2024), rewarded per match:
   each sparring match is played ``group_size`` times from the same start with the same
   random draws, the policy sampling its own answers in every copy (its context carries the
   match's history); a copy's reward is the share of its later rounds the policy won
   (:func:`match_reward`), and every answer in a copy gets that copy's reward standardised
   within its group as its advantage. The update is PPO's clipped surrogate
   (:func:`rlhfbook.methods.ppo.policy_loss`) plus a KL penalty to the SFT policy
   (:func:`rlhfbook.methods.ppo.kl_k3`).

Used by chapter 5.
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlhfbook.core import __version__
from rlhfbook.core.environment import cache_root
from rlhfbook.core.progress import track
from rlhfbook.core.runtime import seed_everything
from rlhfbook.lm.rollout import (
    end_token_ids,
    generate,
    rollout_from_ids,
)
from rlhfbook.methods.games.base import SIDES, Build, other
from rlhfbook.methods.games.players import Player, Turn
from rlhfbook.methods.games.protocol import Match, play_matches
from rlhfbook.methods.games.turn_based import ELEMENTS, SKILLS, TurnBased
from rlhfbook.methods.grpo import group_advantages, grpo_update
from rlhfbook.tasks.toyworld.model import new_model
from rlhfbook.tasks.toyworld.sft import supervised_finetune

RESULTS = ("start", "rejected", "won", "lost", "tie")
MARKERS = ("own", "opp", "hist", "out", "none")
ACTIONS = ("keep", "revise")
MAX_COST = 45  # nine skills of cost 5


def skill_token(element: str, name: str) -> str:
    return f"{element}/{name.replace(' ', '_')}"


class Codec:
    """Game state -> context tokens, and the model's answer -> the JSON text the protocol parses."""

    def __init__(self, game: TurnBased | None = None):
        self.game = game or TurnBased()
        elements = [el for side in SIDES for el in ELEMENTS[side]]
        self.skills = {
            skill_token(el, s.name): s.name for el in elements for s in SKILLS[el]
        }
        self.tokens = (
            *SIDES,
            *RESULTS,
            *(f"${c}" for c in range(MAX_COST + 1)),
            *MARKERS,
            *ACTIONS,
            *elements,
            *self.skills,
        )
        self.max_answer_tokens = (
            1 + 3 * 4 + 1
        )  # action, three characters of element + 3 skills, EOS
        self._tokenizer = None

    @property
    def tokenizer(self):
        """A word-level tokenizer over :attr:`tokens` (one token per word), left padding for generation."""
        if self._tokenizer is None:
            # deferred: tokenizers and transformers, which a game needs only to train a player
            from tokenizers import pre_tokenizers

            from rlhfbook.tasks.toyworld.tokenizer import word_level

            self._tokenizer = word_level(self.tokens, pre_tokenizers.WhitespaceSplit())
        return self._tokenizer

    def build_tokens(self, build: Build | None, side: str) -> str:
        if build is None:
            return "none"
        return (
            " ".join(
                f"{c['element']} "
                + " ".join(skill_token(c["element"], s) for s in c["skills"])
                for c in build[self.game.keys[side]]
            )
            or "none"
        )

    def context(self, turn: Turn) -> str:
        """What the protocol tells the side: side, last result, own cost, own build, opponent build,
        and the match's history (the side's results in the rounds before the last)."""
        side = turn.side
        if turn.round == 0:
            result = "rejected" if turn.feedback else "start"
        else:
            result = {side: "won", "none": "tie"}.get(turn.last_winner, "lost")
        cost = (
            "none"
            if turn.own_build is None
            else f"${min(self.game.cost(side, turn.own_build), MAX_COST)}"
        )
        return (
            f"{side} {result} {cost} own {self.build_tokens(turn.own_build, side)} "
            f"opp {self.build_tokens(turn.opponent_build, other(side))} "
            f"hist {' '.join(turn.history) or 'none'} out"
        )

    def answer_tokens(self, own: Build | None, new: Build, side: str) -> str:
        """A demonstration's answer: ``keep`` when the build did not change, else ``revise`` and the build."""
        return (
            "keep"
            if own is not None and new == own
            else f"revise {self.build_tokens(new, side)}"
        )

    def to_json(self, turn: Turn, answer: str) -> str:
        """The protocol's view of an answer: the previous build for ``keep``, else the written build.

        Skill tokens become skill names without checking their element, and an answer that starts
        with neither action is returned as is (no JSON: a malformed-answer violation).
        """
        words = answer.split()
        if words[:1] == ["keep"] and turn.own_build is not None:
            return json.dumps(turn.own_build)
        if words[:1] != ["revise"]:
            return answer
        team: list[dict[str, Any]] = []
        for word in words[1:]:
            if word in ELEMENTS["defender"] + ELEMENTS["invader"]:
                team.append({"element": word, "skills": []})
            elif team:
                team[-1]["skills"].append(self.skills.get(word, word))
            else:
                team.append({"element": None, "skills": [word]})
        return json.dumps({self.game.keys[turn.side]: team})


def new_policy(codec: Codec, size: str = "tiny", seed: int = 0):
    """A fresh tiny Llama over the codec's vocabulary (the toy world's model factory)."""

    torch.manual_seed(seed)
    return new_model(size, codec.tokenizer)


class TransformerPlayer(Player):
    """A causal LM over game tokens; answers a batch of turns with one generation (sampled, or greedy)."""

    def __init__(
        self,
        model: Any,
        codec: Codec,
        name: str,
        temperature: float = 1.0,
        greedy: bool = False,
    ):
        self.model, self.codec, self.name = model, codec, name
        self.temperature, self.greedy = temperature, greedy
        # set to a list to record (turn, context, answer token ids) of every revision turn
        self.answers: list[tuple[Turn, str, list[int]]] | None = None

    def act(self, turn: Turn) -> str:
        return self.act_batch([turn])[0]

    def act_batch(self, turns: Sequence[Turn]) -> list[str]:

        contexts = [self.codec.context(t) for t in turns]
        rollout = generate(
            self.model,
            self.codec.tokenizer,
            contexts,
            max_new_tokens=self.codec.max_answer_tokens,
            temperature=self.temperature,
            greedy=self.greedy,
        )
        if self.answers is not None:
            self.answers += [
                (t, c, ids[mask.bool()].tolist())
                for t, c, ids, mask in zip(
                    turns, contexts, rollout.response_ids, rollout.response_mask
                )
                if t.round > 0
            ]
        return [
            self.codec.to_json(t, answer) for t, answer in zip(turns, rollout.responses)
        ]


class _Recorder(Player):
    """Plays as ``player`` and keeps (context, answer tokens) of every turn it answered."""

    def __init__(self, player: Player, codec: Codec, pairs: list[tuple[str, str]]):
        self.player, self.codec, self.pairs, self.name = (
            player,
            codec,
            pairs,
            player.name,
        )

    def act(self, turn: Turn) -> str:
        text = self.player.act(turn)
        build, violations = self.codec.game.parse(turn.side, text)
        if build is not None and not violations:
            self.pairs.append(
                (
                    self.codec.context(turn),
                    self.codec.answer_tokens(turn.own_build, build, turn.side),
                )
            )
        return text


def _sparring(
    players: Sequence[Player],
    n: int,
    rounds: int,
    rng: np.random.Generator,
    game: TurnBased,
    learner: Player | None = None,
) -> list[Match]:
    """``n`` matches of random pairs (or ``learner`` against a random partner) in random roles and order."""
    matches = []
    for _ in range(n):
        if learner is None:
            a, b = (players[i] for i in rng.choice(len(players), 2, replace=False))
        else:
            a, b = learner, players[int(rng.integers(len(players)))]
        if rng.random() < 0.5:
            a, b = b, a
        matches.append(
            Match(
                game,
                a,
                b,
                rounds,
                SIDES[int(rng.integers(2))],
                int(rng.integers(2**31)),
            )
        )
    return matches


def demonstrations(
    players: Sequence[Player],
    codec: Codec,
    n_matches: int,
    rounds: int = 10,
    seed: int = 0,
) -> list[tuple[str, str]]:
    """(context, answer) pairs of every turn the scripted ``players`` answered in matches among themselves."""
    rng = np.random.default_rng(seed)
    pairs: list[tuple[str, str]] = []
    recorders = [_Recorder(p, codec, pairs) for p in players]
    play_matches(_sparring(recorders, n_matches, rounds, rng, codec.game))
    return pairs


class DemonstrationTask:
    """The demonstrations as a toy-world task (``sample_prompts`` / ``demonstration``) for its SFT loop."""

    name = "game demonstrations"

    def __init__(self, pairs: Sequence[tuple[str, str]]):
        if not pairs:
            raise ValueError("no demonstrations")
        self.contexts = [c for c, _ in pairs]
        self.answers: dict[str, list[str]] = {}
        for c, a in pairs:
            self.answers.setdefault(c, []).append(a)

    def sample_prompts(self, n: int, rng: np.random.Generator) -> list[str]:
        return [self.contexts[i] for i in rng.integers(len(self.contexts), size=n)]

    def demonstration(self, prompt: str, rng: np.random.Generator) -> str:
        options = self.answers[prompt]
        return options[int(rng.integers(len(options)))]


def match_reward(log: Any, side: str) -> float:
    """The RL reward of a whole match: the share of rounds 2, ..., R + 1 that ``side`` won (after
    budget adjudication) -- every round its revisions can change, the first round's builds
    being written before any feedback. One number per match, so a revision is paid for what it
    does to the rest of the match, not to the next round alone."""
    later = log[log["round"] > 1]
    return float((later["winner"] == side).mean()) if len(later) else 0.0


@dataclass(frozen=True)
class LeagueGRPOConfig:
    """The RL stage of a game player: iterations of (play sparring matches, sample a group of
    answers per state, score, update with :func:`rlhfbook.methods.grpo.grpo_update`)."""

    iterations: int = 30
    matches: int = 16  # sparring matches per iteration; the learner's revision turns are the states
    group_size: int = 8
    rounds: int = 10
    lr: float = 1e-3
    kl_coef: float = 0.02
    clip: float = 0.2
    epochs: int = 2
    minibatch: int = 256
    temperature: float = 1.0


def grpo(
    model: Any,
    codec: Codec,
    sparring: Sequence[Player],
    cfg: LeagueGRPOConfig,
    *,
    seed: int = 0,
    snapshots: Sequence[int] = (),
    progress: bool = True,
) -> tuple[list[dict[str, float]], dict[int, dict]]:
    """Train ``model`` in place; returns one log row per iteration and state dicts after the ``snapshots`` iterations.

    An iteration draws ``cfg.matches`` sparring matches of the current policy against random
    partners and plays each ``cfg.group_size`` times from the same start with the same random
    draws (a group), the policy sampling its own answers in every copy. A copy's reward is
    :func:`match_reward`; its advantage, the reward standardised within the group, is given to
    every answer the policy wrote in that copy, and :func:`rlhfbook.methods.grpo.grpo_update` updates on all of them.
    """

    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    ref = copy.deepcopy(model).eval()
    opt = torch.optim.AdamW(
        model.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=0.0
    )
    learner = TransformerPlayer(model, codec, "learner", cfg.temperature)
    eos = end_token_ids(codec.tokenizer, model)
    log, saved = [], {}
    if 0 in snapshots:
        saved[0] = copy.deepcopy(model.state_dict())
    for it in track(range(1, cfg.iterations + 1), desc="GRPO", enabled=progress):
        model.eval()
        learner.answers = []
        copies = [
            m
            for m in _sparring(
                sparring, cfg.matches, cfg.rounds, rng, codec.game, learner=learner
            )
            for _ in range(cfg.group_size)
        ]
        logs = play_matches(copies)
        sides = ["defender" if m.defender is learner else "invader" for m in copies]
        rewards = torch.tensor([match_reward(g, s) for g, s in zip(logs, sides)])
        advantages = group_advantages(rewards, cfg.group_size)
        turns, contexts, ids = zip(*learner.answers)
        rollout = rollout_from_ids(codec.tokenizer, list(contexts), list(ids), eos)
        stats = grpo_update(
            model,
            ref,
            opt,
            rollout,
            advantages[torch.tensor([t.match for t in turns])],
            cfg,
        )
        builds = [
            codec.game.parse(t.side, codec.to_json(t, a))[0]
            for t, a in zip(turns, rollout.responses)
        ]
        log.append(
            {
                "iteration": it,
                "states": len(turns),
                "win": rewards.mean().item(),
                "over_budget": float(
                    np.mean(
                        [
                            b is not None and codec.game.over_budget(t.side, b)
                            for t, b in zip(turns, builds)
                        ]
                    )
                ),
                "keep": float(
                    np.mean([a.split()[:1] == ["keep"] for a in rollout.responses])
                ),
                **stats,
            }
        )
        if it in snapshots:
            saved[it] = copy.deepcopy(model.state_dict())
    learner.answers = None
    return log, saved


# --- the cached recipe ------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the trained checkpoints (part of the cache key)."""

    size: str = "tiny"
    demo_matches: int = 400
    sft_steps: int = 300
    sft_batch: int = 64
    sft_lr: float = 3e-3
    grpo: LeagueGRPOConfig = field(default_factory=LeagueGRPOConfig)
    early: int = 5  # the "early RL" checkpoint: after this many GRPO iterations
    seed: int = 0
    noise: float = 0.0  # the turn-based game's outcome noise (TurnBased(noise=...))

    def __post_init__(self) -> None:
        if not 0 < self.early < self.grpo.iterations:
            raise ValueError(
                f"early must lie strictly between 0 and {self.grpo.iterations} iterations, got {self.early}"
            )


CHECKPOINTS = ("SFT", "RL early", "RL late")


def _source_hash() -> str:
    """Hash of the code that decides the checkpoints: the game engine, protocol, players and training code."""
    here = Path(__file__).parent
    files = (
        [
            here / n
            for n in (
                "base.py",
                "turn_based.py",
                "protocol.py",
                "players.py",
                "learned.py",
            )
        ]
        + [here.parent / "ppo.py", here.parent / "grpo.py"]
        + [here.parents[1] / "lm" / "rollout.py"]
        + [here.parents[1] / "tasks" / "toyworld" / n for n in ("model.py", "sft.py")]
    )
    h = hashlib.sha256()
    for path in files:
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


def cache_key(
    recipe: Recipe, demonstrators: Sequence[Player], sparring: Sequence[Player]
) -> str:
    payload = json.dumps(
        {
            "recipe": asdict(recipe),
            "demonstrators": [repr(p) for p in demonstrators],
            "sparring": [repr(p) for p in sparring],
            "version": __version__,
            "source": _source_hash(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def train_players(
    recipe: Recipe,
    demonstrators: Sequence[Player],
    sparring: Sequence[Player],
    progress: bool = True,
) -> dict[str, Any]:
    """SFT then GRPO; returns the checkpoints' state dicts, the training logs and the seconds taken."""

    start = time.perf_counter()
    seed_everything(recipe.seed)
    codec = Codec(TurnBased(recipe.noise))
    pairs = demonstrations(
        demonstrators, codec, recipe.demo_matches, recipe.grpo.rounds, recipe.seed
    )
    model = new_policy(codec, recipe.size, recipe.seed)
    sft_losses = supervised_finetune(
        model,
        codec.tokenizer,
        DemonstrationTask(pairs),
        steps=recipe.sft_steps,
        batch_size=recipe.sft_batch,
        lr=recipe.sft_lr,
        seed=recipe.seed,
        progress=progress,
    )
    sft_s = time.perf_counter() - start
    log, saved = grpo(
        model,
        codec,
        sparring,
        recipe.grpo,
        seed=recipe.seed,
        snapshots=(0, recipe.early, recipe.grpo.iterations),
        progress=progress,
    )
    states = dict(
        zip(CHECKPOINTS, (saved[0], saved[recipe.early], saved[recipe.grpo.iterations]))
    )
    return {
        "checkpoints": states,
        "sft_losses": sft_losses,
        "grpo_log": log,
        "demonstrations": len(pairs),
        "sft_seconds": sft_s,
        "seconds": time.perf_counter() - start,
    }


def trained_players(
    recipe: Recipe,
    demonstrators: Sequence[Player],
    sparring: Sequence[Player],
    temperature: float = 1.0,
    progress: bool = True,
) -> tuple[dict[str, TransformerPlayer], dict]:
    """The checkpoints as players (trained once, then read from the cache) and the training record.

    The cache file lives under the toy world's cache root, keyed by the recipe, the players
    it learns from and the source of the games and the training code; it is written under a
    temporary name and renamed when complete, under a lock so that parallel runs train once.
    """
    key = cache_key(recipe, demonstrators, sparring)
    path = cache_root() / "game_players" / f"turn_based-{key}.pt"
    record = _load(path, key)
    cached = record is not None
    if record is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            record = _load(path, key)
            if record is None:
                record = {
                    "key": key,
                    **train_players(recipe, demonstrators, sparring, progress),
                }
                tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
                torch.save(record, tmp)
                tmp.rename(path)
    codec = Codec(TurnBased(recipe.noise))
    players = {}
    for name, state in record["checkpoints"].items():
        model = new_policy(codec, recipe.size)
        model.load_state_dict(state)
        players[name] = TransformerPlayer(model.eval(), codec, name, temperature)
    return players, {
        **{k: v for k, v in record.items() if k != "checkpoints"},
        "cached": cached,
    }


def _load(path: Path, key: str) -> Mapping | None:
    try:
        record = torch.load(path, weights_only=False)
    except (OSError, RuntimeError, EOFError, ValueError):
        return None
    return record if isinstance(record, Mapping) and record.get("key") == key else None
