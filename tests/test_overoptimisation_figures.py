import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from rlhfbook.chapters.ch01_ppo_max import overoptimisation as oo  # noqa: E402
from rlhfbook.chapters.ch01_ppo_max import overoptimisation_figures as figures  # noqa: E402
from rlhfbook.tasks import toyworld  # noqa: E402
from rlhfbook.tasks.toyworld.tokenizer import build_tokenizer  # noqa: E402

NAMES = ["A vanilla PPO", "A + KL penalty only", "B PPO-max"]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_probe_scores_the_first_n_words_as_one_response_each():
    task, tok = toyworld.task("preference"), build_tokenizer()
    n_words = lambda r: torch.tensor([float(len(x.split())) for x in r.responses])  # noqa: E731
    gold_fn = lambda r: oo.gold_scores(task, r)  # noqa: E731
    prompt = task.prompt("food")
    best = [
        w
        for w, _ in sorted(task.word_utilities(prompt).items(), key=lambda kv: -kv[1])[
            :10
        ]
    ]
    k, proxy, gold = figures.probe(tok, prompt, best, n_words, gold_fn)
    assert list(k) == list(range(1, 11)) and list(proxy) == list(
        range(1, 11)
    )  # the responses are 1..10 words
    u = task.word_utilities(prompt)
    expected = [
        sum(u[w] for w in best[:n]) - task.ramble_penalty * max(0, n - 6) for n in k
    ]
    assert gold == pytest.approx(
        expected, abs=1e-5
    )  # the first n words, each ended with EOS
    fig = figures.plot_probe(task, tok, n_words, gold_fn)
    left, right = fig.axes
    assert (
        left.get_xlabel() == right.get_xlabel() == "response length (words)"
        and left.get_ylabel() == "reward"
    )
    assert "repeated" in right.get_title()
    assert np.all(
        np.diff(right.lines[1].get_ydata()) < 0
    )  # repeating the best word only loses gold


def test_reward_curves_have_one_panel_per_configuration_and_no_empty_panel():
    rng = np.random.default_rng(0)
    proxy = {n: rng.normal(size=(3, 7)) for n in NAMES}
    gold = {n: rng.normal(size=(3, 7)) for n in NAMES}
    fig = figures.plot_reward_curves(proxy, gold, -0.5, NAMES)
    axes = fig.axes
    assert [
        a.get_title() for a in axes
    ] == NAMES  # one row of three: no empty fourth panel
    assert (
        axes[0].get_ylabel() == "mean reward per response"
        and axes[2].get_xlabel() == "PPO iteration"
    )
    assert all(
        float(t).is_integer() for t in axes[2].get_xticks()
    )  # iterations are whole numbers
    means = [
        line for line in axes[2].lines if line.get_linewidth() == 2
    ]  # thick lines: the mean over seeds
    assert np.allclose(means[0].get_ydata(), proxy["B PPO-max"].mean(0))
    assert np.allclose(means[1].get_ydata(), gold["B PPO-max"].mean(0))
    assert all(
        line.get_color() == oo.COLOURS["B PPO-max"] for line in axes[2].lines[:-1]
    )
    c = "C PPO-max, no KL"
    four = figures.plot_reward_curves(
        {**proxy, c: proxy[NAMES[2]]}, {**gold, c: gold[NAMES[2]]}, -0.5, [*NAMES, c]
    )
    assert [a.get_title() for a in four.axes] == [
        *NAMES,
        c,
    ]  # two rows of two: again no empty panel


def test_drift_figure_plots_seed_means_and_every_seeds_win_rate():
    c = {
        m: {n: np.full((2, 4), float(k + j)) for j, n in enumerate(NAMES)}
        for k, m in enumerate(["kl", "length", "perplexity"])
    }
    finals = pd.DataFrame(
        {
            "config": [n for n in NAMES for _ in (0, 1)],
            "win_rate": [0.2, 0.4, 0.5, 0.5, 0.7, 0.9],
        }
    )
    fig = figures.plot_drift(c, finals, NAMES)
    kl, length, ppl, wins = fig.axes
    assert (
        kl.get_ylabel() == "nats (k1, summed over tokens)"
        and length.get_ylabel() == "characters (incl. EOS)"
    )
    assert np.allclose(length.lines[2].get_ydata(), 3.0)  # metric 1 + configuration 2
    from matplotlib.collections import PathCollection

    dots = [
        col.get_offsets()[:, 1]
        for col in wins.collections
        if isinstance(col, PathCollection)
    ]  # per seed
    assert [list(d) for d in dots] == [[0.2, 0.4], [0.5, 0.5], [0.7, 0.9]]
    assert [t.get_text() for t in wins.get_xticklabels()] == ["A", "A+KL", "B"]


def test_channel_bars_are_one_per_configuration_and_term():
    table = pd.DataFrame({t: [-1.0, 0.0, 0.5] for t in oo.TERMS}, index=NAMES)
    fig = figures.plot_channels(table, NAMES)
    ax = fig.axes[0]
    assert len(ax.patches) == len(NAMES) * len(oo.TERMS)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(
        oo.TERMS
    ) and ax.get_xlabel() == "gold term"
