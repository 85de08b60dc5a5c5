"""Process metrics of AdvGameBench against hand-computed values and a reference of its code."""

import numpy as np
import pandas as pd
import pytest

from rlhfbook.games.metrics import (
    METRICS, composite, csr_paper, kept_rounds, match_metrics, ols_slope, process_metrics, rank_stability,
)


def test_hand_computed_example():
    m = process_metrics([0, 0, 1, 0, 1], [18, 18, 20, 19, 19], budget=18)
    assert m == {"WR": 0.4, "OBR": 0.6, "ORR": 0.5, "CSR": 0.5, "slope": pytest.approx(0.2, abs=1e-15)}


def test_paper_csr_variant_by_hand():
    # corrections at k=2 (loss -> win: success) and k=3 (still over budget, win -> loss: failure)
    assert csr_paper([0, 0, 1, 0, 1], [18, 18, 20, 19, 19], 18) == 0.5
    # k=1 removes the over-budget violation, k=3 turns a loss into a win: both succeed
    assert csr_paper([0, 0, 0, 1], [20, 18, 18, 17], 18) == 1.0
    # a reported rule violation counts like an over-budget build
    assert csr_paper([0, 0], [10, 12], 18, violations=[2, 0]) == 1.0
    assert csr_paper([0, 0], [10, 12], 18, violations=[0, 0]) == 0.0


@pytest.mark.parametrize("wins,costs", [([], []), ([1], [25]), ([0, 1, 1], [5, 5, 5]), ([0, 0], [3, 4])])
def test_edge_cases_are_defined(wins, costs):
    m = process_metrics(wins, costs, budget=20)
    assert set(m) == set(METRICS) and all(np.isfinite(v) for v in m.values())
    if len(wins) <= 1:
        assert m["ORR"] == 0 and m["slope"] == 0 and m["CSR"] == 0
    if len(set(costs)) <= 1:  # no revision at all
        assert m["ORR"] == 0 and m["CSR"] == 0
    assert np.isfinite(csr_paper(wins, costs, 20))


def test_empty_sequence_gives_the_benchmark_zeros():
    assert process_metrics([], [], 20) == dict.fromkeys(METRICS, 0.0)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="equal length"):
        process_metrics([1, 0], [1], 20)
    with pytest.raises(ValueError, match="0 or 1"):
        process_metrics([2], [1], 20)
    with pytest.raises(ValueError, match="unknown tag"):
        kept_rounds(pd.DataFrame({"round": [1]}), "third")
    with pytest.raises(ValueError, match="unknown metric"):
        composite(pd.DataFrame({m: [0.5] for m in METRICS}), leave_out="ELO")


def test_ols_slope_matches_polyfit():
    rng = np.random.default_rng(0)
    for n in range(2, 12):
        y = rng.integers(0, 2, n)
        assert ols_slope(y) == pytest.approx(np.polyfit(np.arange(n), y, 1)[0], abs=1e-12)


def _reference(df, side, tag, budget):
    """A loop transcription of the benchmark's ``compute_metrics`` (row by row, as its code does)."""
    df = df[df["round"] != 1].reset_index(drop=True)
    df = df[df["round"] % 2 == (0 if tag == "first" else 1)].reset_index(drop=True)
    n = len(df)
    if n == 0:
        return dict.fromkeys(METRICS, 0.0)
    win = [int(df.loc[i, "winner"] == side) for i in range(n)]
    cost = [df.loc[i, f"{side}_cost"] for i in range(n)]
    corr = sum(cost[i + 1] != cost[i] for i in range(n - 1))
    success = sum(win[i + 1] for i in range(n - 1) if cost[i + 1] != cost[i])
    if n > 1:
        x = np.arange(n)
        slope = ((x - x.mean()) * (np.array(win) - np.mean(win))).sum() / ((x - x.mean()) ** 2).sum()
    else:
        slope = 0.0
    return {"WR": np.mean(win), "OBR": np.mean([c > budget for c in cost]),
            "ORR": corr / (n - 1) if n > 1 else 0.0, "CSR": success / corr if corr else 0.0, "slope": slope}


def test_match_metrics_reproduce_the_benchmark_code_on_random_logs():
    rng = np.random.default_rng(1)
    for _ in range(20):
        n = int(rng.integers(1, 23))
        log = pd.DataFrame({
            "round": np.concatenate([np.arange(1, 12)] * 2)[:n],  # two appended matches, as in a CSV
            "defender_cost": rng.integers(17, 22, n), "invader_cost": rng.integers(17, 22, n),
            "winner": rng.choice(["defender", "invader", "none"], n),
            "defender_violations": 0, "invader_violations": 0,
        })
        for side in ("defender", "invader"):
            for tag in ("first", "second"):
                ours, ref = match_metrics(log, side, tag, 20), _reference(log, side, tag, 20)
                for key in METRICS:
                    assert ours[key] == pytest.approx(ref[key], abs=1e-12)


def test_ties_count_as_losses():
    log = pd.DataFrame({"round": [1, 2, 3, 4], "winner": ["none"] * 4, "defender_cost": [20] * 4,
                        "invader_cost": [20] * 4, "defender_violations": 0, "invader_violations": 0})
    assert match_metrics(log, "defender", "first", 20)["WR"] == 0.0


def test_kept_rounds_parity():
    log = pd.DataFrame({"round": range(1, 12)})
    assert kept_rounds(log, "first")["round"].tolist() == [2, 4, 6, 8, 10]
    assert kept_rounds(log, "second")["round"].tolist() == [3, 5, 7, 9, 11]


def test_composite_and_rank_stability():
    table = pd.DataFrame({"WR": [1.0, 0.0], "CSR": [1.0, 0.0], "OBR": [0.0, 1.0], "ORR": [0.0, 1.0],
                          "slope": [0.2, -0.2]}, index=["good", "bad"])
    assert composite(table).tolist() == [1.0, 0.0]
    assert composite(table, leave_out="WR").tolist() == [1.0, 0.0]
    stab = rank_stability(table)
    assert list(stab.index) == list(METRICS)
    assert np.allclose(stab["spearman_rho"], 1.0) and (stab["top_player"] == "good").all()


def test_revision_trace_marks_kept_rounds_and_corrections():
    from rlhfbook.games.metrics import revision_trace

    log = pd.DataFrame({"round": range(1, 8), "reviser": ["defender", "invader"] * 3 + [""],
                        "defender_cost": [20, 20, 20, 18, 18, 18, 19], "invader_cost": 20,
                        "winner": ["invader", "defender", "invader", "invader", "defender", "defender", "invader"],
                        "defender_build": "{}"})
    trace = revision_trace(log, "defender", "first")
    assert trace.index[trace["kept"]].tolist() == [2, 4, 6]
    assert trace.index[trace["correction"]].tolist() == [4]  # 20 -> 18 between kept rounds 2 and 4
