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
# (reward-model) score and the gold score side by side. Four configurations run from the same
# SFT policy and reward model: (A) vanilla PPO, (B) PPO-max, (C) PPO-max without the KL penalty,
# (D) PPO-max without reward normalisation. At the end, TRL's `GRPOTrainer` gets the same budget
# of sampled responses.

# %% tags=["hide-input"]
# Colab only: install this book's package (does nothing anywhere else).
import os, subprocess, sys
if "google.colab" in sys.modules:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", os.environ.get(
        "RLHFBOOK_PIP_SPEC", "rlhfbook @ git+https://github.com/rlhf-measured/rlhf-measured@main")])

# %% tags=["parameters"]
profile = "cpu"  # smoke | cpu | gpu
seed = 0
model_name = None  # policy: a local folder or hub id (gpu profile), or None for the toy SFT policy
reward_model_name = None  # reward model: a local folder or hub id, or None to train one here

# %%
import rlhfbook  # noqa: F401  (first: switches the HF hub offline)
from rlhfbook import display, env, profiles
from rlhfbook.results import Results

P = profiles.resolve("01_ppo_max", profile, model_name=model_name, reward_model_name=reward_model_name)
env.seed_everything(seed)
env.quiet()
results = Results(P, seed, parameters=dict(profile=profile, seed=seed, model_name=model_name,
                                           reward_model_name=reward_model_name))
display.runtime_table(P.chapter)

# %%
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from rlhfbook import models, ppo, reward_model, rollout, toyworld

task = toyworld.task("preference")
workdir = Path(tempfile.mkdtemp(prefix="ch01_"))
sft_path = P.model_name or toyworld.base_policy("preference", P.base_policy, progress=False)
sft, tok = models.load_policy(sft_path, frozen=True)  # the reference pi_SFT
device = env.device()
sft.to(device)
seeds = [seed + i for i in range(P.n_seeds)]
eval_prompts = task.sample_prompts(P.eval_prompts, np.random.default_rng(10_000 + seed))
print(f"SFT policy: {models.display_name(sft_path)} ({sum(p.numel() for p in sft.parameters()) / 1e6:.2f}M parameters); "
      f"seeds {seeds}; {P.iterations} PPO iterations x {P.prompts_per_iteration} prompts")

# %% [markdown]
# ## 1. The SFT policy and the gold reward
#
# A prompt names a topic (`"food: "`), a response is a few words. The gold reward sums hidden
# per-topic utilities of the *distinct* words, subtracts 0.6 per repeated word and 0.4 per word
# beyond six; a response the policy does not finish with EOS within `max_new_tokens` characters
# gets $-1$ (the "EOS trick" of Huang et al. {footcite}`huang2024nplus`). Some samples of the SFT policy:

# %%
def gold_fn(r):
    return rollout.gold_scores(task, r, no_eos_score=-1.0)


torch.manual_seed(seed)
sft_eval = rollout.generate(sft, tok, eval_prompts, max_new_tokens=P.max_new_tokens)
sft_gold = gold_fn(sft_eval)
print(pd.DataFrame({"prompt": sft_eval.prompts[:6], "response": sft_eval.responses[:6],
                    "gold": sft_gold[:6].numpy().round(2)}).to_string(index=False))
print(f"\nSFT policy on {len(eval_prompts)} held-out prompts: gold reward {sft_gold.mean():.3f}, "
      f"length {sft_eval.lengths.float().mean():.1f} characters, EOS rate {sft_eval.has_eos.float().mean():.2f}")
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
        pairs = reward_model.preference_pairs(sft, tok, task, P.rm_pairs, np.random.default_rng(seed),
                                              max_new_tokens=P.max_new_tokens)
    rm_path, rm_log = reward_model.train_reward_model(sft_path, tok, pairs, workdir / "rm", steps=P.rm_steps,
                                                      batch_size=32, lr=1e-3, seed=seed)
proxy_fn = reward_model.proxy_reward(rm_path, tok, device)  # r_phi, frozen
rm_seconds = time.perf_counter() - t0

