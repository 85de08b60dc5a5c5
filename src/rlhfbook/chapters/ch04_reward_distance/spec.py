"""Chapter 4's spec (reward distances): its settings, profiles, time budgets and needs.

One frozen dataclass with one documented field per setting (a field's default is the ``cpu``
profile), its four profiles as instances that name only what they change, and the
:class:`~rlhfbook.report.spec.ChapterSpec` the book reads them from.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlhfbook.report.spec import ChapterSpec, setting


@dataclass(frozen=True)
class RewardDistanceSettings:
    """Chapter 4: STARC distances on random MDPs, and on a family of toy-world reward models."""

    n_seeds: int = setting(8, "seeds of every experiment: seed, seed + 1, ... (seeds)")
    n_envs: int = setting(
        64, "random MDPs per seed in the interpolation experiment (MDPs)"
    )
    control_envs: int = setting(
        32,
        "random MDPs per seed in the control, whose rewards ignore the next state (MDPs)",
    )
    grid_envs: int = setting(
        16, "MDPs of the first seed on which every pseudometric is computed (MDPs)"
    )
    mc_envs: int = setting(
        8,
        "MDPs of the first seed whose regret is also computed with the paper code's Monte-Carlo returns (MDPs)",
    )
    n_pairs: int = setting(4, "random reward pairs per MDP (pairs)")
    n_steps: int = setting(
        16, "interpolation steps between the two rewards of a pair (points per pair)"
    )
    property_mdps: int = setting(
        2, "MDPs per seed on which STARC's defining properties are measured (MDPs)"
    )
    n_triples: int = setting(
        100,
        "random reward triples per MDP for symmetry and the triangle inequality (triples)",
    )
    pool_size: int = setting(
        256,
        "responses per prompt in the pool the reward-model family is scored on (responses)",
    )
    train_sizes: tuple[int, ...] = setting(
        (30, 100, 300, 1000, 3000),
        "training comparisons of the fitted reward models, one model per size and flip rate (comparisons)",
    )
    flip_rates: tuple[float, ...] = setting(
        (0.0, 0.2, 0.4),
        "share of training labels flipped, one model per size and rate; the first must be 0 (fraction)",
    )
    n_eval_pairs: int = setting(
        4000, "held-out rater comparisons for accuracy and calibration (comparisons)"
    )
    bon_n: int = setting(16, "N of the best-of-N gold regret (responses)")


REWARD_DISTANCE_GPU = RewardDistanceSettings(
    n_envs=128,
    control_envs=128,
    grid_envs=128,
    n_pairs=8,
    property_mdps=4,
    train_sizes=(30, 100, 300, 1000, 3000, 10000),
)


SPEC = ChapterSpec(
    chapter="04_reward_distance",
    profiles={
        "smoke": RewardDistanceSettings(
            n_seeds=2,
            n_envs=2,
            control_envs=2,
            grid_envs=2,
            mc_envs=1,
            n_pairs=2,
            n_steps=4,
            property_mdps=1,
            n_triples=10,
            pool_size=32,
            train_sizes=(30, 300),
            flip_rates=(0.0, 0.3),
            n_eval_pairs=200,
            bon_n=8,
        ),
        "cpu": RewardDistanceSettings(),
        "gpu": REWARD_DISTANCE_GPU,
        "gpu-full": REWARD_DISTANCE_GPU,
    },
    budget_min={"smoke": 0.5, "cpu": 3},
    gpu_note="as the cpu profile: numpy and small models on the CPU",
)
