"""The package installs the way the Colab install cell installs it: from its wheel, with the
ranges of pyproject.toml (no constraints file), into an environment that already holds older
versions of transformers, datasets and pyarrow, some of them imported — as on a Colab image.

The result must import, report what pip changed with a restart line for the replaced packages
that were imported, and run chapter 0 in the smoke profile. Slow (a fresh venv, minutes); marked
``install``.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.install

# What an older Colab image might hold (torch as the book pins it, to keep the download small).
PREINSTALLED = ["torch==2.13.0", "transformers==4.57.1", "datasets==3.6.0", "pyarrow==20.0.0", "ipykernel"]

INSTALL_CELL = """
import subprocess, sys
from importlib.metadata import distributions
import transformers, datasets, pyarrow  # a Colab session that imported them before the install cell
before = {d.metadata["Name"]: d.version for d in distributions()}
subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", sys.argv[1]])
from rlhfbook.book import colab
stale = colab.report_install(before)
print("STALE=" + ",".join(stale))
"""


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def test_the_wheel_installs_over_an_older_colab_image_and_runs_chapter_0(tmp_path):
    wheels = tmp_path / "wheels"
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(ROOT)])
    (wheel,) = wheels.glob("rlhfbook-*.whl")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = str(venv / "bin" / "python")
    run([python, "-m", "pip", "install", "--quiet", *PREINSTALLED])

    installed = run([python, "-c", INSTALL_CELL, str(wheel)], cwd=tmp_path).stdout
    lines = installed.strip().splitlines()
    changed = next(line for line in lines if line.startswith("pip changed: "))
    assert "transformers 4.57.1 -> 5." in changed and "datasets 3.6.0 -> " in changed and "rlhfbook new" in changed
    restart = [line for line in lines if line.startswith("Restart the runtime")]
    assert len(restart) == 1 and "transformers" in restart[0] and "datasets" in restart[0]
    assert "torch" not in changed  # the image's torch is kept: pyproject asks for a range

    # Chapter 0 in smoke, from a copy of the repository's book files, with the installed package.
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "book", repo / "book")
    for name in ("_config.yml", "constraints.txt"):  # the chapter cache key reads the pins
        shutil.copy(ROOT / name, repo)
    (repo / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "00_toy_world.ipynb", repo / "notebooks")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RLHFBOOK_", "PYTHONPATH", "VIRTUAL_ENV"))}
    env["RLHFBOOK_CACHE"] = str(tmp_path / "cache")
    done = subprocess.run(
        [python, "-m", "rlhfbook", "run", "00", "--profile", "smoke", "--jobs", "1"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((repo / "results" / "smoke" / "00_toy_world.json").read_text())
    assert result["environment"]["packages"]["transformers"].startswith("5.")
    assert all(c["status"] != "fail" for c in result["checks"])