# held-out accuracy against the gold ranking (not the biased raters)
torch.manual_seed(seed + 1)
other = rollout.generate(sft, tok, eval_prompts, max_new_tokens=P.max_new_tokens)
g_a, g_b, p_a, p_b = sft_gold, gold_fn(other), proxy_fn(sft_eval), proxy_fn(other)
differ = g_a != g_b
rm_gold_acc = ((p_a > p_b) == (g_a > g_b))[differ].float().mean().item()
rm_corr = float(np.corrcoef(p_a.numpy(), g_a.numpy())[0, 1])
print(f"reward model trained in {rm_seconds:.1f} s; accuracy on held-out SFT pairs ranked by gold: "
      f"{rm_gold_acc:.2f}; correlation(proxy, gold) on SFT samples: {rm_corr:.2f}")
results.metric("rm_gold_accuracy", rm_gold_acc)
results.metric("rm_gold_correlation", rm_corr);

# %% [markdown]
# Where is the reward model wrong? Probe it off the SFT distribution: take the best words of a
# topic and write responses of growing length, once with distinct words and once repeating the
# best word. The gold reward peaks at six distinct good words and falls for repetitions; the
# reward model has never seen either regime.

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
fig.suptitle("The exploitable gap: the proxy keeps paying for length that gold punishes")
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
# ## 4. Four configurations
#
# All four start from the same SFT policy and reward model and see the same number of prompts.
# Vanilla PPO keeps only the clipped surrogate, GAE and advantage whitening, and its critic is the
# SFT backbone with a fresh value head; the other three are PPO-max with one switch flipped.

# %%
CONFIGS = {
    "A vanilla PPO": dict(ppo.VANILLA),
    "B PPO-max": dict(),
    "C PPO-max, no KL": dict(kl_coef=0.0),
    "D PPO-max, no reward norm": dict(reward_norm=False, reward_clip=None),
}


def config_for(overrides):
    settings = dict(iterations=P.iterations, prompts_per_iteration=P.prompts_per_iteration,
                    max_new_tokens=P.max_new_tokens, lr=P.lr, kl_coef=P.kl_coef, critic_warmup=P.critic_warmup)
    return ppo.PPOConfig(**(settings | overrides))


switches = ["reward_norm", "reward_clip", "kl_coef", "advantage_whiten", "advantage_clip", "value_clip",
            "critic_warmup", "grad_clip"]
table = pd.DataFrame({name: {s: getattr(config_for(o), s) for s in switches} for name, o in CONFIGS.items()})
table.loc["critic init"] = ["SFT + fresh head", "reward model", "reward model", "reward model"]
display.table(table)

# %%
def repeat_rate(responses):
    """Fraction of responses that use some word twice (the collapse pattern of this toy world)."""
    return float(np.mean([len(r.split()) != len(set(r.split())) for r in responses]))


def run(name, overrides, run_seed):
    env.seed_everything(run_seed)
    policy, _ = models.load_policy(sft_path)
    critic, _ = models.load_reward_model(sft_path if name.startswith("A") else rm_path, tok)
    policy.to(device), critic.to(device)
    log = ppo.train(policy, sft, critic, tok, task.sample_prompts, proxy_fn, config_for(overrides), seed=run_seed,
                    gold_fn=gold_fn, desc=f"{name} (seed {run_seed})")
    torch.manual_seed(10_000 + run_seed)
    final = rollout.generate(policy, tok, eval_prompts, max_new_tokens=P.max_new_tokens)
    gold = gold_fn(final)
    win = ((gold > sft_gold).float() + 0.5 * (gold == sft_gold).float()).mean().item()
    return pd.DataFrame(log).assign(config=name, seed=run_seed), dict(
        config=name, seed=run_seed, eval_gold=gold.mean().item(), eval_proxy=proxy_fn(final).mean().item(),
        win_rate=win, repeat_rate=repeat_rate(final.responses), samples=final.responses[:4])


t0 = time.perf_counter()
logs, finals = [], []
for s in seeds:
    for name, overrides in CONFIGS.items():
        log, final = run(name, overrides, s)
        logs.append(log)
        finals.append(final)
logs = pd.concat(logs, ignore_index=True)
finals = pd.DataFrame(finals)
ppo_seconds = time.perf_counter() - t0
sec_per_it = logs["seconds"].mean()
print(f"{len(seeds) * len(CONFIGS)} PPO runs in {ppo_seconds:.0f} s; {sec_per_it:.2f} s per PPO iteration "
      f"({P.prompts_per_iteration} samples, 4 epochs; generation {logs['generate_s'].mean():.2f} s of it)")
