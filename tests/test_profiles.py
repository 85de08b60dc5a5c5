import pytest

from rlhfbook.book import profiles
from rlhfbook.core import environment


def test_table_is_consistent():
    profiles.validate_table()
    for chapter in profiles.chapters():
        assert set(profiles.budget_minutes(chapter)) == set(profiles.PROFILES)


def test_the_cpu_book_fits_its_budget_on_two_cores(monkeypatch):
    budgets = {c: dict(profiles._BUDGET_MIN[c]) for c in profiles._BUDGET_MIN}
    monkeypatch.setattr(profiles, "_BUDGET_MIN", budgets)
    for c in budgets:
        budgets[c]["cpu"] = 4
    fanout = len(profiles.FANOUT_CHAPTERS)
    assert (
        profiles.book_minutes() == 4 * fanout + 4 * (len(budgets) - fanout) / 2
    )  # fan-out chapters alone
    budgets[profiles.FANOUT_CHAPTERS[0]]["cpu"] = 30
    with pytest.raises(ValueError, match="over the book's 30"):
        profiles.validate_table()


def test_resolve_returns_settings_with_attribute_access():
    p = profiles.resolve("00_toy_world", "cpu")
    assert p.name == "cpu" and p.chapter == "00_toy_world"
    assert p.n_eval_prompts == p["n_eval_prompts"]
    assert (
        p.asserts_checks
        and not profiles.resolve("00_toy_world", "smoke").asserts_checks
    )


def test_override_applies_and_none_keeps_the_profile_value():
    base = profiles.resolve("00_toy_world", "cpu").n_eval_prompts
    assert profiles.resolve("00_toy_world", "cpu", n_eval_prompts=7).n_eval_prompts == 7
    assert (
        profiles.resolve("00_toy_world", "cpu", n_eval_prompts=None).n_eval_prompts
        == base
    )


def test_unknown_profile_lists_the_valid_ones():
    with pytest.raises(
        ValueError, match=r"unknown profile 'big'; valid profiles: smoke, cpu, gpu"
    ):
        profiles.resolve("00_toy_world", "big")


def test_unknown_parameter_lists_the_valid_ones():
    with pytest.raises(
        ValueError,
        match=r"unknown parameter\(s\) 'lr'.*valid parameters: n_eval_prompts",
    ):
        profiles.resolve("00_toy_world", "cpu", lr=1.0)


def test_unknown_chapter_lists_the_valid_ones():
    with pytest.raises(
        ValueError, match=r"unknown chapter '99_nope'; valid chapters: 00_toy_world"
    ):
        profiles.resolve("99_nope", "cpu")


def test_profile_is_read_only():
    p = profiles.resolve("00_toy_world", "cpu")
    with pytest.raises(TypeError):
        p["n_eval_prompts"] = 3


def test_injected_names_are_compared_with_the_parameters_cell():
    history = [
        "",
        'profile = "cpu"  # smoke | cpu\nseed = 0',
        '# Parameters\nprofile = "smoke"\nseeed = 3\n',
        "x = 1",
    ]
    assert profiles.unknown_injected(history) == (["seeed"], ["profile", "seed"])
    assert profiles.unknown_injected(["", "x = 1"]) == ([], [])


def test_every_setting_has_a_type_and_a_one_line_help():
    from dataclasses import fields

    for chapter in profiles.chapters():
        cls = type(profiles._TABLE[chapter]["cpu"])
        for f in fields(cls):
            assert f.type, f"{chapter}.{f.name} has no type"
            text = f.metadata.get("help", "")
            assert text.strip() and "\n" not in text, (
                f"{chapter}.{f.name} needs a one-line help"
            )


