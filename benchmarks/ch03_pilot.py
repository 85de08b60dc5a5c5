"""Chapter 3's pilot: PPO-M and PF-PPO (BoN, BR, BW) on pilot seeds outside every reported block.

Per seed, as the chapter does: the SFT policy's samples on the seed's reward-model prompts, one reward
model (the one that reads the shown outputs) trained on them, Part A's R^2 of every filter on the seed's
analysis prompts, then every method of ``--methods`` against that reward model and every method of
``--gold`` against the unit tests (the control), all with the chapter's machinery
(:func:`rlhfbook.chapters.ch03_pf_ppo.pf_ppo.run_method`). Prints per seed the paired differences the chapter's checks read
(pass@1 exact, sampled at temperature 1; greedy beside it) and the seconds each piece took; appends one
JSON line per seed to ``--out``.

    RLHFBOOK_JOBS=1 OMP_NUM_THREADS=1 taskset -c 1 .venv/bin/python benchmarks/ch03_pilot.py --seed 500 \\
        --n-seeds 3 --tag full_lr5e-4 --set rm_prompts=300 lr=5e-4

The pilot that set the cpu profile (its rows are in ``benchmarks/ch03_pilot.jsonl``; exact pass@1 gain over
the SFT policy on each seed's own 1024 held-out prompts, 20 iterations x 12 prompts x N = 5, 2 PPO epochs):

* the previous sizes (900 reward-model prompts, lr 2e-4), seed 500, every method: PPO-M +0.042, BoN +0.034,
  BR +0.057, BW +0.010; against the unit tests PPO-M +0.073, BW +0.058; reward model R^2 (samples) 0.87 for
  every filter, so there was little for a filter to fix; 52 s for one reward model.
* 300 reward-model prompts (a noisier reward model, 15 s), PPO-M only, seeds 500-502: lr 5e-4 gives +0.060,
  +0.055, +0.075 (greedy pass@1 falls, 0.37 -> 0.30); lr 1e-3 collapses (seed 500: -0.022, stopped there).
* lr 5e-4, every method and the control, seeds 500-501 (502 stopped for time): BW - PPO-M +0.024 / -0.004
  against the reward model, -0.016 / +0.004 against the unit tests; BoN - PPO-M -0.030 / -0.137.

Frozen then: lr 5e-4, rm_prompts 300, 6 seeds (the budget), everything else as before.

The second pilot (issue 29: why greedy pass@1 falls, and a regime where PPO-M's gain is large against the
seed spread), PPO-M only, seeds 500-505, each seed's reward model and Part A reused across configurations
(``--tag`` p_*; mean ± 2 SE over seeds of the paired gain over the SFT policy, sampled exact / greedy):

* 20 x 12 (the sizes above): against the reward model +0.061 ± 0.011 / -0.062 ± 0.016; against the
  unit tests (fraction passed) +0.058 ± 0.022 / -0.058 ± 0.024. Greedy pass@1 falls against the unit tests
  as much as against the reward model, so it is no reward-model shortcut.
* ``--binary-gold`` (reward 1 only for passing every test), 20 x 12: +0.054 ± 0.025 / -0.066 ± 0.029
  (paired minus the fraction reward: -0.004 ± 0.012 / -0.008 ± 0.015): not partial credit either. The
  per-token entropy of the policy falls from about 0.37 nats at its first update to 0.22-0.26 at the
  end, KL to the SFT policy 1.0-1.5 nats per program: PPO sharpens the sampled distribution onto
  passing programs while moving the argmax path, whose first steps were right more often (SFT greedy
  0.37 vs sampled 0.21).
* 40 x 6 (more, smaller updates), seeds 500-504: +0.022 ± 0.028 / -0.120 ± 0.037, seed 502 collapses
  (-0.024); stopped there.
* 10 x 24, critic warm-up 1 (fewer, larger updates, the same sampled responses and CPU, about 23 s a
  run on a contended core): +0.070 ± 0.017 / -0.033 ± 0.013; paired minus 20 x 12: +0.008 ± 0.018 sampled,
  +0.028 ± 0.022 greedy.
* 10 x 24 with lr 1e-3, seeds 500-503: +0.036 ± 0.007 / -0.094 ± 0.030; stopped there.

Frozen: 10 iterations x 24 prompts, critic warm-up 1 (gain/(2 SE) 4.1 sampled; the greedy loss halved,
and BR and BW update on 48 samples an iteration instead of 24). Nothing else changed.

The third pilot (issue 29, after ``benchmarks/ch03_greedy.py`` found that PPO learns to stop after one operation:
greedy pass@1 falls on the prompts that need two), PPO-M only against the reward model, seeds 500-505, each
a change of the 10 x 24 profile above (``--tag`` q_*; paired gain over the SFT policy, sampled exact / greedy,
mean ± 2 SE; the profile itself: +0.070 ± 0.017 / -0.033 ± 0.013):

* kl_coef 0.2: +0.061 ± 0.022 / -0.024 ± 0.017.
* kl_coef 0.5: +0.047 ± 0.019 / -0.005 ± 0.014 (KL to the SFT policy 0.17-0.51 nats instead of 0.6-1.8).
* kl_coef 1.0: +0.033 ± 0.014 / -0.013 ± 0.013.
* temperature 0.7 of the training samples (a new setting, default 1): +0.058 ± 0.019 / -0.026 ± 0.019.
* temperature 0.5: +0.042 ± 0.017 / -0.036 ± 0.014: samples nearer the argmax path do not keep it.
* 1 PPO epoch: +0.038 ± 0.038 / -0.048 ± 0.045, seed 500 collapses (-0.035 / -0.151).
* critic warm-up 3 (a better baseline before the first policy update): +0.060 ± 0.014 / -0.040 ± 0.008.
* lr 2.5e-4: +0.060 ± 0.016 / -0.027 ± 0.023.
* kl_coef 0.5 with lr 1e-3 (to win back the sampled gain): +0.027 ± 0.020 / -0.061 ± 0.015, seed 504's sampled
  pass@1 falls below the SFT policy's.
* kl_coef 0.5 with 20 iterations (twice the compute): +0.057 ± 0.015 / -0.010 ± 0.010.

No configuration gives a greedy gain (mean - 2 SE > 0 nowhere; the best, kl_coef 0.5, keeps greedy pass@1
where it was at the price of a third of the sampled gain), and none gives a larger sampled gain. Raising the
KL coefficient trades sampled gain for a smaller greedy loss (up to 0.5; 1.0 is within the noise of it): the
greedy fall shrinks as the policy stays nearer the SFT policy, and no setting tried removes it at this compute.
Nothing was frozen; the cpu profile is unchanged.

The fourth pilot (issue 29: remove the one-operation shortcut), seeds 500-505, each seed's reward model retrained on
the new prompts (``--tag`` m2*, e2*; paired gain of PPO-M over the SFT policy, sampled exact / greedy, mean ± 2 SE):

* prompts that need at least two operations (an interim setting, ``min_ops=2``: two thirds need two, one third
  three; SFT pass@1 0.060 sampled, 0.108 greedy): -0.004 ± 0.026 / -0.020 ± 0.055, seeds 502 and 505 collapse
  (seed 505's reward model has a sample-level R^2 of 0.03); with kl_coef 0.2: +0.008 ± 0.018 / +0.017 ± 0.048;
  with 600 reward-model prompts (seeds 500-503, stopped there): +0.010 ± 0.007 / -0.004 ± 0.016.
* prompts that all need exactly two operations (``ops=2``; SFT 0.084 sampled, 0.158 greedy): +0.013 ± 0.016 /
  -0.003 ± 0.031; with kl_coef 0.2: +0.032 ± 0.015 / +0.044 ± 0.038, greedy pass@1 up on five seeds of six.

Frozen: ``ops=2`` and kl_coef 0.2, chosen on PPO-M's gain alone. Then every method and the control at those
settings (``--tag e2_kl02_all``), paired differences: BoN - PPO-M -0.042 ± 0.016, BR - PPO-M -0.013 ± 0.016,
BW - PPO-M -0.025 ± 0.015 against the reward model and -0.001 ± 0.018 against the unit tests; check 2's margin
-0.005 ± 0.013, check 3's (sample-level R^2) -0.020 ± 0.024, check 5's -0.024 ± 0.032. PPO-M against the unit
tests gains +0.041 ± 0.020 / +0.041 ± 0.037. BoN ending below PPO-M (Table 2) became check 6 after this run.

A probe after the checked blocks (check 5 contradicted on block 0: BW loses more to PPO-M against the reward model
than against the unit tests, and Part A's highest-reward fifth has the largest spread of actual scores): is the
reward model too small or its labels too noisy? PPO-M and BW, each against the reward model and the unit tests,
seeds 500-505 (``--tag`` e2_rm900, e2_tau002; mean sample-level R^2 none / BoN / BR / BW; check 5's margin):

* 900 reward-model prompts: R^2 0.46 / 0.47 / 0.51 / 0.51; BW - PPO-M -0.020 ± 0.017 against the reward model,
  -0.007 ± 0.015 against the unit tests; check 5 -0.013 ± 0.017.
* raters' tau 0.02 (nearly noiseless labels): R^2 0.53 / 0.54 / 0.57 / 0.58; BW - PPO-M -0.005 ± 0.030 and
  +0.004 ± 0.017; check 5 -0.008 ± 0.034.

Neither more pairs nor cleaner labels lift R^2 above the profile's (about 0.5) or turn check 5 positive. The chapter's
Part A (seeds 0-5) says why: a program with every shown example right scores 0.98 +- 0.11, but only 9% of the SFT
samples are such programs, so any ranking fills at least 55% of the highest fifth with others (measured: 0.55). At this
pass rate the top of the reward range cannot be pure; the paper's premise needs a policy whose samples pass far more
often. Nothing was changed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from ch01_pilot import (
    parse_value,  # benchmarks/ is the script's folder, first on sys.path
)


def part_a(P, task, sft, tok, seed: int, rm_path: str, N: int):
    """Part A on the seed's analysis prompts: the reward model's no-EOS floor and each filter's R^2
    (sample-level, grouped)."""
    from rlhfbook.chapters.ch03_pf_ppo import pf_ppo
    from rlhfbook.core import runtime
    from rlhfbook.lm import rollout

    device = runtime.device()
    a_prompts = task.sample_prompts(P.analysis_prompts, pf_ppo.stream(seed, "analysis"))
    a_samples = pf_ppo.sample_groups(sft, tok, a_prompts, N, seed + 1, P.max_new_tokens)
    S = rollout.gold_scores(task, a_samples).numpy().reshape(-1, N)
    R, floor, _ = pf_ppo.score_samples(rm_path, tok, device, task, a_samples, True, N)
    table, _ = pf_ppo.r2_table(
        R, S, pf_ppo.stream(seed, "bootstrap"), n_boot=2, n_groups=P.n_groups
    )
    r2 = {
        k: table.loc[k, ["R² (samples)", "R² (grouped)"]].tolist()
        for k in ("no filter", "BoN", "BR", "BW")
    }
    return floor, r2


def diagnostics(run: dict) -> dict:
    """What the training log says about one run: the policy's KL to the SFT policy and its entropy at
    the last iteration (and the entropy at the first update), the fraction of greedy answers cut off
    without EOS, and the mean gold score of the samples in the first and last five iterations."""
    log = run["log"]
    gold = [row.get("gold_reward") for row in log]
    out = {k: round(float(log[-1][k]), 4) for k in ("kl", "entropy") if k in log[-1]}
    first = [row["entropy"] for row in log if row.get("policy_updated")]
    if first:
        out["entropy_first"] = round(float(first[0]), 4)
    out["truncated"] = round(float(run["truncated"]), 4)
    if all(g is not None for g in gold):
        out["gold_first5"] = round(float(np.mean(gold[:5])), 4)
        out["gold_last5"] = round(float(np.mean(gold[-5:])), 4)
    return out


def binary_gold() -> None:
    """Make :func:`rlhfbook.rollout.gold_scores`, which the gold-reward runs call, score 1 for passing
    every test and 0 otherwise; the held-out pass@1 (a score of 1) is unchanged. In-process runs only."""
    from rlhfbook.lm import rollout

    fraction = rollout.gold_scores

    def passed_all(task, r, **kw):
        return (fraction(task, r, **kw) == 1).float()

    rollout.gold_scores = passed_all


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=500)
    ap.add_argument("--n-seeds", type=int, default=3)
    ap.add_argument("--tag", default="pilot")
    ap.add_argument("--methods", default="PPO-M,PF-PPO (BoN),PF-PPO (BR),PF-PPO (BW)")
    ap.add_argument(
        "--gold",
        default="PPO-M,PF-PPO (BW)",
        help="methods trained against the unit tests",
    )
    ap.add_argument(
        "--set", nargs="*", default=[], help="PFPPOSettings overrides, name=value"
    )
    ap.add_argument("--out", default="benchmarks/ch03_pilot.jsonl")
    ap.add_argument(
        "--binary-gold",
        action="store_true",
        help="the gold reward is 1 for a program that passes every unit test, else 0 (not the fraction "
        "passed): does partial credit move the greedy answer?",
    )
    args = ap.parse_args()

    from rlhfbook.core import environment

    environment.prepare()  # before transformers: the hub offline, quiet libraries
    from rlhfbook.chapters.ch03_pf_ppo import pf_ppo
    from rlhfbook.chapters.ch03_pf_ppo.pf_ppo import VERIFY
    from rlhfbook.chapters.ch03_pf_ppo.spec import PFPPOSettings
    from rlhfbook.core import parallel, runtime
    from rlhfbook.lm import models
    from rlhfbook.tasks import toyworld

    if args.binary_gold:
        binary_gold()
    overrides = {k: parse_value(v) for k, v in (kv.split("=", 1) for kv in args.set)}
    P = dataclasses.replace(PFPPOSettings(), **overrides)
    runtime.quiet()
    N = P.n_samples
    task = pf_ppo.chapter_tasks(P, args.seed)[0]
    sft_path = str(toyworld.base_policy("code", P.base_policy, progress=False))
    sft, tok = models.load_policy(sft_path, frozen=True)
    methods = [m for m in args.methods.split(",") if m]
    gold = [m for m in args.gold.split(",") if m]
    workdir = Path(tempfile.gettempdir()) / "ch03_pilot"
    for seed in range(args.seed, args.seed + args.n_seeds):
        times = {}
        t0 = time.perf_counter()
        eval_prompts = task.sample_prompts(P.eval_prompts, pf_ppo.stream(seed, "eval"))
        sft_pass = pf_ppo.exact_pass_rate(sft, tok, task, eval_prompts)
        sft_greedy, _, _ = pf_ppo.pass_eval(
            sft, tok, task, eval_prompts, P.max_new_tokens
        )
        times["sft_eval"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        rm_dir = (
            workdir / f"rm_{P.rm_prompts}_{P.rm_lr:g}_{P.rm_epochs}_{P.ops}" / str(seed)
        )  # reused across configurations
        if not (rm_dir / "path.txt").exists():
            rng_rm = pf_ppo.stream(seed, "rm")
            rm_prompts = task.sample_prompts(P.rm_prompts, rng_rm)
            rm_samples = pf_ppo.sample_groups(
                sft, tok, rm_prompts, N, seed, P.max_new_tokens
            )
            groups = [
                rm_samples.responses[i * N : (i + 1) * N]
                for i in range(len(rm_prompts))
            ]
            pairs = pf_ppo.reward_model_pairs(
                task, rm_prompts, groups, P.rm_tau, rng_rm
            )
            trained = pf_ppo.train_reward_models(
                pairs, tok, [VERIFY], P, base=sft_path, workdir=rm_dir, seed=seed
            )
            (rm_dir / "path.txt").write_text(trained[VERIFY]["path"])
        rm_path = (rm_dir / "path.txt").read_text()
        times["rm"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        part_a_file = (
            rm_dir / "part_a.json"
        )  # reused across configurations, as the model
        if not part_a_file.exists():
            part_a_file.write_text(
                json.dumps(part_a(P, task, sft, tok, seed, rm_path, N))
            )
        floor, r2 = json.loads(part_a_file.read_text())
        times["part_a"] = time.perf_counter() - t0
        specs = [
            spec
            for reward, ms in (("model", methods), ("gold", gold))
            for spec in pf_ppo.run_specs(
                P,
                [seed],
                sft_path=sft_path,
                rm_path=rm_path,
                task=task,
                eval_task=task,
                no_eos_score=floor,
                eval_prompts=eval_prompts,
                reward=reward,
                methods=tuple(ms),
            )
            if ms
        ]
        t0 = time.perf_counter()
        runs = parallel.map_runs(pf_ppo.run_method, specs, jobs=1)
        times["runs"] = time.perf_counter() - t0
        passed = {
            (r["reward"], r["method"]): float(np.mean(r["sampled"])) for r in runs
        }
        greedy = {(r["reward"], r["method"]): float(np.mean(r["greedy"])) for r in runs}
        cpu = {f"{r['reward']} {r['method']}": round(r["cpu_s"], 1) for r in runs}
        diag = {f"{r['reward']} {r['method']}": diagnostics(r) for r in runs}
        row = {
            "tag": args.tag,
            "seed": seed,
            "settings": overrides | ({"binary_gold": True} if args.binary_gold else {}),
            "sft": float(sft_pass.mean()),
            "sft_greedy": float(sft_greedy.mean()),
            "pass": {f"{k[0]} {k[1]}": v for k, v in passed.items()},
            "greedy": {f"{k[0]} {k[1]}": v for k, v in greedy.items()},
            "r2": r2,
            "times": {k: round(v, 1) for k, v in times.items()},
            "cpu_s": cpu,
            "diagnostics": diag,
        }
        m = passed
        print(
            f"[{args.tag}] seed {seed}: SFT {row['sft']:.3f} (greedy {row['sft_greedy']:.3f})"
        )
        for k in sorted(m):
            print(
                f"   {k[0]:5s} {k[1]:14s} pass@1 {m[k]:.3f} (gain {m[k] - row['sft']:+.3f}), greedy {greedy[k]:.3f}"
            )
        if ("model", "PPO-M") in m:
            for f in ("PF-PPO (BoN)", "PF-PPO (BR)", "PF-PPO (BW)"):
                if ("model", f) in m:
                    line = f"   {f} - PPO-M: model {m['model', f] - m['model', 'PPO-M']:+.3f}"
                    if ("gold", f) in m and ("gold", "PPO-M") in m:
                        line += f", gold {m['gold', f] - m['gold', 'PPO-M']:+.3f}"
                    print(line)
        print(
            f"   R2 (sample, grouped): {r2}\n   diagnostics {diag}\n"
            f"   times {row['times']} cpu {cpu}",
            flush=True,
        )
        with open(args.out, "a") as fh:
            fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