results.timing("seconds_per_ppo_iteration", sec_per_it);

# %% [markdown]
# The over-optimisation picture. Look at the vanilla panel: the proxy reward (reward model)
# keeps rising while the gold reward turns down. Thin lines are seeds, thick lines the mean
# over seeds (a moving average over 5 iterations, as all curves below).

# %% tags=["hide-input"]
SMOOTH = 5


def smooth(x):
    return pd.Series(np.asarray(x, float)).rolling(SMOOTH, min_periods=1).mean().to_numpy()


def curves(metric):
    """config -> array [seeds, iterations] of the smoothed metric."""
    return {name: np.stack([smooth(g[metric]) for _, g in logs[logs.config == name].groupby("seed")])
            for name in CONFIGS}


proxy_c, gold_c, kl_c, len_c = curves("proxy_reward"), curves("gold_reward"), curves("kl"), curves("length")
fig, axes = plt.subplots(2, 2, figsize=(10, 6.4), sharey=True, sharex=True)
for ax, name in zip(axes.flat, CONFIGS):
    it = np.arange(P.iterations)
    for c, arr, label in (("C0", proxy_c[name], "proxy (reward model)"), ("C3", gold_c[name], "gold")):
        ax.plot(it, arr.T, color=c, lw=0.6, alpha=0.5)
        ax.plot(it, arr.mean(0), color=c, lw=2, label=label)
    ax.axhline(sft_gold.mean().item(), color="grey", ls=":", label="SFT gold")
    ax.set_title(name)
for ax in axes[1]:
    ax.set_xlabel("PPO iteration")
for ax in axes[:, 0]:
    ax.set_ylabel("mean reward per response")
axes[0, 0].legend()
fig.suptitle("Proxy vs gold reward during PPO")
plt.tight_layout()
plt.show()

# %% [markdown]
# The drift indicators the paper recommends watching: the KL to the SFT policy and the response
# length. Configurations without a KL penalty drift far from the SFT policy.

# %% tags=["hide-input"]
fig, axes = plt.subplots(2, 2, figsize=(10, 6.4))
axes = axes.ravel()
axes[3].axis("off")
for name in CONFIGS:
    axes[0].plot(kl_c[name].mean(0), label=name)
    axes[1].plot(len_c[name].mean(0), label=name)
    axes[2].plot(curves("perplexity")[name].mean(0), label=name)
axes[0].set(title="KL(policy || SFT) per response", xlabel="PPO iteration", ylabel="nats (k1, summed over tokens)")
axes[1].set(title="Response length", xlabel="PPO iteration", ylabel="characters (incl. EOS)")
axes[2].set(title="Perplexity of own samples", xlabel="PPO iteration", ylabel="perplexity")
axes[0].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# Gold win rate against the SFT policy on held-out prompts (one sample each; a tie counts half),
# and what the final policies write. Length alone does not separate the configurations here
# (the gold-optimal answer, six good words, is also longer than the SFT policy's typical one);
# repeated words, which the reward model never saw, do:

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(7, 3))
wr = finals.groupby("config", sort=False)["win_rate"]
ax.bar(range(len(CONFIGS)), wr.mean(), yerr=wr.std().fillna(0), color=["C3", "C2", "C1", "C4"])
ax.axhline(0.5, color="grey", ls=":")
ax.set_xticks(range(len(CONFIGS)), [n.split(" ", 1)[1] for n in CONFIGS], fontsize=8)
ax.set(ylabel="gold win rate vs SFT", title="Who beats the SFT policy by gold reward?", ylim=(0, 1))
plt.tight_layout()
plt.show()
print(f"SFT policy: length {sft_eval.lengths.float().mean():.1f} characters, "
      f"{repeat_rate(sft_eval.responses):.0%} of responses repeat a word")
for name in CONFIGS:
    f = finals[finals.config == name]
    print(f"{name}: length {len_c[name][:, -1].mean():.1f} characters at the end, "
          f"{f['repeat_rate'].mean():.0%} of held-out responses repeat a word; e.g. {f.iloc[0]['samples'][:3]}")

