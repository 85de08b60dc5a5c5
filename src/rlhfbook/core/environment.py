"""The process environment the book runs in: hub access, quiet libraries, the notebook shell.

Nothing here runs at import. :func:`prepare` sets the environment, called explicitly by
:func:`rlhfbook.start_chapter` (a chapter's first cell), by the CLI and by the script entry points:

* hub access (``HF_HUB_OFFLINE``): off unless the reader opts in with ``RLHFBOOK_ONLINE=1``, runs
  on Colab or in a GPU profile (:func:`online`). The ``cpu`` profile never downloads anything, and
  an accidental hub lookup fails at once instead of after a minute of DNS retries. The hub
  libraries' offline flags are updated if they are already imported (:func:`set_hub_access`);
  ``RLHFBOOK_ONLINE=0`` keeps every profile offline (a GPU machine without network);
* TRL's experimental-API notice and tokenizers' fork warning are silenced; so is tqdm's warning
  in a kernel without ipywidgets (the book's loops use :mod:`rlhfbook.core.progress`).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

# The profiles sized for one GPU: ``gpu`` for a free Colab T4 in 45 minutes a chapter (its verdicts rest
# on the seeds that fit), ``gpu-full`` for one 80 GB GPU in two hours with the seeds the verdict rule
# needs (:mod:`rlhfbook.book.gpu_sizing` has the arithmetic). Their hub access is on by default.
GPU_PROFILES: tuple[str, ...] = ("gpu", "gpu-full")

_WE_SET_OFFLINE = (
    "_RLHFBOOK_SET_HF_HUB_OFFLINE"  # marks an HF_HUB_OFFLINE this package set
)


def online(profile: str | None = None) -> bool:
    """True when hub downloads are allowed.

    ``RLHFBOOK_ONLINE=1`` allows and ``RLHFBOOK_ONLINE=0`` forbids them everywhere; otherwise
    they are allowed on Colab and in the GPU profiles (:data:`GPU_PROFILES`) (``profile``, else the
    chapter's profile recorded in ``RLHFBOOK_PROFILE``).
    """
    flag = os.environ.get("RLHFBOOK_ONLINE")
    if flag in ("0", "1"):
        return flag == "1"
    profile = profile or os.environ.get("RLHFBOOK_PROFILE")
    return "google.colab" in sys.modules or profile in GPU_PROFILES


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


def prepare(profile: str | None = None) -> None:
    """Set the environment the book runs in (module docstring): hub access for ``profile``, quiet libraries."""
    set_hub_access(online(profile))
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore", message="IProgress not found")


def cache_root() -> Path:
    """The folder of cached base policies, trained players and saved runs (``$RLHFBOOK_CACHE``)."""
    return Path(os.environ.get("RLHFBOOK_CACHE", ".cache/rlhfbook"))


def ipython_shell():
    """The running IPython shell (a notebook kernel), or None outside one."""
    try:
        from IPython import get_ipython  # deferred: IPython is only there in a kernel
    except ImportError:
        return None
    return get_ipython()
