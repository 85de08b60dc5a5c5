"""Chapter 1's pilot: configurations A, A + KL and B on pilot seeds outside every reported block.

Trains the proxy reward model once on ``--seed`` (as the chapter does on its block's first seed), then
runs each configuration on ``--n-seeds`` seeds from ``--seed`` with the chapter's machinery
(:func:`rlhfbook.chapters.ch01_ppo_max.overoptimisation.ppo_runs`) and prints, per configuration and seed, the numbers the
chapter's checks read: the smoothed gold curve (every few iterations), gold end / peak, the proxy's
gain after the gold peak in reward-model standard deviations, held-out gold and win rate vs SFT, the
KL at the end, and the slope of the gold over the second half. One JSON line per configuration is
appended to ``--out``.

    RLHFBOOK_JOBS=1 taskset -c 0 .venv/bin/python benchmarks/ch01_pilot.py --seed 500 --n-seeds 6 \\
        --rm-per-seed --tag base --set prompts_per_iteration=16 epochs=4

The pilot behind the cpu sizes (Dec 2026; seeds 500-505, each its own reward model, 1024 pairs and
100 steps; 24 iterations, lr 2e-4; mean ± 2 SE over the 6 seeds; "win" is the held-out gold win
rate against the SFT policy, "end/peak" the smoothed gold's end over its peak):

- 16 prompts x 4 epochs, eta 0.05 (the sizes before): vanilla end/peak 0.30 ± 0.42, proxy gain after
  the gold peak 0.50 ± 0.33 RM sd, win 0.33 ± 0.17 (a collapse on 5 of 6 seeds); A + KL end/peak
  0.92 ± 0.03 (lower bound under the 0.9 threshold, with its gold still rising: the 16-sample gold
  of an iteration is so noisy that the smoothed peak is inflated), win 0.77 ± 0.04; PPO-max end/peak
  0.94 ± 0.03, win 0.78 ± 0.03, KL 4.6 ± 0.6 nats (vanilla 27 ± 8). PPO-max beat SFT on every pilot
  seed: the reward-model exploitation seen on seed 1000 did not occur here.
- eta 0.1 (the paper's Fig. 15 sweep), 16 x 4: A + KL end/peak 0.94 ± 0.04, win 0.79 ± 0.04; PPO-max
  end/peak 0.92 ± 0.06, win 0.78 ± 0.02: no steadier than 0.05 (the noise, not the constraint).
- 32 prompts x 2 epochs, eta 0.05 (the same update cost; chosen): A + KL end/peak 0.99 ± 0.01, win
  0.82 ± 0.04, KL 4.0 ± 0.7; PPO-max end/peak 0.99 ± 0.02, win 0.83 ± 0.02, KL 3.6 ± 0.3, second-half
  slope +0.056 ± 0.025; vanilla still collapses (end/peak 0.45 ± 0.34, win 0.40 ± 0.17, KL 18 ± 6)
  but its proxy rises less after the gold peak (0.27 ± 0.16 RM sd, against the 0.5 threshold of the
  first check), since the collapse comes later (peak at iteration 6-13, one seed not yet at 24).
  1.09 s per PPO iteration on one core against 0.94.

Not tried for lack of time: more reward-model pairs, a lower learning rate with more iterations,
reward normalisation's statistics, a KL schedule.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def parse_value(text: str):
    """A command-line setting's value: JSON if it parses (numbers, null, true), else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=500)
    ap.add_argument("--n-seeds", type=int, default=6)
    ap.add_argument("--tag", default="pilot")
    ap.add_argument(
        "--configs", default="A,AKL,B", help="comma-separated: A, AKL, B, C"
    )
    ap.add_argument(
        "--set", nargs="*", default=[], help="PPOMaxSettings overrides, name=value"
    )
    ap.add_argument(
        "--ppo",
        nargs="*",
        default=[],
        help="PPOConfig overrides for every configuration, name=value",
    )
    ap.add_argument(
        "--rm-per-seed",
        action="store_true",
        help="each seed its own reward model (else --seed's)",
    )
    ap.add_argument("--out", default="benchmarks/ch01_pilot.jsonl")
    args = ap.parse_args()

    from rlhfbook.core import environment

    environment.prepare()  # before transformers: the hub offline, quiet libraries
    from rlhfbook.chapters.ch01_ppo_max import overoptimisation
    from rlhfbook.chapters.ch01_ppo_max.spec import PPOMaxSettings
    from rlhfbook.core import parallel, runtime
    from rlhfbook.lm import models, rollout
    from rlhfbook.methods import ppo, reward_model
    from rlhfbook.tasks import toyworld

    overrides = dict(kv.split("=", 1) for kv in args.set)
    P = dataclasses.replace(
        PPOMaxSettings(), **{k: parse_value(v) for k, v in overrides.items()}
    )
    extra = {k: parse_value(v) for k, v in (kv.split("=", 1) for kv in args.ppo)}
    runtime.seed_everything(args.seed)
    runtime.quiet()
    task = toyworld.task("preference")
    sft_path = toyworld.base_policy("preference", P.base_policy, progress=False)
    sft, tok = models.load_policy(sft_path, frozen=True)
    device = runtime.device()
    eval_seed = 10_000 + args.seed
    eval_prompts = task.sample_prompts(P.eval_prompts, np.random.default_rng(eval_seed))
    gold_fn = overoptimisation.gold_reward(task, None, device, P.rm_max_length)
    torch.manual_seed(args.seed)
    sft_eval = rollout.generate(sft, tok, eval_prompts, max_new_tokens=P.max_new_tokens)
    sft_gold = gold_fn(sft_eval)
    seeds = [args.seed + i for i in range(args.n_seeds)]
    t0 = time.perf_counter()
    if args.rm_per_seed:  # as the chapter: each seed its own pairs and reward model
        rm_root = (
            Path(tempfile.gettempdir()) / f"ch01_pilot_rms_{P.rm_pairs}_{P.rm_steps}"
        )
        todo = [s for s in seeds if not (rm_root / f"rm-{s}" / "config.json").exists()]
        parallel.map_runs(
            overoptimisation.toy_reward_model,
            [(dataclasses.asdict(P), str(sft_path), str(rm_root), s) for s in todo],
        )
        rm_paths = {s: str(rm_root / f"rm-{s}") for s in seeds}
    else:  # one reward model for the block, trained on its first seed
        rm_dir = (
            Path(tempfile.gettempdir())
            / f"ch01_pilot_rm_{args.seed}_{P.rm_pairs}_{P.rm_steps}"
        )
        if not (rm_dir / "path.txt").exists():
            torch.manual_seed(args.seed)
            pairs = reward_model.preference_pairs(
                sft,
                tok,
                task,
                P.rm_pairs,
                np.random.default_rng(args.seed),
                max_new_tokens=P.max_new_tokens,
            )
            path = overoptimisation.fit_reward_model(
                P, sft_path, tok, pairs, rm_dir / "rm", args.seed, P.rm_steps
            )
            (rm_dir / "path.txt").write_text(str(path))
        rm_paths = dict.fromkeys(seeds, (rm_dir / "path.txt").read_text())
    rm_seconds = time.perf_counter() - t0
    rm_sd = {  # the reward model's standard deviation on SFT samples: the unit of the proxy's gain
        s: float(
            overoptimisation.proxy_reward(p, tok, device, False, P.rm_max_length)(
                sft_eval
            ).std()
        )
        for s, p in rm_paths.items()
    }
    all_configs = {
        "A": ("A vanilla PPO", dict(ppo.VANILLA)),
        "AKL": ("A + KL penalty only", dict(ppo.VANILLA) | dict(kl_coef=P.kl_coef)),
        "B": ("B PPO-max", dict()),
        "C": ("C PPO-max, no KL", dict(kl_coef=0.0)),
    }
    configs = {
        all_configs[k][0]: all_configs[k][1] | extra for k in args.configs.split(",")
    }
    runs = overoptimisation.ppo_runs(configs, P, seeds, sft_path, rm_paths, eval_seed)
    t0 = time.perf_counter()
    outs = parallel.map_runs(overoptimisation.run_ppo, runs)
    seconds = time.perf_counter() - t0
    logs = overoptimisation.logs_frame(outs)
    finals = overoptimisation.finals_frame(outs, sft_gold)
    print(
        f"[{args.tag}] settings {overrides} ppo {extra}; SFT gold {sft_gold.mean():.3f}; RM sd {np.mean(list(rm_sd.values())):.3f} "
        f"({rm_seconds:.0f} s); {len(runs)} runs in {seconds:.0f} s, "
        f"{logs.seconds.mean():.3f} s/iteration (generate {logs.generate_s.mean():.3f})"
    )
    with open(args.out, "a") as f:
        for name in configs:
            gold = overoptimisation.curves(logs, "gold_reward", [name])[name]
            proxy = overoptimisation.curves(logs, "proxy_reward", [name])[name]
            kl = overoptimisation.curves(logs, "kl", [name])[name]
            half = gold.shape[1] // 2
            rows = []
            for i, s in enumerate(seeds):
                c = overoptimisation.collapse(gold[i], proxy[i])
                rows.append(
                    dict(
                        seed=s,
                        end_over_peak=c["end_over_peak"],
                        proxy_gain_sd=c["proxy_gain"] / rm_sd[s],
                        peak_it=c["peak_iteration"],
                        eval_gold=float(
                            overoptimisation.per_seed(finals, name, "eval_gold")[s]
                        ),
                        win=float(
                            overoptimisation.per_seed(finals, name, "win_rate")[s]
                        ),
                        kl_end=float(kl[i, -1]),
                        slope2=overoptimisation.slope(gold[i, half:]),
                        curve=[
                            round(float(x), 3)
                            for x in gold[i, :: max(1, gold.shape[1] // 10)]
                        ],
                    )
                )
            print(f"  {name}:")
            for r in rows:
                print(
                    f"    seed {r['seed']}: gold end/peak {r['end_over_peak']:.2f} (peak it {r['peak_it']}), "
                    f"proxy gain {r['proxy_gain_sd']:.2f} sd, held-out gold {r['eval_gold']:.3f} "
                    f"(SFT {sft_gold.mean():.3f}) win {r['win']:.2f}, KL {r['kl_end']:.2f}, "
                    f"slope2 {r['slope2']:+.4f}; curve {r['curve']}"
                )
            for key in ("end_over_peak", "proxy_gain_sd", "win", "kl_end", "slope2"):
                v = np.array([r[key] for r in rows])
                print(
                    f"    {key}: {v.mean():.3f} ± {2 * v.std(ddof=1) / np.sqrt(len(v)):.3f} (2 SE)"
                )
            f.write(
                json.dumps(
                    dict(
                        tag=args.tag,
                        config=name,
                        settings=overrides,
                        ppo=extra,
                        sft_gold=float(sft_gold.mean()),
                    )
                    | dict(rm_sd=list(rm_sd.values()), seconds=seconds, rows=rows)
                )
                + "\n"
            )


if __name__ == "__main__":
    main()
