"""Run untrusted generated Python programs against unit tests, in a separate, limited process.

A policy that writes code writes anything: infinite loops, memory bombs, ``os._exit``, code
that raises. None of that may take the notebook down. :func:`run_tests` executes the program and
then each test (an ``assert`` statement, as in MBPP's ``test_list``) in a fresh Python
subprocess (``python -I``: no site packages of the user, no environment-driven imports) whose
CPU time, address space, file size and core dumps are capped with ``resource.setrlimit``, with
a wall-clock timeout on top, in its own session so that a timeout kills everything it started.
The child reports each passed test on its stdout, tagged with a random nonce the program does
not know; a crash, hang, limit or exception anywhere is a failed test, never an error here.

Where the platform allows it (Linux with bubblewrap, ``bwrap``, and unprivileged user
namespaces: Debian and Ubuntu, Colab after ``apt-get install bubblewrap``), the child also runs
isolated (:func:`isolation`): no network (its own empty network namespace), a read-only view of
the interpreter's system folders and nothing else of the filesystem (no home, no project, no
data), and a private, empty ``/tmp`` as its working folder, gone when it exits. Elsewhere only
the resource limits hold, and the child can read the user's files and use the network;
:func:`isolation_note` says which, in one line. Neither is a hardened security boundary: they are
meant for the mistakes of a small model, and keep a careless program from reaching files or the
network.

Used by chapter 3 (through :mod:`rlhfbook.tasks.code_tasks`).
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass

# Folders the interpreter needs, read-only in the isolated child (the ``-try`` binds skip missing ones).
SYSTEM_FOLDERS = (
    "/usr",
    "/bin",
    "/lib",
    "/lib64",
    "/etc/ld.so.cache",
    "/etc/alternatives",
)


def _bwrap_command(bwrap: str) -> list[str]:
    """The ``bwrap`` prefix of an isolated child: every namespace unshared (network, PIDs, IPC, ...),
    the system folders and the interpreter's prefixes (its installation, and a virtual environment's
    packages, which a program may import as before) read-only, ``/dev`` and ``/proc`` minimal, a
    private tmpfs ``/tmp`` as the working folder, killed with its parent."""
    binds = []
    for folder in (
        *SYSTEM_FOLDERS,
        sys.base_prefix,
        sys.prefix,
        os.path.dirname(os.path.realpath(sys.executable)),
    ):
        binds += ["--ro-bind-try", folder, folder]
    return [
        bwrap,
        "--unshare-all",
        "--die-with-parent",
        *binds,
        "--dev",
        "/dev",
        "--proc",
        "/proc",
    ] + [
        "--tmpfs",
        "/tmp",
        "--chdir",
        "/tmp",
        "--setenv",
        "HOME",
        "/tmp",
    ]


@functools.cache
def isolation() -> list[str] | None:
    """The command prefix that isolates a child (:func:`_bwrap_command`), or None where bubblewrap is
    missing or cannot create namespaces here (tried once per process with a child that prints)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None or not sys.platform.startswith("linux"):
        return None
    prefix = _bwrap_command(bwrap)
    try:
        probe = subprocess.run(
            [*prefix, sys.executable, "-I", "-c", "print('ok')"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return prefix if probe.stdout.strip() == b"ok" else None


def isolation_note() -> str:
    """One line: how generated programs run on this machine."""
    if isolation() is not None:
        return "Generated programs run isolated (bubblewrap): no network, no files but the system's, read-only, a private /tmp."
    return (
        "Generated programs run with CPU, memory and time limits only: bubblewrap is not available here, so they "
        "could read your files and use the network (on Linux: apt-get install bubblewrap)."
    )


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
        if (
            self.cpu_s < 1
            or self.wall_s <= 0
            or self.memory_mb < 64
            or self.file_mb < 0
        ):
            raise ValueError(
                f"invalid limits {self}: need cpu_s >= 1, wall_s > 0, memory_mb >= 64, file_mb >= 0"
            )


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


def run_tests(
    program: str, tests: list[str], limits: Limits = Limits(), setup: str = ""
) -> list[bool]:
    """Which of ``tests`` (Python statements, typically asserts) pass after executing ``program``
    (preceded by ``setup``, MBPP's ``test_setup_code``) in a limited subprocess, isolated where
    :func:`isolation` can."""
    if not tests:
        raise ValueError("run_tests needs at least one test")
    nonce = secrets.token_hex(16)
    payload = json.dumps(
        {"program": program, "tests": list(tests), "setup": setup, "nonce": nonce}
    )
    with tempfile.TemporaryDirectory(prefix="rlhfbook-sandbox-") as cwd:
        proc = subprocess.Popen(
            [*(isolation() or []), sys.executable, "-I", "-c", _RUNNER],
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
                stdout, _ = proc.communicate(
                    timeout=1.0
                )  # what it reported before the kill
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


def pass_rate(
    program: str, tests: list[str], limits: Limits = Limits(), setup: str = ""
) -> float:
    """Fraction of ``tests`` passed (the gold score of generated code; pass@1 counts 1.0)."""
    results = run_tests(program, tests, limits, setup)
    return sum(results) / len(results)
