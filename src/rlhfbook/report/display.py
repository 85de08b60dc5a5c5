"""What a chapter shows its reader: the real source of src functions, numbered figures, tables, verdicts."""

from __future__ import annotations

import inspect

from rlhfbook.report.tables import frame
from rlhfbook.report.verdicts import sentence


def show_source(*objects: object) -> None:
    """Display the source of functions or classes from ``src/rlhfbook`` as a code block.

    Chapters show the tested code this way instead of a second copy of it.
    """
    from IPython.display import Markdown, display

    for obj in objects:
        module = inspect.getmodule(obj).__name__
        display(
            Markdown(
                f"`{module}.{obj.__qualname__}`\n\n```python\n{inspect.getsource(obj)}```"
            )
        )


def figure(fig, name: str) -> None:
    """Show ``fig`` and store it under ``name`` for the book's numbered figure.

    The chapter shows the figure where it is made (in Colab, in Jupyter) and stores it in the
    notebook with myst-nb's ``glue``; the book drops the making cell (tag ``remove-cell``) and shows
    the figure once, numbered and captioned, where the next Markdown cell places it:
    ```{glue:figure} name`` with ``:name: fig-name``, ``:alt:`` and the caption. Without myst-nb
    (Colab installs the package without the book's tools) the figure is only shown.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    try:
        from myst_nb import glue
    except ImportError:
        display(fig)
    else:
        glue(name, fig, display=True)
    plt.close(fig)


def note_figure(text: str):
    """A figure that says, in ``text``, why a figure is not drawn in this run (e.g. a toy-world
    diagnostic on real models), so that the book's numbered figure stays in place."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=11, wrap=True)
    return fig


def quote(**values: object) -> None:
    """Store numbers of the run for the prose: the book writes ``{glue:text}`name``` (or
    ``{glue:text}`name:.2f```) where the text quotes one, so the page shows the value this run
    produced. Nothing is shown in the notebook, and nothing happens without myst-nb."""
    try:
        from myst_nb import glue
    except ImportError:
        return
    for name, value in values.items():
        # a numpy scalar's text is "np.float64(0.5)", which {glue:text}`name:.2f` cannot
        # format: store the Python number
        glue(name, value.item() if hasattr(value, "item") else value, display=False)


def table(df, index: bool = True):
    """Show a DataFrame the way every table of the book is shown (:func:`rlhfbook.report.tables.frame`):
    full width, long text wrapped rather than cut, numbers to four significant digits."""

    return frame(df, index=index)


def verdict_sentences(checks: list) -> str:
    """Markdown: one line per finding and control of a chapter's :class:`~rlhfbook.report.results.Check`
    list, its claim, verdict and mean ± 2 SE (:func:`rlhfbook.report.verdicts.sentence`)."""
    from dataclasses import asdict

    return "\n".join(f"- {sentence(asdict(c))}" for c in checks if c.kind != "sanity")
