"""How long a chapter's GPU profiles take, by arithmetic: the work each computes and what a card does.

No chapter's ``gpu`` or ``gpu-full`` profile has run on a GPU yet, so their sizes rest on this
estimate (shown on ``book/running.md`` and beside each chapter's budget) until a measurement
replaces it. A chapter's work is counted from its settings as

* ``flops``: matrix-multiply FLOPs, 2N per token of a forward pass of an N-parameter model, 6N per
  trained token in full fine-tuning and 4N with low-rank adapters (no weight gradients of the
  frozen base; Kaplan et al. 2020's 6N rule);
* ``launches``: transformer layers run one after the other by the host, one per layer and
  decoding step or micro-batch pass (3 per layer for a forward and backward pass, and
  :data:`LORA_LAUNCHES` times as many with the book's adapters): eager PyTorch and HF ``generate``
  on small batches are bound by the host launching kernels, not by the GPU;
* ``weight_bytes``: 16-bit weights read from memory once per decoding step;
* ``host_s``: seconds of work on the host (chapter 3's sandboxed programs);

and a :class:`Card`'s time is ``flops / (peak x efficiency) + launches x launch + weight_bytes /
bandwidth + host_s`` (:func:`seconds`). Peaks and bandwidths are the datasheets'; the efficiency
and the launch time per layer are assumptions (about ±50%), chosen so that a decoding step of a
0.5B model costs 20-30 ms, as public measurements of HF ``generate`` at batch 1 show (50-70 tokens
per second for Qwen2.5 models on one GPU), and are replaced by ``python -m rlhfbook.book.gpu_check``'s
timed PPO iteration when a GPU run exists.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from rlhfbook.book import profiles
from rlhfbook.report import tables


@dataclass(frozen=True)
class Card:
    """A GPU as this estimate sees it (datasheet peaks, assumed efficiency and launch time)."""

    name: str
    memory_gb: float
    peak_tflops: float  # dense fp16/bf16 tensor-core peak (datasheet)
    efficiency: float  # share of the peak that eager PyTorch reaches on the book's micro-batches (assumed)
    bandwidth_gbs: float  # memory bandwidth (datasheet)
    launch_ms: float  # host time to launch one transformer layer's kernels (assumed; Colab's host is slow)


CARDS: dict[str, Card] = {
    "T4": Card("a Colab T4", 15.8, 65, 0.12, 320, 1.0),
    "A100": Card("an A100 80 GB", 80, 312, 0.25, 2039, 0.6),
    "H100": Card("an H100 80 GB", 80, 989, 0.2, 3350, 0.5),
}
# The card each GPU profile is sized for (its budget's card), and the cards its estimate is shown on.
PROFILE_CARDS: dict[str, tuple[str, ...]] = {
    "gpu": ("T4", "H100"),
    "gpu-full": ("A100", "H100"),
}
LORA_LAUNCHES = 1.5  # each adapted linear layer adds two small matmuls and an add


@dataclass(frozen=True)
class LM:
    """A model's size as the arithmetic needs it (published configs)."""

    name: str
    params: float
    layers: int


QWEN_05B = LM("Qwen2.5-0.5B", 0.494e9, 24)
QWEN_15B = LM("Qwen2.5-1.5B", 1.54e9, 28)
GPT2 = LM("GPT-2", 0.124e9, 12)

# Token counts of the real data, assumed (means, before any cut at a max_length)
HH_PROMPT_TOKENS = 80  # a one-turn HH-RLHF prompt in Qwen2.5's chat template
HH_TRANSCRIPT_TOKENS = 250  # an HH-RLHF transcript (chosen or rejected)
MBPP_PROMPT_TOKENS = 200  # an MBPP problem with its three shown tests, chat-templated
GAME_PROMPT_TOKENS = 1000  # a turn of chapter 5's games: rules, history, the question
GAME_MATCHES_PER_SEED = (
    50  # matches the LLM plays in one league seed (both games, both roles)
)
SANDBOX_S = (
    0.1  # one generated program run against its tests in a fresh sandboxed process
)


@dataclass(frozen=True)
class Work:
    """What a part of a chapter computes (see the module's docstring); parts add up."""

    generated: float = 0.0  # tokens sampled
    forward: float = 0.0  # tokens through a forward pass only (scoring, log-probs)
    trained: float = 0.0  # tokens through a forward and backward pass
    flops: float = 0.0
    launches: float = 0.0
    weight_bytes: float = 0.0
    host_s: float = 0.0

    def __add__(self, other: Work) -> Work:
        return Work(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(self))
        )

    def __mul__(self, k: float) -> Work:
        return Work(*(getattr(self, f.name) * k for f in fields(self)))

    __rmul__ = __mul__


