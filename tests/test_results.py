import datetime
import json
import math
import platform
import subprocess
from pathlib import Path

import numpy as np
import pytest

from rlhfbook.book import profiles, results
from rlhfbook.book.results import ReproductionFailure, Results, load


def make(profile="cpu"):
    return Results(profiles.resolve("00_toy_world", profile), seed=3, parameters={"profile": profile})


def finding(r, name="f", per_seed=None, **kw):
    per_seed = {0: 0.5, 1: 0.6, 2: 0.7} if per_seed is None else per_seed
    return r.check(name, kind="finding", claim="c", paper="p", per_seed=per_seed, **kw)


def test_finish_writes_metrics_checks_and_provenance(isolated, monkeypatch):
    import torch

    clock = [1000.0]  # perf_counter, stopped: the wall time is what the clock moved in between
    monkeypatch.setattr(results.time, "perf_counter", lambda: clock[0])
    r = make()
    r.metric("accuracy", np.float32(0.5))
    r.metric("curve", np.array([1.0, math.nan]))
    finding(r, "holds", threshold=0.4)
    clock[0] += 12.25
    path = r.finish()
    data = load("00_toy_world", "cpu")
    assert path == isolated / "results" / "cpu" / "00_toy_world.json"
    assert data["metrics"] == {"accuracy": 0.5, "curve": [1.0, None]}
    assert data["checks"][0]["status"] == "pass" and data["profile"] == "cpu" and data["seed"] == 3
    settings = json.loads(json.dumps(dict(profiles.resolve("00_toy_world", "cpu"))))
    assert data["parameters"] == {"profile": "cpu"} and data["settings"] == settings
    assert data["wall_time_s"] == 12.25
    assert data["environment"]["packages"]["torch"] == torch.__version__
    assert data["environment"]["python"] == platform.python_version()
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(results.__file__).parent
    )
    assert data["git_commit"] == (head.stdout.strip() or None)
    finished = datetime.datetime.strptime(data["finished_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    assert abs((datetime.datetime.now(datetime.UTC) - finished).total_seconds()) < 60
    json.dumps(data)  # plain JSON all the way down


def test_each_profile_keeps_its_own_results(isolated):
    for profile in ("smoke", "cpu"):
        r = make(profile)
        finding(r, threshold=0.4)
        r.finish()
    assert load("00_toy_world", "smoke")["profile"] == "smoke"
    assert load("00_toy_world", "cpu")["profile"] == "cpu"


def test_value_margin_and_spread_over_seeds():
    r = make()
    up = finding(r, "up", threshold=0.5, direction=">=")
    down = finding(r, "down", threshold=0.5, direction="<=")
    assert up.value == pytest.approx(0.6) and up.spread == pytest.approx(0.1)
    assert up.margin == pytest.approx(0.1) and up.status == "pass"
    assert down.margin == pytest.approx(-0.1) and down.status == "fail"
    assert up.seeds == ["0", "1", "2"] and up.per_seed == {"0": 0.5, "1": 0.6, "2": 0.7}


def test_the_rule_decides_when_given():
    r = make()
    c = finding(r, threshold=0.5, passed=False, rule="every seed clears the threshold")
    assert c.margin > 0 and c.status == "fail" and c.rule.startswith("every seed")


def test_a_finding_on_fewer_than_three_seeds_cannot_pass():
    r = make()
    two = finding(r, "two", per_seed={0: 0.9, 1: 0.8}, threshold=0.5)
    assert two.status == "not reproduced" and two.explanation.startswith("evaluated on 2 seeds")
    control = r.check("ctl", kind="control", claim="c", paper="p", per_seed={0: 1.0}, threshold=0.5)
    assert control.status == "not reproduced" and "evaluated on 1 seed;" in control.explanation
    unit = finding(
        r,
        "unit",
        per_seed={0: 0.9},
        threshold=0.5,
        spread=0.01,
        single_seed="one run over 4,000 pairs; spread is a bootstrap standard error",
    )
    assert unit.status == "pass" and unit.spread == 0.01
    sanity = r.check("s", kind="sanity", claim="c", paper="p", value=True)
    assert sanity.status == "pass" and sanity.margin is None


def test_not_reproduced_is_recorded_with_its_explanation_and_does_not_raise(isolated):
    r = make()
    finding(r, "too small", threshold=0.9, not_reproduced="needs a 7B model")
    r.finish()
    check = load("00_toy_world", "cpu")["checks"][0]
    assert check["status"] == "not reproduced" and check["explanation"] == "needs a 7B model"


def test_not_reproduced_turns_into_pass_when_the_finding_holds():
    c = finding(make(), threshold=0.5, not_reproduced="x")
    assert c.status == "pass" and c.explanation == ""


def test_a_failed_precondition_makes_the_check_not_evaluated():
    c = finding(make(), threshold=0.5, not_evaluable="PPO did not beat SFT")
    assert c.status == "not evaluated" and c.explanation == "PPO did not beat SFT"


def test_failed_check_raises_after_writing(isolated):
    r = make()
    finding(r, "breaks", threshold=0.9)
    with pytest.raises(ReproductionFailure, match="breaks"):
        r.finish()
    assert load("00_toy_world", "cpu")["checks"][0]["status"] == "fail"


def test_smoke_profile_does_not_evaluate_checks():
    assert finding(make("smoke"), threshold=0.9).status == "not evaluated"


def test_bad_use_is_a_clear_error():
    r = make()
    with pytest.raises(ValueError, match="at least one reproduction check"):
        r.finish()
    with pytest.raises(ValueError, match="unknown kind 'claim'; valid kinds: finding, control, sanity"):
        r.check("k", kind="claim", claim="c", paper="p", value=1)
    with pytest.raises(ValueError, match="direction must be"):
        r.check("d", kind="sanity", claim="c", paper="p", value=1, threshold=0, direction=">")
    with pytest.raises(ValueError, match="'ours' must map names to numbers or text; curve holds a container"):
        r.check("o", kind="sanity", claim="c", paper="p", value=1, ours={"curve": [1, 2]})
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
    assert html.index(">b<") < html.index(">a<")  # findings before sanity checks
    assert "+0.1 ± 0.1 over 3 seeds" in html and "0.6 (needs ≥ 0.5)" in html
