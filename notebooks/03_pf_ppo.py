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
# # 3. Policy filtration for PPO (PF-PPO)
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rlhf-measured/rlhf-measured/blob/main/notebooks/03_pf_ppo.ipynb)
#
# **The paper's claim.** Shen & Zhang {footcite}`shen2024policy` fine-tune a code model with PPO
# against a reward model and observe that the reward model is more reliable where it gives high
# (or low) rewards than in the middle. **PF-PPO** samples $N$ responses per prompt, ranks them by
# reward and trains PPO only on a filtered subset: best-of-N (BoN), best and one random other (BR)
# or best and worst (BW). The filter changes the signal-to-noise ratio of the update; the $R^2$
# between rewards and actual scores (unit-test pass rates) on the filtered samples predicts which
# filter helps; BoN hurts because the update loses its contrast; and PF-PPO with BR or BW beats
# PPO with one or with $N$ samples per prompt (PPO-S, PPO-M) on HumanEval, MBPP and LeetCode.
#
# **What this chapter reproduces, and at what scale.** The verifiable code task of chapter 0
# (a prompt shows three input/output examples, a response is a program of up to three operations,
# the actual score is the fraction of five hidden unit tests passed; a program *passes* when it
# passes all five), here with prompts that all need exactly two operations (`ops`), the 0.5M-parameter
# SFT policy of chapter 0, and reward models trained with
# TRL's `RewardTrainer` on pairs of SFT samples labelled by noisy raters who go by the unit tests.
# Every seed trains its own reward model. Part A measures where the reward models are reliable and the
# $R^2$ of every filter without training (the paper's Fig. 1 and Table 1), with a spread over seeds; Part B
# trains PPO-M and PF-PPO with BoN, BR and BW ($N = 5$) with chapter 1's PPO loop at an equal budget of
# sampled responses (Tables 3 and 4), and, as a control of the paper's mechanism, PPO-M and BW once more
# against the unit tests themselves, a reward that is reliable everywhere. The `gpu` profile (a Colab T4: one seed, no control) and
# `gpu-full` (an 80 GB GPU: six seeds and the control) run the same chapter on a code model and MBPP
# {footcite}`austin2021program`, with generated programs executed in a sandboxed subprocess; there the policy and
# the critic train low-rank adapters {footcite}`hu2022lora` (`lora_rank`) so that both fit a 16 GB GPU.
#
# **Three departures from the paper, each measured below.** (1) The reward model that PPO optimises
# reads, besides the prompt and the program, what the program outputs on the prompt's three shown
# examples (never the hidden tests). The paper's reward model reads only the code; Part A trains one
# of those too, on the same data, and measures both. (2) pass@1 is the probability that one program sampled from the
# policy passes, computed exactly; the paper decodes greedily, and greedy pass@1 is reported beside it.
# (3) Every prompt needs two operations, where the paper's benchmarks mix easy and hard problems: on chapter
# 0's mix of one to three operations, PPO learns to stop after one (Part B).

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
model_name = None  # a local folder or hub id of a causal LM (gpu profile); None = the toy world's SFT policy
reward_model_name = None  # a reward model that reads code_tasks.with_execution's text; None = train one here
dataset = None  # MBPP-format problems: a local .json/.jsonl file or hub id; None = the toy code task
iterations = None  # PPO iterations per run; None = the profile's
n_seeds = None  # seeds per method; None = the profile's
autocast = None  # "float32" when fp16 overflows on a T4 (see the running page); None = the profile's

# %%
import rlhfbook
from rlhfbook.core import runtime
from rlhfbook.report import diagram, display

