"""python -m rlhfbook.book.gpu_check on this CPU: the checks that need no GPU run, the device check fails."""

import contextlib

from rlhfbook.book import gpu_check
from rlhfbook.lm import rollout


def test_on_a_cpu_the_device_check_fails_the_speed_check_skips_and_the_rest_pass(
    capsys, monkeypatch
):
    from rlhfbook.core import runtime

    monkeypatch.setattr(runtime, "quiet", lambda: None)  # global logging state
    assert gpu_check.main() == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(gpu_check.CHECKS) + 1
    status = {name: line.split()[0] for line, (name, _) in zip(lines, gpu_check.CHECKS)}
    assert status == {
        "device": "FAIL",
        "generation config": "ok",
        "memory plan": "ok",
        "evaluation batches": "ok",
        "generation speed": "skipped",
    }
    assert "sees no CUDA device" in lines[0] and "repetition_penalty=1.1" in lines[1]
    assert "chapter 1 10.2 GB, chapter 3 9.8 GB planned, of 15.8 GB" in lines[2]
    assert lines[-1] == "3 ok, 1 failed, 1 skipped"


def test_the_generation_check_fails_where_the_hub_config_reaches_the_samples(
    monkeypatch,
):
    monkeypatch.setattr(
        rollout, "own_distribution", lambda model: contextlib.nullcontext()
    )  # the old rollout
    outcome = gpu_check.run("generation config", gpu_check.check_generation_config)
    assert outcome.status == "FAIL" and "differ from the policy's" in outcome.detail


def test_a_check_that_cannot_run_here_is_skipped_with_its_reason():
    def needs_more():
        raise gpu_check.Skipped("needs two GPUs")

    assert (
        gpu_check.run("x", needs_more).line().startswith("skipped  x: needs two GPUs (")
    )
    failed = gpu_check.run(
        "y", lambda: 1 / 0
    )  # an error is a FAIL line, not an exception
    assert (
        failed.status == "FAIL"
        and failed.detail == "ZeroDivisionError: division by zero"
    )
