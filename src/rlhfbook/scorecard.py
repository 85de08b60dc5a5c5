"""Render the scorecard and status pages from the chapters' results JSON."""

from __future__ import annotations

import json
from pathlib import Path

STATUS_BADGE = {"pass": "✅ pass", "fail": "❌ fail", "not evaluated": "⚪ not evaluated",
                "not reproduced": "🟠 not reproduced"}


def _cell(value) -> str:
    if isinstance(value, float):
        value = f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _load(chapters: list[str], results_dir: Path) -> dict[str, dict]:
    return {c: json.loads((results_dir / f"{c}.json").read_text())
            for c in chapters if (results_dir / f"{c}.json").exists()}


def render(chapters: list[str], results_dir: Path) -> str:
    """Markdown of the scorecard: one row per reproduction check of every chapter."""
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
    records = _load(chapters, results_dir)
    for chapter in chapters:
        if chapter not in records:
            lines.append(f"| {chapter} | — | no results: the chapter did not finish | | | | ❌ missing |")
            continue
        for c in records[chapter]["checks"]:
            lines.append(
                f"| [{chapter}](../notebooks/{chapter}.ipynb) | {_cell(c['name'])} | {_cell(c['claim'])} | "
                f"{_cell(c['paper'])} | {_cell(c['ours'])} | {_cell(c['threshold'])} | {STATUS_BADGE[c['status']]} |"
            )
    return "\n".join(lines) + "\n"


def render_status(chapters: list[str], results_dir: Path, runtimes: dict[str, dict[str, float]]) -> str:
    """Markdown of the status page: provenance of each chapter's run, runtimes per profile."""
    lines = [
        "# Status of this build",
        "",
        "Where and how each chapter of this book was executed. Wall time is measured inside the",
        "chapter (from its first cell to its last); budgets are in each chapter's runtime table.",
        "",
        "| chapter | profile | seed | wall time (s) | commit | device | torch | transformers | trl |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for chapter, r in _load(chapters, results_dir).items():
        env = r["environment"]
        lines.append(
            f"| {chapter} | {r['profile']} | {r['seed']} | {r['wall_time_s']} | "
            f"{(r['git_commit'] or 'n/a')[:10]} | {env.get('device')} | {env['packages'].get('torch')} | "
            f"{env['packages'].get('transformers')} | {env['packages'].get('trl')} |"
        )
    profiles = sorted({p for per in runtimes.values() for p in per})
    if profiles:
        lines += ["", "## Latest measured runtimes per profile (minutes, whole notebook)", "",
                  "| chapter | " + " | ".join(profiles) + " |", "|---" * (len(profiles) + 1) + "|"]
        for chapter in chapters:
            per = runtimes.get(chapter, {})
            lines.append(f"| {chapter} | " + " | ".join(
                f"{per[p] / 60:.1f}" if p in per else "—" for p in profiles) + " |")
    return "\n".join(lines) + "\n"
