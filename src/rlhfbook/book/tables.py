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

VERDICT_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "not reproduced": "#bc4c00", "not evaluated": "#6e7781"}
KIND_ORDER = {"finding": 0, "control": 1, "sanity": 2}
_TABLE = 'style="width:100%;table-layout:fixed;border-collapse:collapse;font-size:0.85em"'
_CELL = 'style="vertical-align:top;padding:3px 5px;border-bottom:1px solid #d0d7de;overflow-wrap:anywhere;white-space:normal"'
_HEAD = 'style="text-align:left;padding:3px 5px;border-bottom:2px solid #8c959f;overflow-wrap:anywhere"'


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
    """ "value ≥ threshold" (or the value alone when the check has no numeric threshold)."""
    value = fmt(check.get("value"))
    if check.get("threshold") is None:
        return value
    sign = "≥" if check.get("direction", ">=") == ">=" else "≤"
    return f"{value} (needs {sign} {fmt(check['threshold'])})"


def margin(check: Mapping[str, Any]) -> str:
    """ "+0.09 ± 0.03 over 3 seeds": the signed margin (positive = holds) and the spread."""
    n = len(check.get("seeds") or [])
    over = f" over {n} seed{'s' * (n != 1)}" if n else ""
    if check.get("margin") is None:
        return f"—{over}" if n else "—"
    text = f"{check['margin']:+.3g}"
    if check.get("spread") is not None:
        text += f" ± {check['spread']:.2g}"
    return text + over


def table(header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int] | None = None) -> str:
    """An HTML table of already-escaped cells, fixed to the column's width."""
    cols = "".join(f'<col style="width:{w}%">' for w in widths) if widths else ""
    head = "".join(f"<th {_HEAD}>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td {_CELL}>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table {_TABLE}><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _claim_cell(check: Mapping[str, Any]) -> str:
    cell = html.escape(check.get("claim", ""))
    ours = check.get("ours")
    if ours not in (None, "", {}):
        cell += f'<br><span style="color:#57606a">ours: {html.escape(fmt(ours))}</span>'
    if check.get("rule"):
        cell += f'<br><span style="color:#57606a">rule: {html.escape(check["rule"])}</span>'
    if check.get("explanation"):
        label = "why not reproduced" if check["status"] == "not reproduced" else "why"
        cell += f"<details><summary>{label}</summary>{html.escape(check['explanation'])}</details>"
    return cell


def check_rows(checks: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """Rows of :func:`checks_table`: verdict, check and kind, claim, evidence, margin."""
    return [
        [
            verdict(c["status"]),
            f"{html.escape(c['name'])}<br><em>{c.get('kind', '?')}</em>",
            _claim_cell(c),
            html.escape(evidence(c)),
            html.escape(margin(c)),
        ]
        for c in checks
    ]


CHECK_HEADER = ("verdict", "check", "claim", "ours (threshold)", "margin ± spread")
CHECK_WIDTHS = (14, 18, 36, 16, 16)


def checks_table(checks: Sequence[Mapping[str, Any]]) -> str:
    """HTML of a list of checks (as recorded by :mod:`rlhfbook.book.results`), findings first."""
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
    header = ([html.escape(names)] if index else []) + [html.escape(str(c)) for c in df.columns]
    rows = []
    for key, row in df.iterrows():
        cells = [html.escape(fmt(v)) for v in row.tolist()]
        rows.append(([f"<strong>{html.escape(fmt(key))}</strong>"] if index else []) + cells)
    return HTML(table(header, rows))
