"""Shared fixtures: the repository root, and an isolated cache / results folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rlhfbook.core import environment

# The environment a chapter's first cell sets (the hub offline, quiet libraries), before any test
# imports transformers.
environment.prepare()

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def isolated(tmp_path, monkeypatch) -> Path:
    """Cache and results go to a fresh temporary folder."""
    monkeypatch.setenv("RLHFBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("RLHFBOOK_RESULTS_DIR", str(tmp_path / "results"))
    return tmp_path


def rlhfbook_cli(
    *args: str, timeout: float = 3600, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run ``python -m rlhfbook ARGS`` in the repository root (``env``: extra variables)."""
    import os

    return subprocess.run(
        [sys.executable, "-m", "rlhfbook", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def pytest_collection_modifyitems(items):
    """Fast tests first, then chapter executions, then the book build, then the browser."""
    order = {"chapter": 1, "book": 2, "browser": 3}
    items.sort(
        key=lambda item: max(
            (order.get(m.name, 0) for m in item.iter_markers()), default=0
        )
    )


# Modules whose tests execute chapters into the repository's results/ and _build/ and read them
# back: under pytest-xdist (make test: -n auto) one worker runs all of them, in the order above,
# while the other workers take the unit tests one by one.
SHARED_BUILD = ("test_chapters.py", "test_book.py", "test_browser.py")


@pytest.hookimpl(
    optionalhook=True
)  # a hook of pytest-xdist: absent where xdist is not installed
def pytest_xdist_make_scheduler(config, log):
    """xdist's load-scope scheduler with one scope for the :data:`SHARED_BUILD` tests and one
    per test elsewhere. (xdist's own ``xdist_group`` marker does not group under pytest 9:
    xdist 3.8 renames items through an attribute pytest 9 no longer reads.)"""
    from xdist.scheduler import LoadScopeScheduling

    class SharedBuildTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
            return "build" if module in SHARED_BUILD else nodeid

    return SharedBuildTogether(config, log)
