"""One renderer for every table a reader sees: chapter check tables, "Paper vs this book"
tables and the scorecard.

Tables are plain HTML with inline styles, so they look the same in the built book, in
Jupyter and in Colab: they take the column's width, wrap long text instead of cutting it
("…"), and format numbers to four significant digits. Verdicts are a word on a coloured
background, readable without emoji fonts.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from rlhfbook.report.verdicts import Interval, summary

VERDICT_COLOURS = {
    "reproduced": "#1a7f37",
    "pass": "#1a7f37",
    "inconclusive": "#9a6700",
    "contradicted": "#cf222e",
    "fail": "#cf222e",
    "not evaluable": "#57606a",
    "not evaluated": "#6e7781",
}
ORIGIN_LABELS = {"paper": "the paper's claim", "extension": "this book's extension"}
KIND_ORDER = {"finding": 0, "control": 1, "sanity": 2}
_TABLE = (
    'style="width:100%;table-layout:fixed;border-collapse:collapse;font-size:0.85em"'
)
_CELL = 'style="vertical-align:top;padding:3px 5px;border-bottom:1px solid #d0d7de;overflow-wrap:break-word;white-space:normal"'
_HEAD = 'style="text-align:left;padding:3px 5px;border-bottom:2px solid #8c959f;overflow-wrap:break-word;hyphens:auto"'


def fmt(value: Any) -> str:
    """A value as short readable text: floats to 4 significant digits, mappings as ``name: value``."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "—" if not math.isfinite(value) else f"{value:.4g}"
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return fmt(value.item())
        except (ValueError, AttributeError):
            pass
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {fmt(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value)
    return str(value)


def verdict(status: str) -> str:
    """HTML badge of a check's status."""
    colour = VERDICT_COLOURS.get(status, "#6e7781")
    return (
        f'<span style="background:{colour};color:#fff;padding:0 4px;border-radius:3px;'
        f'display:inline-block;line-height:1.3">{html.escape(status)}</span>'
    )


def evidence(check: Mapping[str, Any]) -> str:
    """ "0.62 ± 0.05 over 8 seeds (needs ≥ 0.5)": mean ± 2 SE against the paper's threshold, or a
    sanity check's value."""

    value = check.get("value")
    if check.get("se") is None or not isinstance(value, (int, float)):
        text = fmt(value)
        if check.get("threshold") is not None:
            text += f" (needs {'≥' if check.get('direction', '>=') == '>=' else '≤'} {fmt(check['threshold'])})"
        return text
    iv = Interval(
        value,
        check.get("sd") or 0.0,
        check["se"],
        check["n"],
        check.get("unit", "seed"),
    )
    return summary(iv, check.get("threshold"), check.get("direction", ">="))


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[int] | None = None,
) -> str:
    """An HTML table of already-escaped cells, fixed to the column's width."""
    cols = "".join(f'<col style="width:{w}%">' for w in widths) if widths else ""
    head = "".join(f"<th {_HEAD}>{h}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td {_CELL}>{c}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table {_TABLE}><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _muted(text: str) -> str:
    return f'<br><span style="color:#57606a">{text}</span>'


def _claim_cell(check: Mapping[str, Any]) -> str:
    """The claim in a sentence, whose it is, the paper's number, and why it is not reproduced."""
    kind = check.get("kind", "?")
    whose = (
        f"{kind}, {ORIGIN_LABELS[check['origin']]}"
        if kind == "finding" and check.get("origin")
        else kind
    )
    cell = html.escape(check.get("claim", "")) + _muted(
        f"<em>{html.escape(whose)}</em> · paper: {html.escape(check.get('paper', ''))}"
    )
    for text in (check.get("explanation"), check.get("context")):
        if text:
            cell += f'<br><span style="color:#24292f">{html.escape(text)}</span>'
    more = []
    ours = check.get("ours")
    if ours not in (None, "", {}):
        more.append(f"ours: {html.escape(fmt(ours))}")
    if check.get("rule"):
        more.append(f"rule: {html.escape(check['rule'])}")
    if more:
        cell += f"<details><summary>the numbers</summary>{'<br>'.join(more)}</details>"
    return cell


def check_rows(checks: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """Rows of :func:`checks_table`: the verdict with ours against the threshold, then the claim."""
    return [
        [f"{verdict(c['status'])}<br>{html.escape(evidence(c))}", _claim_cell(c)]
        for c in checks
    ]


CHECK_HEADER = ("verdict: ours, mean ± 2 SE", "claim")
CHECK_WIDTHS = (30, 70)


def checks_table(checks: Sequence[Mapping[str, Any]]) -> str:
    """HTML of a list of checks (as recorded by :mod:`rlhfbook.report.results`), findings first."""
    ordered = sorted(checks, key=lambda c: KIND_ORDER.get(c.get("kind"), 3))
    return table(CHECK_HEADER, check_rows(ordered), CHECK_WIDTHS)


def checks_html(checks: Sequence[Mapping[str, Any]]):
    """:func:`checks_table` as a displayable IPython object."""
    from IPython.display import HTML

    return HTML(checks_table(checks))


def frame(df, index: bool = True):
    """A pandas DataFrame as a displayable HTML table: no truncation, numbers formatted."""
    from IPython.display import HTML

    names = " / ".join(str(n) for n in df.index.names if n is not None)
    header = ([html.escape(names)] if index else []) + [
        html.escape(str(c)) for c in df.columns
    ]
    rows = []
    for key, row in df.iterrows():
        cells = [html.escape(fmt(v)) for v in row.tolist()]
        rows.append(
            ([f"<strong>{html.escape(fmt(key))}</strong>"] if index else []) + cells
        )
    return HTML(table(header, rows))
