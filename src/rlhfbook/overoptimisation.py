"""Reward over-optimisation (chapter 1): PPO and GRPO runs against a frozen reward model,
with the gold reward decomposed into the channels through which a policy can lose it.

Secrets of RLHF, Part I (Zheng et al., 2023) shows vanilla PPO raising the reward model's
score while the quality judged by humans collapses, and PPO-max, whose policy constraints
(the token-level KL penalty, Eq. 19) keep it stable. This module holds what the chapter runs
many times -- one PPO (:func:`run_ppo`) or TRL-GRPO (:func:`run_grpo`) run from a
:class:`Run` (:func:`train` takes either), importable so that
:func:`rlhfbook.book.parallel.map_runs` can put seeds and configurations on every core -- and the
measurements it reads off them: the gold reward split into its terms (:func:`gold_terms`),
the collapse statistics of a training curve (:func:`collapse`, :func:`collapse_iteration`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

TERMS = ("utility", "non-words", "repeats", "rambling", "no EOS")
OOD_TERMS = ("non-words", "repeats")  # strings the SFT policy (and so the reward model's data) almost never has
NO_EOS_SCORE = -1.0  # gold and proxy score of a response cut off without EOS (the EOS trick)


def gold_terms(task, prompt: str, response: str, has_eos: bool = True) -> dict[str, float]:
    """The preference task's gold reward split into its terms; they sum to the gold reward.

    ``utility`` (distinct known words), ``non-words`` (-1 each), ``repeats``
    (-repeat_penalty each), ``rambling`` (-ramble_penalty per word beyond six) and
    ``no EOS`` (a truncated response scores ``NO_EOS_SCORE`` whatever its words).
    """
    terms = dict.fromkeys(TERMS, 0.0)
    if not has_eos:
        terms["no EOS"] = NO_EOS_SCORE
        return terms
    from .toyworld.preference import MAX_GOOD_WORDS

    u, seen = task.word_utilities(prompt), set()
    words = response.split()
    for w in words:
        if w not in u:
            terms["non-words"] -= 1.0
        elif w in seen:
            terms["repeats"] -= task.repeat_penalty
        else:
            terms["utility"] += u[w]
            seen.add(w)
    terms["rambling"] = -task.ramble_penalty * max(0, len(words) - MAX_GOOD_WORDS)
    return terms


def mean_terms(task, rollout) -> dict[str, float]:
    """:func:`gold_terms` averaged over a rollout's responses."""
    rows = [gold_terms(task, p, r, bool(e)) for p, r, e in zip(rollout.prompts, rollout.responses, rollout.has_eos)]
    return {t: float(np.mean([row[t] for row in rows])) for t in TERMS}


def collapse(gold: np.ndarray, proxy: np.ndarray) -> dict[str, float]:
    """Over-optimisation statistics of one run's smoothed curves (one value per iteration).

    ``end_over_peak`` = gold at the end / its peak; ``proxy_gain`` = proxy at the end minus
    proxy at the gold peak (positive: the proxy kept rising after the gold turned down);
    ``peak_iteration``.
    """
    j = int(np.argmax(gold))
    return {"end_over_peak": float(gold[-1] / gold[j]), "proxy_gain": float(proxy[-1] - proxy[j]), "peak_iteration": j}


def collapse_iteration(gold: np.ndarray, fraction: float = 0.8) -> int | None:
    """First iteration at which the smoothed ``gold`` is at most ``fraction`` of its running
    maximum (the run has lost ``1 - fraction`` of its best gold so far); ``None`` if never."""
    gold = np.asarray(gold, float)
    hit = np.flatnonzero(gold <= fraction * np.maximum.accumulate(gold))
    return int(hit[0]) if len(hit) else None


def slope(y: np.ndarray) -> float:
    """Least-squares slope of ``y`` against its index (per iteration)."""
    x = np.arange(len(y), dtype=float)
    return float(np.polyfit(x, np.asarray(y, float), 1)[0]) if len(y) > 1 else 0.0


def smooth(y, window: int) -> np.ndarray:
    """Trailing moving average over ``window`` iterations (shorter at the start)."""
    y = np.asarray(y, float)
    c = np.cumsum(np.insert(y, 0, 0.0))
    n = np.minimum(np.arange(1, len(y) + 1), window)
    return (c[1:] - c[np.arange(1, len(y) + 1) - n]) / n


@dataclass(frozen=True)
class Run:
    """One training run of the chapter: everything a worker process needs, as plain values."""

    name: str
    seed: int
    sft_path: str
    rm_path: str
    critic_path: str  # the critic's initialisation: the SFT policy (fresh head) or the reward model
    config: dict = field(default_factory=dict)  # rlhfbook.ppo.PPOConfig fields
    eval_seed: int = 10_000
    n_eval: int = 256
    grpo: dict = field(default_factory=dict)  # TRL GRPOConfig fields (run_grpo only)