def test_a_setting_without_help_or_a_profile_of_another_class_fails_validation(
    monkeypatch,
):
    from dataclasses import dataclass, field

    @dataclass(frozen=True)
    class Undocumented:
        n: int = 1
        m: int = field(default=2, metadata={"help": "documented (count)"})

    @dataclass(frozen=True)
    class Other:
        n: int = field(default=1, metadata={"help": "n (count)"})

    table = dict(profiles._TABLE)
    monkeypatch.setattr(profiles, "_TABLE", table)
    table["00_toy_world"] = {p: Undocumented() for p in profiles.PROFILES}
    with pytest.raises(
        ValueError,
        match=r"00_toy_world: setting\(s\) n need a one-line metadata\['help'\]",
    ):
        profiles.validate_table()
    table["00_toy_world"] = {p: Other() for p in profiles.PROFILES} | {
        "gpu": Undocumented()
    }
    with pytest.raises(ValueError, match="instances of one frozen dataclass"):
        profiles.validate_table()


def test_profiles_are_the_settings_instances_and_resolve_keeps_field_order():
    from dataclasses import fields

    from rlhfbook.chapters.ch03_pf_ppo.spec import PFPPOSettings

    p = profiles.resolve("03_pf_ppo", "gpu")
    assert list(p) == [f.name for f in fields(PFPPOSettings)]
    assert (
        p.jobs == 1 and profiles.resolve("03_pf_ppo", "cpu").jobs is None
    )  # cpu = the defaults
    assert p.model_name == "Qwen/Qwen2.5-Coder-0.5B-Instruct" and p.lr == 1e-5
    assert profiles.resolve("03_pf_ppo", "smoke", n_seeds=2).n_seeds == 2


def test_a_parameter_of_the_wrong_type_is_one_clear_line():
    profiles.check_types(
        "04_reward_distance", {"n_envs": 3, "seed": 1, "unknown": "x", "n_seeds": None}
    )
    with pytest.raises(
        profiles.ParameterError,
        match=r"^parameter 'seed' of 04_reward_distance takes int, not 'a'$",
    ):
        profiles.check_types("04", {"seed": "a"})
    with pytest.raises(profiles.ParameterError, match="takes int, not True"):
        profiles.resolve("04_reward_distance", "cpu", n_envs=True)  # a bool is no count
    assert profiles.resolve("01_ppo_max", "cpu", lr=1).lr == 1  # an int is a float
    with pytest.raises(
        profiles.ParameterError,
        match="'model_name' of 01_ppo_max takes str | None, not 3",
    ):
        profiles.resolve("01_ppo_max", "cpu", model_name=3)


def test_describe_lists_every_setting_with_its_meaning_and_profile_values():
    table = profiles.describe("04_reward_distance")
    assert list(table.columns) == [
        "setting",
        "meaning",
        "smoke",
        "cpu",
        "gpu",
        "gpu-full",
    ]
    assert list(table.setting) == list(profiles.resolve("04_reward_distance", "cpu"))
    row = table.set_index("setting").loc["n_envs"]
    assert (row.smoke, row.cpu, row.gpu) == (2, 64, 128) and "MDPs" in row.meaning
    assert table.meaning.str.len().min() > 10
    with pytest.raises(ValueError, match="unknown chapter"):
        profiles.describe("99_nope")


# --- rlhfbook.start_chapter: a chapter's first code cell --------------------------------------


def test_start_chapter_resolves_seeds_and_records_the_parameters_once(monkeypatch):
    import numpy as np
    import torch

    import rlhfbook
    from rlhfbook.core import runtime

    monkeypatch.setattr(
        runtime, "quiet", lambda: None
    )  # global logging state: checked in the next test
    monkeypatch.setenv(
        "RLHFBOOK_PROFILE", ""
    )  # resolve_external records the profile for workers
    P, results = rlhfbook.start_chapter(
        "04_reward_distance", "smoke", 3, n_envs=5, n_pairs=None
    )
    assert (
        dict(P) == dict(profiles.resolve("04_reward_distance", "smoke", n_envs=5))
        and P.n_envs == 5
    )
    assert (
        P.n_pairs == profiles.resolve("04_reward_distance", "smoke").n_pairs
    )  # None keeps the profile's
    assert results.profile is P and results.seed == 3
    assert results.parameters == {
        "profile": "smoke",
        "seed": 3,
        "n_envs": 5,
        "n_pairs": None,
    }
    assert results.to_dict()["parameters"] == results.parameters
    drawn = np.random.rand(3), torch.rand(3)
    np.random.seed(3)
    torch.manual_seed(3)
    assert np.array_equal(drawn[0], np.random.rand(3)) and torch.equal(
        drawn[1], torch.rand(3)
    )


