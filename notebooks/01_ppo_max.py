# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1. RLHF with PPO, and the PPO-max recipe
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rlhf-measured/rlhf-measured/blob/main/notebooks/01_ppo_max.ipynb)
#
# **The paper's claim.** Zheng et al. {footcite}`zheng2023secrets` take apart the PPO stage of RLHF
# (SFT policy, then a reward model from human preferences, then PPO against that reward model).
# Vanilla PPO is fragile: the reward model's score keeps climbing while the responses get
# worse by human judgement, the policy drifts away from the SFT model and its responses grow
# longer and more repetitive ("pattern collapse"). The paper's recipe **PPO-max** (reward
# normalisation and clipping, a token-level KL penalty, a critic initialised from the reward
# model and pre-trained, value clipping, gradient clipping) stays stable, and of its
# ingredients the *policy constraint*, the token-level KL penalty, matters most.
#
# **What this chapter reproduces, and at what scale.** The whole pipeline in the toy world of
# chapter 0: a 0.5M-parameter character-level SFT policy, a reward model trained with TRL's
# `RewardTrainer` on pairs labelled by simulated raters with a known bias towards long answers,
# and our own PPO loop (`rlhfbook.ppo`) with every PPO-max ingredient as a switch. Because
# the toy world has an exact *gold* reward, "human evaluation" is free: we can watch the proxy
# (reward-model) score and the gold score side by side, and split the gold reward into the
# channels through which a policy loses it. The configurations run from the same SFT policy
# and reward model, on three seeds each: (A) vanilla PPO, (A + KL) vanilla PPO with only the
# KL penalty, (B) PPO-max, run twice as long as vanilla takes to collapse, and, in the `gpu`
# profile, (C) PPO-max without the KL penalty. At the end, TRL's `GRPOTrainer` gets the same
# sampled responses and optimiser steps as A + KL.
#
# **The reward model's blind spot here.** The reward model reads characters and was trained on
# pairs of the SFT policy's answers, which almost never contain strings that are not words or
# words said twice. The raters' length bias is in its data too, but what a policy finds first
# are the strings the reward model never saw: section 5 measures which channel the gold
# reward is lost through.

# %% tags=["hide-input"]
# Colab only: install this book's package (does nothing anywhere else).
import os
import subprocess
import sys

if "google.colab" in sys.modules:
    from importlib.metadata import distributions

    before, imported = {d.metadata["Name"]: d.version for d in distributions()}, set(sys.modules)
    subprocess.check_call(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            os.environ.get("RLHFBOOK_PIP_SPEC", "rlhfbook @ git+https://github.com/rlhf-measured/rlhf-measured@main"),
        ]
    )
    from rlhfbook.book import colab  # prints what pip changed, and asks for a restart if it must

    colab.report_install(before, imported)

# %% tags=["parameters"]
profile = "cpu"  # smoke | cpu | gpu
seed = 0
model_name = None  # policy: a local folder or hub id (gpu profile), or None for the toy SFT policy
reward_model_name = None  # reward model: a local folder or hub id, or None to train one here

# %%
import rlhfbook  # first: switches the HF hub offline
from rlhfbook.book import display, runtime

P, results = rlhfbook.start_chapter(
    "01_ppo_max", profile, seed, model_name=model_name, reward_model_name=reward_model_name
)

# %%
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from rlhfbook import models, overoptimisation, ppo, reward_model, rollout, toyworld
from rlhfbook.book import parallel

task = toyworld.task("preference")
workdir = Path(tempfile.mkdtemp(prefix="ch01_"))
sft_path = P.model_name or toyworld.base_policy("preference", P.base_policy, progress=False)
sft, tok = models.load_policy(sft_path, frozen=True)  # the reference pi_SFT
device = runtime.device()
sft.to(device)
seeds = [seed + i for i in range(P.n_seeds)]
eval_prompts = task.sample_prompts(P.eval_prompts, np.random.default_rng(10_000 + seed))
print(
    f"SFT policy: {models.display_name(sft_path)} ({sum(p.numel() for p in sft.parameters()) / 1e6:.2f}M parameters); "
    f"seeds {seeds}; {P.iterations} PPO iterations (PPO-max: {P.ppo_max_iterations}) x {P.prompts_per_iteration} prompts"
)

# %% [markdown]
# ## 1. The SFT policy and the gold reward
#
# A prompt names a topic (`"food: "`), a response is a few words. The gold reward sums hidden
# per-topic utilities of the *distinct* words, subtracts 0.6 per repeated word and 0.4 per word
# beyond six; a response the policy does not finish with EOS within `max_new_tokens` characters
# gets $-1$ (the "EOS trick" of Huang et al. {footcite}`huang2024nplus`). Some samples of the SFT policy:

# %%
def gold_fn(r):
    return rollout.gold_scores(task, r, no_eos_score=overoptimisation.NO_EOS_SCORE)


torch.manual_seed(seed)
sft_eval = rollout.generate(sft, tok, eval_prompts, max_new_tokens=P.max_new_tokens)
sft_gold = gold_fn(sft_eval)
print(
    pd.DataFrame(
        {"prompt": sft_eval.prompts[:6], "response": sft_eval.responses[:6], "gold": sft_gold[:6].numpy().round(2)}
    ).to_string(index=False)
)
print(
    f"\nSFT policy on {len(eval_prompts)} held-out prompts: gold reward {sft_gold.mean():.3f}, "
    f"length {sft_eval.lengths.float().mean():.1f} characters, EOS rate {sft_eval.has_eos.float().mean():.2f}"
)
results.metric("sft_gold", sft_gold.mean().item());

