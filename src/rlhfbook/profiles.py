"""The profile table: how big each chapter runs in each profile.

Every chapter runs in three profiles (see ``book/running.md``):

* ``smoke`` -- seconds; every code path runs, reproduction checks are *not evaluated*;
* ``cpu``   -- the default and what CI runs: minutes on a 2-core laptop, checks asserted;
* ``gpu``   -- a GPU or Colab: bigger models, real data where the chapter has them.

A chapter's notebook calls :func:`resolve` with its parameters cell; an unknown chapter,
profile or parameter raises a :class:`ValueError` that lists the valid values.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

PROFILES: tuple[str, ...] = ("smoke", "cpu", "gpu")
PAPERMILL_HEADER = "# Parameters"  # the first line of the cell papermill injects


class ParameterError(ValueError):
    """A bad chapter, profile or parameter: shown to the reader as one line."""

# Chapter -> profile -> settings. Every profile of a chapter has the same keys.
_TABLE: dict[str, dict[str, dict[str, Any]]] = {
    "01_ppo_max": {
        "smoke": dict(base_policy="smoke", model_name=None, reward_model_name=None, preference_dataset=None,
                      rm_pairs=32, rm_steps=2, iterations=3, prompts_per_iteration=4, max_new_tokens=64, lr=1e-4,
                      kl_coef=0.05, critic_warmup=1, n_seeds=1, eval_prompts=8, grpo_generations=2,
                      exercise_iterations=2, ppo_max_iterations=6, run_ppo_max_no_kl=True),
        "cpu": dict(base_policy="cpu", model_name=None, reward_model_name=None, preference_dataset=None,
                    rm_pairs=1024, rm_steps=100, iterations=20, prompts_per_iteration=16, max_new_tokens=64, lr=2e-4,
                    kl_coef=0.05, critic_warmup=3, n_seeds=3, eval_prompts=256, grpo_generations=8,
                    exercise_iterations=8, ppo_max_iterations=32, run_ppo_max_no_kl=False),
        "gpu": dict(base_policy="gpu", model_name=None, reward_model_name=None, preference_dataset=None,
                    rm_pairs=4096, rm_steps=400, iterations=150, prompts_per_iteration=64, max_new_tokens=64, lr=1e-4,
                    kl_coef=0.05, critic_warmup=10, n_seeds=3, eval_prompts=1024, grpo_generations=8,
                    exercise_iterations=60, ppo_max_iterations=300, run_ppo_max_no_kl=True),
    },
    "00_toy_world": {
        "smoke": dict(n_eval_prompts=16),
        "cpu": dict(n_eval_prompts=512),
        "gpu": dict(n_eval_prompts=2048),
    },
    "02_dpo_ranking": {
        "smoke": dict(ref_size="tiny", sft_steps=20, sft_batch=32, sft_lr=1e-2, n_pairs=90, n_val=40, n_raters=1,
                      n_seeds=1, betas=(0.1, 1.0), check_beta=0.1, lr_x_beta=3e-4, epochs=1, batch_size=16,
                      eval_every=2, gammas=(0.0, 1.0, 2.0), eval_batch=256, n_win_prompts=16,
                      sandbox_nuisance=(0.0, 20.0), sandbox_pairs=300, sandbox_steps=30, n_identity_points=2000,
                      model_name=None, dataset=None, n_real_pairs=1000, max_prompt_tokens=768,
                      max_response_tokens=256),
        "cpu": dict(ref_size="tiny", sft_steps=300, sft_batch=64, sft_lr=1e-2, n_pairs=1400, n_val=800, n_raters=1,
                    n_seeds=3, betas=(0.1, 1.0), check_beta=0.1, lr_x_beta=3e-4, epochs=3, batch_size=32,
                    eval_every=10, gammas=(0.0, 0.5, 1.0, 2.0), eval_batch=256, n_win_prompts=256,
                    sandbox_nuisance=(0.0, 2.0, 5.0, 10.0, 20.0), sandbox_pairs=3000, sandbox_steps=500,
                    n_identity_points=20000, model_name=None, dataset=None, n_real_pairs=1000,
                    max_prompt_tokens=768, max_response_tokens=256),
        "gpu": dict(ref_size="tiny", sft_steps=300, sft_batch=64, sft_lr=1e-2, n_pairs=1400, n_val=800, n_raters=1,
                    n_seeds=5, betas=(0.1, 1.0), check_beta=0.1, lr_x_beta=3e-4, epochs=3, batch_size=32,
                    eval_every=10, gammas=(0.0, 0.5, 1.0, 1.5, 2.0), eval_batch=256, n_win_prompts=1024,
                    sandbox_nuisance=(0.0, 2.0, 5.0, 10.0, 20.0), sandbox_pairs=3000, sandbox_steps=500,
                    n_identity_points=100000, model_name="gpt2", dataset="Anthropic/hh-rlhf", n_real_pairs=1000,
                    max_prompt_tokens=768, max_response_tokens=256),
    },
    "05_strategic_games": {
        "smoke": dict(rounds=4, league_seeds=3, n_candidates=4, demo_matches=8, sft_steps=4, rl_iterations=2,
                      rl_matches=2, group_size=2, rl_early=1, llm_rounds=2, llm_seeds=1, llm_new_tokens=8,
                      llm_prompt_tokens=96, model_name=None, endpoint=None),
        "cpu": dict(rounds=10, league_seeds=10, n_candidates=10, demo_matches=400, sft_steps=250, rl_iterations=30,
                    rl_matches=12, group_size=8, rl_early=5, llm_rounds=2, llm_seeds=1, llm_new_tokens=32,
                    llm_prompt_tokens=96, model_name=None, endpoint=None),
        "gpu": dict(rounds=10, league_seeds=10, n_candidates=10, demo_matches=400, sft_steps=250, rl_iterations=30,
                    rl_matches=12, group_size=8, rl_early=5, llm_rounds=10, llm_seeds=3, llm_new_tokens=512,
                    llm_prompt_tokens=None, model_name="Qwen/Qwen2.5-1.5B-Instruct", endpoint=None),
    },
    "03_pf_ppo": {
        "smoke": dict(base_policy="smoke", model_name=None, reward_model_name=None, dataset=None, n_samples=5,
                      rm_prompts=16, rm_tau=0.1, rm_epochs=1, rm_lr=1e-3, rm_batch=32, analysis_prompts=16,
                      n_regions=4, n_groups=4, n_boot=5,
                      methods=("PPO-S", "PPO-M", "PF-PPO (BoN)", "PF-PPO (BR)", "PF-PPO (BW)"),
                      iterations=2, prompts_per_iteration=2, lr=1e-4, critic_lr=1e-4, kl_coef=0.05,
                      critic_warmup=1, epochs=1, eval_prompts=8, eval_samples=1, n_seeds=1, max_new_tokens=16,
                      max_prompt_tokens=48, pilot_seed=100, jobs=1),
        "cpu": dict(base_policy="cpu", model_name=None, reward_model_name=None, dataset=None, n_samples=5,
                    rm_prompts=900, rm_tau=0.1, rm_epochs=1, rm_lr=3e-3, rm_batch=32, analysis_prompts=400,
                    n_regions=10, n_groups=20, n_boot=200,
                    methods=("PPO-M", "PF-PPO (BoN)", "PF-PPO (BR)", "PF-PPO (BW)"),
                    iterations=20, prompts_per_iteration=12, lr=2e-4, critic_lr=1e-4, kl_coef=0.05,
                    critic_warmup=2, epochs=2, eval_prompts=1024, eval_samples=1, n_seeds=3, max_new_tokens=16,
                    max_prompt_tokens=48, pilot_seed=100, jobs=None),
        "gpu": dict(base_policy="gpu", model_name="Qwen/Qwen2.5-Coder-0.5B-Instruct", reward_model_name=None,
                    dataset="mbpp", n_samples=5, rm_prompts=300, rm_tau=0.1, rm_epochs=1, rm_lr=1e-5, rm_batch=8,
                    analysis_prompts=100, n_regions=10, n_groups=20, n_boot=200,
                    methods=("PPO-S", "PPO-M", "PF-PPO (BoN)", "PF-PPO (BR)", "PF-PPO (BW)"),
                    iterations=40, prompts_per_iteration=8, lr=1e-6, critic_lr=5e-6, kl_coef=0.05,
                    critic_warmup=3, epochs=2, eval_prompts=1024, eval_samples=4, n_seeds=3, max_new_tokens=256,
                    max_prompt_tokens=256, pilot_seed=100, jobs=1),
    },
    "04_reward_distance": {
        "smoke": dict(n_seeds=2, n_envs=2, control_envs=2, grid_envs=2, n_pairs=2, n_steps=4, property_mdps=1, n_triples=10,
                      pool_size=32, train_sizes=(30, 300), flip_rates=(0.0, 0.3), n_eval_pairs=200, bon_n=8),
        "cpu": dict(n_seeds=8, n_envs=64, control_envs=32, grid_envs=16, n_pairs=4, n_steps=16, property_mdps=2, n_triples=100,
                    pool_size=256, train_sizes=(30, 100, 300, 1000, 3000), flip_rates=(0.0, 0.2, 0.4),
                    n_eval_pairs=4000, bon_n=16),
        "gpu": dict(n_seeds=8, n_envs=128, control_envs=128, grid_envs=128, n_pairs=8, n_steps=16, property_mdps=4, n_triples=100,
                    pool_size=256, train_sizes=(30, 100, 300, 1000, 3000, 10000), flip_rates=(0.0, 0.2, 0.4),
                    n_eval_pairs=4000, bon_n=16),
    },
}

# Chapter -> profile -> time budget in minutes (smoke on a 2-core CPU, cpu on 2 cores, gpu on one GPU).
_BUDGET_MIN: dict[str, dict[str, float]] = {
    "00_toy_world": {"smoke": 1, "cpu": 2.5, "gpu": 10},
    "01_ppo_max": {"smoke": 0.5, "cpu": 5, "gpu": 20},
    "02_dpo_ranking": {"smoke": 1, "cpu": 4, "gpu": 20},
    "03_pf_ppo": {"smoke": 1, "cpu": 4, "gpu": 30},
    "04_reward_distance": {"smoke": 0.5, "cpu": 1.5, "gpu": 10},
    "05_strategic_games": {"smoke": 1, "cpu": 3.5, "gpu": 30},
}


# Chapters whose ``gpu`` profile wants an accelerator: their committed notebooks ask Colab for a GPU.
GPU_CHAPTERS: frozenset[str] = frozenset({"01_ppo_max", "02_dpo_ranking", "03_pf_ppo", "05_strategic_games"})


class Profile(Mapping):
    """Read-only settings of one chapter in one profile; keys are also attributes."""

    def __init__(self, chapter: str, name: str, settings: Mapping[str, Any]):
        self.chapter, self.name = chapter, name
        self._settings = MappingProxyType(dict(settings))

    def __getitem__(self, key: str) -> Any:
        return self._settings[key]

    def __getattr__(self, key: str) -> Any:
        try:
            return self._settings[key]
        except KeyError:
            raise AttributeError(key) from None

    def __iter__(self):
        return iter(self._settings)

    def __len__(self) -> int:
        return len(self._settings)

    @property
    def asserts_checks(self) -> bool:
        """Reproduction checks fail the run in ``cpu`` and ``gpu``, not in ``smoke``."""
        return self.name != "smoke"

    def __repr__(self) -> str:
        return f"Profile({self.chapter!r}, {self.name!r}, {dict(self._settings)})"


def chapters() -> list[str]:
    """Chapters that have a profile table, in book order."""
    return sorted(_TABLE)


def resolve(chapter: str, profile: str, **overrides: Any) -> Profile:
    """Settings of ``chapter`` in ``profile``, with ``overrides`` applied.

    An override of ``None`` keeps the profile's value, so a parameters cell can carry
    ``model_name = None`` and only a non-``None`` value changes anything.
    """
    check_injected()
    if chapter not in _TABLE:
        raise ParameterError(f"unknown chapter {chapter!r}; valid chapters: {', '.join(chapters())}")
    if profile not in PROFILES:
        raise ParameterError(f"unknown profile {profile!r}; valid profiles: {', '.join(PROFILES)}")
    settings = dict(_TABLE[chapter][profile])
    unknown = sorted(set(overrides) - set(settings))
    if unknown:
        raise ParameterError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for chapter {chapter!r}; "
            f"valid parameters: {', '.join(sorted(settings))}"
        )
    settings.update({k: v for k, v in overrides.items() if v is not None})
    return Profile(chapter, profile, settings)


def assigned_names(source: str) -> list[str]:
    """Names a cell's source assigns at top level (a parameters cell: ``seed = 0``)."""
    import ast

    names = []
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def unknown_injected(history: list[str]) -> tuple[list[str], list[str]]:
    """Names papermill injected that the chapter's parameters cell does not declare.

    ``history`` is the kernel's input history (IPython's ``In``): papermill's injected cell
    starts with ``# Parameters`` and directly follows the chapter's parameters cell.
    Returns (unknown names, declared names).
    """
    for i in range(len(history) - 1, 0, -1):
        if history[i].lstrip().startswith(PAPERMILL_HEADER):
            declared = assigned_names(history[i - 1])
            return [n for n in assigned_names(history[i]) if n not in declared], declared
    return [], []


