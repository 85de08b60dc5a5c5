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
# and our own PPO loop (`rlhfbook.methods.ppo`) with every PPO-max ingredient as a switch. Because
# the toy world has an exact *gold* reward, "human evaluation" is free: we can watch the proxy
# (reward-model) score and the gold score side by side, and split the gold reward into the
# channels through which a policy loses it. The configurations run from the same SFT policy,
# for the same number of iterations, on six seeds each; a seed is a whole pipeline: its own
# preference pairs, its own reward model and its own PPO runs. They are (A) vanilla PPO, (A + KL)
# vanilla PPO with only the KL penalty, (B) PPO-max and, where the setting `run_ppo_max_no_kl` is
# on, (C) PPO-max without the KL penalty. At the end, TRL's `GRPOTrainer` gets the same sampled responses and
# optimiser steps as A + KL, on the same seeds.
#
# **On real models.** With a hub instruct model as `model_name` (the `gpu` and `gpu-full`
# profiles: Qwen2.5-0.5B-Instruct) the chapter runs the over-optimisation setup of Gao et al.
# {footcite}`gao2023scaling` on an HH-RLHF-format preference dataset. A *gold* reward model,
# trained here on every pair of the dataset except the rows of the held-out prompts, stands in
# for human judgement; the *proxy* that PPO optimises is trained on `proxy_pairs` of the gold
# model's pairs, **relabelled by the gold model** as Gao et al. label their proxies' data. The
# proxy then estimates exactly the function we call gold, so when the gold score falls while the
# proxy's rises, the cause is the proxy's smaller data, not a disagreement between human labels
# and the gold model. PPO samples its prompts from the held-out one-turn prompts, and the final
# policies are evaluated on others. The toy world's analyses of the gold reward's terms (the
# probe of section 2, the channels of section 5) have no counterpart there: a reward model's score
# has no terms. So that the chapter fits a 16 GB GPU, PPO's policy and critic and GRPO's policy
# train low-rank adapters {footcite}`hu2022lora` on every linear layer (`lora_rank`) instead of
# all their weights, at ten times the full fine-tuning learning rate; the page on running the book
# gives the memory arithmetic.
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

    before, imported = (
        {d.metadata["Name"]: d.version for d in distributions()},
        set(sys.modules),
    )
    subprocess.check_call(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            os.environ.get(
                "RLHFBOOK_PIP_SPEC",
                "rlhfbook @ git+https://github.com/rlhf-measured/rlhf-measured@main",
            ),
        ]
    )
    from rlhfbook.book import colab

    colab.report_install(before, imported)

# %% tags=["parameters"]
profile = "cpu"  # smoke | cpu | gpu (a Colab T4) | gpu-full (an 80 GB GPU)
seed = 0
model_name = None  # policy: a local folder or hub id (gpu profile), or None for the toy SFT policy
reward_model_name = (
    None  # proxy reward model: a local folder or hub id, or None to train one here
)
gold_reward_model_name = (
    None  # with model_name: the gold reward model, or None to train one here
)
preference_dataset = (
    None  # with model_name: HH-RLHF-format pairs (hub id or local .jsonl)
)
iterations = None  # PPO iterations of every configuration; None = the profile's
n_seeds = None  # seeds per configuration; None = the profile's
autocast = None  # "float32" when fp16 overflows on a T4 (see the running page); None = the profile's

# %%
import rlhfbook
from rlhfbook.core import runtime
from rlhfbook.report import diagram, display

P, results = rlhfbook.start_chapter(
    "01_ppo_max",
    profile,
    seed,
    model_name=model_name,
    reward_model_name=reward_model_name,
    gold_reward_model_name=gold_reward_model_name,
    preference_dataset=preference_dataset,
    iterations=iterations,
    n_seeds=n_seeds,
    autocast=autocast,
)

# %% tags=["hide-input"]
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown
from IPython.display import display as show

from rlhfbook.chapters.ch01_ppo_max import overoptimisation
from rlhfbook.chapters.ch01_ppo_max import overoptimisation_figures as figures
from rlhfbook.core import parallel
from rlhfbook.lm import models, rollout
from rlhfbook.methods import ppo, reward_model
from rlhfbook.tasks import toyworld

