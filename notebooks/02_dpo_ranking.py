# ---
# jupyter:
#   accelerator: GPU
#   colab:
#     gpuType: T4
#     provenance: []
#   jupytext:
#     notebook_metadata_filter: accelerator,colab
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %%

# %% [markdown]
# # 2. DPO does not learn preference rankings
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rlhf-measured/rlhf-measured/blob/main/notebooks/02_dpo_ranking.ipynb)
#
# **The paper's claim.** A model tuned on preferences should, one would think, give the
# preferred answer of a pair the higher likelihood. Chen et al. {footcite}`chen2024preference`
# measure exactly that, the *ranking accuracy*, and find it below 60% for most open
# preference-tuned models on common preference datasets (about 46% for every model they test on
# HH-RLHF). A perfectly optimised DPO {footcite}`rafailov2023dpo` or RLHF model would do far better:
# its *idealized* ranking accuracy follows in closed form from the reference model and the
# raters' agreement, and the gap to the observed accuracy is 19 to 59 points. The reason is a
# property of the DPO objective: a pair is ranked correctly exactly when its loss falls below
# $-\log\sigma(\beta c)$, where $c$ measures how wrongly the *reference* model ranks it, so
# pairs the reference gets wrong by many nats are almost never flipped: at the checkpoint with
# the lowest validation loss, fewer than 10% of them. DPO's own "reward accuracy", which
# compares likelihood *ratios* to the reference, climbs all the same.
#
# **What this chapter reproduces, and at what scale.** The identities of the paper, exactly and
# in seconds (Part A). The mechanism in an analytic sandbox where $c$ can be dialled up (Part
# B). Then the paper's DPO training study at toy scale (Part C), on a preference task built to
# be in the paper's regime: the answers are written by one process (a word-frequency writer
# the reference model learns) and judged by raters with a taste of their own, which no model of
# the writing can see; answers are long enough that the reference mis-ranks pairs by many nats.
# A tiny transformer fine-tuned on the writer's answers is the reference, and TRL's
# `DPOTrainer` tunes it at the paper's $\beta = 0.1$ ($\beta = 1$ beside it) over several
# seeds. We track ranking and reward accuracy, the four-way flip table (Fig. 2), loss against
# $c$ (Fig. 3), the idealized accuracy and alignment gap (Table 1), a $\gamma$-sweep and ranking
# accuracy against win rate (Sec. 5). The `gpu` profile also measures the ranking accuracy of a
# real model on 1,000 pairs of HH-RLHF.
#
# The `cpu` profile (the book's default, a few minutes on one CPU core) runs everything but the
# real model: the sizes it uses are printed below the runtime table.

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
model_name = None  # a real causal LM (local folder or hub id) to measure on `dataset` (None: the profile's)
dataset = None  # a local .json/.jsonl file or hub id with chosen/rejected (+ prompt) columns, HH-RLHF-like
n_seeds = None  # seeds of the DPO study; None = the profile's

# %%
import rlhfbook
from rlhfbook.core import runtime
from rlhfbook.report import diagram, display

# One CPU thread: the models here are tiny, so a second thread gains little, and on a busy
# machine two threads wait on each other (the same seed gives the same numbers either way).
P, results = rlhfbook.start_chapter(
    "02_dpo_ranking",
    profile,
    seed,
    threads=1,
    model_name=model_name,
    dataset=dataset,
    n_seeds=n_seeds,
)

# %%
# the checked seeds: pairs, votes and DPO's data order
seeds = [seed + k for k in range(P.n_seeds)]

# %% tags=["hide-input"]
print(
    f"profile {P.name!r}: sandbox {len(P.sandbox_nuisance)} values of sigma x {P.sandbox_pairs} pairs x "
    f"{P.sandbox_steps} Adam steps; a {P.ref_size!r} reference, {P.sft_steps} SFT steps; per seed "
    f"{P.n_pairs - P.n_val} train and {P.n_val} validation pairs, {P.n_raters} vote(s) each; DPO (TRL) for beta in "
    f"{P.betas} over seeds {seeds}, {P.epochs} epochs of batch {P.batch_size}, a checkpoint every "
    f"{P.eval_every} steps; gamma sweep {tuple(g for g in P.gammas if g != 1.0)} at beta {P.check_beta}; "
    f"win rate on {P.n_win_prompts} prompts; real model: {P.model_name or 'none'}"
)
display.quote(check_beta=P.check_beta)

# %% tags=["hide-input"]
import time

import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown

from rlhfbook.chapters.ch02_dpo_ranking import ranking_gap as rg
from rlhfbook.chapters.ch02_dpo_ranking import ranking_gap_figures as figures
from rlhfbook.chapters.ch02_dpo_ranking import unigram_dpo as ud
from rlhfbook.methods import dpo_training as dt
from rlhfbook.methods import ranking as rk
from rlhfbook.tasks import toyworld
from rlhfbook.tasks.ranking_task import RankingTask
from rlhfbook.tasks.toyworld.sft import supervised_finetune

