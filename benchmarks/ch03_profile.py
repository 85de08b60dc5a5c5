"""Where one chapter-3 PPO run spends its time: cProfile of :func:`rlhfbook.chapters.ch03_pf_ppo.pf_ppo.run_method`.

One run of ``--method`` on a pilot seed against a reward model folder that reads the shown outputs
(e.g. one that ``ch03_reliability.py`` saved), with ``--set`` overrides of the chapter's settings;
prints the 30 of rlhfbook's functions with the most cumulative time.

Measured (PPO-M, seed 500, one core shared with a chapter run: 54 s wall, 27 s CPU): ``ppo.train`` 74%
of the run (the update's backward passes 39%, ``make_batch``'s reference/old log-probs and values 17%,
generation 15%, the reward model 8%), the final evaluation 20% (exact pass@1 on 1024 prompts 13%,
greedy 6%), a worker's first ``runtime.quiet`` 5% (imports, once per worker in the chapter).

    taskset -c 1 .venv/bin/python benchmarks/ch03_profile.py --rm /tmp/ch03_rel/base/500/rm1
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import pstats
import time

from ch01_pilot import parse_value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rm", required=True)
    ap.add_argument("--seed", type=int, default=500)
    ap.add_argument("--method", default="PPO-M")
    ap.add_argument("--set", nargs="*", default=[])
    args = ap.parse_args()

    from rlhfbook.core import environment

    environment.prepare()  # before transformers: the hub offline, quiet libraries
    from rlhfbook.chapters.ch03_pf_ppo import pf_ppo
    from rlhfbook.chapters.ch03_pf_ppo.spec import PFPPOSettings
    from rlhfbook.tasks import toyworld

    P = dataclasses.replace(
        PFPPOSettings(),
        **{k: parse_value(v) for k, v in (kv.split("=", 1) for kv in args.set)},
    )
    task = toyworld.task("code")
    sft_path = str(toyworld.base_policy("code", P.base_policy, progress=False))
    eval_prompts = task.sample_prompts(P.eval_prompts, pf_ppo.stream(args.seed, "eval"))
    (spec,) = pf_ppo.run_specs(
        P,
        [args.seed],
        sft_path=sft_path,
        rm_path=args.rm,
        task=task,
        eval_task=task,
        no_eos_score=-5.0,
        eval_prompts=eval_prompts,
        methods=(args.method,),
    )
    t0 = time.perf_counter()
    prof = cProfile.Profile()
    out = prof.runcall(pf_ppo.run_method, spec)  # resumable marks it, not wraps it
    print(f"{args.method}: {time.perf_counter() - t0:.1f} s, cpu {out['cpu_s']:.1f} s")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(r"rlhfbook", 30)


if __name__ == "__main__":
    main()
