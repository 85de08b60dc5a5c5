"""Every chapter of the table of contents, executed as a reader would run it.

* smoke profile (fast, part of ``make test-fast``): every code path runs;
* cpu profile (``-m chapter``): the reproduction; every check must pass or be an explained
  ``not reproduced``;
* determinism: chapter 00 run twice gives identical metrics.
"""

import json

import pytest

from conftest import ROOT, rlhfbook_cli
from rlhfbook import chapters, cli

CHAPTERS = chapters.toc_chapters(ROOT)


def _results(chapter, profile):
    return json.loads((cli.results_dir(ROOT, profile) / f"{chapter}.json").read_text())


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_in_the_smoke_profile(chapter):
    done = rlhfbook_cli("run", chapter, "--profile", "smoke")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    record = _results(chapter, "smoke")
    assert record["profile"] == "smoke" and record["checks"]
    assert {c["status"] for c in record["checks"]} == {"not evaluated"}


@pytest.mark.chapter
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_reproduces_in_the_cpu_profile(chapter):
    done = rlhfbook_cli("run", chapter, "--profile", "cpu")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    record = _results(chapter, "cpu")
    statuses = {c["name"]: c["status"] for c in record["checks"]}
    assert set(statuses.values()) <= {"pass", "not reproduced"}, statuses
    for c in record["checks"]:
        if c["status"] == "not reproduced":
            assert len(c["explanation"]) > 40, f"{c['name']}: a not-reproduced check needs its evidence"


@pytest.mark.chapter
def test_same_seed_gives_identical_metrics():
    runs = []
    for _ in range(2):
        done = rlhfbook_cli("run", "00_toy_world", "--profile", "cpu", "--force")
        assert done.returncode == 0, done.stdout[-4000:]
        runs.append(_results("00_toy_world", "cpu")["metrics"])
    assert runs[0] == runs[1]