rng = np.random.default_rng(seed)
t_start = time.perf_counter()

# %% tags=["remove-cell"]
display.figure(
    diagram.pipeline(
        [
            (
                "data",
                "Ranking task",
                f"{P.n_pairs} rated pairs per seed, {P.n_seeds} seeds",
            ),
            (
                "model",
                "Reference",
                f"a {P.ref_size} transformer, SFT on the writer's answers",
            ),
            (
                "train",
                "DPO (TRL)",
                f"beta in {P.betas}, {P.epochs} epochs, checkpoints",
            ),
            (
                "evaluate",
                "Ranking accuracy",
                "R against reward accuracy, flips, the gap to R*",
            ),
            ("evaluate", "Win rate", "against the reference, near and far from it"),
        ]
    ),
    "ch2-pipeline",
)

# %% [markdown]
# ```{glue:figure} ch2-pipeline
# :name: fig-ch2-pipeline
# :alt: Five boxes: ranking task, reference model, DPO, ranking accuracy, win rate
#
# What Part C runs, on every seed: rated pairs of a task whose writer is not the rater, a reference model trained on the writer's answers, DPO from it, and the measurements along each run. Parts A and B check the identities and an analytic sandbox first.
# ```

# %% [markdown]
# ## 1. Ranking accuracy is not reward accuracy
#
# A preference datapoint is $(x, y_w, y_l)$ with $\alpha(x, y_w, y_l) \ge 0.5$ the share of
# raters who preferred $y_w$. The likelihood of an answer is the product of its token
# conditionals, $\pi(y\mid x) = \prod_t \pi(y_t \mid x, y_{<t})$ (Eq. 13), and the *ranking
# accuracy* of a model $\pi$ (Def. 2.3) is
#
# $$R(\pi) = \mathbb{E}_{(x,y_w,y_l)}\, \mathbb{1}\big[\pi(y_w\mid x) \ge \pi(y_l\mid x)\big].$$
#
# The length-normalised $\tilde R$ compares per-token geometric means $\pi(y\mid x)^{1/|y|}$
# instead (Eq. 15). A tie ($\alpha = 0.5$) counts as ranked correctly when the two likelihoods
# differ by less than $0.01$ (Def. C.1).
#
# DPO minimises, with $\pi_{\mathrm{Ref}}$ the reference (SFT) model,
#
# $$\mathcal L_{\mathrm{DPO}} = -\log\sigma\Big(\beta\log\frac{\pi_\theta(y_w\mid x)}{\pi_\theta(y_l\mid x)}
#   + \beta \underbrace{\log\frac{\pi_{\mathrm{Ref}}(y_l\mid x)}{\pi_{\mathrm{Ref}}(y_w\mid x)}}_{c}\Big),$$
#
# and TRL logs its *reward accuracy*: the share of pairs where the implicit reward
# $\beta\log\pi_\theta(y)/\pi_{\mathrm{Ref}}(y)$ of $y_w$ beats that of $y_l$. That compares
# likelihood **ratios**: a model can raise $y_w$ relative to the reference on every pair and
# still rank most pairs wrongly, when the reference starts them far apart. At the reference
# itself both implicit rewards are 0 on every pair; we count such ties as one half, so reward
# accuracy starts at 50%, the level of a coin.

# %%
display.show_source(rk.dpo_loss, rk.ranking_correct, rk.reward_accuracy)

# %% [markdown]
# The log-likelihoods come from the shared rollout code (`rollout.sequence_logprob`), applied to
# the same token sequences that TRL's `DPOTrainer` trains on (prompt, answer, EOS). A pair set is
# tokenised once and then scored under any number of checkpoints:

# %%
display.show_source(rk.PairScorer)

# %% [markdown]
# ## 2. Part A: the identities, in seconds
#
# **Idealized ranking accuracy.** With Bradley–Terry raters and the true $\alpha$, the
# perfectly optimised DPO or RLHF policy satisfies, per datapoint (Thm 3.1),
#
# $$\frac{\pi^*(y_w\mid x)}{\pi^*(y_l\mid x)} = \frac{\pi_{\mathrm{Ref}}(y_w\mid x)}{\pi_{\mathrm{Ref}}(y_l\mid x)}
#   \left(\frac{\alpha}{1-\alpha}\right)^{1/\beta},$$
#
# so its ranking accuracy is $R^* = \mathbb E\,\mathbb 1\big[-c + \tfrac1\beta\,\mathrm{logit}\,\alpha > 0\big]$
# (Cor. 3.3), with unanimous votes read as $\alpha = 1 - 0.001$. We compute it in log space; the
# paper's formula written with likelihoods overflows for long answers and small $\beta$.
#
# **The difficulty of a datapoint** (Thm 4.1). Since $\mathcal L_{\mathrm{DPO}} =
# -\log\sigma(\beta(h + c))$ with $h = \log\pi_\theta(y_w)/\pi_\theta(y_l)$, and $R = 1 \iff h
# \ge 0$,
#
# $$R(x, y_w, y_l) = 1 \iff \mathcal L_{\mathrm{DPO}}(x, y_w, y_l) \le -\log\sigma(\beta c).$$
#
# A pair the reference ranks wrongly by $c = 20$ nats needs, at $\beta = 0.1$, a loss below
# $-\log\sigma(2) = 0.127$ to be flipped, while the loss of an untrained model is $\log 2 = 0.693$.

