import datetime
import json
import math
import platform
import subprocess
from pathlib import Path

import numpy as np
import pytest

from rlhfbook.book import profiles
from rlhfbook.report import results
from rlhfbook.report.results import ReproductionFailure, Results, load


def make(profile="cpu"):
    return Results(
        profiles.resolve("00_toy_world", profile),
        seed=3,
        parameters={"profile": profile},
    )


SIX = {0: 0.5, 1: 0.6, 2: 0.7, 3: 0.5, 4: 0.6, 5: 0.7}  # mean 0.6, sd 0.0894, SE 0.0365


def finding(r, name="f", per_seed=None, **kw):
    per_seed = SIX if per_seed is None else per_seed
    return r.check(name, kind="finding", claim="c", paper="p", per_seed=per_seed, **kw)


def test_finish_writes_metrics_checks_and_provenance(isolated, monkeypatch):
    import torch

    clock = [
        1000.0
    ]  # perf_counter, stopped: the wall time is what the clock moved in between
    monkeypatch.setattr(results.time, "perf_counter", lambda: clock[0])
    r = make()
    r.metric("accuracy", np.float32(0.5))
    r.metric("curve", np.array([1.0, math.nan]))
    finding(r, "holds", threshold=0.4)
    clock[0] += 12.25
    path = r.finish()
    data = load("00_toy_world", "cpu-seed3")
    assert (
        path == isolated / "results" / "cpu-seed3" / "00_toy_world.json"
    )  # not the shipped block's folder
    assert data["metrics"] == {"accuracy": 0.5, "curve": [1.0, None]}
    assert (
        data["checks"][0]["status"] == "reproduced"
        and data["profile"] == "cpu"
        and data["seed"] == 3
    )
    settings = json.loads(json.dumps(dict(profiles.resolve("00_toy_world", "cpu"))))
    assert data["parameters"] == {"profile": "cpu"} and data["settings"] == settings
    assert data["wall_time_s"] == 12.25
    assert data["environment"]["packages"]["torch"] == torch.__version__
    assert data["environment"]["python"] == platform.python_version()
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        cwd=Path(results.__file__).parent,
    )
    assert data["git_commit"] == (head.stdout.strip() or None)
    finished = datetime.datetime.strptime(
        data["finished_at"], "%Y-%m-%dT%H:%M:%SZ"
    ).replace(tzinfo=datetime.UTC)
    assert abs((datetime.datetime.now(datetime.UTC) - finished).total_seconds()) < 60
    json.dumps(data)  # plain JSON all the way down


def test_each_profile_and_seed_block_keeps_its_own_results(isolated):
    for profile, seed in (("smoke", 0), ("cpu", 0), ("cpu", 1000)):
        r = Results(profiles.resolve("00_toy_world", profile), seed=seed)
        finding(r, threshold=0.4)
        r.finish()
    assert load("00_toy_world", "smoke")["profile"] == "smoke"
    assert (
        load("00_toy_world", "cpu")["seed"] == 0
        and load("00_toy_world", "cpu-seed1000")["seed"] == 1000
    )
    assert (
        results.block("cpu") == "cpu" and results.block("cpu", 1000) == "cpu-seed1000"
    )


def test_a_finding_records_mean_sd_se_and_the_verdict_of_the_rule():
    r = make()
    up = finding(r, "up", threshold=0.5, direction=">=")
    se = np.std(list(SIX.values()), ddof=1) / np.sqrt(6)
    assert (
        up.value == pytest.approx(0.6)
        and up.se == pytest.approx(se)
        and up.n == 6
        and up.unit == "seed"
    )
    assert (
        up.margin == pytest.approx(0.1)
        and up.status == "reproduced"
        and up.explanation == ""
    )
    assert up.seeds == ["0", "1", "2", "3", "4", "5"] and up.per_seed["2"] == 0.7
    down = finding(r, "down", threshold=0.5, direction="<=")
    assert down.margin == pytest.approx(-0.1) and down.status == "contradicted"
    assert (
        "lies entirely on the other side of the paper's threshold 0.5"
        in down.explanation
    )
    close = finding(r, "close", threshold=0.58)
    assert close.status == "inconclusive" and close.seeds_needed == math.ceil(
        6 * (2 * se / 0.02) ** 2
    )
    assert f"about {close.seeds_needed} seeds would settle it" in close.explanation


def test_a_finding_on_fewer_than_six_seeds_is_inconclusive():
    r = make()
    three = finding(r, "three", per_seed={0: 0.9, 1: 0.8, 2: 0.85}, threshold=0.5)
    assert three.status == "inconclusive" and three.explanation.startswith(
        "Evaluated on 3 seeds"
    )
    control = r.check(
        "ctl", kind="control", claim="c", paper="p", per_seed={0: 1.0}, threshold=0.5
    )
    assert (
        control.status == "inconclusive"
        and "Evaluated on 1 seed;" in control.explanation
    )
    sanity = r.check("s", kind="sanity", claim="c", paper="p", value=True)
    assert sanity.status == "pass" and sanity.margin is None


