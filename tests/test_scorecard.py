import json

from rlhfbook.book import gpu_sizing, profiles, scorecard
from rlhfbook.report import tables


def _check(name, kind, status, **kw):
    return {
        "name": name,
        "kind": kind,
        "origin": kw.pop("origin", "paper"),
        "claim": kw.pop("claim", "c"),
        "paper": "p",
        "ours": "",
        "seeds": [str(s) for s in range(6)],
        "per_seed": {},
        "value": 0.6,
        "sd": 0.049,
        "se": 0.02,
        "n": 6,
        "unit": "seed",
        "threshold": 0.5,
        "direction": ">=",
        "margin": 0.1,
        "rule": "mean",
        "status": status,
        "context": kw.pop("context", ""),
        "explanation": kw.pop("explanation", ""),
    }


def _write(tmp_path, chapter, checks):
    record = {
        "chapter": chapter,
        "profile": "cpu",
        "seed": 0,
        "wall_time_s": 12.5,
        "git_commit": "abc123def456",
        "environment": {
            "device": "cpu",
            "packages": {"torch": "2.13.0", "transformers": "5", "trl": "1"},
        },
        "checks": checks,
    }
    (tmp_path / f"{chapter}.json").write_text(json.dumps(record))


def test_scorecard_totals_per_chapter_and_for_the_book(tmp_path):
    _write(
        tmp_path,
        "00_toy_world",
        [
            _check("f1", "finding", "reproduced", claim="x < y"),
            _check(
                "f2",
                "finding",
                "inconclusive",
                explanation="the interval contains the threshold",
            ),
            _check(
                "f3",
                "finding",
                "reproduced",
                origin="extension",
                context="measured 0.3",
            ),
            _check("c1", "control", "reproduced"),
            _check("s1", "sanity", "pass"),
            _check("s2", "sanity", "pass"),
        ],
    )
    page = scorecard.render(["00_toy_world", "01_ppo_max"], tmp_path)
    assert "<td" in page and "x &lt; y" in page  # escaped, not markdown-table-mangled
    totals = page.split("## Totals")[1].split("## [")[0]
    assert (
        "paper's findings: 1 reproduced, 1 inconclusive; extensions: 1 reproduced"
        in totals
    )
    assert (
        "sanity: 2 pass" in totals
        and "no results" in totals
        and "- **The book**." in totals
    )
    assert (
        "the interval contains the threshold" in page and "<summary>why" not in page
    )  # visible without a click
    assert "finding, this book&#x27;s extension" in page and "measured 0.3" in page
    assert "<details><summary>Sanity checks: 2 of 2 passing</summary>" in page
    assert "0.6 ± 0.04 over 6 seeds (needs ≥ 0.5)" in page
    assert (
        ">inconclusive<" in page and "f1" not in page.split("## [")[1]
    )  # the claim, not the snake_case name


def test_totals_count_the_papers_findings_by_verdict():
    checks = [
        _check("a", "finding", "reproduced"),
        _check("b", "finding", "contradicted"),
        _check("e", "finding", "inconclusive", origin="extension"),
        _check("c", "control", "inconclusive"),
    ]
    assert scorecard.totals(checks) == {
        "paper's findings": "1 reproduced, 1 contradicted",
        "extensions": "1 inconclusive",
        "controls": "1 inconclusive",
        "sanity": "—",
    }
    assert scorecard.reproduces(checks) == ["c"]


def test_status_lists_provenance_and_flags_chapters_over_budget(tmp_path):
    _write(tmp_path, "00_toy_world", [])
    page = scorecard.render_status(
        ["00_toy_world", "04_reward_distance"],
        tmp_path,
        {"00_toy_world": {"cpu": 90.0}, "04_reward_distance": {"cpu": 600.0}},
    )
    assert "abc123def4" in page and "2.13.0" in page
    rows = page.split("Wall time against budget")[1]
    assert (
        "<td" in rows
        and "1.5</td>" in rows
        and "within budget" in rows
        and "over budget" in rows
    )