# %%
display.show_source(rk.optimal_logratio, rk.reference_logratio, rk.loss_threshold)

# %% [markdown]
# We check the identities on random log-likelihoods (answers of about 30 nats, all five
# $\beta$ of the paper's grid, and $\gamma \in \{0, 0.5, 1, 2\}$ for the $\gamma$-scaled loss of
# Sec. 5), and Thm 3.1 by minimising the per-datapoint objective with soft labels,
# $\alpha\,\mathcal L(y_w, y_l) + (1-\alpha)\,\mathcal L(y_l, y_w)$, over a free softmax policy.
# The unit tests assert the same on more points. These are algebra: on the trained models of
# Part C, Thm 4.1 is checked instead between two independent computations (Sec. 4.4).

# %%
display.show_source(rg.soft_label_optimum)

# %%
identities = rg.check_identities(rng, P.n_identity_points)
results.metric("thm41_agreement_random", identities.thm41.agreement.min())
results.metric("thm31_max_ratio_error", identities.thm31)
display.table(identities.table())

# %% [markdown]
# ## 3. Part B: dialling up $c$ in an analytic sandbox
#
# Thm 4.1 says hard pairs are those with a large $c$. To see that $c$, and not anything else,
# decides which pairs DPO flips, we need a model where $c$ can be turned up while the task
# stays the same. The sandbox below is a unigram language model: answers are 12 tokens from a
# vocabulary of 16, the policy has one free logit per token (on top of the reference's), and
# every answer carries a frozen, idiosyncratic log-likelihood $\sigma z_y$, $z_y \sim N(0, 1)$,
# that the shared logits cannot cancel (as the likelihood a real LM gives to a particular
# phrasing). Raising $\sigma$ spreads $c$ without touching what the raters prefer (a hidden
# per-token utility, 5 Bradley–Terry raters). DPO ($\beta = 0.1$, Adam, full batch) keeps the
# checkpoint with the lowest validation loss.

# %%
display.show_source(ud.Sandbox.logprobs, ud.study)

# %%
studies = {
    sigma: ud.study(
        seed, nuisance=sigma, n_pairs=P.sandbox_pairs, steps=P.sandbox_steps
    )
    for sigma in P.sandbox_nuisance
}
sandbox = pd.DataFrame(
    {sigma: st.summary() for sigma, st in studies.items()}
).T.rename_axis("sigma")
results.metric("sandbox", sandbox.reset_index().to_dict(orient="list"))
display.table(sandbox)

# %% [markdown]
# Read the flip columns: with $\sigma = 0$ the model is so constrained and $c$ so small that
# DPO flips most wrongly ranked pairs whatever their $c$. As $\sigma$ grows, the pairs with a
# large $c$ stay wrong while the easy ones still flip, and the reward accuracy hardly moves.
# The figure shows the same per pair: the chance that DPO flips a wrongly ranked pair, against
# its $c$.

# %% tags=["remove-cell"]
display.figure(figures.sandbox_flips(studies), "ch2-sandbox-flips")

# %% [markdown]
# ```{glue:figure} ch2-sandbox-flips
# :name: fig-ch2-sandbox-flips
# :alt: Line plot of the share of wrongly ranked pairs that DPO flips against their reference log-ratio c, one line per sigma
#
# Each line is one $\sigma$; each point is an octile of the wrongly ranked pairs by $c$. Look at
# how far right each line reaches and where it ends: the larger $\sigma$, the larger the $c$ of
# the hardest pairs and the lower the share of them that DPO flips.
# ```

