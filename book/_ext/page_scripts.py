"""A Sphinx extension for the book's pages: each script once.

sphinx-thebe registers its configuration script (``const THEBE_JS_URL = ...``) on every
``env-before-read-docs``, which Jupyter Book emits twice, so every page declared the constant
twice and the browser logged a SyntaxError. This keeps the first copy of each script.
"""

from __future__ import annotations

from typing import Any


def _key(script: Any) -> tuple:
    """A script's file (None and "" alike: inline) and attributes (its body among them); not its priority."""
    attributes = getattr(script, "attributes", {})
    return (
        str(getattr(script, "filename", script) or ""),
        tuple(sorted((k, str(v)) for k, v in attributes.items())),
    )


def unique_scripts(scripts: list) -> list:
    """``scripts`` in order, each (file, inline body and attributes) kept once."""
    seen, kept = set(), []
    for script in scripts:
        if (key := _key(script)) not in seen:
            seen.add(key)
            kept.append(script)
    return kept


def _dedupe(app, pagename, templatename, context, doctree) -> None:
    if "script_files" in context:  # in place: other handlers add to the same list
        context["script_files"][:] = unique_scripts(context["script_files"])


def setup(app) -> dict:
    # late: after the handlers that add a page's scripts (MathJax on pages with math)
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