def test_status_states_shared_provenance_once_and_tabulates_what_differs(tmp_path):
    for chapter in ("00_toy_world", "01_ppo_max"):
        _write(tmp_path, chapter, [])
    record = json.loads((tmp_path / "01_ppo_max.json").read_text()) | {
        "git_commit": "fedcba987654"
    }
    (tmp_path / "01_ppo_max.json").write_text(json.dumps(record))
    page = scorecard.render_status(["00_toy_world", "01_ppo_max"], tmp_path, {})
    provenance = page.split("Wall time against budget")[0]
    assert (
        "Every chapter: seed `0`, device `cpu`, torch `2.13.0`, transformers `5`, trl `1`."
        in provenance
    )
    assert (
        provenance.count("2.13.0") == 1
        and "abc123def4" in provenance
        and "fedcba9876" in provenance
    )
    header, rows, shared = scorecard.provenance(
        scorecard._load(["00_toy_world", "01_ppo_max"], tmp_path)
    )
    assert header == ("chapter", "commit") and rows == [
        ["00_toy_world", "abc123def4"],
        ["01_ppo_max", "fedcba9876"],
    ]


def test_status_adds_the_peak_gpu_memory_only_where_a_gpu_ran_the_chapters(tmp_path):
    _write(tmp_path, "00_toy_world", [])
    chapters, runtimes = (
        ["00_toy_world", "04_reward_distance"],
        {"00_toy_world": {"gpu": 90.0}},
    )
    page = scorecard.render_status(
        chapters, tmp_path, runtimes, "gpu", {"00_toy_world": {"gpu": 3_400_000_000}}
    )
    times = page.split("Wall time against budget")[1]
    assert (
        "peak GPU memory (GB)" in times
        and "3.4</td>" in times
        and "not measured" in times
    )
    assert "3.4 (largest)" in times
    for memory in (
        None,
        {"00_toy_world": {"cpu": 10**9}},
    ):  # no GPU, or another profile's
        assert "peak GPU memory" not in scorecard.render_status(
            chapters, tmp_path, runtimes, "gpu", memory
        )


def test_runtime_table_reads_the_status_pages_source():
    rows = scorecard.runtime_rows("00_toy_world", {"00_toy_world": {"cpu": 120.0}})
    assert ["cpu", "2.5", "2.0", "within budget"] in rows
    assert ["smoke", "1", "not run in this build", ""] in rows
    gpu, full = scorecard.runtime_rows("01_ppo_max", {})[-2:]
    assert gpu[:2] == ["gpu", "45"] and full[:2] == ["gpu-full", "120"]
    assert gpu[3] == "estimated " + gpu_sizing.estimate("01_ppo_max", "gpu")
    assert "on a Colab T4" in gpu[3] and "on an A100 80 GB" in full[3]


def test_the_running_page_shows_the_gpu_sizing_arithmetic(root):
    page = (root / "book" / "running.md").read_text()
    assert page.count(gpu_sizing.ARITHMETIC_CELL) == 1
    filled = gpu_sizing.fill_running(page)
    assert gpu_sizing.ARITHMETIC_CELL not in filled
    for chapter in gpu_sizing.sized():
        for profile in gpu_sizing.PROFILE_CARDS:
            minutes = gpu_sizing.minutes(
                chapter, profiles.resolve(chapter, profile), "T4"
            )
            assert f"<td {tables._CELL}>{minutes:.1f}</td>" in filled, (
                chapter,
                profile,
            )


def test_the_introductions_table_is_filled_from_the_results(tmp_path):
    _write(
        tmp_path,
        "01_ppo_max",
        [_check("a", "finding", "reproduced"), _check("b", "finding", "inconclusive")],
    )
    _write(tmp_path, "00_toy_world", [_check("s", "sanity", "pass")])
    text = "| 0 | {reproduced:00_toy_world} |\n| 1 | {reproduced:01_ppo_max} |\n| 2 | {reproduced:02_dpo_ranking} |"
    filled = scorecard.fill_intro(
        text, ["00_toy_world", "01_ppo_max", "02_dpo_ranking"], tmp_path
    )
    assert filled == "| 0 | — |\n| 1 | 1 of 2 |\n| 2 | not run |"