# %% [markdown]
# ## 5. What each ingredient changed
#
# End values are the means over the last 5 iterations; the peak is the maximum of the smoothed
# gold curve; all are averaged over seeds.

# %%
def summary(name):
    g, p = gold_c[name], proxy_c[name]
    peak_it = g.argmax(1)
    return {
        "gold peak": g.max(1).mean(),
        "gold end": g[:, -1].mean(),
        "proxy at gold peak": np.mean([p[i, j] for i, j in enumerate(peak_it)]),
        "proxy end": p[:, -1].mean(),
        "KL end (nats)": kl_c[name][:, -1].mean(),
        "length end (chars)": len_c[name][:, -1].mean(),
        "win rate vs SFT": finals[finals.config == name]["win_rate"].mean(),
        "repeat rate (held-out)": finals[finals.config == name]["repeat_rate"].mean(),
    }


ends = pd.DataFrame({name: summary(name) for name in CONFIGS}).T
for name, row in ends.iterrows():
    results.metric(f"end[{name}]", row.to_dict())
display.table(ends)

# %%
b, c, d, a = (ends.loc[n] for n in ("B PPO-max", "C PPO-max, no KL", "D PPO-max, no reward norm", "A vanilla PPO"))
ingredients = pd.DataFrame([
    ("token-level KL penalty (Eq. 19)", "the key constraint", "B vs C",
     f"gold end {b['gold end']:.2f} vs {c['gold end']:.2f}; KL {b['KL end (nats)']:.2f} vs {c['KL end (nats)']:.2f}"),
    ("reward normalisation + clipping (Eq. 18)", "early stability", "B vs D",
     f"gold end {b['gold end']:.2f} vs {d['gold end']:.2f}; KL {b['KL end (nats)']:.2f} vs {d['KL end (nats)']:.2f}"),
    ("all of PPO-max (+ RM critic, warm-up, value & grad clipping)", "stable training", "B vs A",
     f"gold end {b['gold end']:.2f} vs {a['gold end']:.2f}; win rate {b['win rate vs SFT']:.2f} vs "
     f"{a['win rate vs SFT']:.2f}"),
], columns=["ingredient", "role in the paper", "comparison", "what it changed here"])
display.table(ingredients)

# %% [markdown]
# ## 6. The same budget with TRL's GRPOTrainer
#
# GRPO {footcite}`shao2024deepseekmath` drops the critic: it samples a group of responses per prompt
# and uses the group-normalised reward as every token's advantage. Many readers will reach for
# it first, so it gets the same number of sampled responses as one PPO-max run, the same reward
# model (wrapped so that it sees prompt + response + EOS, as it was trained) and the same
# learning rate. TRL's GRPO puts the KL term into the loss ($\beta = 0.05$) rather than into the
# reward, and does one optimisation pass per batch (`num_iterations=1`) where our PPO does four.

# %%
import transformers
from trl import GRPOConfig, GRPOTrainer
from datasets import Dataset

grpo_trace = []


def grpo_reward(prompts, completions, completion_ids, **_):
    r = rollout.rollout_from_ids(tok, prompts, completion_ids)
    proxy, gold = proxy_fn(r), gold_fn(r)
    grpo_trace.append((len(prompts), proxy.mean().item(), gold.mean().item(), r.lengths.float().mean().item()))
    return proxy.tolist()


budget = P.iterations * P.prompts_per_iteration
per_step = P.prompts_per_iteration
on_gpu = torch.cuda.is_available()
grpo_args = GRPOConfig(
    output_dir=str(workdir / "grpo"), max_steps=budget // per_step, per_device_train_batch_size=per_step,
    num_generations=P.grpo_generations, max_completion_length=P.max_new_tokens, temperature=1.0,
    learning_rate=P.lr, beta=P.kl_coef, lr_scheduler_type="constant", logging_steps=1, report_to="none",
    save_strategy="no", use_cpu=not on_gpu, bf16=on_gpu and torch.cuda.is_bf16_supported(),
    activation_checkpointing=False, seed=seed, disable_tqdm=True, max_grad_norm=1.0,
)
grpo_prompts = Dataset.from_dict({"prompt": task.sample_prompts(budget, np.random.default_rng(seed + 7))})
grpo_policy, _ = models.load_policy(sft_path)
env.seed_everything(seed)
trainer = GRPOTrainer(model=grpo_policy, reward_funcs=[grpo_reward], args=grpo_args, train_dataset=grpo_prompts,
                      processing_class=tok)
