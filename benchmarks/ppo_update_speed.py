"""Generated tokens per second of one PPO update (generation, scoring, 4 epochs).

A fixed tiny configuration (random ``tiny`` Llama policy, critic and reward model from the
toy world, 32 prompts, 32 new tokens, 4 epochs), so that speed changes of
``rlhfbook.rollout`` / ``rlhfbook.ppo`` are visible. Prints one line per repeat and the median::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ppo_update_speed.py [--repeats 5] [--size tiny]
"""

from __future__ import annotations

import argparse
import time

import rlhfbook  # noqa: F401  (first: switches the HF hub offline)

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification

from rlhfbook import env, ppo
from rlhfbook.rollout import reward_model_scores
from rlhfbook.toyworld import PreferenceTask, build_tokenizer, new_model
from rlhfbook.toyworld.model import model_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", default="tiny", help="toy-world model size: tiny | small | base")
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=32)
    args = parser.parse_args()

    env.seed_everything(0)
    dev = env.device()
    tok = build_tokenizer()
    policy, ref = new_model(args.size, tok).to(dev).eval(), new_model(args.size, tok).to(dev).eval()
    config = model_config(args.size, tok)
    config.num_labels = 1
    critic = AutoModelForSequenceClassification.from_config(config).to(dev).eval()
    reward = AutoModelForSequenceClassification.from_config(config).to(dev).eval()
    task = PreferenceTask()

    def score(rollout):
        with torch.no_grad():
            return reward_model_scores(reward, rollout, no_eos_score=-1.0)

    cfg = ppo.PPOConfig(iterations=args.repeats + 1, prompts_per_iteration=args.prompts,
                        max_new_tokens=args.new_tokens, critic_warmup=0, epochs=4)
    log = ppo.train(policy, ref, critic, tok, task.sample_prompts, score, cfg, seed=0, progress=False)
    rates = []
    for row in log[1:]:  # the first update pays for warm-up
        tokens = row["length"] * row["samples"]
        rates.append(tokens / row["seconds"])
        print(f"update {row['iteration']}: {tokens:.0f} generated tokens in {row['seconds']:.3f} s "
              f"(generation {row['generate_s']:.3f} s) -> {rates[-1]:.0f} tok/s")
    print(f"median: {np.median(rates):.0f} generated tokens/s per PPO update "
          f"(size={args.size}, {args.prompts} prompts, {args.new_tokens} new tokens, 4 epochs, "
          f"{torch.get_num_threads()} threads, {dev})")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - t0:.1f} s")
