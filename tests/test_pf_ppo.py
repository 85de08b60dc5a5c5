import itertools
import json

import numpy as np
import pytest
import torch

from rlhfbook import code_tasks, filtration, models, pf_ppo, sandbox
from rlhfbook.book import parallel
from rlhfbook.preferences import PreferencePairs
from rlhfbook.rollout import rollout_from_ids, sequence_logprob
from rlhfbook.toyworld import CodeTask, build_tokenizer, new_model
from rlhfbook.toyworld.code import OPS, ProgramError, run

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
    assert pf_ppo.stream(3, "ppo").integers(10**9) == pf_ppo.stream(3, "ppo").integers(10**9)
    draws = {(s, p): pf_ppo.stream(s, p).integers(10**9) for s in (0, 1) for p in pf_ppo.STREAMS}
    assert len(set(draws.values())) == len(draws)
    a = TASK.sample_prompts(200, pf_ppo.stream(0, "rm"))
    b = TASK.sample_prompts(200, pf_ppo.stream(0, "ppo"))
    assert a != b and len(set(a) & set(b)) < 5
    with pytest.raises(ValueError, match="unknown stream 'train'"):
        pf_ppo.stream(0, "train")


def test_no_eos_floor_lies_below_every_score():
    scores = np.array([-1.5, 0.2, 0.75, 3.0])
    assert pf_ppo.no_eos_floor(scores) == pytest.approx(-1.5 - scores.std())
    with pytest.raises(ValueError, match="two finite"):
        pf_ppo.no_eos_floor([1.0])


def test_passing_programs_are_every_program_that_passes():
    programs = code_tasks.passing_programs(TASK, DOUBLE)
    assert {"dbl", "inc dec dbl", "dbl neg neg"} <= set(programs)
    everything = [" ".join(ops) for n in range(1, TASK.max_ops + 1) for ops in itertools.product(OPS, repeat=n)]
    assert sorted(programs) == sorted(p for p in everything if TASK.gold_reward(DOUBLE, p) == 1.0)


