"""Progress of long loops: a bar where someone watches, one summary line where nobody does.

In a terminal (or an interactive notebook with ipywidgets) :func:`track` shows a tqdm bar.
In a batch execution -- ``python -m rlhfbook run``, papermill, CI -- a bar would be frozen
into the rendered page as hundreds of lines, so it prints one line when the loop ends:
``PPO: 40 steps in 52.1 s (gold 3.2)``. Used by the trainers and loops in ``src``.

Used by every chapter, through the loops of the methods.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from rlhfbook.core.environment import ipython_shell

BATCH_ENV = "RLHFBOOK_BATCH"  # set by ``rlhfbook run``; its kernels inherit it


def _parent_is_papermill() -> bool:
    """True when this process was started by a papermill command (Linux: /proc)."""
    try:
        cmdline = Path(f"/proc/{os.getppid()}/cmdline").read_bytes()
    except OSError:
        return False
    return b"papermill" in cmdline


def batch() -> bool:
    """True in a non-interactive execution, where progress bars must not be printed."""
    return os.environ.get(BATCH_ENV) == "1" or _parent_is_papermill()


def _in_kernel() -> bool:
    shell = ipython_shell()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class _Summary:
    """Iterates silently, then prints ``desc: N steps in S s (postfix)`` once."""

    def __init__(self, iterable: Iterable, desc: str):
        self.iterable, self.desc, self.postfix = iterable, desc, ""

    def set_postfix_str(self, text: str) -> None:
        self.postfix = text

    def __iter__(self) -> Iterator:
        start, n = time.perf_counter(), 0
        for n, item in enumerate(self.iterable, 1):  # noqa: B007 - n, the step count, is read after the loop
            yield item
        tail = f" ({self.postfix})" if self.postfix else ""
        print(
            f"{self.desc}: {n} steps in {time.perf_counter() - start:.1f} s{tail}",
            flush=True,
        )


class _Silent(_Summary):
    def __iter__(self) -> Iterator:
        yield from self.iterable


def track(
    iterable: Iterable, desc: str, enabled: bool = True, total: int | None = None
) -> Any:
    """``iterable`` with progress: a tqdm bar, one summary line in batch runs, nothing if disabled.

    The result supports ``set_postfix_str`` (shown in the bar, or in the summary line).
    """
    if not enabled:
        return _Silent(iterable, desc)
    if batch():
        return _Summary(iterable, desc)
    if _in_kernel():
        try:
            import ipywidgets  # noqa: F401 - tqdm.notebook needs it
        except ImportError:
            return _Summary(iterable, desc)
        from tqdm.notebook import tqdm
    else:
        from tqdm import tqdm
    return tqdm(iterable, desc=desc, total=total, file=sys.stderr)
