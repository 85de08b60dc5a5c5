"""Seconds per PPO update: our loop beside a straightforward reference, in one process.

The reference (:func:`reference_update`) is one PPO update written the way TRL's old
``PPOTrainer`` wrote it: separate no-grad forward passes of the policy, the reference policy
and the critic over the rollout, then for every epoch and minibatch fresh forward and backward
passes, nothing reused. It uses ``rlhfbook.methods.ppo``'s objective (token rewards, GAE, whitening,
clipped losses), so it computes what ``ppo.make_batch`` + ``ppo.update`` compute, only
without their savings. Both run on the same models, the same scored batch and the same seed,
alternately, so the ratio reference / ours reads a speed-up or a regression on a noisy machine;
the weights after both must be bit-identical (the savings may not change the numbers).

Configurations: ``ch01`` is chapter 1's cpu profile (32 samples of the preference task, PPO-max),
``ch03`` chapter 3's (12 prompts x 5 samples of the code task, KL 0.2). Responses are the tasks'
demonstrations (the lengths an SFT policy writes) on freshly initialised toy-world models, so no
cached policy is needed::

    python benchmarks/ppo_ratio.py [--config ch01 ch03] [--repeats 5] [--size small]
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification

from rlhfbook.core import environment, runtime
from rlhfbook.lm.rollout import Rollout, rollout_from_ids
from rlhfbook.methods import ppo
from rlhfbook.tasks import toyworld
from rlhfbook.tasks.toyworld.model import model_config

environment.prepare()  # the hub offline, quiet libraries (as a chapter's first cell does)

# name -> (task, prompts, samples per prompt, PPOConfig overrides)
CONFIGS = {
    "ch01": ("preference", 32, 1, dict()),
    "ch03": ("code", 12, 5, dict(lr=3e-5, critic_lr=1e-4, kl_coef=0.2)),
}


def reference_update(
    policy,
    ref_policy,
    critic,
    rollout: Rollout,
    scores: torch.Tensor,
    cfg: ppo.PPOConfig,
    moments: ppo.RunningMoments,
    policy_opt,
    critic_opt,
    train_policy: bool = True,
) -> None:
    """One PPO update, straightforwardly: three no-grad passes, then epochs x minibatches of fresh passes."""
    lq = rollout.query_ids.shape[1]
    ids = torch.cat([rollout.query_ids, rollout.response_ids], 1)
    attn = torch.cat([rollout.query_mask, rollout.response_mask], 1)
    positions = (attn.cumsum(1) - 1).clamp(min=0)

    def logprobs(model, rows):
        logits = model(
            input_ids=ids[rows], attention_mask=attn[rows], position_ids=positions[rows]
        ).logits
        logp = torch.log_softmax(logits[:, lq - 1 : -1] / cfg.temperature, dim=-1)
        return logits[:, lq - 1 : -1], logp.gather(
            -1, rollout.response_ids[rows].unsqueeze(-1)
        ).squeeze(-1)

    def values(rows):
        hidden = critic.model(
            input_ids=ids[rows], attention_mask=attn[rows], position_ids=positions[rows]
        )
        return (
            critic.score(hidden.last_hidden_state).squeeze(-1)[:, lq - 1 : -1].float()
        )

    def step(loss, model, optimizer):
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()

    n = len(rollout)
    everyone = torch.arange(n)
    mask = rollout.response_mask.float()
    with torch.no_grad():
        old_logp = logprobs(policy, everyone)[1]
        ref_logp = logprobs(ref_policy, everyone)[1]
        old_values = values(everyone) * mask
    rewards = ppo.token_rewards(
        ppo.shape_scores(scores, moments, cfg), old_logp, ref_logp, mask, cfg.kl_coef
    )
    advantages, returns = ppo.gae(rewards, old_values, mask, cfg.gamma, cfg.lam)
    if cfg.advantage_whiten:
        advantages = ppo.masked_whiten(advantages, mask)
    if cfg.advantage_clip is not None:
        advantages = advantages.clamp(-cfg.advantage_clip, cfg.advantage_clip)
    size = -(-n // cfg.minibatches)
    for _ in range(cfg.epochs):
        order = torch.randperm(n)
        for start in range(0, n, size):
            rows = order[start : start + size]
            if train_policy:
                _, logp = logprobs(policy, rows)
                loss, _ = ppo.policy_loss(
                    logp, old_logp[rows], advantages[rows], mask[rows], cfg.clip
                )
                step(loss, policy, policy_opt)
            vloss = ppo.value_loss(
                values(rows),
                old_values[rows],
                returns[rows],
                mask[rows],
                cfg.value_clip,
            )
            step(vloss, critic, critic_opt)


def our_update(
    policy,
    ref_policy,
    critic,
    rollout: Rollout,
    scores: torch.Tensor,
    cfg: ppo.PPOConfig,
    moments: ppo.RunningMoments,
    policy_opt,
    critic_opt,
    train_policy: bool = True,
) -> None:
    """One PPO update as ``ppo.train`` runs it."""
    batch, _ = ppo.make_batch(
        policy,
        ref_policy,
        critic,
        rollout,
        scores,
        cfg,
        moments,
        train_policy=train_policy,
    )
    ppo.update(
        policy, critic, batch, cfg, policy_opt, critic_opt, train_policy=train_policy
    )


def setup(config: str, size: str = "small", seed: int = 0, prompts: int | None = None):
    """Models (policy, frozen reference, critic), a scored rollout and the PPOConfig of ``config``."""
    task_name, n_prompts, group, overrides = CONFIGS[config]
    runtime.seed_everything(seed)
    task, tok = toyworld.task(task_name), toyworld.build_tokenizer()
    policy = toyworld.new_model(size, tok).eval()
    ref_policy = copy.deepcopy(policy).requires_grad_(False)
    critic_config = model_config(size, tok)
    critic_config.num_labels = 1
    critic = AutoModelForSequenceClassification.from_config(critic_config).eval()
    rng = np.random.default_rng(seed)
    texts = [
        p for p in task.sample_prompts(prompts or n_prompts, rng) for _ in range(group)
    ]
    responses = [
        tok(task.demonstration(p, rng), add_special_tokens=False)["input_ids"]
        + [tok.eos_token_id]
        for p in texts
    ]
    rollout = rollout_from_ids(tok, texts, responses)
    scores = torch.tensor(rng.normal(size=len(texts)), dtype=torch.float32)
    cfg = ppo.PPOConfig(
        **(
            {"prompts_per_iteration": len(texts) // group, "group_size": group}
            | overrides
        )
    )
    return policy, ref_policy, critic, rollout, scores, cfg


def timed(
    update, models, rollout, scores, cfg, train_policy: bool = True, seed: int = 1
):
    """Seconds of one ``update`` from ``models``' initial states (copied), and the updated (policy, critic)."""
    policy, ref_policy, critic = (copy.deepcopy(m) for m in models)
    torch.manual_seed(seed)
    policy_opt = torch.optim.AdamW(
        policy.parameters(), lr=cfg.lr, betas=(0.9, 0.95), eps=1e-6, weight_decay=0.0
    )
    critic_opt = torch.optim.AdamW(
        critic.parameters(),
        lr=cfg.critic_lr,
        betas=(0.9, 0.95),
        eps=1e-6,
        weight_decay=0.0,
    )
    start = time.perf_counter()
    update(
        policy,
        ref_policy,
        critic,
        rollout,
        scores,
        cfg,
        ppo.RunningMoments(),
        policy_opt,
        critic_opt,
        train_policy,
    )
    return time.perf_counter() - start, (policy, critic)


