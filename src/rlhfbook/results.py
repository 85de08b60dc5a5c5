"""Record each chapter's metrics and reproduction checks to ``results/<chapter>.json``.

A chapter creates one :class:`Results` right after its parameters cell, records metrics
and named reproduction checks as it goes, and calls :meth:`Results.finish` in its last
cell. ``finish`` writes the JSON *first* and only then, in the ``cpu`` and ``gpu``
profiles, raises :class:`ReproductionFailure` if a check failed, so the evidence of a
failure is always on disk. The scorecard page is rendered from these files.

Check statuses:

* ``pass`` / ``fail`` -- the comparison the chapter states, evaluated on this run;
* ``not evaluated`` -- the ``smoke`` profile (too small to mean anything);
* ``not reproduced`` -- the finding does not hold at this scale after honest effort. The
  chapter declares this up front with an explanation; the threshold stays what the
  issue set, so the check turns into ``pass`` by itself if the finding ever holds.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .profiles import Profile

STATUSES = ("pass", "fail", "not evaluated", "not reproduced")


class ReproductionFailure(AssertionError):
    """A reproduction check failed in a profile that asserts them."""


@dataclass
class Check:
    """One named reproduction check of a paper's finding."""

    name: str
    claim: str  # the paper's finding, in one sentence
    paper: str  # the paper's value or statement
    ours: Any  # our measured value
    threshold: str  # the comparison that decides pass / fail, e.g. ">= 0.80"
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


def results_dir() -> Path:
    """Where results go: ``$RLHFBOOK_RESULTS_DIR``, else ``./results``."""
    return Path(os.environ.get("RLHFBOOK_RESULTS_DIR", "results"))


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
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
        self.checks: list[Check] = []
        self._start = time.perf_counter()

    @property
    def chapter(self) -> str:
        return self.profile.chapter

    def metric(self, name: str, value: Any) -> Any:
        """Record a metric (a number, or a list / dict of numbers) and return it."""
        self.metrics[name] = _plain(value)
        return value

    def check(
        self, name: str, *, claim: str, paper: str, ours: Any, threshold: str, passed: bool,
        not_reproduced: str = "",
    ) -> Check:
        """Record a reproduction check.

        ``passed`` is the comparison evaluated on this run. ``not_reproduced`` is the
        chapter's explanation for a finding known not to hold at this scale; it only
        matters when ``passed`` is false.
        """
        if any(c.name == name for c in self.checks):
            raise ValueError(f"check {name!r} recorded twice")
        if not self.profile.asserts_checks:
            status = "not evaluated"
        elif passed:
            status = "pass"
        else:
            status = "not reproduced" if not_reproduced else "fail"
        check = Check(name, claim, paper, _plain(ours), threshold, status,
                      not_reproduced if status == "not reproduced" else "")
        self.checks.append(check)
        return check

    def table(self):
        """The checks as a pandas DataFrame, for display in the chapter."""
        import pandas as pd

        rows = [{k: v for k, v in asdict(c).items() if k != "claim"} for c in self.checks]
        return pd.DataFrame(rows).set_index("name")

    def to_dict(self) -> dict[str, Any]:
        return {
            "chapter": self.chapter,
            "profile": self.profile.name,
            "seed": self.seed,
            "parameters": _plain(self.parameters),
            "settings": _plain(dict(self.profile)),
            "metrics": self.metrics,
            "checks": [asdict(c) for c in self.checks],
            "wall_time_s": round(time.perf_counter() - self._start, 2),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "git_commit": _git_commit(),
            "environment": environment(),
        }

    def path(self) -> Path:
        return results_dir() / f"{self.chapter}.json"

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


def load(chapter: str, directory: Path | None = None) -> dict[str, Any]:
    """Read back one chapter's results JSON."""
    return json.loads(((directory or results_dir()) / f"{chapter}.json").read_text())
