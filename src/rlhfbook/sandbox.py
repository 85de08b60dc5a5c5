"""Run untrusted generated Python programs against unit tests, in a separate, limited process.

A policy that writes code writes anything: infinite loops, memory bombs, ``os._exit``, code
that raises. None of that may take the notebook down. :func:`run_tests` executes the program and
then each test (an ``assert`` statement, as in MBPP's ``test_list``) in a fresh Python
subprocess (``python -I``: no site packages of the user, no environment-driven imports) whose
CPU time, address space, file size and core dumps are capped with ``resource.setrlimit``, with
a wall-clock timeout on top, in its own session so that a timeout kills everything it started.
The child reports each passed test on its stdout, tagged with a random nonce the program does
not know; a crash, hang, limit or exception anywhere is a failed test, never an error here.

This is resource isolation, not a security boundary against a malicious program (the child can
still read files and use the network): it is meant for the mistakes of a small model.

Used by chapter 3 (through :mod:`rlhfbook.code_tasks`).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass

_RUNNER = r"""
import io, json, os, resource, sys
cfg = json.loads(sys.stdin.read())
out = os.dup(1)
sys.stdout = sys.stderr = io.StringIO()
scope = {"__name__": "__main__"}
try:
    exec(compile(cfg["setup"] + "\n" + cfg["program"], "<program>", "exec"), scope)
except BaseException:
    os._exit(0)
for i, test in enumerate(cfg["tests"]):
    try:
        exec(compile(test, "<test>", "exec"), scope)
    except BaseException:
        continue
    os.write(out, (cfg["nonce"] + " " + str(i) + "\n").encode())
os._exit(0)
"""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run: CPU seconds, wall seconds, address space (MiB), file size (MiB)."""

    cpu_s: int = 2
    wall_s: float = 5.0
    memory_mb: int = 512
    file_mb: int = 1

    def __post_init__(self) -> None:
        if self.cpu_s < 1 or self.wall_s <= 0 or self.memory_mb < 64 or self.file_mb < 0:
            raise ValueError(f"invalid limits {self}: need cpu_s >= 1, wall_s > 0, memory_mb >= 64, file_mb >= 0")


def _limit(limits: Limits):
    def apply() -> None:  # runs in the child between fork and exec
        import resource

        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
        mem = limits.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        size = limits.file_mb * 2**20
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_tests(program: str, tests: list[str], limits: Limits = Limits(), setup: str = "") -> list[bool]:
    """Which of ``tests`` (Python statements, typically asserts) pass after executing ``program``
    (preceded by ``setup``, MBPP's ``test_setup_code``) in a limited subprocess."""
    if not tests:
        raise ValueError("run_tests needs at least one test")
    nonce = secrets.token_hex(16)
    payload = json.dumps({"program": program, "tests": list(tests), "setup": setup, "nonce": nonce})
    with tempfile.TemporaryDirectory(prefix="rlhfbook-sandbox-") as cwd:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _RUNNER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_limit(limits),
            env={"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"},
        )
        try:
            stdout, _ = proc.communicate(payload.encode(), timeout=limits.wall_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            try:
                stdout, _ = proc.communicate(timeout=1.0)  # what it reported before the kill
            except subprocess.TimeoutExpired:
                stdout = b""
        finally:
            _kill_group(proc.pid)  # anything the program left running
    passed = set()
    for line in stdout.decode(errors="replace").splitlines():
        tag, _, index = line.partition(" ")
        if tag == nonce and index.isdigit():
            passed.add(int(index))
    return [i in passed for i in range(len(tests))]


def pass_rate(program: str, tests: list[str], limits: Limits = Limits(), setup: str = "") -> float:
    """Fraction of ``tests`` passed (the gold score of generated code; pass@1 counts 1.0)."""
    results = run_tests(program, tests, limits, setup)
    return sum(results) / len(results)
