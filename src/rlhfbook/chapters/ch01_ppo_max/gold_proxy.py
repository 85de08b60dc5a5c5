"""Gold and proxy reward models on a real preference dataset (chapter 1 on hub models).

The over-optimisation setup of Gao et al. (2022), "Scaling laws for reward model
overoptimization": a *gold* reward model stands in for human judgement, a *proxy* reward
model trained on less data is what PPO optimises, and over-optimisation is the gold score
falling while the proxy's rises. On an HH-RLHF-format dataset (``chosen`` / ``rejected``
transcripts, :func:`rlhfbook.tasks.preferences.split_prompt`):

* the prompts of some single-turn rows are held out of both reward models' training; PPO
  samples its prompts from them and the final policies are evaluated on others
  (:func:`split`);
* the gold reward model trains on every other row, with the dataset's human labels
  (:func:`train_gold`);
* the proxy trains on a subset of the gold's rows, **relabelled by the gold reward model**
  (:func:`gold_labelled`), as Gao et al. label the proxy's data with their gold model: the
  proxy then estimates exactly the function the chapter calls gold, and its only errors are
  those of less data, not the disagreement between human labels and the gold model.

:func:`load` reads a dataset into its :class:`Data` (the pairs, their split, the held-out prompts).

Both reward models read a response as HH-RLHF writes it, ``"\\n\\nHuman: <prompt>\\n\\nAssistant:
<response>"`` plus EOS (:func:`transcript_reward`); the policy sees the prompt as one user turn
of its chat template (:func:`rlhfbook.lm.rollout.format_prompts`).

Used by chapter 1 (its real-model path, :mod:`rlhfbook.chapters.ch01_ppo_max.overoptimisation`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from rlhfbook.lm import models
from rlhfbook.lm.rollout import Rollout, eos_trick, reward_model_scores
from rlhfbook.methods import ranking, reward_model
from rlhfbook.tasks.preferences import ASSISTANT, PreferencePairs, load_pairs

if TYPE_CHECKING:
    from rlhfbook.chapters.ch01_ppo_max.spec import PPOMaxSettings

HUMAN = "\n\nHuman:"


def single_turn(prompt: str) -> str | None:
    """The human's text of a one-turn HH-RLHF prompt ``"\\n\\nHuman: X\\n\\nAssistant:"``, else None."""
    if (
        not (prompt.startswith(HUMAN) and prompt.endswith(ASSISTANT))
        or prompt.count(HUMAN) != 1
    ):
        return None
    text = prompt[len(HUMAN) : -len(ASSISTANT)].strip()
    return text if text and ASSISTANT not in text else None


def transcript(prompt: str) -> str:
    """The HH-RLHF prompt of a one-turn user ``prompt`` (the inverse of :func:`single_turn`)."""
    return f"{HUMAN} {prompt}{ASSISTANT}"


@dataclass(frozen=True)
class Split:
    """Row indices of a :class:`~rlhfbook.tasks.preferences.PreferencePairs` and the held-out prompts.

    ``gold`` are the gold reward model's training rows, ``proxy`` the first rows of ``gold``
    (in the split's shuffled order); ``ppo_prompts`` and ``eval_prompts`` are the one-turn
    prompts of rows no reward model trains on (every row with one of those prompts is held out).
    """

    gold: list[int]
    proxy: list[int]
    ppo_prompts: list[str]
    eval_prompts: list[str]
    answers: dict[
        str, str
    ]  # a held-out prompt's human-chosen answer (PPO-ptx's demonstrations)


def split(
    pairs: PreferencePairs, n_proxy: int, n_ppo: int, n_eval: int, seed: int
) -> Split:
    """Shuffle the rows (``seed``), hold out the first ``n_ppo + n_eval`` distinct one-turn
    prompts (evaluation first), give the gold every other row and the proxy ``n_proxy`` of them."""
    order = np.random.default_rng(seed).permutation(len(pairs))
    held: list[str] = []
    answers: dict[str, str] = {}
    for i in order:
        text = single_turn(pairs.prompts[i])
        if text is not None and text not in answers:
            held.append(text)
            answers[text] = pairs.chosen[i].strip()
            if len(held) == n_ppo + n_eval:
                break
    if len(held) < n_ppo + n_eval:
        raise ValueError(
            f"{len(held)} distinct one-turn prompts in the dataset, but n_ppo + n_eval = {n_ppo + n_eval} are needed"
        )
    gold = [int(i) for i in order if single_turn(pairs.prompts[i]) not in answers]
    if not 0 < n_proxy < len(gold):
        raise ValueError(
            f"the proxy needs 0 < n_proxy < {len(gold)} (the gold's training rows), got {n_proxy}"
        )
    return Split(gold, gold[:n_proxy], held[n_eval:], held[:n_eval], answers)