# %% [markdown]
# ## 4. Part C: DPO on a tiny transformer, in the paper's regime
#
# ### 4.1 A preference task where the writer is not the rater
#
# What puts a model in the paper's regime? On HH-RLHF, the reference is fine-tuned on answers
# that some other model wrote, and people judged pairs of them by a taste that has little to do
# with how likely the words are. So the reference ranks the pairs about as well as a coin, and
# because answers are long, two answers' log-likelihoods differ by tens of nats. DPO must then
# fit each pair's preference by itself: there is no single direction in the model that turns
# the writer's likelihood into the raters' taste. A toy task that lets the reference rank
# well, or lets DPO find one global lever (such as "longer answers win"), is not in that
# regime. The task below builds the regime and nothing more:
#
# * **Prompts with their own details.** A prompt names three detail words out of a few dozen,
#   so nearly every prompt is new.
# * **The writer.** An answer is a uniform number of words, each drawn independently from a
#   Zipf frequency distribution over the vocabulary, in an order unrelated to quality. The
#   reference model is fine-tuned on the writer's answers only.
# * **The raters.** They score an answer by a *shared* utility (per word, a global part plus an
#   interaction with each of the prompt's details), plus an *idiosyncratic taste* for that exact
#   (prompt, answer): a fixed random draw with a larger spread than the shared part, which
#   nothing in the writer's statistics predicts. The shared utility is centred under the
#   writer's frequencies, so the expected score does not depend on the answer's length.
#   As on HH-RLHF, each pair gets one vote, a Bradley–Terry choice on the two scores, so
#   $\alpha = 1$ for every pair (read as $1 - 0.001$ in $R^*$).

# %%
display.show_source(
    RankingTask.demonstration, RankingTask.word_utilities, RankingTask.gold_reward
)

# %%
task = RankingTask()
tok = task.tokenizer()
example = task.sample_pairs(1, P.n_raters, np.random.default_rng(seed))
print(
    f"{task.n_words} answer words, {task.n_details} details ({task.details_per_prompt} per prompt), answers of "
    f"{task.min_words} to {task.max_words} words; shared utility per word sd {task.shared_scale}, taste sd "
    f"{task.taste_scale:.2f} = {task.taste_ratio} x the sd of an answer's shared utility. One pair:"
)
display.table(rg.example_pair_table(task, example))

# %% [markdown]
# **The reference model.** A tiny Llama from the toy world (`toyworld.new_model`), with one
# token per word, fine-tuned on fresh demonstrations of the writer at every step
# (`toyworld.sft.supervised_finetune`). A perfectly trained reference would give every answer
# its writer log-likelihood exactly (the length's probability plus each word's log-frequency);
# the printout compares the two on the pairs.

# %%
torch.manual_seed(seed)
reference = toyworld.new_model(P.ref_size, tok)
t0 = time.perf_counter()
sft_losses = supervised_finetune(
    reference,
    tok,
    task,
    steps=P.sft_steps,
    batch_size=P.sft_batch,
    lr=P.sft_lr,
    seed=seed,
    progress=False,
)
reference.eval().requires_grad_(False)
sft_seconds = time.perf_counter() - t0

data = rg.data_for_seeds(task, reference, tok, seeds, P)  # pairs, votes, Eq. 13

n_params = sum(p.numel() for p in reference.parameters())
print(
    f"reference: {n_params:,} parameters, {P.sft_steps} SFT steps in {sft_seconds:.0f} s, loss per token "
    f"{np.mean(sft_losses[:10]):.2f} -> {np.mean(sft_losses[-20:]):.2f}; its c differs from the writer's exact c "
    f"by {rg.c_rms_error(data):.2f} nats (root mean square) on the train pairs"
)

# %%
stats = rg.pair_stats_table(data)
results.metric("pair_stats", stats.loc["mean"].to_dict())
display.table(stats)

# %% tags=["remove-cell"]
display.figure(figures.reference_logratios(data, seeds[0]), "ch2-reference-c")

# %% [markdown]
# ```{glue:figure} ch2-reference-c
# :name: fig-ch2-reference-c
# :alt: Histogram of the reference log-ratio c, and a scatter of the reference c against the writer c
#
# Left: $c > 0$ (right of the line) means the reference prefers the answer the raters rejected;
# the histogram is centred near 0 and spread over tens of nats. Right: each point is a pair; the
# reference's $c$ lies on the diagonal of the writer's, so what the reference knows is how
# answers are written.
# ```
#
# What this task shares with HH-RLHF, and what it does not:

# %%
display.table(rg.hh_comparison(stats.loc["mean"], P.n_raters, n_params))

# %% [markdown]
# ### 4.2 Training DPO with TRL and recording checkpoints
#
# `DPOTrainer` (TRL) trains a fresh copy of the reference for each seed and $\beta$, with its
# reference log-likelihoods precomputed once; for the $\gamma$-scaled objective of Sec. 4.6
# `GammaDPOTrainer` multiplies them by $\gamma$, which turns TRL's loss into Eq. 4 exactly.
# `train_dpo` records, every `eval_every` steps, the policy's log-likelihoods of all train and
# validation pairs twice: by the book's forward pass above and by TRL's own (its collator and
# fused log-prob head: `dpo_training.trl_pair_logprobs`), the distance of its weights to the reference's, and the
# win rate of its samples against the reference's samples on a fixed set of prompts, judged by
# the raters' score (ties count one half). The learning rate is `lr_x_beta / beta`: Adam moves
# the log-ratios by about the same amount whatever $\beta$, so $\beta = 1$ needs a ten times
# smaller rate to move the loss as fast as $\beta = 0.1$. As in the paper, the checkpoint we
# analyse is the one with the lowest validation loss.

