"""The verdict rule (mean ± 2 SE against the paper's threshold) and the pinned expectations."""

import math

import numpy as np
import pytest
import yaml

from conftest import ROOT
from rlhfbook.report import verdicts as v


def test_interval_against_numpy():
    xs = [0.3, 0.1, 0.5, 0.2, 0.4, 0.6, 0.35]
    iv = v.interval(xs)
    assert iv.mean == pytest.approx(np.mean(xs)) and iv.sd == pytest.approx(
        np.std(xs, ddof=1)
    )
    assert iv.se == pytest.approx(np.std(xs, ddof=1) / math.sqrt(7)) and iv.n == 7
    assert (iv.low, iv.high) == pytest.approx(
        (iv.mean - 2 * iv.se, iv.mean + 2 * iv.se)
    )
    with pytest.raises(ValueError, match="at least one per-seed value"):
        v.interval([])


def test_an_interval_exactly_at_the_threshold_is_on_the_papers_side():
    iv = v.Interval(
        mean=0.75, sd=0.25 * math.sqrt(6), se=0.125, n=6
    )  # mean ± 2 SE = [0.5, 1.0], exact in binary
    assert v.decide(iv, 0.5, ">=") == "reproduced"
    assert v.decide(iv, 1.0, "<=") == "reproduced"
    # the other end: mean + 2 SE exactly at the threshold is not "entirely on the other side"
    assert (
        v.decide(iv, 1.0, ">=") == "inconclusive"
        and v.decide(iv, 0.5, "<=") == "inconclusive"
    )


def test_zero_spread_decides_by_the_mean_alone():
    iv = v.interval([0.6] * 6)
    assert iv.sd == 0 and iv.se == 0
    assert (
        v.decide(iv, 0.6, ">=") == "reproduced"
        and v.decide(iv, 0.61, ">=") == "contradicted"
    )
    assert (
        v.decide(iv, 0.6, "<=") == "reproduced"
        and v.decide(iv, 0.59, "<=") == "contradicted"
    )
    assert (
        v.seeds_needed(iv, 0.6) is None
    )  # the mean on the threshold: no number of seeds settles it


def test_fewer_than_six_seeds_is_inconclusive_whatever_the_interval():
    five = v.interval([1.0, 1.1, 0.9, 1.0, 1.05])
    assert (
        v.decide(five, 0.0, ">=") == "inconclusive"
        and v.decide(five, 5.0, ">=") == "inconclusive"
    )
    assert "Evaluated on 5 seeds; a finding or control needs at least 6" in v.explain(
        "inconclusive", five, 0.0, ">="
    )
    assert (
        v.seeds_needed(five, 0.0) == v.MIN_SEEDS
    )  # at least the minimum, even where the interval already excludes
    six = v.interval([1.0, 1.1, 0.9, 1.0, 1.05, 0.95])
    assert (
        v.decide(six, 0.0, ">=") == "reproduced"
        and v.decide(six, 5.0, ">=") == "contradicted"
    )


def test_a_less_or_equal_claim():
    iv = v.interval([0.05, 0.08, 0.07, 0.06, 0.09, 0.07])
    assert (
        v.decide(iv, 0.10, "<=") == "reproduced"
        and v.decide(iv, 0.03, "<=") == "contradicted"
    )
    assert v.decide(iv, 0.075, "<=") == "inconclusive"
    with pytest.raises(ValueError, match="direction must be"):
        v.decide(iv, 0.1, "<")


def test_paired_differences_cancel_what_the_seeds_share():
    # two methods on the same six seeds: a seed's difficulty moves both; their difference is steady
    difficulty = np.array([0.1, 0.5, 0.3, 0.8, 0.2, 0.6])
    a, b = (
        difficulty + 0.05,
        difficulty + np.array([0.0, 0.01, -0.01, 0.0, 0.01, -0.01]),
    )
    unpaired = v.Interval(
        float(np.mean(a - b)),
        0.0,
        math.hypot(np.std(a, ddof=1), np.std(b, ddof=1)) / math.sqrt(6),
        6,
    )
    assert v.decide(unpaired, 0.0, ">=") == "inconclusive"
    assert v.decide(v.interval(a - b), 0.0, ">=") == "reproduced"


