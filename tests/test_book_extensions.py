"""The book's own Sphinx extensions (book/_ext): scripts once per page, figures numbered per chapter."""

import sys

import pytest

from conftest import ROOT


@pytest.fixture(scope="module")
def ext():
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    import chapter_figures
    import page_scripts

    yield page_scripts, chapter_figures
    sys.path.remove(str(ROOT / "book" / "_ext"))


def test_each_script_is_kept_once_in_order_whatever_its_priority(ext):
    from sphinx.builders.html._assets import _JavaScript

    page_scripts, _ = ext
    thebe = dict(body="const THEBE_JS_URL = 'x'")
    scripts = [
        _JavaScript(None, priority=500, **thebe),
        _JavaScript("a.js", priority=500),
        _JavaScript("", priority=800, **thebe),  # the same inline script again
        _JavaScript(
            "a.js", priority=500, defer="defer"
        ),  # another script: other attributes
    ]
    assert page_scripts.unique_scripts(scripts) == [scripts[0], scripts[1], scripts[3]]


def test_chapter_figures_are_numbered_within_their_chapter_in_page_order(ext):
    _, chapter_figures = ext
    numbers = {
        "book/intro": {"figure": {"logo": (1,)}},
        "notebooks/00_toy_world": {"figure": {"a": (1,), "b": (2,)}},
        "notebooks/02_dpo_ranking": {
            "figure": {"late": (5,), "early": (3,)},
            "table": {"t": (1,)},
        },
    }
    assert chapter_figures.chapter_numbers(numbers) == [
        "notebooks/00_toy_world",
        "notebooks/02_dpo_ranking",
    ]
    assert numbers["notebooks/02_dpo_ranking"] == {
        "figure": {"early": (2, 1), "late": (2, 2)},
        "table": {"t": (2, 1)},
    }
    assert numbers["notebooks/00_toy_world"]["figure"] == {"a": (0, 1), "b": (0, 2)}
    assert numbers["book/intro"] == {"figure": {"logo": (1,)}}