# %%
display.show_source(dt.GammaDPOTrainer)

# %%
win_rate = rg.WinRate(
    task, reference, tok, task.sample_prompts(P.n_win_prompts, rng), seed=seed
)
t0 = time.perf_counter()
study = rg.train_study(reference, tok, data, P, extra=win_rate)
runs, tables = study.runs, study.tables
best, best_step, best_cp = study.best, study.best_step, study.best_cp
print(
    f"DPO for {len(seeds)} seeds x beta in {P.betas}: {time.perf_counter() - t0:.0f} s"
)
main = (seed, P.check_beta)
display.table(tables[main].drop(columns=["near ties", "max |loss - TRL loss|"]))

# %% [markdown]
# *The run of the first checked seed at $\beta$ = {glue:text}`check_beta`, one row per checkpoint, on the train pairs
# unless marked "val". Compare the columns `reward acc` and `R`, and see where `val loss` is
# lowest.* The best checkpoint of every run:

# %%
at_best = rg.best_checkpoints(study)
results.metric("best_checkpoints", at_best.to_dict(orient="index"))
display.table(at_best)

# %% tags=["remove-cell"]
display.figure(figures.training_curves(study, P.betas), "ch2-training")

# %% [markdown]
# ```{glue:figure} ch2-training
# :name: fig-ch2-training
# :alt: Reward accuracy and ranking accuracy over DPO steps, one line per seed, coloured by beta
#
# One line per seed, coloured by $\beta$; a dot marks the checkpoint with the lowest validation
# loss. Reward accuracy (left) leaves 0.5 at once; ranking accuracy (right) hardly leaves the
# reference's level.
# ```

# %% [markdown]
# ### 4.3 Which pairs flip (paper Fig. 2)
#
# Each train pair is in one of four states: ranked correctly or not by the reference, and by
# the current checkpoint. The paper finds that at the best checkpoint fewer than 10% of the
# wrongly ranked pairs have been flipped, while the loss keeps falling on pairs that were
# right to begin with.

# %% tags=["remove-cell"]
display.figure(figures.flips(study, data, main, P.betas), "ch2-flips")

# %% [markdown]
# ```{glue:figure} ch2-flips
# :name: fig-ch2-flips
# :alt: Stacked shares of train pairs in the four ranking states over DPO steps, and the share of wrongly ranked pairs flipped against c
#
# Left: the share of train pairs in each of the four states (ranked correctly or not by the
# reference, and by the checkpoint) along the first checked seed's main run; the dotted line is
# the best checkpoint. Right: the share of wrongly ranked pairs that the best checkpoint has
# flipped, against their $c$, pooled over seeds, one line per $\beta$.
# ```

# %%
flip_rows = rg.flip_rows(study, data)
results.metric("flipped_at_best", flip_rows.to_dict(orient="index"))
display.table(flip_rows)

# %% [markdown]
# *Left: the band `incorrect -> correct` holds the pairs DPO flipped, `incorrect -> incorrect`
# those it did not. Right: the share of wrongly ranked pairs flipped at the best checkpoint, per
# octile of $c$, pooled over seeds. The table gives each run's share, all wrongly ranked pairs
# and the quartiles of $c$, to set beside the paper's "fewer than 10%".*

# %% [markdown]
# ### 4.4 Loss against $c$ (paper Fig. 3), with TRL's own losses
#
# At the best checkpoint, each train pair's DPO loss, as TRL computes it, against its reference
# log-ratio $c$, as the book's forward pass computes it. Thm 4.1 says the curve
# $-\log\sigma(\beta c)$ separates the pairs ranked correctly (below it) from the rest (above
# it). Here that is no longer algebra on one array: the ranking comes from one forward pass,
# the loss from TRL's tokenisation, collator, fused log-prob head and precomputed reference
# log-likelihoods, so the identity fails if the two disagree about a single pair (up to float32
# rounding on pairs within $10^{-3}$ nats of a tie, which are counted and left out).

# %% tags=["remove-cell"]
display.figure(figures.loss_vs_c(study, data[seed], seed, P.betas), "ch2-loss-vs-c")