def test_seeds_needed_is_n_times_the_squared_ratio_of_two_se_to_the_gap():
    iv = v.Interval(
        mean=0.55, sd=0.2, se=0.2 / math.sqrt(8), n=8
    )  # 2 SE = 0.141 > gap 0.05
    assert v.decide(iv, 0.5, ">=") == "inconclusive"
    expected = math.ceil(8 * (2 * iv.se / 0.05) ** 2)  # = (2 sd / gap)^2 = 64
    assert v.seeds_needed(iv, 0.5) == expected == 64
    # at that many seeds, with the same mean and sd, mean - 2 SE reaches the threshold
    assert 0.55 - 2 * 0.2 / math.sqrt(expected) == pytest.approx(0.5)
    assert "at this spread about 64 seeds would settle it" in v.explain(
        "inconclusive", iv, 0.5, ">="
    )


def test_a_bootstrap_has_no_seed_minimum():
    iv = v.Bootstrap(estimate=0.3, se=0.05, n=400, unit="prompts").interval()
    assert v.decide(iv, 0.1, ">=") == "reproduced" and not iv.per_seed
    assert (
        v.summary(iv, 0.1)
        == "0.3 ± 0.1 over a bootstrap over 400 prompts (needs ≥ 0.1)"
    )


def _record(status, value=0.5, se=0.09, threshold=0.6, name="ppo_max_beats_sft"):
    check = dict(
        name=name,
        kind="finding",
        status=status,
        value=value,
        se=se,
        threshold=threshold,
    )
    return {"checks": [check]}


def test_a_changed_expectation_fails_in_one_line():
    pinned = {"01_ppo_max": {"ppo_max_beats_sft": "reproduced"}}
    assert v.differences(pinned, {"01_ppo_max": _record("reproduced")}) == []
    lines = v.differences(pinned, {"01_ppo_max": _record("inconclusive")})
    assert lines == [
        "01 ppo_max_beats_sft: expected reproduced, got inconclusive (0.5 ± 0.18 vs 0.6)"
    ]
    assert v.differences({}, {"01_ppo_max": _record("reproduced")}) == [
        "01 ppo_max_beats_sft: not pinned in book/verdicts.yml (got reproduced)"
    ]
    gone = {"01_ppo_max": {"ppo_max_beats_sft": "reproduced", "old": "inconclusive"}}
    assert v.differences(gone, {"01_ppo_max": _record("reproduced")}) == [
        "01 old: pinned as inconclusive but not recorded"
    ]
    assert v.differences(pinned, {}) == []  # a chapter that did not run is not compared


def test_the_pinned_file_names_only_known_verdicts(tmp_path):
    pinned = v.load_pinned(ROOT / v.PINNED_FILE)
    assert pinned and all(isinstance(c, dict) for c in pinned.values())
    bad = tmp_path / "verdicts.yml"
    bad.write_text(yaml.safe_dump({"01_ppo_max": {"x": "pass-ish"}}))
    with pytest.raises(ValueError, match="unknown verdict"):
        v.load_pinned(bad)


def test_robustness_rows_compare_two_blocks():
    a = [
        dict(
            name="f",
            kind="finding",
            status="reproduced",
            value=1.0,
            se=0.1,
            threshold=0.5,
        ),
        dict(
            name="g",
            kind="control",
            status="reproduced",
            value=1.0,
            se=0.1,
            threshold=0.5,
        ),
        dict(
            name="s", kind="sanity", status="pass", value=1.0, se=None, threshold=None
        ),
    ]
    b = [dict(a[0]), dict(a[1], status="inconclusive", value=0.6, se=0.2)]
    rows = v.robustness_rows(a, b)
    assert [r[0] for r in rows] == ["f", "g"]  # sanity checks left out
    assert rows[0][-1] == "agree" and rows[1][-1] == "DIFFER"
    assert rows[1][3] == "inconclusive (0.6 ± 0.4 vs 0.5)"
