"""Record each chapter's metrics and checks to ``results/<profile>/<chapter>.json``.

A chapter creates one :class:`Results` right after its parameters cell (through
:func:`rlhfbook.start_chapter`, which records the parameters), records metrics
and named checks as it goes, and calls :meth:`Results.finish` in its last cell. ``finish``
writes the JSON *first* and only then, in the ``cpu`` and ``gpu`` profiles, raises
:class:`ReproductionFailure` if a sanity check failed, so the evidence of a failure is always
on disk. The scorecard page is rendered from these files; each profile keeps its own folder,
and a run on another seed block than the shipped one its own too (:func:`block`), so neither
a ``smoke`` run nor ``make robustness`` changes what the ``cpu`` scorecard says.

Every check has a *kind* (the findings contract):

* ``finding`` -- a claim of the paper (``origin="paper"``) or this book's extension of it
  (``origin="extension"``), in an experiment that could show the opposite;
* ``control`` -- what the paper's mechanism predicts must *not* happen, or a precondition
  the finding needs;
* ``sanity`` -- identities, invariances, bookkeeping, determinism: true by construction of
  correct code.

A finding or control records one decisive number per seed and gets its verdict from one rule,
:mod:`rlhfbook.report.verdicts`: *reproduced*, *inconclusive*, *contradicted* or *not evaluable*,
with mean ± 2 SE against the paper's threshold and, when it is not reproduced, an explanation
written from those numbers. Only a failing *sanity* check fails the run (a bug); whether a
finding's verdict is the expected one is pinned in ``book/verdicts.yml`` and asserted by the
tests. In the ``smoke`` profile every check is *not evaluated*.
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

from rlhfbook.report import tables, verdicts
from rlhfbook.report.verdicts import Bootstrap

KINDS = ("finding", "control", "sanity")
ORIGINS = ("paper", "extension")
DIRECTIONS = (">=", "<=")


class ReproductionFailure(AssertionError):
    """A sanity check failed in a profile that evaluates checks: the code is wrong somewhere."""


@dataclass
class Check:
    """One named check: a paper's finding, a control, or a sanity check (see the module doc)."""

    name: str
    kind: str  # finding | control | sanity
    origin: str  # paper | extension: whose claim a finding is
    claim: str  # the claim, in one plain sentence
    paper: str  # the paper's value or statement
    ours: Any  # other measured numbers: readable text or a flat mapping name -> number
    seeds: list  # the seeds the check was evaluated over
    per_seed: dict  # seed -> the decisive number
    value: Any  # mean of the decisive number over seeds (the bootstrap estimate; a sanity check's value)
    sd: float | None  # standard deviation over seeds (ddof 1)
    se: float | None  # standard error: sd / sqrt(n), or the bootstrap's
    n: int  # seeds (or the bootstrap's units)
    unit: str  # "seed", or what a bootstrap resamples
    threshold: float | None
    direction: str  # ">=" or "<=": value direction threshold means the claim holds
    margin: (
        float | None
    )  # value - threshold, signed so that positive means the claim holds
    rule: str  # what the decisive number is, in words
    status: str  # reproduced | inconclusive | contradicted | not evaluable | pass | fail | not evaluated
    seeds_needed: int | None = (
        None  # inconclusive: seeds that would settle it at this spread
    )
    context: str = ""  # what the measured numbers show, written from them
    explanation: str = (
        ""  # why it is not reproduced (from the numbers), or why it is not evaluable
    )


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


SHIPPED_SEED = 0  # the first seed of the block the book ships with (every parameters cell's ``seed``)


def block(profile: str, seed: int = SHIPPED_SEED) -> str:
    """The results folder's name of a run: the profile for the shipped seed block, else
    ``<profile>-seed<S>`` (the block of seeds ``S, S + 1, ...``)."""
    return profile if seed == SHIPPED_SEED else f"{profile}-seed{seed}"


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
    env = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }
    try:
        import torch

        env["device"] = (
            torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
        )
        env["torch_threads"] = torch.get_num_threads()
    except ImportError:
        env["device"] = "cpu"
    return env


