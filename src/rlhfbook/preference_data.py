"""Real preference datasets (HH-RLHF-like) as ``(prompt, chosen, rejected, alpha)`` lists.

A source is a local ``.json`` / ``.jsonl`` file or, online, a hub dataset id. Rows carry
``chosen`` and ``rejected``, and either a ``prompt`` column or, as in Anthropic's HH-RLHF,
full transcripts whose shared beginning up to the last ``"Assistant:"`` turn is the prompt.
An optional ``alpha`` column is the share of raters preferring ``chosen``; datasets with one
label per pair get ``alpha = 1`` (read as ``1 - eps`` by :mod:`rlhfbook.ranking`).

Used by chapter 2 (its real-data part, and the pair type of its ranking task).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ASSISTANT = "\n\nAssistant:"


@dataclass
class PreferencePairs:
    prompts: list[str]
    chosen: list[str]
    rejected: list[str]
    alpha: np.ndarray

    def __len__(self) -> int:
        return len(self.prompts)

    def select(self, index) -> PreferencePairs:
        """The pairs at positions ``index`` (an array of integers), in that order."""
        index = [int(i) for i in index]
        return PreferencePairs(
            [self.prompts[i] for i in index],
            [self.chosen[i] for i in index],
            [self.rejected[i] for i in index],
            np.asarray(self.alpha)[index],
        )


def split_prompt(chosen: str, rejected: str) -> tuple[str, str, str]:
    """``(prompt, chosen answer, rejected answer)`` of two full transcripts: the prompt ends
    at the last ``"\\n\\nAssistant:"`` of their common beginning (the answers keep their
    leading space, as HH-RLHF writes them)."""
    n = 0
    while n < min(len(chosen), len(rejected)) and chosen[n] == rejected[n]:
        n += 1
    cut = chosen.rfind(ASSISTANT, 0, n)
    if cut < 0:
        raise ValueError("chosen and rejected share no '\\n\\nAssistant:' turn; give a 'prompt' column")
    cut += len(ASSISTANT)
    return chosen[:cut], chosen[cut:], rejected[cut:]


def _rows(source: str, split: str) -> list[dict]:
    path = Path(source)
    if path.is_file():
        text = path.read_text()
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        rows = json.loads(text)
        if not isinstance(rows, list):
            raise ValueError(f"{source}: a .json dataset must hold a list of rows")
        return rows
    from .models import check_local_or_online

    check_local_or_online(source, "dataset")  # one line: a missing file, or the hub offline
    from datasets import load_dataset

    return list(load_dataset(source, split=split))


def load_pairs(source: str, n: int | None = None, seed: int = 0, split: str = "test") -> PreferencePairs:
    """Up to ``n`` pairs of ``source`` (a random subset, fixed by ``seed``)."""
    rows = _rows(source, split)
    missing = {"chosen", "rejected"} - set(rows[0]) if rows else {"chosen", "rejected"}
    if missing:
        raise ValueError(f"{source}: rows need 'chosen' and 'rejected' columns (missing {sorted(missing)})")
    if n is not None and n < len(rows):
        keep = np.sort(np.random.default_rng(seed).choice(len(rows), size=n, replace=False))
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
    alpha = np.array([float(row.get("alpha", 1.0)) for row in rows])
    return PreferencePairs(prompts, chosen, rejected, alpha)
