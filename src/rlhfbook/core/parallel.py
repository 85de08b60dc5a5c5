"""Independent runs of a chapter (seeds x configurations) on every core, deterministically.

Each run goes to a worker process with one torch thread and seeds itself, so the results are
the same whether the runs go one at a time or side by side: ``map_runs(fn, items)`` returns
``[fn(item) for item in items]``. Workers are started with ``spawn`` (a clean interpreter:
no torch state is inherited), so ``fn`` must be importable -- defined in ``src``, not in a
notebook cell. A run that raises fails the whole map with the worker's traceback. The
worker pool is kept for the next map of the same process (starting a worker imports torch
and transformers, seconds each), and shut down when the process exits.

**Runs that survive a disconnect.** In the ``gpu`` profile (or wherever ``$RLHFBOOK_RUNS`` names a
folder), each result of a :func:`resumable` run (chapters 1 and 3's PPO and GRPO) is saved when it finishes, under a key of the function, the run and
the chapter's settings (:func:`run_key`), and a re-run of the chapter with the same settings takes
it from there instead of training again (:func:`runs_folder`). On Colab, whose disk goes with the
runtime, point ``RLHFBOOK_RUNS`` at a mounted Google Drive folder to keep them across sessions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from rlhfbook.core import __version__
from rlhfbook.core.environment import GPU_PROFILES, cache_root

T = TypeVar("T")
JOBS_ENV = "RLHFBOOK_JOBS"
RUNS_ENV = "RLHFBOOK_RUNS"  # the folder of finished runs' results ("" turns saving off)
SETTINGS_ENV = "RLHFBOOK_SETTINGS_KEY"  # the chapter's settings, set by rlhfbook.start_chapter (settings_key)


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
            max_workers=jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_ignore_interrupts,
        )
        atexit.register(_POOLS[jobs].shutdown)
    return _POOLS[jobs]


def resumable(fn: Callable[[Any], T]) -> Callable[[Any], T]:
    """Mark ``fn`` as a run whose result :func:`map_runs` may save and reuse: a self-contained
    record (numbers, logs), not paths to files that a later session would not have."""
    fn.resumable = True
    return fn


def settings_key(chapter: str, profile: str, seed: int, settings: dict) -> str:
    """A hash of a chapter's resolved settings and seed (what :func:`run_key` adds to every run)."""
    return hashlib.sha256(
        repr((chapter, profile, seed, sorted(settings.items()))).encode()
    ).hexdigest()[:16]


def runs_folder() -> Path | None:
    """Where finished runs are saved: ``$RLHFBOOK_RUNS`` when set (empty: nowhere), else in a GPU
    profile (``gpu``, ``gpu-full``) the cache's ``runs`` folder; None (nothing saved) in ``smoke`` and ``cpu``, whose runs take
    minutes and whose chapters the runner skips as a whole."""
    folder = os.environ.get(RUNS_ENV)
    if folder is not None:
        return Path(folder) if folder else None
    if os.environ.get("RLHFBOOK_PROFILE") not in GPU_PROFILES:
        return None
    return cache_root() / "runs"


def _plain(value: Any) -> Any:
    """``value`` as nested plain values for a key: a path (an absolute path string) by its last
    component, since a re-run writes its models to a fresh temporary folder; objects by their type
    and fields."""
    if isinstance(value, str):
        return os.path.basename(value.rstrip("/")) if os.path.isabs(value) else value
    if isinstance(value, int | float | bool | bytes) or value is None:
        return value
    if isinstance(value, dict):
        return sorted((repr(_plain(k)), _plain(v)) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if dataclasses.is_dataclass(value):
        return (type(value).__qualname__, _plain(dataclasses.asdict(value)))
    if hasattr(value, "__dict__"):
        return (type(value).__qualname__, _plain(vars(value)))
    return repr(value)


def run_key(fn: Callable, item: Any) -> str:
    """The key of one run's saved result: ``fn``'s name, the run's plain values (:func:`_plain`), the
    chapter's settings (``$RLHFBOOK_SETTINGS_KEY``) and the package's version."""
    parts = (
        fn.__module__,
        fn.__qualname__,
        _plain(item),
        os.environ.get(SETTINGS_ENV, ""),
        __version__,
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def _save(path: Path, result: Any) -> None:
    """Write ``result`` to ``path`` atomically (a disconnect mid-write leaves no half file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(pickle.dumps(result))
    tmp.replace(path)


def map_runs(
    fn: Callable[[Any], T], items: Sequence[Any], jobs: int | None = None
) -> list[T]:
    """``[fn(item) for item in items]``, ``jobs`` at a time in worker processes (in order); for a
    :func:`resumable` ``fn`` with a :func:`runs_folder`, each result saved when it finishes and a run
    saved before not run again."""
    items = list(items)
    folder = runs_folder() if getattr(fn, "resumable", False) else None
    paths = [folder / f"{run_key(fn, item)}.pkl" if folder else None for item in items]
    results: dict[int, Any] = {
        i: pickle.loads(p.read_bytes()) for i, p in enumerate(paths) if p and p.exists()
    }
    todo = [i for i in range(len(items)) if i not in results]
    for i, result in zip(todo, _run(fn, [items[i] for i in todo], jobs)):
        if paths[i] is not None:
            _save(paths[i], result)
        results[i] = result
    return [results[i] for i in range(len(items))]


def _run(fn: Callable[[Any], T], items: list[Any], jobs: int | None):
    """``fn(item)`` of each item, in order: in this process one at a time (each result is yielded, and
    saved by :func:`map_runs`, before the next run starts), or on ``jobs`` workers (all at the end)."""
    jobs = min(jobs or default_jobs(), len(items)) if items else 1
    if jobs <= 1:
        yield from (fn(item) for item in items)
        return
    from concurrent.futures.process import BrokenProcessPool

    try:
        outcomes = list(_pool(jobs).map(_call, [fn] * len(items), items))
    except (
        BrokenProcessPool
    ):  # a worker died (e.g. out of memory): the next map starts afresh
        _POOLS.pop(jobs).shutdown(cancel_futures=True)
        raise
    failed = [(item, out) for item, (ok, out) in zip(items, outcomes) if not ok]
    if failed:
        item, tb = failed[0]
        raise RunFailed(
            f"{len(failed)} of {len(items)} runs failed; the first, {item!r}:\n{tb}"
        )
    yield from (out for _, out in outcomes)
