# ---
# jupyter:
#   colab:
#     provenance: []
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: colab
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

# %% [markdown]
# # 0. The toy world: tasks with a known ground truth
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rlhf-measured/rlhf-measured/blob/main/notebooks/00_toy_world.ipynb)
#
# **The claim of this chapter.** Papers on preference optimisation measure their methods
# with human raters, GPT-4 judges or benchmark suites, on 7B models trained on GPU clusters.
# None of that runs on a laptop, and none of it tells you the *true* quality of a response.
# This book's chapters instead run on a small world built in code, where every response has
# an exactly known **gold score**. That buys two things the papers cannot have: the chapters
# run in minutes on two CPU cores, and they can measure what the papers can only estimate
# (how far a reward model is from the truth, whether a policy really got better). This
# chapter builds the world, trains its base policies by supervised fine-tuning (SFT), and
# checks that they are good enough to start RLHF from {footcite}`ouyang2022training`.
#
# **What it cannot stand in for.** Real language is open-ended and a real reward model
# generalises (or fails to) in ways a 24-word vocabulary cannot show. Each chapter's
# "Paper vs this book" section says which findings are about scale and data and therefore
# out of reach here.

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

# %%
import rlhfbook
from rlhfbook.report import diagram, display

P, results = rlhfbook.start_chapter("00_toy_world", profile, seed)

# %%
import numpy as np
import pandas as pd
import torch

from rlhfbook.chapters.ch00_toy_world import figures
from rlhfbook.lm import models, rollout
from rlhfbook.tasks import toyworld
from rlhfbook.tasks.toyworld import code, policies, preference, sft

rng = np.random.default_rng(seed)

# %% tags=["remove-cell"]
display.figure(
    diagram.pipeline(
        [
            (
                "data",
                "Two tasks",
                "preferences with a gold reward; code with unit tests",
            ),
            ("model", "Tokenizer", "built in code, saved and loaded like a hub one"),
            (
                "train",
                "SFT",
                f"a {policies.RECIPES[profile].size} transformer per task",
            ),
            (
                "evaluate",
                "Gold scores",
                f"SFT vs untrained on {P.n_eval_prompts} prompts per task",
            ),
        ]
    ),
    "ch0-pipeline",
)

# %% [markdown]
# ```{glue:figure} ch0-pipeline
# :name: fig-ch0-pipeline
# :alt: Four boxes: two tasks, tokenizer, SFT, gold scores
#
# What the chapter runs: the two tasks every later chapter builds on, the tokenizer, the supervised fine-tuning of one base policy per task, and the gold scores of its samples.
# ```

# %% [markdown]
# ## A tokenizer built in code
#
# Nothing can be downloaded from a model hub on the book's machines, so the tokenizer is
# built from scratch: one token per printable ASCII character, plus `<pad>`, `<bos>`,
# `<eos>` and `<unk>`. Padding goes on the left (what generation needs) and `<pad>` is a
# different token from `<eos>`: a policy must be able to *end* a response, and a pad token
# equal to EOS would hide every EOS from the loss {footcite}`huang2024nplus`.

# %%
display.show_source(toyworld.build_tokenizer)

# %%
tokenizer = toyworld.build_tokenizer()
text = "food: fresh tasty cozy"
ids = tokenizer(text)["input_ids"]
print(f"{len(tokenizer)} tokens in the vocabulary; {text!r} -> {ids}")
print(f"decode(encode(text)) == text: {tokenizer.decode(ids) == text}")

# %% [markdown]
# ## Task 1: preferences with a hidden gold reward
#
# A prompt names a topic; a response is a few words. Each word $w$ has a hidden utility
# $u_x(w)$ for topic $x$, and the **gold reward** of a response $y = (w_1, \dots, w_n)$ is
#
# $$
# r^\star(x, y) = \sum_{w \in \mathrm{distinct}(y)} u_x(w)
#   \;-\; 0.6 \cdot \#\mathrm{repeats}(y) \;-\; 0.4 \cdot \max(0, n - 6)
#   \;-\; \#\mathrm{unknown\ words}(y).
# $$
#
# Simulated **raters** compare two responses by a Bradley-Terry choice on
# $r^\star + 0.35\, n$: they like longer answers a little too much. That is the documented,
# exploitable bias of this world: a reward model trained on their labels learns that length
# pays, and because human-like demonstrations almost never repeat a word, it never learns
# that repetition is bad. Chapter 1 shows PPO finding exactly this gap.