P, results = rlhfbook.start_chapter(
    "03_pf_ppo",
    profile,
    seed,
    model_name=model_name,
    reward_model_name=reward_model_name,
    dataset=dataset,
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
from IPython.display import display as show

from rlhfbook.chapters.ch03_pf_ppo import pf_ppo
from rlhfbook.chapters.ch03_pf_ppo import pf_ppo_figures as figures
from rlhfbook.chapters.ch03_pf_ppo.pf_ppo import READS, VERIFY
from rlhfbook.core import parallel
from rlhfbook.lm import models
from rlhfbook.methods import filtration
from rlhfbook.tasks import code_tasks, toyworld

# %%
N = P.n_samples
workdir = Path(tempfile.mkdtemp(prefix="ch03_"))
task, eval_task, eval_prompts = pf_ppo.chapter_tasks(P, seed)  # gpu: MBPP + sandbox
sft_path = str(
    P.model_name or toyworld.base_policy("code", P.base_policy, progress=False)
)
sft, tok = models.load_policy(sft_path, frozen=True)  # the reference pi_SFT
device = runtime.device()
sft.to(device)
seeds = [seed + i for i in range(P.n_seeds)]
sft_greedy, _, sft_answers = pf_ppo.pass_eval(
    sft, tok, eval_task, eval_prompts, P.max_new_tokens
)
sft_pass = pf_ppo.sampled_pass_rate(
    sft, tok, eval_task, eval_prompts, P.max_new_tokens, P.eval_samples
)
print(
    f"SFT policy {models.display_name(sft_path)}: {sum(p.numel() for p in sft.parameters()) / 1e6:.2f}M "
    f"parameters; on {len(eval_prompts)} held-out prompts pass@1 = {sft_pass.mean():.3f} (a sampled program), "
    f"{sft_greedy.mean():.3f} (greedy)"
)
results.metric("sft_pass1", float(sft_pass.mean()))
results.metric("sft_greedy_pass1", float(sft_greedy.mean()));

# %% [markdown]
# pass@1 here is the probability that *one sampled program* passes, summed exactly over the
# language's programs ($\sum_{y\ \text{passes}} \pi(y\mid x)$, the quantity sampling estimates;
# chapter 0's language has a few hundred programs). It has no sampling noise, so a difference between
# two methods on the same held-out prompts is measured to a fraction of a point:

# %%
display.show_source(pf_ppo.exact_pass_rate)

# %% tags=["remove-cell"]
display.figure(
    diagram.pipeline(
        [
            (
                "data",
                "Code task",
                "programs with unit tests; an actual score in [0, 1]",
            ),
            ("model", "SFT policy", "the code base policy of chapter 0"),
            ("model", "Reward model", f"per seed, on {P.rm_prompts} prompts' samples"),
            (
                "train",
                "PPO and PF-PPO",
                ", ".join(m.removeprefix("PF-PPO (").rstrip(")") for m in P.methods)
                + f"; {P.iterations} iterations",
            ),
            (
                "evaluate",
                "pass@1 and R²",
                f"held-out pass@1 over {P.n_seeds} seeds; R² of filters",
            ),
        ]
    ),
    "ch3-pipeline",
)

# %% [markdown]
# ```{glue:figure} ch3-pipeline
# :name: fig-ch3-pipeline
# :alt: Five boxes: code task, SFT policy, reward model, PPO and PF-PPO, pass@1 and R squared
#
# What the chapter runs on every seed: a reward model trained on the SFT policy's programs, PPO with and without each filter against it (and, in the control, against the unit tests), the held-out pass@1 of every run, and the R² of each filter on the SFT policy's samples.
# ```

# %% [markdown]
# ## 1. The filtered policy
#
# For a prompt $c$, PF-PPO samples $N$ responses from $\pi_\theta(\cdot\mid c)$, sorts them by reward
# $r_\phi(y_1\mid c) \ge \dots \ge r_\phi(y_N\mid c)$ and outputs $y_i$ with probability $w_i$. This
# defines the **filtered policy** $\mu_\theta$, and the objective becomes (the paper's Eq. 5)
#
# $$\max_\theta\ \mathbb{E}_{c}\,\mathbb{E}_{y\sim\mu_\theta(\cdot\mid c)}\big[r_\phi(y\mid c)\big]
#   - \beta\,\mathrm{KL}\big(\mu_\theta\,\|\,\pi_{\mathrm{SFT}}\big),$$
#
# with three weight vectors over the ranks:
#
# $$w^{\mathrm{BoN}} = (1, 0, \dots, 0),\quad
#   w^{\mathrm{BR}} = \big(\tfrac12, \tfrac1{2(N-1)}, \dots, \tfrac1{2(N-1)}\big),\quad
#   w^{\mathrm{BW}} = \big(\tfrac12, 0, \dots, 0, \tfrac12\big).$$
#
# The paper's Sec. 5.6 also tries thresholds on the reward (keep the top, the top plus random
# others, the top and the bottom) and weights $\propto |r|^k$ (pow-$k$). Ranks come from a stable
# sort, so ties go to the earlier sample and the best and worst of a prompt are always two
# different samples:

# %%
display.show_source(filtration.rank_weights, filtration.sample_weights)

# %% [markdown]
# In training, the official code fills the PPO buffer with a fixed number of samples per prompt:
# BR keeps the best and one uniformly random other, BW the best and the worst, BoN only the best
# (a stratified sample of $\mu_\theta$). The filter is the `select` hook of chapter 1's loop,
# between scoring and the update; PPO-M is the same loop without a filter and PPO-S the same loop
# with one sample per prompt.

# %%
display.show_source(filtration.select_for_update, filtration.selector)

# %% [markdown]
# ## 2. Reward models, one per seed
#
# The paper trains its reward model on pairs of its SFT policy's samples ranked by unit tests. Here
# the SFT policy writes $N$ programs for each of a set of training prompts; every pair of a prompt's
# programs with different unit-test scores $s$ becomes a preference, labelled by a rater who
# prefers $a$ with probability $\sigma\big((s(a) - s(b))/\tau\big)$, so some labels are wrong.
# TRL's `RewardTrainer` fits the Bradley-Terry loss for one pass over the pairs, on two inputs:
#
# * **program only**, the paper's setup: prompt and program, character by character;
# * **program + shown outputs**: the same text followed by what the program outputs on the prompt's
#   three shown inputs and, for each, whether that equals the output the prompt shows (`==` or `!=`),
#   as a test report prints it. The hidden tests stay hidden: a program can get all three shown
#   examples right and still fail them, and getting one or two right says little about the rest.
#   What the reward model must learn from the noisy labels is what a report is worth.
#
# Every seed has its own training prompts, labels and reward model (the one PPO optimises, which reads the
# shown outputs), so that every number below that depends on a reward model has a spread over seeds; the
# character-only reward model is trained on the first seed only, as the reference.

# %%
display.show_source(code_tasks.unit_test_pairs, code_tasks.shown_outputs)


# %%
t0 = time.perf_counter()
pair_sets = pf_ppo.reward_model_pair_sets(P, seeds, sft_path, task)
trained = pf_ppo.train_seed_reward_models(
    pair_sets, tok, P, base=sft_path, workdir=workdir
)
rm_paths = {key: t["path"] for key, t in trained.items()} | (
    {(s, VERIFY): P.reward_model_name for s in seeds} if P.reward_model_name else {}
)
rm_seconds = time.perf_counter() - t0

# %% tags=["hide-input"]
results.timing("reward_models_s", rm_seconds)
results.timing("reward_models_cpu_s", sum(t["cpu_s"] for t in trained.values()))
example = pair_sets.get((seed, VERIFY), pair_sets[seed, "program only"]).rows()[0]
print(
    f"{len(trained)} reward models in {rm_seconds:.0f} s: "
    + "; ".join(
        f"seed {s} '{name}' {len(pair_sets[s, name])} pairs" for s, name in trained
    )
    + "\nwhat the second reward model reads, for a chosen and a rejected program:\n"
    f"  {example['prompt'] + example['chosen']}\n  {example['prompt'] + example['rejected']}"
)

# %% [markdown]
# ## Part A. Where is each reward model reliable? (no training)
#
# Fresh prompts for every seed, $N$ samples of the SFT policy each, scored by the seed's reward model and by
# the unit tests. A program cut off without EOS scores one standard deviation below the lowest score the
# reward model gives a complete program of the SFT policy, so that it ranks below every real
# program. Then the paper's Fig. 1: the samples sorted by reward and cut into regions of equal
# size, with the mean and spread of the actual score in each region, averaged over the seeds' reward models.

# %%
t0 = time.perf_counter()
part_a = pf_ppo.analysis_by_seed(P, seeds, sft_path, task, rm_paths)  # side by side
S = {s: a["S"] for s, a in part_a.items()}  # unit-test scores, (prompts, N)
R = {(s, name): r for s, a in part_a.items() for name, r in a["R"].items()}
floors = {s: a["floor"][VERIFY] for s, a in part_a.items()}
regions, r2_seeds = {}, {}
for s in seeds:
    regions[s] = filtration.reliability_by_region(R[s, VERIFY], S[s], P.n_regions)
    r2_seeds[s] = pf_ppo.seed_r2(
        R[s, VERIFY], S[s], pf_ppo.stream(s, "filter"), P.n_groups
    )
a_samples = part_a[seed]["samples"]  # the first seed's, for the detailed tables
results.timing("part_a_s", time.perf_counter() - t0)
results.metric("no_eos_score", {str(s): f for s, f in floors.items()})
over_seeds = pf_ppo.reliability_over_seeds(regions)
reference = filtration.reliability_by_region(
    R[seed, "program only"], S[seed], P.n_regions
)

# %% tags=["remove-cell"]
display.figure(
    figures.reliability_seeds_figure(over_seeds, reference), "ch3-reliability"
)

# %% [markdown]
# ```{glue:figure} ch3-reliability
# :name: fig-ch3-reliability
# :alt: Mean and standard deviation of the actual score in each tenth of the SFT samples sorted by reward, mean and 2 SE over seeds, with the character-only reward model in grey
#
# Each point is a tenth of the SFT samples, sorted by the reward model's score. Left: the mean
# actual score inside the region. Right: the standard deviation of the actual score inside the region (small = the reward pins the actual
# score down), mean ± 2 SE over the seeds' reward models; grey, the character-only reward model
# of the first seed.
# ```

# %% tags=["hide-input"]
spread_seeds = {s: pf_ppo.score_spread(regions[s]["score_std"]) for s in seeds}
spread = {
    key: float(np.mean([sp[key] for sp in spread_seeds.values()]))
    for key in spread_seeds[seed]
}
results.metric(
    "score_spread_by_region",
    {VERIFY: spread, "program only": pf_ppo.score_spread(reference["score_std"])},
)
results.metric("reliability_over_seeds", {k: v.tolist() for k, v in over_seeds.items()})
patterns = [pf_ppo.reliability_pattern(sp) for sp in spread_seeds.values()]
both_ends = sum(p.startswith("both ends") for p in patterns)
shown = {s: pf_ppo.shown_rates(task, part_a[s]["samples"]) for s in seeds}
shown_rate = shown[seed]
intruders = {s: pf_ppo.top_intruders(shown[s], R[s, VERIFY]) for s in seeds}
results.metric("top_fifth_not_all_shown_right", intruders)
spread_table = pd.DataFrame(spread_seeds).T.assign(
    **{"highest fifth: not all shown right (share)": pd.Series(intruders)}
)
display.table(spread_table.rename_axis("seed: spread (std) of the actual score"))

# %% tags=["hide-input"]
display.table(pf_ppo.score_by_shown_examples(shown_rate, S[seed]))
display.table(pf_ppo.reward_by_verdicts(task, a_samples, R[seed, VERIFY], S[seed]))

# %% tags=["remove-cell"]
sp_ref = pf_ppo.score_spread(reference["score_std"])
display.quote(
    n_seeds=len(seeds),
    spread_low=spread["lowest rewards"],
    spread_middle=spread["middle"],
    spread_high=spread["highest rewards"],
    both_ends=both_ends,
    ref_low=sp_ref["lowest rewards"],
    ref_middle=sp_ref["middle"],
    ref_high=sp_ref["highest rewards"],
    ref_pattern=pf_ppo.reliability_pattern(sp_ref),
    score_all_shown_right=pf_ppo.score_summary(S[seed], shown_rate, 1.0),
    score_none_shown_right=pf_ppo.score_summary(S[seed], shown_rate, 0.0),
    intruders_mean=float(np.mean(list(intruders.values()))),
    intruders_max=max(intruders.values()),
    intruders_corr=pf_ppo.seed_correlation(
        intruders, {s: sp["highest rewards"] for s, sp in spread_seeds.items()}
    ),
    all_right_share=float(np.mean([(v == 1).mean() for v in shown.values()])),
    top_floor=float(np.mean([pf_ppo.intruders_floor(v) for v in shown.values()])),
    least_reliable=max(spread, key=spread.get),
    agree_share=float(np.mean([np.isin(v, (0, 1)).mean() for v in shown.values()])),
)

# %% [markdown]
# Spread of the actual score in the lowest fifth of the rewards, the middle and the
# highest fifth, mean over {glue:text}`n_seeds` reward models that read the outputs:
# {glue:text}`spread_low:.2f`, {glue:text}`spread_middle:.2f`,
# {glue:text}`spread_high:.2f`; {glue:text}`both_ends` of {glue:text}`n_seeds` seeds have
# both ends more reliable than the middle, as in the paper's Fig. 1. The character-only
# reward model (first seed): {glue:text}`ref_low:.2f`, {glue:text}`ref_middle:.2f`,
# {glue:text}`ref_high:.2f` ({glue:text}`ref_pattern`).
#
# Why the profile has this shape, from the second and third tables (first seed). A program
# that gets every shown example right has an actual score of
# {glue:text}`score_all_shown_right`, one that gets none right
# {glue:text}`score_none_shown_right`: what a program that is wrong on the shown examples
# scores comes from hidden tests it passes by coincidence, which nothing the reward model
# reads can tell. The actual score is not spread evenly either: {glue:text}`all_right_share:.0%`
# of the SFT samples get all three shown examples right and {glue:text}`agree_share:.0%` get
# all or none right, so the regions of equal counts are mostly these two kinds. The highest fifth
# is reliable only if the reward model puts there the programs that get every example right and no
# others, which needs a fifth of the samples to get every example right: where fewer do, even a
# perfect ranking fills at least {glue:text}`top_floor:.0%` of the highest fifth (mean over the
# seeds) with others. The last column of the first table counts them (mean
# {glue:text}`intruders_mean:.2f` over the seeds, largest {glue:text}`intruders_max:.2f`; over the
# seeds their share and the spread of the highest fifth correlate at
# {glue:text}`intruders_corr:.2f`); the largest spread, mean over the seeds, is at the
# {glue:text}`least_reliable`. The third table shows what the first
# seed's reward model gives each pattern of right (`==`) and wrong (`!=`) shown examples. A reward model that
# reads only the characters of the program must run it in its head, and tells these kinds
# apart far less well.
#
# On chapter 0's mix of one to three operations, where more of the samples get every example right,
# the others in the highest fifth came from a shortcut. In most SFT samples the three verdicts
# agree (all right or all wrong), so one verdict orders most training pairs, and a reward model
# may learn to read that one: then a program with only that example right gets the reward of
# one with all three right (in the third table, a pattern with one `==` among the top rows). The
# pilot on that mix (seeds from `pilot_seed`; `benchmarks/ch03_reliability.py` and the rows of its
# `.jsonl` hold every number) found this on most seeds, and the paper's profile on the seeds whose reward
# model reads all three verdicts. It is not under-training: more passes over the pairs kept the
# shortcut, and on held-out pairs the reward models are about as accurate as a reward that knows
# only how many shown examples a program gets right. A count of right examples in place of the
# verdicts, or the verdicts sorted right-first, did not remove it; the count beside the verdicts
# with three passes removed it on some pilot seeds only, at three times the reward models'
# training time. There the paper's profile appeared where a seed's reward model happened to read
# all three verdicts, and the chapter keeps the reward model as it is.

# %% [markdown]
# Now the $R^2$ of the line $\hat s = a\,r + b$ fitted to samples of each filtered policy $\mu_\theta$, at the
# sample level and in the paper's grouped form (samples sorted by reward, cut into groups of equal size,
# fitted on group means):

# %%
display.show_source(filtration.grouped_r_squared, filtration.filtered_r_squared)

# %% [markdown]
# **Which $R^2$.** The paper's grouped $R^2$ fits the line to the means of 20 groups of samples sorted by
# reward: it averages away the noise *inside* each group, which is the noise a filter is meant to avoid, and on
# this task it is close to 1 for every filter. The ordering check therefore reads the **sample-level** $R^2$
# (one point per sample kept, what the update sees); the grouped one is shown beside it. Per seed (rows), the
# reward model of that seed on fresh SFT samples:

# %%
r2_sample = pf_ppo.r2_seed_table(r2_seeds, "sample")
r2_grouped = pf_ppo.r2_seed_table(r2_seeds, "grouped")
results.metric("r2_sft_per_seed", {str(s): v for s, v in r2_seeds.items()})
display.table(r2_sample.rename_axis("seed: sample-level R²"))

# %% tags=["hide-input"]
display.table(r2_grouped.rename_axis("seed: grouped R² (20 groups)"))

# %% [markdown]
# The first seed in more detail: both reward models, with a bootstrap over prompts for the standard errors,
# and the paper's Sec. 5.6 strategies (thresholds and $|r|^k$ on standardised rewards):

# %%
rng_boot = pf_ppo.stream(seed, "bootstrap")
r2_rows, boot = {}, {}
for name in READS:
    r2_rows[name], boot[name] = pf_ppo.r2_table(
        R[seed, name], S[seed], rng_boot, n_boot=P.n_boot, n_groups=P.n_groups
    )
results.metric(
    "r2_sft", {name: r2_rows[name].to_dict(orient="index") for name in READS}
)
display.table(pf_ppo.r2_first_seed_table(r2_rows))

# %% tags=["remove-cell"]
best = R[seed, VERIFY].argmax(1)
bon_right = shown_rate.reshape(-1, N)[np.arange(len(best)), best] == 1
r2_mean = r2_sample.loc["mean"]


def r2_of(name, label):
    return r2_rows[name].loc[label, "R² (samples)"]


display.quote(
    bon_right_share=float(bon_right.mean()),
    **{
        f"r2_mean_{k.replace(' ', '_')}": float(r2_mean[k])
        for k in ("BoN", "no filter", "BR", "BW")
    },
    **{
        f"r2_chars_{k.replace(' ', '_')}": float(r2_of("program only", k))
        for k in ("BoN", "no filter", "BW")
    },
)

# %% [markdown]
# BoN keeps each prompt's best sample. Under the first seed's reward model that sees the
# outputs, that sample gets every shown example right for
# {glue:text}`bon_right_share:.0%` of the prompts (such samples score
# {glue:text}`score_all_shown_right`). Over the {glue:text}`n_seeds` seeds' reward models
# the sample-level $R^2$ is {glue:text}`r2_mean_BoN:.3f` for BoN,
# {glue:text}`r2_mean_no_filter:.3f` without a filter, {glue:text}`r2_mean_BR:.3f` for BR
# and {glue:text}`r2_mean_BW:.3f` for BW (means). Under the character-only reward model
# (first seed): BoN {glue:text}`r2_chars_BoN:.3f`, no filter
# {glue:text}`r2_chars_no_filter:.3f`, BW {glue:text}`r2_chars_BW:.3f`.

# %% [markdown]
# ## Part B. Training at an equal budget of sampled responses
#
# Every method samples the same number of responses per iteration (`prompts_per_iteration` x $N$):
# PPO-M and PF-PPO $N$ per prompt (PPO-S, where `methods` names it, one per prompt for $N$ times as many
# prompts). PPO-M trains on all of them, PF-PPO on the filtered ones (BoN 1, BR and BW 2 of $N$).
# Everything else is chapter 1's PPO-max: reward normalisation, token-level KL penalty, advantage whitening,
# critic initialised from the reward model. The reward is the seed's reward model that sees the outputs;
# the policy itself sees only the prompt. On one seed every method starts from the same SFT policy, draws
# its training prompts from the same stream and is evaluated on the same held-out prompts, so each finding's
# number is a paired difference on that seed.
#
# **The control.** The same seed also trains PPO-M and PF-PPO (BW) against the unit-test score itself
# (the fraction of hidden tests passed), a reward that is reliable everywhere. If filtering helps *because*
# the reward model is unreliable in the middle of its range, it should help less there. One run is one
# function of plain arguments, so the runs of all methods and seeds go side by side, one per core:

# %%
display.show_source(pf_ppo.run_method)

# %%
rm_by_seed = {s: rm_paths[s, VERIFY] for s in seeds}
kw = dict(
    sft_path=sft_path,
    task=task,
    eval_task=eval_task,
    eval_prompts=eval_prompts,
    rm_path=rm_by_seed,
    no_eos_score=floors,
)
run_specs = pf_ppo.run_specs(P, seeds, **kw)  # PPO optimises the reward model
run_specs += pf_ppo.run_specs(P, seeds, reward="gold", methods=P.gold_methods, **kw)
t0 = time.perf_counter()
all_runs = parallel.map_runs(pf_ppo.run_method, run_specs, jobs=P.jobs)
train_seconds = time.perf_counter() - t0
runs = [r for r in all_runs if r["reward"] == "model"]
gold_runs = [r for r in all_runs if r["reward"] == "gold"]
logs, passed, greedy = pf_ppo.collect_runs(runs, P.methods)  # (seeds, prompts) each
_, passed_gold, greedy_gold = (
    pf_ppo.collect_runs(gold_runs, P.gold_methods) if gold_runs else (None, {}, {})
)

# %% tags=["hide-input"]
results.timing("ppo_runs_s", train_seconds)
results.timing("ppo_runs_cpu_s", sum(r["cpu_s"] for r in all_runs))
print(
    f"{len(all_runs)} PPO runs in {train_seconds:.0f} s ({P.iterations} iterations x {P.prompts_per_iteration * N} "
    f"sampled responses each; seeds {seeds}; lr {P.lr:g}, KL coefficient {P.kl_coef:g}, {P.epochs} PPO epochs, "
    f"set on pilot seeds from {P.pilot_seed}, benchmarks/ch03_pilot.py)"
)

# %% tags=["remove-cell"]
display.figure(figures.training_figure(logs, passed, sft_pass), "ch3-training")

# %% [markdown]
# ```{glue:figure} ch3-training
# :name: fig-ch3-training
# :alt: Actual score of sampled responses during training per method, and final held-out pass@1 per method with error bars
#
# Left: the actual score of the responses each method samples during training (fresh prompts
# every iteration). Right: the final policies' pass@1 on the held-out prompts; the dotted line
# is the SFT policy, and the error bars are two standard errors of the gain over it, paired over
# prompts and seeds.
# ```
#
# The paper's Table 3 next: final pass@1 of each method beside the $R^2$ of its filter on the SFT
# policy's samples (mean over the seeds' reward models; PPO-S and PPO-M do not filter: their $R^2$ is the
# unfiltered one), with greedy pass@1 and the fraction of answers cut off without EOS.

# %%
r2_mean_table = pd.DataFrame(
    {"R² (samples)": r2_sample.loc["mean"], "R² (grouped)": r2_grouped.loc["mean"]}
)
table3 = pf_ppo.final_table(runs, logs, passed, greedy, sft_pass, r2_mean_table)
print(
    f"SFT policy: pass@1 {sft_pass.mean():.3f} (sampled), {sft_greedy.mean():.3f} (greedy)"
)
display.table(table3)

# %% tags=["remove-cell"]
results.metric("final_pass1", table3["pass@1 (sampled)"].to_dict())
results.metric("final_greedy_pass1", table3["pass@1 (greedy)"].to_dict())
results.metric(
    "final_pass1_gold_reward", {m: float(p.mean()) for m, p in passed_gold.items()}
)
results.metric(
    "final_greedy_pass1_gold_reward",
    {m: float(p.mean()) for m, p in greedy_gold.items()},
)
results.metric(
    "truncated",
    table3[["truncated (greedy answers)", "truncated (training samples)"]].to_dict(
        orient="index"
    ),
)

# %%
if passed_gold:  # the control's runs (gold_methods)
    show(
        display.table(
            pf_ppo.gold_control_table(passed, greedy, passed_gold, greedy_gold)
        )
    )

# %% [markdown]
# **Why every prompt needs two operations.** In chapter 0's mix, almost half of the prompts need one
# operation, and a sampled program that needs two rarely passes. On those prompts PPO learned to stop
# after the first operation, and carried the habit to the prompts that need two: sampled pass@1 rose while
# greedy pass@1 fell (`benchmarks/ch03_greedy.py`, on pilot seeds). Here no program shorter than two
# operations fits a prompt's examples, so stopping early never pays. The table counts the operations of
# the greedy answers on the held-out prompts (share of answers, all seeds pooled).

# %% tags=["hide-input"]
if not P.dataset:  # answers of the toy language: one word per operation
    by_ops = pf_ppo.answer_ops_table(
        {
            "SFT": [sft_answers],
            "PPO-M": [r["greedy_answers"] for r in runs if r["method"] == "PPO-M"],
        }
    )
    results.metric("greedy_answer_operations", by_ops.to_dict(orient="index"))
    show(display.table(by_ops))

# %% tags=["remove-cell"]
display.quote(**pf_ppo.answer_ops_quotes(None if P.dataset else by_ops))

# %% [markdown]
# The SFT policy stops after one operation on a share {glue:text}`sft_ops1` of the prompts, although
# no one-operation program fits their examples; PPO-M on {glue:text}`ppo_ops1`, and it writes two operations on
# {glue:text}`ppo_ops2` (SFT: {glue:text}`sft_ops2`). With nothing to gain from stopping early, PPO
# moves the greedy answer toward the length the task needs.

# %% [markdown]
# Compute (the paper's Table 4): all methods *sample* the same number of responses, but the
# policy and the critic do forward and backward passes only on the responses that survive the
# filter. We count sample-passes: samples x PPO epochs, for the policy (after the critic warm-up)
# and the critic (every iteration).

# %%
compute = pf_ppo.compute_table(logs, P.methods)
results.metric("compute", compute.to_dict(orient="index"))
display.table(compute)

# %% [markdown]
# ## Paper vs this book
#
# The paper's reward model is a 6.7B network that reads code; its policy learns for 3k prompts x 5
# passes and it picks the best of 5 checkpoints on an evaluation set. Ours reads the program's outputs
# on the shown examples, and each policy trains for the iterations printed above; we report the final
# checkpoint, over several seeds.

# %% tags=["hide-input"]
display.table(
    pf_ppo.paper_r2_table(
        {
            "reads outputs, mean over seeds": r2_mean_table,
            "program only, first seed": r2_rows["program only"],
        }
    )
)

# %% tags=["hide-input"]
display.table(pf_ppo.paper_pass1_table(table3, compute))

# %% [markdown]
# ## Reproduction checks
#
# Every finding and control has one decisive number per seed, a paired difference on that seed's SFT
# policy, reward model, prompts and evaluation set; its verdict is the book's rule (mean ± 2 standard errors
# against the paper's threshold; see the scorecard). The thresholds were fixed from the paper before the
# checked seeds ran.
#
# 1. (control, the precondition of the comparison) PPO-M's held-out pass@1 minus the SFT policy's is
#    above 0.
# 2. PF-PPO with BR or BW reaches at least PPO-M's pass@1 minus 1 point and at least PF-PPO(BoN)'s plus
#    3 points (the pattern of the paper's Tables 2 and 3). Not evaluable when check 1 is contradicted.
# 3. On the SFT samples, BoN's sample-level $R^2$ is the lowest and BR's and BW's lie above the unfiltered
#    policy's (Table 1): per seed (its own reward model), the smallest of $R^2(\text{none}) - R^2(\mathrm{BoN})$,
#    $R^2(\mathrm{BR}) - R^2(\text{none})$ and $R^2(\mathrm{BW}) - R^2(\text{none})$, above 0.
# 4. The filter with the highest sample-level $R^2$ among BoN, BR and BW (on the seed's reward model) also
#    reaches the highest final pass@1 among them on that seed (the paper's use of $R^2$ to choose a filter).
# 5. (control, the book's test of the mechanism) BW's gain over PPO-M is larger when PPO optimises the reward
#    model than when it optimises the unit tests: per seed, $(\mathrm{BW} - \text{PPO-M})_{\text{reward model}}
#    - (\mathrm{BW} - \text{PPO-M})_{\text{unit tests}}$ above 0.
# 6. PF-PPO with BoN trains a worse policy than PPO-M (Table 2, on all three benchmarks; the paper's
#    explanation: the update needs bad samples for contrast): per seed, BoN's pass@1 minus PPO-M's, below 0.
# 7. (sanity) PF-PPO (BR and BW) uses at most 0.45 x the policy and critic passes of PPO-M:
#    true by construction, since the filter keeps 2 of 5 samples; it checks the bookkeeping.

# %% tags=["hide-input"]
per_seed_pass = {
    s: {m: float(passed[m][i].mean()) for m in P.methods} for i, s in enumerate(seeds)
}
per_seed_gold = {
    s: {m: float(passed_gold[m][i].mean()) for m in passed_gold}
    for i, s in enumerate(seeds)
}
mean_pass = {m: float(passed[m].mean()) for m in P.methods}
gain_m, se_m = pf_ppo.pass_rate_z(passed["PPO-M"], sft_pass)
gain_seeds = {s: p["PPO-M"] - float(sft_pass.mean()) for s, p in per_seed_pass.items()}
greedy_gain = float(greedy["PPO-M"].mean() - sft_greedy.mean())
results.check(
    "ppo_m_improves_over_sft",
    kind="control",
    claim="PPO against the reward model raises held-out pass@1 above the SFT policy's (every PPO variant does in "
    "Table 2).",
    paper="HumanEval pass@1: SFT 74.2, PPO-M 80.2",
    per_seed=gain_seeds,
    threshold=0.0,
    direction=">=",
    rule="per seed: PPO-M's pass@1 (exact, a sampled program) minus the SFT policy's on the same held-out prompts",
    ours={
        "SFT pass@1": float(sft_pass.mean()),
        "PPO-M pass@1": float(passed["PPO-M"].mean()),
        "gain": gain_m,
        "standard error (prompts and seeds)": se_m,
        "greedy gain": greedy_gain,
    },
    context=f"PPO-M moves pass@1 from {sft_pass.mean():.3f} to {mean_pass['PPO-M']:.3f}; greedy pass@1 (the "
    f"paper's metric) moves from {sft_greedy.mean():.3f} to {greedy['PPO-M'].mean():.3f}.",
)
control_failed = results.checks[-1].status == "contradicted"

PF = [m for m in ("PF-PPO (BR)", "PF-PPO (BW)") if m in P.methods]
finding2 = {s: pf_ppo.pf_margin(p, PF) for s, p in per_seed_pass.items()}
results.check(
    "pf_ppo_br_or_bw_beats_bon_and_matches_ppo_m",
    kind="finding",
    claim="PF-PPO with BR or BW is at least as good as PPO-M and better than PF-PPO(BoN) (Tables 2-3).",
    paper="HumanEval pass@1: PPO-M 80.8, BoN 75.8, BR 82.9, BW 82.4",
    per_seed=finding2,
    threshold=0.0,
    rule="per seed: max over BR, BW of min(pass@1 - (PPO-M - 0.01), pass@1 - (BoN + 0.03))",
    ours={f"pass@1 {m}": mean_pass[m] for m in P.methods},
    not_evaluable=f"PPO-M does not improve over the SFT policy (gain {gain_m:+.3f}, standard error {se_m:.3f}): "
    "the comparison of filters needs a PPO that learns."
    if control_failed
    else "",
)

finding3 = {s: pf_ppo.r2_ordering_margin(r2_seeds[s]) for s in seeds}
results.check(
    "r2_ordering_on_sft_samples",
    kind="finding",
    claim="BoN filtering gives the lowest R² between rewards and actual scores, BR and BW a higher one than no "
    "filter (Table 1).",
    paper="grouped R² on SFT samples: none 0.886, BoN 0.454, BR 0.922, BW 0.952",
    per_seed=finding3,
    threshold=0.0,
    rule="per seed (its own reward model, fresh SFT samples): the smallest of R²(none) - R²(BoN), R²(BR) - R²(none), "
    "R²(BW) - R²(none), sample-level R²",
    ours={
        f"R² {label} (samples, mean over seeds)": float(v)
        for label, v in r2_sample.loc["mean"].items()
    },
    context=f"Mean sample-level R² over {len(seeds)} reward models: no filter {r2_mean['no filter']:.3f}, BoN "
    f"{r2_mean['BoN']:.3f}, BR {r2_mean['BR']:.3f}, BW {r2_mean['BW']:.3f}. Spread of the actual score by "
    f"reward region (lowest fifth, middle, highest fifth): {spread['lowest rewards']:.2f}, "
    f"{spread['middle']:.2f}, {spread['highest rewards']:.2f}.",
)

FILTERS = [m for m in ("PF-PPO (BoN)", "PF-PPO (BR)", "PF-PPO (BW)") if m in P.methods]
LABEL = {m: filtration.LABELS[pf_ppo.METHODS[m]] for m in FILTERS}
chosen = {s: max(FILTERS, key=lambda m: r2_seeds[s][LABEL[m]]["sample"]) for s in seeds}
finding4 = {
    s: pf_ppo.chosen_margin(per_seed_pass[s], chosen[s], FILTERS) for s in seeds
}
results.check(
    "highest_r2_filter_trains_best",
    kind="finding",
    claim="The filter with the highest R² on the SFT policy's samples gives the best final policy (Sec. 5.3, Table 3).",
    paper="R² BW 0.952 > BR 0.841 > BoN 0.454; HumanEval pass@1 BR 82.9, BW 82.4, BoN 75.8",
    per_seed=finding4,
    threshold=0.0,
    rule="per seed: pass@1 of the filter with the highest sample-level R² on that seed's reward model minus the "
    "best pass@1 of the other two",
    ours={f"pass@1 {m}": mean_pass[m] for m in FILTERS},
    context="The filter with the highest R², by seed: "
    + ", ".join(f"{s} {pf_ppo.short_name(chosen[s])}" for s in seeds)
    + ".",
)

CONTROL_FILTER = "PF-PPO (BW)"
has_gold = CONTROL_FILTER in passed_gold and "PPO-M" in passed_gold
finding5 = (
    {
        s: pf_ppo.gold_control_margin(
            per_seed_pass[s], per_seed_gold[s], CONTROL_FILTER
        )
        for s in seeds
    }
    if has_gold
    else {}
)
bw_model = pf_ppo.mean_2se(
    per_seed_pass[s][CONTROL_FILTER] - per_seed_pass[s]["PPO-M"] for s in seeds
)
bw_gold = (
    pf_ppo.mean_2se(
        per_seed_gold[s][CONTROL_FILTER] - per_seed_gold[s]["PPO-M"] for s in seeds
    )
    if has_gold
    else (np.nan, np.nan)
)
results.check(
    "filtering_helps_more_with_the_reward_model_than_with_unit_tests",
    kind="control",
    origin="extension",
    claim="The filter helps because the reward model is unreliable in the middle of its range: against the unit "
    "tests (reliable everywhere) BW gains less over PPO-M than against the reward model.",
    paper="the mechanism of Sec. 3 and Fig. 1 (the paper trains against a reward model only)",
    per_seed=finding5,
    threshold=0.0,
    rule="per seed: (BW - PPO-M) with the reward model minus (BW - PPO-M) with the unit tests as the reward, "
    "pass@1 on the same held-out prompts",
    ours={
        "BW - PPO-M, reward model": bw_model[0],
        "BW - PPO-M, unit tests": bw_gold[0],
    },
    context=f"BW minus PPO-M: {bw_model[0]:+.3f} ± {bw_model[1]:.3f} against the reward model, "
    f"{bw_gold[0]:+.3f} ± {bw_gold[1]:.3f} against the unit tests (mean ± 2 SE over seeds).",
    not_evaluable=""
    if has_gold
    else "no runs against the unit tests in this profile (gold_methods)",
)

finding6 = {s: p["PF-PPO (BoN)"] - p["PPO-M"] for s, p in per_seed_pass.items()}
results.check(
    "bon_filter_trains_worse_than_ppo_m",
    kind="finding",
    claim="PF-PPO with BoN, which trains on the best of N samples only, ends below PPO-M, which trains on all N "
    "(Table 2: BoN filtering hurts).",
    paper="pass@1 HumanEval / MBPP / LeetCode: PPO-M 80.2 / 75.0 / 29.8, PF-PPO(BoN) 75.8 / 71.7 / 16.8",
    per_seed=finding6,
    threshold=0.0,
    direction="<=",
    rule="per seed: PF-PPO(BoN)'s pass@1 minus PPO-M's on the same held-out prompts",
    ours={f"pass@1 {m}": mean_pass[m] for m in ("PPO-M", "PF-PPO (BoN)")},
    not_evaluable=f"PPO-M does not improve over the SFT policy (gain {gain_m:+.3f}, standard error {se_m:.3f})."
    if control_failed
    else "",
)

ratio = compute.loc[PF, "policy + critic, x PPO-M"]
results.check(
    "pf_ppo_backward_passes",
    kind="sanity",
    claim="PF-PPO trains the policy and critic on 2 of N samples per prompt (Table 4)",
    paper="2nm vs 5nm passes per iteration (0.4)",
    value=float(ratio.max()),
    threshold=0.45,
    direction="<=",
    rule="the larger of BR's and BW's policy + critic passes, relative to PPO-M's (the filter keeps 2 of 5)",
)
results.table()

# %% [markdown]
# Each check's per-seed numbers, drawn in {numref}`fig-ch3-paired`.

# %% tags=["hide-input"]
paired = {
    "1. PPO-M - SFT": gain_seeds,
    "2. BR/BW vs PPO-M, BoN": finding2,
    "3. R² ordering (samples)": finding3,
    "4. highest-R² filter - others": finding4,
}
if finding5:
    paired["5. (BW - PPO-M): RM - unit tests"] = finding5
paired["6. BoN - PPO-M"] = finding6

# %% tags=["remove-cell"]
display.figure(figures.paired_figure(paired, dict.fromkeys(paired, 0.0)), "ch3-paired")

# %% [markdown]
# ```{glue:figure} ch3-paired
# :name: fig-ch3-paired
# :alt: One panel per check with a dot per seed, the mean and 2 SE interval, and the threshold
#
# Each check's per-seed paired difference (a dot per seed), the mean ± 2 SE over seeds that the
# verdict reads (black), and the threshold (dashed), one panel per check.
# ```

# %%
results.finish();

# %% [markdown]
# ## Summary

# %% tags=["remove-cell"]
status = {c.name: c.status for c in results.checks}

display.quote(
    sft_pass1=float(sft_pass.mean()),
    pass_ppo_m=mean_pass["PPO-M"],
    greedy_gain=greedy_gain,
    greedy_gain_gold="{:+.3f}".format(
        float(greedy_gold["PPO-M"].mean() - sft_greedy.mean())
    )
    if "PPO-M" in greedy_gold
    else "(not run in this profile)",
    r2_choice=", ".join(
        f"{pf_ppo.short_name(m)} on {list(chosen.values()).count(m)}"
        for m in sorted(set(chosen.values()))
    ),
    best_filter=pf_ppo.short_name(max(FILTERS, key=mean_pass.get)),
    pf_ppo_pass=", ".join(
        f"{pf_ppo.short_name(m)} {mean_pass[m]:.3f}" for m in FILTERS
    ),
    **pf_ppo.quote_mean_2se("gain", gain_seeds.values()),
    **pf_ppo.quote_mean_2se("check2", finding2.values()),
    **pf_ppo.quote_mean_2se("check3", finding3.values()),
    **pf_ppo.quote_mean_2se("check4", finding4.values()),
    **pf_ppo.quote_mean_2se("check6", finding6.values()),
    check5_value="({:+.3f} ± {:.3f})".format(*pf_ppo.mean_2se(finding5.values()))
    if finding5
    else "(not run in this profile)",
    bw_model="{:+.3f} ± {:.3f}".format(*bw_model),
    bw_gold="{:+.3f} ± {:.3f}".format(*bw_gold) if has_gold else "(not run)",
    status_check1=status["ppo_m_improves_over_sft"],
    status_check2=status["pf_ppo_br_or_bw_beats_bon_and_matches_ppo_m"],
    status_check3=status["r2_ordering_on_sft_samples"],
    status_check4=status["highest_r2_filter_trains_best"],
    status_check5=status[
        "filtering_helps_more_with_the_reward_model_than_with_unit_tests"
    ],
    status_check6=status["bon_filter_trains_worse_than_ppo_m"],
)

# %% [markdown]
# - PF-PPO changes only *which* samples enter the PPO update: sample $N$ per prompt, rank
#   by reward, keep the best and a random other (BR), the best and the worst (BW), or only
#   the best (BoN).
# - A reward model that judges a program from its characters explains $R^2$ =
#   {glue:text}`r2_chars_no_filter:.2f` of the actual score on the SFT policy's samples
#   (first seed); the same training on the program's shown outputs explains
#   {glue:text}`r2_mean_no_filter:.2f` (mean over {glue:text}`n_seeds` seeds). Both ends
#   of the reward range more reliable than the middle on {glue:text}`both_ends` of
#   {glue:text}`n_seeds` seeds (Part A).
# - Against that reward model PPO-M moves held-out pass@1 from
#   {glue:text}`sft_pass1:.3f` to {glue:text}`pass_ppo_m:.3f` (per seed
#   {glue:text}`gain_mean:+.3f` ± {glue:text}`gain_2se:.3f`, mean ± 2 SE; check 1:
#   {glue:text}`status_check1`); greedy pass@1, the paper's metric, moves by
#   {glue:text}`greedy_gain:+.3f`, and by {glue:text}`greedy_gain_gold` when PPO-M optimises the
#   unit tests instead.
#   PF-PPO reaches {glue:text}`pf_ppo_pass` (check 2, {glue:text}`check2_mean:+.3f` ±
#   {glue:text}`check2_2se:.3f`: {glue:text}`status_check2`).
# - Check 3, the paper's $R^2$ ordering of the filters on SFT samples
#   ({glue:text}`check3_mean:+.3f` ± {glue:text}`check3_2se:.3f`):
#   {glue:text}`status_check3`; check 4, the filter with the highest $R^2$ trains best
#   ({glue:text}`check4_mean:+.3f` ± {glue:text}`check4_2se:.3f`):
#   {glue:text}`status_check4`: the highest $R^2$ picks {glue:text}`r2_choice` of the
#   {glue:text}`n_seeds` seeds, and the filter with the best mean pass@1 is
#   {glue:text}`best_filter`.
# - Check 5, the control with the unit tests as the reward {glue:text}`check5_value`:
#   {glue:text}`status_check5`. BW minus PPO-M is {glue:text}`bw_model` against the reward model
#   and {glue:text}`bw_gold` against the unit tests (mean ± 2 SE): the paper's mechanism predicts the
#   first to be the larger.
# - Check 6, BoN ends below PPO-M ({glue:text}`check6_mean:+.3f` ± {glue:text}`check6_2se:.3f`):
#   {glue:text}`status_check6`.

# %% [markdown]
# ## Exercises
#
# 1. The BR filter keeps the best and one random other. What is the $R^2$ of a "worst-random"
#    filter that keeps the *worst* and a random other, for the reward model that sees the outputs?

# %% tags=["hide-cell"]
# Solution 1: rank by -r, so that BR's "best" is the worst sample.
z = pf_ppo.standardise(R[seed, VERIFY])
rows = filtration.sample_filtered(
    -z, "br", N, np.random.default_rng(1)
)  # ranking -r puts the worst first
picked = np.take_along_axis(z, rows, 1), np.take_along_axis(S[seed], rows, 1)
print(
    f"worst-random R² (samples) = {filtration.sample_r_squared(*picked):.3f} "
    f"vs BR {r2_rows[VERIFY].loc['BR', 'R² (samples)']:.3f} (first seed)"
)

# %% [markdown]
# 2. How many of the $N$ samples does each threshold strategy of Part A keep on average, and how
#    does that trade against its $R^2$?

# %% tags=["hide-cell"]
# Solution 2: count the samples with a non-zero weight under each strategy.
for label, (s, kw) in list(pf_ppo.SEC56.items())[:3]:
    kept = (
        (filtration.sample_weights(z, s, rng=np.random.default_rng(0), **kw) > 0)
        .sum(1)
        .mean()
    )
    print(
        f"{label}: keeps {kept:.2f} of {N} per prompt, R² (samples) {r2_rows[VERIFY].loc[label, 'R² (samples)']:.3f}"
    )

# %% [markdown]
# ## References
#
# ```{footbibliography}
# ```
#
# The whole book's references are on the [bibliography](../book/bibliography.md) page.
