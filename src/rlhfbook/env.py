"""Seeding, determinism, device choice and quiet library output for the chapters."""

from __future__ import annotations

import logging
import os
import random
import warnings
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported lazily, where it is used
    import torch

# One CPU thread: the book's models are tiny, so a second thread gains little, and a fixed
# count of 1 makes results independent of the machine's core count and immune to the 5-100x
# slow-down that oversubscribed threads cause on a busy 2-core machine.
DEFAULT_THREADS = 1


def seed_everything(seed: int, threads: int | None = None) -> None:
    """Seed python, numpy and torch, and make torch deterministic.

    The thread count is fixed too: CPU reductions split work by thread, so the same seed
    gives bit-identical numbers only with the same number of threads
    (``RLHFBOOK_THREADS`` overrides the default of 1).
    """
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=torch.cuda.is_available())
    # Deterministic mode also NaN-fills every torch.empty (a debugging aid); TRL's fused LM
    # head allocates up to 512 MB per pass, so the fill cost more than the training itself.
    torch.utils.deterministic.fill_uninitialized_memory = False
    n = threads or int(os.environ.get("RLHFBOOK_THREADS", DEFAULT_THREADS))
    if not torch.cuda.is_available():
        torch.set_num_threads(n)


def device() -> torch.device:
    """The GPU when there is one, else the CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def quiet() -> None:
    """Silence library logging, progress bars and known-harmless warnings in notebooks."""
    import datasets  # tqdm's "IProgress not found" warning is filtered on importing rlhfbook
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    datasets.utils.logging.set_verbosity_error()
    logging.getLogger("papermill").setLevel(logging.WARNING)
    for category in (FutureWarning, UserWarning, DeprecationWarning):
        warnings.filterwarnings("ignore", category=category)
    figure_style()


# Figures are shown at the book's column width (about 690 px): at 100 dpi a figure of at most
# 10 inches keeps 11 pt tick labels above 9 px on the page.
MAX_FIGURE_WIDTH_IN = 10.0
FIGURE_STYLE = {"figure.dpi": 100, "font.size": 11, "axes.titlesize": 11, "axes.labelsize": 11,
                "xtick.labelsize": 10.5, "ytick.labelsize": 10.5, "legend.fontsize": 10}


def figure_style() -> None:
    """The book's matplotlib settings (after pyplot is imported, so the inline backend keeps them)."""
    import matplotlib.pyplot as plt

    plt.rcParams.update(FIGURE_STYLE)
