"""The profiles: how big each chapter runs in each, and the chapter's settings resolved.

Every chapter runs in four profiles (see ``book/running.md``):

* ``smoke``    -- seconds; every code path runs, reproduction checks are *not evaluated*;
* ``cpu``      -- the default and what CI runs: minutes on a 2-core laptop, checks asserted;
* ``gpu``      -- a free Colab T4 in 45 minutes: real models and data, on the seeds that fit;
* ``gpu-full`` -- one 80 GB GPU in two hours: the same with the seeds the verdict rule needs.

A chapter's settings are one frozen dataclass whose fields document each setting, and the
profiles are instances of it, in the chapter's spec (:mod:`rlhfbook.report.spec`, found through
:data:`rlhfbook.chapters.SPECS`); :func:`describe` shows them.
A chapter's notebook resolves its parameters cell with :func:`resolve` (through
:func:`rlhfbook.start_chapter`); an unknown chapter, profile or parameter raises a
:class:`ValueError` that lists the valid values. Used by every chapter, the CLI (budgets) and
the scorecard.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from types import MappingProxyType
from typing import Any

from rlhfbook.chapters import SPECS
from rlhfbook.core.environment import GPU_PROFILES, ipython_shell
from rlhfbook.core.errors import ParameterError
from rlhfbook.report.spec import ChapterSpec, as_dict

PROFILES: tuple[str, ...] = ("smoke", "cpu", "gpu", "gpu-full")
PAPERMILL_HEADER = "# Parameters"  # the first line of the cell papermill injects


# Chapter -> its spec, and what the book reads from the specs.
_SPECS: dict[str, ChapterSpec] = {s.chapter: s for s in SPECS}
# Chapter -> profile -> settings dataclass instance (one class per chapter).
_TABLE: dict[str, dict[str, Any]] = {c: dict(s.profiles) for c, s in _SPECS.items()}
# Chapter -> profile -> time budget in minutes: smoke and cpu on 2 CPU cores, gpu on a Colab T4,
# gpu-full on one 80 GB GPU (an A100; an H100 is faster).
_BUDGET_MIN: dict[str, dict[str, float]] = {c: s.budgets() for c, s in _SPECS.items()}


# The whole book's wall-time budget in the cpu profile, on 2 cores (minutes); see book_minutes.
BOOK_CPU_BUDGET_MIN = 30


# Chapters whose ``gpu`` profile wants an accelerator: their committed notebooks ask Colab for a GPU.
GPU_CHAPTERS: frozenset[str] = frozenset(c for c, s in _SPECS.items() if s.needs_gpu)


class NoAccelerator(ParameterError):
    """A chapter's ``gpu`` profile started where torch sees no CUDA device (shown as one line)."""


def check_accelerator(chapter: str, profile: str) -> None:
    """Raise :class:`NoAccelerator` when ``chapter`` (one of :data:`GPU_CHAPTERS`) runs a GPU profile
    (:data:`GPU_PROFILES`) and torch sees no CUDA device: the profile sized for a GPU would otherwise run for days
    on the CPU (e.g. on a Colab runtime without a GPU, or after an install that replaced the
    image's CUDA build of torch)."""
    import torch

    if (
        profile not in GPU_PROFILES
        or chapter not in GPU_CHAPTERS
        or torch.cuda.is_available()
    ):
        return
    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
    raise NoAccelerator(
        f"profile {profile!r} of {chapter} needs a CUDA GPU and torch {torch.__version__} ({build}) sees none: "
        "on Colab choose Runtime > Change runtime type > T4 GPU, or run profile = 'cpu'"
    )


# Chapters that spread their own runs over every core (parallel.map_runs), in the order the
# runner starts them: two side by side would put four busy processes on two cores, so the first
# runs beside the one-process chapters and the others after them, with the machine to
# themselves. 03 is last: 6 seeds x 6 PPO runs and 7 reward models took 874 s on one core (72 s of CPU
# for the reward models and 640 s for the PPO runs, which spread over both cores; Part A's 102 s and the
# reward models' samples do not), about 8.4 min on 2 cores against its budget of 8 (not yet measured
# there). 01 takes about 130 s alone and 180 s beside the one-process chapters.
FANOUT_CHAPTERS: tuple[str, ...] = tuple(c for c, s in _SPECS.items() if s.fans_out)


