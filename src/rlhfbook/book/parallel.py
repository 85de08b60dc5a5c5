"""Independent runs of a chapter (seeds x configurations) on every core, deterministically.

Each run goes to a worker process with one torch thread and seeds itself, so the results are
the same whether the runs go one at a time or side by side: ``map_runs(fn, items)`` returns
``[fn(item) for item in items]``. Workers are started with ``spawn`` (a clean interpreter:
no torch state is inherited), so ``fn`` must be importable -- defined in ``src``, not in a
notebook cell. A run that raises fails the whole map with the worker's traceback. The
worker pool is kept for the next map of the same process (starting a worker imports torch
and transformers, seconds each), and shut down when the process exits.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
JOBS_ENV = "RLHFBOOK_JOBS"


class RunFailed(RuntimeError):
    """A run of :func:`map_runs` raised in its worker; the message carries its traceback."""


def default_jobs() -> int:
    """``$RLHFBOOK_JOBS``, else the number of cores."""
    return max(1, int(os.environ.get(JOBS_ENV, os.cpu_count() or 1)))


def _call(fn: Callable[[Any], T], item: Any) -> tuple[bool, Any]:
    try:
        return True, fn(item)
    except Exception:  # reported with its traceback by map_runs
        return False, traceback.format_exc()


_POOLS: dict = {}


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C (and a kernel's interrupt on shutdown) to the process that owns them."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pool(jobs: int):
    """The process's pool of ``jobs`` spawned workers, started on first use."""
    if jobs not in _POOLS:
        import atexit
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        os.environ.setdefault("RLHFBOOK_THREADS", "1")  # inherited by the workers
        _POOLS[jobs] = ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_interrupts
        )
        atexit.register(_POOLS[jobs].shutdown)
    return _POOLS[jobs]


def map_runs(fn: Callable[[Any], T], items: Sequence[Any], jobs: int | None = None) -> list[T]:
    """``[fn(item) for item in items]``, ``jobs`` at a time in worker processes (in order)."""
    items = list(items)
    jobs = min(jobs or default_jobs(), len(items)) if items else 1
    if jobs <= 1:
        return [fn(item) for item in items]
    from concurrent.futures.process import BrokenProcessPool

    try:
        outcomes = list(_pool(jobs).map(_call, [fn] * len(items), items))
    except BrokenProcessPool:  # a worker died (e.g. out of memory): the next map starts afresh
        _POOLS.pop(jobs).shutdown(cancel_futures=True)
        raise
    failed = [(item, out) for item, (ok, out) in zip(items, outcomes) if not ok]
    if failed:
        item, tb = failed[0]
        raise RunFailed(f"{len(failed)} of {len(items)} runs failed; the first, {item!r}:\n{tb}")
    return [out for _, out in outcomes]
