"""A chapter's first code cell, :func:`start_chapter` (re-exported as ``rlhfbook.start_chapter``)."""

from __future__ import annotations

import os

from rlhfbook.book import profiles, scorecard
from rlhfbook.book.colab import RestartRequired
from rlhfbook.core import environment, parallel, runtime
from rlhfbook.core.errors import ParameterError
from rlhfbook.lm import memory, models
from rlhfbook.report.results import Results


def start_chapter(
    chapter: str, profile: str, seed: int, *, threads: int | None = None, **overrides
):
    """A chapter's first code cell in one call; returns ``(P, results)``.

    In this order: set the process environment (:func:`rlhfbook.core.environment.prepare`: hub
    access for the profile, quiet libraries) and, in a notebook, show the book's one-line errors
    (:func:`show_errors_as_one_line`); resolve the chapter's settings in ``profile`` with the
    parameters cell's ``overrides`` (:func:`rlhfbook.book.profiles.resolve`: ``None`` keeps the
    profile's value, an unknown name raises the one-line :class:`~rlhfbook.core.errors.ParameterError`);
    find every external model and dataset the settings name, before any training, with hub access as
    the profile sets it (:func:`rlhfbook.lm.models.resolve_external`: a missing one is one line); on a
    GPU, check that chapter 1's or 3's PPO fits it (:func:`rlhfbook.lm.memory.check_fits`); seed
    python, numpy and torch and fix the thread count (:func:`rlhfbook.core.runtime.seed_everything`,
    with ``threads``); silence library output (:func:`rlhfbook.core.runtime.quiet`); create the
    :class:`~rlhfbook.report.results.Results` recorder, which records the parameters (``profile``,
    ``seed`` and the overrides, as passed); and, in a notebook, show the chapter's runtime table
    (:func:`rlhfbook.book.scorecard.runtime_table`). Used by every chapter.
    """
    environment.prepare(profile)
    show_errors_as_one_line()
    profiles.check_types(chapter, {"seed": seed})
    P = profiles.resolve(chapter, profile, **overrides)
    profiles.check_accelerator(chapter, profile)
    os.environ[parallel.SETTINGS_ENV] = parallel.settings_key(
        chapter, profile, seed, dict(P)
    )
    models.resolve_external(P)
    memory.check_fits(P, profiles.spec(chapter))
    runtime.seed_everything(seed, threads=threads)
    runtime.quiet()
    results = Results(P, seed, parameters=dict(profile=profile, seed=seed, **overrides))
    if environment.ipython_shell() is not None:
        # deferred: IPython is only there in a kernel
        from IPython.display import HTML
        from IPython.display import display as show

        show(HTML(scorecard.runtime_table(P.chapter, scorecard.measured_runtimes())))
    return P, results


def show_errors_as_one_line() -> None:
    """In a notebook, show a bad profile or parameter, an fp16 overflow or a needed restart as one line, not a traceback."""
    shell = environment.ipython_shell()
    if shell is None:
        return

    def handler(shell, etype, evalue, tb, tb_offset=None):
        shell._showtraceback(etype, evalue, [f"{etype.__name__}: {evalue}"])

    shell.set_custom_exc(
        (ParameterError, runtime.HalfPrecisionOverflow, RestartRequired), handler
    )
