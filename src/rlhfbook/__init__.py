"""RLHF, Measured: the machinery behind the book's chapters.

The package is layered; each folder imports only from the folders listed before it (an
import-linter contract in ``make lint`` enforces it):

* :mod:`rlhfbook.core` -- the process: seeds, threads, dtypes, progress, parallel runs, hub access, errors;
* :mod:`rlhfbook.lm` -- language-model plumbing: sampling, loading models, adapters, memory plans;
* :mod:`rlhfbook.tasks` -- environments with gold scores (the toy world, code with unit tests, ranking data);
* :mod:`rlhfbook.methods` -- the papers' algorithms; they know no chapter and no profile;
* :mod:`rlhfbook.testing` -- test support: stand-in models built in code;
* :mod:`rlhfbook.report` -- a chapter's contract with the book: its spec type, results, verdicts,
  tables and display;
* :mod:`rlhfbook.chapters` -- one package per chapter: its spec, harness and figures;
* :mod:`rlhfbook.book` -- the runner and publishing: profiles, scorecard, ``start_chapter``, the CLI.

Importing the package changes nothing in the process: a chapter's first cell,
``rlhfbook.start_chapter``, sets the environment the book needs
(:func:`rlhfbook.core.environment.prepare`).
"""

from rlhfbook.core import __version__

__all__ = ["__version__", "start_chapter"]


def __getattr__(name: str):
    """``rlhfbook.start_chapter``, imported on first use so that ``import rlhfbook`` stays light."""
    if name == "start_chapter":
        from rlhfbook.book.start import start_chapter  # deferred: it imports torch

        return start_chapter
    raise AttributeError(f"module 'rlhfbook' has no attribute {name!r}")
