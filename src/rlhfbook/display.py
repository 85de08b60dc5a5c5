"""What a chapter shows its reader besides plots: the real source of src functions, runtimes."""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path

from . import profiles


def show_source(*objects: object) -> None:
    """Display the source of functions or classes from ``src/rlhfbook`` as a code block.

    Chapters show the tested code this way instead of a second copy of it.
    """
    from IPython.display import Markdown, display

    for obj in objects:
        module = inspect.getmodule(obj).__name__
        display(Markdown(f"`{module}.{obj.__qualname__}`\n\n```python\n{inspect.getsource(obj)}```"))


def measured_runtimes() -> dict[str, dict[str, float]]:
    """Wall times of the latest `rlhfbook run` per chapter and profile, in seconds."""
    path = Path(os.environ.get("RLHFBOOK_RUNTIMES", "results/runtimes.json"))
    return json.loads(path.read_text()) if path.exists() else {}


def runtime_table(chapter: str):
    """Budget and latest measured wall time of ``chapter`` per profile (a DataFrame)."""
    import pandas as pd

    measured = measured_runtimes().get(chapter, {})
    rows = [
        {
            "profile": p,
            "budget (min)": budget,
            "latest measured (min)": round(measured[p] / 60, 1) if p in measured else "not run yet",
        }
        for p, budget in profiles.budget_minutes(chapter).items()
    ]
    return pd.DataFrame(rows).set_index("profile")