# %%
task = toyworld.task("preference")
workdir = Path(tempfile.mkdtemp(prefix="ch01_"))
sft_path = P.model_name or toyworld.base_policy(
    "preference", P.base_policy, progress=False
)
sft, tok = models.load_policy(sft_path, frozen=True)  # the reference pi_SFT
device = runtime.device()
sft.to(device)
seeds = [seed + i for i in range(P.n_seeds)]
eval_seed = 10_000 + seed
# real: Gao et al.'s gold and proxy reward models (rlhfbook.chapters.ch01_ppo_max.gold_proxy)
real = P.model_name is not None
eval_prompts, data = overoptimisation.held_out(
    P, task, seed, eval_seed
)  # data: real only
print(
    f"SFT policy: {models.display_name(sft_path)} ({sum(p.numel() for p in sft.parameters()) / 1e6:.2f}M parameters); "
    f"seeds {seeds}; {P.iterations} PPO iterations x {P.prompts_per_iteration} prompts for every configuration"
)

# %% tags=["remove-cell"]
display.figure(
    diagram.pipeline(
        [
            ("data", "Toy preference task", "prompts; a gold reward computed in code"),
            ("model", "SFT policy", "the base policy of chapter 0"),
            (
                "model",
                "Reward model",
                f"Bradley-Terry on {P.rm_pairs} rated pairs, per seed",
            ),
            (
                "train",
                "PPO and GRPO",
                "A, A + KL, B (PPO-max)"
                + (", C" if P.run_ppo_max_no_kl else "")
                + f", GRPO; {P.iterations} iterations",
            ),
            (
                "evaluate",
                "Gold vs proxy",
                f"{P.n_seeds} seeds: over-optimisation, win rate",
            ),
        ]
    ),
    "ch1-pipeline",
)

# %% [markdown]
# ```{glue:figure} ch1-pipeline
# :name: fig-ch1-pipeline
# :alt: Five boxes: toy preference task, SFT policy, reward model, PPO and GRPO, gold against proxy
#
# What the chapter runs on every seed: a reward model trained on rated pairs of the SFT policy's samples, PPO in four configurations and TRL's GRPO against it from the same SFT policy, and the gold reward of every run beside the proxy it optimised.
# ```

# %% [markdown]
# ## 1. The SFT policy and the gold reward
#
# A prompt names a topic (`"food: "`), a response is a few words. The gold reward sums hidden
# per-topic utilities of the *distinct* words, subtracts 0.6 per repeated word and 0.4 per word
# beyond six; a response the policy does not finish with EOS within `max_new_tokens` characters
# gets $-1$ (the "EOS trick" of Huang et al. {footcite}`huang2024nplus`). Some samples of the SFT policy:

# %% [markdown]
# On real models the gold reward is the gold reward model's score of the prompt and response
# as an HH-RLHF transcript; it trains first, on every pair but the held-out ones. A response cut
# off without EOS scores one standard deviation below the lowest score the reward model gives a
# complete answer of the SFT policy (the gold's and the proxy's own scale, not a fixed $-1$):

# %%
gold_path, gold_metrics = overoptimisation.gold_model(
    P, sft_path, tok, data, workdir, seed
)  # None in the toy world: the gold is computed in code
for name, value in gold_metrics.items():
    results.metric(name, value)
torch.manual_seed(seed)
sft_eval = rollout.generate(sft, tok, eval_prompts, max_new_tokens=P.max_new_tokens)
gold_no_eos = overoptimisation.no_eos_score(  # real models: below every SFT answer
    gold_path, sft_eval, device, P.rm_max_length
)
gold_fn = overoptimisation.gold_reward(
    task, gold_path, device, P.rm_max_length, gold_no_eos
)
sft_gold = gold_fn(sft_eval)
samples = {
    "prompt": sft_eval.prompts[:6],
    "response": sft_eval.responses[:6],
    "gold": sft_gold[:6].numpy().round(2),
}
print(pd.DataFrame(samples).to_string(index=False))
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

# %% [markdown]
# Each seed samples its own pairs and trains its own reward model, so that the spread of every
# result over seeds includes the reward model's: a reward model that happens to be easier or
# harder to exploit is one seed, not the whole experiment. The reward models train side by side,
# one per core, each as below:

