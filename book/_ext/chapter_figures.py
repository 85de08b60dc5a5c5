"""A Sphinx extension for the book's chapters: figures numbered within their chapter.

Sphinx numbers figures through the whole book (chapter 2's first figure was "Fig. 4"). A
chapter's notebook is ``notebooks/NN_name``; its figures become Fig. NN.1, NN.2, ... in page
order, as in a textbook (chapter 0's are Fig. 0.1, ...).
"""

from __future__ import annotations

import re

CHAPTER = re.compile(r"^notebooks/(\d+)_")


def chapter_numbers(
    fignumbers: dict[str, dict[str, dict[str, tuple[int, ...]]]],
) -> list[str]:
    """Renumber ``fignumbers`` (Sphinx's ``env.toc_fignumbers``: docname -> figure type -> id ->
    number) in place: each chapter's figures of each type become (chapter, 1), (chapter, 2), ...
    in their order on the page. Returns the chapters' docnames."""
    changed = []
    for docname, by_type in fignumbers.items():
        if not (m := CHAPTER.match(docname)):
            continue
        for numbers in by_type.values():
            for k, figure_id in enumerate(sorted(numbers, key=numbers.get), start=1):
                numbers[figure_id] = (int(m.group(1)), k)
        changed.append(docname)
    return changed


def _renumber(app, env) -> list[str]:
    return chapter_numbers(env.toc_fignumbers)


def setup(app) -> dict:
    # after Sphinx's own numbering (priority 500) of the same event
    app.connect("env-get-updated", _renumber, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
