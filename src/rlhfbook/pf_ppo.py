"""Chapter 3's run harness: PPO-S, PPO-M and PF-PPO on a code task, one run per (method, seed).

Shen & Zhang (2024) compare PPO with one sample per prompt (PPO-S), with N samples per prompt
(PPO-M) and PF-PPO, which trains on a filtered subset of the N samples (their Algorithm 2; the
filters are :mod:`rlhfbook.filtration`'s). Every run here samples the same number of responses
per iteration, is scored by the same frozen reward model and is evaluated by greedy pass@1 on
the same held-out prompts, so that the methods differ only in which samples enter the update.

:func:`run_method` is one run, a function of plain arguments (a dict of paths, numbers and
prompts), so that :func:`rlhfbook.book.parallel.map_runs` can put the runs of a chapter on every
core; :func:`train_reward_model` is the same for the reward models. Prompts come from
separate random streams (:func:`stream`): the reward model's training prompts, the analysis
prompts, each seed's PPO prompts and the evaluation prompts never share a generator.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

# method -> filtering strategy of :mod:`rlhfbook.filtration` (None: one sample per prompt, PPO-S)
METHODS: dict[str, str | None] = {
    "PPO-S": None,
    "PPO-M": "none",
    "PF-PPO (BoN)": "bon",
    "PF-PPO (BR)": "br",
    "PF-PPO (BW)": "bw",
}
# purpose -> second word of the seed of its random stream
STREAMS = {"rm": 1, "analysis": 2, "ppo": 3, "eval": 4, "filter": 5, "bootstrap": 6}


def stream(seed: int, purpose: str) -> np.random.Generator:
    """The generator of one purpose (see :data:`STREAMS`) for ``seed``: numpy seeds it from the
    pair ``(seed, purpose)``, so streams of different purposes or seeds are independent."""
    if purpose not in STREAMS:
        raise ValueError(f"unknown stream {purpose!r}; valid: {', '.join(STREAMS)}")
    return np.random.default_rng([seed, STREAMS[purpose]])


def no_eos_floor(rm_scores: np.ndarray) -> float:
    """The score of an answer cut off without EOS: one standard deviation below the lowest score
    the reward model gives (on its own training texts), so a truncated answer ranks below every
    real program instead of inside the reward model's range."""
    r = np.asarray(rm_scores, float)
    if r.size < 2 or not np.isfinite(r).all():
        raise ValueError("no_eos_floor needs at least two finite scores")
    return float(r.min() - r.std())


def pass_eval(
    policy, tokenizer, task, prompts: list[str], max_new_tokens: int, *, greedy: bool = True, batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """One answer per prompt (greedy, or a sample at temperature 1; seed torch for the latter):
    (passed all unit tests, ended with EOS), one entry per prompt."""
    from .rollout import generate, gold_scores

    passed, eos = [], []
    for start in range(0, len(prompts), batch_size):
        r = generate(
            policy, tokenizer, prompts[start : start + batch_size], max_new_tokens=max_new_tokens, greedy=greedy
        )
        passed.append((gold_scores(task, r) == 1).numpy())
        eos.append(r.has_eos.numpy())
    return np.concatenate(passed), np.concatenate(eos)


@torch.no_grad()
def exact_pass_rate(policy, tokenizer, task, prompts: list[str], batch_size: int = 128) -> np.ndarray:
    """The probability that one sample of ``policy`` (temperature 1) passes all unit tests, per prompt.

    pass@1 of sampled programs, computed exactly instead of estimated from samples: the sum of
    ``pi(y + EOS | x)`` over the task's programs that pass (:func:`rlhfbook.code_tasks.passing_programs`).
    Each prompt is run once and its key/value cache shared by its programs. It is a lower bound by the
    probability of passing answers outside the language's canonical form (more than ``task.max_ops``
    operations, doubled spaces), which the toy policies hardly write.
    """
    from .code_tasks import passing_programs
    from .rollout import encode_prompts

    device = next(policy.parameters()).device
    prob = np.zeros(len(prompts))
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        rows = [(i, program) for i, prompt in enumerate(chunk) for program in passing_programs(task, prompt)]
        if not rows:
            continue
        q_ids, q_mask = (t.to(device) for t in encode_prompts(tokenizer, chunk))
        out = policy(
            input_ids=q_ids, attention_mask=q_mask, position_ids=(q_mask.cumsum(1) - 1).clamp(min=0), use_cache=True
        )
        first = torch.log_softmax(out.logits[:, -1].float(), -1)  # log pi(first token | prompt)
        owner = torch.tensor([i for i, _ in rows], device=device)
        cache = out.cache
        cache.reorder_cache(owner)  # one copy of its prompt's cache per program
        ids = [
            tokenizer(program, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id] for _, program in rows
        ]
        width = max(map(len, ids))
        y = torch.tensor([r + [tokenizer.pad_token_id] * (width - len(r)) for r in ids], device=device)
        y_mask = (
            torch.arange(width, device=device)[None] < torch.tensor([len(r) for r in ids], device=device)[:, None]
        ).long()
        positions = q_mask.sum(1)[owner][:, None] + torch.arange(width, device=device)[None]
        logits = policy(
            input_ids=y, attention_mask=torch.cat([q_mask[owner], y_mask], 1), position_ids=positions, cache=cache
        ).logits
        logp = torch.cat([first[owner][:, None], torch.log_softmax(logits[:, :-1].float(), -1)], 1)
        seq = (logp.gather(-1, y[..., None]).squeeze(-1) * y_mask).sum(1)
        np.add.at(prob, start + owner.cpu().numpy(), seq.exp().double().cpu().numpy())
    return prob


def train_reward_model(spec: dict[str, Any]) -> dict[str, Any]:
    """Train one reward model (for :func:`rlhfbook.book.parallel.map_runs`): ``spec`` holds ``base`` (the
    causal-LM folder it starts from), ``out_dir``, ``pairs`` (rows ``{prompt, chosen, rejected}``),
    ``epochs`` (passes over the pairs, at least 1), ``batch_size``, ``lr``, ``seed`` and ``max_length``.
    Returns the folder, the steps, TRL's log and the CPU seconds it took."""
    from . import models, reward_model
    from .book import runtime

    start = time.process_time()
    if spec["epochs"] < 1:
        raise ValueError(f"a reward model needs at least one full pass over its data, got epochs={spec['epochs']}")
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
    )
    return {"path": str(path), "steps": steps, "log": log, "cpu_s": time.process_time() - start}


