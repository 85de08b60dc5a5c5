"""Render the scorecard and status pages from the chapters' results JSON.

The scorecard opens with totals per chapter and for the book, then shows one compact
table per chapter (findings and controls first, sanity checks folded away), rendered by
:mod:`rlhfbook.report.tables` so that it fits the book's column. The status page gives each
chapter's provenance, its wall time against its budget and, where a GPU ran the chapters,
their peak GPU memory (:mod:`rlhfbook.book.gpu_memory`).
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

from rlhfbook.book import gpu_sizing, profiles
from rlhfbook.report import tables, verdicts

TOTAL_COLUMNS = ("paper's findings", "extensions", "controls", "sanity")


def _load(chapters: list[str], results_dir: Path) -> dict[str, dict]:
    return {
        c: json.loads((results_dir / f"{c}.json").read_text())
        for c in chapters
        if (results_dir / f"{c}.json").exists()
    }


def by_verdict(checks: list[dict]) -> str:
    """ "3 reproduced, 1 inconclusive": the checks counted by verdict, in the rule's order ("—" for none)."""
    order = [*verdicts.VERDICTS, *verdicts.SANITY, verdicts.NOT_EVALUATED]
    counts = [(v, sum(c["status"] == v for c in checks)) for v in order]
    return ", ".join(f"{n} {v}" for v, n in counts if n) or "—"


def totals(checks: list[dict]) -> dict[str, str]:
    """One chapter's checks counted as the scorecard's totals row: the paper's findings, the book's
    extensions, the controls and the sanity checks, each by verdict."""
    findings = [c for c in checks if c.get("kind") == "finding"]
    groups = (
        [c for c in findings if c.get("origin", "paper") == "paper"],
        [c for c in findings if c.get("origin") == "extension"],
        [c for c in checks if c.get("kind") == "control"],
        [c for c in checks if c.get("kind") == "sanity"],
    )
    return dict(zip(TOTAL_COLUMNS, map(by_verdict, groups)))


def reproduces(checks: list[dict]) -> list[str]:
    """The claims of the paper a chapter reproduces (its reproduced findings of origin "paper")."""
    return [
        c["claim"]
        for c in checks
        if c.get("kind") == "finding"
        and c.get("origin", "paper") == "paper"
        and c["status"] == "reproduced"
    ]


def reproduced_count(checks: list[dict]) -> str:
    """ "2 of 3": the paper's findings a chapter reproduces, of those it tests ("—" for none tested), as the
    introduction's chapter table and the README state them."""
    n = sum(
        c.get("kind") == "finding" and c.get("origin", "paper") == "paper"
        for c in checks
    )
    return f"{len(reproduces(checks))} of {n}" if n else "—"


CHAPTER_CELL = (
    "{{reproduced:{chapter}}}"  # the introduction's placeholder for a chapter's count
)


def fill_intro(text: str, chapters: list[str], results_dir: Path) -> str:
    """The introduction with each chapter's :data:`CHAPTER_CELL` replaced by :func:`reproduced_count`
    of this build's results ("not run" where a chapter has none)."""
    records = _load(chapters, results_dir)
    for chapter in chapters:
        count = (
            reproduced_count(records[chapter]["checks"])
            if chapter in records
            else "not run"
        )
        text = text.replace(CHAPTER_CELL.format(chapter=chapter), count)
    return text


def render(
    chapters: list[str],
    results_dir: Path,
    profile: str = "cpu",
    titles: dict[str, str] | None = None,
) -> str:
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
        "Each finding or control has one decisive number per seed; *ours* is its mean ± 2 standard "
        "errors over the seeds. It is **reproduced** when that interval lies entirely on the paper's "
        "side of the paper's threshold, **contradicted** when it lies entirely on the other side, and "
        f"**inconclusive** otherwise or on fewer than {verdicts.MIN_SEEDS} seeds (the explanation says "
        "how many seeds would settle it); **not evaluable** where this setting cannot test the claim. "
        "Only the paper's own findings count as what a chapter reproduces; the book's extensions are "
        "marked as such.",
        "",
        "## Totals",
        "",
    ]
    for chapter in chapters:
        name = f"[{(titles or {}).get(chapter, chapter)}](../notebooks/{chapter}.ipynb)"
        if chapter not in records:
            lines.append(f"- {name}: no results")
            continue
        counts = "; ".join(
            f"{k}: {v}" for k, v in totals(records[chapter]["checks"]).items()
        )
        lines.append(f"- {name}. {counts}.")
    lines += [
        "- **The book**. "
        + "; ".join(f"{k}: {v}" for k, v in totals(every).items())
        + ".",
        "",
    ]
    for chapter in chapters:
        lines += [
            f"## [{(titles or {}).get(chapter, chapter)}](../notebooks/{chapter}.ipynb)",
            "",
        ]
        if chapter not in records:
            lines += ["No results: the chapter did not finish in this build.", ""]
            continue
        checks = records[chapter]["checks"]
        main = [c for c in checks if c.get("kind") != "sanity"]
        sanity = [c for c in checks if c.get("kind") == "sanity"]
        if main:
            lines += [tables.checks_table(main), ""]
        if sanity:
            passing = sum(
                c["status"] == "pass" for c in sanity
            )  # "not evaluated" in smoke
            lines += [
                f"<details><summary>Sanity checks: {passing} of {len(sanity)} passing</summary>",
                tables.checks_table(sanity),
                "</details>",
                "",
            ]
    return "\n".join(lines) + "\n"


