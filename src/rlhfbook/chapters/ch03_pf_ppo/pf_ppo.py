"""Chapter 3's run harness: PPO-S, PPO-M and PF-PPO on a code task, one run per (method, seed).

Shen & Zhang (2024) compare PPO with one sample per prompt (PPO-S), with N samples per prompt
(PPO-M) and PF-PPO, which trains on a filtered subset of the N samples (their Algorithm 2; the
filters are :mod:`rlhfbook.methods.filtration`'s). Every run here samples the same number of responses
per iteration, is scored by the same frozen reward model and is evaluated by greedy pass@1 on
the same held-out prompts, so that the methods differ only in which samples enter the update.

:func:`run_method` is one run, a function of plain arguments (a dict of paths, numbers and
prompts), so that :func:`rlhfbook.core.parallel.map_runs` can put the runs of a chapter on every
core; :func:`reward_model_run` is the same for the reward models. Prompts come from
separate random streams (:func:`stream`): the reward model's training prompts, the analysis
prompts, each seed's PPO prompts and the evaluation prompts never share a generator.

The rest is the chapter's analysis, in the order the chapter runs it: the reward models' pairs
and training, one per seed (:func:`reward_model_pairs`, :func:`train_seed_reward_models`), Part A's rewards with a
floor for truncated programs (:func:`score_samples`), the spread of the actual score by reward
region (the paper's Fig. 1, :func:`score_spread`), the R^2 of every filter (the paper's Table 1,
:func:`r2_table`, :func:`r2_differences`), and Part B's runs, final pass@1 (Table 3,
:func:`final_table`) and compute (Table 4, :func:`compute_table`) with the margins its checks
read (:func:`pf_margin`, :func:`chosen_margin`), and the per-seed numbers of the checks (:func:`seed_r2`,
:func:`r2_ordering_margin`, :func:`gold_control_margin`). Chapter 3 (``notebooks/03_pf_ppo.py``) uses it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from rlhfbook.core import parallel, runtime
from rlhfbook.lm import models, rollout
from rlhfbook.lm.rollout import encode_prompts, format_prompts, generate, gold_scores
from rlhfbook.methods import filtration, ppo, reward_model
from rlhfbook.tasks import code_tasks, sandbox, toyworld
from rlhfbook.tasks.code_tasks import (
    UnitTestTask,
    passing_programs,
    shown_pass_rate,
    shown_verdicts,
)
from rlhfbook.tasks.preferences import PreferencePairs

if TYPE_CHECKING:
    from rlhfbook.chapters.ch03_pf_ppo.spec import PFPPOSettings
    from rlhfbook.lm.rollout import Rollout

# method -> filtering strategy of :mod:`rlhfbook.methods.filtration` (None: one sample per prompt, PPO-S)
METHODS: dict[str, str | None] = {
    "PPO-S": None,
    "PPO-M": "none",
    "PF-PPO (BoN)": "bon",
    "PF-PPO (BR)": "br",
    "PF-PPO (BW)": "bw",
}
# reward model -> whether it reads the program's outputs on the shown examples (code_tasks.with_execution)
READS = {"program only": False, "program + shown outputs": True}
VERIFY = "program + shown outputs"  # the reward model PPO optimises
# the paper's Sec. 5.6 strategies of Part A: label -> (filtration strategy, its parameters), on standardised rewards
SEC56: dict[str, tuple[str, dict[str, float]]] = {
    "top (z >= 0.5)": ("top", dict(threshold=0.5)),
    "top-random": ("top-random", dict(threshold=0.5, random_keep=0.5)),
    "top-bottom (z >= 0.5 or <= -0.5)": (
        "top-bottom",
        dict(threshold=0.5, bottom=-0.5),
    ),
    "pow-1": ("pow", dict(k=1)),
    "pow-2": ("pow", dict(k=2)),
    "pow-3": ("pow", dict(k=3)),
}
# the paper's numbers: grouped R^2 on SFT samples (Table 1) and HumanEval pass@1 in % (Table 3)
PAPER_R2 = {"no filter": 0.886, "BoN": 0.454, "BR": 0.922, "BW": 0.952}
PAPER_PASS1 = {
    "PPO-S": 78.1,
    "PPO-M": 80.8,
    "PF-PPO (BoN)": 75.8,
    "PF-PPO (BR)": 82.9,
    "PF-PPO (BW)": 82.4,
}
# the differences of R^2 that Table 1's ordering rests on: (a, b) means R^2(a) - R^2(b)
R2_PAIRS = [("bw", "none"), ("none", "bon"), ("br", "bon"), ("bw", "bon")]
# what PPO optimises: the reward model, or the unit tests themselves (the control)
REWARDS = ("model", "gold")
# purpose -> second word of the seed of its random stream
STREAMS = {"rm": 1, "analysis": 2, "ppo": 3, "eval": 4, "filter": 5, "bootstrap": 6}


def stream(seed: int, purpose: str) -> np.random.Generator:
    """The generator of one purpose (see :data:`STREAMS`) for ``seed``: numpy seeds it from the
    pair ``(seed, purpose)``, so streams of different purposes or seeds are independent."""
    if purpose not in STREAMS:
        raise ValueError(f"unknown stream {purpose!r}; valid: {', '.join(STREAMS)}")
    return np.random.default_rng([seed, STREAMS[purpose]])


def pass_eval(
    policy,
    tokenizer,
    task,
    prompts: list[str],
    max_new_tokens: int,
    *,
    greedy: bool = True,
    batch_size: int = 256,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """One answer per prompt (greedy, or a sample at temperature 1; seed torch for the latter):
    (passed all unit tests, ended with EOS, the answer), one entry per prompt."""

    passed, eos, answers = [], [], []
    for start in range(0, len(prompts), batch_size):
        r = generate(
            policy,
            tokenizer,
            prompts[start : start + batch_size],
            max_new_tokens=max_new_tokens,
            greedy=greedy,
        )
        passed.append((gold_scores(task, r) == 1).numpy())
        eos.append(r.has_eos.numpy())
        answers += r.responses
    return np.concatenate(passed), np.concatenate(eos), answers


@torch.no_grad()
def exact_pass_rate(
    policy, tokenizer, task, prompts: list[str], batch_size: int = 128
) -> np.ndarray:
    """The probability that one sample of ``policy`` (temperature 1) passes all unit tests, per prompt.

    pass@1 of sampled programs, computed exactly instead of estimated from samples: the sum of
    ``pi(y + EOS | x)`` over the task's programs that pass (:func:`rlhfbook.tasks.code_tasks.passing_programs`).
    Each prompt is run once and its key/value cache shared by its programs. It is a lower bound by the
    probability of passing answers outside the language's canonical form (more than ``task.max_ops``
    operations, doubled spaces), which the toy policies hardly write.
    """

    device = next(policy.parameters()).device
    prob = np.zeros(len(prompts))
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        rows = [
            (i, program)
            for i, prompt in enumerate(chunk)
            for program in passing_programs(task, prompt)
        ]
        if not rows:
            continue
        q_ids, q_mask = (t.to(device) for t in encode_prompts(tokenizer, chunk))
        out = policy(
            input_ids=q_ids,
            attention_mask=q_mask,
            position_ids=(q_mask.cumsum(1) - 1).clamp(min=0),
            use_cache=True,
        )
        first = torch.log_softmax(
            out.logits[:, -1].float(), -1
        )  # log pi(first token | prompt)
        owner = torch.tensor([i for i, _ in rows], device=device)
        cache = out.cache
        cache.reorder_cache(owner)  # one copy of its prompt's cache per program
        ids = [
            tokenizer(program, add_special_tokens=False)["input_ids"]
            + [tokenizer.eos_token_id]
            for _, program in rows
        ]
        width = max(map(len, ids))
        y = torch.tensor(
            [r + [tokenizer.pad_token_id] * (width - len(r)) for r in ids],
            device=device,
        )
        y_mask = (
            torch.arange(width, device=device)[None]
            < torch.tensor([len(r) for r in ids], device=device)[:, None]
        ).long()
        positions = (
            q_mask.sum(1)[owner][:, None] + torch.arange(width, device=device)[None]
        )
        logits = policy(
            input_ids=y,
            attention_mask=torch.cat([q_mask[owner], y_mask], 1),
            position_ids=positions,
            cache=cache,
        ).logits
        logp = torch.cat(
            [first[owner][:, None], torch.log_softmax(logits[:, :-1].float(), -1)], 1
        )
        seq = (logp.gather(-1, y[..., None]).squeeze(-1) * y_mask).sum(1)
        np.add.at(prob, start + owner.cpu().numpy(), seq.exp().double().cpu().numpy())
    return prob


def reward_model_run(spec: dict[str, Any]) -> dict[str, Any]:
    """Train one reward model (for :func:`rlhfbook.core.parallel.map_runs`): ``spec`` holds ``base`` (the
    causal-LM folder it starts from), ``out_dir``, ``pairs`` (rows ``{prompt, chosen, rejected}``),
    ``epochs`` (passes over the pairs, at least 1), ``batch_size``, ``lr``, ``seed``, ``max_length`` and
    ``micro_batch`` (pairs per forward/backward pass; None: one pass) and ``autocast`` (the trainer's precision).
    Returns the folder, the steps, TRL's log and the CPU seconds it took."""

    start = time.process_time()
    if spec["epochs"] < 1:
        raise ValueError(
            f"a reward model needs at least one full pass over its data, got epochs={spec['epochs']}"
        )
    runtime.seed_everything(spec["seed"])
    runtime.quiet()
    tokenizer = models.load_tokenizer(spec["base"])
    steps = int(np.ceil(len(spec["pairs"]) * spec["epochs"] / spec["batch_size"]))
    path, log = reward_model.train_reward_model(
        spec["base"],
        tokenizer,
        spec["pairs"],
        spec["out_dir"],
        steps=steps,
        batch_size=spec["batch_size"],
        lr=spec["lr"],
        seed=spec["seed"],
        max_length=spec["max_length"],
        micro_batch=spec["micro_batch"],
        autocast=spec["autocast"],
        chat=None,  # the prompt as the policy sees it and proxy_reward scores it: in the chat template
    )
    return {
        "path": str(path),
        "steps": steps,
        "log": log,
        "cpu_s": time.process_time() - start,
    }


def sampled_pass_rate(
    policy, tokenizer, task, prompts: list[str], max_new_tokens: int, samples: int
) -> np.ndarray:
    """pass@1 at temperature 1 per prompt: exact on the toy code task (:func:`exact_pass_rate`), else the
    mean over ``samples`` sampled answers (seed torch first)."""

    if not isinstance(task, UnitTestTask):
        return exact_pass_rate(policy, tokenizer, task, prompts)
    return np.mean(
        [
            pass_eval(policy, tokenizer, task, prompts, max_new_tokens, greedy=False)[0]
            for _ in range(samples)
        ],
        0,
    )


@parallel.resumable
def run_method(spec: dict[str, Any]) -> dict[str, Any]:
    """One PPO run (for :func:`rlhfbook.core.parallel.map_runs`). ``spec`` holds:

    ``method`` (a key of :data:`METHODS`), ``seed``, ``sft_path``, ``rm_path``, ``task`` and ``eval_task``
    (picklable task objects), ``execution`` (the reward model reads
    :func:`rlhfbook.tasks.code_tasks.with_execution`'s text), ``no_eos_score``, ``n_samples`` (N),
    ``config`` (fields of :class:`rlhfbook.methods.ppo.PPOConfig` except ``group_size``; ``prompts_per_iteration``
    counts prompts of the N-sample methods: PPO-S takes N times as many, one sample each),
    ``eval_prompts`` and ``eval_samples`` (samples per prompt where pass@1 cannot be computed exactly), and
    optionally ``reward``: ``"model"`` (default, the reward model at ``rm_path``) or ``"gold"`` (the unit-test
    score, a reward that is reliable everywhere: the chapter's control; the critic still starts from the
    reward model).

    The policy and critic start from the SFT policy and the reward model; the policy sees only the
    prompt. Returns the log rows of :func:`rlhfbook.methods.ppo.train` and, per held-out prompt, the final
    policy's pass@1 at temperature 1 (``sampled``) and greedy (``greedy``) and its greedy answer
    (``greedy_answers``), and the fraction of greedy answers cut off without EOS.
    """
    start = time.process_time()
    method, seed = spec["method"], spec["seed"]
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    runtime.seed_everything(seed)
    runtime.quiet()
    device = runtime.device()
    task, eval_task = spec["task"], spec["eval_task"]
    policy, tokenizer = models.load_policy(spec["sft_path"])
    critic, _ = models.load_reward_model(spec["rm_path"], tokenizer)
    sft = models.load_reference(
        spec["sft_path"], spec["config"].get("lora_rank"), device
    )
    policy.to(device), critic.to(device)
    text_fn = (
        (lambda p, r: code_tasks.with_execution(task, p, r))
        if spec["execution"]
        else None
    )
    reward = spec.get("reward", "model")
    if reward not in REWARDS:
        raise ValueError(f"unknown reward {reward!r}; valid: {', '.join(REWARDS)}")
    if (
        reward == "gold"
    ):  # the fraction of unit tests passed; a program cut off without EOS passes none
        proxy = lambda r: gold_scores(task, r, no_eos_score=0.0)  # noqa: E731
    else:
        proxy = reward_model.proxy_reward(
            spec["rm_path"],
            tokenizer,
            device,
            no_eos_score=spec["no_eos_score"],
            text_fn=text_fn,
        )
    strategy, n = METHODS[method], spec["n_samples"]
    group = 1 if strategy is None else n
    cfg = dict(spec["config"])
    cfg["prompts_per_iteration"] = cfg["prompts_per_iteration"] * n // group
    config = ppo.PPOConfig(group_size=group, **cfg)
    select = (
        None
        if strategy in (None, "none")
        else filtration.selector(strategy, stream(seed, "filter"))
    )
    prompts_rng = stream(seed, "ppo")

    def sample_prompts(k: int, _train_rng: np.random.Generator) -> list[str]:
        return task.sample_prompts(
            k, prompts_rng
        )  # the PPO stream, not train's own generator

    log = ppo.train(
        policy,
        sft,
        critic,
        tokenizer,
        sample_prompts,
        proxy,
        config,
        seed=seed,
        gold_fn=lambda r: gold_scores(task, r),
        select=select,
        progress=False,
    )
    prompts, max_new = spec["eval_prompts"], config.max_new_tokens
    greedy, eos, answers = pass_eval(policy, tokenizer, eval_task, prompts, max_new)
    sampled = sampled_pass_rate(
        policy, tokenizer, eval_task, prompts, max_new, spec["eval_samples"]
    )
    return {
        "method": method,
        "seed": seed,
        "reward": reward,
        "log": log,
        "sampled": sampled.tolist(),
        "greedy": greedy.astype(float).tolist(),
        "greedy_answers": answers,
        "truncated": float(1 - eos.mean()),
        "cpu_s": time.process_time() - start,
    }


def pass_rate_z(passed: np.ndarray, baseline: np.ndarray) -> tuple[float, float]:
    """Gain in pass rate over ``baseline`` and its standard error, paired over prompts.

    ``passed`` has shape (seeds, prompts) and ``baseline`` (prompts,): the gain is the mean over
    seeds and prompts of ``passed - baseline``; its standard error combines the spread over prompts
    of the seed-averaged differences and the spread over seeds of the per-seed gains,
    ``se = sqrt(var_prompts / n_prompts + var_seeds / n_seeds)``."""
    p = np.atleast_2d(np.asarray(passed, float))
    b = np.asarray(baseline, float)
    if p.shape[1] != b.shape[0]:
        raise ValueError(f"passed has {p.shape[1]} prompts, baseline {b.shape[0]}")
    d = p - b
    per_prompt, per_seed = d.mean(0), d.mean(1)
    var_seeds = per_seed.var(ddof=1) / len(per_seed) if len(per_seed) > 1 else 0.0
    return float(d.mean()), float(
        np.sqrt(per_prompt.var(ddof=1) / len(per_prompt) + var_seeds)
    )


def z_value(gain: float, se: float) -> float:
    """``gain / se``, defined when nothing varies: 0 for no gain (e.g. a policy that passes no
    test before or after, as a random-weight stand-in model does), +-inf for a gain without spread."""
    if se > 0:
        return gain / se
    return 0.0 if gain == 0 else float(np.copysign(np.inf, gain))


def sample_groups(
    policy,
    tokenizer,
    prompts: list[str],
    n: int,
    seed: int,
    max_new_tokens: int,
    chunk_size: int | None = None,
) -> Rollout:
    """N samples per prompt at temperature 1 (the first step of the paper's Algorithm 2), the rows of
    a prompt adjacent: row ``i * n + j`` is prompt ``i``'s ``j``-th sample. Seeds torch with ``seed``."""

    torch.manual_seed(seed)
    return generate(
        policy,
        tokenizer,
        [p for p in prompts for _ in range(n)],
        max_new_tokens=max_new_tokens,
        chunk_size=chunk_size,
    )


def reward_model_pairs(
    task,
    prompts: list[str],
    groups: list[list[str]],
    tau: float,
    rng: np.random.Generator,
) -> dict[str, PreferencePairs]:
    """The labelled pairs of each reward model of :data:`READS`: every pair of a prompt's samples with
    different unit-test scores, labelled by raters with noise ``tau``
    (:func:`rlhfbook.tasks.code_tasks.unit_test_pairs`), the second reward model's with the programs' shown
    outputs appended (:func:`rlhfbook.tasks.code_tasks.execution_pairs`). Where no pair differs (a policy
    whose programs all score the same), each prompt's demonstration is preferred to its first sample."""

    pairs = code_tasks.unit_test_pairs(
        code_tasks.UnitTestRaters(task, tau), prompts, groups, rng
    )
    if not pairs:
        pairs = PreferencePairs(
            prompts, [task.demonstration(p) for p in prompts], [g[0] for g in groups]
        )
    return {
        name: code_tasks.execution_pairs(task, pairs) if shown else pairs
        for name, shown in READS.items()
    }


def train_reward_models(
    pair_sets: dict[str, PreferencePairs],
    tokenizer,
    names: list[str],
    settings: PFPPOSettings,
    *,
    base: str,
    workdir: Path,
    seed: int,
) -> dict[str, dict[str, Any]]:
    """Train the reward models ``names`` (keys of ``pair_sets``) from ``base`` side by side
    (``settings.jobs`` processes) with :func:`reward_model_run` and ``settings``' ``rm_epochs``,
    ``rm_batch``, ``rm_lr`` and ``autocast``, each in ``workdir / f"rm{i}"`` and with room for the longest text of
    any pair set (its prompt in the chat template, as the models train on it), so that none is cut. Returns name -> :func:`reward_model_run`'s dict."""
    out = train_seed_reward_models(
        {(seed, name): pair_sets[name] for name in names},
        tokenizer,
        settings,
        base=base,
        workdir=workdir,
        room_for=list(pair_sets.values()),
    )
    return {name: out[seed, name] for name in names}


def train_seed_reward_models(
    pair_sets: dict[tuple[int, str], PreferencePairs],
    tokenizer,
    settings: PFPPOSettings,
    *,
    base: str,
    workdir: Path,
    room_for: tuple[PreferencePairs, ...] | list[PreferencePairs] = (),
) -> dict[tuple[int, str], dict[str, Any]]:
    """:func:`train_reward_models` for reward models of several seeds at once: ``pair_sets`` maps
    ``(seed, name)`` to the pairs of that seed's reward model ``name``, trained under ``seed``, the
    ``i``-th in ``workdir / f"rm{i}"``, all side by side, with room for the longest text of these pairs
    and of ``room_for``. Returns ``(seed, name)`` -> :func:`reward_model_run`'s dict."""

    longest = max(
        len(
            tokenizer(
                format_prompts(tokenizer, [r["prompt"]])[0] + r[k],
                add_special_tokens=False,
            )["input_ids"]
        )
        for pairs in [*pair_sets.values(), *room_for]
        for r in pairs.rows()
        for k in ("chosen", "rejected")
    )
    keys = list(pair_sets)
    specs = [
        dict(
            base=base,
            out_dir=str(workdir / f"rm{i}"),
            pairs=pair_sets[key],
            epochs=settings.rm_epochs,
            batch_size=settings.rm_batch,
            lr=settings.rm_lr,
            seed=key[0],
            max_length=longest + 1,
            micro_batch=settings.micro_batch,
            autocast=settings.autocast,
        )
        for i, key in enumerate(keys)
    ]
    return dict(
        zip(keys, parallel.map_runs(reward_model_run, specs, jobs=settings.jobs))
    )


def score_samples(
    rm_path: str, tokenizer, device, task, samples: Rollout, shown: bool, n: int
) -> tuple[np.ndarray, float, np.ndarray]:
    """A reward model's scores of ``samples`` (N per prompt), shape (prompts, N), with every program cut
    off without EOS scored :func:`rlhfbook.lm.rollout.no_eos_floor` of the complete ones. ``shown``: the reward model reads
    :func:`rlhfbook.tasks.code_tasks.with_execution`'s text. Returns (scores, the floor, the complete programs' scores)."""

    text_fn = (lambda p, r: code_tasks.with_execution(task, p, r)) if shown else None
    raw = reward_model.proxy_reward(
        rm_path, tokenizer, device, no_eos_score=None, text_fn=text_fn
    )(samples)
    raw = raw.numpy().reshape(-1, n)
    has_eos = samples.has_eos.numpy().reshape(-1, n)
    floor = rollout.no_eos_floor(raw[has_eos] if has_eos.sum() > 1 else raw)
    return np.where(has_eos, raw, floor), floor, raw[has_eos]


def score_spread(score_std: np.ndarray) -> dict[str, float]:
    """The paper's Fig. 1 in three numbers: the mean spread (std) of the actual score over the lowest
    fifth of the reward regions, the middle ones and the highest fifth (at least one region each)."""
    k = max(1, len(score_std) // 5)
    return {
        "lowest rewards": float(score_std[:k].mean()),
        "middle": float(score_std[k:-k].mean()),
        "highest rewards": float(score_std[-k:].mean()),
    }


def reliability_pattern(spread: dict[str, float]) -> str:
    """Which ends of the reward range pin the actual score down better than the middle does (Fig. 1)."""
    ends = [
        end
        for end in ("lowest", "highest")
        if spread[f"{end} rewards"] < spread["middle"]
    ]
    if len(ends) == 2:
        return "both ends more reliable than the middle, as in the paper's Fig. 1"
    return (
        f"only the {ends[0]} rewards more reliable than the middle"
        if ends
        else "no end more reliable than the middle"
    )


def score_by_shown_examples(shown_rate: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    """Per fraction of shown examples a program gets right: the share of samples, and the mean and
    standard deviation of their actual score (how much the shown examples say about the hidden tests)."""
    s = pd.Series(np.asarray(scores, float).ravel())
    table = pd.DataFrame(
        {
            "samples (share)": pd.Series(shown_rate)
            .value_counts(normalize=True)
            .sort_index(),
            "actual score: mean": s.groupby(shown_rate).mean(),
            "actual score: std": s.groupby(shown_rate).std(ddof=0),
        }
    )
    table.index = pd.Index(
        [f"{v:.2f}" for v in table.index], name="shown examples right"
    )
    return table


def reward_by_verdicts(
    task, samples: Rollout, rewards: np.ndarray, scores: np.ndarray
) -> pd.DataFrame:
    """Why a reward model is reliable where it is (Part A): per pattern of verdicts on the shown examples
    (``"== != =="``, :func:`rlhfbook.tasks.code_tasks.shown_verdicts`; complete programs only), the share of the
    samples, the mean and std of the standardised reward and the mean and std of the actual score, highest
    mean reward first. A reward model that reads one verdict instead of the three ranks a pattern with one
    ``==`` in that place beside ``"== == =="``, whose programs pass far more hidden tests."""

    eos = samples.has_eos.numpy()
    z, s = standardise(np.asarray(rewards, float)).ravel()[eos], np.ravel(scores)[eos]
    verdicts = [
        shown_verdicts(task, p, r)
        for p, r, e in zip(samples.prompts, samples.responses, eos)
        if e
    ]
    frame = pd.DataFrame({"verdicts": verdicts, "reward": z, "actual score": s})
    table = frame.groupby("verdicts").agg(
        share=("reward", lambda v: len(v) / len(frame)),
        reward_mean=("reward", "mean"),
        reward_std=("reward", "std"),
        score_mean=("actual score", "mean"),
        score_std=("actual score", "std"),
    )
    table.columns = [
        "samples (share)",
        "reward: mean",
        "reward: std",
        "actual score: mean",
        "actual score: std",
    ]
    return table.sort_values("reward: mean", ascending=False)


def shown_rates(task, samples: Rollout) -> np.ndarray:
    """:func:`rlhfbook.tasks.code_tasks.shown_pass_rate` of every sample, in the order of the rollout's rows."""

    return np.array(
        [
            shown_pass_rate(task, p, r)
            for p, r in zip(samples.prompts, samples.responses)
        ]
    )


def top_intruders(
    shown_rate: np.ndarray, rewards: np.ndarray, fraction: float = 0.2
) -> float:
    """Share of the samples with the highest ``fraction`` of rewards (the top of Fig. 1) that get fewer than
    all shown examples right: programs whose actual score is low that the reward model ranks among those
    that get every shown example right (0 for a reward model that orders by the count of right examples
    when at least ``fraction`` of the samples get all right)."""
    r, right = np.ravel(rewards), np.ravel(shown_rate)
    if r.shape != right.shape or not 0 < fraction <= 1:
        raise ValueError(
            f"need equal shapes and 0 < fraction <= 1, got {r.shape}, {right.shape}, {fraction}"
        )
    top = np.argsort(r, kind="stable")[-max(1, int(round(fraction * r.size))) :]
    return float((right[top] < 1).mean())


def intruders_floor(shown_rate: np.ndarray, fraction: float = 0.2) -> float:
    """The least :func:`top_intruders` of any ranking: where fewer than ``fraction`` of the samples get every
    shown example right, the rest of the top ``fraction`` must be others, ``max(0, 1 - share all right /
    fraction)``."""
    return max(0.0, 1.0 - float((np.asarray(shown_rate) == 1).mean()) / fraction)


def seed_correlation(a: dict, b: dict) -> float:
    """Pearson correlation over seeds (the keys of ``a``) of ``a[seed]`` and ``b[seed]``; NaN with
    fewer than three seeds or when either does not vary."""
    x = np.array([a[s] for s in a], float)
    y = np.array([b[s] for s in a], float)
    if x.size < 3 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def score_summary(scores: np.ndarray, shown_rate: np.ndarray, rate: float) -> str:
    """``mean ± std`` of the actual score of the samples that get ``rate`` of the shown examples right."""
    s = np.asarray(scores, float).ravel()[shown_rate == rate]
    return f"{s.mean():.2f} ± {s.std():.2f}" if s.size else "no samples"


def standardise(rewards: np.ndarray) -> np.ndarray:
    """``(r - mean) / std`` over all samples: the scale on which Sec. 5.6's thresholds and ``|r|^k`` act.
    Equal rewards have no ranking to filter by: a ValueError in one line."""
    if not rewards.std() > 0:
        raise ValueError(
            f"all {rewards.size} samples got the same reward {rewards.flat[0]:.3g}, so no filter can rank "
            "them (e.g. every answer cut off at max_new_tokens before its end token)"
        )
    return (rewards - rewards.mean()) / rewards.std()


def r2_table(
    rewards: np.ndarray,
    scores: np.ndarray,
    rng: np.random.Generator,
    *,
    n_boot: int,
    n_groups: int,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The paper's Table 1 for one reward model: sample-level and grouped R^2 of every rank filter, with
    bootstrap standard errors (:func:`rlhfbook.methods.filtration.bootstrap_r_squared`), then the Sec. 5.6
    strategies of :data:`SEC56` (:func:`rlhfbook.methods.filtration.filtered_r_squared`), all on standardised
    rewards and in that order from ``rng``. Returns the table (rows by label) and the bootstrap array."""
    z = standardise(rewards)
    ranked = list(filtration.RANK_STRATEGIES)
    point, boot = filtration.bootstrap_r_squared(
        z, scores, ranked, rng, n_boot=n_boot, n_groups=n_groups
    )
    se = boot.std(0, ddof=1)
    rows = {
        filtration.LABELS[s]: {
            "R² (samples)": point[s]["sample"],
            "± SE": se[j, 0],
            "R² (grouped)": point[s]["grouped"],
            "± SE ": se[j, 1],
        }
        for j, s in enumerate(ranked)
    }
    for label, (s, kw) in SEC56.items():
        out = filtration.filtered_r_squared(z, scores, s, rng, n_groups=n_groups, **kw)
        rows[label] = {"R² (samples)": out["sample"], "R² (grouped)": out["grouped"]}
    return pd.DataFrame(rows).T, boot


def r2_differences(table: pd.DataFrame, boot: np.ndarray) -> pd.DataFrame:
    """The differences of :data:`R2_PAIRS` on an :func:`r2_table`, each with its paired bootstrap
    standard error (:func:`rlhfbook.methods.filtration.r_squared_differences`)."""
    ranked = list(filtration.RANK_STRATEGIES)
    point = {
        s: {
            "sample": table.loc[filtration.LABELS[s], "R² (samples)"],
            "grouped": table.loc[filtration.LABELS[s], "R² (grouped)"],
        }
        for s in ranked
    }
    return pd.DataFrame(filtration.r_squared_differences(point, boot, ranked, R2_PAIRS))


def run_specs(
    settings: PFPPOSettings,
    seeds: list[int],
    *,
    sft_path: str,
    rm_path: str | dict[int, str],
    task,
    eval_task,
    no_eos_score: float | dict[int, float],
    eval_prompts: list[str],
    reward: str = "model",
    methods: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """The :func:`run_method` specs of Part B: every method of ``methods`` (default ``settings.methods``)
    on every seed, against ``reward`` (:data:`REWARDS`: the reward model that reads the shown outputs, or
    the unit tests), with the PPO fields of ``settings``. ``rm_path`` and ``no_eos_score`` are one for
    every seed or a dict seed -> that seed's own (one reward model per seed)."""
    if reward not in REWARDS:
        raise ValueError(f"unknown reward {reward!r}; valid: {', '.join(REWARDS)}")
    config = ppo.config_fields(settings)
    return [
        dict(
            method=m,
            seed=s,
            sft_path=sft_path,
            rm_path=rm_path[s] if isinstance(rm_path, dict) else rm_path,
            task=task,
            eval_task=eval_task,
            execution=True,
            no_eos_score=no_eos_score[s]
            if isinstance(no_eos_score, dict)
            else no_eos_score,
            n_samples=settings.n_samples,
            config=config,
            eval_prompts=eval_prompts,
            eval_samples=settings.eval_samples,
            reward=reward,
        )
        for s in seeds
        for m in (methods or settings.methods)
    ]


def collect_runs(
    runs: list[dict[str, Any]], methods: tuple[str, ...]
) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """:func:`run_method`'s results as (the log rows of every run with its ``method``, ``seed`` and the
    responses ``sampled`` so far; per method, sampled and greedy pass@1 of shape (seeds, prompts))."""
    logs = pd.concat(
        [
            pd.DataFrame(r["log"]).assign(method=r["method"], seed=r["seed"])
            for r in runs
        ],
        ignore_index=True,
    )
    logs["sampled"] = logs.groupby(["method", "seed"])["samples"].cumsum()
    passed = {
        m: np.array([r["sampled"] for r in runs if r["method"] == m]) for m in methods
    }
    greedy = {
        m: np.array([r["greedy"] for r in runs if r["method"] == m]) for m in methods
    }
    return logs, passed, greedy


def final_table(
    runs: list[dict[str, Any]],
    logs: pd.DataFrame,
    passed: dict[str, np.ndarray],
    greedy: dict[str, np.ndarray],
    sft_pass: np.ndarray,
    r2: pd.DataFrame,
) -> pd.DataFrame:
    """The paper's Table 3, one row per method of ``passed``: pass@1 sampled and greedy, the gain over
    the SFT policy and its standard error (:func:`pass_rate_z`), the spread over seeds, the share of
    truncated answers, and the R^2 of its filter in ``r2`` (an :func:`r2_table`; PPO-S and PPO-M: unfiltered)."""
    rows = {}
    for m, p in passed.items():
        gain, se = pass_rate_z(p, sft_pass)
        label = filtration.LABELS[METHODS[m] or "none"]
        rows[m] = {
            "pass@1 (sampled)": p.mean(),
            "gain over SFT": gain,
            "± SE": se,
            "std over seeds": p.mean(1).std(ddof=1) if len(p) > 1 else np.nan,
            "pass@1 (greedy)": greedy[m].mean(),
            "truncated (greedy answers)": np.mean(
                [r["truncated"] for r in runs if r["method"] == m]
            ),
            "truncated (training samples)": 1
            - logs.loc[logs.method == m, "eos_frac"].mean(),
            "R² of its filter (samples)": r2.loc[label, "R² (samples)"],
            "R² of its filter (grouped)": r2.loc[label, "R² (grouped)"],
        }
    return pd.DataFrame(rows).T


def compute_table(logs: pd.DataFrame, methods: tuple[str, ...]) -> pd.DataFrame:
    """The paper's Table 4: per method (mean over seeds) the responses sampled and the sample-passes
    (samples x PPO epochs) of the policy and the critic, and their sum relative to PPO-M's."""

    def passes(g: pd.DataFrame) -> pd.Series:
        return pd.Series(
            {
                "sampled responses": g["samples"].sum(),
                "policy passes": g["backward_samples"].iloc[-1],
                "critic passes": g["critic_backward_samples"].iloc[-1],
            }
        )

    compute = (
        logs.groupby(["method", "seed"])
        .apply(passes)
        .groupby("method")
        .mean()
        .loc[list(methods)]
    )
    compute["policy + critic, x PPO-M"] = (
        compute["policy passes"] + compute["critic passes"]
    ) / (compute.loc["PPO-M", "policy passes"] + compute.loc["PPO-M", "critic passes"])
    return compute


def pf_margin(pass_rates: dict[str, float], pf: list[str]) -> float:
    """Check 2's margin (Tables 2-3): the better of the methods ``pf`` (BR, BW) by its smaller margin
    over PPO-M - 0.01 and over PF-PPO (BoN) + 0.03."""
    return max(
        min(
            pass_rates[m] - (pass_rates["PPO-M"] - 0.01),
            pass_rates[m] - (pass_rates["PF-PPO (BoN)"] + 0.03),
        )
        for m in pf
    )


def chosen_margin(
    pass_rates: dict[str, float], chosen: str, filters: list[str]
) -> float:
    """Check 4's margin (Sec. 5.3): pass@1 of the filter ``chosen`` for its R^2 minus the best of the others."""
    return pass_rates[chosen] - max(pass_rates[m] for m in filters if m != chosen)


def paper_r2_table(r2_tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The paper's grouped R^2 of Table 1 (:data:`PAPER_R2`) beside ours, grouped and sample-level, for
    each reward model's :func:`r2_table`."""
    rows = list(PAPER_R2)
    return pd.DataFrame(
        {"paper grouped R²": PAPER_R2}
        | {
            f"ours grouped R² ({name})": t.loc[rows, "R² (grouped)"]
            for name, t in r2_tables.items()
        }
        | {
            f"ours sample R² ({name})": t.loc[rows, "R² (samples)"]
            for name, t in r2_tables.items()
        }
    )


def paper_pass1_table(final: pd.DataFrame, compute: pd.DataFrame) -> pd.DataFrame:
    """The paper's HumanEval pass@1 (:data:`PAPER_PASS1`) beside ours in % (a :func:`final_table`) and
    our policy + critic passes relative to PPO-M's (a :func:`compute_table`)."""
    return pd.DataFrame(
        {
            "paper HumanEval pass@1 (%)": {m: PAPER_PASS1[m] for m in final.index},
            "ours pass@1, sampled (%)": 100 * final["pass@1 (sampled)"],
            "ours pass@1, greedy (%)": 100 * final["pass@1 (greedy)"],
            "ours policy+critic passes vs PPO-M": compute["policy + critic, x PPO-M"],
        }
    )


# --- one reward model per seed: the decisive numbers of the checks ------------------------------


# the filters of Table 1 in the order of their labels: strategy -> label
def short_name(method: str) -> str:
    """A method's name as the prose and the figures write it: 'PF-PPO (BW)' -> 'BW'."""
    return method.replace("PF-PPO ", "").strip("()")


RANK_LABELS = {s: filtration.LABELS[s] for s in filtration.RANK_STRATEGIES}
# which R^2 the ordering check reads: the sample-level one (see the chapter: the grouped R^2 averages the
# noise inside each group away, and on this task it is close to 1 for every filter)
R2_METRIC = "sample"


def seed_r2(
    rewards: np.ndarray, scores: np.ndarray, rng: np.random.Generator, n_groups: int
) -> dict[str, dict]:
    """One seed's Table 1: label -> sample-level and grouped R^2 of every rank filter on samples of its
    filtered policy (:func:`rlhfbook.methods.filtration.filtered_r_squared`, N draws per prompt, standardised rewards)."""
    z = standardise(rewards)
    return {
        label: filtration.filtered_r_squared(z, scores, s, rng, n_groups=n_groups)
        for s, label in RANK_LABELS.items()
    }


def r2_seed_table(r2: dict[int, dict[str, dict]], metric: str) -> pd.DataFrame:
    """Per seed (rows) the ``metric`` R^2 (``"sample"`` or ``"grouped"``) of every filter (columns), then
    the mean over seeds and two standard errors of it."""
    table = pd.DataFrame(
        {s: {label: v[metric] for label, v in row.items()} for s, row in r2.items()}
    ).T
    table.index = pd.Index([str(s) for s in table.index], name="seed")
    se = (
        table.std(ddof=1) / np.sqrt(len(table))
        if len(table) > 1
        else table.iloc[0] * np.nan
    )
    return pd.concat(
        [table, table.mean().to_frame("mean").T, (2 * se).to_frame("± 2 SE").T]
    )


def r2_ordering_margin(r2: dict[str, dict], metric: str = R2_METRIC) -> float:
    """Check 3's per-seed number (Table 1's ordering): the smallest of R^2(no filter) - R^2(BoN),
    R^2(BR) - R^2(no filter) and R^2(BW) - R^2(no filter), all positive when BoN is the lowest and BR
    and BW lie above the unfiltered policy."""
    v = {label: r2[label][metric] for label in r2}
    return min(
        v["no filter"] - v["BoN"], v["BR"] - v["no filter"], v["BW"] - v["no filter"]
    )


def gold_control_margin(
    model: dict[str, float], gold: dict[str, float], pf: str
) -> float:
    """The control's per-seed number: how much more the filter ``pf`` gains over PPO-M when PPO optimises
    the reward model than when it optimises the unit tests, ``(pf - PPO-M)_model - (pf - PPO-M)_gold``
    (pass@1 of the runs of one seed: the same SFT policy, prompts and evaluation set)."""
    return (model[pf] - model["PPO-M"]) - (gold[pf] - gold["PPO-M"])


def mean_2se(values) -> tuple[float, float]:
    """Mean and two standard errors (over seeds) of ``values``; NaN for the latter with one value."""
    v = np.asarray(list(values), float)
    return float(v.mean()), float(
        2 * v.std(ddof=1) / np.sqrt(v.size)
    ) if v.size > 1 else float("nan")


def reliability_over_seeds(
    regions: dict[int, dict[str, np.ndarray]],
) -> dict[str, np.ndarray]:
    """The paper's Fig. 1 with intervals over seeds: per reward region (one reward model per seed, equal-count
    regions of :func:`rlhfbook.methods.filtration.reliability_by_region`), the mean over seeds of the region's mean
    actual score and of its spread (std), each with two standard errors over seeds."""
    out = {}
    for key in ("score_mean", "score_std"):
        a = np.array([r[key] for r in regions.values()])
        out[key] = a.mean(0)
        out[key + "_2se"] = (
            2 * a.std(0, ddof=1) / np.sqrt(len(a))
            if len(a) > 1
            else np.zeros(a.shape[1])
        )
    return out


# --- One call per step of chapter 3 (issue 33: the notebook shows the method) ------------
def chapter_tasks(P: PFPPOSettings, seed: int) -> tuple[Any, Any, list[str]]:
    """The chapter's training task, held-out task and held-out prompts, one call for every
    profile: with ``P.dataset`` (gpu) MBPP-format problems split 80/20, their programs
    run in the sandbox (:class:`rlhfbook.tasks.code_tasks.UnitTestTask`), the first
    ``P.eval_prompts`` held-out prompts; otherwise the toy world's code task for both,
    ``P.eval_prompts`` prompts from the stream ``(seed, "eval")``."""
    if P.dataset:
        problems = code_tasks.load_problems(P.dataset)
        cut = int(len(problems) * 0.8)
        limits = sandbox.Limits(cpu_s=2, wall_s=5.0, memory_mb=1024)
        # isolated by bubblewrap where it can run, else resource limits only
        print(sandbox.isolation_note())
        task, eval_task = (
            code_tasks.UnitTestTask(
                part, limits=limits, max_response_tokens=P.max_new_tokens
            )
            for part in (problems[:cut], problems[cut:])
        )
        return task, eval_task, eval_task.prompts[: P.eval_prompts]

    task = toyworld.CodeTask(ops=P.ops)
    return task, task, task.sample_prompts(P.eval_prompts, stream(seed, "eval"))


def _sft_on_device(sft_path: str):
    """The SFT policy of ``sft_path`` (frozen) on the runtime's device, and its tokenizer."""

    sft, tokenizer = models.load_policy(sft_path, frozen=True)
    return sft.to(runtime.device()), tokenizer


def seed_pair_sets(
    spec: tuple[PFPPOSettings, str, Any, int, tuple[str, ...]],
) -> dict[str, PreferencePairs]:
    """One seed's reward-model pairs (for :func:`rlhfbook.core.parallel.map_runs`): ``spec`` =
    (settings ``P``, SFT folder, task, seed, names of :data:`READS` to keep). ``P.rm_prompts``
    prompts from the stream ``(seed, "rm")``, ``P.n_samples`` SFT samples each
    (:func:`sample_groups`, torch seeded with the seed), paired by :func:`reward_model_pairs`."""

    P, sft_path, task, seed, names = spec
    runtime.quiet()  # a worker: no loading bars or warnings in the chapter's output
    sft, tokenizer = _sft_on_device(sft_path)
    N, rng_rm = P.n_samples, stream(seed, "rm")  # the reward model's prompts and labels
    rm_prompts = task.sample_prompts(P.rm_prompts, rng_rm)
    rm_samples = sample_groups(
        sft, tokenizer, rm_prompts, N, seed, P.max_new_tokens, P.chunk_size
    )
    groups = [rm_samples.responses[i * N : (i + 1) * N] for i in range(len(rm_prompts))]
    sets = reward_model_pairs(task, rm_prompts, groups, P.rm_tau, rng_rm)
    return {name: sets[name] for name in names}


def reward_model_pair_sets(
    P: PFPPOSettings, seeds: list[int], sft_path: str, task
) -> dict[tuple[int, str], PreferencePairs]:
    """The pairs each reward model of the chapter trains on, by (seed, what it reads), the seeds
    side by side (``P.jobs`` processes, :func:`seed_pair_sets`). Every seed trains the reward model
    that reads the shown outputs (unless ``P.reward_model_name`` gives one); the first seed also
    the character-only one."""
    names = {
        s: tuple(
            name
            for name in READS
            if (name == VERIFY and not P.reward_model_name)
            or (name != VERIFY and s == seeds[0])
        )
        for s in seeds
    }
    specs = [(P, sft_path, task, s, names[s]) for s in seeds]
    per_seed = parallel.map_runs(seed_pair_sets, specs, jobs=P.jobs)
    return {(s, name): sets[name] for s, sets in zip(seeds, per_seed) for name in sets}


def seed_analysis(
    spec: tuple[PFPPOSettings, str, Any, int, dict[str, str]],
) -> dict[str, Any]:
    """Part A's samples of one seed (for :func:`rlhfbook.core.parallel.map_runs`): ``spec`` =
    (settings ``P``, SFT folder, task, seed, reward models by name of :data:`READS`).
    ``P.analysis_prompts`` fresh prompts from the stream ``(seed, "analysis")``, ``P.n_samples``
    SFT samples each (torch seeded with seed + 1). Returns the ``samples``, their unit-test scores
    ``S`` (prompts, N), and per reward model its scores ``R`` and no-EOS ``floor``
    (:func:`score_samples`)."""

    P, sft_path, task, seed, rm_paths = spec
    runtime.quiet()  # a worker: no loading bars or warnings in the chapter's output
    sft, tokenizer = _sft_on_device(sft_path)
    N = P.n_samples
    prompts = task.sample_prompts(P.analysis_prompts, stream(seed, "analysis"))
    samples = sample_groups(
        sft, tokenizer, prompts, N, seed + 1, P.max_new_tokens, P.chunk_size
    )
    scored = {
        name: score_samples(
            path, tokenizer, runtime.device(), task, samples, READS[name], N
        )
        for name, path in rm_paths.items()
    }
    return {
        "samples": samples,
        "S": gold_scores(task, samples).numpy().reshape(-1, N),
        "R": {name: sc[0] for name, sc in scored.items()},
        "floor": {name: sc[1] for name, sc in scored.items()},
    }


def analysis_by_seed(
    P: PFPPOSettings,
    seeds: list[int],
    sft_path: str,
    task,
    rm_paths: dict[tuple[int, str], str],
) -> dict[int, dict[str, Any]]:
    """:func:`seed_analysis` of every seed, side by side (``P.jobs`` processes), each with its
    reward models in ``rm_paths`` ((seed, name) -> folder)."""
    specs = [
        (P, sft_path, task, s, {n: p for (s2, n), p in rm_paths.items() if s2 == s})
        for s in seeds
    ]
    return dict(zip(seeds, parallel.map_runs(seed_analysis, specs, jobs=P.jobs)))


def r2_first_seed_table(r2_rows: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """:func:`r2_table`'s tables of the first seed's reward models side by side, one
    column per (reward model, statistic): "program only: R² (samples)", ..."""
    first_seed = pd.concat(
        {name: t.rename(columns=str.strip) for name, t in r2_rows.items()}, axis=1
    )
    first_seed.columns = [f"{name}: {col}" for name, col in first_seed.columns]
    return first_seed.rename_axis("filter (first seed)")


def gold_control_table(
    passed: dict[str, np.ndarray],
    greedy: dict[str, np.ndarray],
    passed_gold: dict[str, np.ndarray],
    greedy_gold: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Held-out pass@1 of each method of the control (``passed_gold``'s) when PPO
    optimises the reward model and when it optimises the unit tests."""
    return pd.DataFrame(
        {
            "pass@1 (sampled), reward model": {
                m: passed[m].mean() for m in passed_gold
            },
            "pass@1 (sampled), unit tests": {
                m: p.mean() for m, p in passed_gold.items()
            },
            "pass@1 (greedy), reward model": {m: greedy[m].mean() for m in passed_gold},
            "pass@1 (greedy), unit tests": {
                m: g.mean() for m, g in greedy_gold.items()
            },
        }
    ).rename_axis("method: what PPO optimises")


def quote_mean_2se(name: str, values) -> dict[str, float]:
    """``{name}_mean`` and ``{name}_2se`` of :func:`mean_2se`, as plain floats for the
    prose's ``{glue:text}``."""
    m, e = mean_2se(values)
    return {f"{name}_mean": float(m), f"{name}_2se": float(e)}


def ops_label(k: int) -> str:
    """The row of :func:`answer_ops_table` for programs of ``k`` operations."""
    return f"{k} operation{'' if k == 1 else 's'}"


def answer_ops(answers: list[str]) -> np.ndarray:
    """The operations of each answer of the toy code task (its words; 0 for an empty answer)."""
    return np.array([len(a.split()) for a in answers])


def answer_ops_table(columns: dict[str, list[list[str]]]) -> pd.DataFrame:
    """The share of answers with 1, 2, ... operations (:func:`answer_ops`), one column per policy, whose
    answers come as one list per seed and are pooled over the seeds."""
    counts = {
        name: answer_ops([a for per_seed in answers for a in per_seed])
        for name, answers in columns.items()
    }
    lengths = np.unique(np.concatenate(list(counts.values())))
    return pd.DataFrame(
        {
            name: {ops_label(k): float((n == k).mean()) for k in lengths}
            for name, n in counts.items()
        }
    ).rename_axis("operations of the greedy answer")


def answer_ops_quotes(table: pd.DataFrame | None) -> dict[str, str]:
    """The prose's numbers from :func:`answer_ops_table` (columns SFT and PPO-M): ``{sft|ppo}_ops{k}``, the
    share of greedy answers with k = 1 and 2 operations, to two decimals ("n/a" where missing)."""
    out = {}
    for k in (1, 2):
        for column, key in (("SFT", "sft"), ("PPO-M", "ppo")):
            present = table is not None and ops_label(k) in table.index
            out[f"{key}_ops{k}"] = (
                f"{table.loc[ops_label(k), column]:.2f}" if present else "n/a"
            )
    return out
