"""Every chapter of the table of contents, executed as a reader would run it.

* smoke profile (fast, part of ``make test-fast``): every code path runs;
* cpu profile (``-m chapter``): the reproduction; every check's verdict must be the one pinned in
  ``book/verdicts.yml`` (one line per difference), and a finding or control that is not
  reproduced carries its explanation;
* determinism: chapter 00 run twice gives identical metrics.
"""

import json

import pytest

from conftest import ROOT, rlhfbook_cli
from rlhfbook.book import chapters, cli
from rlhfbook.report import verdicts

CHAPTERS = chapters.toc_chapters(ROOT)


def _results(chapter, profile):
    return json.loads((cli.results_dir(profile, ROOT) / f"{chapter}.json").read_text())


@pytest.fixture(scope="module")
def smoke_run():
    """Every chapter in the smoke profile, side by side."""
    return rlhfbook_cli("run", "--profile", "smoke")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_in_the_smoke_profile(chapter, smoke_run):
    assert f"{chapter}: FAILED" not in smoke_run.stdout, (
        smoke_run.stdout[-6000:] + smoke_run.stderr[-2000:]
    )
    record = _results(chapter, "smoke")
    assert record["profile"] == "smoke" and record["checks"]
    assert {c["status"] for c in record["checks"]} == {"not evaluated"}


@pytest.fixture(scope="module")
def cpu_run():
    """Every chapter in the cpu profile, side by side on the machine's cores (as `make book` runs them)."""
    return rlhfbook_cli("run", "--profile", "cpu")


@pytest.mark.chapter
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_gives_its_pinned_verdicts_in_the_cpu_profile(chapter, cpu_run):
    assert f"{chapter}: FAILED" not in cpu_run.stdout, (
        cpu_run.stdout[-6000:] + cpu_run.stderr[-2000:]
    )
    record = _results(chapter, "cpu")
    pinned = verdicts.load_pinned(ROOT / verdicts.PINNED_FILE)
    differences = verdicts.differences(pinned, {chapter: record})
    assert not differences, "\n".join(differences)
    for c in record["checks"]:
        assert c["kind"] in ("finding", "control", "sanity"), c["name"]
        if c["kind"] != "sanity" and c["status"] != "reproduced":
            assert len(c["explanation"]) > 40, (
                f"{c['name']}: a claim that is not reproduced needs its evidence"
            )


@pytest.mark.chapter
def test_the_readme_counts_what_the_scorecard_reproduces(cpu_run):
    """The README's "paper's findings reproduced" column equals the cpu build's (the introduction's is
    filled from the results at build time, :func:`rlhfbook.book.scorecard.fill_intro`)."""
    from rlhfbook.book import scorecard

    rows = [
        line.split("|")
        for line in (ROOT / "README.md").read_text().splitlines()
        if line[:4] in _ROW_STARTS
    ]
    stated = {row[1].strip().split(".")[0]: row[-2].strip() for row in rows}
    for chapter in CHAPTERS:
        counted = scorecard.reproduced_count(_results(chapter, "cpu")["checks"])
        assert stated[str(int(chapter[:2]))] == counted, (
            f"README, chapter {chapter}: {stated} vs {counted}"
        )


_ROW_STARTS = tuple(f"| {i}." for i in range(10))


def test_robustness_runs_another_seed_block_and_compares_verdicts(tmp_path):
    env = {"RLHFBOOK_CACHE": str(tmp_path / "cache")}
    done = rlhfbook_cli(
        "robustness", "04", "--seed", "7", "--profile", "smoke", env=env
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert _results("04_reward_distance", "smoke-seed7")["seed"] == 7
    assert (
        _results("04_reward_distance", "smoke")["seed"] == 0
    )  # the shipped block's results stay where they were
    assert "findings and controls have the same verdict on both blocks" in done.stdout
    assert "seeds 7.." in done.stdout and "val_correlation" in done.stdout


def test_chapters_side_by_side_share_one_base_policy_build_and_match_a_serial_run(
    tmp_path,
):
    env = {"RLHFBOOK_CACHE": str(tmp_path / "cache")}
    runs = {}
    for jobs in ("2", "1"):
        done = rlhfbook_cli(
            "run", "01", "03", "--profile", "smoke", "--force", "--jobs", jobs, env=env
        )
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
        runs[jobs] = {
            c: {k: _results(c, "smoke")[k] for k in ("metrics", "checks")}
            for c in ("01_ppo_max", "03_pf_ppo")
        }
        if jobs == "2":
            assert "01_ppo_max: ok" in done.stdout and "03_pf_ppo: ok" in done.stdout
            built = sorted(
                p.name.split("-")[0]
                for p in (tmp_path / "cache" / "base_policies").iterdir()
                if p.is_dir()
            )
            assert built == ["code", "preference"], (
                built
            )  # each trained once, no half-written copies
    assert runs["1"] == runs["2"]


@pytest.mark.chapter
def test_same_seed_gives_identical_metrics():
    runs = []
    for _ in range(2):
        done = rlhfbook_cli("run", "00_toy_world", "--profile", "cpu", "--force")
        assert done.returncode == 0, done.stdout[-4000:]
        runs.append(_results("00_toy_world", "cpu")["metrics"])
    assert runs[0] == runs[1]
