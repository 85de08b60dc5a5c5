"""Repository hygiene: notebook pairs, pins, book configuration."""

import json
import re
import tomllib

import yaml
from packaging.requirements import Requirement

from rlhfbook.book import chapters, cli, profiles


def _pins(root):
    pins = {}
    for line in (root / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def test_notebook_pairs_are_in_sync_output_free_and_complete(root):
    assert cli.check(root) == []


def test_a_broken_notebook_is_reported(root, tmp_path):
    import shutil

    fake = tmp_path / "repo"
    shutil.copytree(root / "book", fake / "book")
    shutil.copytree(root / "notebooks", fake / "notebooks")
    shutil.copy(root / "_config.yml", fake / "_config.yml")
    nb_path = fake / "notebooks" / "00_toy_world.ipynb"
    nb = json.loads(nb_path.read_text())
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi"}]
    code["source"] = "print('edited only in the ipynb')"
    del nb["metadata"]["colab"]
    nb_path.write_text(json.dumps(nb))
    problems = " ".join(chapters.notebook_problems(fake, "00_toy_world"))
    assert (
        "out of sync" in problems
        and "carries outputs" in problems
        and "Colab-only install cell" in problems
    )
    assert "needs a 'colab' entry" in problems


def test_every_toc_chapter_has_a_profile_table(root):
    assert set(chapters.toc_chapters(root)) <= set(profiles.chapters())


def test_pins_agree_across_pyproject_constraints_and_environment(root):
    pins = _pins(root)
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    requirements = [
        Requirement(r)
        for r in project["dependencies"] + project["optional-dependencies"]["book"]
    ]
    for req in requirements:
        assert req.name.lower() in pins, (
            f"{req.name} has no exact pin in constraints.txt"
        )
        assert req.specifier.contains(pins[req.name.lower()], prereleases=True), (
            f"{req.name}=={pins[req.name.lower()]} violates {req}"
        )
    env = yaml.safe_load((root / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    env_pins = {p.split("==")[0].lower(): p.split("==")[1] for p in pip if "==" in p}
    assert env_pins == pins
    assert pins["torch"] == "2.13.0"
    assert re.fullmatch(r"1\.\d+\.\d+(\.post\d+)?", pins["jupyter-book"])


def test_book_configuration(root):
    config = yaml.safe_load((root / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
    assert config["only_build_toc_files"] is True
    assert config["bibtex_bibfiles"] == ["book/references.bib"]
    assert (
        config["launch_buttons"]["colab_url"]
        and config["launch_buttons"]["binderhub_url"]
    )
    assert config["repository"]["url"].startswith("https://github.com/")


def test_ci_runs_the_readme_test_command(root):
    ci = (root / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci and "make test" in ci
    assert "make lint" in ci and ci.index("make lint") < ci.index(
        "make test"
    )  # lint first: it takes seconds
    assert (
        "make test" in (root / "README.md").read_text()
        and "make book" in (root / "README.md").read_text()
    )


def test_a_check_without_a_kind_is_reported():
    code = 'results.check("a", kind="finding", claim="c", paper="p")\nresults.check("b", claim="c", paper="p")'
    assert chapters.check_call_problems(code) == [
        "check 'b' (line 2) has no kind: finding, control or sanity"
    ]


def test_the_first_cell_passes_every_parameter_once_to_start_chapter():
    params = 'profile = "cpu"\nseed = 0\nmodel_name = None\nn_envs = None'
    good = (
        'import rlhfbook\nP, results = rlhfbook.start_chapter("04_x", profile, seed, threads=1, '
        "model_name=model_name, n_envs=n_envs)"
    )
    assert chapters.start_call_problems("04_x", params, good) == []
    assert chapters.start_call_problems(
        "04_x", params, good.replace("n_envs=n_envs", "n_envs=3, lr=lr")
    ) == [
        "parameter(s) n_envs of the parameters cell must reach start_chapter as name=name",
        "start_chapter gets lr, which the parameters cell does not declare",
    ]
    assert chapters.start_call_problems(
        "04_x", params, good.replace('"04_x", profile, seed', '"00_y", profile, 0')
    ) == [
        'start_chapter\'s arguments must be rlhfbook.start_chapter("04_x", profile, seed, ...)'
    ]
    old_style = (
        'P = profiles.resolve("04_x", profile, model_name=model_name, n_envs=n_envs)'
    )
    assert chapters.start_call_problems("04_x", params, old_style) == [
        'the cell after the parameters cell must call rlhfbook.start_chapter("04_x", profile, seed, ...) once'
    ]


def test_chapters_import_no_private_names(root):
    """A chapter uses the package's public API: nothing it imports from rlhfbook starts with ``_``."""
    import ast

    private = []
    for py in sorted((root / "notebooks").glob("*.py")):
        for node in ast.walk(ast.parse(py.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "rlhfbook"
            ):
                private += [
                    f"{py.name}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_")
                ]
    assert private == []


def test_every_module_says_which_chapters_use_it(root):
    import ast

    missing = []
    for path in sorted((root / "src" / "rlhfbook").rglob("*.py")):
        if path.name == "__main__.py":
            continue
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if not re.search(r"\b[Cc]hapters?\b", doc):
            missing.append(str(path.relative_to(root)))
    assert not missing, f"module docstrings that name no chapter: {missing}"


def _code(source, tags=()):
    return {"cell_type": "code", "source": source, "metadata": {"tags": list(tags)}}


def _md(source):
    return {"cell_type": "markdown", "source": source, "metadata": {}}


def test_a_figure_is_placed_numbered_with_alt_text_and_caption():
    good = [
        _code('display.figure(grid_figure(x), "grid")', ["remove-cell"]),
        _md(
            "```{glue:figure} grid\n:name: fig-grid\n:alt: bars of correlations\n\nThe caption.\n```"
        ),
    ]
    assert chapters.figure_problems(good) == []


def test_figure_problems_name_each_missing_part():
    untagged = [
        _code('display.figure(f, "grid")'),
        _md("```{glue:figure} grid\n:name: fig-grid\n:alt: a\n\nC.\n```"),
    ]
    assert chapters.figure_problems(untagged) == [
        "cell 0: the cell showing figure 'grid' needs the tag remove-cell"
    ]
    for markdown in (
        "*Figure: the caption.*",  # not placed
        "```{glue:figure} grid\n:name: fig-grid\n\nC.\n```",  # no alt text
        "```{glue:figure} grid\n:name: fig-grid\n:alt: a\n```",  # no caption
        "```{glue:figure} other\n:name: fig-other\n:alt: a\n\nC.\n```",  # another figure
    ):
        problems = chapters.figure_problems(
            [_code('display.figure(f, "grid")', ["remove-cell"]), _md(markdown)]
        )
        assert problems == [
            "cell 1: figure 'grid' needs a Markdown cell starting with "
            "```{glue:figure} grid, :name: fig-grid, :alt: and a caption"
        ], markdown
    assert chapters.figure_problems([_code("plot(x)\nplt.show()")]) == [
        'cell 0: show a figure with display.figure(fig, "name"), not plt.show()'
    ]
    shown_twice = [_code('display.figure(f, "grid")\nplt.show()', ["remove-cell"])]
    assert chapters.figure_problems(shown_twice) == [
        'cell 0: a figure cell ends with one display.figure(fig, "name") and nothing else'
    ]


def _bibliography(root):
    """{key: {(surname, year), ...}} of book/references.bib."""
    entries = {}
    for key, body in re.findall(
        r"@\w+\{([^,]+),(.*?)\n\}", (root / "book" / "references.bib").read_text(), re.S
    ):
        authors = re.search(r"author\s*=\s*\{(.*)\},\s*\n", body).group(1)
        year = re.search(r"year\s*=\s*\{(\d{4})\}", body).group(1)
        names = [a.split(",")[0].strip(" {}") for a in re.split(r"\s+and\s+", authors)]
        entries[key] = {(n, year) for n in names}
    return entries


def _prose(root):
    """(file, text) of every page and every chapter's Markdown cells."""
    pages = [(p.name, p.read_text()) for p in sorted((root / "book").glob("*.md"))]
    for nb in sorted((root / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        pages.append(
            (
                nb.name,
                "\n".join(
                    "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
                ),
            )
        )
    return pages


def test_every_citation_resolves_and_every_work_named_in_the_prose_is_in_the_bibliography(
    root,
):
    bib = _bibliography(root)
    authored = set().union(*bib.values())
    named = re.compile(
        r"([A-Z][\w-]+)(?: et al\.| (?:&|and) [A-Z][\w-]+),?\s+\(?((?:19|20)\d\d)\b"
    )
    for name, text in _prose(root):
        for key in re.findall(r"\{(?:foot)?cite(?::\w+)?\}`([^`]+)`", text):
            for k in key.split(","):
                assert k.strip() in bib, (
                    f"{name}: cites {k.strip()!r}, which book/references.bib lacks"
                )
        for surname, year in named.findall(" ".join(text.split())):
            assert (surname, year) in authored, (
                f"{name}: names {surname} ({year}) in the prose; cite it from book/references.bib"
            )


def test_visible_code_counts_untagged_non_blank_lines():
    cells = [
        _code("a = 1\n\nb = 2\n"),
        _md("text"),
        _code("x = 1\ny = 2", ["hide-input"]),
        _code("z = 3", ["remove-cell"]),
        _code("w = 4", ["parameters"]),
    ]
    assert chapters.visible_code_lines(cells) == {0: 2, 4: 1}


def test_code_length_limits_a_cell_and_the_chapter():
    long_cell = _code("\n".join(f"x{i} = {i}" for i in range(31)))
    assert chapters.code_length_problems([long_cell], total=150, per_cell=30) == [
        "cell 0: 31 visible code lines (at most 30 a cell): move harness code into "
        "src or tag the cell hide-input"
    ]
    assert chapters.code_length_problems([long_cell], total=30, per_cell=31) == [
        "31 visible code lines (at most 30 a chapter)"
    ]
    folded = _code(long_cell["source"], ["hide-input"])
    assert chapters.code_length_problems([folded], total=1, per_cell=1) == []


def test_every_chapter_keeps_to_the_code_limits(root):
    for chapter in chapters.toc_chapters(root):
        nb = json.loads((root / "notebooks" / f"{chapter}.ipynb").read_text())
        assert chapters.code_length_problems(nb["cells"]) == [], chapter


def test_every_chapter_hides_the_path_that_results_finish_returns(root):
    """``results.finish()`` returns the results file's path; a cell that ends with it bare shows the
    reader a ``PosixPath`` with a machine path (the browser test finds it only after a whole build)."""
    for path in sorted((root / "notebooks").glob("*.py")):
        lines = [line.rstrip() for line in path.read_text().splitlines()]
        assert "results.finish()" not in lines, f"{path.name}: end it with ';'"
