"""RLHF, Measured: the machinery behind the book's chapters.

Importing the package switches the Hugging Face hub to offline mode (``HF_HUB_OFFLINE=1``)
unless the reader opts in with ``RLHFBOOK_ONLINE=1`` or runs on Colab: the book's default
``cpu`` profile never downloads anything, and an accidental hub lookup fails at once
instead of after a minute of DNS retries. Import ``rlhfbook`` before ``transformers``.

The ``gpu`` profile has hub access on by default: a chapter's first cell calls
:func:`rlhfbook.models.resolve_external` with its profile, which records the profile in
``RLHFBOOK_PROFILE`` and turns the hub on for ``gpu`` (:func:`set_hub_access`; the hub
libraries are not imported yet at that point, and their offline flags are updated if they
are). ``RLHFBOOK_ONLINE=0`` keeps every profile offline (a GPU machine without network).
"""

import os
import sys
import warnings

__version__ = "0.1.0"


# Profiles whose hub access is on by default (smoke and cpu never download anything).
ONLINE_PROFILES = ("gpu", "gpu-full")


def online(profile: str | None = None) -> bool:
    """True when hub downloads are allowed.

    ``RLHFBOOK_ONLINE=1`` allows and ``RLHFBOOK_ONLINE=0`` forbids them everywhere; otherwise
    they are allowed on Colab and in the GPU profiles (:data:`ONLINE_PROFILES`) (``profile``, else the chapter's
    profile recorded in ``RLHFBOOK_PROFILE``).
    """
    flag = os.environ.get("RLHFBOOK_ONLINE")
    if flag in ("0", "1"):
        return flag == "1"
    profile = profile or os.environ.get("RLHFBOOK_PROFILE")
    return "google.colab" in sys.modules or profile in ONLINE_PROFILES


_WE_SET_OFFLINE = (
    "_RLHFBOOK_SET_HF_HUB_OFFLINE"  # marks an HF_HUB_OFFLINE this package set
)


def set_hub_access(allowed: bool) -> None:
    """Turn hub downloads on or off for this process (and the workers it starts).

    Sets ``HF_HUB_OFFLINE`` (only ever removing a value this package set, never the user's own)
    and, when ``huggingface_hub`` or ``datasets`` are already imported, their offline flags,
    which they otherwise read once at import time.
    """
    if allowed:
        if os.environ.pop(_WE_SET_OFFLINE, None) is not None:
            os.environ.pop("HF_HUB_OFFLINE", None)
    elif "HF_HUB_OFFLINE" not in os.environ:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ[_WE_SET_OFFLINE] = "1"
    offline = os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")
    if "huggingface_hub.constants" in sys.modules:
        sys.modules["huggingface_hub.constants"].HF_HUB_OFFLINE = offline
    if "datasets.config" in sys.modules:
        config = sys.modules["datasets.config"]
        config.HF_HUB_OFFLINE = config.HF_DATASETS_OFFLINE = offline


set_hub_access(online())
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
# tqdm.auto warns (with its file path) in a kernel without ipywidgets; the book's loops use
# rlhfbook.book.progress, which picks a bar or a summary line itself.
warnings.filterwarnings("ignore", message="IProgress not found")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def ipython_shell():
    """The running IPython shell (a notebook kernel), or None outside one."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def start_chapter(
    chapter: str, profile: str, seed: int, *, threads: int | None = None, **overrides
):
    """A chapter's first code cell in one call; returns ``(P, results)``.

    In this order: resolve the chapter's settings in ``profile`` with the parameters cell's
    ``overrides`` (:func:`rlhfbook.book.profiles.resolve`: ``None`` keeps the profile's value, an
    unknown name raises the one-line :class:`~rlhfbook.book.profiles.ParameterError`); find every
    external model and dataset the settings name, before any training, with hub access as the
    profile sets it (:func:`rlhfbook.models.resolve_external`: a missing one is one line); on a GPU,
    check that chapter 1's or 3's PPO fits it (:func:`rlhfbook.memory.check_fits`); seed python,
    numpy and torch and fix the thread count (:func:`rlhfbook.book.runtime.seed_everything`, with
    ``threads``); silence library output (:func:`rlhfbook.book.runtime.quiet`); create the
    :class:`~rlhfbook.book.results.Results` recorder, which records the parameters (``profile``,
    ``seed`` and the overrides, as passed); and, in a notebook, show the chapter's runtime table
    (:func:`rlhfbook.book.display.runtime_table`). Used by every chapter.
    """
    from rlhfbook import memory, models
    from rlhfbook.book import display, parallel, profiles, runtime
    from rlhfbook.book.results import Results

    profiles.check_types(chapter, {"seed": seed})
    P = profiles.resolve(chapter, profile, **overrides)
    profiles.check_accelerator(chapter, profile)
    os.environ[parallel.SETTINGS_ENV] = parallel.settings_key(
        chapter, profile, seed, dict(P)
    )
    models.resolve_external(P)
    memory.check_fits(P)
    runtime.seed_everything(seed, threads=threads)
    runtime.quiet()
    results = Results(P, seed, parameters=dict(profile=profile, seed=seed, **overrides))
    if ipython_shell() is not None:
        from IPython.display import display as show

        show(display.runtime_table(P.chapter))
    return P, results


def _one_line_errors() -> None:
    """In a notebook, show a bad profile or parameter, an fp16 overflow or a needed restart as one line, not a traceback."""
    shell = ipython_shell()
    if shell is None:
        return
    from rlhfbook.book.colab import RestartRequired
    from rlhfbook.book.profiles import ParameterError  # models.ModelUnavailable is one too
    from rlhfbook.book.runtime import HalfPrecisionOverflow

    def handler(shell, etype, evalue, tb, tb_offset=None):
        shell._showtraceback(etype, evalue, [f"{etype.__name__}: {evalue}"])

    shell.set_custom_exc(
        (ParameterError, HalfPrecisionOverflow, RestartRequired), handler
    )


_one_line_errors()