# %%
display.show_source(overoptimisation.toy_reward_model)

# %%
t0 = time.perf_counter()
rm_paths, rm_metrics = overoptimisation.proxy_reward_models(
    P, seeds, sft_path, tok, workdir, device, data, gold_path
)
rm_seconds = time.perf_counter() - t0
for name, value in rm_metrics.items():
    results.metric(name, value)
proxy_no_eos = overoptimisation.no_eos_score(  # one proxy for every seed on real models
    rm_paths[seed] if real else None, sft_eval, device, P.rm_max_length
)
proxy_fns = {
    s: overoptimisation.proxy_reward(
        p, tok, device, real, P.rm_max_length, proxy_no_eos
    )
    for s, p in rm_paths.items()
}
proxy_fn = proxy_fns[seed]  # r_phi of the first seed, for the probe below

# %% [markdown]
# Held-out accuracy of each seed's reward model against the gold ranking (not the
# biased raters), on a second SFT sample per prompt:

# %%
torch.manual_seed(seed + 1)
other = rollout.generate(sft, tok, eval_prompts, max_new_tokens=P.max_new_tokens)
rm_table = overoptimisation.rm_gold_table(
    proxy_fns, sft_eval, other, sft_gold, gold_fn(other)
)
rm_sd = rm_table["RM sd on SFT samples"]  # the unit of the proxy's gain in check 1
print(f"{len(set(rm_paths.values()))} reward model(s) in {rm_seconds:.0f} s")
display.table(rm_table)
results.metric("rm_gold_accuracy", float(rm_table.iloc[:, 0].mean()))
results.metric("rm_gold_correlation", float(rm_table.iloc[:, 1].mean()));

# %% [markdown]
# Where is the reward model wrong? Probe the first seed's off the SFT distribution: take the
# best words of a topic and write responses of growing length, once with distinct words and once repeating the
# best word. Past six words every extra word pays the rambling penalty, so the gold reward of
# distinct good words levels off and turns down once the next word is worth less than that
# penalty, and it falls for repetitions; the reward model has seen neither regime, so nothing in
# its data says what they are worth.

# %% tags=["remove-cell"]
display.figure(
    display.note_figure(f"No probe on real models: {overoptimisation.TOY_ONLY}.")
    if real
    else figures.plot_probe(task, tok, proxy_fn, gold_fn, topic="food"),
    "ch1-probe",
)

# %% [markdown]
# ```{glue:figure} ch1-probe
# :name: fig-ch1-probe
# :alt: Proxy and gold reward against response length, for distinct best words and for the best word repeated
#
# The first seed's reward model (proxy) and the gold reward of responses made of a topic's best
# words, distinct (left) and the best one repeated (right), against the response's length in
# words: off the SFT distribution the proxy keeps paying for what the gold reward punishes.
# ```

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
# ## 4. The configurations, six seeds each
#
# On a seed, every configuration starts from the same SFT policy and the seed's reward model,
# sees the same prompts per iteration and runs the same number of iterations, so any two can be
# compared seed by seed. **A, vanilla PPO** keeps only the clipped surrogate, GAE and advantage
# whitening; its critic is the SFT backbone with a fresh value head. **A + KL** is vanilla PPO
# with the token-level KL penalty and nothing else (the same critic too), which isolates the
# ingredient the paper calls the key factor. **B, PPO-max** has every switch. The sizes come from
# a pilot on seeds outside every reported block (`pilot_seed`, 500-505; the numbers are in
# `benchmarks/ch01_pilot.py`): with 16 prompts per iteration the gold of an iteration's samples was
# so noisy that even runs whose gold kept rising ended below 0.9 of their (noise-inflated) peak, so
# each iteration now samples 32 prompts and takes 2 PPO epochs over them, the same update cost as
# 16 x 4. On the pilot seeds vanilla PPO then lost a fifth of its peak gold between iterations 12
# and 20 on five of six seeds, so 24 iterations put its collapse into the second half of the run,
# where the stability check reads PPO-max.
# **C** is PPO-max without the KL penalty; it runs only where `run_ppo_max_no_kl` is on (in the
# `smoke` profile, so that its code stays tested): no check reads it, and no budget includes it.