def _scorer(rm_path: str | Path, device, max_length: int):
    """The frozen reward model at ``rm_path`` and a function (prompts, responses) -> scores [B]."""

    tok = models.load_tokenizer(
        rm_path
    )  # a gold model given by id may have a tokenizer of its own
    rm, _ = models.load_reward_model(rm_path, tok, sample_only=True)
    rm.to(device).requires_grad_(False)
    prompt_tokens, answer_tokens = reward_model.cut_lengths(max_length)

    @torch.no_grad()
    def score(
        prompts: Sequence[str], responses: Sequence[str], batch: int = 16
    ) -> torch.Tensor:
        out = []
        for s in range(0, len(prompts), batch):
            enc = ranking.encode_responses(
                tok,
                list(prompts[s : s + batch]),
                list(responses[s : s + batch]),
                max_prompt_tokens=prompt_tokens,
                max_response_tokens=answer_tokens,
            )
            out.append(reward_model_scores(rm, enc))
        return torch.cat(out)

    return score


def transcript_reward(
    rm_path: str | Path, device, max_length: int, no_eos_score: float | None = -1.0
) -> Callable[[Rollout], torch.Tensor]:
    """A reward model as a function rollout -> scores [B]: each one-turn prompt and its response
    read as an HH-RLHF transcript (:func:`transcript`), ``no_eos_score`` for a response cut off
    without EOS (the EOS trick)."""
    score = _scorer(rm_path, device, max_length)

    def reward(rollout: Rollout) -> torch.Tensor:
        scores = score(
            [transcript(p) for p in rollout.prompts],
            [" " + r.strip() for r in rollout.responses],
        )
        return eos_trick(scores, rollout, no_eos_score)

    return reward


def gold_labelled(
    pairs: PreferencePairs,
    index: Sequence[int],
    gold_path: str | Path,
    device,
    max_length: int,
) -> tuple[PreferencePairs, float]:
    """The pairs ``index`` with ``chosen`` the response the gold reward model scores higher
    (Gao et al.'s synthetic labels), and the share of rows where it agrees with the human label."""
    score = _scorer(gold_path, device, max_length)
    part = pairs.select(index)
    keep = (
        score(part.prompts, part.chosen) >= score(part.prompts, part.rejected)
    ).tolist()
    labelled = PreferencePairs(
        part.prompts,
        [w if k else lo for w, lo, k in zip(part.chosen, part.rejected, keep)],
        [lo if k else w for w, lo, k in zip(part.chosen, part.rejected, keep)],
    )
    return labelled, float(np.mean(keep))


@dataclass(frozen=True)
class PromptPool:
    """Held-out one-turn prompts: PPO samples from ``ppo`` (as a toy task's ``sample_prompts``),
    the final policies are evaluated on ``eval``; ``answers`` are PPO-ptx's demonstrations."""

    ppo: list[str]
    eval: list[str]
    answers: dict[str, str]

    @classmethod
    def of(cls, s: Split) -> PromptPool:
        """The held-out prompts of a :func:`split`."""
        return cls(
            s.ppo_prompts, s.eval_prompts, {p: s.answers[p] for p in s.ppo_prompts}
        )

    def sample_prompts(self, n: int, rng: np.random.Generator) -> list[str]:
        """``n`` prompts drawn uniformly with replacement."""
        return [self.ppo[i] for i in rng.integers(len(self.ppo), size=n)]

    def demonstration(self, prompt: str, rng: np.random.Generator) -> str:
        """The human-chosen answer to ``prompt`` (as a toy task's demonstration; ``rng`` unused)."""
        return self.answers[prompt]

    def save(self, path: str | Path) -> str:
        """Write the pool as JSON (a :class:`rlhfbook.chapters.ch01_ppo_max.overoptimisation.Run` carries the path); returns it."""
        Path(path).write_text(
            json.dumps({"ppo": self.ppo, "eval": self.eval, "answers": self.answers})
        )
        return str(path)

    @classmethod
    def load(cls, path: str | Path) -> PromptPool:
        """The pool :meth:`save` wrote."""
        return cls(**json.loads(Path(path).read_text()))