def identical(a, b) -> bool:
    """Whether two lists of models hold bit-identical parameters."""
    return all(
        torch.equal(x, y)
        for ma, mb in zip(a, b)
        for x, y in zip(ma.state_dict().values(), mb.state_dict().values())
    )


def measure(
    config: str, size: str = "small", repeats: int = 5, prompts: int | None = None
) -> dict:
    """Median seconds per update of the reference and of ours (alternating), their ratio, and identity."""
    policy, ref_policy, critic, rollout, scores, cfg = setup(
        config, size, prompts=prompts
    )
    models = (policy, ref_policy, critic)
    times = {"reference": [], "ours": []}
    same = True
    for r in range(repeats):
        pair = [("reference", reference_update), ("ours", our_update)]
        results = {}
        for name, fn in pair if r % 2 == 0 else pair[::-1]:
            seconds, results[name] = timed(fn, models, rollout, scores, cfg)
            times[name].append(seconds)
        same &= identical(results["reference"], results["ours"])
    ref_s, our_s = float(np.median(times["reference"])), float(np.median(times["ours"]))
    return dict(
        config=config,
        size=size,
        samples=len(rollout),
        tokens=int(rollout.query_ids.shape[1] + rollout.response_ids.shape[1]),
        epochs=cfg.epochs,
        reference_s=ref_s,
        ours_s=our_s,
        ratio=ref_s / our_s,
        identical=same,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", nargs="+", default=list(CONFIGS), choices=list(CONFIGS)
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--size", default="small", help="toy-world model size: tiny | small | base"
    )
    args = parser.parse_args()
    for config in args.config:
        m = measure(config, args.size, args.repeats)
        print(
            f"{m['config']} (size {m['size']}, {m['samples']} samples x {m['tokens']} tokens, {m['epochs']} epochs): "
            f"reference {m['reference_s']:.3f} s/update, ours {m['ours_s']:.3f} s/update, "
            f"ratio {m['ratio']:.2f}x; weights bit-identical: {m['identical']}"
        )


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(
        f"total {time.perf_counter() - t0:.1f} s ({torch.get_num_threads()} thread(s))"
    )