def test_start_chapter_takes_the_first_cells_steps_in_order(monkeypatch):
    import IPython.display

    import rlhfbook
    from rlhfbook.book import scorecard
    from rlhfbook.core import runtime
    from rlhfbook.lm import models

    calls = []
    resolve = profiles.resolve
    monkeypatch.setattr(
        models, "resolve_external", lambda P: calls.append(("external", P.name))
    )
    monkeypatch.setattr(
        profiles,
        "resolve",
        lambda *a, **k: calls.append(("resolve", a, k)) or resolve(*a, **k),
    )
    monkeypatch.setattr(
        runtime,
        "seed_everything",
        lambda seed, threads=None: calls.append(("seed", seed, threads)),
    )
    monkeypatch.setattr(runtime, "quiet", lambda: calls.append(("quiet",)))
    monkeypatch.setattr(
        environment, "prepare", lambda profile: calls.append(("prepare", profile))
    )
    monkeypatch.setattr(
        scorecard,
        "runtime_table",
        lambda chapter, runtimes: calls.append(("runtime_table", chapter)) or "T",
    )
    monkeypatch.setattr(
        IPython.display, "display", lambda obj: calls.append(("show", obj.data))
    )
    shell = type(
        "Shell",
        (),
        {
            "user_ns": {"In": []},
            "set_custom_exc": lambda self, *a: calls.append(("one-line errors",)),
        },
    )()
    monkeypatch.setattr(environment, "ipython_shell", lambda: shell)  # as in a notebook
    rlhfbook.start_chapter(
        "02_dpo_ranking", "cpu", 7, threads=1, model_name=None, dataset=None
    )
    assert calls == [
        ("prepare", "cpu"),
        ("one-line errors",),
        ("resolve", ("02_dpo_ranking", "cpu"), {"model_name": None, "dataset": None}),
        ("external", "cpu"),
        ("seed", 7, 1),
        ("quiet",),
        ("runtime_table", "02_dpo_ranking"),
        ("show", "T"),
    ]
    calls.clear()
    monkeypatch.setattr(
        environment, "ipython_shell", lambda: None
    )  # a script: nothing to show
    rlhfbook.start_chapter("00_toy_world", "smoke", 0)
    assert [c[0] for c in calls] == [
        "prepare",
        "resolve",
        "external",
        "seed",
        "quiet",
    ] and calls[3] == ("seed", 0, None)


def test_start_chapter_stops_on_an_unknown_parameter_before_seeding(monkeypatch):
    import rlhfbook
    from rlhfbook.core import runtime

    monkeypatch.setattr(
        runtime,
        "seed_everything",
        lambda *a, **k: pytest.fail("seeded before validating"),
    )
    with pytest.raises(
        profiles.ParameterError,
        match=r"^unknown parameter\(s\) 'n_env' for chapter '04_reward_distance'; valid parameters: bon_n, ",
    ):
        rlhfbook.start_chapter("04_reward_distance", "cpu", 0, n_env=3)


def test_a_gpu_profile_without_cuda_stops_in_one_line_before_any_download(monkeypatch):
    import torch

    import rlhfbook
    from rlhfbook.lm import models

    monkeypatch.setattr(
        torch.cuda, "is_available", lambda: False
    )  # as on this CPU machine, or a broken install
    monkeypatch.setattr(
        models,
        "resolve_external",
        lambda P: pytest.fail("looked for models before the device"),
    )
    for chapter in sorted(profiles.GPU_CHAPTERS):
        with pytest.raises(
            profiles.NoAccelerator,
            match=rf"^profile 'gpu' of {chapter} needs a CUDA GPU",
        ) as error:
            rlhfbook.start_chapter(chapter, "gpu", 0)
        assert "\n" not in str(error.value) and isinstance(
            error.value, profiles.ParameterError
        )  # shown as one line
    profiles.check_accelerator(
        "04_reward_distance", "gpu"
    )  # a CPU chapter's gpu profile runs on the CPU
    profiles.check_accelerator("01_ppo_max", "cpu")


