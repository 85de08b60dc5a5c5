"""Render the scorecard and status pages from the chapters' results JSON.

The scorecard opens with totals per chapter and for the book, then shows one compact
table per chapter (findings and controls first, sanity checks folded away), rendered by
:mod:`rlhfbook.book.tables` so that it fits the book's column. The status page gives each
chapter's provenance, its wall time against its budget and, where a GPU ran the chapters,
their peak GPU memory (:mod:`rlhfbook.book.gpu_memory`).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from . import profiles, tables

TOTAL_COLUMNS = (
    "findings reproduced",
    "findings not reproduced",
    "findings failed",
    "controls holding",
    "sanity passing",
)


def _load(chapters: list[str], results_dir: Path) -> dict[str, dict]:
    return {
        c: json.loads((results_dir / f"{c}.json").read_text()) for c in chapters if (results_dir / f"{c}.json").exists()
    }


def totals(checks: list[dict]) -> dict[str, str]:
    """Counts of one chapter's checks by kind and verdict, as the scorecard's totals row."""

    def count(kind, *statuses):
        return sum(c.get("kind") == kind and c["status"] in statuses for c in checks)

    def of(kind, n):
        total = sum(c.get("kind") == kind for c in checks)
        return f"{n} of {total}" if total else "—"

    n_find = sum(c.get("kind") == "finding" for c in checks)
    return {
        "findings reproduced": f"{count('finding', 'pass')} of {n_find}" if n_find else "—",
        "findings not reproduced": str(count("finding", "not reproduced")) if n_find else "—",
        "findings failed": str(count("finding", "fail")) if n_find else "—",
        "controls holding": of("control", count("control", "pass")),
        "sanity passing": of("sanity", count("sanity", "pass")),
    }


def render(chapters: list[str], results_dir: Path, profile: str = "cpu", titles: dict[str, str] | None = None) -> str:
    """Markdown (with HTML tables) of the scorecard of ``profile`` (``titles``: chapter -> heading)."""
    records = _load(chapters, results_dir)
    every = [c for r in records.values() for c in r["checks"]]
    lines = [
        "# Scorecard",
        "",
        f"Every check of every chapter, as measured by the build that produced this page "
        f"(the `{profile}` profile). A **finding** is a claim of the paper, tested where it could "
        "fail; a **control** is what the paper's mechanism predicts must not happen, or a "
        "precondition a finding needs; a **sanity** check holds by construction of correct code. "
        "The margin is signed so that positive means the claim holds; the spread is the standard "
        "deviation over seeds. A finding or control on fewer than three seeds cannot pass.",
        "",
        "## Totals",
        "",
    ]
    rows = []
    for chapter in chapters:
        link = f'<a href="../notebooks/{chapter}.html">{html.escape(chapter)}</a>'
        if chapter not in records:
            rows.append([link] + [tables.verdict("fail") + " no results"] + [""] * (len(TOTAL_COLUMNS) - 1))
            continue
        rows.append([link] + list(totals(records[chapter]["checks"]).values()))
    rows.append(["<strong>book</strong>"] + [f"<strong>{v}</strong>" for v in totals(every).values()])
    lines += [tables.table(("chapter",) + TOTAL_COLUMNS, rows), ""]
    for chapter in chapters:
        lines += [f"## [{(titles or {}).get(chapter, chapter)}](../notebooks/{chapter}.ipynb)", ""]
        if chapter not in records:
            lines += ["No results: the chapter did not finish in this build.", ""]
            continue
        checks = records[chapter]["checks"]
        main = [c for c in checks if c.get("kind") != "sanity"]
        sanity = [c for c in checks if c.get("kind") == "sanity"]
        if main:
            lines += [tables.checks_table(main), ""]
        if sanity:
            passing = sum(c["status"] == "pass" for c in sanity)
            lines += [
                f"<details><summary>Sanity checks: {passing} of {len(sanity)} passing</summary>",
                tables.checks_table(sanity),
                "</details>",
                "",
            ]
    return "\n".join(lines) + "\n"


def runtime_rows(chapter: str, runtimes: dict[str, dict[str, float]]) -> list[list[str]]:
    """Per profile: budget, latest measured wall time (minutes), and whether it is over budget."""
    measured = runtimes.get(chapter, {})
    rows = []
    for profile, budget in profiles.budget_minutes(chapter).items():
        if profile in measured:
            minutes = measured[profile] / 60
            flag = "over budget" if minutes > budget else "within budget"
            rows.append([profile, f"{budget:g}", f"{minutes:.1f}", flag])
        else:
            rows.append([profile, f"{budget:g}", "not run in this build", ""])
    return rows


RUNTIME_HEADER = ("profile", "budget (min)", "latest measured (min)", "")


def runtime_table(chapter: str, runtimes: dict[str, dict[str, float]]) -> str:
    """HTML table of :func:`runtime_rows`, shown at the top of each chapter."""
    return tables.table(RUNTIME_HEADER, runtime_rows(chapter, runtimes))


def render_status(
    chapters: list[str],
    results_dir: Path,
    runtimes: dict[str, dict[str, float]],
    profile: str = "cpu",
    gpu_memory: dict[str, dict[str, int]] | None = None,
) -> str:
    """Markdown of the status page: provenance of each chapter's run, wall time against budget and,
    where a GPU ran the chapters (``gpu_memory``: bytes per chapter and profile), their peak GPU memory."""
    lines = [
        "# Status of this build",
        "",
        f"Where and how each chapter of this book was executed (the `{profile}` profile). Wall time "
        "is the whole notebook's, measured by `python -m rlhfbook run`; a chapter over its budget "
        "is flagged, not failed.",
        "",
    ]
    rows = []
    for chapter, r in _load(chapters, results_dir).items():
        env = r["environment"]
        rows.append(
            [
                html.escape(x)
                for x in (
                    chapter,
                    str(r["seed"]),
                    (r["git_commit"] or "n/a")[:10],
                    str(env.get("device")),
                    str(env["packages"].get("torch")),
                    str(env["packages"].get("transformers")),
                    str(env["packages"].get("trl")),
                )
            ]
        )
    peaks = {c: v[profile] for c, v in (gpu_memory or {}).items() if profile in v}
    lines += [
        tables.table(("chapter", "seed", "commit", "device", "torch", "transformers", "trl"), rows),
        "",
        "## Wall time against budget (minutes, whole notebook)",
        "",
    ]
    if peaks:
        lines += [
            "Peak GPU memory is the most the machine's GPUs held while the chapter ran, CUDA contexts and "
            "PyTorch's cached blocks included (`nvidia-smi`, sampled by `rlhfbook.book.gpu_memory`).",
            "",
        ]
    rows = []
    for chapter in chapters:
        measured = runtimes.get(chapter, {}).get(profile)
        budget = profiles.budget_minutes(chapter)[profile]
        if measured is None:
            row = [chapter, f"{budget:g}", "not run", ""]
        else:
            over = measured / 60 > budget
            verdict = tables.verdict("fail") + " over budget" if over else "within budget"
            row = [chapter, f"{budget:g}", f"{measured / 60:.1f}", verdict]
        if peaks:
            row.append(f"{peaks[chapter] / 1e9:.1f}" if chapter in peaks else "not measured")
        rows.append(row)
    total_budget = sum(profiles.budget_minutes(c)[profile] for c in chapters)
    total = sum(runtimes.get(c, {}).get(profile, 0.0) for c in chapters) / 60
    total_row = ["<strong>book</strong>", f"{total_budget:g}", f"{total:.1f}", "sum of chapters"]
    rows.append(total_row + ([f"{max(peaks.values()) / 1e9:.1f} (largest)"] if peaks else []))
    header = ("chapter", "budget", "measured", "") + (("peak GPU memory (GB)",) if peaks else ())
    lines += [tables.table(header, rows), ""]
    return "\n".join(lines) + "\n"
