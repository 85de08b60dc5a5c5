"""RLHF, Measured: the machinery behind the book's chapters.

Importing the package switches the Hugging Face hub to offline mode (``HF_HUB_OFFLINE=1``)
unless the reader opts in with ``RLHFBOOK_ONLINE=1`` or runs on Colab: the book's default
``cpu`` profile never downloads anything, and an accidental hub lookup fails at once
instead of after a minute of DNS retries. Import ``rlhfbook`` before ``transformers``.
"""

import os
import sys
import warnings

__version__ = "0.1.0"


def online() -> bool:
    """True when hub downloads are allowed (``RLHFBOOK_ONLINE=1`` or running on Colab)."""
    return os.environ.get("RLHFBOOK_ONLINE") == "1" or "google.colab" in sys.modules


if not online():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
# tqdm.auto warns (with its file path) in a kernel without ipywidgets; the book's loops use
# rlhfbook.progress, which picks a bar or a summary line itself.
warnings.filterwarnings("ignore", message="IProgress not found")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def ipython_shell():
    """The running IPython shell (a notebook kernel), or None outside one."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def start_chapter(chapter: str, profile: str, seed: int, *, threads: int | None = None, **overrides):
    """A chapter's first code cell in one call; returns ``(P, results)``.

    In this order: resolve the chapter's settings in ``profile`` with the parameters cell's
    ``overrides`` (:func:`rlhfbook.profiles.resolve`: ``None`` keeps the profile's value, an
    unknown name raises the one-line :class:`~rlhfbook.profiles.ParameterError`); seed python,
    numpy and torch and fix the thread count (:func:`rlhfbook.env.seed_everything`, with
    ``threads``); silence library output (:func:`rlhfbook.env.quiet`); create the
    :class:`~rlhfbook.results.Results` recorder, which records the parameters (``profile``,
    ``seed`` and the overrides, as passed); and, in a notebook, show the chapter's runtime table
    (:func:`rlhfbook.display.runtime_table`). Used by every chapter.
    """
    from . import display, env, profiles
    from .results import Results

    P = profiles.resolve(chapter, profile, **overrides)
    env.seed_everything(seed, threads=threads)
    env.quiet()
    results = Results(P, seed, parameters=dict(profile=profile, seed=seed, **overrides))
    if ipython_shell() is not None:
        from IPython.display import display as show

        show(display.runtime_table(P.chapter))
    return P, results


def _one_line_errors() -> None:
    """In a notebook, show a bad profile or parameter as one line, not a traceback."""
    shell = ipython_shell()
    if shell is None:
        return
    from .profiles import ParameterError

    def handler(shell, etype, evalue, tb, tb_offset=None):
        shell._showtraceback(etype, evalue, [f"{etype.__name__}: {evalue}"])

    shell.set_custom_exc((ParameterError,), handler)


_one_line_errors()