class Results:
    """Metrics and reproduction checks of one chapter run; ``profile`` is the chapter's resolved
    settings (:class:`rlhfbook.book.profiles.Profile`: its ``chapter``, ``name`` and
    ``asserts_checks``)."""

    def __init__(
        self, profile: Any, seed: int, parameters: dict[str, Any] | None = None
    ):
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
        origin: str = "paper",
        per_seed: Mapping[Any, float] | None = None,
        bootstrap: Bootstrap | None = None,
        threshold: float | None = None,
        direction: str = ">=",
        value: Any = None,
        passed: bool | None = None,
        rule: str = "",
        ours: str | Mapping[str, Any] = "",
        context: str = "",
        not_evaluable: str = "",
    ) -> Check:
        """Record one check under the findings contract.

        A ``finding`` or ``control`` gives ``per_seed`` (seed -> the decisive number) or, when its
        unit is not a seed, a :class:`~rlhfbook.report.verdicts.Bootstrap`, and the paper's
        ``threshold``; its verdict is :func:`rlhfbook.report.verdicts.decide`'s. ``not_evaluable``
        gives the reason a claim cannot be tested in this setting. ``context`` is a sentence
        written from the measured numbers, shown with the verdict whatever it is.

        A ``sanity`` check gives ``value`` (a number against ``threshold``, or a truth value) or
        ``passed``; it passes or fails.
        """
        if any(c.name == name for c in self.checks):
            raise ValueError(f"check {name!r} recorded twice")
        if kind not in KINDS:
            raise ValueError(
                f"check {name!r}: unknown kind {kind!r}; valid kinds: {', '.join(KINDS)}"
            )
        if origin not in ORIGINS:
            raise ValueError(
                f"check {name!r}: origin must be one of {', '.join(ORIGINS)}, not {origin!r}"
            )
        if direction not in DIRECTIONS:
            raise ValueError(
                f"check {name!r}: direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}"
            )
        per_seed = {str(k): _plain(v) for k, v in (per_seed or {}).items()}
        fields = dict(
            name=name,
            kind=kind,
            origin=origin,
            claim=claim,
            paper=paper,
            ours=_flat_ours(name, ours),
        )
        fields |= dict(
            rule=rule, context=context, direction=direction, threshold=_plain(threshold)
        )
        if kind == "sanity":
            check = self._sanity(fields, per_seed, value, passed, not_evaluable)
        else:
            check = self._finding(
                fields, per_seed, bootstrap, value, passed, not_evaluable
            )
        self.checks.append(check)
        return check

    def _sanity(
        self,
        fields: dict,
        per_seed: dict,
        value: Any,
        passed: bool | None,
        not_evaluable: str,
    ) -> Check:
        """A sanity check: ``value`` (default: the mean of ``per_seed``) against ``threshold`` (or its
        truth), or ``passed``."""
        numbers = [float(v) for v in per_seed.values() if v is not None]
        value = (
            _plain(value)
            if value is not None or not numbers
            else math.fsum(numbers) / len(numbers)
        )
        threshold, direction = fields["threshold"], fields["direction"]
        margin = None
        if (
            threshold is not None
            and isinstance(value, (int, float))
            and not isinstance(value, bool)
        ):
            margin = value - threshold if direction == ">=" else threshold - value
        if passed is None:
            passed = margin >= 0 if margin is not None else bool(value)
        status = "pass" if passed else "fail"
        if not self.profile.asserts_checks or not_evaluable:
            status = verdicts.NOT_EVALUATED
        return Check(
            **fields,
            seeds=list(per_seed),
            per_seed=per_seed,
            value=value,
            sd=None,
            se=None,
            n=len(per_seed),
            unit="seed",
            margin=_plain(margin),
            status=status,
            explanation=not_evaluable,
        )

    def _finding(
        self,
        fields: dict,
        per_seed: dict,
        bootstrap: Bootstrap | None,
        value: Any,
        passed: bool | None,
        not_evaluable: str,
    ) -> Check:
        """A finding or control under the verdict rule (:mod:`rlhfbook.report.verdicts`)."""
        name, threshold, direction = (
            fields["name"],
            fields["threshold"],
            fields["direction"],
        )
        if passed is not None or value is not None:
            raise ValueError(
                f"check {name!r}: a {fields['kind']} is decided by the verdict rule from per_seed or bootstrap, "
                "not by 'passed' or 'value'"
            )
        numbers = [float(v) for v in per_seed.values() if v is not None]
        if (bootstrap is None) == (not per_seed) and not not_evaluable:
            raise ValueError(
                f"check {name!r}: a {fields['kind']} needs per_seed values or a bootstrap (one of them)"
            )
        if per_seed and not numbers and not not_evaluable:
            not_evaluable = f"no seed of {len(per_seed)} gave a finite decisive number"
        if threshold is None and not not_evaluable:
            raise ValueError(
                f"check {name!r}: a {fields['kind']} needs the paper's threshold"
            )
        iv = (
            bootstrap.interval()
            if bootstrap is not None
            else verdicts.interval(numbers)
            if numbers
            else None
        )
        status, explanation, needed = "not evaluable", not_evaluable, None
        if not self.profile.asserts_checks:
            status, explanation = verdicts.NOT_EVALUATED, ""
        elif not not_evaluable:
            status = verdicts.decide(iv, threshold, direction)
            explanation = verdicts.explain(status, iv, threshold, direction)
            if status == "inconclusive":
                needed = verdicts.seeds_needed(iv, threshold)
        margin = None
        if iv is not None and threshold is not None:
            margin = iv.mean - threshold if direction == ">=" else threshold - iv.mean
        return Check(
            **fields,
            seeds=list(per_seed),
            per_seed=per_seed,
            value=iv.mean if iv else None,
            sd=iv.sd if iv else None,
            se=iv.se if iv else None,
            n=iv.n if iv else 0,
            unit=iv.unit if iv else "seed",
            margin=margin,
            status=status,
            seeds_needed=needed,
            explanation=explanation,
        )

    def table(self):
        """The checks as the scorecard shows them (verdict, claim, value vs threshold, margin)."""

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
        return results_dir(block(self.profile.name, self.seed)) / f"{self.chapter}.json"

    def finish(self) -> Path:
        """Write the JSON, then raise :class:`ReproductionFailure` if a sanity check failed."""
        if not self.checks:
            raise ValueError(
                f"{self.chapter}: a chapter must record at least one reproduction check"
            )
        path = self.path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        failed = [c.name for c in self.checks if c.status == "fail"]
        if failed:
            raise ReproductionFailure(
                f"{self.chapter} ({self.profile.name}): sanity check(s) failed: {', '.join(failed)}"
            )
        return path


def load(chapter: str, profile: str = "cpu") -> dict[str, Any]:
    """Read back one chapter's results JSON of ``profile``."""
    return json.loads((results_dir(profile) / f"{chapter}.json").read_text())