# %%
CONFIGS = {
    "A vanilla PPO": dict(ppo.VANILLA),
    "A + KL penalty only": dict(ppo.VANILLA) | dict(kl_coef=P.kl_coef),
    "B PPO-max": dict(),
} | ({"C PPO-max, no KL": dict(kl_coef=0.0)} if P.run_ppo_max_no_kl else {})
display.table(overoptimisation.switch_table(CONFIGS, P))

# %% [markdown]
# Each run is one call of `overoptimisation.run_ppo`, and the runs (configurations x seeds, and
# the GRPO runs of section 7) are independent, so `parallel.map_runs` spreads them over the
# machine's cores: every run seeds itself and uses one thread, so the numbers are the same as in
# a serial run. On a GPU each run holds its models on the device, so the
# GPU profiles run them one at a time (`jobs = 1`).

# %%
display.show_source(overoptimisation.run_ppo, overoptimisation.critic_init)

# %%
gold = (
    data.run_fields(gold_path, workdir, P.rm_max_length, gold_no_eos, proxy_no_eos)
    if real
    else None
)  # runs scored by the gold RM
runs = overoptimisation.ppo_runs(CONFIGS, P, seeds, sft_path, rm_paths, eval_seed, gold)
grpo_runs = overoptimisation.grpo_runs(
    P, seeds, sft_path, rm_paths, eval_seed, gold
)  # section 7, in the same batch
t0 = time.perf_counter()
outs = parallel.map_runs(overoptimisation.train, runs + grpo_runs, jobs=P.jobs)
ppo_seconds = time.perf_counter() - t0
outs, grpo_outs = outs[: len(runs)], outs[len(runs) :]
logs = overoptimisation.logs_frame(outs)
finals = overoptimisation.finals_frame(outs, sft_gold)
sec_per_it = logs["seconds"].mean()
print(
    f"{len(runs)} PPO runs and {len(grpo_runs)} GRPO runs in {ppo_seconds:.0f} s on {P.jobs or parallel.default_jobs()} worker(s); "
    f"{sec_per_it:.2f} s per PPO iteration ({P.prompts_per_iteration} samples, {P.epochs} epochs of {P.minibatches} minibatch(es))"
)
results.timing("seconds_per_ppo_iteration", sec_per_it);

# %% [markdown]
# The over-optimisation picture. Look at the vanilla panel: after a few iterations its gold
# reward turns down while its proxy reward (the reward model's score) does not fall with it;
# how far the proxy still rises after the gold peak is what the first check measures. Thin lines
# are seeds, each with its own reward model; thick lines the mean over seeds (a moving average
# over 5 iterations, as all curves below).

# %% tags=["hide-input"]
curves = {
    m: overoptimisation.curves(logs, m, CONFIGS)
    for m in ("proxy_reward", "gold_reward", "kl", "length", "perplexity")
}
proxy_c, gold_c, kl_c = curves["proxy_reward"], curves["gold_reward"], curves["kl"]

# %% tags=["remove-cell"]
display.figure(
    figures.plot_reward_curves(proxy_c, gold_c, sft_gold.mean().item(), CONFIGS),
    "ch1-rewards",
)

# %% [markdown]
# ```{glue:figure} ch1-rewards
# :name: fig-ch1-rewards
# :alt: Proxy and gold reward over PPO iterations, one panel per configuration, one thin line per seed
#
# Proxy reward (solid: the reward model's score) and gold reward (dashed) per response over PPO
# iterations, one panel per configuration; thin lines are seeds, thick lines the mean over
# seeds, smoothed over 5 iterations; the dotted line is the SFT policy's gold reward.
# ```

# %% [markdown]
# The drift indicators the paper recommends watching (its Figs. 4 and 13): the KL to the SFT
# policy, the response length and the perplexity of the policy's own samples, and, last, where
# each seed's policy ended by the held-out gold win rate against the SFT policy. The table below
# the figure gives each indicator at the first iteration and at the end.

# %% tags=["remove-cell"]
display.figure(figures.plot_drift(curves, finals, CONFIGS), "ch1-drift")

