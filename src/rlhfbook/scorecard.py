"""Render the scorecard page from the chapters' results JSON."""

from __future__ import annotations

import json
from pathlib import Path

STATUS_BADGE = {"pass": "✅ pass", "fail": "❌ fail", "not evaluated": "⚪ not evaluated",
                "not reproduced": "🟠 not reproduced"}


def _cell(value) -> str:
    if isinstance(value, float):
        value = f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def render(chapters: list[str], results_dir: Path, runtimes: dict[str, dict[str, float]]) -> str:
    """Markdown of the scorecard: one row per reproduction check, then runtimes."""
    lines = [
        "# Scorecard",
        "",
        "Every reproduction check of every chapter, as measured by the build that produced this",
        "page. *Paper* is what the paper reports; *ours* is this build's value; *threshold* is the",
        "comparison that decides the status. `not reproduced` marks a finding that does not hold at",
        "this scale; its chapter shows the evidence.",
        "",
        "| chapter | check | claim | paper | ours | threshold | status |",
        "|---|---|---|---|---|---|---|",
    ]
    summary = []
    for chapter in chapters:
        path = results_dir / f"{chapter}.json"
        if not path.exists():
            lines.append(f"| {chapter} | — | no results: the chapter did not finish | | | | ❌ missing |")
            continue
        record = json.loads(path.read_text())
        for c in record["checks"]:
            lines.append(
                f"| [{chapter}](../notebooks/{chapter}.ipynb) | {_cell(c['name'])} | {_cell(c['claim'])} | "
                f"{_cell(c['paper'])} | {_cell(c['ours'])} | {_cell(c['threshold'])} | {STATUS_BADGE[c['status']]} |"
            )
        summary.append((chapter, record))
    lines += [
        "",
        "## Status of this build",
        "",
        "| chapter | profile | seed | wall time (s) | commit | device | torch |",
        "|---|---|---|---|---|---|---|",
    ]
    for chapter, r in summary:
        env = r["environment"]
        lines.append(
            f"| {chapter} | {r['profile']} | {r['seed']} | {r['wall_time_s']} | "
            f"{(r['git_commit'] or 'n/a')[:10]} | {env.get('device')} | {env['packages'].get('torch')} |"
        )
    profiles = sorted({p for per in runtimes.values() for p in per})
    if profiles:
        lines += ["", "## Latest measured runtimes (minutes)", "",
                  "| chapter | " + " | ".join(profiles) + " |", "|---" * (len(profiles) + 1) + "|"]
        for chapter in chapters:
            per = runtimes.get(chapter, {})
            lines.append(f"| {chapter} | " + " | ".join(
                f"{per[p] / 60:.1f}" if p in per else "—" for p in profiles) + " |")
    return "\n".join(lines) + "\n"