def seconds(work: Work, card: Card) -> float:
    """The work's wall time on ``card``: FLOPs at the effective throughput, plus the host's launches,
    plus the weights read per decoding step, plus the host's own work."""
    return (
        work.flops / (card.peak_tflops * 1e12 * card.efficiency)
        + work.launches * card.launch_ms / 1e3
        + work.weight_bytes / (card.bandwidth_gbs * 1e9)
        + work.host_s
    )


def generate(
    lm: LM,
    rows: int,
    prompt: int,
    new: int,
    chunk: int | None = None,
    lora: bool = False,
) -> Work:
    """Sampling ``new`` tokens after a ``prompt``-token prompt for ``rows`` rows, ``chunk`` rows per
    ``generate`` call: one prefill and ``new`` decoding steps per call."""
    calls = math.ceil(rows / (chunk or rows))
    return Work(
        generated=rows * new,
        flops=2 * lm.params * rows * (prompt + new),
        launches=calls * (new + 1) * lm.layers * (LORA_LAUNCHES if lora else 1),
        weight_bytes=calls * new * 2 * lm.params,
    )


def forward(lm: LM, rows: int, tokens: int, micro: int | None = None) -> Work:
    """One forward pass over ``rows`` sequences of ``tokens`` tokens, ``micro`` rows a pass."""
    passes = math.ceil(rows / (micro or rows))
    return Work(
        forward=rows * tokens,
        flops=2 * lm.params * rows * tokens,
        launches=passes * lm.layers,
    )


def train(
    lm: LM, rows: int, tokens: int, micro: int | None = None, lora: bool = False
) -> Work:
    """A forward and backward pass over ``rows`` sequences of ``tokens`` tokens, ``micro`` rows a
    pass: 6N FLOPs per token in full fine-tuning, 4N with adapters."""
    passes = math.ceil(rows / (micro or rows))
    return Work(
        trained=rows * tokens,
        flops=(4 if lora else 6) * lm.params * rows * tokens,
        launches=passes * 3 * lm.layers * (LORA_LAUNCHES if lora else 1),
    )


def ppo_iteration(
    lm: LM,
    rows: int,
    prompt: int,
    new: int,
    epochs: int,
    scorers: int,
    micro: int | None,
    chunk: int | None,
    lora: bool,
    trained_rows: int | None = None,
    critic: bool = True,
) -> Work:
    """One iteration of the book's PPO (:func:`rlhfbook.methods.ppo.train`): a rollout of ``rows`` samples,
    the old policy's and the reference's log-probs, the critic's values and ``scorers`` reward models'
    scores, then ``epochs`` passes of the policy (and the critic) over ``trained_rows`` of them
    (a filter's subset; all rows by default)."""
    tokens, kept = prompt + new, trained_rows or rows
    models = 2 if critic else 1
    return (
        generate(lm, rows, prompt, new, chunk, lora)
        + (2 + critic + scorers) * forward(lm, rows, tokens, micro)
        + epochs * models * train(lm, kept, tokens, micro, lora)
    )


def _ppo_max(P: Mapping[str, Any]) -> dict[str, Work]:
    """Chapter 1 on real models (:mod:`rlhfbook.chapters.ch01_ppo_max.gold_proxy`): a gold and a proxy reward model, then
    per seed PPO's configurations and GRPO, each evaluated on held-out prompts, and the exercises."""
    lm, lora, micro = QWEN_05B, P["lora_rank"] is not None, P["micro_batch"]
    rm = min(P["rm_max_length"], HH_TRANSCRIPT_TOKENS)
    new, rows = P["max_new_tokens"], P["prompts_per_iteration"]
    shape = (
        lm,
        rows,
        HH_PROMPT_TOKENS,
        new,
        P["epochs"],
        2,
        micro,
        P["chunk_size"],
        lora,
    )
    it, grpo = ppo_iteration(*shape), ppo_iteration(*shape, critic=False)
    evaluation = generate(
        lm, P["eval_prompts"], HH_PROMPT_TOKENS, new, P["chunk_size"], lora
    ) + 2 * forward(lm, P["eval_prompts"], HH_PROMPT_TOKENS + new, 16)
    configs = 3 + P["run_ppo_max_no_kl"]
    runs = P["n_seeds"] * configs
    pair_rows = 32 * 2  # TRL RewardTrainer: 32 pairs a step, two sequences each
    return {
        "gold reward model": train(
            lm, P["gold_rm_steps"] * pair_rows, rm, 2 * (micro or 32)
        ),
        "proxy reward model": forward(lm, 2 * P["proxy_pairs"], rm, 32)
        + train(lm, P["rm_steps"] * pair_rows, rm, 2 * (micro or 32)),
        "PPO runs": runs * P["iterations"] * it,
        "GRPO runs": P["n_seeds"] * P["iterations"] * grpo,
        "evaluations": (runs + P["n_seeds"] + 5) * evaluation,
        "exercises": 3 * P["exercise_iterations"] * it,
    }


