"""Record each chapter's metrics and checks to ``results/<profile>/<chapter>.json``.

A chapter creates one :class:`Results` right after its parameters cell (through
:func:`rlhfbook.start_chapter`, which records the parameters), records metrics
and named checks as it goes, and calls :meth:`Results.finish` in its last cell. ``finish``
writes the JSON *first* and only then, in the ``cpu`` and ``gpu`` profiles, raises
:class:`ReproductionFailure` if a check failed, so the evidence of a failure is always on
disk. The scorecard page is rendered from these files; each profile keeps its own folder,
so a ``smoke`` run never changes what the ``cpu`` scorecard says.

Every check has a *kind* (the findings contract):

* ``finding`` -- a claim of the paper, in an experiment that could show the opposite;
* ``control`` -- what the paper's mechanism predicts must *not* happen, or a precondition
  the finding needs;
* ``sanity`` -- identities, invariances, bookkeeping, determinism: true by construction of
  correct code.

and records its seeds, the decisive number per seed, the value over seeds, the threshold
with its direction, the signed margin (positive = the claim holds), the spread over seeds
and the rule that combines them. Statuses:

* ``pass`` / ``fail`` -- the rule, evaluated on this run;
* ``not evaluated`` -- the ``smoke`` profile, or a check whose precondition failed;
* ``not reproduced`` -- a finding that does not hold at this scale after honest effort
  (with its explanation), or a finding / control on fewer than three seeds. The threshold
  stays what the paper set, so the check turns into ``pass`` by itself if the finding holds.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .profiles import Profile

STATUSES = ("pass", "fail", "not evaluated", "not reproduced")
KINDS = ("finding", "control", "sanity")
DIRECTIONS = (">=", "<=")
MIN_SEEDS = 3  # a finding or control needs at least this many seeds to pass in cpu / gpu


class ReproductionFailure(AssertionError):
    """A reproduction check failed in a profile that asserts them."""


@dataclass
class Check:
    """One named check: a paper's finding, a control, or a sanity check (see the module doc)."""

    name: str
    kind: str  # finding | control | sanity
    claim: str  # the paper's finding, in one sentence
    paper: str  # the paper's value or statement
    ours: Any  # other measured numbers: readable text or a flat mapping name -> number
    seeds: list  # the seeds the check was evaluated over
    per_seed: dict  # seed -> the decisive number
    value: Any  # the decisive number over seeds (mean unless ``rule`` says otherwise)
    threshold: float | None
    direction: str  # ">=" or "<=": value direction threshold means the claim holds
    margin: float | None  # value - threshold, signed so that positive means the claim holds
    spread: float | None  # std over seeds, or a bootstrap standard error (said in ``rule``)
    rule: str  # how seeds combine, in words
    status: str
    explanation: str = ""