# %% [markdown]
# ```{glue:figure} ch2-loss-vs-c
# :name: fig-ch2-loss-vs-c
# :alt: Scatter of each train pair's DPO loss against its reference log-ratio c, one panel per beta, with the Thm 4.1 curve
#
# At the best checkpoint of each $\beta$ (first checked seed), each train pair's DPO loss as TRL
# computes it (log scale) against its reference log-ratio $c$, green if the book's forward pass
# ranks the pair correctly and red if not; the black curve is $-\log\sigma(\beta c)$ of Thm 4.1.
# ```

# %%
thm_runs = rg.thm41_runs(tables)
display.table(thm_runs)

# %% [markdown]
# *Every red point (ranked wrongly) lies above the black curve and every green one below it.
# Look at the right half of each panel: the pairs the reference mis-ranks by many nats need a
# loss far below $\log 2$, and DPO has not brought them there by the best checkpoint.*

# %% [markdown]
# ### 4.5 Idealized ranking accuracy and the alignment gap (paper Table 1)
#
# $R^*$ and $\tilde R^*$ over the paper's $\beta$ grid $\{0.01, 0.1, 1, 5, 10\}$ (min / median /
# max), from the reference's log-likelihoods and the raters' $\alpha$, beside the observed $R$
# and $\tilde R$ at the best DPO checkpoints; the alignment gap is $R^*(\beta) - R$ at the
# $\beta$ DPO was trained with. The official code computes $R^*$ differently: in the
# unnormalised case it multiplies the vote ratio by a ratio of *log*-likelihoods
# $\log\pi(y_w)/\log\pi(y_l)$, which is above 1 exactly when $y_w$ is the *less* likely answer,
# and it treats ratios within 5% of 1 as ties. We report its variant in separate columns.

# %%
display.show_source(rk.idealized_ranking_accuracy)

# %%
gap = rg.alignment_gap(study, data, P.betas)
results.metric("table1", gap.table.round(4).to_dict(orient="index"))
display.table(gap.table)

# %% [markdown]
# *One row per seed and $\beta$; the $R^*$ columns depend only on the reference and the votes,
# so they repeat across $\beta$ for a seed. Compare `R` with `R*(beta)`: at $\beta = 0.1$ a
# unanimous pair moves the optimum's log-ratio by $\mathrm{logit}(1 - 0.001)/0.1 \approx 69$
# nats, more than almost any $c$, so the perfectly optimised model ranks nearly every pair
# correctly; at $\beta = 1$ it moves it by about 7 nats, and $R^*$ falls towards the
# reference's level. The official code's $R^*$ sits at or near 1 for every $\beta$: its vote
# ratio $(1/0.001)^{1/\beta}$ is multiplied by a ratio of log-likelihoods, which stays within a
# small factor of 1, so the votes decide.*

# %% [markdown]
# ### 4.6 Scaling the reference term: $\gamma$ (paper Eq. 4)
#
# $$\mathcal L^\gamma_{\mathrm{DPO}} = -\log\sigma\Big(\beta\Big[\log\frac{\pi_\theta(y_w)}{\pi_\theta(y_l)}
#   + \gamma\log\frac{\pi_{\mathrm{Ref}}(y_l)}{\pi_{\mathrm{Ref}}(y_w)}\Big]\Big)$$
#
# $\gamma$ scales $c$ in Thm 4.1: with $\gamma = 0$ the loss ignores the reference, as if the
# reference gave both answers the same likelihood, and a pair is ranked correctly exactly when
# its loss is below $\log 2$. We train each $\gamma$ at $\beta$ = {glue:text}`check_beta` on the pairs of
# the first checked seed and report its best-validation checkpoint (the $\gamma = 1$ row is the main run).
# The paper expects ranking accuracy to be higher for smaller $\gamma$ (a weaker pull of the
# reference's mistakes).

# %%
gamma_runs = {
    g: rg.run_dpo(
        reference,
        tok,
        data[seed],
        P,
        seed=seed,
        beta=P.check_beta,
        gamma=g,
        extra=win_rate,
    )
    for g in P.gammas
    if g != 1.0
}
gamma_runs[1.0] = (runs[main], tables[main])
gamma_table = rg.gamma_table(gamma_runs)
results.metric("gamma_sweep", gamma_table.reset_index().to_dict(orient="list"))
display.table(gamma_table)

# %% [markdown]
# *Read the columns `R` and `flipped` down the table: with the reference term weakened or
# removed, DPO flips more of the wrongly ranked pairs, since their difficulty $\gamma c$ is
# smaller. The reward accuracy is measured against the real reference in every row.*

# %% [markdown]
# ### 4.7 Ranking accuracy and win rate (paper Sec. 5)
#
# The paper finds that ranking accuracy and win rate rise together while the model stays close
# to the reference, and part ways once it moves far from it. Here the win rate is measured by
# the raters' own score on fresh samples, for every checkpoint of both $\beta$ of a seed, and
# "close" means a weight distance $\lVert\theta - \theta_{\mathrm{Ref}}\rVert$ below that seed's
# median over its checkpoints. We report the rank correlation per seed and its spread.

