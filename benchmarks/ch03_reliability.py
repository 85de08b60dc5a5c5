"""Chapter 3's reliability diagnosis: why Part A's profile (the paper's Fig. 1) is what it is.

On pilot seeds only (default 500-505), per seed as the chapter does: the SFT policy's samples on the
seed's reward-model prompts, the reward models trained on them, Part A's fresh samples scored by each.
Then, per reward model: the actual scores' distribution, the spread of the actual score in the lowest
fifth / middle / highest fifth of the rewards, what the samples of each fifth are (truncated, does not
parse, k of 3 shown examples right), the share of each fifth's variance that lies *between* those
kinds (what a reward model that reads the outputs can see) and *within* them (what it cannot), and the
reward model's accuracy on held-out pairs (Part A's samples, every pair of a prompt with different
actual scores, ordered by the actual score without rater noise). One JSON line per (seed, reward model).

    RLHFBOOK_JOBS=1 OMP_NUM_THREADS=1 taskset -c 1 .venv/bin/python benchmarks/ch03_reliability.py \\
        --seed 500 --n-seeds 6 --tag base

What it found (rows in ``ch03_reliability.jsonl``; the reward model that reads the outputs, seeds 500-505):

* ``base`` (the chapter's reward model): the paper's profile on 2 of 6 seeds (503, 505). The actual score
  is 0 for 45% of the samples, 1 for 20% and 0.2-0.6 for the rest; 60% get no shown example right (actual
  score 0.08 +- 0.11, from hidden tests passed by coincidence), 20% all three (0.99 +- 0.07). The spread of
  the highest fifth (0.20-0.34 on the four other seeds) comes from programs with one shown example right
  that the reward model ranks with those with all three: it reads one verdict (the middle one on 500, 501,
  504, the last on 502), e.g. seed 500 rewards ``!= == !=`` 2.49 and ``== == ==`` 2.80 (actual scores 0.22
  and 0.99). Held-out pair accuracy 0.77-0.82; a reward that knows only the count of right shown examples
  gets 0.81-0.83.
* ``ep3`` (3 epochs), seed 500: the shortcut stays (highest fifth 0.29).
* ``count`` (the count ``k/3`` after the verdicts), 1 epoch: worse (500-502 all "only the lowest").
* ``count_ep3``: the paper's profile on 3 of 5 seeds (500, 501, 503; 502 still reads the middle verdict).
* ``countonly_ep3`` (the count, no verdicts): the reward model barely reads it (R^2 0.24, 0.11).
* ``sorted_ep1`` (verdicts sorted right-first): reads the middle place (>= 2 right); 2 of 5 seeds.

No change adopted: the chapter keeps the reward model and explains its profile from these numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from ch01_pilot import parse_value


def kinds(task, samples, n: int) -> np.ndarray:
    """Per sample: -2 truncated, -1 does not parse, else the number of shown examples right."""
    from rlhfbook.tasks import code_tasks
    from rlhfbook.tasks.toyworld.code import ProgramError, parse

    out = []
    for p, r, eos in zip(samples.prompts, samples.responses, samples.has_eos.tolist()):
        if not eos:
            out.append(-2)
            continue
        try:
            parse(r)
        except ProgramError:
            out.append(-1)
            continue
        out.append(round(3 * code_tasks.shown_pass_rate(task, p, r)))
    return np.array(out).reshape(-1, n)


def pair_accuracy(R: np.ndarray, S: np.ndarray) -> float:
    """Share of a prompt's pairs with different actual scores that the rewards order the same way."""
    right = total = 0
    for r, s in zip(R, S):
        for i in range(len(r)):
            for j in range(i + 1, len(r)):
                if s[i] != s[j]:
                    total += 1
                    d = (r[i] - r[j]) * (s[i] - s[j])
                    right += 1.0 if d > 0 else 0.5 if d == 0 else 0.0
    return right / max(total, 1)