def _plain(value: Any) -> Any:
    """numpy / torch scalars and containers -> JSON-ready python values (NaN -> None)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _flat_ours(name: str, ours: Any) -> Any:
    """``ours`` as readable text or a flat mapping of named numbers (never nested)."""
    if isinstance(ours, Mapping):
        flat = {str(k): _plain(v) for k, v in ours.items()}
        nested = [k for k, v in flat.items() if isinstance(v, (dict, list))]
        if nested:
            raise ValueError(
                f"check {name!r}: 'ours' must map names to numbers or text; "
                f"{', '.join(nested)} hold{'s' * (len(nested) == 1)} a container (use per_seed)"
            )
        return flat
    return _plain(ours)


def results_dir(profile: str, root: Path | None = None) -> Path:
    """A profile's results folder: ``<root>/results/<profile>`` of a book's tree (what ``rlhfbook
    run`` writes and the book reads), or, without ``root``, where this process writes:
    ``$RLHFBOOK_RESULTS_DIR/<profile>`` (which ``rlhfbook run`` sets for its kernels; default
    ``results/<profile>``)."""
    if root is not None:
        return Path(root) / "results" / profile
    return Path(os.environ.get("RLHFBOOK_RESULTS_DIR", "results")) / profile


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def environment() -> dict[str, Any]:
    """Versions of the packages that decide the numbers, and where they ran."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for pkg in ("rlhfbook", "torch", "transformers", "trl", "numpy", "scipy", "pandas"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    env = {"python": platform.python_version(), "platform": platform.platform(), "packages": versions}
    try:
        import torch

        env["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
        env["torch_threads"] = torch.get_num_threads()
    except ImportError:
        env["device"] = "cpu"
    return env


class Results:
    """Metrics and reproduction checks of one chapter run."""

    def __init__(self, profile: Profile, seed: int, parameters: dict[str, Any] | None = None):
        self.profile, self.seed = profile, seed
        self.parameters = dict(parameters or {})
        self.metrics: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.checks: list[Check] = []
        self._start = time.perf_counter()

    @property
    def chapter(self) -> str:
        return self.profile.chapter

    def metric(self, name: str, value: Any) -> Any:
        """Record a metric (a number, or a list / dict of numbers) and return it."""
        self.metrics[name] = _plain(value)
        return value

    def timing(self, name: str, seconds: Any) -> Any:
        """Record a speed measurement. Kept apart from the metrics, which are the same for the
        same seed whatever the machine's load; timings are not."""
        self.timings[name] = _plain(seconds)
        return seconds

    def check(
        self,
        name: str,
        *,
        kind: str,
        claim: str,
        paper: str,
        per_seed: Mapping[Any, float] | None = None,
        value: Any = None,
        threshold: float | None = None,
        direction: str = ">=",
        spread: float | None = None,
        rule: str = "",
        passed: bool | None = None,
        ours: str | Mapping[str, Any] = "",
        single_seed: str = "",
        not_reproduced: str = "",
        not_evaluable: str = "",
    ) -> Check:
        """Record one check under the findings contract.

        ``per_seed`` maps each seed to the decisive number; ``value`` defaults to their mean
        and ``spread`` to their standard deviation (ddof 1). ``margin`` is
        ``value - threshold`` for ``>=`` and ``threshold - value`` for ``<=``, so positive
        means the claim holds. ``passed`` is the chapter's rule evaluated on this run (say
        the rule in ``rule``); by default it is ``margin >= 0``, or ``bool(value)`` when there
        is no threshold.

        A ``finding`` or ``control`` on fewer than :data:`MIN_SEEDS` seeds cannot pass: it is
        recorded as ``not reproduced`` ("evaluated on N seeds") unless ``single_seed`` says
        why one seed is the unit (``spread`` is then a bootstrap standard error).
        ``not_reproduced`` is the chapter's explanation for a finding that does not hold at
        this scale; ``not_evaluable`` marks a check whose precondition (a control) failed.
        """
        if any(c.name == name for c in self.checks):
            raise ValueError(f"check {name!r} recorded twice")
        if kind not in KINDS:
            raise ValueError(f"check {name!r}: unknown kind {kind!r}; valid kinds: {', '.join(KINDS)}")
        if direction not in DIRECTIONS:
            raise ValueError(f"check {name!r}: direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
        ours = _flat_ours(name, ours)
        per_seed = {str(k): _plain(v) for k, v in (per_seed or {}).items()}
        numbers = [float(v) for v in per_seed.values() if v is not None]
        if value is None and numbers:
            value = float(np.mean(numbers))
        value = _plain(value)
        if spread is None and len(numbers) >= 2:
            spread = float(np.std(numbers, ddof=1))
        margin = None
        if threshold is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            margin = value - threshold if direction == ">=" else threshold - value
        if passed is None:
            passed = margin >= 0 if margin is not None else bool(value)
        status, explanation = self._status(
            kind, bool(passed), len(per_seed), single_seed, not_reproduced, not_evaluable
        )
        check = Check(
            name,
            kind,
            claim,
            paper,
            ours,
            list(per_seed),
            per_seed,
            value,
            _plain(threshold),
            direction,
            _plain(margin),
            _plain(spread),
            rule,
            status,
            explanation,
        )
        self.checks.append(check)
        return check

    def _status(
        self, kind: str, passed: bool, n_seeds: int, single_seed: str, not_reproduced: str, not_evaluable: str
    ) -> tuple[str, str]:
        """Status and explanation of a check (see :meth:`check`)."""
        if not self.profile.asserts_checks:
            return "not evaluated", ""
        if not_evaluable:
            return "not evaluated", not_evaluable
        few_seeds = kind != "sanity" and n_seeds < MIN_SEEDS and not single_seed
        if passed and not few_seeds:
            return "pass", ""
        if passed:
            return (
                "not reproduced",
                f"evaluated on {n_seeds} seed{'s' * (n_seeds != 1)}; a {kind} needs at least {MIN_SEEDS}.",
            )
        if not_reproduced:
            return "not reproduced", not_reproduced
        return "fail", ""

    def table(self):
        """The checks as the scorecard shows them (verdict, claim, value vs threshold, margin)."""
        from . import tables

        return tables.checks_html([asdict(c) for c in self.checks])

    def to_dict(self) -> dict[str, Any]:
        return {
            "chapter": self.chapter,
            "profile": self.profile.name,
            "seed": self.seed,
            "parameters": _plain(self.parameters),
            "settings": _plain(dict(self.profile)),
            "metrics": self.metrics,
            "timings": self.timings,
            "checks": [asdict(c) for c in self.checks],
            "wall_time_s": round(time.perf_counter() - self._start, 2),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "git_commit": _git_commit(),
            "environment": environment(),
        }

    def path(self) -> Path:
        return results_dir(self.profile.name) / f"{self.chapter}.json"

    def finish(self) -> Path:
        """Write the JSON, then raise :class:`ReproductionFailure` if a check failed."""
        if not self.checks:
            raise ValueError(f"{self.chapter}: a chapter must record at least one reproduction check")
        path = self.path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        failed = [c.name for c in self.checks if c.status == "fail"]
        if failed:
            raise ReproductionFailure(
                f"{self.chapter} ({self.profile.name}): reproduction check(s) failed: {', '.join(failed)}"
            )
        return path


def load(chapter: str, profile: str = "cpu") -> dict[str, Any]:
    """Read back one chapter's results JSON of ``profile``."""
    return json.loads((results_dir(profile) / f"{chapter}.json").read_text())
