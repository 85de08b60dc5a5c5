"""Chapter 2's gpu profiles' work, counted for :mod:`rlhfbook.book.gpu_sizing` (:mod:`rlhfbook.lm.gpu_cost`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rlhfbook.lm.gpu_cost import GPT2, Work, forward

# The cpu profile's toy DPO study, measured: 230 s for its 6 seeds x 4 values of gamma (a clean clone
# on 2 cores, 2026-12-07); a GPU does not speed up its 3M-parameter models.
TOY_RUNS_MEASURED = 6 * 4
TOY_SECONDS_PER_RUN = 230 / TOY_RUNS_MEASURED


def gpu_work(P: Mapping[str, Any]) -> dict[str, Work]:
    """Chapter 2's real-model section: GPT-2's log-likelihoods of the preferred and the dispreferred
    answers of ``2 x 1,000`` pairs under the policy and the reference, up to 1,024 tokens, 8 a pass.
    The toy DPO study trains 3M-parameter models, bound by the host as on the CPU; it is counted as
    the cpu profile's measured seconds per run times its number of runs (:data:`TOY_SECONDS_PER_RUN`)."""
    scoring = 2 * 2 * forward(GPT2, 1000, 1024, 8)
    runs = P["n_seeds"] * len(P["gammas"])
    return {
        "GPT-2 scoring": scoring,
        "toy DPO study": Work(host_s=TOY_SECONDS_PER_RUN * runs),
    }
