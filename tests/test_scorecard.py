import json

from rlhfbook.book import scorecard


def _check(name, kind, status, **kw):
    return {
        "name": name,
        "kind": kind,
        "claim": kw.pop("claim", "c"),
        "paper": "p",
        "ours": "",
        "seeds": ["0", "1", "2"],
        "per_seed": {},
        "value": 0.6,
        "threshold": 0.5,
        "direction": ">=",
        "margin": 0.1,
        "spread": 0.03,
        "rule": "mean",
        "status": status,
        "explanation": kw.pop("explanation", ""),
    }


def _write(tmp_path, chapter, checks):
    record = {
        "chapter": chapter,
        "profile": "cpu",
        "seed": 0,
        "wall_time_s": 12.5,
        "git_commit": "abc123def456",
        "environment": {"device": "cpu", "packages": {"torch": "2.13.0", "transformers": "5", "trl": "1"}},
        "checks": checks,
    }
    (tmp_path / f"{chapter}.json").write_text(json.dumps(record))


def test_scorecard_totals_per_chapter_and_for_the_book(tmp_path):
    _write(
        tmp_path,
        "00_toy_world",
        [
            _check("f1", "finding", "pass", claim="x < y"),
            _check("f2", "finding", "not reproduced", explanation="too small"),
            _check("c1", "control", "pass"),
            _check("s1", "sanity", "pass"),
            _check("s2", "sanity", "pass"),
        ],
    )
    page = scorecard.render(["00_toy_world", "01_ppo_max"], tmp_path)
    assert "<td" in page and "x &lt; y" in page  # escaped, not markdown-table-mangled
    totals = page.split("## Totals")[1].split("## [")[0]
    assert "1 of 2" in totals and "1 of 1" in totals and "2 of 2" in totals and "no results" in totals
    assert "<details><summary>why not reproduced</summary>too small</details>" in page
    assert "<details><summary>Sanity checks: 2 of 2 passing</summary>" in page
    assert "+0.1 ± 0.03 over 3 seeds" in page


def test_totals_count_by_kind_and_status():
    checks = [_check("a", "finding", "pass"), _check("b", "finding", "fail"), _check("c", "control", "fail")]
    assert scorecard.totals(checks) == {
        "findings reproduced": "1 of 2",
        "findings not reproduced": "0",
        "findings failed": "1",
        "controls holding": "0 of 1",
        "sanity passing": "—",
    }


def test_status_lists_provenance_and_flags_chapters_over_budget(tmp_path):
    _write(tmp_path, "00_toy_world", [])
    page = scorecard.render_status(
        ["00_toy_world", "04_reward_distance"],
        tmp_path,
        {"00_toy_world": {"cpu": 90.0}, "04_reward_distance": {"cpu": 600.0}},
    )
    assert "abc123def4" in page and "2.13.0" in page
    rows = page.split("Wall time against budget")[1]
    assert "<td" in rows and "1.5</td>" in rows and "within budget" in rows and "over budget" in rows


def test_status_adds_the_peak_gpu_memory_only_where_a_gpu_ran_the_chapters(tmp_path):
    _write(tmp_path, "00_toy_world", [])
    chapters, runtimes = ["00_toy_world", "04_reward_distance"], {"00_toy_world": {"gpu": 90.0}}
    page = scorecard.render_status(chapters, tmp_path, runtimes, "gpu", {"00_toy_world": {"gpu": 3_400_000_000}})
    times = page.split("Wall time against budget")[1]
    assert "peak GPU memory (GB)" in times and "3.4</td>" in times and "not measured" in times
    assert "3.4 (largest)" in times
    for memory in (None, {"00_toy_world": {"cpu": 10**9}}):  # no GPU, or another profile's
        assert "peak GPU memory" not in scorecard.render_status(chapters, tmp_path, runtimes, "gpu", memory)


def test_runtime_table_reads_the_status_pages_source():
    rows = scorecard.runtime_rows("00_toy_world", {"00_toy_world": {"cpu": 120.0}})
    assert ["cpu", "2.5", "2.0", "within budget"] in rows
    assert ["smoke", "1", "not run in this build", ""] in rows