@dataclass(frozen=True)
class Data:
    """A preference dataset's pairs, their :func:`split` and its held-out prompts (:class:`PromptPool`)."""

    pairs: PreferencePairs
    split: Split
    pool: PromptPool

    def __str__(self) -> str:
        return (
            f"{len(self.pairs)} preference pairs: {len(self.split.gold)} for the gold reward model, "
            f"{len(self.split.proxy)} of them for the proxy; {len(self.pool.ppo)} held-out prompts for PPO, "
            f"{len(self.pool.eval)} for the evaluation"
        )

    def proxy_pairs(
        self, gold_path: str | Path, device, max_length: int
    ) -> tuple[PreferencePairs, float]:
        """The proxy's training pairs, labelled by the gold reward model (:func:`gold_labelled`), and the
        share of them where the gold model agrees with the human label."""
        return gold_labelled(
            self.pairs, self.split.proxy, gold_path, device, max_length
        )

    def run_fields(
        self,
        gold_path: str | Path,
        folder: str | Path,
        max_length: int,
        gold_no_eos: float,
        proxy_no_eos: float,
    ) -> dict[str, Any]:
        """The :class:`rlhfbook.chapters.ch01_ppo_max.overoptimisation.Run` fields of the real-model path: the gold model, the
        held-out prompts (saved as ``folder/prompts.json``), the reward models' ``max_length`` and
        the gold's and the proxy's scores of a response cut off without EOS
        (:func:`rlhfbook.chapters.ch01_ppo_max.overoptimisation.no_eos_score`)."""
        prompts = self.pool.save(Path(folder) / "prompts.json")
        return dict(
            gold_path=str(gold_path),
            prompts_path=prompts,
            rm_max_length=max_length,
            gold_no_eos=gold_no_eos,
            proxy_no_eos=proxy_no_eos,
        )


def load(P: PPOMaxSettings, seed: int) -> Data:
    """``P.preference_dataset``'s train split, :func:`split` with ``seed`` into the gold's rows, the
    proxy's ``P.proxy_pairs`` of them, ``P.ppo_prompt_pool`` prompts for PPO and ``P.eval_prompts``
    for the evaluation."""
    if not P.preference_dataset:
        raise ValueError(
            "model_name needs preference_dataset: the gold and proxy reward models train on it"
        )
    pairs = load_pairs(P.preference_dataset, split="train")
    s = split(pairs, P.proxy_pairs, P.ppo_prompt_pool, P.eval_prompts, seed)
    return Data(pairs, s, PromptPool.of(s))


def fit_reward_model(
    P: PPOMaxSettings,
    base: str | Path,
    tokenizer,
    pairs,
    out_dir: str | Path,
    seed: int,
    steps: int,
) -> Path:
    """A reward model of the chapter (the toy proxy, or on real models the gold and the proxy): the
    Bradley-Terry loss -log sigma(r(x, y_w) - r(x, y_l)) on ``pairs`` from ``base`` with TRL's
    RewardTrainer (:func:`rlhfbook.methods.reward_model.train_reward_model`), ``steps`` steps of 32 pairs
    in passes of ``P.micro_batch`` pairs, in ``P.autocast``'s precision."""
    path, _ = reward_model.train_reward_model(
        base,
        tokenizer,
        pairs,
        out_dir,
        steps=steps,
        batch_size=32,
        lr=P.rm_lr,
        seed=seed,
        max_length=P.rm_max_length,
        micro_batch=P.micro_batch,
        autocast=P.autocast,
    )
    return path


def train_gold(
    P: PPOMaxSettings,
    base: str | Path,
    tokenizer,
    data: Data,
    out_dir: str | Path,
    seed: int,
) -> Path:
    """The gold reward model: a Bradley-Terry reward model
    (:func:`fit_reward_model`) from ``base`` on every row of ``data`` but the
    held-out prompts', with the dataset's human labels, ``P.gold_rm_steps`` steps (torch seeded with
    ``seed`` first)."""
    torch.manual_seed(seed)
    return fit_reward_model(
        P,
        base,
        tokenizer,
        data.pairs.select(data.split.gold),
        out_dir,
        seed,
        P.gold_rm_steps,
    )