def fifths(R: np.ndarray, S: np.ndarray, K: np.ndarray) -> dict:
    r, s, k = R.ravel(), S.ravel(), K.ravel()
    order = np.argsort(r, kind="stable")
    parts = np.array_split(order, 10)
    regions = {
        "lowest": np.concatenate(parts[:2]),
        "middle": np.concatenate(parts[2:8]),
        "highest": np.concatenate(parts[8:]),
    }
    out = {}
    for name, idx in regions.items():
        ss, kk = s[idx], k[idx]
        within = sum((kk == v).sum() * ss[kk == v].var() for v in np.unique(kk)) / len(
            ss
        )
        out[name] = {
            "score_mean": float(ss.mean()),
            "score_std": float(ss.std()),
            "within_kind_std": float(np.sqrt(within)),
            "kinds": {int(v): float((kk == v).mean()) for v in np.unique(kk)},
        }
    # per-decile std, the figure's numbers
    out["decile_std"] = [float(s[p].std()) for p in parts]
    out["decile_mean"] = [float(s[p].mean()) for p in parts]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=500)
    ap.add_argument("--n-seeds", type=int, default=6)
    ap.add_argument("--tag", default="base")
    ap.add_argument(
        "--set", nargs="*", default=[], help="PFPPOSettings overrides, name=value"
    )
    ap.add_argument("--out", default="benchmarks/ch03_reliability.jsonl")
    ap.add_argument(
        "--only-verify", action="store_true", help="skip the character-only model"
    )
    args = ap.parse_args()

    from rlhfbook.core import environment

    environment.prepare()  # before transformers: the hub offline, quiet libraries
    from rlhfbook.chapters.ch03_pf_ppo import pf_ppo
    from rlhfbook.chapters.ch03_pf_ppo.pf_ppo import READS
    from rlhfbook.core import runtime
    from rlhfbook.methods import filtration
    from rlhfbook.tasks import toyworld

    overrides = {k: parse_value(v) for k, v in (kv.split("=", 1) for kv in args.set)}
    P = dataclasses.replace(PFPPOSettingsDefault(), **overrides)
    runtime.quiet()
    N = P.n_samples
    task = toyworld.task("code")
    sft_path = str(toyworld.base_policy("code", P.base_policy, progress=False))
    from rlhfbook.lm import models

    _, tok = models.load_policy(sft_path, frozen=True)
    for seed in range(args.seed, args.seed + args.n_seeds):
        t0 = time.perf_counter()
        names = ("program + shown outputs",) if args.only_verify else tuple(READS)
        sets = pf_ppo.seed_pair_sets((P, sft_path, task, seed, names))
        workdir = Path(tempfile.gettempdir()) / "ch03_rel" / args.tag / str(seed)
        trained = pf_ppo.train_seed_reward_models(
            {(seed, n): p for n, p in sets.items()},
            tok,
            P,
            base=sft_path,
            workdir=workdir,
        )
        t_rm = time.perf_counter() - t0
        (workdir / "paths.json").write_text(
            json.dumps({n: t["path"] for (_, n), t in trained.items()})
        )
        a = pf_ppo.seed_analysis(
            (P, sft_path, task, seed, {n: t["path"] for (_, n), t in trained.items()})
        )
        S = a["S"]
        K = kinds(task, a["samples"], N)
        vals, counts = np.unique(S, return_counts=True)
        for name in names:
            R = a["R"][name]
            reg = filtration.reliability_by_region(R, S, P.n_regions)
            row = {
                "tag": args.tag,
                "seed": seed,
                "rm": name,
                "settings": overrides,
                "pairs": len(sets[name]),
                "score_hist": {f"{v:.1f}": int(c) for v, c in zip(vals, counts)},
                "kind_hist": {int(v): float((K == v).mean()) for v in np.unique(K)},
                "heldout_pair_acc": pair_accuracy(R, S),
                "kind_oracle_acc": pair_accuracy(
                    np.vectorize({v: S[K == v].mean() for v in np.unique(K)}.get)(K), S
                ),
                "kind_score": {
                    int(v): [float(S[K == v].mean()), float(S[K == v].std())]
                    for v in np.unique(K)
                },
                "spread": pf_ppo.score_spread(reg["score_std"]),
                "pattern": pf_ppo.reliability_pattern(
                    pf_ppo.score_spread(reg["score_std"])
                ),
                "fifths": fifths(R, S, K),
                "r2": {
                    k: v["sample"]
                    for k, v in pf_ppo.seed_r2(
                        R, S, pf_ppo.stream(seed, "filter"), P.n_groups
                    ).items()
                },
                "rm_s": round(t_rm, 1),
                "rm_cpu_s": round(trained[seed, name]["cpu_s"], 1),
            }
            sp = row["spread"]
            print(
                f"[{args.tag}] seed {seed} {name:24s} acc {row['heldout_pair_acc']:.3f} "
                f"spread {sp['lowest rewards']:.2f} {sp['middle']:.2f} {sp['highest rewards']:.2f} "
                f"| {row['pattern'][:30]} | r2 "
                + " ".join(f"{k} {v:.3f}" for k, v in row["r2"].items()),
                flush=True,
            )
            with open(args.out, "a") as fh:
                fh.write(json.dumps(row) + "\n")


def PFPPOSettingsDefault():
    from rlhfbook.chapters.ch03_pf_ppo.spec import PFPPOSettings

    return PFPPOSettings()


if __name__ == "__main__":
    main()
