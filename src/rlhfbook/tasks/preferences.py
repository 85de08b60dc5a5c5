"""Preference pairs: the one pair type, rating a pair by a majority of raters, and loading datasets.

A pair is a prompt ``x``, the answer the raters chose ``y_w``, the one they rejected ``y_l``, and
``alpha``, the share of raters who preferred ``y_w`` (1 for datasets with one label per pair, read
as ``1 - eps`` by :mod:`rlhfbook.methods.ranking`). Every chapter's pairs are a :class:`PreferencePairs`:

- rated samples (chapter 1: two samples of the SFT policy; chapter 2: two answers of the ranking
  task's writer; chapter 3: every two programs of a prompt whose unit-test scores differ) are
  labelled by :func:`rate_pairs`, one vote of ``n_raters`` Bradley-Terry raters per pair;
- datasets (HH-RLHF-like, a local ``.json`` / ``.jsonl`` file or, online, a hub id) are read by
  :func:`load_pairs`. Rows carry ``chosen`` and ``rejected``, and either a ``prompt`` column or, as
  in Anthropic's HH-RLHF, full transcripts whose shared beginning up to the last ``"Assistant:"``
  turn is the prompt.

TRL's trainers read them through :meth:`PreferencePairs.to_dataset` (its standard format:
``prompt``, ``chosen``, ``rejected`` strings; ``prompt + chosen`` is the full text).

Used by chapters 1, 2 and 3, and by ``python -m rlhfbook.book.launch``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rlhfbook.lm.models import check_local_or_online

ASSISTANT = "\n\nAssistant:"


@dataclass
class PreferencePairs:
    """Aligned lists of prompts, chosen and rejected answers, and the share ``alpha`` of raters
    preferring the chosen one (default 1: one label per pair)."""

    prompts: list[str]
    chosen: list[str]
    rejected: list[str]
    alpha: np.ndarray = field(default=None)

    def __post_init__(self) -> None:
        if not len(self.prompts) == len(self.chosen) == len(self.rejected):
            raise ValueError(
                f"prompts, chosen and rejected need the same length, got "
                f"{len(self.prompts)}, {len(self.chosen)}, {len(self.rejected)}"
            )
        self.alpha = (
            np.ones(len(self.prompts))
            if self.alpha is None
            else np.asarray(self.alpha, dtype=np.float64)
        )
        if len(self.alpha) != len(self.prompts):
            raise ValueError(
                f"{len(self.prompts)} pairs but {len(self.alpha)} alpha values"
            )

    def __len__(self) -> int:
        return len(self.prompts)

    def select(self, index: Iterable[int]) -> PreferencePairs:
        """The pairs at positions ``index`` (integers), in that order."""
        index = [int(i) for i in index]
        return PreferencePairs(
            [self.prompts[i] for i in index],
            [self.chosen[i] for i in index],
            [self.rejected[i] for i in index],
            self.alpha[index],
        )

    def map_answers(self, fn: Callable[[str, str], str]) -> PreferencePairs:
        """The same pairs with every answer ``y`` of prompt ``x`` replaced by ``fn(x, y)``."""
        return PreferencePairs(
            list(self.prompts),
            [fn(x, y) for x, y in zip(self.prompts, self.chosen)],
            [fn(x, y) for x, y in zip(self.prompts, self.rejected)],
            self.alpha.copy(),
        )

    def rows(self) -> list[dict[str, str]]:
        """``{prompt, chosen, rejected}`` rows, TRL's standard preference format."""
        return [
            {"prompt": x, "chosen": w, "rejected": lo}
            for x, w, lo in zip(self.prompts, self.chosen, self.rejected)
        ]

    def to_dataset(self):
        """A ``datasets.Dataset`` of :meth:`rows` for TRL's ``RewardTrainer`` and ``DPOTrainer``."""
        from datasets import Dataset

        return Dataset.from_dict(
            {"prompt": self.prompts, "chosen": self.chosen, "rejected": self.rejected}
        )


class Raters(Protocol):
    def rate(
        self, prompt: str, a: str, b: str, n_raters: int, rng: np.random.Generator
    ) -> int:
        """How many of ``n_raters`` independent raters prefer ``a`` over ``b``."""