# %%
display.show_source(
    preference.PreferenceTask.gold_reward, preference.PreferenceTask.rate
)

# %%
pref = toyworld.task("preference")
prompt = pref.prompt("food")
utilities = pd.Series(pref.word_utilities(prompt)).sort_values(ascending=False)
examples = [pref.demonstration(prompt, rng) for _ in range(4)] + [
    pref.best_response(prompt),
    "superb " * 9,
]
pd.DataFrame(
    {
        "response": examples,
        "gold reward": [round(pref.gold_reward(prompt, y), 2) for y in examples],
        "rater score (gold + length bias)": [
            round(pref.rater_score(prompt, y), 2) for y in examples
        ],
    },
    index=["demo 1", "demo 2", "demo 3", "demo 4", "gold-optimal", "repetitive"],
)

# %% [markdown]
# ## Task 2: code with unit tests
#
# The second task is verifiable, like code generation: a prompt shows three input/output
# examples of an unknown integer function, and the response is a program in a six-operation
# language. The gold score is the fraction of five hidden unit tests the program passes,
# and `pass@1` counts programs that pass them all. The interpreter only knows the six
# operations, so running a generated program is safe by construction.

# %%
display.show_source(code.run, code.CodeTask.gold_reward)

# %%
code_task = toyworld.task("code")
for p in code_task.sample_prompts(3, rng):
    print(
        f"{p}  intended program: {code_task.demonstration(p)!r}  tests: {code_task.hidden_tests(p)}"
    )

# %% [markdown]
# ## Base policies: supervised fine-tuning, cached
#
# Each task gets a base policy: a Llama-style transformer built from a config and trained on
# demonstrations with a plain SFT loop (loss on the response tokens only). Training takes a
# minute or two on a CPU, so the result is cached on disk under a key that covers the
# recipe, the seed, the package version and the toy world's source code; every later
# chapter calls `toyworld.base_policy(task, profile)` and gets the folder in a second.
# A partial or corrupt cache entry fails verification of its manifest and is rebuilt.

# %%
display.show_source(policies.base_policy)

# %%
folders = {name: toyworld.base_policy(name, profile) for name in ("preference", "code")}
recipe = policies.RECIPES[profile]
print(f"recipe for the {profile!r} profile: {recipe}")
for name, folder in folders.items():
    record = policies.manifest(folder)
    print(f"{name}: {folder.name}, final SFT loss {record['train_losses'][-1]:.3f}")

# %% tags=["remove-cell"]
display.figure(
    figures.sft_losses(
        {n: policies.manifest(f)["train_losses"] for n, f in folders.items()}
    ),
    "ch0-sft-loss",
)

# %% [markdown]
# ```{glue:figure} ch0-sft-loss
# :name: fig-ch0-sft-loss
# :alt: Line plot of the SFT cross-entropy per optimizer step, one line per task
#
# Cross-entropy of the demonstrations (nats per token) during SFT of each task's base policy,
# smoothed over 1/50 of the run.
# ```
#
# The loss curves should flatten well above zero: the demonstrations are random
# (many good answers per prompt), so a perfect policy still has entropy left.
#
# ## How good are the base policies?
#
# We sample responses to held-out prompts from each SFT policy and from an untrained model
# of the same size, and score them with the gold score. The untrained model produces
# character soup (unknown words, no EOS); the SFT policy should produce answers in the
# task's format with a clearly better gold score, while leaving room for RLHF to improve.

# %%
def evaluate(model, tok, task, prompts, greedy):
    out = rollout.generate(
        model, tok, prompts, max_new_tokens=task.max_response_tokens, greedy=greedy
    )
    return out, rollout.gold_scores(task, out).numpy()


# %% [markdown]
# Each policy answers the same prompts twice: sampled (the gold score's mean, the EOS
# rate, the length) and greedy (the code task's pass@1).

# %%
evaluation, samples = {}, {}
for name, folder in folders.items():
    task = toyworld.task(name)
    prompts = task.sample_prompts(P.n_eval_prompts, np.random.default_rng(seed + 1))
    sft_model, sft_tok = models.load_policy(folder)
    torch.manual_seed(seed)
    untrained = toyworld.new_model(recipe.size, sft_tok).eval()
    for label, model in (("untrained", untrained), ("SFT", sft_model)):
        out, scores = evaluate(model, sft_tok, task, prompts, greedy=False)
        _, greedy_scores = evaluate(model, sft_tok, task, prompts, greedy=True)
        evaluation[(name, label)] = dict(
            mean_gold=scores.mean(),
            eos_rate=out.has_eos.float().mean().item(),
            greedy_pass_at_1=(greedy_scores == 1).mean() if name == "code" else np.nan,
            mean_length=out.lengths.float().mean().item(),
            round_trip=all(
                sft_tok.decode(sft_tok(r, add_special_tokens=False)["input_ids"]) == r
                for r in out.responses
            ),
        )
        samples[(name, label)] = (out, scores)