def check_injected() -> None:
    """In a papermill run, stop at once on a parameter the chapter does not declare."""
    from . import ipython_shell

    shell = ipython_shell()
    if shell is None:
        return
    unknown, declared = unknown_injected([str(s) for s in shell.user_ns.get("In", [])])
    if unknown:
        raise ParameterError(f"unknown parameter(s) {', '.join(map(repr, unknown))}; "
                             f"this chapter's parameters: {', '.join(declared)}")


def budget_minutes(chapter: str) -> dict[str, float]:
    """The chapter's time budget per profile, in minutes."""
    resolve(chapter, PROFILES[0])  # validates the chapter name
    return dict(_BUDGET_MIN[chapter])


def validate_table() -> None:
    """Every chapter defines every profile, with the same keys in each, and a budget."""
    if set(_BUDGET_MIN) != set(_TABLE):
        raise ValueError(f"budgets {sorted(_BUDGET_MIN)} != chapters {sorted(_TABLE)}")
    for chapter, table in _TABLE.items():
        if set(table) != set(PROFILES):
            raise ValueError(f"{chapter}: profiles {sorted(table)} != {list(PROFILES)}")
        keys = {p: set(s) for p, s in table.items()}
        if len({frozenset(k) for k in keys.values()}) != 1:
            raise ValueError(f"{chapter}: profiles disagree on keys: {keys}")
