import pytest

from rlhfbook import profiles


def test_table_is_consistent():
    profiles.validate_table()
    for chapter in profiles.chapters():
        assert set(profiles.budget_minutes(chapter)) == set(profiles.PROFILES)


def test_resolve_returns_settings_with_attribute_access():
    p = profiles.resolve("00_toy_world", "cpu")
    assert p.name == "cpu" and p.chapter == "00_toy_world"
    assert p.n_eval_prompts == p["n_eval_prompts"]
    assert p.asserts_checks and not profiles.resolve("00_toy_world", "smoke").asserts_checks


def test_override_applies_and_none_keeps_the_profile_value():
    base = profiles.resolve("00_toy_world", "cpu").n_eval_prompts
    assert profiles.resolve("00_toy_world", "cpu", n_eval_prompts=7).n_eval_prompts == 7
    assert profiles.resolve("00_toy_world", "cpu", n_eval_prompts=None).n_eval_prompts == base


def test_unknown_profile_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown profile 'big'; valid profiles: smoke, cpu, gpu"):
        profiles.resolve("00_toy_world", "big")


def test_unknown_parameter_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) 'lr'.*valid parameters: n_eval_prompts"):
        profiles.resolve("00_toy_world", "cpu", lr=1.0)


def test_unknown_chapter_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown chapter '99_nope'; valid chapters: 00_toy_world"):
        profiles.resolve("99_nope", "cpu")


def test_profile_is_read_only():
    p = profiles.resolve("00_toy_world", "cpu")
    with pytest.raises(TypeError):
        p["n_eval_prompts"] = 3


def test_injected_names_are_compared_with_the_parameters_cell():
    history = ["", 'profile = "cpu"  # smoke | cpu\nseed = 0', '# Parameters\nprofile = "smoke"\nseeed = 3\n', "x = 1"]
    assert profiles.unknown_injected(history) == (["seeed"], ["profile", "seed"])
    assert profiles.unknown_injected(["", "x = 1"]) == ([], [])