def test_on_a_gpu_runs_and_chapters_go_one_at_a_time():
    """The fan-out chapters' gpu profiles run one PPO at a time (the memory plan is one run's),
    and ``rlhfbook run --profile gpu`` runs one chapter at a time; elsewhere both use every core."""
    import os

    from rlhfbook.book import cli

    for chapter in profiles.FANOUT_CHAPTERS:
        assert profiles.resolve(chapter, "gpu").jobs == 1
        assert profiles.resolve(chapter, "cpu").jobs is None, (
            chapter
        )  # None: parallel.default_jobs()
    assert cli.default_jobs("gpu") == 1 and cli.default_jobs("cpu") == (
        os.cpu_count() or 1
    )


def test_chapters_1_and_3_pass_their_autocast_setting_to_ppo():
    """``autocast="float32"`` (the way out of an fp16 overflow on a T4) reaches every PPO config."""
    from rlhfbook.chapters.ch01_ppo_max import overoptimisation
    from rlhfbook.chapters.ch03_pf_ppo import pf_ppo
    from rlhfbook.methods import ppo

    for chapter in profiles.FANOUT_CHAPTERS:
        assert {profiles.resolve(chapter, p).autocast for p in profiles.PROFILES} == {
            "auto"
        }, chapter
    P = profiles.resolve("01_ppo_max", "gpu", autocast="float32")
    config = ppo.PPOConfig(**overoptimisation.ppo_config(P, {}))
    assert (
        ppo.Precision.create(config.autocast, "cuda").dtype is None
    )  # fp32 on a GPU: no autocast
    S = profiles.resolve("03_pf_ppo", "gpu", autocast="float32")
    specs = pf_ppo.run_specs(
        S,
        [0],
        sft_path="s",
        rm_path="r",
        task=None,
        eval_task=None,
        no_eos_score=-2.0,
        eval_prompts=[],
    )
    assert specs and all(spec["config"]["autocast"] == "float32" for spec in specs)


def test_chapters_1_and_3_pass_their_autocast_setting_to_the_trl_trainers(
    monkeypatch, tmp_path
):
    """The same setting reaches chapter 1's reward models and GRPO, and chapter 3's reward models."""
    from rlhfbook.chapters.ch01_ppo_max import overoptimisation
    from rlhfbook.chapters.ch03_pf_ppo import pf_ppo
    from rlhfbook.core import parallel
    from rlhfbook.methods import reward_model
    from rlhfbook.tasks.preferences import PreferencePairs

    P = profiles.resolve("01_ppo_max", "gpu", autocast="float32")
    assert overoptimisation.grpo_settings(P)["autocast"] == "float32"
    asked = []
    monkeypatch.setattr(
        reward_model,
        "train_reward_model",
        lambda *a, **k: (asked.append(k["autocast"]), None),
    )
    overoptimisation.fit_reward_model(P, "base", None, [], tmp_path, seed=0, steps=1)
    S = profiles.resolve("03_pf_ppo", "gpu", autocast="float32")
    monkeypatch.setattr(
        parallel,
        "map_runs",
        lambda fn, specs, jobs: [asked.append(s["autocast"]) for s in specs],
    )

    class Tok:
        def __call__(self, text, add_special_tokens):
            return {"input_ids": text.split()}

    pairs = PreferencePairs(["p "], ["a"], ["b"])
    pf_ppo.train_reward_models(
        {"rm": pairs}, Tok(), ["rm"], S, base="b", workdir=tmp_path, seed=0
    )
    assert asked == ["float32", "float32"]


def test_a_profile_pickles_to_an_equal_profile_for_the_worker_processes():
    import pickle

    P = profiles.resolve("03_pf_ppo", "cpu", n_seeds=2)
    back = pickle.loads(pickle.dumps(P))
    assert (back.chapter, back.name, dict(back)) == (P.chapter, P.name, dict(P))
    assert back.asserts_checks and back.n_seeds == 2