# %% [markdown]
# ```{glue:figure} ch1-drift
# :name: fig-ch1-drift
# :alt: KL to the SFT policy, response length and perplexity over iterations per configuration, and each seed's final win rate
#
# The drift indicators over PPO iterations, mean over seeds per configuration: KL to the SFT
# policy, response length and perplexity of the policy's own samples; last panel, each seed's
# held-out gold win rate against the SFT policy at the end (one dot per seed).
# ```

# %% tags=["hide-input"]
drift = overoptimisation.drift_table(curves, CONFIGS)
display.table(drift)

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
if real:
    print(f"No channels on real models: {overoptimisation.TOY_ONLY}.")
else:
    changes = {
        name: overoptimisation.channel_change(logs, gold_c[name], name)
        for name in CONFIGS
    }
    channel_table = overoptimisation.channel_table(changes)
    show(display.table(channel_table))  # inside a block: shown only if displayed

# %% tags=["remove-cell"]
display.figure(
    display.note_figure(f"No channels on real models: {overoptimisation.TOY_ONLY}.")
    if real
    else figures.plot_channels(channel_table, CONFIGS),
    "ch1-channels",
)

# %% [markdown]
# ```{glue:figure} ch1-channels
# :name: fig-ch1-channels
# :alt: Bars of the change of each gold term from the gold peak to the end, per configuration
#
# Change of each term of the gold reward from the gold peak to the end of training (gold per
# response, mean over seeds), one bar per configuration: the table above, drawn.
# ```

# %% [markdown]
# ## 6. What each ingredient changed
#
# End values are the means over the last 5 iterations; the peak is the maximum of the smoothed
# gold curve; all are averaged over seeds.

# %% tags=["hide-input"]
ends = pd.DataFrame(
    {name: overoptimisation.end_values(name, curves, finals) for name in CONFIGS}
).T
for name, row in ends.iterrows():
    results.metric(f"end[{name}]", row.to_dict())
display.table(ends)

# %% tags=["hide-input"]
display.table(overoptimisation.ingredients_table(ends, P), index=False)

# %% [markdown]
# ## 7. The same budget with TRL's GRPOTrainer
#
# GRPO {footcite}`shao2024deepseekmath` drops the critic: it samples a group of responses per prompt
# and uses the group-normalised reward as every token's advantage. For a fair comparison it gets
# what the PPO run with the KL penalty and the same number of iterations (A + KL) gets: the
# same sampled responses, the same number of optimiser steps (as many passes over each generation,
# TRL's `num_iterations`, as our PPO epochs, each in as many steps as our minibatches), the seed's
# reward model (it sees prompt + response + EOS, as it was trained),
# the same learning rate, and the same six seeds. TRL's loss is set to the GRPO paper's
# (`loss_type="grpo"`: per-sequence token means) rather than TRL's default (DAPO's token-level
# normalisation), and its KL term is the GRPO paper's: $k_3$ in the *loss*, with weight
# $\beta = \eta$, where PPO puts $k_1$ into the *reward*.

# %% tags=["hide-input"]
# the settings that differ from TRL's GRPOConfig defaults (the runs went with the PPO runs of section 4)
display.table(
    overoptimisation.grpo_table(overoptimisation.grpo_settings(P)), index=False
)

# %%
grpo = overoptimisation.grpo_frame(grpo_outs, sft_gold)
results.metric("grpo", grpo.to_dict(orient="index"))
display.table(overoptimisation.grpo_comparison(finals, grpo, P))

# %% [markdown]
# The comparison is with vanilla PPO plus the KL penalty, the PPO run with a KL constraint like
# GRPO's and nothing else; every configuration ran the same iterations. GRPO's advantage is
# the group-normalised proxy reward, so it needs no critic, but it optimises the same flawed
# reward model and can find the same blind spots.

# %% [markdown]
# ## Paper vs this book
#
# The paper's qualitative results (LLaMA-7B, HH-RLHF, human and GPT-4 judges) beside ours
# (a 0.5M-parameter toy policy, exact gold reward). Our column is computed from the runs above.

# %% tags=["hide-input"]
display.table(
    overoptimisation.paper_vs_book(ends, sft_eval.lengths.float().mean().item(), P)
)

# %% [markdown]
# The differences are of scale: the paper's models and runs are 10^4 times larger, its judges
# are people and its reward model a 7B network; ours are exact gold scores and a 0.5M network
# that reads characters, so its blind spots are strings its training pairs never showed it
# (non-words, repeated words), and the *mechanism* of over-optimisation can be measured rather
# than inferred. The critic initialisation (Fig. 8) is not ablated on its own here.