def sampled_pass_rate(policy, tokenizer, task, prompts: list[str], max_new_tokens: int, samples: int) -> np.ndarray:
    """pass@1 at temperature 1 per prompt: exact on the toy code task (:func:`exact_pass_rate`), else the
    mean over ``samples`` sampled answers (seed torch first)."""
    from .code_tasks import UnitTestTask

    if not isinstance(task, UnitTestTask):
        return exact_pass_rate(policy, tokenizer, task, prompts)
    return np.mean(
        [pass_eval(policy, tokenizer, task, prompts, max_new_tokens, greedy=False)[0] for _ in range(samples)], 0
    )


def run_method(spec: dict[str, Any]) -> dict[str, Any]:
    """One PPO run (for :func:`rlhfbook.book.parallel.map_runs`). ``spec`` holds:

    ``method`` (a key of :data:`METHODS`), ``seed``, ``sft_path``, ``rm_path``, ``task`` and ``eval_task``
    (picklable task objects), ``execution`` (the reward model reads
    :func:`rlhfbook.code_tasks.with_execution`'s text), ``no_eos_score``, ``n_samples`` (N),
    ``config`` (fields of :class:`rlhfbook.ppo.PPOConfig` except ``group_size``; ``prompts_per_iteration``
    counts prompts of the N-sample methods: PPO-S takes N times as many, one sample each),
    ``eval_prompts`` and ``eval_samples`` (samples per prompt where pass@1 cannot be computed exactly).

    The policy and critic start from the SFT policy and the reward model; the policy sees only the
    prompt. Returns the log rows of :func:`rlhfbook.ppo.train` and, per held-out prompt, the final
    policy's pass@1 at temperature 1 (``sampled``) and greedy (``greedy``), and the fraction of greedy
    answers cut off without EOS.
    """
    from . import code_tasks, filtration, models, ppo, reward_model
    from .book import runtime
    from .rollout import gold_scores

    start = time.process_time()
    method, seed = spec["method"], spec["seed"]
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    runtime.seed_everything(seed)
    runtime.quiet()
    device = runtime.device()
    task, eval_task = spec["task"], spec["eval_task"]
    sft, tokenizer = models.load_policy(spec["sft_path"], frozen=True)
    policy, _ = models.load_policy(spec["sft_path"])
    critic, _ = models.load_reward_model(spec["rm_path"], tokenizer)
    for model in (sft, policy, critic):
        model.to(device)
    text_fn = (lambda p, r: code_tasks.with_execution(task, p, r)) if spec["execution"] else None
    proxy = reward_model.proxy_reward(
        spec["rm_path"], tokenizer, device, no_eos_score=spec["no_eos_score"], text_fn=text_fn
    )
    strategy, n = METHODS[method], spec["n_samples"]
    group = 1 if strategy is None else n
    cfg = dict(spec["config"])
    cfg["prompts_per_iteration"] = cfg["prompts_per_iteration"] * n // group
    config = ppo.PPOConfig(group_size=group, **cfg)
    select = None if strategy in (None, "none") else filtration.selector(strategy, stream(seed, "filter"))
    prompts_rng = stream(seed, "ppo")

    def sample_prompts(k: int, _train_rng: np.random.Generator) -> list[str]:
        return task.sample_prompts(k, prompts_rng)  # the PPO stream, not train's own generator

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
    greedy, eos = pass_eval(policy, tokenizer, eval_task, prompts, max_new)
    sampled = sampled_pass_rate(policy, tokenizer, eval_task, prompts, max_new, spec["eval_samples"])
    return {
        "method": method,
        "seed": seed,
        "log": log,
        "sampled": sampled.tolist(),
        "greedy": greedy.astype(float).tolist(),
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
    return float(d.mean()), float(np.sqrt(per_prompt.var(ddof=1) / len(per_prompt) + var_seeds))


def z_value(gain: float, se: float) -> float:
    """``gain / se``, defined when nothing varies: 0 for no gain (e.g. a policy that passes no
    test before or after, as a random-weight stand-in model does), +-inf for a gain without spread."""
    if se > 0:
        return gain / se
    return 0.0 if gain == 0 else float(np.copysign(np.inf, gain))