def _setup(run: Run):
    from . import models, reward_model, toyworld
    from .book import runtime

    runtime.seed_everything(run.seed)
    runtime.quiet()
    task = toyworld.task("preference")
    policy, tok = models.load_policy(run.sft_path)
    proxy_fn = reward_model.proxy_reward(run.rm_path, tok, runtime.device(), no_eos_score=NO_EOS_SCORE)
    return task, policy, tok, proxy_fn


def _evaluate(run: Run, task, policy, tok, max_new_tokens: int) -> dict[str, Any]:
    """Held-out samples of the trained policy: gold per response, mean terms, repeat rate."""
    import torch

    from . import rollout

    prompts = task.sample_prompts(run.n_eval, np.random.default_rng(run.eval_seed))
    torch.manual_seed(run.eval_seed + run.seed)
    final = rollout.generate(policy.eval(), tok, prompts, max_new_tokens=max_new_tokens)
    return {
        "eval_gold": rollout.gold_scores(task, final, no_eos_score=NO_EOS_SCORE).tolist(),
        "eval_terms": mean_terms(task, final),
        "repeat_rate": float(np.mean([len(r.split()) != len(set(r.split())) for r in final.responses])),
        "samples": final.responses[:4],
    }


def run_ppo(run: Run) -> dict[str, Any]:
    """Train a PPO policy from ``run`` (:func:`rlhfbook.ppo.train`); returns its per-iteration
    log (with the gold terms of each iteration's samples) and its held-out evaluation."""
    from . import models, ppo, rollout
    from .book import runtime

    task, policy, tok, proxy_fn = _setup(run)
    ref, _ = models.load_policy(run.sft_path, frozen=True)
    critic, _ = models.load_reward_model(run.critic_path, tok)
    device = runtime.device()
    policy.to(device), ref.to(device), critic.to(device)
    terms: list[dict[str, float]] = []

    def gold_fn(r):
        terms.append(mean_terms(task, r))
        return rollout.gold_scores(task, r, no_eos_score=NO_EOS_SCORE)

    cfg = ppo.PPOConfig(**run.config)
    ptx_batch = None
    if cfg.ptx_coef > 0:  # PPO-ptx: SFT demonstrations stand in for the pre-training data
        from .toyworld.sft import demonstration_batch

        ptx_rng = np.random.default_rng(run.seed)
        ptx_batch = lambda: demonstration_batch(task, tok, 16, ptx_rng)  # noqa: E731
    log = ppo.train(
        policy,
        ref,
        critic,
        tok,
        task.sample_prompts,
        proxy_fn,
        cfg,
        seed=run.seed,
        gold_fn=gold_fn,
        ptx_batch=ptx_batch,
        desc=f"{run.name} (seed {run.seed})",
    )
    log = [row | {f"gold {t}": v for t, v in step.items()} for row, step in zip(log, terms)]
    return {"run": asdict(run), "log": log} | _evaluate(run, task, policy, tok, cfg.max_new_tokens)


def run_grpo(run: Run) -> dict[str, Any]:
    """Train with TRL's ``GRPOTrainer`` on the same reward model (``run.grpo``: GRPOConfig
    fields); returns the proxy / gold trace per reward call and the held-out evaluation."""
    import tempfile

    import torch
    import transformers
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from . import rollout
    from .book import runtime

    task, policy, tok, proxy_fn = _setup(run)
    end_ids = rollout.end_token_ids(tok, policy)  # every end token of a hub model
    trace: list[dict[str, float]] = []

    def reward(prompts, completions, completion_ids, **_):
        r = rollout.rollout_from_ids(tok, prompts, completion_ids, eos_ids=end_ids)
        proxy, gold = proxy_fn(r), rollout.gold_scores(task, r, no_eos_score=NO_EOS_SCORE)
        trace.append({"samples": len(prompts), "proxy_reward": proxy.mean().item(), "gold_reward": gold.mean().item()})
        return proxy.tolist()

    settings = dict(run.grpo)
    n_prompts = settings.pop("n_prompts")
    on_gpu = torch.cuda.is_available()
    with tempfile.TemporaryDirectory() as out:
        args = GRPOConfig(
            output_dir=out,
            report_to="none",
            save_strategy="no",
            use_cpu=not on_gpu,
            activation_checkpointing=False,
            **runtime.trainer_precision(),
            seed=run.seed,
            disable_tqdm=True,
            logging_steps=10,
            **settings,
        )
        prompts = Dataset.from_dict({"prompt": task.sample_prompts(n_prompts, np.random.default_rng(run.seed + 7))})
        trainer = GRPOTrainer(
            model=policy, reward_funcs=[reward], args=args, train_dataset=prompts, processing_class=tok
        )
        trainer.remove_callback(transformers.PrinterCallback)
        trainer.train()
        steps = trainer.state.global_step
    return {"run": asdict(run), "trace": trace, "optimizer_steps": steps} | _evaluate(
        run, task, trainer.model, tok, settings["max_completion_length"]
    )


def train(run: Run) -> dict[str, Any]:
    """:func:`run_grpo` for a run with GRPO settings, else :func:`run_ppo`: one function for a
    :func:`rlhfbook.book.parallel.map_runs` batch that mixes both."""
    return run_grpo(run) if run.grpo else run_ppo(run)