# %% [markdown]
# ## Reproduction checks
#
# Each check has one decisive number per seed, and its verdict comes from the book's rule: mean
# ± 2 standard errors over the six seeds against the paper's threshold. Per seed, "end" is the
# smoothed value at the last iteration and the "gold peak" the maximum of the smoothed gold
# curve. The thresholds were fixed from the paper's claims before the checked seeds ran; the
# sizes were chosen on pilot seeds (`pilot_seed` = 500 onwards) outside every reported block.
#
# 1. *finding*: vanilla PPO over-optimises: the proxy at the end exceeds its value at the gold
#    peak by $\ge 0.5$ standard deviations of the seed's reward model on SFT samples.
# 2. *finding*: the gold vanilla loses after its peak goes mainly through the
#    out-of-distribution terms (non-words, repeats): per seed, the gold lost through them minus
#    the gold lost through all other terms is $\ge 0$ (at least half of the loss). A difference
#    rather than a share, so that a seed whose gold barely falls gives a number near 0, not a
#    ratio of two small numbers.
# 3. *control*: vanilla PPO with only the KL penalty does not collapse: gold end $\ge 0.9\times$ peak.
# 4. *finding*: PPO-max beats the SFT policy: held-out gold win rate $\ge 60\%$.
# 5. *finding*: PPO-max stays stable: the slope of its smoothed gold over the second half of
#    training is $\ge -0.01$ per iteration, over the iterations in which vanilla PPO collapses.
# 6. *control*: PPO-max's KL to the SFT policy at the end is at most half of vanilla's on the same
#    seed (the constraint constrains).