def spec(chapter: str) -> ChapterSpec:
    """The spec of ``chapter`` (its full name or number)."""
    return _SPECS[chapter_name(chapter)]


class Profile(Mapping):
    """Read-only settings of one chapter in one profile; keys are also attributes."""

    def __init__(self, chapter: str, name: str, settings: Mapping[str, Any]):
        self.chapter, self.name = chapter, name
        self._settings = MappingProxyType(dict(settings))

    def __getitem__(self, key: str) -> Any:
        return self._settings[key]

    def __getattr__(self, key: str) -> Any:
        try:
            return self._settings[key]
        except KeyError:
            raise AttributeError(key) from None

    def __iter__(self):
        return iter(self._settings)

    def __len__(self) -> int:
        return len(self._settings)

    @property
    def asserts_checks(self) -> bool:
        """Reproduction checks fail the run in ``cpu`` and ``gpu``, not in ``smoke``."""
        return self.name != "smoke"

    def __repr__(self) -> str:
        return f"Profile({self.chapter!r}, {self.name!r}, {dict(self._settings)})"

    def __reduce__(self):
        """Pickled by its three arguments (a mappingproxy does not pickle), so the settings
        can go to the worker processes of :func:`rlhfbook.core.parallel.map_runs`."""
        return (Profile, (self.chapter, self.name, dict(self._settings)))


def chapters() -> list[str]:
    """Chapters that have a profile table, in book order."""
    return sorted(_TABLE)


def resolve(chapter: str, profile: str, **overrides: Any) -> Profile:
    """Settings of ``chapter`` in ``profile``, with ``overrides`` applied.

    An override of ``None`` keeps the profile's value, so a parameters cell can carry
    ``model_name = None`` and only a non-``None`` value changes anything.
    """
    check_injected()
    base = _settings(chapter, profile)
    chapter = chapter_name(chapter)
    names = [f.name for f in fields(base)]
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise ParameterError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for chapter {chapter!r}; "
            f"valid parameters: {', '.join(sorted(names))}"
        )
    check_types(chapter, overrides)
    chosen = replace(base, **{k: v for k, v in overrides.items() if v is not None})
    return Profile(chapter, profile, as_dict(chosen))


def _fits(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of the type ``hint`` (a settings field's annotation; an int is a float)."""
    import types
    import typing

    if hint is Any:
        return True
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint in (int, float) and isinstance(value, bool):
        return False
    if hint is float:
        return isinstance(value, (int, float))
    return isinstance(value, typing.get_origin(hint) or hint)


def check_types(chapter: str, values: Mapping[str, Any]) -> None:
    """Every value given for a chapter's parameter has the type its setting declares (``seed`` an int),
    else one :class:`ParameterError` line; names that are not settings are left to :func:`resolve`."""
    import typing

    if not values:
        return
    hints = {"seed": int} | typing.get_type_hints(type(_settings(chapter, PROFILES[0])))
    for name, value in values.items():
        if name in hints and value is not None and not _fits(value, hints[name]):
            kind = getattr(hints[name], "__name__", None) or str(hints[name])
            raise ParameterError(
                f"parameter {name!r} of {chapter_name(chapter)} takes {kind}, not {value!r}"
            )


def chapter_name(name: str) -> str:
    """A chapter's full name from itself or its number ("01" -> "01_ppo_max"); a :class:`ParameterError`
    if it names none."""
    matches = [c for c in chapters() if name in (c, c.split("_")[0])]
    if len(matches) != 1:
        raise ParameterError(
            f"unknown chapter {name!r}; valid chapters: {', '.join(chapters())}"
        )
    return matches[0]


def _settings(chapter: str, profile: str) -> Any:
    """The settings instance of ``chapter`` (or its number) in ``profile`` (a :class:`ParameterError` if
    unknown)."""
    chapter = chapter_name(chapter)
    if profile not in PROFILES:
        raise ParameterError(
            f"unknown profile {profile!r}; valid profiles: {', '.join(PROFILES)}"
        )
    return _TABLE[chapter][profile]


def describe(chapter: str):
    """The chapter's (or chapter number's) settings as a table: setting, meaning (with unit), and the value
    in each profile."""
    import pandas as pd

    table = {p: _settings(chapter, p) for p in PROFILES}
    rows = [
        {
            "setting": f.name,
            "meaning": help_text(f),
            **{p: getattr(s, f.name) for p, s in table.items()},
        }
        for f in fields(table[PROFILES[0]])
    ]
    return pd.DataFrame(rows, columns=["setting", "meaning", *PROFILES])


def describe_text(chapter: str, width: int = 88) -> str:
    """:func:`describe` for a terminal: each setting, its value in every profile, and its meaning wrapped
    to ``width`` columns below it."""
    import textwrap

    lines = [
        f"{chapter_name(chapter)}: settings, their value in each profile, and their meaning",
        "",
    ]
    for _, row in describe(chapter).iterrows():
        values = [row.setting, *(f"{p}={row[p]!r}" for p in PROFILES)]
        lines += textwrap.wrap(
            "  ".join(values), width, subsequent_indent="  ", break_on_hyphens=False
        )
        lines += textwrap.wrap(
            row.meaning, width, initial_indent="    ", subsequent_indent="    "
        )
    return "\n".join(lines)


def assigned_names(source: str) -> list[str]:
    """Names a cell's source assigns at top level (a parameters cell: ``seed = 0``)."""
    import ast

    names = []
    for node in ast.parse(source).body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def unknown_injected(history: list[str]) -> tuple[list[str], list[str]]:
    """Names papermill injected that the chapter's parameters cell does not declare.

    ``history`` is the kernel's input history (IPython's ``In``): papermill's injected cell
    starts with ``# Parameters`` and directly follows the chapter's parameters cell.
    Returns (unknown names, declared names).
    """
    for i in range(len(history) - 1, 0, -1):
        if history[i].lstrip().startswith(PAPERMILL_HEADER):
            declared = assigned_names(history[i - 1])
            return [
                n for n in assigned_names(history[i]) if n not in declared
            ], declared
    return [], []


def check_injected() -> None:
    """In a papermill run, stop at once on a parameter the chapter does not declare."""
    shell = ipython_shell()
    if shell is None:
        return
    unknown, declared = unknown_injected([str(s) for s in shell.user_ns.get("In", [])])
    if unknown:
        raise ParameterError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))}; this chapter's parameters: {', '.join(declared)}"
        )


