import itertools
import json
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from rlhfbook.book import profiles
from rlhfbook.chapters.ch03_pf_ppo import pf_ppo
from rlhfbook.chapters.ch03_pf_ppo.spec import PFPPOSettings
from rlhfbook.core import parallel
from rlhfbook.lm import models
from rlhfbook.lm.rollout import generate, rollout_from_ids, sequence_logprob
from rlhfbook.methods import filtration, ppo, reward_model
from rlhfbook.tasks import code_tasks, sandbox
from rlhfbook.tasks.preferences import PreferencePairs
from rlhfbook.tasks.toyworld import CodeTask, build_tokenizer, new_model
from rlhfbook.tasks.toyworld.code import OPS, ProgramError, run

TASK = CodeTask()
DOUBLE = "f(1)=2 f(2)=4 f(3)=6 ->"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny causal LM and a reward model built from it, as local folders."""
    root = tmp_path_factory.mktemp("pf_ppo")
    tok = build_tokenizer()
    torch.manual_seed(0)
    new_model("tiny", tok).save_pretrained(root / "policy")
    tok.save_pretrained(root / "policy")
    torch.manual_seed(1)
    rm, _ = models.load_reward_model(root / "policy", tok)
    rm.save_pretrained(root / "rm")
    tok.save_pretrained(root / "rm")
    return {"policy": str(root / "policy"), "rm": str(root / "rm")}


def test_streams_are_reproducible_and_independent():
    assert pf_ppo.stream(3, "ppo").integers(10**9) == pf_ppo.stream(3, "ppo").integers(
        10**9
    )
    draws = {
        (s, p): pf_ppo.stream(s, p).integers(10**9)
        for s in (0, 1)
        for p in pf_ppo.STREAMS
    }
    assert len(set(draws.values())) == len(draws)
    a = TASK.sample_prompts(200, pf_ppo.stream(0, "rm"))
    b = TASK.sample_prompts(200, pf_ppo.stream(0, "ppo"))
    assert a != b and len(set(a) & set(b)) < 5
    with pytest.raises(ValueError, match="unknown stream 'train'"):
        pf_ppo.stream(0, "train")


def test_passing_programs_are_every_program_that_passes():
    programs = code_tasks.passing_programs(TASK, DOUBLE)
    assert {"dbl", "inc dec dbl", "dbl neg neg"} <= set(programs)
    everything = [
        " ".join(ops)
        for n in range(1, TASK.max_ops + 1)
        for ops in itertools.product(OPS, repeat=n)
    ]
    assert sorted(programs) == sorted(
        p for p in everything if TASK.gold_reward(DOUBLE, p) == 1.0
    )


def test_exact_pass_rate_is_the_probability_of_the_passing_programs(tiny):
    policy, tok = models.load_policy(tiny["policy"])
    prompts = [DOUBLE, "f(0)=0 f(3)=9 f(-2)=4 ->", "f(5)=6 f(1)=2 f(-4)=-3 ->"]
    exact = pf_ppo.exact_pass_rate(policy, tok, TASK, prompts, batch_size=2)
    for i, prompt in enumerate(
        prompts
    ):  # loop reference: one full forward pass per program
        programs = code_tasks.passing_programs(TASK, prompt)
        ids = [
            tok(p, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
            for p in programs
        ]
        with torch.no_grad():
            logp = sequence_logprob(
                policy, rollout_from_ids(tok, [prompt] * len(ids), ids)
            )
        assert exact[i] == pytest.approx(logp.exp().sum().item(), rel=1e-4)


def test_shown_outputs_report_the_shown_examples_only():
    prompt = "f(7)=49 f(-5)=25 f(-3)=9 ->"
    assert code_tasks.with_execution(TASK, prompt, "sqr") == "sqr | 49 25 9 | == == =="
    assert (
        code_tasks.with_execution(TASK, prompt, "dec sqr")
        == "dec sqr | 36 36 16 | != != !="
    )
    assert (
        code_tasks.shown_outputs(TASK, prompt, "import os") == "err err err | != != !="
    )
    assert code_tasks.shown_outputs(TASK, DOUBLE, "sqr") == "1 4 9 | != == !="
    assert code_tasks.shown_verdicts(TASK, DOUBLE, "sqr") == "!= == !="
    assert code_tasks.shown_pass_rate(TASK, prompt, "neg sqr") == 1.0
    assert code_tasks.shown_pass_rate(TASK, DOUBLE, "sqr") == pytest.approx(
        1 / 3
    )  # 1, 4, 9 for 2, 4, 6
    assert code_tasks.shown_pass_rate(
        TASK, "f(0)=0 f(2)=4 f(3)=6 ->", "sqr"
    ) == pytest.approx(2 / 3)
    pairs = code_tasks.execution_pairs(
        TASK, PreferencePairs([prompt], ["sqr"], ["inc"], np.array([0.6]))
    )
    assert pairs.rows() == [
        {
            "prompt": prompt,
            "chosen": "sqr | 49 25 9 | == == ==",
            "rejected": "inc | 8 -4 -2 | != != !=",
        }
    ]
    assert pairs.alpha.tolist() == [0.6]
    with pytest.raises(TypeError, match="toy code task or a UnitTestTask"):
        code_tasks.shown_outputs(object(), prompt, "sqr")
    with pytest.raises(ProgramError):
        run("import os", 1)


def test_mbpp_reward_text_reports_the_shown_test(tmp_path):
    rows = [
        {
            "text": "Write a function to add two numbers.",
            "code": "def add(a, b):\n    return a + b",
            "test_list": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"],
            "test_setup_code": "",
        }
    ]
    task = code_tasks.UnitTestTask(
        rows, limits=sandbox.Limits(cpu_s=1, wall_s=2.0, memory_mb=256)
    )
    prompt = task.prompts[0]
    assert code_tasks.with_execution(
        task, prompt, "def add(a, b):\n    return a + b"
    ).endswith("\n# shown test: passed")
    assert (
        code_tasks.with_execution(task, prompt, "def add(a, b):\n    return 3")
        == "def add(a, b):\n    return 3\n# shown test: passed"
    )  # passes the shown test, fails a hidden one
    assert task.gold_reward(prompt, "def add(a, b):\n    return 3") == 0.5
    assert (
        code_tasks.shown_pass_rate(task, prompt, "def add(a, b):\n    return a - b")
        == 0.0
    )


def test_pass_rate_z_pairs_prompts_and_adds_the_seed_spread():
    base = np.array([0.0, 0.5, 1.0, 0.25])
    passed = np.array([[0.5, 0.5, 1.0, 0.25], [0.0, 1.0, 1.0, 0.75]])
    gain, se = pf_ppo.pass_rate_z(passed, base)
    d = passed - base
    assert gain == pytest.approx(d.mean())
    assert se == pytest.approx(
        np.sqrt(d.mean(0).var(ddof=1) / 4 + d.mean(1).var(ddof=1) / 2)
    )
    with pytest.raises(ValueError, match="prompts"):
        pf_ppo.pass_rate_z(passed, base[:3])


def test_bootstrap_differences_are_paired_and_see_the_range_restriction_of_bon():
    rng = np.random.default_rng(0)
    scores = rng.random((400, 5))
    rewards = scores + rng.normal(
        scale=0.3, size=scores.shape
    )  # equal noise everywhere: BoN restricts the range
    strategies = ["none", "bon", "bw"]
    point, boot = filtration.bootstrap_r_squared(
        rewards, scores, strategies, rng, n_boot=30, n_groups=10
    )
    assert boot.shape == (30, 3, 2) and set(point) == set(strategies)
    rows = filtration.r_squared_differences(
        point, boot, strategies, [("none", "bon"), ("bw", "none")]
    )
    first = rows[0]
    assert first["difference"] == "no filter - BoN" and first["R²"] == "sample"
    assert first["value"] == pytest.approx(
        point["none"]["sample"] - point["bon"]["sample"]
    )
    assert first["se"] == pytest.approx(np.std(boot[:, 0, 0] - boot[:, 1, 0], ddof=1))
    assert (
        first["value"] > 2 * first["se"]
    )  # the range restriction of BoN, well beyond its standard error
    with pytest.raises(ValueError, match="n_boot"):
        filtration.bootstrap_r_squared(rewards, scores, strategies, rng, n_boot=1)


def test_reward_model_run_needs_a_full_pass(tiny):
    with pytest.raises(ValueError, match="full pass"):
        pf_ppo.reward_model_run({"epochs": 0.5, "pairs": [], "base": tiny["policy"]})


def _spec(tiny, method, seed=0):
    config = dict(
        iterations=2,
        prompts_per_iteration=2,
        max_new_tokens=8,
        critic_warmup=1,
        epochs=1,
    )
    return dict(
        method=method,
        seed=seed,
        sft_path=tiny["policy"],
        rm_path=tiny["rm"],
        task=TASK,
        eval_task=TASK,
        execution=True,
        no_eos_score=-5.0,
        n_samples=5,
        config=config,
        eval_prompts=TASK.sample_prompts(4, pf_ppo.stream(seed, "eval")),
        eval_samples=1,
    )


def test_runs_side_by_side_match_serial_runs_and_count_the_filtered_passes(tiny):
    specs = [
        _spec(tiny, "PPO-M"),
        _spec(tiny, "PF-PPO (BW)"),
        _spec(tiny, "PPO-S", seed=1),
    ]
    serial = parallel.map_runs(pf_ppo.run_method, specs, jobs=1)
    side_by_side = parallel.map_runs(pf_ppo.run_method, specs, jobs=2)

    def numbers(run):  # everything but the clocks, NaN-equal
        rows = [
            {k: v for k, v in row.items() if k not in ("seconds", "generate_s")}
            for row in run["log"]
        ]
        return json.dumps(
            {k: v for k, v in run.items() if k != "cpu_s"} | {"log": rows}
        )

    assert [numbers(r) for r in serial] == [numbers(r) for r in side_by_side]
    m, bw, s = serial
    assert len(m["sampled"]) == len(m["greedy"]) == len(m["greedy_answers"]) == 4
    assert 0.0 <= m["truncated"] <= 1.0
    assert [row["samples"] for row in m["log"]] == [10, 10] and [
        row["samples"] for row in s["log"]
    ] == [10, 10]
    assert bw["log"][-1]["backward_samples"] == 0.4 * m["log"][-1]["backward_samples"]
    assert (
        bw["log"][-1]["critic_backward_samples"]
        == 0.4 * m["log"][-1]["critic_backward_samples"]
    )
    with pytest.raises(ValueError, match="unknown method 'PPO-X'"):
        pf_ppo.run_method(_spec(tiny, "PPO-X"))


def test_z_value_is_defined_when_nothing_varies():
    from rlhfbook.chapters.ch03_pf_ppo.pf_ppo import z_value

    assert z_value(0.2, 0.1) == pytest.approx(2.0)
    assert z_value(0.0, 0.0) == 0.0  # a policy that passes no test before or after
    assert z_value(0.1, 0.0) == float("inf") and z_value(-0.1, 0.0) == float("-inf")


def test_sample_groups_keeps_a_prompts_samples_adjacent_and_repeats_under_its_seed(
    tiny,
):
    policy, tok = models.load_policy(tiny["policy"])
    prompts = [DOUBLE, "f(0)=0 f(3)=9 f(-2)=4 ->"]
    out = pf_ppo.sample_groups(policy, tok, prompts, 3, 7, max_new_tokens=6)
    assert out.prompts == [DOUBLE] * 3 + [prompts[1]] * 3
    torch.manual_seed(7)
    reference = generate(
        policy, tok, [p for p in prompts for _ in range(3)], max_new_tokens=6
    )
    assert out.responses == reference.responses
    assert (
        pf_ppo.sample_groups(policy, tok, prompts, 3, 7, max_new_tokens=6).responses
        == out.responses
    )


def test_reward_model_pairs_are_the_raters_pairs_and_their_execution_twins():
    prompt = "f(7)=49 f(-5)=25 f(-3)=9 ->"
    groups = [["sqr", "inc", "neg sqr", "dec"]]
    sets = pf_ppo.reward_model_pairs(
        TASK, [prompt], groups, 0.1, np.random.default_rng(3)
    )
    raters = code_tasks.UnitTestRaters(TASK, 0.1)
    direct = code_tasks.unit_test_pairs(
        raters, [prompt], groups, np.random.default_rng(3)
    )
    assert sets["program only"].rows() == direct.rows()
    assert (
        sets["program + shown outputs"].rows()
        == code_tasks.execution_pairs(TASK, direct).rows()
    )
    assert list(sets) == list(pf_ppo.READS)
    same = pf_ppo.reward_model_pairs(
        TASK, [prompt], [["inc", "inc"]], 0.1, np.random.default_rng(0)
    )
    assert same["program only"].rows() == [
        {"prompt": prompt, "chosen": TASK.demonstration(prompt), "rejected": "inc"}
    ]


def test_train_reward_models_gives_both_the_room_of_the_longest_text(
    tmp_path, monkeypatch
):
    seen = []
    monkeypatch.setattr(
        pf_ppo,
        "reward_model_run",
        lambda spec: seen.append(spec) or {"path": spec["out_dir"]},
    )
    tok = build_tokenizer()
    sets = {
        "a": PreferencePairs(
            ["f(1)=2 ->"], ["dbl"], ["inc inc neg"]
        ),  # the longest, not trained
        "b": PreferencePairs(["f(1)=2 ->"], ["dbl | 2"], ["inc | 2"]),
    }
    longest = len(tok("f(1)=2 ->inc inc neg", add_special_tokens=False)["input_ids"])
    assert longest > len(tok("f(1)=2 ->dbl | 2", add_special_tokens=False)["input_ids"])
    settings = replace(PFPPOSettings(), jobs=1, rm_epochs=2, rm_batch=4, rm_lr=0.5)
    out = pf_ppo.train_reward_models(
        sets, tok, ["b"], settings, base="base", workdir=tmp_path, seed=9
    )
    assert out == {"b": {"path": str(tmp_path / "rm0")}}
    (spec,) = seen
    assert spec["max_length"] == longest + 1 and spec["pairs"] is sets["b"]
    assert (
        spec["epochs"],
        spec["batch_size"],
        spec["lr"],
        spec["seed"],
        spec["base"],
    ) == (2, 4, 0.5, 9, "base")


def test_score_samples_puts_truncated_programs_on_the_floor(monkeypatch):
    raw = torch.tensor([0.5, -1.0, 2.0, 9.0, 1.0, 0.0])
    has_eos = torch.tensor([True, True, True, False, True, False])
    calls = []

    def proxy(path, tokenizer, device, no_eos_score, text_fn):
        calls.append((path, no_eos_score, text_fn))
        return lambda samples: raw

    monkeypatch.setattr(reward_model, "proxy_reward", proxy)
    samples = SimpleNamespace(has_eos=has_eos)
    scores, floor, complete = pf_ppo.score_samples(
        "rm", None, "cpu", TASK, samples, True, 3
    )
    complete_ref = np.array([0.5, -1.0, 2.0, 1.0])
    assert floor == pytest.approx(-1.0 - complete_ref.std()) and np.array_equal(
        complete, complete_ref
    )
    np.testing.assert_allclose(
        scores, [[0.5, -1.0, 2.0], [floor, 1.0, floor]], rtol=1e-6
    )
    assert calls[0][1] is None and calls[0][2](
        DOUBLE, "dbl"
    ) == code_tasks.with_execution(TASK, DOUBLE, "dbl")
    pf_ppo.score_samples("rm", None, "cpu", TASK, samples, False, 3)
    assert calls[1][2] is None


def test_score_spread_averages_the_fifths_and_the_middle():
    std = np.arange(10.0)
    assert pf_ppo.score_spread(std) == {
        "lowest rewards": 0.5,
        "middle": 4.5,
        "highest rewards": 8.5,
    }
    assert pf_ppo.score_spread(np.array([3.0, 1.0, 2.0])) == {
        "lowest rewards": 3.0,
        "middle": 1.0,
        "highest rewards": 2.0,
    }


def test_reliability_pattern_names_the_reliable_ends():
    sp = {"lowest rewards": 0.1, "middle": 0.3, "highest rewards": 0.2}
    assert pf_ppo.reliability_pattern(sp).startswith("both ends more reliable")
    assert (
        pf_ppo.reliability_pattern(sp | {"lowest rewards": 0.4})
        == "only the highest rewards more reliable than the middle"
    )
    assert (
        pf_ppo.reliability_pattern(sp | {"middle": 0.05})
        == "no end more reliable than the middle"
    )


def test_score_by_shown_examples_groups_the_actual_scores():
    shown = np.array([1.0, 1.0, 0.0, 1 / 3])
    scores = np.array([[1.0, 0.6], [0.2, 0.4]])
    table = pf_ppo.score_by_shown_examples(shown, scores)
    assert (
        list(table.index) == ["0.00", "0.33", "1.00"]
        and table.index.name == "shown examples right"
    )
    np.testing.assert_allclose(table["samples (share)"], [0.25, 0.25, 0.5])
    np.testing.assert_allclose(table["actual score: mean"], [0.2, 0.4, 0.8])
    np.testing.assert_allclose(table["actual score: std"], [0.0, 0.0, 0.2])
    assert pf_ppo.score_summary(scores, shown, 1.0) == "0.80 ± 0.20"
    assert pf_ppo.score_summary(scores, shown, 0.5) == "no samples"


def test_reward_by_verdicts_groups_complete_programs_by_their_shown_verdicts():
    prompt = "f(7)=49 f(-5)=25 f(-3)=9 ->"  # sqr: == == ==; dbl: != != !=
    samples = SimpleNamespace(
        prompts=[prompt, prompt, DOUBLE, prompt, prompt],
        responses=["sqr", "neg sqr", "sqr", "dbl", "sqr dbl"],
        has_eos=torch.tensor([True, True, True, True, False]),
    )
    rewards = np.array([3.0, 2.0, 1.0, -1.0, 9.0])
    scores = np.array([1.0, 0.8, 0.2, 0.0, 0.6])
    table = pf_ppo.reward_by_verdicts(TASK, samples, rewards, scores)
    z = (rewards - rewards.mean()) / rewards.std()  # standardised over every sample
    assert list(table.index) == ["== == ==", "!= == !=", "!= != !="]
    np.testing.assert_allclose(table["samples (share)"], [0.5, 0.25, 0.25])
    np.testing.assert_allclose(table["reward: mean"], [z[:2].mean(), z[2], z[3]])
    np.testing.assert_allclose(table["actual score: mean"], [0.9, 0.2, 0.0])
    assert table.loc["== == ==", "actual score: std"] == pytest.approx(
        np.std([1.0, 0.8], ddof=1)
    )


def test_top_intruders_counts_partly_right_programs_among_the_highest_rewards():
    shown = np.array([1.0, 1.0, 1 / 3, 0.0, 2 / 3, 0.0, 0.0, 0.0, 0.0, 0.0])
    ordered = np.array([9.0, 8.0, 1.0, 0.0, 2.0, -1, -2, -3, -4, -5])
    samples = SimpleNamespace(prompts=[DOUBLE] * 3, responses=["dbl", "sqr", "x"])
    np.testing.assert_allclose(pf_ppo.shown_rates(TASK, samples), [1, 1 / 3, 0])
    assert pf_ppo.top_intruders(shown, ordered) == 0.0  # top two: both all right
    shortcut = ordered.copy()
    shortcut[2] = 8.5  # a program with one shown example right among the top two
    assert pf_ppo.top_intruders(shown, shortcut) == 0.5
    assert pf_ppo.top_intruders(shown, shortcut, fraction=0.3) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="fraction"):
        pf_ppo.top_intruders(shown, ordered, fraction=0.0)


def test_intruders_floor_is_what_a_perfect_ranking_leaves_in_the_top():
    shown = np.array(
        [1.0, 2 / 3, 0.0, 0.0, 1 / 3, 0.0, 0.0, 0.0, 0.0, 0.0]
    )  # one in ten all right
    perfect = shown + np.linspace(
        0, 0.01, shown.size
    )  # orders by the count of right examples
    assert pf_ppo.intruders_floor(shown) == pytest.approx(0.5)
    assert pf_ppo.top_intruders(shown, perfect) == pytest.approx(0.5)
    assert pf_ppo.intruders_floor(shown, fraction=0.1) == 0.0


def test_seed_correlation_pairs_the_seeds_of_both_dicts():
    a = {0: 0.1, 1: 0.3, 2: 0.2, 3: 0.5}
    b = {3: 5.0, 1: 3.0, 0: 1.0, 2: 2.0}  # another order: paired by seed, not by place
    assert pf_ppo.seed_correlation(a, b) == pytest.approx(
        np.corrcoef([0.1, 0.3, 0.2, 0.5], [1.0, 3.0, 2.0, 5.0])[0, 1]
    )
    assert pf_ppo.seed_correlation(a, {k: -v for k, v in b.items()}) < -0.9
    assert np.isnan(pf_ppo.seed_correlation({0: 1.0, 1: 2.0}, {0: 1.0, 1: 3.0}))
    assert np.isnan(pf_ppo.seed_correlation(a, dict.fromkeys(a, 1.0)))


def test_r2_table_is_the_bootstrap_then_the_sec56_strategies_from_one_stream():
    rng = np.random.default_rng(0)
    scores = rng.random((60, 5))
    rewards = 3 * scores + rng.normal(size=scores.shape) + 1.0
    table, boot = pf_ppo.r2_table(
        rewards, scores, np.random.default_rng(5), n_boot=4, n_groups=6
    )
    z = (rewards - rewards.mean()) / rewards.std()
    ref_rng = np.random.default_rng(5)
    ranked = ["none", "bon", "br", "bw"]
    point, ref_boot = filtration.bootstrap_r_squared(
        z, scores, ranked, ref_rng, n_boot=4, n_groups=6
    )
    np.testing.assert_array_equal(boot, ref_boot)
    assert list(table.index) == ["no filter", "BoN", "BR", "BW", *pf_ppo.SEC56]
    assert table.loc["BW", "R² (grouped)"] == point["bw"]["grouped"]
    assert table.loc["BoN", "± SE"] == pytest.approx(ref_boot[:, 1, 0].std(ddof=1))
    for label, (s, kw) in pf_ppo.SEC56.items():
        out = filtration.filtered_r_squared(z, scores, s, ref_rng, n_groups=6, **kw)
        assert table.loc[label, "R² (samples)"] == out["sample"] and np.isnan(
            table.loc[label, "± SE"]
        )
    diffs = pf_ppo.r2_differences(table, boot)
    ref = filtration.r_squared_differences(point, ref_boot, ranked, pf_ppo.R2_PAIRS)
    assert diffs.to_dict(orient="records") == ref


def test_run_specs_cover_every_method_and_seed_with_a_valid_ppo_config():
    settings = replace(
        PFPPOSettings(), methods=("PPO-S", "PF-PPO (BW)"), n_samples=4, eval_samples=2
    )
    specs = pf_ppo.run_specs(
        settings,
        [0, 1],
        sft_path="sft",
        rm_path="rm",
        task=TASK,
        eval_task=TASK,
        no_eos_score=-2.0,
        eval_prompts=[],
    )
    assert [(s["method"], s["seed"]) for s in specs] == [
        ("PPO-S", 0),
        ("PF-PPO (BW)", 0),
        ("PPO-S", 1),
        ("PF-PPO (BW)", 1),
    ]
    assert all(
        s["execution"] and s["n_samples"] == 4 and s["eval_samples"] == 2 for s in specs
    )
    config = ppo.PPOConfig(group_size=4, **specs[0]["config"])
    assert (config.lr, config.kl_coef, config.iterations) == (
        settings.lr,
        settings.kl_coef,
        settings.iterations,
    )
    gpu = pf_ppo.run_specs(
        profiles.resolve("03_pf_ppo", "gpu"),
        [0],
        sft_path="s",
        rm_path="r",
        task=TASK,
        eval_task=TASK,
        no_eos_score=-2.0,
        eval_prompts=[],
    )
    # the T4's micro-batches and adapters reach the PPO update
    assert gpu[0]["config"]["micro_batch"] == 2 and gpu[0]["config"]["lora_rank"] == 16


def _runs():
    """Two methods x two seeds of fake :func:`pf_ppo.run_method` results, two log rows each."""
    runs = []
    for seed in (0, 1):
        for method, kept in (("PPO-M", 1.0), ("PF-PPO (BW)", 0.4)):
            log = [
                {"samples": 10, "backward_samples": 20 * kept * i, "critic_backward_samples": 20 * kept * (i + 1),
                 "gold_reward": 0.1 * i + seed, "eos_frac": 0.5 + 0.25 * i}
                for i in (1, 2)
            ]  # fmt: skip
            sampled = [0.5 + 0.1 * seed, kept]
            runs.append(
                dict(
                    method=method,
                    seed=seed,
                    log=log,
                    sampled=sampled,
                    greedy=[1.0, 0.0],
                    truncated=seed / 4,
                )
            )
    return runs


def test_tables_3_and_4_from_the_runs():
    runs, methods = _runs(), ("PPO-M", "PF-PPO (BW)")
    logs, passed, greedy = pf_ppo.collect_runs(runs, methods)
    assert logs.loc[
        (logs.method == "PPO-M") & (logs.seed == 1), "sampled"
    ].tolist() == [10, 20]
    np.testing.assert_array_equal(passed["PF-PPO (BW)"], [[0.5, 0.4], [0.6, 0.4]])
    sft = np.array([0.25, 0.25])
    r2 = pd.DataFrame(
        {
            "R² (samples)": {"no filter": 0.3, "BW": 0.7},
            "R² (grouped)": {"no filter": 0.8, "BW": 0.9},
        }
    )
    final = pf_ppo.final_table(runs, logs, passed, greedy, sft, r2)
    row = final.loc["PF-PPO (BW)"]
    assert row["pass@1 (sampled)"] == pytest.approx(0.475)
    assert (row["gain over SFT"], row["± SE"]) == pytest.approx(
        pf_ppo.pass_rate_z(passed["PF-PPO (BW)"], sft)
    )
    assert row["std over seeds"] == pytest.approx(np.std([0.45, 0.5], ddof=1))
    assert row["truncated (greedy answers)"] == 0.125 and row[
        "truncated (training samples)"
    ] == pytest.approx(0.125)
    assert (
        row["R² of its filter (samples)"],
        final.loc["PPO-M", "R² of its filter (grouped)"],
    ) == (0.7, 0.8)
    compute = pf_ppo.compute_table(logs, methods)
    assert compute.loc["PPO-M"].tolist()[:3] == [20, 40, 60]
    assert compute.loc["PF-PPO (BW)", "policy + critic, x PPO-M"] == pytest.approx(0.4)
    paper = pf_ppo.paper_pass1_table(final, compute)
    assert paper.loc["PF-PPO (BW)"].tolist() == pytest.approx([82.4, 47.5, 50.0, 0.4])


def test_check_margins_by_hand():
    p = {"PPO-M": 0.50, "PF-PPO (BoN)": 0.40, "PF-PPO (BR)": 0.48, "PF-PPO (BW)": 0.52}
    # BR: min(0.48 - 0.49, 0.48 - 0.43) = -0.01; BW: min(0.52 - 0.49, 0.52 - 0.43) = 0.03
    assert pf_ppo.pf_margin(p, ["PF-PPO (BR)", "PF-PPO (BW)"]) == pytest.approx(0.03)
    assert pf_ppo.pf_margin(p, ["PF-PPO (BR)"]) == pytest.approx(-0.01)
    filters = ["PF-PPO (BoN)", "PF-PPO (BR)", "PF-PPO (BW)"]
    assert pf_ppo.chosen_margin(p, "PF-PPO (BW)", filters) == pytest.approx(0.04)
    assert pf_ppo.chosen_margin(p, "PF-PPO (BoN)", filters) == pytest.approx(-0.12)


def test_paper_r2_table_puts_ours_beside_the_papers():
    t = pd.DataFrame({"R² (samples)": [0.1, 0.2, 0.3, 0.4, 0.5], "R² (grouped)": [0.6, 0.7, 0.8, 0.9, 1.0]},
                     index=["no filter", "BoN", "BR", "BW", "pow-1"])  # fmt: skip
    table = pf_ppo.paper_r2_table({"m": t})
    assert list(table.index) == list(pf_ppo.PAPER_R2)
    assert table.loc["BW"].tolist() == [0.952, 0.9, 0.4]
    assert list(table.columns) == [
        "paper grouped R²",
        "ours grouped R² (m)",
        "ours sample R² (m)",
    ]


def test_a_gold_run_optimises_the_unit_tests_and_says_so(tiny):
    gold = pf_ppo.run_method(_spec(tiny, "PF-PPO (BW)") | {"reward": "gold"})
    model = pf_ppo.run_method(_spec(tiny, "PF-PPO (BW)"))
    assert (gold["reward"], model["reward"]) == ("gold", "model")
    # against the unit tests the reward is the gold score, zero for a program cut off without EOS
    assert all(
        0.0 <= row["proxy_reward"] <= row["gold_reward"] + 1e-6 for row in gold["log"]
    )
    with pytest.raises(ValueError, match="unknown reward 'oracle'"):
        pf_ppo.run_method(_spec(tiny, "PPO-M") | {"reward": "oracle"})


def test_run_specs_give_each_seed_its_reward_model_and_the_gold_reward():
    settings = replace(PFPPOSettings(), methods=("PPO-M", "PF-PPO (BW)"))
    specs = pf_ppo.run_specs(
        settings,
        [3, 4],
        sft_path="sft",
        rm_path={3: "rm3", 4: "rm4"},
        task=TASK,
        eval_task=TASK,
        no_eos_score={3: -1.0, 4: -2.0},
        eval_prompts=[],
        reward="gold",
        methods=("PPO-M",),
    )
    assert [
        (s["method"], s["seed"], s["rm_path"], s["no_eos_score"], s["reward"])
        for s in specs
    ] == [
        ("PPO-M", 3, "rm3", -1.0, "gold"),
        ("PPO-M", 4, "rm4", -2.0, "gold"),
    ]
    with pytest.raises(ValueError, match="unknown reward"):
        pf_ppo.run_specs(
            settings,
            [0],
            sft_path="s",
            rm_path="r",
            task=TASK,
            eval_task=TASK,
            no_eos_score=0.0,
            eval_prompts=[],
            reward="oracle",
        )


def test_seed_r2_and_its_table_and_the_ordering_margin():
    rng = np.random.default_rng(0)
    scores = rng.random((40, 5))
    rewards = scores + 0.3 * rng.standard_normal((40, 5))
    r2 = {
        s: pf_ppo.seed_r2(rewards, scores, np.random.default_rng(s), 4) for s in (0, 1)
    }
    assert list(r2[0]) == ["no filter", "BoN", "BR", "BW"]
    none = filtration.filtered_r_squared(
        pf_ppo.standardise(rewards),
        scores,
        "none",
        np.random.default_rng(0),
        n_groups=4,
    )
    assert r2[0]["no filter"]["sample"] == pytest.approx(none["sample"])
    table = pf_ppo.r2_seed_table(r2, "sample")
    assert list(table.index) == ["0", "1", "mean", "± 2 SE"]
    assert table.loc["mean", "BW"] == pytest.approx(
        (r2[0]["BW"]["sample"] + r2[1]["BW"]["sample"]) / 2
    )
    v = {"no filter": 0.5, "BoN": 0.2, "BR": 0.6, "BW": 0.55}
    assert pf_ppo.r2_ordering_margin(
        {k: {"sample": x} for k, x in v.items()}
    ) == pytest.approx(0.05)
    v["BoN"] = 0.7
    assert pf_ppo.r2_ordering_margin(
        {k: {"sample": x} for k, x in v.items()}
    ) == pytest.approx(-0.2)


def test_gold_control_margin_is_a_difference_of_differences_and_mean_2se():
    model = {"PPO-M": 0.30, "PF-PPO (BW)": 0.34}
    gold = {"PPO-M": 0.40, "PF-PPO (BW)": 0.38}
    assert pf_ppo.gold_control_margin(model, gold, "PF-PPO (BW)") == pytest.approx(0.06)
    m, e = pf_ppo.mean_2se([1.0, 2.0, 3.0])
    assert (m, e) == pytest.approx((2.0, 2 * 1.0 / np.sqrt(3)))
    assert np.isnan(pf_ppo.mean_2se([1.0])[1])


def test_reliability_over_seeds_averages_the_regions():
    a = {"score_mean": np.array([0.0, 1.0]), "score_std": np.array([0.1, 0.3])}
    b = {"score_mean": np.array([0.2, 0.8]), "score_std": np.array([0.3, 0.1])}
    out = pf_ppo.reliability_over_seeds({0: a, 1: b})
    np.testing.assert_allclose(out["score_mean"], [0.1, 0.9])
    np.testing.assert_allclose(out["score_std"], [0.2, 0.2])
    np.testing.assert_allclose(out["score_std_2se"], 2 * np.array([0.1, 0.1]))


def test_chapter_tasks_of_the_toy_world_draw_the_eval_stream():
    P = profiles.resolve("03_pf_ppo", "smoke")
    task, eval_task, prompts = pf_ppo.chapter_tasks(P, 4)
    assert task is eval_task and len(prompts) == P.eval_prompts
    assert prompts == task.sample_prompts(P.eval_prompts, pf_ppo.stream(4, "eval"))


def test_pair_sets_give_every_seed_the_verifying_model_and_the_first_seed_both(tiny):
    P = replace(PFPPOSettings(), rm_prompts=2, n_samples=2, jobs=1)
    sets = pf_ppo.reward_model_pair_sets(P, [5, 6], tiny["policy"], TASK)
    assert list(sets) == [
        (5, "program only"),
        (5, "program + shown outputs"),
        (6, "program + shown outputs"),
    ]
    given = replace(P, reward_model_name="some/rm")
    assert list(pf_ppo.reward_model_pair_sets(given, [5, 6], tiny["policy"], TASK)) == [
        (5, "program only")
    ]


def test_seeds_side_by_side_give_the_pairs_and_scores_of_a_serial_loop(tiny):
    """Pairs and Part A's samples and scores of each seed, on two workers, equal a loop in this
    process over the same seeds (each seed seeds its own sampling)."""
    rm_paths = {(5, pf_ppo.VERIFY): tiny["rm"], (6, pf_ppo.VERIFY): tiny["rm"]}
    runs = {
        jobs: (
            pf_ppo.reward_model_pair_sets(P, [5, 6], tiny["policy"], TASK),
            pf_ppo.analysis_by_seed(P, [5, 6], tiny["policy"], TASK, rm_paths),
        )
        for jobs in (1, 2)
        for P in [  # the chapter's settings, as the notebook passes them to the workers
            profiles.resolve(
                "03_pf_ppo",
                "cpu",
                rm_prompts=3,
                analysis_prompts=4,
                n_samples=3,
                max_new_tokens=8,
                jobs=jobs,
            )
        ]
    }
    (pairs1, part_a1), (pairs2, part_a2) = runs[1], runs[2]
    assert {k: v.rows() for k, v in pairs1.items()} == {
        k: v.rows() for k, v in pairs2.items()
    }
    for s in (5, 6):
        assert part_a1[s]["samples"].responses == part_a2[s]["samples"].responses
        np.testing.assert_array_equal(part_a1[s]["S"], part_a2[s]["S"])
        assert part_a1[s]["S"].shape == (4, 3)
        np.testing.assert_array_equal(
            part_a1[s]["R"][pf_ppo.VERIFY], part_a2[s]["R"][pf_ppo.VERIFY]
        )
        assert part_a1[s]["floor"] == part_a2[s]["floor"]
    assert part_a1[5]["samples"].responses != part_a1[6]["samples"].responses


def test_first_seed_r2_table_flattens_the_reward_models_columns():
    t = pd.DataFrame({" R² (samples)": [0.5]}, index=["BoN"])
    table = pf_ppo.r2_first_seed_table(
        {"program only": t, "program + shown outputs": t}
    )
    assert list(table.columns) == [
        "program only: R² (samples)",
        "program + shown outputs: R² (samples)",
    ]
    assert table.index.name == "filter (first seed)"


def test_gold_control_table_sets_the_reward_model_beside_the_unit_tests():
    passed = {"PPO-M": np.array([0.2, 0.4]), "BW": np.array([0.5, 0.5])}
    gold = {"PPO-M": np.array([0.6, 0.6])}
    table = pf_ppo.gold_control_table(passed, passed, gold, gold)
    assert list(table.index) == ["PPO-M"]
    assert table.loc["PPO-M", "pass@1 (sampled), reward model"] == pytest.approx(0.3)
    assert table.loc["PPO-M", "pass@1 (greedy), unit tests"] == pytest.approx(0.6)


def test_quote_mean_2se_gives_plain_floats():
    q = pf_ppo.quote_mean_2se("gain", [1.0, 3.0])
    assert q == {"gain_mean": 2.0, "gain_2se": pytest.approx(2.0)}
    assert all(type(v) is float for v in q.values())


def test_chapter_tasks_on_a_dataset_split_its_problems_80_20(tmp_path):
    from rlhfbook.testing import standin

    mbpp = standin.write_mbpp(tmp_path / "mbpp.jsonl", n=10)
    P = replace(PFPPOSettings(), dataset=str(mbpp), eval_prompts=1)
    task, eval_task, prompts = pf_ppo.chapter_tasks(P, 0)
    assert isinstance(task, code_tasks.UnitTestTask) and task is not eval_task
    assert (len(task.prompts), len(eval_task.prompts)) == (8, 2)
    assert prompts == eval_task.prompts[:1]


def test_short_name_is_the_filter_as_the_prose_writes_it():
    assert [pf_ppo.short_name(m) for m in ("PF-PPO (BW)", "PF-PPO (BoN)", "PPO-M")] == [
        "BW",
        "BoN",
        "PPO-M",
    ]


def test_answer_ops_table_pools_seeds_and_counts_operations():
    table = pf_ppo.answer_ops_table(
        {
            "SFT": [["dbl", "inc dbl", "neg"]],
            "PPO": [["inc dbl", "sqr"], ["dec inc neg", "inc dbl"]],
        }
    )
    assert list(table.index) == ["1 operation", "2 operations", "3 operations"]
    assert table["SFT"].tolist() == pytest.approx([2 / 3, 1 / 3, 0.0])
    assert table["PPO"].tolist() == pytest.approx([0.25, 0.5, 0.25])


def test_answer_ops_quotes():
    table = pf_ppo.answer_ops_table(
        {"SFT": [["dbl", "inc dbl"]], "PPO-M": [["sqr inc"]]}
    )
    assert pf_ppo.answer_ops_quotes(table) == {
        "sft_ops1": "0.50",
        "ppo_ops1": "0.00",
        "sft_ops2": "0.50",
        "ppo_ops2": "1.00",
    }
    assert set(pf_ppo.answer_ops_quotes(None).values()) == {"n/a"}