# %% tags=["hide-input"]
A, AKL, B = "A vanilla PPO", "A + KL penalty only", "B PPO-max"
va = {
    s: overoptimisation.collapse(g, p) for s, g, p in zip(seeds, gold_c[A], proxy_c[A])
}
va_gain = {s: va[s]["proxy_gain"] / rm_sd[s] for s in seeds}
va_ratio = [va[s]["end_over_peak"] for s in seeds]
results.check(
    "vanilla_overoptimises",
    kind="finding",
    claim="Vanilla PPO over-optimises the reward model: the proxy reward keeps rising after the gold reward peaks.",
    paper="Fig. 4: reward rises, human-judged quality collapses",
    per_seed=va_gain,
    threshold=0.5,
    direction=">=",
    rule="per seed: proxy end - proxy at the gold peak, in standard deviations of the seed's reward model on SFT samples",
    ours={
        "gold end / peak (mean)": float(np.mean(va_ratio)),
        "RM sd on SFT samples (mean)": float(rm_sd.mean()),
    },
    context=f"Vanilla's gold ends at {np.mean(va_ratio):.2f} of its peak in the mean ({sum(r <= 0.8 for r in va_ratio)} "
    f"of {len(seeds)} seeds at or below 0.8), while its proxy moves by "
    f"{', '.join(f'{g:+.2f}' for g in va_gain.values())} reward-model standard deviations after the gold peak.",
)
va_change = None if real else changes[A]  # the toy gold's terms, peak to end, per seed
results.check(
    "vanilla_loses_gold_through_ood_strings",
    kind="finding",
    **overoptimisation.ood_check(va_change),
)
akl_ratio = {
    s: overoptimisation.collapse(g, p)["end_over_peak"]
    for s, g, p in zip(seeds, gold_c[AKL], proxy_c[AKL])
}
sft_mean = sft_gold.mean().item()
results.check(
    "kl_penalty_alone_keeps_vanilla_stable",
    kind="control",
    claim="Policy constraints are the key factor: vanilla PPO with only the KL penalty does not collapse.",
    paper="Sec. 5.3 / Fig. 7: the KL penalty is the constraint that keeps PPO stable",
    per_seed=akl_ratio,
    threshold=0.9,
    direction=">=",
    rule="per seed: the smoothed gold's end / peak of A + KL",
    ours={"gold end (mean)": float(gold_c[AKL][:, -1].mean()), "SFT gold": sft_mean},
    context=f"On the same seeds and iterations vanilla PPO without the penalty ends at {np.mean(va_ratio):.2f} of "
    f"its gold peak; A + KL ends at gold {gold_c[AKL][:, -1].mean():.2f} against the SFT policy's {sft_mean:.2f}.",
)
b_win = overoptimisation.per_seed(finals, B, "win_rate")
b_gap = overoptimisation.per_seed(finals, B, "eval_gold") - sft_mean
kl_ratio = {s: b / a for s, b, a in zip(seeds, kl_c[B][:, -1], kl_c[A][:, -1])}
below, rest = [s for s in seeds if b_gap[s] < 0], [s for s in seeds if b_gap[s] >= 0]
where = (  # what else happened on the seeds where PPO-max ends below the SFT policy, beside the others
    f" On seed {', '.join(map(str, below))}, A + KL ends at {', '.join(f'{akl_ratio[s]:.2f}' for s in below)} of its "
    f"gold peak (other seeds: {np.mean([akl_ratio[s] for s in rest]):.2f}) and PPO-max's KL at the end is "
    f"{', '.join(f'{kl_ratio[s]:.2f}' for s in below)} of vanilla's (other seeds: "
    f"{np.mean([kl_ratio[s] for s in rest]):.2f})."
    if below and rest
    else ""
)
results.check(
    "ppo_max_beats_sft",
    kind="finding",
    claim="PPO-max improves on the SFT policy it starts from, judged by the gold reward on held-out prompts.",
    paper="Fig. 10: 62% / 44% human win rate vs SFT (harmless / helpful, EN)",
    per_seed=b_win.to_dict(),
    threshold=0.60,
    direction=">=",
    rule="per seed: held-out gold win rate of PPO-max's responses against the SFT policy's (ties count half)",
    ours={
        "held-out gold - SFT gold (mean)": float(b_gap.mean()),
        "seeds below the SFT gold": len(below),
    },
    context=f"PPO-max's held-out gold minus the SFT policy's, per seed: {', '.join(f'{g:+.2f}' for g in b_gap)} "
    f"(SFT gold {sft_mean:.2f}); {len(below)} of {len(seeds)} seeds end below the SFT policy."
    + where,
)
half = P.iterations // 2
b_slope = {s: overoptimisation.slope(g[half:]) for s, g in zip(seeds, gold_c[B])}
va_slope = [overoptimisation.slope(g[half:]) for g in gold_c[A]]
va_drop = [
    d for d in map(overoptimisation.collapse_iteration, gold_c[A]) if d is not None
]
results.check(
    "ppo_max_stays_stable",
    kind="finding",
    claim="PPO-max stays stable: its gold reward does not decline over the second half of a run in which "
    "vanilla PPO collapses.",
    paper="Fig. 9: PPO-max stable for 10k steps",
    per_seed=b_slope,
    threshold=-0.01,
    direction=">=",
    rule=f"per seed: least-squares slope of PPO-max's smoothed gold over iterations {half}-{P.iterations - 1} "
    "(gold per iteration)",
    ours={"vanilla's slope, same iterations (mean)": float(np.mean(va_slope))},
    context=f"Over the same iterations vanilla PPO's gold changes by {np.mean(va_slope):+.3f} per iteration in the "
    f"mean; it lost a fifth of its peak gold on {len(va_drop)} of {len(seeds)} seeds"
    + (f", at iteration {np.mean(va_drop):.0f} in the mean." if va_drop else "."),
)
results.check(
    "ppo_max_kl_below_vanilla",
    kind="control",
    claim="PPO-max (with a KL penalty) ends much closer to the SFT policy than vanilla PPO (without one).",
    paper="Fig. 9: PPO-max keeps the KL small, where vanilla's grows (Fig. 4)",
    per_seed=kl_ratio,
    threshold=0.5,
    direction="<=",
    rule="per seed: PPO-max's KL to the SFT policy at the end / vanilla's on the same seed",
    ours={
        "PPO-max KL end (mean, nats)": float(kl_c[B][:, -1].mean()),
        "vanilla KL end (mean, nats)": float(kl_c[A][:, -1].mean()),
    },
    context=f"At the end PPO-max is {kl_c[B][:, -1].mean():.1f} nats per response from the SFT policy and vanilla "
    f"PPO {kl_c[A][:, -1].mean():.1f}.",
)
results.table()

