"""Where one chapter-1 PPO run spends its time: generation, the reward models, the frozen models'
forward passes (make_batch), the update, and the gold terms' bookkeeping.

Wraps the names :func:`rlhfbook.methods.ppo.train` calls with timers and runs one PPO-max run of the chapter
(:func:`rlhfbook.chapters.ch01_ppo_max.overoptimisation.run_ppo`) on a pilot seed, with ``--set`` overrides of the chapter's
settings and an optional reward model folder (else one is trained, as in ``ch01_pilot.py``).

    taskset -c 1 .venv/bin/python benchmarks/ch01_profile.py --rm /tmp/.../rm/checkpoint --set prompts_per_iteration=64
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections import defaultdict

from ch01_pilot import parse_value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rm", required=True, help="a trained proxy reward model folder")
    ap.add_argument("--seed", type=int, default=500)
    ap.add_argument(
        "--set", nargs="*", default=[], help="PPOMaxSettings overrides, name=value"
    )
    ap.add_argument(
        "--ppo", nargs="*", default=[], help="PPOConfig overrides, name=value"
    )
    args = ap.parse_args()

    from rlhfbook.core import environment

    environment.prepare()  # before transformers: the hub offline, quiet libraries
    from rlhfbook.chapters.ch01_ppo_max import overoptimisation
    from rlhfbook.chapters.ch01_ppo_max.spec import PPOMaxSettings
    from rlhfbook.methods import ppo
    from rlhfbook.tasks import toyworld

    P = dataclasses.replace(
        PPOMaxSettings(),
        **{k: parse_value(v) for k, v in (kv.split("=", 1) for kv in args.set)},
    )
    extra = {k: parse_value(v) for k, v in (kv.split("=", 1) for kv in args.ppo)}
    spent: dict[str, float] = defaultdict(float)

    def timed(module, name: str, label: str) -> None:
        fn = getattr(module, name)

        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent[label] += time.perf_counter() - t0

        setattr(module, name, wrapper)

    timed(ppo, "generate", "generate")
    timed(ppo, "make_batch", "make_batch (old/ref log-probs, values, GAE)")
    timed(ppo, "update", "update (epochs x minibatches)")
    timed(overoptimisation, "mean_terms", "gold terms (bookkeeping)")
    timed(overoptimisation, "_evaluate", "held-out evaluation")
    sft_path = toyworld.base_policy("preference", P.base_policy, progress=False)
    (run,) = overoptimisation.ppo_runs(
        {"B PPO-max": extra},
        P,
        [args.seed],
        sft_path,
        {args.seed: args.rm},
        10_000 + args.seed,
    )
    t0 = time.perf_counter()
    out = overoptimisation.run_ppo(run)
    total = time.perf_counter() - t0
    n = len(out["log"])
    print(
        f"{n} iterations x {P.prompts_per_iteration} prompts {extra}: {total:.1f} s ({total / n:.3f} s/iteration)"
    )
    for label, s in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {label:48s} {s:6.1f} s  {100 * s / total:4.0f}%")
    print(f"  {'rest (reward models, setup)':48s} {total - sum(spent.values()):6.1f} s")


if __name__ == "__main__":
    main()
