"""The package installs the way the Colab install cell installs it: from its wheel, with the
ranges of pyproject.toml (no constraints file), into an environment that already holds older
versions of transformers, datasets and pyarrow, some of them imported — as on a Colab image.

The result must import, report what pip changed with a restart line for the replaced packages
that were imported, and run chapter 0 in the smoke profile. A second venv holds every direct
dependency at the floor of its range (the newest of everything else, as pip resolves for a user
who already has those floors): it runs chapter 0 and the tests that exercise TRL and
transformers, so the lower bounds in pyproject.toml are ones the book is tested with. Slow (a
fresh venv each, minutes); marked ``install``.
"""

import json
import os
import shutil
import subprocess
import sys
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import ROOT

pytestmark = pytest.mark.install

# What an older Colab image might hold (torch as the book pins it, to keep the download small).
PREINSTALLED = [
    "torch==2.13.0",
    "transformers==4.57.1",
    "datasets==3.6.0",
    "pyarrow==20.0.0",
    "ipykernel",
]

INSTALL_CELL = """
import subprocess, sys
from importlib.metadata import distributions
import transformers, datasets, pyarrow  # a Colab session that imported them before the install cell
before = {d.metadata["Name"]: d.version for d in distributions()}
subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", sys.argv[1]])
from rlhfbook.book import colab
try:
    colab.report_install(before)
except colab.RestartRequired as stop:  # the cell stops: "Run all" goes no further
    print(stop)
"""


# The tests that drive TRL's trainers and transformers' models (about 30 s).
TRL_TESTS = [
    "test_reward_model.py",
    "test_dpo_training.py",
    "test_ppo.py",
    "test_preferences.py",
    "test_models.py",
]


# This process's environment without the repository's package path, cache or venv: what the
# venv under test runs in (pip too, which would take a src/rlhfbook.egg-info on PYTHONPATH for
# the package installed).
ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(("RLHFBOOK_", "PYTHONPATH", "VIRTUAL_ENV"))
}


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        cmd, check=True, capture_output=True, text=True, env=ENV, **kw
    )


def floors(dependencies: list[str]) -> list[str]:
    """``name==floor`` for each requirement, its ``>=`` lower bound; one line naming any without one."""
    pins = []
    for req in map(Requirement, dependencies):
        lower = [s.version for s in req.specifier if s.operator == ">="]
        if len(lower) != 1:
            raise ValueError(f"{req} has no single lower bound (>=) to test")
        pins.append(f"{req.name}=={lower[0]}")
    return pins


def test_floors_are_the_lower_bounds_and_a_range_without_one_is_reported():
    assert floors(["torch>=2.13", "trl>=1.16,<1.17", "pyyaml >= 6.0.1"]) == [
        "torch==2.13",
        "trl==1.16",
        "pyyaml==6.0.1",
    ]
    with pytest.raises(
        ValueError, match=r"^numpy<3 has no single lower bound \(>=\) to test$"
    ):
        floors(["numpy<3"])


def fresh_venv(tmp_path) -> tuple[str, str]:
    """The package's wheel, built from the repository, and the python of a new empty venv."""
    wheels = tmp_path / "wheels"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(wheels),
            str(ROOT),
        ]
    )
    (wheel,) = wheels.glob("rlhfbook-*.whl")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    return str(wheel), str(venv / "bin" / "python")


def clean_env(tmp_path) -> dict[str, str]:
    """:data:`ENV` with a cache of the test's own."""
    return {**ENV, "RLHFBOOK_CACHE": str(tmp_path / "cache")}


def run_chapter_0(python: str, tmp_path) -> dict:
    """Chapter 0 in smoke, from a copy of the repository's book files, with the installed package;
    its results file."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "book", repo / "book")
    for name in (
        "_config.yml",
        "constraints.txt",
    ):  # the chapter cache key reads the pins
        shutil.copy(ROOT / name, repo)
    (repo / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "00_toy_world.ipynb", repo / "notebooks")
    done = subprocess.run(
        [python, "-m", "rlhfbook", "run", "00", "--profile", "smoke", "--jobs", "1"],
        cwd=repo,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((repo / "results" / "smoke" / "00_toy_world.json").read_text())
    assert all(c["status"] != "fail" for c in result["checks"])
    return result


def test_the_wheel_installs_over_an_older_colab_image_and_runs_chapter_0(tmp_path):
    wheel, python = fresh_venv(tmp_path)
    run([python, "-m", "pip", "install", "--quiet", *PREINSTALLED])

    installed = run([python, "-c", INSTALL_CELL, str(wheel)], cwd=tmp_path).stdout
    lines = installed.strip().splitlines()
    changed = next(line for line in lines if line.startswith("pip changed: "))
    assert (
        "transformers 4.57.1 -> 5." in changed
        and "datasets 3.6.0 -> " in changed
        and "rlhfbook new" in changed
    )
    restart = [line for line in lines if line.startswith("Restart the runtime")]
    assert (
        len(restart) == 1 and "transformers" in restart[0] and "datasets" in restart[0]
    )
    assert (
        "torch" not in changed
    )  # the image's torch is kept: pyproject asks for a range

    result = run_chapter_0(python, tmp_path)
    assert result["environment"]["packages"]["transformers"].startswith("5.")


def test_the_wheel_at_the_floor_of_every_dependency_runs_chapter_0_and_the_trl_tests(
    tmp_path,
):
    wheel, python = fresh_venv(tmp_path)
    pins = floors(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    )
    run(
        [python, "-m", "pip", "install", "--quiet", wheel, *pins, "pytest", "ipykernel"]
    )
    listed = json.loads(run([python, "-m", "pip", "list", "--format", "json"]).stdout)
    installed = {canonicalize_name(p["name"]): p["version"] for p in listed}
    for pin in map(Requirement, pins):  # "torch==2.13" holds 2.13.0+cpu
        assert pin.specifier.contains(installed[canonicalize_name(pin.name)]), (
            pin,
            installed[pin.name],
        )

    result = run_chapter_0(python, tmp_path)
    assert (
        result["environment"]["packages"]["transformers"] == installed["transformers"]
    )
    tests = subprocess.run(
        [
            python,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *(f"tests/{t}" for t in TRL_TESTS),
        ],
        cwd=ROOT,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert tests.returncode == 0, tests.stdout[-5000:] + tests.stderr[-2000:]
