"""What a chapter shows: numbered figures and quoted numbers stored for the book (myst-nb glue)."""

import matplotlib.pyplot as plt
import myst_nb
import pytest

from rlhfbook.report import display


@pytest.fixture
def glued(monkeypatch):
    store = {}
    monkeypatch.setattr(
        myst_nb, "glue", lambda name, obj, display: store.update({name: (obj, display)})
    )
    return store


def test_figure_is_glued_shown_and_closed(glued):
    fig, _ = plt.subplots()
    display.figure(fig, "grid")
    assert glued == {"grid": (fig, True)} and not plt.fignum_exists(fig.number)


def test_quote_stores_each_number_without_showing_it(glued):
    display.quote(check_beta=0.1, n=3)
    assert glued == {"check_beta": (0.1, False), "n": (3, False)}


def test_without_myst_nb_a_figure_is_only_shown(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_myst(name, *args, **kwargs):
        if name == "myst_nb":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    shown = []
    monkeypatch.setattr(builtins, "__import__", no_myst)
    monkeypatch.setattr("IPython.display.display", shown.append)
    fig, _ = plt.subplots()
    display.figure(fig, "grid")
    display.quote(check_beta=0.1)
    assert shown == [fig] and not plt.fignum_exists(fig.number)


def test_note_figure_says_why_in_words():
    fig = display.note_figure("No probe on real models: toy world only.")
    assert [t.get_text() for t in fig.axes[0].texts] == [
        "No probe on real models: toy world only."
    ]
    assert not fig.axes[0].axison
    plt.close(fig)


def test_quote_stores_numpy_scalars_as_python_numbers(glued):
    import numpy as np

    display.quote(r=np.float64(0.25), n=np.int64(3))
    assert glued == {"r": (0.25, False), "n": (3, False)}
    assert type(glued["r"][0]) is float and type(glued["n"][0]) is int
