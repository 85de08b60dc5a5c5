"""Figures of chapter 1 (Secrets of RLHF I: PPO vs PPO-max): the reward model probed off its
training distribution, proxy vs gold reward during PPO (the paper's Fig. 4), the drift
indicators (Figs. 4, 13) with each seed's win rate vs SFT (Fig. 10), and the gold lost per channel.
Each function draws one figure and returns it; colours come from
:data:`rlhfbook.chapters.ch01_ppo_max.overoptimisation.COLOURS`, so a configuration has one colour on every figure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rlhfbook.chapters.ch01_ppo_max.overoptimisation import COLOURS, TERMS
from rlhfbook.lm import rollout


def probe(
    tok, prompt: str, words: Sequence[str], proxy_fn: Callable, gold_fn: Callable
):
    """Responses made of the first 1, 2, ... ``words`` (each ended with EOS): their lengths in
    words, and the reward model's (``proxy_fn``) and gold (``gold_fn``) score of each."""

    resp = [" ".join(words[:k]) for k in range(1, len(words) + 1)]
    ids = [
        tok(r, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for r in resp
    ]
    r = rollout.rollout_from_ids(tok, [prompt] * len(resp), ids)
    return np.arange(1, len(resp) + 1), proxy_fn(r).numpy(), gold_fn(r).numpy()


def plot_probe(
    task, tok, proxy_fn: Callable, gold_fn: Callable, topic: str = "food", n: int = 10
):
    """Proxy and gold reward of responses of growing length made of a topic's ``n`` best words,
    distinct (left) and the best one repeated (right): off the reward model's training data."""
    prompt = task.prompt(topic)
    best = sorted(task.word_utilities(prompt).items(), key=lambda kv: -kv[1])
    distinct = [w for w, _ in best[:n]]
    repeated = [distinct[0]] * n
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
    for a, words, title in (
        (ax[0], distinct, "distinct best words"),
        (ax[1], repeated, f"'{distinct[0]}' repeated"),
    ):
        k, prox, gold = probe(tok, prompt, words, proxy_fn, gold_fn)
        a.plot(k, prox, "o-", label="reward model (proxy)")
        a.plot(k, gold, "s-", label="gold reward")
        a.set_title(f"{prompt!r}: {title}")
        a.set_xlabel("response length (words)")
    ax[0].set_ylabel("reward")
    ax[0].legend()
    fig.suptitle("Off its training distribution the proxy pays for what gold punishes")
    plt.tight_layout()
    return fig


def integer_iterations(ax) -> None:
    """Whole-number ticks on an axis of PPO iterations."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_reward_curves(
    proxy_c: Mapping[str, np.ndarray],
    gold_c: Mapping[str, np.ndarray],
    sft_gold: float,
    names: Sequence[str],
):
    """Proxy (solid) and gold (dashed) reward per PPO iteration, one panel per configuration
    (the paper's Fig. 4): thin lines seeds, thick lines their mean; dotted: the SFT policy's gold.
    One row of up to three panels, else two rows, so that no panel is empty for 3 or 4 configurations."""
    names = list(names)
    rows = 1 if len(names) <= 3 else 2
    cols = -(-len(names) // rows)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.6 * cols, 3.4 * rows), sharey=True, squeeze=False
    )
    for ax, name in zip(axes.flat, names):
        it = np.arange(gold_c[name].shape[1])
        for ls, arr, label in (
            ("-", proxy_c[name], "proxy (reward model)"),
            ("--", gold_c[name], "gold"),
        ):
            ax.plot(it, arr.T, color=COLOURS[name], ls=ls, lw=0.6, alpha=0.5)
            ax.plot(it, arr.mean(0), color=COLOURS[name], ls=ls, lw=2, label=label)
        ax.axhline(sft_gold, color=COLOURS["SFT"], ls=":", label="SFT gold")
        ax.set_title(name)
        ax.set_xlabel("PPO iteration")
        integer_iterations(ax)
    for ax in axes[:, 0]:
        ax.set_ylabel("mean reward per response")
    axes[0, 0].legend()
    fig.suptitle("Proxy (solid) vs gold (dashed) reward during PPO")
    plt.tight_layout()
    return fig


def short_label(name: str) -> str:
    """A configuration's letter for a tick label: "A", "A+KL", "B", "C"."""
    return name.split(" ", 1)[0] + ("+KL" if "KL penalty only" in name else "")


def plot_drift(
    c: Mapping[str, Mapping[str, np.ndarray]],
    finals: pd.DataFrame,
    names: Sequence[str],
    threshold: float = 0.6,
):
    """The drift indicators the paper watches (Figs. 4, 13): KL to the SFT policy, response
    length and perplexity of the policy's own samples (means over seeds of ``c``: metric ->
    :func:`rlhfbook.chapters.ch01_ppo_max.overoptimisation.curves`), and the held-out gold win rate vs SFT (Fig. 10)
    of every seed, one dot each, with the mean and the check's ``threshold``."""
    names = list(names)
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.4))
    axes = axes.ravel()
    for name in names:
        for ax, metric in zip(axes, ("kl", "length", "perplexity")):
            ax.plot(c[metric][name].mean(0), color=COLOURS[name], label=name)
    for k, name in enumerate(names):
        wins = finals.loc[finals.config == name, "win_rate"].to_numpy()
        axes[3].scatter(
            k + np.linspace(-0.15, 0.15, len(wins)), wins, color=COLOURS[name], s=18
        )
        axes[3].hlines(wins.mean(), k - 0.3, k + 0.3, color=COLOURS[name], lw=2)
    axes[3].axhline(0.5, color="grey", ls=":", label="tie with SFT")
    axes[3].axhline(
        threshold, color="black", ls="--", lw=0.8, label=f"threshold {threshold:g}"
    )
    axes[3].set_xticks(range(len(names)), [short_label(n) for n in names])
    axes[3].legend(loc="lower right")
    axes[0].set(
        title="KL(policy || SFT) per response", ylabel="nats (k1, summed over tokens)"
    )
    axes[1].set(title="Response length", ylabel="characters (incl. EOS)")
    axes[2].set(title="Perplexity of own samples", ylabel="perplexity")
    for ax in axes[:3]:
        ax.set_xlabel("PPO iteration")
        integer_iterations(ax)
    axes[3].set(
        title="Held-out gold win rate vs SFT, per seed",
        xlabel="configuration",
        ylabel="win rate (ties count half)",
        ylim=(0, 1),
    )
    axes[0].legend()
    plt.tight_layout()
    return fig


def plot_channels(table: pd.DataFrame, names: Sequence[str]):
    """Change of each gold term from the gold peak to the end, one bar per configuration and
    term (``table``: :func:`rlhfbook.chapters.ch01_ppo_max.overoptimisation.channel_table`)."""
    names = list(names)
    fig, ax = plt.subplots(figsize=(8, 3.8))
    x = np.arange(len(TERMS))
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        ax.bar(
            x + (k - (len(names) - 1) / 2) * width,
            table.loc[name, list(TERMS)],
            width,
            color=COLOURS[name],
            label=name,
        )
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, TERMS)
    ax.set(
        ylabel="change of the term, peak -> end\n(gold per response)",
        xlabel="gold term",
        title="Where the gold reward goes after its peak (mean over seeds)",
    )
    ax.legend()
    plt.tight_layout()
    return fig