def test_a_bootstrap_is_judged_by_its_own_units():
    r = make()
    unit = finding(
        r,
        "unit",
        per_seed={},
        threshold=0.5,
        bootstrap=results.Bootstrap(0.9, 0.01, 400, "prompts"),
    )
    assert (
        unit.status == "reproduced"
        and unit.se == 0.01
        and unit.n == 400
        and unit.unit == "prompts"
    )
    wide = finding(
        r,
        "wide",
        per_seed={},
        threshold=0.5,
        bootstrap=results.Bootstrap(0.55, 0.05, 400, "prompts"),
    )
    assert wide.status == "inconclusive" and "over 400 prompts" in wide.explanation


def test_context_is_kept_whatever_the_verdict_and_only_sanity_checks_take_passed():
    r = make()
    c = finding(r, threshold=0.5, context="the gold fell by 0.3")
    assert c.status == "reproduced" and c.context == "the gold fell by 0.3"
    with pytest.raises(ValueError, match="decided by the verdict rule"):
        finding(r, "p", threshold=0.5, passed=True)
    assert (
        r.check(
            "s", kind="sanity", claim="c", paper="p", value=0.0, passed=False
        ).status
        == "fail"
    )
    seeds = r.check(
        "m",
        kind="sanity",
        claim="c",
        paper="p",
        per_seed={0: 1.0, 1: 0.5},
        threshold=0.7,
    )
    assert seeds.value == 0.75 and seeds.status == "pass"


def test_an_untestable_claim_is_not_evaluable():
    c = finding(
        make(), threshold=0.5, not_evaluable="the real model's gold has no terms"
    )
    assert (
        c.status == "not evaluable"
        and c.explanation == "the real model's gold has no terms"
    )


def test_a_failed_sanity_check_raises_after_writing_and_a_contradicted_finding_does_not(
    isolated,
):
    r = make()
    finding(r, "opposite", threshold=0.9)
    r.finish()
    assert load("00_toy_world", "cpu-seed3")["checks"][0]["status"] == "contradicted"
    r.check("breaks", kind="sanity", claim="c", paper="p", value=0.5, threshold=1.0)
    with pytest.raises(ReproductionFailure, match="sanity check.*breaks"):
        r.finish()
    assert load("00_toy_world", "cpu-seed3")["checks"][1]["status"] == "fail"


def test_smoke_profile_does_not_evaluate_checks():
    assert finding(make("smoke"), threshold=0.9).status == "not evaluated"


def test_bad_use_is_a_clear_error():
    r = make()
    with pytest.raises(ValueError, match="at least one reproduction check"):
        r.finish()
    with pytest.raises(
        ValueError, match="unknown kind 'claim'; valid kinds: finding, control, sanity"
    ):
        r.check("k", kind="claim", claim="c", paper="p", value=1)
    with pytest.raises(ValueError, match="direction must be"):
        r.check(
            "d",
            kind="sanity",
            claim="c",
            paper="p",
            value=1,
            threshold=0,
            direction=">",
        )
    with pytest.raises(ValueError, match="origin must be one of paper, extension"):
        finding(r, "o", threshold=0.1, origin="book")
    with pytest.raises(ValueError, match="needs per_seed values or a bootstrap"):
        finding(r, "none", per_seed={}, threshold=0.1)
    nan = finding(r, "nan", per_seed={0: float("nan"), 1: None}, threshold=0.1)
    assert (
        nan.status == "not evaluable"
        and nan.explanation == "no seed of 2 gave a finite decisive number"
    )
    with pytest.raises(ValueError, match="needs the paper's threshold"):
        finding(r, "t")
    with pytest.raises(
        ValueError,
        match="'ours' must map names to numbers or text; curve holds a container",
    ):
        r.check(
            "o", kind="sanity", claim="c", paper="p", value=1, ours={"curve": [1, 2]}
        )
    finding(r, "a", threshold=0.1)
    with pytest.raises(ValueError, match="recorded twice"):
        finding(r, "a", threshold=0.1)


def test_table_renders_every_check_without_truncation():
    r = make()
    long_claim = "a claim " * 40
    r.check("a", kind="sanity", claim=long_claim, paper="p", value=True)
    finding(r, "b", threshold=0.5)
    html = r.table().data
    assert long_claim.strip() in html and "…" not in html
    assert html.index(">reproduced<") < html.index(
        ">pass<"
    )  # findings before sanity checks
    assert "0.6 ± 0.073 over 6 seeds (needs ≥ 0.5)" in html