def runtime_rows(
    chapter: str, runtimes: dict[str, dict[str, float]]
) -> list[list[str]]:
    """Per profile: budget, latest measured wall time (minutes), and whether it is over budget (a GPU
    profile, not measured: its estimate, :func:`rlhfbook.book.gpu_sizing.estimate`)."""
    measured = runtimes.get(chapter, {})
    rows = []
    for profile, budget in profiles.budget_minutes(chapter).items():
        if profile in measured:
            minutes = measured[profile] / 60
            flag = "over budget" if minutes > budget else "within budget"
            rows.append([profile, f"{budget:g}", f"{minutes:.1f}", flag])
        elif profile in profiles.GPU_PROFILES:  # never measured on a GPU yet
            estimate = gpu_sizing.estimate(chapter, profile)
            rows.append(
                [
                    profile,
                    f"{budget:g}",
                    "not run in this build",
                    f"estimated {estimate}",
                ]
            )
        else:
            rows.append([profile, f"{budget:g}", "not run in this build", ""])
    return rows


RUNTIME_HEADER = ("profile", "budget (min)", "latest measured (min)", "")


def measured_runtimes() -> dict[str, dict[str, float]]:
    """Wall times of the latest ``rlhfbook run`` per chapter and profile, in seconds.

    The same file the status page reads; ``rlhfbook build`` re-renders the runtime table in each
    executed chapter from it, so a chapter shows the wall time of the run it comes from.
    """
    path = Path(os.environ.get("RLHFBOOK_RUNTIMES", "results/runtimes.json"))
    return json.loads(path.read_text()) if path.exists() else {}


def runtime_table(chapter: str, runtimes: dict[str, dict[str, float]]) -> str:
    """HTML table of :func:`runtime_rows`, shown at the top of each chapter."""
    return tables.table(RUNTIME_HEADER, runtime_rows(chapter, runtimes))


PROVENANCE = ("chapter", "seed", "commit", "device", "torch", "transformers", "trl")


def provenance(
    records: dict[str, dict],
) -> tuple[tuple[str, ...], list[list[str]], dict[str, str]]:
    """Where and how each chapter ran (:data:`PROVENANCE`), each fact once: the columns whose value
    differs between chapters as a table (header, rows), and those that every chapter shares as
    ``{column: value}``, for one sentence."""
    full = [
        [
            chapter,
            str(r["seed"]),
            (r["git_commit"] or "n/a")[:10],
            str(r["environment"].get("device")),
            *(
                str(r["environment"]["packages"].get(p))
                for p in ("torch", "transformers", "trl")
            ),
        ]
        for chapter, r in records.items()
    ]
    shared = {
        name: full[0][i]
        for i, name in enumerate(PROVENANCE)
        if i > 0 and len(full) > 1 and len({row[i] for row in full}) == 1
    }
    keep = [i for i, name in enumerate(PROVENANCE) if name not in shared]
    return (
        tuple(PROVENANCE[i] for i in keep),
        [[row[i] for i in keep] for row in full],
        shared,
    )


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
    header, rows, shared = provenance(_load(chapters, results_dir))
    peaks = {c: v[profile] for c, v in (gpu_memory or {}).items() if profile in v}
    if shared:
        lines += [
            "Every chapter: "
            + ", ".join(f"{k} `{html.escape(v)}`" for k, v in shared.items())
            + ".",
            "",
        ]
    lines += [
        tables.table(header, [[html.escape(x) for x in row] for row in rows]),
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
            verdict = (
                tables.verdict("fail") + " over budget" if over else "within budget"
            )
            row = [chapter, f"{budget:g}", f"{measured / 60:.1f}", verdict]
        if peaks:
            row.append(
                f"{peaks[chapter] / 1e9:.1f}" if chapter in peaks else "not measured"
            )
        rows.append(row)
    total_budget = sum(profiles.budget_minutes(c)[profile] for c in chapters)
    total = sum(runtimes.get(c, {}).get(profile, 0.0) for c in chapters) / 60
    total_row = [
        "<strong>book</strong>",
        f"{total_budget:g}",
        f"{total:.1f}",
        "sum of chapters",
    ]
    rows.append(
        total_row + ([f"{max(peaks.values()) / 1e9:.1f} (largest)"] if peaks else [])
    )
    header = ("chapter", "budget", "measured", "") + (
        ("peak GPU memory (GB)",) if peaks else ()
    )
    lines += [tables.table(header, rows), ""]
    return "\n".join(lines) + "\n"