def _pf_ppo(P: Mapping[str, Any]) -> dict[str, Work]:
    """Chapter 3 on real models: per seed the reward models' samples, programs and training, Part A's
    samples, then every method's PPO run against the reward model (and the control's against the unit
    tests) and its evaluation, greedy and sampled."""
    lm, lora, micro, chunk = (
        QWEN_05B,
        P["lora_rank"] is not None,
        P["micro_batch"],
        P["chunk_size"],
    )
    n, new, prompt = P["n_samples"], P["max_new_tokens"], MBPP_PROMPT_TOKENS
    tokens = prompt + new
    sampled = P["rm_prompts"] * n
    pairs = P["rm_prompts"] * math.comb(n, 2)
    per_seed = (
        generate(lm, sampled, prompt, new, chunk)
        + Work(host_s=sampled * SANDBOX_S)
        + 2 * P["rm_epochs"] * train(lm, 2 * pairs, tokens, 2 * (micro or 32))
        + generate(lm, P["analysis_prompts"] * n, prompt, new, chunk)
        + Work(host_s=P["analysis_prompts"] * n * SANDBOX_S)
        + 2 * forward(lm, P["analysis_prompts"] * n, tokens, 16)
    )
    kept = {"PPO-S": 1, "PPO-M": n, "PF-PPO (BoN)": 1}
    runs = Work()
    for method in (*P["methods"], *P["gold_methods"]):
        rows = P["prompts_per_iteration"] * (1 if method == "PPO-S" else n)
        trained = P["prompts_per_iteration"] * kept.get(method, 2)
        it = ppo_iteration(
            lm, rows, prompt, new, P["epochs"], 1, micro, chunk, lora, trained
        ) + Work(host_s=rows * SANDBOX_S)
        evaluation = (1 + P["eval_samples"]) * (
            generate(lm, P["eval_prompts"], prompt, new, chunk, lora)
            + Work(host_s=P["eval_prompts"] * SANDBOX_S)
        )
        runs = runs + P["iterations"] * it + evaluation
    return {
        "reward models and Part A": P["n_seeds"] * per_seed,
        "PPO runs and evaluations": P["n_seeds"] * runs,
    }


def _dpo_ranking(P: Mapping[str, Any]) -> dict[str, Work]:
    """Chapter 2's real-model section: GPT-2's log-likelihoods of the preferred and the dispreferred
    answers of ``2 x 1,000`` pairs under the policy and the reference, up to 1,024 tokens, 8 a pass.
    The toy DPO study trains 3M-parameter models, bound by the host as on the CPU; it is counted as
    the cpu profile's measured minutes scaled by its number of runs (:data:`TOY_SECONDS`)."""
    scoring = 2 * 2 * forward(GPT2, 1000, 1024, 8)
    cpu = profiles.resolve("02_dpo_ranking", "cpu")
    runs = P["n_seeds"] * len(P["gammas"]) / (cpu.n_seeds * len(cpu.gammas))
    return {
        "GPT-2 scoring": scoring,
        "toy DPO study": Work(host_s=TOY_SECONDS["02_dpo_ranking"] * runs),
    }


def _strategic_games(P: Mapping[str, Any]) -> dict[str, Work]:
    """Chapter 5's LLM player: greedy turns of Qwen2.5-1.5B in matches played side by side, 32 turns
    a ``generate`` call, on ``llm_seeds`` league seeds; the league itself is the cpu profile's."""
    turns = GAME_MATCHES_PER_SEED * P["llm_seeds"] * (P["llm_rounds"] + 1)
    prompt = P["llm_prompt_tokens"] or GAME_PROMPT_TOKENS
    return {
        "LLM player": generate(QWEN_15B, turns, prompt, P["llm_new_tokens"], 32),
        "league (CPU)": Work(host_s=TOY_SECONDS["05_strategic_games"]),
    }