# %%
display.show_source(rg.near_far_rho)

# %%
rho, rho_summary = rg.spearman_table(tables, seeds, P.betas)
results.metric("spearman_R_win", {**rho.to_dict(orient="index"), **rho_summary})
display.table(rho)
display.quote(**rg.spearman_quotes(rho_summary))

# %% [markdown]
# Spearman correlation of R and win rate over seeds (mean ± sd): near the reference
# {glue:text}`rho_near_mean:+.2f` ± {glue:text}`rho_near_sd:.2f`, far from the reference
# {glue:text}`rho_far_mean:+.2f` ± {glue:text}`rho_far_sd:.2f`, all checkpoints
# {glue:text}`rho_all_mean:+.2f` ± {glue:text}`rho_all_sd:.2f`; {glue:text}`rho_far_verdict`.

# %% tags=["remove-cell"]
display.figure(figures.rank_vs_win(tables, seeds, P.betas), "ch2-rank-vs-win")

# %% [markdown]
# ```{glue:figure} ch2-rank-vs-win
# :name: fig-ch2-rank-vs-win
# :alt: Lines of win rate against ranking accuracy over checkpoints, one per run, coloured by beta
#
# Each line follows one run's checkpoints from the reference (R at its starting level, win rate
# near 0.5), coloured by $\beta$. Compare how far each line travels up (win rate) and to the
# right (R): a policy can learn part of what the raters share, and win more often, while it
# ranks hardly more of its training pairs correctly.
# ```

# %% [markdown]
# ## 5. Real models on real preference data (`gpu` profile)
#
# The paper's headline numbers are ranking accuracies of released models on released
# datasets. With `model_name` and `dataset` set (the `gpu` profile uses GPT-2 and 1,000 pairs
# of HH-RLHF's test split) the same functions measure $R$, $\tilde R$ and the idealized
# accuracies. HH-RLHF has one label per pair, so $\alpha = 1$ (read as $1 - 0.001$). The
# answers are scored without an EOS token (they are cut out of a transcript, not ended by the
# model), with at most `max_prompt_tokens` of context. In the `cpu` profile this section is
# skipped; a unit test runs it on a local model folder and a local file in HH-RLHF format.

# %%
rg.real_model_section(results, P, seed, runtime.device())

# %% [markdown]
# ## 6. Paper vs this book
#
# First Table 1 itself: the paper's four models on Alpaca Farm (percent, as printed there) above
# our DPO runs on the toy task (same columns, mean over seeds, from Sec. 4.5). Then the other
# findings, the paper's Fig. 1 among them, beside ours.

# %%
display.table(rg.table1_beside_paper(gap.table, seeds, P.betas))

# %%
display.table(
    rg.paper_vs_book(stats, study, gap, thm_runs, rho_summary, seeds, P.betas)
)

# %% [markdown]
# Why the numbers differ:
#
# * **Scale and data.** The paper measures models of up to 7B parameters on human preference
#   data; we train a model of a few tens of thousands of parameters on a task whose writer and
#   raters are simulated, so every property of the pairs is known. The task keeps what the
#   paper's effect needs (a reference that ranks like a coin, large $|c|$, a taste only
#   memorisation can fit) and drops language.
# * **Rater agreement.** Like HH-RLHF, our pairs have one label each, so $\alpha = 1$ and
#   $R^*$ is close to 1 for small $\beta$; the paper's Table 1 is on Alpaca Farm, whose pairs
#   have four labels. $R^*$ depends on $\alpha$ only through $\mathrm{logit}\,\alpha/\beta$.
# * **How $R^*$ is computed.** We implement Cor. 3.3 in log space. Table 1's $R^*$ columns come
#   from the official code's variant (Sec. 4.5), which we print beside ours but do not use for
#   the alignment-gap check.
# * **The win rate** is the raters' own score of fresh samples, not GPT-4 judgements on
#   AlpacaEval; our "far from the reference" is relative to a short training run.

# %% [markdown]
# ## 7. Reproduction checks
#
# Thresholds are the paper's, fixed before the checked runs; the hyperparameters (the task's
# sizes and taste, the number of votes, the learning rate, the epochs) were set on pilot seeds
# 100 to 107 for the pairs and DPO, not among the checked seeds. Every finding and control has
# one decisive number per checked seed, and its verdict is the book's rule: the mean ± 2
# standard errors over the seeds against the paper's threshold. $\beta = 0.1$ decides; the
# $\beta = 1$ values are printed beside. The Sec. 5 finding reads the correlations of
# section 4.7 per seed. `smoke` does not evaluate the checks.