def majority(
    votes: np.ndarray | int, n_raters: int, rng: np.random.Generator | None = None
):
    """``(first wins, alpha)`` of votes for the first answer out of ``n_raters``: the first wins
    with more than half the votes; a tie (even ``n_raters``) is a coin flip drawn from ``rng``;
    ``alpha`` is the winner's share of the votes. Works on a number or an array of votes."""
    votes = np.asarray(votes)
    first = 2 * votes > n_raters
    tie = 2 * votes == n_raters
    if tie.any():
        if rng is None:
            raise ValueError(
                f"a tie of {n_raters} raters needs an rng for its coin flip; use an odd number of raters"
            )
        first = first.copy()
        first[tie] = (
            rng.random(np.count_nonzero(tie)) < 0.5
        )  # one flip per tie, in order
    return first, np.where(first, votes, n_raters - votes) / n_raters


def rate_pairs(
    raters: Raters,
    candidates: Iterable[tuple[str, str, str]],
    n_raters: int,
    rng: np.random.Generator,
) -> PreferencePairs:
    """Label each ``(prompt, a, b)`` of ``candidates`` by the :func:`majority` of ``n_raters`` of
    ``raters`` (Bradley-Terry choices, ``P(a > b) = sigmoid(r(a) - r(b))``): the winner is
    ``chosen``. ``candidates`` is consumed lazily, one pair sampled then rated at a time, so
    sampling and rating may share ``rng``."""
    prompts, chosen, rejected, alpha = [], [], [], []
    for prompt, a, b in candidates:
        first, share = majority(raters.rate(prompt, a, b, n_raters, rng), n_raters, rng)
        prompts.append(prompt)
        chosen.append(a if first else b)
        rejected.append(b if first else a)
        alpha.append(float(share))
    return PreferencePairs(prompts, chosen, rejected, np.array(alpha))


def split_prompt(chosen: str, rejected: str) -> tuple[str, str, str]:
    """``(prompt, chosen answer, rejected answer)`` of two full transcripts: the prompt ends
    at the last ``"\\n\\nAssistant:"`` of their common beginning (the answers keep their
    leading space, as HH-RLHF writes them)."""
    n = 0
    while n < min(len(chosen), len(rejected)) and chosen[n] == rejected[n]:
        n += 1
    cut = chosen.rfind(ASSISTANT, 0, n)
    if cut < 0:
        raise ValueError(
            "chosen and rejected share no '\\n\\nAssistant:' turn; give a 'prompt' column"
        )
    cut += len(ASSISTANT)
    return chosen[:cut], chosen[cut:], rejected[cut:]


def _rows(source: str | Path, split: str) -> list[dict[str, Any]]:
    path = Path(source)
    if path.is_file():
        text = path.read_text()
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        rows = json.loads(text)
        if not isinstance(rows, list):
            raise ValueError(f"{source}: a .json dataset must hold a list of rows")
        return rows

    check_local_or_online(
        str(source), "dataset"
    )  # one line: a missing file, or the hub offline
    from datasets import load_dataset

    return list(load_dataset(str(source), split=split))


def load_pairs(
    source: str | Path | Sequence[dict[str, Any]] | PreferencePairs,
    n: int | None = None,
    seed: int = 0,
    split: str = "train",
) -> PreferencePairs:
    """The pairs of ``source``: rows, a local ``.json``/``.jsonl`` file, or a hub id (its ``split``);
    a :class:`PreferencePairs` is returned as it is. With ``n``, a random subset of ``n`` rows
    (fixed by ``seed``), in the dataset's order."""
    if isinstance(source, PreferencePairs):
        return source
    given = isinstance(source, Sequence) and not isinstance(source, str)
    rows = list(source) if given else _rows(source, split)
    missing = {"chosen", "rejected"} - set(rows[0]) if rows else {"chosen", "rejected"}
    if missing:
        name = "preference rows" if given else str(source)
        raise ValueError(
            f"{name}: rows need 'chosen' and 'rejected' columns (missing {sorted(missing)})"
        )
    if n is not None and n < len(rows):
        keep = np.sort(
            np.random.default_rng(seed).choice(len(rows), size=n, replace=False)
        )
        rows = [rows[i] for i in keep]
    prompts, chosen, rejected = [], [], []
    for row in rows:
        if "prompt" in row:
            p, c, r = row["prompt"], row["chosen"], row["rejected"]
        else:
            p, c, r = split_prompt(row["chosen"], row["rejected"])
        prompts.append(p)
        chosen.append(c)
        rejected.append(r)
    return PreferencePairs(
        prompts,
        chosen,
        rejected,
        np.array([float(row.get("alpha", 1.0)) for row in rows]),
    )