# %% [markdown]
# ## 2. A reward model from preference pairs, with a built-in bias
#
# Two responses of the SFT policy per prompt go to a simulated rater who prefers $a$ over $b$
# with the Bradley-Terry probability $\sigma\big(g(a) + 0.35\,|a| - g(b) - 0.35\,|b|\big)$,
# where $g$ is the gold reward and $|a|$ the number of words: raters like longer answers, a
# documented bias of human labellers. Repeated words are the minority of the SFT policy's
# samples, and to a rater a repeat costs 0.6 of gold but earns 0.35 as an extra word, so the
# pairs teach the reward model little about repetition. TRL's `RewardTrainer` fits the
# Bradley-Terry loss $-\log\sigma(r(x, y_w) - r(x, y_l))$ with a scalar head on the SFT backbone,
# on the text prompt + response + EOS; our PPO scores its samples on exactly that text.

# %%
display.show_source(reward_model.preference_pairs)

# %%
t0 = time.perf_counter()
if P.reward_model_name:
    rm_path, rm_log = P.reward_model_name, []
else:
    torch.manual_seed(seed)
    if P.preference_dataset:  # gpu: a public preference dataset (a hub id or a local .jsonl)
        pairs = P.preference_dataset
    else:
        pairs = reward_model.preference_pairs(
            sft, tok, task, P.rm_pairs, np.random.default_rng(seed), max_new_tokens=P.max_new_tokens
        )
    rm_path, rm_log = reward_model.train_reward_model(
        sft_path, tok, pairs, workdir / "rm", steps=P.rm_steps, batch_size=32, lr=1e-3, seed=seed
    )
proxy_fn = reward_model.proxy_reward(rm_path, tok, device)  # r_phi, frozen
rm_seconds = time.perf_counter() - t0

# held-out accuracy against the gold ranking (not the biased raters)
torch.manual_seed(seed + 1)
other = rollout.generate(sft, tok, eval_prompts, max_new_tokens=P.max_new_tokens)
g_a, g_b, p_a, p_b = sft_gold, gold_fn(other), proxy_fn(sft_eval), proxy_fn(other)
differ = g_a != g_b
rm_gold_acc = ((p_a > p_b) == (g_a > g_b))[differ].float().mean().item()
rm_corr = float(np.corrcoef(p_a.numpy(), g_a.numpy())[0, 1])
print(
    f"reward model trained in {rm_seconds:.1f} s; accuracy on held-out SFT pairs ranked by gold: "
    f"{rm_gold_acc:.2f}; correlation(proxy, gold) on SFT samples: {rm_corr:.2f}"
)
results.metric("rm_gold_accuracy", rm_gold_acc)
results.metric("rm_gold_correlation", rm_corr);

# %% [markdown]
# Where is the reward model wrong? Probe it off the SFT distribution: take the best words of a
# topic and write responses of growing length, once with distinct words and once repeating the
# best word. The gold reward peaks at six distinct good words and falls for repetitions; the
# reward model has seen neither regime, so nothing in its data says what they are worth.