# %% tags=["hide-input"]
rg.record_checks(
    results,
    study,
    data,
    seeds,
    P.check_beta,
    gap,
    gamma_runs,
    gamma_table,
    rho,
    sandbox_pairs=P.sandbox_pairs,
    sandbox_steps=P.sandbox_steps,
)
results.timing("wall_time_s", time.perf_counter() - t_start)
results.table()

# %%
results.finish();

# %%
Markdown(display.verdict_sentences(results.checks))

# %% [markdown]
# ## Summary
#
# * Ranking accuracy asks whether the model gives the preferred answer the higher likelihood;
#   DPO's reward accuracy asks whether it *raised* the preferred answer more than the other,
#   relative to the reference. In the paper's regime (a reference that ranks like a coin and
#   mis-ranks pairs by many nats, raters whose taste must be memorised), the second climbs at
#   once and the first barely moves by the checkpoint with the lowest validation loss.
# * A perfectly optimised DPO or RLHF model would rank much better: the idealized accuracy $R^*$
#   follows from the reference and the raters' agreement in closed form (Cor. 3.3), and at the
#   paper's $\beta = 0.1$ it sits far above the observed accuracy. The official code's variant
#   of $R^*$ is larger still, for a reason that has nothing to do with DPO.
# * Thm 4.1 explains the mechanism: a pair is ranked correctly exactly when its loss is below
#   $-\log\sigma(\beta c)$, and it holds on every checkpoint between TRL's own losses and an
#   independent forward pass. The pairs the reference ranks wrongly by many nats need a loss
#   DPO does not reach before the validation loss bottoms out; with a small $c$ (the sandbox at
#   $\sigma = 0$, or $\gamma = 0$) DPO flips far more of them.
#
# ## Exercises
#
# 1. A pair has $c = 30$ nats. What DPO loss must it reach to be ranked correctly, at
#    $\beta = 0.1$ and at $\beta = 1$?

# %% tags=["hide-cell"]
# Solution 1: the Thm 4.1 threshold -log sigmoid(beta c).
for b in (0.1, 1.0):
    print(f"beta {b}: loss must be <= {rk.loss_threshold(30.0, b):.2e}")

# %% [markdown]
# 2. Using `rk.optimal_logratio`, find the largest $\beta$ at which a perfectly optimised model
#    ranks a unanimous pair ($\alpha = 1$) with $c = 30$ correctly.

# %% tags=["hide-cell"]
# Solution 2: R* = 1 iff -c + logit(alpha)/beta > 0, i.e. beta < logit(1 - 0.001) / c.
betas = np.logspace(-3, 0, 301)
ok = [rk.optimal_logratio(-30.0, 0.0, 1.0, b) > 0 for b in betas]
print(
    f"ranked correctly for beta < {betas[np.argmin(ok)]:.3f} (closed form {rk.logit_alpha(1.0) / 30:.3f})"
)

# %% [markdown]
# 3. Rerun the sandbox with $\sigma = 20$ and $\gamma = 0$ instead of 1 (`ud.study` takes
#    `gamma`). How does the share of wrongly ranked pairs that DPO flips change?

# %% tags=["hide-cell"]
# Solution 3: gamma = 0 removes c from the loss, so DPO no longer needs to overcome it.
flip_by_gamma = {
    g: ud.study(
        seed, nuisance=20.0, n_pairs=P.sandbox_pairs, steps=P.sandbox_steps, gamma=g
    ).flipped.mean()
    for g in (1.0, 0.0)
}
print(
    "sigma 20, beta 0.1, best validation checkpoint: wrongly ranked pairs flipped "
    + ", ".join(f"{v:.1%} with gamma {g:g}" for g, v in flip_by_gamma.items())
)

# %% [markdown]
# 4. In the task of Part C, how much of the raters' preference could a model of the writing
#    predict? Compare, on the train pairs of the first seed, how often the answer with the
#    higher *shared* utility is the preferred one, and how often the answer with the higher
#    writer likelihood is.

# %% tags=["hide-cell"]
# Solution 4: the shared utility agrees with the votes more often than a coin; the writer's likelihood does not.
t0_pairs = data[seeds[0]].train
shared_agrees = np.mean(
    [
        task.shared_utility(p, w) > task.shared_utility(p, l)
        for p, w, l in zip(t0_pairs.prompts, t0_pairs.chosen, t0_pairs.rejected)
    ]
)
print(
    f"preferred answer has the higher shared utility in {shared_agrees:.1%} of pairs, the higher writer "
    f"likelihood in {np.mean(data[seeds[0]].c_writer < 0):.1%}"
)

# %% [markdown]
# ## References
#
# ```{footbibliography}
# ```
#
# The whole book's references are on the [bibliography](../book/bibliography.md) page.