def budget_minutes(chapter: str) -> dict[str, float]:
    """The chapter's time budget per profile, in minutes."""
    resolve(chapter, PROFILES[0])  # validates the chapter name
    return dict(_BUDGET_MIN[chapter])


def book_minutes(cores: int = 2) -> float:
    """The cpu book's wall time if every chapter took its budget: the chapters that use every core
    (:data:`FANOUT_CHAPTERS`) one after another, the others ``cores`` at a time."""
    cpu = {c: _BUDGET_MIN[c]["cpu"] for c in _BUDGET_MIN}
    fanout = sum(cpu[c] for c in FANOUT_CHAPTERS)
    return fanout + sum(m for c, m in cpu.items() if c not in FANOUT_CHAPTERS) / cores


def help_text(f) -> str:
    """A settings field's one-line meaning (its ``metadata["help"]``; empty when missing)."""
    return str(f.metadata.get("help", ""))


def validate_table() -> None:
    """Every chapter defines every profile as an instance of one frozen settings dataclass whose
    fields each have a one-line help, and has a budget."""
    from dataclasses import is_dataclass

    if set(_BUDGET_MIN) != set(_TABLE):
        raise ValueError(f"budgets {sorted(_BUDGET_MIN)} != chapters {sorted(_TABLE)}")
    if book_minutes() > BOOK_CPU_BUDGET_MIN:
        raise ValueError(
            f"the chapters' cpu budgets add up to {book_minutes():g} min on 2 cores, over the book's "
            f"{BOOK_CPU_BUDGET_MIN}"
        )
    for chapter, table in _TABLE.items():
        if set(table) != set(PROFILES):
            raise ValueError(f"{chapter}: profiles {sorted(table)} != {list(PROFILES)}")
        classes = {type(s) for s in table.values()}
        cls = classes.pop()
        if classes or not is_dataclass(cls) or not cls.__dataclass_params__.frozen:
            raise ValueError(
                f"{chapter}: the profiles must be instances of one frozen dataclass"
            )
        bad = [
            f.name
            for f in fields(cls)
            if not help_text(f).strip() or "\n" in help_text(f)
        ]
        if bad:
            raise ValueError(
                f"{chapter}: setting(s) {', '.join(bad)} need a one-line metadata['help']"
            )