def test_exact_pass_rate_is_the_probability_of_the_passing_programs(tiny):
    policy, tok = models.load_policy(tiny["policy"])
    prompts = [DOUBLE, "f(0)=0 f(3)=9 f(-2)=4 ->", "f(5)=6 f(1)=2 f(-4)=-3 ->"]
    exact = pf_ppo.exact_pass_rate(policy, tok, TASK, prompts, batch_size=2)
    for i, prompt in enumerate(prompts):  # loop reference: one full forward pass per program
        programs = code_tasks.passing_programs(TASK, prompt)
        ids = [tok(p, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for p in programs]
        with torch.no_grad():
            logp = sequence_logprob(policy, rollout_from_ids(tok, [prompt] * len(ids), ids))
        assert exact[i] == pytest.approx(logp.exp().sum().item(), rel=1e-4)


def test_shown_outputs_report_the_shown_examples_only():
    prompt = "f(7)=49 f(-5)=25 f(-3)=9 ->"
    assert code_tasks.with_execution(TASK, prompt, "sqr") == "sqr | 49 25 9 | == == =="
    assert code_tasks.with_execution(TASK, prompt, "dec sqr") == "dec sqr | 36 36 16 | != != !="
    assert code_tasks.shown_outputs(TASK, prompt, "import os") == "err err err | != != !="
    assert code_tasks.shown_pass_rate(TASK, prompt, "neg sqr") == 1.0
    assert code_tasks.shown_pass_rate(TASK, DOUBLE, "sqr") == pytest.approx(1 / 3)  # 1, 4, 9 for 2, 4, 6
    assert code_tasks.shown_pass_rate(TASK, "f(0)=0 f(2)=4 f(3)=6 ->", "sqr") == pytest.approx(2 / 3)
    pairs = code_tasks.execution_pairs(TASK, PreferencePairs([prompt], ["sqr"], ["inc"], np.array([0.6])))
    assert pairs.rows() == [
        {"prompt": prompt, "chosen": "sqr | 49 25 9 | == == ==", "rejected": "inc | 8 -4 -2 | != != !="}
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
    task = code_tasks.UnitTestTask(rows, limits=sandbox.Limits(cpu_s=1, wall_s=2.0, memory_mb=256))
    prompt = task.prompts[0]
    assert code_tasks.with_execution(task, prompt, "def add(a, b):\n    return a + b").endswith(
        "\n# shown test: passed"
    )
    assert (
        code_tasks.with_execution(task, prompt, "def add(a, b):\n    return 3")
        == "def add(a, b):\n    return 3\n# shown test: passed"
    )  # passes the shown test, fails a hidden one
    assert task.gold_reward(prompt, "def add(a, b):\n    return 3") == 0.5
    assert code_tasks.shown_pass_rate(task, prompt, "def add(a, b):\n    return a - b") == 0.0


def test_pass_rate_z_pairs_prompts_and_adds_the_seed_spread():
    base = np.array([0.0, 0.5, 1.0, 0.25])
    passed = np.array([[0.5, 0.5, 1.0, 0.25], [0.0, 1.0, 1.0, 0.75]])
    gain, se = pf_ppo.pass_rate_z(passed, base)
    d = passed - base
    assert gain == pytest.approx(d.mean())
    assert se == pytest.approx(np.sqrt(d.mean(0).var(ddof=1) / 4 + d.mean(1).var(ddof=1) / 2))
    with pytest.raises(ValueError, match="prompts"):
        pf_ppo.pass_rate_z(passed, base[:3])


def test_bootstrap_differences_are_paired_and_see_the_range_restriction_of_bon():
    rng = np.random.default_rng(0)
    scores = rng.random((400, 5))
    rewards = scores + rng.normal(scale=0.3, size=scores.shape)  # equal noise everywhere: BoN restricts the range
    strategies = ["none", "bon", "bw"]
    point, boot = filtration.bootstrap_r_squared(rewards, scores, strategies, rng, n_boot=30, n_groups=10)
    assert boot.shape == (30, 3, 2) and set(point) == set(strategies)
    rows = filtration.r_squared_differences(point, boot, strategies, [("none", "bon"), ("bw", "none")])
    first = rows[0]
    assert first["difference"] == "no filter - BoN" and first["R²"] == "sample"
    assert first["value"] == pytest.approx(point["none"]["sample"] - point["bon"]["sample"])
    assert first["se"] == pytest.approx(np.std(boot[:, 0, 0] - boot[:, 1, 0], ddof=1))
    assert first["value"] > 2 * first["se"]  # the range restriction of BoN, well beyond its standard error
    with pytest.raises(ValueError, match="n_boot"):
        filtration.bootstrap_r_squared(rewards, scores, strategies, rng, n_boot=1)


def test_train_reward_model_needs_a_full_pass(tiny):
    with pytest.raises(ValueError, match="full pass"):
        pf_ppo.train_reward_model({"epochs": 0.5, "pairs": [], "base": tiny["policy"]})


def _spec(tiny, method, seed=0):
    config = dict(iterations=2, prompts_per_iteration=2, max_new_tokens=8, critic_warmup=1, epochs=1)
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
    specs = [_spec(tiny, "PPO-M"), _spec(tiny, "PF-PPO (BW)"), _spec(tiny, "PPO-S", seed=1)]
    serial = parallel.map_runs(pf_ppo.run_method, specs, jobs=1)
    side_by_side = parallel.map_runs(pf_ppo.run_method, specs, jobs=2)

    def numbers(run):  # everything but the clocks, NaN-equal
        rows = [{k: v for k, v in row.items() if k not in ("seconds", "generate_s")} for row in run["log"]]
        return json.dumps({k: v for k, v in run.items() if k != "cpu_s"} | {"log": rows})

    assert [numbers(r) for r in serial] == [numbers(r) for r in side_by_side]
    m, bw, s = serial
    assert len(m["sampled"]) == len(m["greedy"]) == 4 and 0.0 <= m["truncated"] <= 1.0
    assert [row["samples"] for row in m["log"]] == [10, 10] and [row["samples"] for row in s["log"]] == [10, 10]
    assert bw["log"][-1]["backward_samples"] == 0.4 * m["log"][-1]["backward_samples"]
    assert bw["log"][-1]["critic_backward_samples"] == 0.4 * m["log"][-1]["critic_backward_samples"]
    with pytest.raises(ValueError, match="unknown method 'PPO-X'"):
        pf_ppo.run_method(_spec(tiny, "PPO-X"))


def test_z_value_is_defined_when_nothing_varies():
    from rlhfbook.pf_ppo import z_value

    assert z_value(0.2, 0.1) == pytest.approx(2.0)
    assert z_value(0.0, 0.0) == 0.0  # a policy that passes no test before or after
    assert z_value(0.1, 0.0) == float("inf") and z_value(-0.1, 0.0) == float("-inf")
