"""Cached base (SFT) policies of the toy world: trained once, then loaded in seconds.

``base_policy(task, profile)`` returns the folder of a policy fine-tuned on the task's
demonstrations. Folders live under the cache root (``$RLHFBOOK_CACHE``, default
``./.cache/rlhfbook``) keyed by a hash of everything that decides the weights: the task,
the training recipe, the seed, the package version and the toy world's source code.
A folder is written under a temporary name and renamed when complete, with a manifest of
file hashes; a partial or corrupt folder fails verification and is rebuilt, never used.

Used by every chapter.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rlhfbook.core import __version__, runtime
from rlhfbook.core.environment import cache_root
from rlhfbook.tasks.toyworld.code import CodeTask
from rlhfbook.tasks.toyworld.model import new_model
from rlhfbook.tasks.toyworld.preference import PreferenceTask
from rlhfbook.tasks.toyworld.sft import supervised_finetune
from rlhfbook.tasks.toyworld.tokenizer import build_tokenizer

TASKS = {"preference": PreferenceTask(), "code": CodeTask()}
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Recipe:
    """How a base policy is trained."""

    size: str
    steps: int
    batch_size: int = 64
    lr: float = 3e-3
    seed: int = 0
    on_gpu: bool = False  # train on the GPU when there is one; False: on the CPU everywhere, bit for bit


RECIPES = {
    "smoke": Recipe(size="tiny", steps=30, batch_size=32),
    "cpu": Recipe(size="small", steps=700),
    "gpu": Recipe(size="base", steps=3000, lr=1e-3, on_gpu=True),
}


def task(name: str):
    """The toy world's task called ``name``."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(TASKS)}")
    return TASKS[name]


# The modules that build, train and load a base policy: a change elsewhere in the toy world
# (its figures, say) cannot change the trained weights, so it does not invalidate the cache.
TRAINING_SOURCES = (
    "code.py",
    "model.py",
    "policies.py",
    "preference.py",
    "sft.py",
    "tokenizer.py",
)


def _source_hash() -> str:
    h = hashlib.sha256()
    for path in (Path(__file__).parent / name for name in TRAINING_SOURCES):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


def cache_key(task_name: str, recipe: Recipe) -> str:
    """Hash of the task, the recipe (incl. seed), the package version and the source."""
    payload = json.dumps(
        {
            "task": repr(task(task_name)),
            "recipe": asdict(recipe),
            "version": __version__,
            "source": _source_hash(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _file_hashes(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != MANIFEST
    }


def verify(folder: Path, key: str) -> bool:
    """True when ``folder`` holds a complete policy for ``key`` whose files are intact."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return manifest.get("key") == key and manifest.get("files") == _file_hashes(folder)


def manifest(folder: Path) -> dict:
    """The training record of a cached policy (recipe, losses, seconds)."""
    return json.loads((Path(folder) / MANIFEST).read_text())


def base_policy(task_name: str, profile: str, progress: bool = True) -> Path:
    """Folder of the SFT policy for ``task_name`` in ``profile``; trains it if needed."""
    if profile not in RECIPES:
        raise ValueError(
            f"unknown profile {profile!r}; valid profiles: {', '.join(RECIPES)}"
        )
    recipe = RECIPES[profile]
    key = cache_key(task_name, recipe)
    folder = cache_root() / "base_policies" / f"{task_name}-{profile}-{key}"
    if verify(folder, key):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "w") as lock:
        fcntl.flock(
            lock, fcntl.LOCK_EX
        )  # chapters run side by side: one trains, the others wait
        if not verify(folder, key):
            shutil.rmtree(folder, ignore_errors=True)
            _train(task_name, recipe, key, folder, progress)
    return folder


def _train(
    task_name: str, recipe: Recipe, key: str, folder: Path, progress: bool
) -> None:
    """Train the recipe's policy (on :func:`rlhfbook.core.runtime.device` if ``recipe.on_gpu``, else
    on the CPU) and write it, with its manifest, to ``folder`` atomically."""

    start = time.perf_counter()
    runtime.seed_everything(
        recipe.seed
    )  # the same weights whoever asks, with the book's thread count
    tokenizer = build_tokenizer()
    model = new_model(recipe.size, tokenizer).to(
        runtime.device() if recipe.on_gpu else "cpu"
    )
    losses = supervised_finetune(
        model,
        tokenizer,
        task(task_name),
        steps=recipe.steps,
        batch_size=recipe.batch_size,
        lr=recipe.lr,
        seed=recipe.seed,
        progress=progress,
    )
    tmp = folder.with_name(folder.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.to("cpu").save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    record = {
        "key": key,
        "task": task_name,
        "recipe": asdict(recipe),
        "train_losses": losses,
        "seconds": round(time.perf_counter() - start, 1),
        "files": _file_hashes(tmp),
    }
    (tmp / MANIFEST).write_text(json.dumps(record))
    try:
        tmp.rename(folder)
    except OSError:  # another process finished the same policy first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
        if not verify(folder, key):
            raise


def record_checks(
    results: Any,
    evaluation: Mapping[tuple[str, str], Mapping[str, Any]],
    tasks: Sequence[str],
) -> None:
    """Chapter 0's sanity checks of the base policies, recorded on ``results`` (a
    :class:`rlhfbook.report.results.Results`) from ``evaluation`` ((task, "untrained" | "SFT") ->
    mean_gold, greedy_pass_at_1, eos_rate, round_trip): SFT beats an untrained model on the
    preference task, passes a fair share of the code task's unit tests, ends its responses, and
    the tokenizer round-trips every sample."""
    pref_gain = (
        evaluation[("preference", "SFT")]["mean_gold"]
        - evaluation[("preference", "untrained")]["mean_gold"]
    )
    results.check(
        "preference SFT beats untrained",
        kind="sanity",
        claim="SFT on demonstrations raises the mean gold reward of samples",
        paper="n/a (toy world)",
        value=float(pref_gain),
        threshold=1.0,
        direction=">=",
        rule="gold gain of the SFT policy over the untrained one, on the evaluation prompts",
    )
    code_pass = evaluation[("code", "SFT")]["greedy_pass_at_1"]
    code_pass_untrained = evaluation[("code", "untrained")]["greedy_pass_at_1"]
    results.check(
        "code SFT passes unit tests",
        kind="sanity",
        claim="the SFT policy solves a fair share of programs, leaving room for RL",
        paper="n/a (toy world)",
        value=float(code_pass),
        threshold=0.25,
        direction=">=",
        ours={"untrained pass@1": float(code_pass_untrained)},
        rule="0.25 <= SFT pass@1 <= 0.8 and untrained pass@1 <= 0.05",
        passed=0.25 <= code_pass <= 0.8 and code_pass_untrained <= 0.05,
    )
    eos = min(evaluation[(n, "SFT")]["eos_rate"] for n in tasks)
    results.check(
        "SFT policies end their responses",
        kind="sanity",
        claim="sampled SFT responses end with EOS",
        paper="n/a (toy world)",
        value=float(eos),
        threshold=0.95,
        direction=">=",
        rule="lowest EOS rate of the two SFT policies",
    )
    round_trip = all(
        evaluation[(n, label)]["round_trip"]
        for n in tasks
        for label in ("untrained", "SFT")
    )
    results.check(
        "tokenizer round trip",
        kind="sanity",
        claim="decode(encode(text)) == text for every sampled response",
        paper="n/a (toy world)",
        value=round_trip,
    )