# %% tags=["hide-input"]
def probe(prompt, words):
    resp = [" ".join(words[:k]) for k in range(1, len(words) + 1)]
    ids = [tok(r, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for r in resp]
    r = rollout.rollout_from_ids(tok, [prompt] * len(resp), ids)
    return np.arange(1, len(resp) + 1), proxy_fn(r).numpy(), gold_fn(r).numpy()


prompt0 = task.prompt("food")
best = sorted(task.word_utilities(prompt0).items(), key=lambda kv: -kv[1])
distinct = [w for w, _ in best[:10]]
repeated = [distinct[0]] * 10
fig, ax = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
for a, words, title in ((ax[0], distinct, "distinct best words"), (ax[1], repeated, f"'{distinct[0]}' repeated")):
    k, prox, gold = probe(prompt0, words)
    a.plot(k, prox, "o-", label="reward model (proxy)")
    a.plot(k, gold, "s-", label="gold reward")
    a.set_title(f"{prompt0!r}: {title}")
    a.set_xlabel("response length (words)")
ax[0].set_ylabel("reward")
ax[0].legend()
fig.suptitle("Off its training distribution the proxy pays for what gold punishes")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 3. PPO for a language model
#
# Each response token is an action. Following the paper (Eq. 19) and the N+ implementation
# details {footcite}`huang2024nplus`, the per-token reward is a KL penalty to the SFT policy, with the
# reward model's score $r_\phi(x, y)$ added at the last token (the EOS):
#
# $$ r_t = -\eta\,\big(\log\pi_\theta(y_t\mid x, y_{<t}) - \log\pi_{\mathrm{SFT}}(y_t\mid x, y_{<t})\big)
#    + \mathbb{1}[t = T]\, \tilde r_\phi(x, y). $$
#
# PPO-max first normalises the score with the running mean and standard deviation of all scores
# seen so far and clips it, $\tilde r = \mathrm{clip}\big((r - \mu)/\sigma, -\delta, \delta\big)$
# (Eq. 18). Advantages come from GAE with the critic $V_\psi$,
# $\delta_t = r_t + \gamma V(s_{t+1}) - V(s_t)$, $\hat A_t = \sum_l (\gamma\lambda)^l\delta_{t+l}$:

# %%
display.show_source(ppo.token_rewards, ppo.shape_scores, ppo.RunningMoments, ppo.gae)

# %% [markdown]
# The policy minimises the clipped surrogate with $\rho_t = \pi_\theta(y_t\mid\cdot)/\pi_{\mathrm{old}}(y_t\mid\cdot)$,
# $L = -\mathbb{E}_t\big[\min(\rho_t\hat A_t, \mathrm{clip}(\rho_t, 1-\epsilon, 1+\epsilon)\hat A_t)\big]$,
# and the critic the clipped value loss
# $\tfrac12\mathbb{E}\big[\max\big((V - \hat R)^2, (\mathrm{clip}(V, V_{\mathrm{old}}\pm\epsilon_v) - \hat R)^2\big)\big]$.
# Rollout and training log-probs come from the same function, so at the first epoch the
# ratio is exactly 1 (a unit test checks it). We log KL with the $k_1$ estimator
# $\log\pi_\theta - \log\pi_{\mathrm{SFT}}$ (summed over the response, i.e. the sequence KL) and
# also $k_3 = (\rho - 1) - \log\rho$ with $\rho = \pi_{\mathrm{SFT}}/\pi_\theta$, which is never negative.

# %%
display.show_source(ppo.policy_loss, ppo.value_loss, ppo.PPOConfig)

# %% [markdown]
# One PPO iteration is *sample, score, select, update*. The `select` hook (all samples by
# default) is where chapter 3's PF-PPO filters samples, without a second copy of the loop:

# %%
display.show_source(ppo.train)

# %% [markdown]
# ## 4. The configurations, three seeds each
#
# All start from the same SFT policy and reward model and see the same prompts per
# iteration. **A, vanilla PPO** keeps only the clipped surrogate, GAE and advantage whitening;
# its critic is the SFT backbone with a fresh value head. **A + KL** is vanilla PPO with the
# token-level KL penalty and nothing else (the same critic too), which isolates the ingredient
# the paper calls the key factor. **B, PPO-max** has every switch, and runs at least twice as
# many iterations as vanilla PPO took to lose a fifth of its peak gold reward on a pilot seed,
# to test that it *stays* stable. **C** is PPO-max without the KL penalty; it runs in the `gpu`
# profile only (no check reads it, and the `cpu` profile has a time budget).

# %%
CONFIGS = {
    "A vanilla PPO": dict(ppo.VANILLA),
    "A + KL penalty only": dict(ppo.VANILLA) | dict(kl_coef=P.kl_coef),
    "B PPO-max": dict(iterations=P.ppo_max_iterations),
} | ({"C PPO-max, no KL": dict(kl_coef=0.0)} if P.run_ppo_max_no_kl else {})
COLOURS = {
    "A vanilla PPO": "C3",
    "A + KL penalty only": "C1",
    "B PPO-max": "C2",
    "C PPO-max, no KL": "C4",
    "TRL GRPO": "C0",
    "SFT": "grey",
}


def config_for(overrides):
    settings = dict(
        iterations=P.iterations,
        prompts_per_iteration=P.prompts_per_iteration,
        max_new_tokens=P.max_new_tokens,
        lr=P.lr,
        kl_coef=P.kl_coef,
        critic_warmup=P.critic_warmup,
    )
    return settings | overrides


def critic_init(overrides):
    """Vanilla PPO's critic (A and A + KL) starts from the SFT policy; PPO-max's from the reward model (Sec. 5.3)."""
    return str(sft_path) if overrides.get("reward_norm") is False else str(rm_path)


switches = [
    "reward_norm",
    "reward_clip",
    "kl_coef",
    "advantage_whiten",
    "advantage_clip",
    "value_clip",
    "critic_warmup",
    "grad_clip",
    "iterations",
]
table = pd.DataFrame(
    {name: {s: getattr(ppo.PPOConfig(**config_for(o)), s) for s in switches} for name, o in CONFIGS.items()}
)
table.loc["critic init"] = [
    "SFT + fresh head" if critic_init(o) == str(sft_path) else "reward model" for o in CONFIGS.values()
]
display.table(table)

# %% [markdown]
# Each run is one call of `overoptimisation.run_ppo`, and the runs (configurations x seeds, and
# the GRPO runs of section 7) are independent, so `parallel.map_runs` spreads them over the
# machine's cores, the longest first so that the cores finish together: every run seeds itself and uses one thread, so the numbers
# are the same as in a serial run.

# %%
display.show_source(overoptimisation.run_ppo)

# %%
runs = [
    overoptimisation.Run(
        name,
        s,
        str(sft_path),
        str(rm_path),
        critic_init(o),
        config_for(o),
        eval_seed=10_000 + seed,
        n_eval=P.eval_prompts,
    )
    for s in seeds
    for name, o in CONFIGS.items()
]
runs.sort(key=lambda r: -r.config["iterations"])  # longest first: the cores finish together
# The TRL GRPO runs of section 7 (their settings are explained there) go in the same batch.
grpo_updates = P.iterations  # as A + KL: every iteration updates the policy (no critic warm-up)
grpo_settings = dict(
    n_prompts=grpo_updates * P.prompts_per_iteration // P.grpo_generations,
    max_steps=grpo_updates * 4,
    num_iterations=4,
    per_device_train_batch_size=P.prompts_per_iteration,
    num_generations=P.grpo_generations,
    max_completion_length=P.max_new_tokens,
    temperature=1.0,
    learning_rate=P.lr,
    beta=P.kl_coef,
    loss_type="grpo",
    lr_scheduler_type="constant",
    max_grad_norm=1.0,
)
grpo_runs = [
    overoptimisation.Run(
        "TRL GRPO",
        s,
        str(sft_path),
        str(rm_path),
        str(sft_path),
        eval_seed=10_000 + seed,
        n_eval=P.eval_prompts,
        grpo=grpo_settings,
    )
    for s in seeds
]
t0 = time.perf_counter()
outs = parallel.map_runs(overoptimisation.train, runs + grpo_runs)
ppo_seconds = time.perf_counter() - t0
outs, grpo_outs = outs[: len(runs)], outs[len(runs) :]
logs = pd.concat(
    [pd.DataFrame(o["log"]).assign(config=o["run"]["name"], seed=o["run"]["seed"]) for o in outs], ignore_index=True
)


def win_rate(gold):
    """Gold win rate against the SFT policy's held-out samples; a tie counts half."""
    gold = torch.as_tensor(gold)
    return ((gold > sft_gold).float() + 0.5 * (gold == sft_gold).float()).mean().item()


finals = pd.DataFrame(
    [
        dict(
            config=o["run"]["name"],
            seed=o["run"]["seed"],
            eval_gold=float(np.mean(o["eval_gold"])),
            win_rate=win_rate(o["eval_gold"]),
            repeat_rate=o["repeat_rate"],
            samples=o["samples"],
        )
        | {f"held-out {t}": v for t, v in o["eval_terms"].items()}
        for o in outs
    ]
)
sec_per_it = logs["seconds"].mean()
print(
    f"{len(runs)} PPO runs and {len(grpo_runs)} GRPO runs in {ppo_seconds:.0f} s on {parallel.default_jobs()} worker(s); "
    f"{sec_per_it:.2f} s per PPO iteration ({P.prompts_per_iteration} samples, 4 epochs)"
)
results.timing("seconds_per_ppo_iteration", sec_per_it);

# %% [markdown]
# The over-optimisation picture. Look at the vanilla panel: the proxy reward (reward model)
# keeps rising while the gold reward turns down. Thin lines are seeds, thick lines the mean
# over seeds (a moving average over 5 iterations, as all curves below).

# %% tags=["hide-input"]
SMOOTH = 5


def curves(metric):
    """config -> array [seeds, iterations] of the smoothed metric."""
    return {
        name: np.stack(
            [overoptimisation.smooth(g[metric], SMOOTH) for _, g in logs[logs.config == name].groupby("seed")]
        )
        for name in CONFIGS
    }


proxy_c, gold_c, kl_c, len_c = curves("proxy_reward"), curves("gold_reward"), curves("kl"), curves("length")
fig, axes = plt.subplots(2, 2, figsize=(10, 6.4), sharey=True)
for ax, name in zip(axes.flat, CONFIGS):
    it = np.arange(gold_c[name].shape[1])
    for ls, arr, label in (("-", proxy_c[name], "proxy (reward model)"), ("--", gold_c[name], "gold")):
        ax.plot(it, arr.T, color=COLOURS[name], ls=ls, lw=0.6, alpha=0.5)
        ax.plot(it, arr.mean(0), color=COLOURS[name], ls=ls, lw=2, label=label)
    ax.axhline(sft_gold.mean().item(), color=COLOURS["SFT"], ls=":", label="SFT gold")
    ax.set_title(name)
for ax in axes.flat[len(CONFIGS) :]:  # C runs in the gpu profile only
    ax.axis("off")
for ax in axes.flat[len(CONFIGS) - 2 : len(CONFIGS)]:
    ax.set_xlabel("PPO iteration")
for ax in axes[:, 0]:
    ax.set_ylabel("mean reward per response")
axes[0, 0].legend()
fig.suptitle("Proxy (solid) vs gold (dashed) reward during PPO")
plt.tight_layout()
plt.show()

# %% [markdown]
# The drift indicators the paper recommends watching: the KL to the SFT policy and the response
# length. Configurations without a KL penalty drift far from the SFT policy.

# %% tags=["hide-input"]
fig, axes = plt.subplots(2, 2, figsize=(10, 6.4))
axes = axes.ravel()
for name in CONFIGS:
    axes[0].plot(kl_c[name].mean(0), color=COLOURS[name], label=name)
    axes[1].plot(len_c[name].mean(0), color=COLOURS[name], label=name)
    axes[2].plot(curves("perplexity")[name].mean(0), color=COLOURS[name], label=name)
wr = finals.groupby("config")["win_rate"]
axes[3].bar(
    range(len(CONFIGS)),
    wr.mean()[list(CONFIGS)],
    yerr=wr.std().fillna(0)[list(CONFIGS)],
    color=[COLOURS[n] for n in CONFIGS],
)
axes[3].axhline(0.5, color="grey", ls=":")
axes[3].set_xticks(
    range(len(CONFIGS)), [n.split(" ", 1)[0] + ("+KL" if "KL penalty only" in n else "") for n in CONFIGS]
)
axes[0].set(title="KL(policy || SFT) per response", xlabel="PPO iteration", ylabel="nats (k1, summed over tokens)")
axes[1].set(title="Response length", xlabel="PPO iteration", ylabel="characters (incl. EOS)")
axes[2].set(title="Perplexity of own samples", xlabel="PPO iteration", ylabel="perplexity")
axes[3].set(
    title="Held-out gold win rate vs SFT", xlabel="configuration", ylabel="win rate (ties count half)", ylim=(0, 1)
)
axes[0].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 5. Through which channel is the gold reward lost?
#
# The gold reward is a sum of terms: the utilities of the distinct known words, $-1$ for each
# string that is not a word, $-0.6$ for each repeated word, $-0.4$ for each word beyond six,
# and $-1$ for a response cut off without EOS. The reward model was trained on pairs of the SFT
# policy's samples, which almost never contain non-words or repeats: strings *outside* its
# training distribution, where nothing taught it their cost. If over-optimisation is the policy
# finding the reward model's blind spots, the gold it loses should be lost through these
# out-of-distribution terms, not through the raters' length bias (rambling). The split is
# exact (a unit test checks that the terms sum to the gold reward):

# %%
display.show_source(overoptimisation.gold_terms)

# %% tags=["hide-input"]
TERM_COLS = [f"gold {t}" for t in overoptimisation.TERMS]


def channel_change(name):
    """Per seed: change of each smoothed gold term from the gold peak to the end of training."""
    rows = []
    for i, (s, g) in enumerate(logs[logs.config == name].groupby("seed")):
        j = int(gold_c[name][i].argmax())
        sm = {c: overoptimisation.smooth(g[c], SMOOTH) for c in TERM_COLS}
        rows.append({"seed": s} | {c.removeprefix("gold "): sm[c][-1] - sm[c][j] for c in TERM_COLS})
    return pd.DataFrame(rows).set_index("seed")


changes = {name: channel_change(name) for name in CONFIGS}


def ood_share(change):
    """Share of the gold lost from the peak to the end that the out-of-distribution terms carry."""
    lost = -change.sum(axis=1)
    return -change[list(overoptimisation.OOD_TERMS)].sum(axis=1) / lost


channel_table = pd.DataFrame({name: c.mean() for name, c in changes.items()}).T
channel_table["gold lost, peak -> end"] = [-c.sum(axis=1).mean() for c in changes.values()]
fig, ax = plt.subplots(figsize=(8, 3.8))
x = np.arange(len(overoptimisation.TERMS))
for k, name in enumerate(CONFIGS):
    width = 0.8 / len(CONFIGS)
    ax.bar(
        x + (k - (len(CONFIGS) - 1) / 2) * width,
        channel_table.loc[name, list(overoptimisation.TERMS)],
        width,
        color=COLOURS[name],
        label=name,
    )
ax.axhline(0, color="black", lw=0.8)
ax.set_xticks(x, overoptimisation.TERMS)
ax.set(
    ylabel="change of the term, peak -> end\n(gold per response)",
    xlabel="gold term",
    title="Where the gold reward goes after its peak (mean over seeds)",
)
ax.legend()
plt.tight_layout()
plt.show()
display.table(channel_table)

# %% [markdown]
# ## 6. What each ingredient changed
#
# End values are the means over the last 5 iterations; the peak is the maximum of the smoothed
# gold curve; all are averaged over seeds.

# %% tags=["hide-input"]
def summary(name):
    g, p = gold_c[name], proxy_c[name]
    peak_it = g.argmax(1)
    f = finals[finals.config == name]
    return {
        "gold peak": g.max(1).mean(),
        "gold end": g[:, -1].mean(),
        "proxy at gold peak": np.mean([p[i, j] for i, j in enumerate(peak_it)]),
        "proxy end": p[:, -1].mean(),
        "KL end (nats)": kl_c[name][:, -1].mean(),
        "length end (chars)": len_c[name][:, -1].mean(),
        "held-out gold": f["eval_gold"].mean(),
        "win rate vs SFT": f["win_rate"].mean(),
        "repeat rate (held-out)": f["repeat_rate"].mean(),
        "non-words per response (held-out)": -f["held-out non-words"].mean(),
    }


ends = pd.DataFrame({name: summary(name) for name in CONFIGS}).T
for name, row in ends.iterrows():
    results.metric(f"end[{name}]", row.to_dict())
display.table(ends)

# %% tags=["hide-input"]
a, akl, b = (ends.loc[n] for n in ("A vanilla PPO", "A + KL penalty only", "B PPO-max"))
REST = "the rest of PPO-max (reward norm and clipping, RM critic, warm-up, value and gradient clipping)"
rows = [
    (
        "token-level KL penalty (Eq. 19), alone",
        "the key constraint",
        "A + KL vs A",
        f"gold end {akl['gold end']:.2f} vs {a['gold end']:.2f}; KL {akl['KL end (nats)']:.2f} vs {a['KL end (nats)']:.2f}",
    ),
    (
        REST + ", on top of the KL penalty",
        "stable training",
        "B vs A + KL",
        f"held-out gold {b['held-out gold']:.2f} vs {akl['held-out gold']:.2f}; win rate {b['win rate vs SFT']:.2f} vs "
        f"{akl['win rate vs SFT']:.2f} (B ran {P.ppo_max_iterations} iterations, A + KL {P.iterations})",
    ),
]
if "C PPO-max, no KL" in CONFIGS:
    c = ends.loc["C PPO-max, no KL"]
    rows += [
        (
            "token-level KL penalty, inside PPO-max",
            "the key constraint",
            "B vs C",
            f"gold end {b['gold end']:.2f} vs {c['gold end']:.2f}; KL {b['KL end (nats)']:.2f} vs {c['KL end (nats)']:.2f}",
        ),
        (
            REST + ", without the KL penalty",
            "stable training",
            "C vs A",
            f"gold end {c['gold end']:.2f} vs {a['gold end']:.2f}; win rate {c['win rate vs SFT']:.2f} vs "
            f"{a['win rate vs SFT']:.2f}",
        ),
    ]
ingredients = pd.DataFrame(rows, columns=["ingredient", "role in the paper", "comparison", "what it changed here"])
display.table(ingredients)

# %% [markdown]
# ## 7. The same budget with TRL's GRPOTrainer
#
# GRPO {footcite}`shao2024deepseekmath` drops the critic: it samples a group of responses per prompt
# and uses the group-normalised reward as every token's advantage. For a fair comparison it gets
# what the PPO run with the KL penalty and the same number of iterations (A + KL) gets: the
# same sampled responses, the same number of optimiser steps (four passes over each batch, TRL's `num_iterations`, like our
# four PPO epochs), the same reward model (it sees prompt + response + EOS, as it was trained),
# the same learning rate, and three seeds. TRL's loss is set to the GRPO paper's
# (`loss_type="grpo"`: per-sequence token means) rather than TRL's default (DAPO's token-level
# normalisation), and its KL term is the GRPO paper's: $k_3$ in the *loss*, with weight
# $\beta = \eta$, where PPO puts $k_1$ into the *reward*.

# %% tags=["hide-input"]
display.table(
    pd.DataFrame(
        {"TRL GRPOConfig (the runs went with the PPO runs of section 4)": {k: str(v) for k, v in grpo_settings.items()}}
    )
)

# %%
def per_seed(name, column):
    return finals[finals.config == name].set_index("seed")[column]


ppo_steps = P.iterations * 4
grpo = pd.DataFrame(
    [
        {
            "seed": o["run"]["seed"],
            "eval_gold": float(np.mean(o["eval_gold"])),
            "win_rate": win_rate(o["eval_gold"]),
            "samples": sum(t["samples"] for t in o["trace"]),
            "optimizer_steps": o["optimizer_steps"],
        }
        for o in grpo_outs
    ]
).set_index("seed")
comparison = pd.DataFrame(
    {
        "policy-update samples": [P.iterations * P.prompts_per_iteration, grpo["samples"].mean()],
        "optimiser steps": [ppo_steps, grpo["optimizer_steps"].mean()],
        "held-out gold (mean ± sd over seeds)": [
            f"{per_seed('A + KL penalty only', 'eval_gold').mean():.2f} ± {per_seed('A + KL penalty only', 'eval_gold').std():.2f}",
            f"{grpo['eval_gold'].mean():.2f} ± {grpo['eval_gold'].std():.2f}",
        ],
        "gold win rate vs SFT": [
            f"{per_seed('A + KL penalty only', 'win_rate').mean():.2f} ± "
            f"{per_seed('A + KL penalty only', 'win_rate').std():.2f}",
            f"{grpo['win_rate'].mean():.2f} ± {grpo['win_rate'].std():.2f}",
        ],
    },
    index=["PPO, vanilla + KL (same iterations)", "TRL GRPO"],
)
results.metric("grpo", grpo.to_dict(orient="index"))
display.table(comparison)

# %% [markdown]
# The comparison is with vanilla PPO plus the KL penalty, the PPO run with the same number of
# iterations and a KL constraint like GRPO's; PPO-max ran longer. GRPO's advantage is
# the group-normalised proxy reward, so it needs no critic, but it optimises the same flawed
# reward model and can find the same blind spots.

# %% [markdown]
# ## Paper vs this book
#
# The paper's qualitative results (LLaMA-7B, HH-RLHF, human and GPT-4 judges) beside ours
# (a 0.5M-parameter toy policy, exact gold reward). Our column is computed from the runs above.

# %% tags=["hide-input"]
def fmt(name, key):
    return f"{ends.loc[name, key]:.2f}"


paper_vs_book = pd.DataFrame(
    [
        (
            "vanilla PPO: reward keeps rising while quality collapses (Fig. 4)",
            "yes: RM score up, human-judged quality down after ~1k steps",
            f"proxy {fmt('A vanilla PPO', 'proxy at gold peak')} -> {fmt('A vanilla PPO', 'proxy end')}, gold "
            f"{fmt('A vanilla PPO', 'gold peak')} -> {fmt('A vanilla PPO', 'gold end')}",
        ),
        (
            "collapse indicators: KL and length up, perplexity down (Fig. 4, 13)",
            "KL to ~0.1-0.2 per token, length to ~500 tokens, perplexity 1.02 -> 1.00",
            f"vanilla KL {fmt('A vanilla PPO', 'KL end (nats)')} nats per response, length "
            f"{fmt('A vanilla PPO', 'length end (chars)')} chars (SFT {sft_eval.lengths.float().mean():.1f})",
        ),
        (
            "the reward model is exploited where it is wrong",
            "reward hacking: verbose, repetitive answers",
            f"vanilla's held-out answers carry {fmt('A vanilla PPO', 'non-words per response (held-out)')} non-words "
            f"and repeat a word in {ends.loc['A vanilla PPO', 'repeat rate (held-out)']:.0%} of answers",
        ),
        (
            "reward normalisation / clipping alone: early stability only (Fig. 6)",
            "collapse re-appears later",
            f"C (norm, no KL): gold end {fmt('C PPO-max, no KL', 'gold end')} "
            f"vs peak {fmt('C PPO-max, no KL', 'gold peak')}"
            if "C PPO-max, no KL" in CONFIGS
            else "C runs in the gpu profile only",
        ),
        (
            "KL penalty gives lasting stability (Fig. 7)",
            "yes (eta 0.05)",
            f"A + KL: gold end {fmt('A + KL penalty only', 'gold end')} vs peak {fmt('A + KL penalty only', 'gold peak')}",
        ),
        (
            "PPO-max beats SFT (Fig. 10)",
            "human win rate 62% (harmless) / 44% (helpful), EN",
            f"gold win rate {ends.loc['B PPO-max', 'win rate vs SFT']:.0%}",
        ),
        (
            "PPO-max stable for 10k steps (Fig. 9)",
            "yes",
            f"{P.ppo_max_iterations} iterations (vanilla PPO: {P.iterations})",
        ),
    ],
    columns=["finding (paper figure)", "paper", "this book"],
)
display.table(paper_vs_book)

# %% [markdown]
# The differences are of scale: the paper's models and runs are 10^4 times larger, its judges
# are people and its reward model a 7B network; ours are exact gold scores and a 0.5M network
# that reads characters, so its blind spots are strings its training pairs never showed it
# (non-words, repeated words), and the *mechanism* of over-optimisation can be measured rather
# than inferred. The critic initialisation (Fig. 8) is not ablated on its own here.

# %% [markdown]
# ## Reproduction checks
#
# Per seed, "end" is the smoothed value at the last iteration and the "gold peak" is the
# maximum of the smoothed gold curve. The thresholds were fixed from the paper's claims before
# the checked seeds ran; the hyperparameters were chosen on a separate pilot seed (100).
#
# 1. *finding*: vanilla PPO over-optimises: gold at the end $\le 0.8\times$ its peak while the
#    proxy at the end exceeds its value at the gold peak by $\ge 0.5$ standard deviations of the
#    reward model's scores on SFT samples; in the mean and in at least 2 of 3 seeds.
# 2. *finding*: the gold vanilla loses after its peak goes mainly ($\ge 50\%$) through the
#    out-of-distribution terms (non-words, repeats); mean and at least 2 of 3 seeds.
# 3. *control*: vanilla PPO with only the KL penalty stays stable: gold end $\ge 0.9\times$ peak and
#    above the SFT policy's, in the mean and at least 2 of 3 seeds.
# 4. *finding*: PPO-max beats the SFT policy: held-out gold win rate $\ge 60\%$ and held-out gold
#    above the SFT policy's by $\ge 2$ standard errors (over seeds), and it stays stable when run
#    twice as long as vanilla PPO took to collapse on the pilot seed: slope of the smoothed gold
#    over the second half $\ge -0.01$ per iteration.
# 5. *sanity*: PPO-max's KL at the end is at most half of vanilla's (a run with a KL penalty
#    against one without).

# %%
rm_sd = float(proxy_fn(sft_eval).std())


def stats(name):
    return [overoptimisation.collapse(gold_c[name][i], proxy_c[name][i]) for i in range(len(seeds))]


def majority(flags):
    return sum(flags) >= 2 and sum(flags) * 2 > len(flags)


va = stats("A vanilla PPO")
va_ratio = [x["end_over_peak"] for x in va]
va_gain = [x["proxy_gain"] / rm_sd for x in va]
va_ok = [r <= 0.8 and g >= 0.5 for r, g in zip(va_ratio, va_gain)]
va_ends = ends.loc["A vanilla PPO"]
results.check(
    "vanilla_overoptimises",
    kind="finding",
    claim="Vanilla PPO over-optimises the reward model: proxy reward rises while gold reward falls.",
    paper="Fig. 4: reward rises, human-judged quality collapses",
    per_seed=dict(zip(seeds, va_gain)),
    threshold=0.5,
    direction=">=",
    rule="per seed: gold end / peak <= 0.8 and proxy end - proxy at the gold peak >= 0.5 RM standard deviations "
    "(the decisive number, in RM sd); the means clear both and at least 2 of 3 seeds pass both",
    ours={
        "gold end / peak (mean)": float(np.mean(va_ratio)),
        "seeds with gold end <= 0.8 x peak": f"{sum(r <= 0.8 for r in va_ratio)} of {len(seeds)}",
        "seeds passing both": f"{sum(va_ok)} of {len(seeds)}",
        "RM sd on SFT samples": rm_sd,
    },
    passed=bool(np.mean(va_ratio) <= 0.8 and np.mean(va_gain) >= 0.5 and majority(va_ok)),
    not_reproduced=(
        f"The gold reward collapses (end / peak {np.mean(va_ratio):.2f} in the mean, "
        f"{sum(r <= 0.8 for r in va_ratio)} of {len(seeds)} seeds at or below 0.8; held-out gold "
        f"{va_ends['held-out gold']:.2f} against the SFT policy's {sft_gold.mean().item():.2f}), but the proxy barely "
        f"rises after the gold peak: {np.mean(va_gain):.2f} reward-model standard deviations in the mean, against 0.5. "
        f"The reward model's score saturates: {va_ends['proxy at gold peak']:.2f} at vanilla's gold peak, "
        f"{va_ends['proxy end']:.2f} at the end, and {ends.loc['B PPO-max', 'proxy end']:.2f} for PPO-max with its gold "
        "intact. Vanilla PPO finds strings the reward model scores as highly as good answers, not higher: the "
        "gold falls at an almost constant proxy, so this toy world shows reward hacking without the rising "
        "proxy curve of the paper's Fig. 4."
    ),
)
shares = ood_share(changes["A vanilla PPO"])
results.check(
    "vanilla_loses_gold_through_ood_strings",
    kind="finding",
    claim="The gold vanilla PPO loses goes through the reward model's blind spots: strings its training "
    "pairs never showed it (non-words, repeated words), not the raters' length bias.",
    paper="reward hacking by the policy exploiting the reward model's errors (Sec. 5)",
    per_seed=shares.to_dict(),
    threshold=0.5,
    direction=">=",
    rule="per seed: (change of the non-word + repeat terms) / (gold change), peak to end; mean >= 0.5 and "
    "at least 2 of 3 seeds",
    ours={f"{t} change (mean)": float(changes["A vanilla PPO"][t].mean()) for t in overoptimisation.TERMS},
    passed=bool(shares.mean() >= 0.5 and majority(list(shares >= 0.5))),
)
akl_s = stats("A + KL penalty only")
sft_mean = sft_gold.mean().item()
akl_ok = [x["end_over_peak"] >= 0.9 and gold_c["A + KL penalty only"][i, -1] > sft_mean for i, x in enumerate(akl_s)]
results.check(
    "kl_penalty_alone_keeps_vanilla_stable",
    kind="control",
    claim="Policy constraints are the key factor: vanilla PPO with only the KL penalty does not collapse.",
    paper="Sec. 5.3 / Fig. 7: the KL penalty is the constraint that keeps PPO stable",
    per_seed={s: x["end_over_peak"] for s, x in zip(seeds, akl_s)},
    threshold=0.9,
    direction=">=",
    rule="per seed: gold end >= 0.9 x peak and gold end > SFT gold; mean ratio >= 0.9 and at least 2 of 3 seeds",
    ours={"gold end (mean)": float(gold_c["A + KL penalty only"][:, -1].mean()), "SFT gold": sft_mean},
    passed=bool(np.mean([x["end_over_peak"] for x in akl_s]) >= 0.9 and majority(akl_ok)),
)
b_gold = per_seed("B PPO-max", "eval_gold")
b_win = per_seed("B PPO-max", "win_rate")
b_gap = b_gold - sft_mean
b_se = float(b_gap.std() / np.sqrt(len(b_gap)))
half = gold_c["B PPO-max"].shape[1] // 2
va_drop = [overoptimisation.collapse_iteration(g) for g in gold_c["A vanilla PPO"]]  # None: never lost a fifth
b_slopes = [overoptimisation.slope(gold_c["B PPO-max"][i, half:]) for i in range(len(seeds))]
results.check(
    "ppo_max_beats_sft_and_stays_stable",
    kind="finding",
    claim="PPO-max improves on the SFT policy by gold reward and stays stable when trained twice as long as "
    "vanilla PPO takes to collapse.",
    paper="Fig. 10: 62% / 44% human win rate vs SFT (harmless / helpful, EN); Fig. 9: stable for 10k steps",
    per_seed=b_win.to_dict(),
    threshold=0.60,
    direction=">=",
    rule="mean held-out gold win rate vs SFT >= 0.60, mean held-out gold - SFT gold >= 2 standard errors "
    "over seeds, and the smoothed gold's slope over the second half >= -0.01 per iteration in every seed",
    ours={
        "held-out gold - SFT gold": float(b_gap.mean()),
        "its standard error": b_se,
        "slope over the second half (min)": float(min(b_slopes)),
        "PPO-max iterations": P.ppo_max_iterations,
        "vanilla: iteration at 0.8 x its peak gold (mean of seeds reaching it)": float(
            np.mean([d for d in va_drop if d is not None])
        )
        if any(d is not None for d in va_drop)
        else "never",
    },
    passed=bool(b_win.mean() >= 0.60 and b_gap.mean() >= 2 * b_se and min(b_slopes) >= -0.01),
)
b_kl, a_kl = kl_c["B PPO-max"][:, -1].mean(), kl_c["A vanilla PPO"][:, -1].mean()
results.check(
    "ppo_max_kl_below_vanilla",
    kind="sanity",
    claim="PPO-max (with a KL penalty) ends closer to the SFT policy than vanilla PPO (without one).",
    paper="Fig. 9: PPO-max keeps the KL small",
    value=float(b_kl),
    threshold=float(0.5 * a_kl),
    direction="<=",
    rule="KL at the end, mean over seeds, at most half of vanilla's (a run with a KL penalty against one without)",
)
results.table()

# %%
results.finish();

# %% [markdown]
# ## Summary
#
# - RLHF at toy scale is three stages: SFT, a Bradley-Terry reward model from (biased) preference
#   pairs, and PPO against that reward model with a per-token KL penalty to the SFT policy.
# - A reward model is only right where its training pairs were. PPO finds the regions where it is
#   wrong (here: strings it never saw, non-words and repeated words) and the proxy reward keeps
#   rising while the gold reward falls.
# - Watch KL to the SFT policy, response length and the perplexity of the policy's own samples:
#   they move before the damage is visible in a proxy reward curve.
# - The token-level KL penalty is PPO-max's key ingredient: added to vanilla PPO alone it keeps
#   training stable (configuration C of the `gpu` profile removes it from PPO-max instead).
#
# ## Exercises
#
# 1. Switch on the PPO-ptx loss (`ptx_coef`) in PPO-max with SFT demonstrations as the
#    "pre-training" data. Does it keep the policy closer to the SFT policy?

# %% tags=["hide-input"]
# Solution to exercise 1 (short runs; compare the KL with configuration B's over the same iterations).
exercise = {"PPO-max + ptx": dict(ptx_coef=0.5, iterations=P.exercise_iterations)} | {
    f"PPO-max, eta {eta:g}": dict(kl_coef=eta, iterations=P.exercise_iterations)
    for eta in (P.kl_coef / 2, P.kl_coef * 2)
}
ex_outs = dict(
    zip(
        exercise,
        parallel.map_runs(
            overoptimisation.run_ppo,
            [
                overoptimisation.Run(
                    name,
                    seed,
                    str(sft_path),
                    str(rm_path),
                    str(rm_path),
                    config_for(o),
                    eval_seed=10_000 + seed,
                    n_eval=P.eval_prompts,
                )
                for name, o in exercise.items()
            ],
        ),
    )
)
same = logs[(logs.config == "B PPO-max") & (logs.seed == seed)].iloc[: P.exercise_iterations]
ptx = pd.DataFrame(ex_outs["PPO-max + ptx"]["log"])
print(
    f"after {len(ptx)} iterations: KL {ptx['kl'].iloc[-5:].mean():.2f} with ptx vs {same['kl'].iloc[-5:].mean():.2f} "
    f"without; gold {ptx['gold_reward'].iloc[-5:].mean():.2f} vs {same['gold_reward'].iloc[-5:].mean():.2f}"
)

# %% [markdown]
# 2. Halve and double the KL coefficient $\eta$ in PPO-max. Where does the gold reward at the end
#    peak? (The paper sweeps 0.05, 0.1, 0.2 in its Fig. 15.)

# %% tags=["hide-input"]
# Solution to exercise 2: one seed, a short run per setting (run with exercise 1's above).
rows = [
    {
        "eta": exercise[name]["kl_coef"],
        "gold end": log["gold_reward"].iloc[-5:].mean(),
        "KL end": log["kl"].iloc[-5:].mean(),
    }
    for name in exercise
    if name.startswith("PPO-max, eta")
    for log in [pd.DataFrame(ex_outs[name]["log"])]
]
rows.append({"eta": P.kl_coef, "gold end": same["gold_reward"].iloc[-5:].mean(), "KL end": same["kl"].iloc[-5:].mean()})
display.table(pd.DataFrame(rows).sort_values("eta").set_index("eta"))

# %% [markdown]
# ## References
#
# ```{footbibliography}
# ```
#
# The whole book's references are on the [bibliography](../book/bibliography.md) page.
