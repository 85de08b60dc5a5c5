"""The HTML book builds from the executed chapters, with its scorecard and Colab links."""

import json
import re
from html import escape as html_escape

import pytest

from conftest import ROOT, rlhfbook_cli
from rlhfbook.book import chapters, cli


@pytest.mark.book
def test_the_book_builds_with_every_chapter_and_the_scorecard():
    run = rlhfbook_cli(
        "run", "--profile", "cpu"
    )  # skips chapters already executed and unchanged
    assert run.returncode == 0, run.stdout[-4000:]
    done = rlhfbook_cli("build", "--profile", "cpu", timeout=1200)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    html = ROOT / "_build" / "html"
    assert "_build/html/index.html" in done.stdout and (html / "index.html").exists()
    scorecard = (html / "book" / "scorecard.html").read_text()
    for chapter in chapters.toc_chapters(ROOT):
        page = (html / "notebooks" / f"{chapter}.html").read_text()
        assert "<img" in page and ".png" in page, f"{chapter}: no figure"
        assert chapters.colab_url(ROOT, chapter) in page, (
            f"{chapter}: no Colab link to the committed notebook"
        )
        record = json.loads(
            (cli.results_dir("cpu", ROOT) / f"{chapter}.json").read_text()
        )
        for check in record["checks"]:  # each check by its claim, as a sentence
            claim = check["claim"]
            assert html_escape(claim) in scorecard or claim in scorecard, (
                f"scorecard misses {chapter}: {check['name']}"
            )
    status = (html / "book" / "status.html").read_text()
    assert re.search(r"Status of this build", status)
    assert all(chapter in status for chapter in chapters.toc_chapters(ROOT))
