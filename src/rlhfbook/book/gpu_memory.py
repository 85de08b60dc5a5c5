"""Peak GPU memory of a chapter's run, as the status page reports it next to the wall time.

A chapter's GPU memory is held by its notebook kernel and the worker processes it starts, not by
the process that runs it (``python -m rlhfbook run``), so it is read from the driver: while a
chapter runs, :class:`PeakSampler` asks ``nvidia-smi`` for the memory in use on the machine's
GPUs every ``interval`` seconds and keeps the largest answer. That is what decides whether a
chapter fits a GPU: it counts the CUDA contexts and what PyTorch's caching allocator reserves,
not only the live tensors (``torch.cuda.max_memory_allocated``); a run shorter than the interval
between two samples can be missed. On a machine without ``nvidia-smi`` nothing is measured.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Sequence

QUERY = ("nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits")
MIB = 2**20  # nvidia-smi reports memory.used in MiB


def used_bytes(query: Sequence[str] | None = None) -> int | None:
    """Bytes in use now on all the machine's GPUs (the sum of the one line per GPU that ``query``,
    by default :data:`QUERY`, prints, in MiB); None where the command is missing or fails."""
    try:
        out = subprocess.run(
            list(query or QUERY), capture_output=True, text=True, timeout=10, check=True
        ).stdout
        return sum(int(line) for line in out.split()) * MIB
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


class PeakSampler:
    """``with PeakSampler() as s: ...`` samples ``read()`` (default: :func:`used_bytes`) every
    ``interval`` seconds in a thread while the block runs (once at its start and once at its end
    too); ``s.peak`` is the largest sample, None when ``read`` returned None (no GPU)."""

    def __init__(
        self, read: Callable[[], int | None] | None = None, interval: float = 0.5
    ):
        self.read, self.interval, self.peak = read or used_bytes, interval, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> bool:
        value = self.read()
        if value is not None:
            self.peak = value if self.peak is None else max(self.peak, value)
        return value is not None

    def _run(self) -> None:
        while not self._stop.wait(self.interval) and self._sample():
            pass

    def __enter__(self) -> PeakSampler:
        if self._sample():  # no GPU: no thread
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
            self._sample()