# %%
results.finish();

# %%
Markdown(display.verdict_sentences(results.checks))
# %% [markdown]
# ## Summary
#
# - RLHF at toy scale is three stages: SFT, a Bradley-Terry reward model from (biased) preference
#   pairs, and PPO against that reward model with a per-token KL penalty to the SFT policy.
# - A reward model is only right where its training pairs were. Vanilla PPO finds where it is
#   wrong (here: strings it never saw, non-words and repeated words), and its gold reward collapses
#   on most seeds while the reward model scores its responses no worse than before. How far the
#   proxy still *rises* after the gold peak, the picture of the paper's Fig. 4, varies with the
#   seed's reward model and is small at this scale, under half a reward-model standard deviation
#   in the mean on both seed blocks we ran (the first check): here over-optimisation shows as gold
#   that falls while the proxy holds, more than as a proxy that climbs on.

# %% tags=["hide-input"]
# the advice on drift indicators, read off this run's table in section 4 (so that it agrees with it)
Markdown("- " + overoptimisation.drift_advice(drift, A, [AKL, B]))

# %% [markdown]
# - The token-level KL penalty is PPO-max's key ingredient: added to vanilla PPO alone it keeps
#   the gold far from vanilla's collapse, and PPO-max, with it, ends above its SFT policy on
#   held-out gold. Whether that holds on *every* seed is what the per-seed win rates of section 4
#   and the checks' numbers show: each seed has its own reward model. In the `cpu` profile with
#   16 prompts per iteration (the earlier size) PPO-max ended below its SFT policy on one seed of a
#   block nobody tuned on (seeds 1000..) and A + KL drifted on another; with 32 prompts per
#   iteration and 2 epochs, chosen on pilot seeds 500-505 (where 16 prompts left the logged gold
#   too noisy) before either block ran at these sizes, PPO-max beat the SFT policy on all twelve
#   seeds of the shipped block and of seeds 1000.. . Whether the larger batch or the fewer epochs
#   did it was not separated. On a reward model that is easier to exploit the
#   penalty at $\eta = 0.05$ may still not hold PPO-max near the SFT policy (the check's context
#   then gives that seed's KL and A + KL's result beside the others'; configuration C
#   (`run_ppo_max_no_kl`) removes the penalty from PPO-max instead).
#
# ## Exercises
#
# 1. Switch on the PPO-ptx loss (`ptx_coef`) in PPO-max with SFT demonstrations as the
#    "pre-training" data. Does it keep the policy closer to the SFT policy?

# %% tags=["hide-cell"]
# Solution to exercise 1 (short runs; compare the KL with configuration B's over the same iterations).
exercise = overoptimisation.exercise_configs(P)
ex_runs = overoptimisation.ppo_runs(
    exercise, P, [seed], sft_path, rm_paths, eval_seed, gold
)
ex_logs = {
    r.name: pd.DataFrame(o["log"])
    for r, o in zip(
        ex_runs, parallel.map_runs(overoptimisation.run_ppo, ex_runs, jobs=P.jobs)
    )
}
same = logs[(logs.config == "B PPO-max") & (logs.seed == seed)].iloc[
    : P.exercise_iterations
]
ptx, end = ex_logs["PPO-max + ptx"], overoptimisation.last_mean
print(
    f"after {len(ptx)} iterations: KL {end(ptx, 'kl'):.2f} with ptx vs {end(same, 'kl'):.2f} "
    f"without; gold {end(ptx, 'gold_reward'):.2f} vs {end(same, 'gold_reward'):.2f}"
)

# %% [markdown]
# 2. Halve and double the KL coefficient $\eta$ in PPO-max. Where does the gold reward at the end
#    peak? (The paper sweeps 0.05, 0.1, 0.2 in its Fig. 15.)

# %% tags=["hide-cell"]
# Solution to exercise 2: one seed, a short run per setting (run with exercise 1's above).
display.table(overoptimisation.eta_sweep(exercise, ex_logs, P, same))

# %% [markdown]
# ## References
#
# ```{footbibliography}
# ```
#
# The whole book's references are on the [bibliography](../book/bibliography.md) page.
