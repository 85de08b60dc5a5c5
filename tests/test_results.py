import json
import math

import numpy as np
import pytest

from rlhfbook import profiles
from rlhfbook.results import ReproductionFailure, Results, load


def make(profile="cpu"):
    return Results(profiles.resolve("00_toy_world", profile), seed=3, parameters={"profile": profile})


def test_finish_writes_metrics_checks_and_provenance(isolated):
    r = make()
    r.metric("accuracy", np.float32(0.5))
    r.metric("curve", np.array([1.0, math.nan]))
    r.check("holds", claim="c", paper="0.9", ours=0.95, threshold=">= 0.9", passed=True)
    path = r.finish()
    data = load("00_toy_world")
    assert path.exists() and data["metrics"] == {"accuracy": 0.5, "curve": [1.0, None]}
    assert data["checks"][0]["status"] == "pass" and data["profile"] == "cpu" and data["seed"] == 3
    assert data["environment"]["packages"]["torch"] and data["wall_time_s"] >= 0
    assert "git_commit" in data
    json.dumps(data)  # plain JSON all the way down


def test_failed_check_raises_after_writing(isolated):
    r = make()
    r.check("breaks", claim="c", paper="p", ours=0.1, threshold=">= 0.9", passed=False)
    with pytest.raises(ReproductionFailure, match="breaks"):
        r.finish()
    assert load("00_toy_world")["checks"][0]["status"] == "fail"


def test_not_reproduced_is_recorded_with_its_explanation_and_does_not_raise(isolated):
    r = make()
    r.check("too small", claim="c", paper="p", ours=0.1, threshold=">= 0.9", passed=False,
            not_reproduced="needs a 7B model")
    r.finish()
    check = load("00_toy_world")["checks"][0]
    assert check["status"] == "not reproduced" and check["explanation"] == "needs a 7B model"


def test_not_reproduced_turns_into_pass_when_the_finding_holds(isolated):
    r = make()
    c = r.check("holds now", claim="c", paper="p", ours=1, threshold=">= 0.9", passed=True, not_reproduced="x")
    assert c.status == "pass" and c.explanation == ""


def test_smoke_profile_does_not_evaluate_checks(isolated):
    r = make("smoke")
    c = r.check("tiny", claim="c", paper="p", ours=0.1, threshold=">= 0.9", passed=False)
    assert c.status == "not evaluated"
    r.finish()  # does not raise


def test_bad_use_is_a_clear_error(isolated):
    r = make()
    with pytest.raises(ValueError, match="at least one reproduction check"):
        r.finish()
    r.check("a", claim="c", paper="p", ours=1, threshold="t", passed=True)
    with pytest.raises(ValueError, match="recorded twice"):
        r.check("a", claim="c", paper="p", ours=1, threshold="t", passed=True)


def test_table_lists_checks(isolated):
    r = make()
    r.check("a", claim="c", paper="p", ours=1, threshold="t", passed=True)
    assert list(r.table().index) == ["a"] and r.table().loc["a", "status"] == "pass"
