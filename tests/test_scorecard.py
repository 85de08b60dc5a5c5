import json

from rlhfbook import scorecard


def _write(tmp_path, chapter, checks):
    record = {"chapter": chapter, "profile": "cpu", "seed": 0, "wall_time_s": 12.5, "git_commit": "abc123def456",
              "environment": {"device": "cpu", "packages": {"torch": "2.13.0", "transformers": "5", "trl": "1"}},
              "checks": checks}
    (tmp_path / f"{chapter}.json").write_text(json.dumps(record))


def test_scorecard_has_one_row_per_check_and_flags_missing_chapters(tmp_path):
    _write(tmp_path, "00_a", [
        {"name": "holds", "claim": "x | y", "paper": "0.5", "ours": 0.51234, "threshold": ">= 0.5", "status": "pass"},
        {"name": "small", "claim": "z", "paper": "0.9", "ours": 0.1, "threshold": ">= 0.9", "status": "not reproduced"},
    ])
    page = scorecard.render(["00_a", "01_b"], tmp_path)
    rows = [line for line in page.splitlines() if line.startswith("| [00_a]")]
    assert len(rows) == 2 and "x \\| y" in rows[0] and "0.5123" in rows[0] and "✅ pass" in rows[0]
    assert "🟠 not reproduced" in rows[1]
    assert "| 01_b | — | no results" in page


def test_status_lists_provenance_and_runtimes(tmp_path):
    _write(tmp_path, "00_a", [])
    page = scorecard.render_status(["00_a"], tmp_path, {"00_a": {"cpu": 90.0, "smoke": 6.0}})
    assert "| 00_a | cpu | 0 | 12.5 | abc123def4 | cpu | 2.13.0 |" in page
    assert "| 00_a | 1.5 | 0.1 |" in page