# %%
table = pd.DataFrame(evaluation).T
table.index.names = ["task", "policy"]
display.table(table)

# %%
for (name, label), (out, scores) in samples.items():
    print(f"--- {name}, {label} ---")
    for p, r, s in list(zip(out.prompts, out.responses, scores))[:3]:
        print(f"{p!r:32} -> {r!r:40} gold {s:.2f}")

# %% tags=["remove-cell"]
display.figure(
    figures.gold_histograms(
        {key: scores for key, (_, scores) in samples.items()}, list(folders)
    ),
    "ch0-gold",
)

# %% [markdown]
# ```{glue:figure} ch0-gold
# :name: fig-ch0-gold
# :alt: Histograms of gold scores of sampled responses, untrained model against SFT policy, one panel per task
#
# Gold scores of responses sampled from the untrained model and from the SFT policy on
# held-out prompts, one panel per task.
# ```
#
# The histograms show what to look for: the untrained model's responses pile up at the
# bottom of the gold scale, the SFT policy's spread over the middle. That spread is what the
# following chapters need: a reward model can only learn from pairs that differ, and RL can
# only improve a policy that is neither hopeless nor already perfect.

# %%
for (name, label), row in evaluation.items():
    for key, value in row.items():
        results.metric(f"{name}/{label}/{key}", value)

# %% [markdown]
# ## Reproduction checks
#
# The toy world's own checks: the base policies are good enough to build on, and the world
# is deterministic. They are *sanity* checks: properties the book's code must have, not
# findings of a paper. The findings start in chapter 1.

# %%
policies.record_checks(results, evaluation, list(folders))

# %% [markdown]
# The last check trains a tiny policy twice from the same seed, in memory, and compares
# the weights bit for bit: the whole book relies on same seed, same numbers.

# %%
def tiny_sft_weights():
    torch.manual_seed(seed)
    m = toyworld.new_model("tiny", tokenizer)
    sft.supervised_finetune(
        m, tokenizer, code_task, steps=10, batch_size=8, seed=seed, progress=False
    )
    return torch.cat([p.detach().flatten() for p in m.parameters()])


identical = bool(torch.equal(tiny_sft_weights(), tiny_sft_weights()))
results.check(
    "same seed, same weights",
    kind="sanity",
    claim="SFT is bit-for-bit deterministic on the CPU",
    paper="n/a (toy world)",
    value=identical,
)
results.table()

# %%
results.finish();

# %% [markdown]
# ## Summary
#
# - The toy world has two tasks with exact gold scores: preferences (with length-biased
#   raters, the exploitable bias) and code (with unit tests).
# - Its models are tiny Llama transformers built from a config, saved and reloaded with the
#   same `save_pretrained` / `from_pretrained` calls a hub model uses, so every chapter also
#   accepts a hub id (`model_name`) on a GPU or Colab.
# - The SFT base policies are cached under a key covering recipe, seed, version and source.
#
# ## Exercises
#
# 1. Raise `length_bias` of `PreferenceTask` to 1.0. How does the mean rater score of the
#    gold-optimal response compare with that of a nine-word repetitive one?
# 2. Why does the code task's hidden test suite use the *first shortest* program that fits
#    the examples, and what would change if it used a random consistent program?

# %% tags=["hide-cell"]
# Solution to exercise 1: compare rater scores with a stronger length bias.
biased = preference.PreferenceTask(length_bias=1.0)
for y in (biased.best_response(prompt), "superb " * 9):
    print(
        f"{y!r:50} gold {biased.gold_reward(prompt, y):6.2f}  rater {biased.rater_score(prompt, y):6.2f}"
    )

# %% [markdown]
# :::{dropdown} Solution to exercise 2
# The examples underdetermine the function (`dbl` and `sqr` agree on 0 and 2). A fixed
# choice makes the gold score a deterministic function of the prompt and the response; a
# random choice would make the same program score differently on different calls, i.e. add
# label noise to the "unit tests".
# :::
#
# ## References
#
# ```{footbibliography}
# ```
#
# The whole book's references are on the [bibliography](../book/bibliography.md) page.