trainer.remove_callback(transformers.PrinterCallback)
t0 = time.perf_counter()
trainer.train()
grpo_seconds = time.perf_counter() - t0
grpo_policy = trainer.model.eval()
torch.manual_seed(10_000 + seed)
grpo_final = rollout.generate(grpo_policy, tok, eval_prompts, max_new_tokens=P.max_new_tokens)
grpo_gold = gold_fn(grpo_final)
grpo_win = ((grpo_gold > sft_gold).float() + 0.5 * (grpo_gold == sft_gold).float()).mean().item()

ppo_max = logs[(logs.config == "B PPO-max") & (logs.seed == seed)]
grpo_df = pd.DataFrame(grpo_trace, columns=["n", "proxy_reward", "gold_reward", "length"])
grpo_df["samples"] = grpo_df["n"].cumsum()
comparison = pd.DataFrame({
    "sampled responses": [int(ppo_max["samples"].sum()), int(grpo_df["n"].sum())],
    "wall time (s)": [ppo_max["seconds"].sum(), grpo_seconds],
    "proxy reward, last 20% of samples": [ppo_max["proxy_reward"].iloc[-max(1, len(ppo_max) // 5):].mean(),
                                          grpo_df["proxy_reward"].iloc[-max(1, len(grpo_df) // 5):].mean()],
    "held-out gold reward": [finals[(finals.config == "B PPO-max") & (finals.seed == seed)]["eval_gold"].item(),
                             grpo_gold.mean().item()],
    "gold win rate vs SFT": [finals[(finals.config == "B PPO-max") & (finals.seed == seed)]["win_rate"].item(),
                             grpo_win],
}, index=["our PPO-max", "TRL GRPO"])
results.metric("grpo_vs_ppo", comparison.drop(columns="wall time (s)").to_dict(orient="index"))
results.timing("grpo_vs_ppo_wall_s", comparison["wall time (s)"].to_dict())
display.table(comparison)

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(7, 3.5))
x_ppo = ppo_max["samples"].cumsum().to_numpy()
ax.plot(x_ppo, smooth(ppo_max["proxy_reward"]), "C0-", label="PPO-max: proxy")
ax.plot(x_ppo, smooth(ppo_max["gold_reward"]), "C0--", label="PPO-max: gold")
ax.plot(grpo_df["samples"], smooth(grpo_df["proxy_reward"]), "C1-", label="GRPO: proxy")
ax.plot(grpo_df["samples"], smooth(grpo_df["gold_reward"]), "C1--", label="GRPO: gold")
ax.set(xlabel="sampled responses", ylabel="mean reward per response", title="PPO-max vs TRL GRPO at equal samples")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Paper vs this book
#
# The paper's qualitative results (LLaMA-7B, HH-RLHF, human and GPT-4 judges) beside ours
# (a 0.5M-parameter toy policy, exact gold reward). Our column is computed from the runs above.

# %%
def fmt(name, key):
    return f"{ends.loc[name, key]:.2f}"


paper_vs_book = pd.DataFrame([
    ("vanilla PPO: reward keeps rising while quality collapses (Fig. 4)",
     "yes: RM score up, human-judged quality down after ~1k steps",
     f"proxy {fmt('A vanilla PPO', 'proxy at gold peak')} -> {fmt('A vanilla PPO', 'proxy end')}, gold "
     f"{fmt('A vanilla PPO', 'gold peak')} -> {fmt('A vanilla PPO', 'gold end')}"),
    ("collapse indicators: KL and length up, perplexity down (Fig. 4, 13)",
     "KL to ~0.1-0.2 per token, length to ~500 tokens, perplexity 1.02 -> 1.00",
     f"vanilla KL {fmt('A vanilla PPO', 'KL end (nats)')} nats per response, length "
     f"{fmt('A vanilla PPO', 'length end (chars)')} chars (SFT {sft_eval.lengths.float().mean():.1f})"),
    ("reward normalisation / clipping alone: early stability only (Fig. 6)",
     "collapse re-appears later", f"C (norm, no KL): gold end {fmt('C PPO-max, no KL', 'gold end')} "
     f"vs peak {fmt('C PPO-max, no KL', 'gold peak')}"),
    ("KL penalty gives lasting stability (Fig. 7)", "yes (eta 0.05)",
     f"B: gold end {fmt('B PPO-max', 'gold end')} vs peak {fmt('B PPO-max', 'gold peak')}"),
    ("PPO-max beats SFT (Fig. 10)", "human win rate 62% (harmless) / 44% (helpful), EN",
     f"gold win rate {ends.loc['B PPO-max', 'win rate vs SFT']:.0%}"),
    ("PPO-max stable for 10k steps (Fig. 9)", "yes", f"{P.iterations} iterations only"),
], columns=["finding (paper figure)", "paper", "this book"])
display.table(paper_vs_book)

# %% [markdown]
# The differences are of scale: the paper's models and runs are 10^4 times larger, its judges
# are people and its reward model a 7B network; ours are exact gold scores and a 0.5M network,
# and our reward model's flaw (paying for length, blind to repetition) is designed in, so the
# *mechanism* of over-optimisation is visible rather than inferred. The critic initialisation
# (Fig. 8) is not ablated on its own here: it changes together with the other switches
# between A and B.

# %% [markdown]
# ## Reproduction checks
#
# Per seed, "end" is the smoothed value at the last iteration and the "gold peak" is the
# maximum of the smoothed gold curve. Thresholds were fixed from the paper's claims before any run.

# %%
def collapse(name):
    """Per seed: proxy at the end above proxy at the gold peak, gold at the end <= 0.8 x its peak."""
    g, p = gold_c[name], proxy_c[name]
    out = []
    for i in range(len(seeds)):
        j = int(g[i].argmax())
        out.append(bool(p[i, -1] > p[i, j] and g[i, -1] <= 0.8 * g[i, j]))
    return out


vanilla_collapse, nokl_collapse = collapse("A vanilla PPO"), collapse("C PPO-max, no KL")
COLLAPSE_RULE = ("per seed: proxy at the end above proxy at the gold peak and gold end <= 0.8 x gold peak; "
                 "decisive number: gold end / peak; passes in a majority of seeds")


def end_over_peak(name):
    """Per seed: smoothed gold at the last iteration over its peak."""
    g = gold_c[name]
    return {s: float(g[i, -1] / g[i].max()) for i, s in enumerate(seeds)}


results.check(
    "vanilla_overoptimises", kind="finding",
    claim="Vanilla PPO over-optimises the reward model: proxy reward rises while gold reward falls.",
    paper="Fig. 4: reward rises, human-judged quality collapses",
    per_seed=end_over_peak("A vanilla PPO"), threshold=0.8, direction="<=", rule=COLLAPSE_RULE,
    ours={"collapsed seeds": f"{sum(vanilla_collapse)} of {len(seeds)}"},
    passed=sum(vanilla_collapse) > len(seeds) / 2,
)
gB = gold_c["B PPO-max"]
b_kl, a_kl = kl_c["B PPO-max"][:, -1].mean(), kl_c["A vanilla PPO"][:, -1].mean()
b_finals = finals[finals.config == "B PPO-max"]
b_win = b_finals["win_rate"].mean()
b_ratio = end_over_peak("B PPO-max")
results.check(
    "ppo_max_beats_sft", kind="finding",
    claim="PPO-max improves on the SFT policy by gold reward without collapsing.",
    paper="Fig. 10: 62% / 44% human win rate vs SFT (harmless / helpful, EN)",
    per_seed=dict(zip(b_finals["seed"], b_finals["win_rate"])), threshold=0.60, direction=">=",
    rule="mean gold win rate vs SFT over seeds >= 0.60, with gold end above SFT gold and end >= 0.95 x peak",
    ours={"gold end": float(gB[:, -1].mean()), "SFT gold": sft_gold.mean().item(),
          "gold end / peak (mean)": float(np.mean(list(b_ratio.values())))},
    passed=bool(b_win >= 0.60 and gB[:, -1].mean() > sft_gold.mean().item() and min(b_ratio.values()) >= 0.95),
)
results.check(
    "no_kl_collapses", kind="control",
    claim="Policy constraints are the key factor: PPO-max without the KL penalty collapses again.",
    paper="Fig. 7: without the KL penalty (or entropy bonus) training collapses",
    per_seed=end_over_peak("C PPO-max, no KL"), threshold=0.8, direction="<=", rule=COLLAPSE_RULE,
    ours={"collapsed seeds": f"{sum(nokl_collapse)} of {len(seeds)}"},
    passed=sum(nokl_collapse) > len(seeds) / 2,
)
results.check(
    "ppo_max_kl_below_vanilla", kind="sanity",
    claim="PPO-max (with a KL penalty) ends closer to the SFT policy than vanilla PPO (without one).",
    paper="Fig. 9: PPO-max keeps the KL small",
    value=float(b_kl), threshold=float(0.5 * a_kl), direction="<=",
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
#   wrong (here: length and repetition) and the proxy reward keeps rising while the gold reward falls.
# - Watch KL to the SFT policy, response length and the perplexity of the policy's own samples:
#   they move before the damage is visible in a proxy reward curve.
# - The token-level KL penalty is PPO-max's key ingredient: remove it and over-optimisation returns.
#
# ## Exercises
#
# 1. Switch on the PPO-ptx loss (`ptx_coef`) in PPO-max with SFT demonstrations as the
#    "pre-training" data. Does it keep the policy closer to the SFT policy?

# %% tags=["hide-input"]
# Solution to exercise 1 (a short run; compare the KL with configuration B's).
from rlhfbook.toyworld.sft import demonstration_batch

ptx_rng = np.random.default_rng(seed)
env.seed_everything(seed)
policy, _ = models.load_policy(sft_path)
critic, _ = models.load_reward_model(rm_path, tok)
cfg = config_for(dict(ptx_coef=0.5, iterations=P.exercise_iterations))
log = pd.DataFrame(ppo.train(policy, sft, critic, tok, task.sample_prompts, proxy_fn, cfg, seed=seed, gold_fn=gold_fn,
                             ptx_batch=lambda: demonstration_batch(task, tok, 16, ptx_rng), desc="PPO-max + ptx"))
same = logs[(logs.config == "B PPO-max") & (logs.seed == seed)].iloc[: len(log)]
print(f"after {len(log)} iterations: KL {log['kl'].iloc[-5:].mean():.2f} with ptx vs {same['kl'].iloc[-5:].mean():.2f} "
      f"without; gold {log['gold_reward'].iloc[-5:].mean():.2f} vs {same['gold_reward'].iloc[-5:].mean():.2f}")

# %% [markdown]
# 2. Halve and double the KL coefficient $\eta$ in PPO-max. Where does the gold reward at the end
#    peak? (The paper sweeps 0.05, 0.1, 0.2 in its Fig. 15.)

# %% tags=["hide-input"]
# Solution to exercise 2: one seed, a short run per setting.
rows = []
for eta in (P.kl_coef / 2, P.kl_coef * 2):
    env.seed_everything(seed)
    policy, _ = models.load_policy(sft_path)
    critic, _ = models.load_reward_model(rm_path, tok)
    log = pd.DataFrame(ppo.train(policy, sft, critic, tok, task.sample_prompts, proxy_fn,
                                 config_for(dict(kl_coef=eta, iterations=P.exercise_iterations)),
                                 seed=seed, gold_fn=gold_fn, desc=f"eta={eta}"))
    rows.append({"eta": eta, "gold end": log["gold_reward"].iloc[-5:].mean(), "KL end": log["kl"].iloc[-5:].mean()})
same = logs[(logs.config == "B PPO-max") & (logs.seed == seed)].iloc[: P.exercise_iterations]
rows.append({"eta": P.kl_coef, "gold end": same["gold_reward"].iloc[-5:].mean(), "KL end": same["kl"].iloc[-5:].mean()})
display.table(pd.DataFrame(rows).sort_values("eta"))

# %% [markdown]
# ## References
#
# ```{footbibliography}
# ```
#
# The whole book's references are on the [bibliography](../book/bibliography.md) page.