# The cpu profile's measured seconds of a chapter's toy parts that a GPU does not speed up (a clean
# clone on 2 cores, 2026-12-07), for the chapters whose GPU work is only part of the chapter.
TOY_SECONDS: dict[str, float] = {"02_dpo_ranking": 230, "05_strategic_games": 290}

WORK: dict[str, Callable[[Mapping[str, Any]], dict[str, Work]]] = {
    "01_ppo_max": _ppo_max,
    "02_dpo_ranking": _dpo_ranking,
    "03_pf_ppo": _pf_ppo,
    "05_strategic_games": _strategic_games,
}


def work(chapter: str, P: Mapping[str, Any]) -> dict[str, Work]:
    """Part -> :class:`Work` of ``chapter`` at settings ``P`` (one of :data:`WORK`'s chapters)."""
    return WORK[chapter](P)


def minutes(chapter: str, P: Mapping[str, Any], card: str) -> float:
    """The estimated wall time (minutes) of ``chapter`` at settings ``P`` on ``card`` (a key of
    :data:`CARDS`)."""
    total = sum(work(chapter, P).values(), Work())
    return seconds(total, CARDS[card]) / 60


# Chapters whose GPU profiles need no sizing, with what they do there instead.
UNSIZED: dict[str, str] = {
    "00_toy_world": "a few minutes: two toy SFT policies of 3,000 steps each on the GPU",
    "04_reward_distance": "as the cpu profile: numpy and small models on the CPU",
}


def estimate(chapter: str, profile: str) -> str:
    """The estimate of ``chapter``'s GPU ``profile`` as the runtime tables show it: minutes on each
    card of :data:`PROFILE_CARDS` (or the :data:`UNSIZED` text)."""
    if chapter not in WORK:
        return UNSIZED[chapter]
    P = profiles.resolve(chapter, profile)
    cards = [
        f"{minutes(chapter, P, c):.0f} min on {CARDS[c].name}"
        for c in PROFILE_CARDS[profile]
    ]
    return "about " + ", ".join(cards) + " (±50%)"


ARITHMETIC_HEADER = (
    "chapter",
    "profile",
    "seeds",
    "part",
    "tokens generated",
    "tokens scored",
    "tokens trained",
    "FLOP",
    "host (min)",
    *(f"min on {CARDS[c].name}" for c in CARDS),
)


def arithmetic_rows() -> list[list[str]]:
    """Per sized chapter, GPU profile and part: the seeds, the work (:class:`Work`) and its minutes on
    every card, then the chapter's total beside its budget: the table of ``book/running.md``."""
    rows = []
    for chapter in WORK:
        for profile in PROFILE_CARDS:
            P = profiles.resolve(chapter, profile)
            seeds = next((P[k] for k in ("n_seeds", "llm_seeds") if k in P), 1)
            parts = work(chapter, P)
            total = sum(parts.values(), Work())
            budget = profiles.budget_minutes(chapter)[profile]
            for part, w in [*parts.items(), (f"total (budget {budget:g} min)", total)]:
                rows.append(
                    [
                        chapter[:2],
                        profile,
                        str(seeds),
                        part,
                        *(
                            f"{x:.2g}"
                            for x in (w.generated, w.forward, w.trained, w.flops)
                        ),
                        f"{w.host_s / 60:.1f}",
                        *(f"{seconds(w, card) / 60:.1f}" for card in CARDS.values()),
                    ]
                )
    return rows


def card_rows() -> list[list[str]]:
    """The cards' datasheet peaks and bandwidths and this estimate's assumptions, one row each."""
    return [
        [
            card.name,
            f"{card.memory_gb:g}",
            f"{card.peak_tflops:g}",
            f"{card.efficiency:.0%}",
            f"{card.bandwidth_gbs:g}",
            f"{card.launch_ms:g}",
        ]
        for card in CARDS.values()
    ]


CARD_HEADER = (
    "card",
    "memory (GB)",
    "16-bit peak (TFLOPS)",
    "share of the peak reached (assumed)",
    "bandwidth (GB/s)",
    "host launch per layer (ms, assumed)",
)
ARITHMETIC_CELL = "<!-- gpu sizing -->"  # where book/running.md shows the tables


def fill_running(text: str) -> str:
    """``book/running.md`` with :data:`ARITHMETIC_CELL` replaced by the cards' table and the
    arithmetic of every sized chapter's GPU profiles."""
    return text.replace(
        ARITHMETIC_CELL,
        tables.table(CARD_HEADER, card_rows())
        + "\n\n"
        + tables.table(ARITHMETIC_HEADER, arithmetic_rows()),
    )
