"""The book's chapters: where they are, and whether each notebook pair is in shape.

A chapter is a jupytext pair ``notebooks/NN_name.py`` (py:percent, the source) +
``notebooks/NN_name.ipynb`` (committed without outputs). The chapters of the book, in
order, are the notebooks listed in ``book/_toc.yml``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from rlhfbook.book.profiles import GPU_CHAPTERS, assigned_names

COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
COLAB_CELL_MARK = 'if "google.colab" in sys.modules:'


class NotARepository(RuntimeError):
    """The current directory is not inside the book's repository."""


def repo_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding ``book/_toc.yml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "book" / "_toc.yml").is_file() and (
            folder / "_config.yml"
        ).is_file():
            return folder
    raise NotARepository(
        f"not inside the book's repository (no book/_toc.yml above {here})"
    )


def toc_chapters(root: Path) -> list[str]:
    """Chapter names (``NN_name``) listed in ``book/_toc.yml``, in book order."""
    toc = yaml.safe_load((root / "book" / "_toc.yml").read_text())
    names = []

    def walk(node):
        if isinstance(node, dict):
            file = node.get("file", "")
            if file.startswith("notebooks/"):
                names.append(file.removeprefix("notebooks/").removesuffix(".ipynb"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return names


def resolve_chapters(root: Path, requested: list[str]) -> list[str]:
    """Map requested names (full ``NN_name`` or just ``NN``) to chapters; [] means all."""
    known = toc_chapters(root)
    if not requested:
        return known
    out = []
    for name in requested:
        matches = [c for c in known if c == name or c.split("_")[0] == name]
        if len(matches) != 1:
            raise ValueError(
                f"unknown chapter {name!r}; valid chapters: {', '.join(known)}"
            )
        out.append(matches[0])
    return out


def _repository(root: Path) -> dict:
    return yaml.safe_load((root / "_config.yml").read_text())["repository"]


def colab_url(root: Path, chapter: str) -> str:
    """The Colab address of the committed notebook, from ``_config.yml``'s repository."""
    repo = _repository(root)
    slug = repo["url"].removeprefix("https://github.com/").rstrip("/")
    return f"https://colab.research.google.com/github/{slug}/blob/{repo['branch']}/notebooks/{chapter}.ipynb"


def install_spec(root: Path) -> str:
    """What the Colab cell installs by default: the package from the repository."""
    repo = _repository(root)
    return f"rlhfbook @ git+{repo['url']}@{repo['branch']}"


def _cells(ipynb: dict) -> list[dict]:
    return ipynb.get("cells", [])


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def colab_cell_source(root: Path, chapter: str) -> str:
    """The source of the chapter's Colab-only install cell."""
    nb = json.loads((root / "notebooks" / f"{chapter}.ipynb").read_text())
    for cell in _cells(nb):
        if cell["cell_type"] == "code" and COLAB_CELL_MARK in _source(cell):
            return _source(cell)
    raise ValueError(f"{chapter}: no Colab install cell")


def title(root: Path, chapter: str) -> str:
    """The chapter's title: the first heading of its notebook."""
    nb = json.loads((root / "notebooks" / f"{chapter}.ipynb").read_text())
    first = next((_source(c) for c in _cells(nb) if c["cell_type"] == "markdown"), "")
    return (
        first.splitlines()[0].lstrip("# ").strip()
        if first.startswith("# ")
        else chapter
    )


def notebook_problems(root: Path, chapter: str) -> list[str]:
    """Everything wrong with a chapter's notebook pair ([] when it is in shape)."""
    import jupytext

    py, ipynb = (
        root / "notebooks" / f"{chapter}.py",
        root / "notebooks" / f"{chapter}.ipynb",
    )
    if not py.is_file() or not ipynb.is_file():
        return [f"{chapter}: needs both {py.name} and {ipynb.name}"]
    problems = []
    nb = json.loads(ipynb.read_text())
    from_py = jupytext.read(py)
    if [(_source(c), c["cell_type"]) for c in _cells(nb)] != [
        (c.source, c.cell_type) for c in from_py.cells
    ]:
        problems.append(
            f"{chapter}: {py.name} and {ipynb.name} are out of sync (run `jupytext --sync {py}`)"
        )
    for i, cell in enumerate(_cells(nb)):
        if cell["cell_type"] == "code" and (
            cell.get("outputs") or cell.get("execution_count")
        ):
            problems.append(
                f"{chapter}: cell {i} of {ipynb.name} carries outputs (commit it without outputs)"
            )

    wants_gpu = chapter in GPU_CHAPTERS
    if (
        "colab" not in nb.get("metadata", {})
        or (nb["metadata"].get("accelerator") == "GPU") != wants_gpu
    ):
        problems.append(
            f"{chapter}: the notebook metadata needs a 'colab' entry"
            + (
                " and accelerator GPU (its gpu profile wants one)"
                if wants_gpu
                else " and no accelerator"
            )
        )
    cells = _cells(nb)
    first_md = next((_source(c) for c in cells if c["cell_type"] == "markdown"), "")
    if (
        not first_md.startswith("# ")
        or COLAB_BADGE not in first_md
        or colab_url(root, chapter) not in first_md
    ):
        problems.append(
            f"{chapter}: the first markdown cell must hold the title and the Colab badge linking to {colab_url(root, chapter)}"
        )
    code = [_source(c) for c in cells if c["cell_type"] == "code"]
    if not any(COLAB_CELL_MARK in s and install_spec(root) in s for s in code):
        problems.append(
            f"{chapter}: no Colab-only install cell installing {install_spec(root)!r}"
        )
    params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if (
        len(params) != 1
        or not re.search(r'^profile = "cpu"', _source(params[0]), re.M)
        or not re.search(r"^seed = 0", _source(params[0]), re.M)
    ):
        problems.append(
            f'{chapter}: needs one cell tagged "parameters" with profile = "cpu" and seed = 0'
        )
    if len(params) == 1:
        after = cells[cells.index(params[0]) + 1 :]
        first = next((_source(c) for c in after if c["cell_type"] == "code"), "")
        problems += [
            f"{chapter}: {p}"
            for p in start_call_problems(chapter, _source(params[0]), first)
        ]
    if not any(
        c["cell_type"] == "markdown"
        and re.match(r"## (\d+\. )?Reproduction checks", _source(c))
        for c in cells
    ):
        problems.append(f"{chapter}: no '## Reproduction checks' section")
    if not any("results.finish()" in s for s in code):
        problems.append(f"{chapter}: no cell calling results.finish()")
    problems += [f"{chapter}: {p}" for p in check_call_problems("\n".join(code))]
    problems += [f"{chapter}: {p}" for p in figure_problems(cells)]
    problems += [f"{chapter}: {p}" for p in code_length_problems(cells)]
    problems += [
        f"{chapter}: cell {i} (an exercise's solution) needs the tag hide-cell: folded, output included"
        for i, c in enumerate(cells)
        if c["cell_type"] == "code"
        and _source(c).startswith("# Solution")
        and "hide-cell" not in c.get("metadata", {}).get("tags", [])
    ]
    return problems


HIDDEN_CODE_TAGS = frozenset({"remove-cell", "remove-input", "hide-input", "hide-cell"})
MAX_VISIBLE_LINES = 150
MAX_CELL_LINES = 30


def visible_code_lines(cells: list[dict]) -> dict[int, int]:
    """Lines of code a reader sees, per code cell (by index): the non-blank lines of each
    code cell that no tag in :data:`HIDDEN_CODE_TAGS` folds or removes."""
    return {
        i: sum(1 for line in _source(c).splitlines() if line.strip())
        for i, c in enumerate(cells)
        if c["cell_type"] == "code"
        and not HIDDEN_CODE_TAGS & set(c.get("metadata", {}).get("tags", []))
    }


def code_length_problems(
    cells: list[dict],
    total: int = MAX_VISIBLE_LINES,
    per_cell: int = MAX_CELL_LINES,
) -> list[str]:
    """A chapter reads like a textbook section: at most ``total`` visible code lines in
    all (:func:`visible_code_lines`) and at most ``per_cell`` in any one cell. Harness
    code lives in ``src``; purely mechanical cells are tagged ``hide-input``."""
    lines = visible_code_lines(cells)
    problems = [
        f"cell {i}: {n} visible code lines (at most {per_cell} a cell): move harness "
        "code into src or tag the cell hide-input"
        for i, n in lines.items()
        if n > per_cell
    ]
    if sum(lines.values()) > total:
        problems.append(
            f"{sum(lines.values())} visible code lines (at most {total} a chapter)"
        )
    return problems


_FIGURE_CALL = re.compile(r"display\.figure\(.*?,\s*\"([\w-]+)\",?\s*\)\s*$", re.S)
_GLUE_FIGURE = re.compile(
    r"```\{glue:figure\} ([\w-]+)\n:name: fig-([\w-]+)\n:alt: \S.*\n\n\S"
)


def figure_problems(cells: list[dict]) -> list[str]:
    """A chapter's figures are numbered and captioned: each cell that shows one
    (:func:`rlhfbook.report.display.figure`) is tagged ``remove-cell`` and the next cell places it
    with ``{glue:figure}``, its ``:name: fig-<name>``, ``:alt:`` text and a caption."""
    problems = []
    for i, cell in enumerate(cells):
        src = _source(cell)
        if (
            cell["cell_type"] == "code"
            and "plt.show()" in src
            and "display.figure(" not in src
        ):
            problems.append(
                f'cell {i}: show a figure with display.figure(fig, "name"), not plt.show()'
            )
        if cell["cell_type"] != "code" or "display.figure(" not in src:
            continue
        if (
            "plt.show()" in src
            or src.count("display.figure(") > 1
            or not (m := _FIGURE_CALL.search(src))
        ):
            problems.append(
                f'cell {i}: a figure cell ends with one display.figure(fig, "name") and nothing else'
            )
            continue
        name = m.group(1)
        if "remove-cell" not in cell.get("metadata", {}).get("tags", []):
            problems.append(
                f"cell {i}: the cell showing figure {name!r} needs the tag remove-cell"
            )
        after = (
            _source(cells[i + 1])
            if i + 1 < len(cells) and cells[i + 1]["cell_type"] == "markdown"
            else ""
        )
        placed = _GLUE_FIGURE.match(after)
        if not placed or placed.groups() != (name, name):
            problems.append(
                f"cell {i + 1}: figure {name!r} needs a Markdown cell starting with "
                f"```{{glue:figure}} {name}, :name: fig-{name}, :alt: and a caption"
            )
    return problems


def start_call_problems(chapter: str, parameters: str, first_cell: str) -> list[str]:
    """What is wrong with the code cell after the parameters cell: it must call
    ``rlhfbook.start_chapter("<chapter>", profile, seed, name=name, ...)`` once, passing every
    other name of the parameters cell under its own name (``threads=`` aside)."""
    import ast

    want = f'rlhfbook.start_chapter("{chapter}", profile, seed, ...)'
    try:
        tree = ast.parse(first_cell)
    except SyntaxError:
        return [
            f"the cell after the parameters cell does not parse; it must call {want}"
        ]
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr == "start_chapter"
        and isinstance(n.func.value, ast.Name)
        and n.func.value.id == "rlhfbook"
    ]
    if len(calls) != 1:
        return [f"the cell after the parameters cell must call {want} once"]
    (call,) = calls
    args = [
        a.value
        if isinstance(a, ast.Constant)
        else a.id
        if isinstance(a, ast.Name)
        else None
        for a in call.args
    ]
    problems = (
        []
        if args == [chapter, "profile", "seed"]
        else [f"start_chapter's arguments must be {want}"]
    )
    passed = {
        k.arg: k.value.id if isinstance(k.value, ast.Name) else None
        for k in call.keywords
        if k.arg != "threads"
    }
    declared = [n for n in assigned_names(parameters) if n not in ("profile", "seed")]
    missing = [n for n in declared if passed.get(n) != n]
    extra = [n for n in passed if n not in declared]
    if missing:
        problems.append(
            f"parameter(s) {', '.join(missing)} of the parameters cell must reach start_chapter as name=name"
        )
    if extra:
        problems.append(
            f"start_chapter gets {', '.join(extra)}, which the parameters cell does not declare"
        )
    return problems


def check_call_problems(code: str) -> list[str]:
    """``results.check(...)`` calls of a chapter that name no ``kind`` (finding / control / sanity)."""
    import ast

    problems = []
    for node in ast.walk(ast.parse(code)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "check"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "results"
            and not any(k.arg == "kind" for k in node.keywords)
        ):
            name = (
                node.args[0].value
                if node.args and isinstance(node.args[0], ast.Constant)
                else "?"
            )
            problems.append(
                f"check {name!r} (line {node.lineno}) has no kind: finding, control or sanity"
            )
    return problems
