"""Process metrics of AdvGameBench against hand-computed values and the ported evaluator."""

import numpy as np
import pandas as pd
import pytest

from rlhfbook.methods.games import benchmark
from rlhfbook.methods.games.metrics import (
    METRICS,
    composite,
    csr_paper,
    csv_metrics,
    kept_rounds,
    kept_table,
    match_metrics,
    mean_se,
    ols_slope,
    partial_correlation,
    process_metrics,
    rank_stability,
)


def test_hand_computed_example():
    m = process_metrics([0, 0, 1, 0, 1], [18, 18, 20, 19, 19], budget=18)
    assert m == {
        "WR": 0.4,
        "OBR": 0.6,
        "ORR": 0.5,
        "CSR": 0.5,
        "slope": pytest.approx(0.2, abs=1e-15),
    }


def test_paper_csr_variant_by_hand():
    # corrections at k=2 (loss -> win: success) and k=3 (still over budget, win -> loss: failure)
    assert csr_paper([0, 0, 1, 0, 1], [18, 18, 20, 19, 19], 18) == 0.5
    # k=1 removes the over-budget violation, k=3 turns a loss into a win: both succeed
    assert csr_paper([0, 0, 0, 1], [20, 18, 18, 17], 18) == 1.0
    # a reported rule violation counts like an over-budget build
    assert csr_paper([0, 0], [10, 12], 18, violations=[2, 0]) == 1.0
    assert csr_paper([0, 0], [10, 12], 18, violations=[0, 0]) == 0.0


@pytest.mark.parametrize(
    "wins,costs", [([], []), ([1], [25]), ([0, 1, 1], [5, 5, 5]), ([0, 0], [3, 4])]
)
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
        assert ols_slope(y) == pytest.approx(
            np.polyfit(np.arange(n), y, 1)[0], abs=1e-12
        )


def test_the_ported_evaluator_gives_the_hand_values():
    log = pd.DataFrame(
        {
            "round": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            "winner": ["invader"] * 10,
            "defender_cost": [0] * 10,
            "invader_cost": 0,
            "defender_player": "m",
            "invader_player": "o",
        }
    )
    kept = [2, 4, 6, 8, 10]  # tag "first": even rounds after round 1
    for r, cost, win in zip(kept, [18, 18, 20, 19, 19], [0, 0, 1, 0, 1]):
        log.loc[log["round"] == r, ["defender_cost", "winner"]] = [
            cost,
            "defender" if win else "invader",
        ]
    got = benchmark.compute_metrics(
        benchmark.to_benchmark_csv(log), "m", "defender", "first", 18
    )
    assert got == {
        "win_rate": 0.4,
        "correction_rate": 0.5,
        "correction_success_rate": 0.5,
        "improvement_slope": pytest.approx(0.2, abs=1e-15),
        "over_budget_ratio": 0.6,
    }
    # a win counts only for the model named in the role's column
    assert (
        benchmark.compute_metrics(
            benchmark.to_benchmark_csv(log), "x", "defender", "first", 18
        )["win_rate"]
        == 0
    )


def test_metrics_reproduce_the_ported_evaluator_on_random_logs():
    assert benchmark.parity(40, seed=1) <= 1e-12


def test_match_metrics_reproduce_the_ported_evaluator():
    rng = np.random.default_rng(2)
    for _ in range(20):
        log = benchmark.random_log(rng)
        csv = benchmark.to_benchmark_csv(log)
        for side, model in (("defender", "a"), ("invader", "b")):
            for tag in ("first", "second"):
                ours, theirs = (
                    match_metrics(log, side, tag, 20),
                    benchmark.compute_metrics(csv, model, side, tag, 20),
                )
                for key, name in benchmark.NAMES.items():
                    assert ours[key] == pytest.approx(theirs[name], abs=1e-12)


def _league():
    from rlhfbook.methods.games import TurnBased
    from rlhfbook.methods.games.players import ScriptedReviser
    from rlhfbook.methods.games.protocol import run_league

    players = [
        ScriptedReviser("p", quality=1.0, n_candidates=2, slip=0.3),
        ScriptedReviser("q", 1.0, 0.5, 0.0),
    ]
    opponents = [
        ScriptedReviser("o1", 0.0, 0.0),
        ScriptedReviser("o2", n_candidates=2, slip=0.3),
    ]
    logs, _ = run_league(
        [TurnBased()], players, opponents, rounds=6, seeds=[0, 1], progress=False
    )
    return logs, {"turn_based": TurnBased.budgets}


def test_csv_metrics_equal_match_metrics_of_each_csv_and_match():
    logs, budgets = _league()
    for per_match in (False, True):
        keys = ["seed", "game", "player", "role", "tag"] + ["opponent"] * per_match
        table = csv_metrics(logs, budgets, per_match=per_match).set_index(keys)
        assert len(table) == logs.groupby(keys).ngroups
        for values, df in logs.groupby(keys):
            ref = match_metrics(df, values[3], values[4], 20)
            for key, value in ref.items():
                assert table.loc[values, key] == pytest.approx(value, abs=1e-12)


def test_kept_table_follows_each_match():
    logs, budgets = _league()
    kept = kept_table(logs, budgets)
    assert (
        len(kept) == logs["match"].nunique() * 3
    )  # 6 rounds: 3 kept rounds per match, either move order
    assert all(k == [0, 1, 2] for k in kept.groupby("match")["k"].apply(list))
    one = logs[logs["match"] == 5]
    side, tag = one["role"].iat[0], one["tag"].iat[0]
    rows, mine = kept_rounds(one, tag), kept[kept["match"] == 5]
    assert mine["win"].tolist() == (rows["winner"] == side).astype(int).tolist()
    assert mine["cost"].tolist() == rows[f"{side}_cost"].tolist()
    before = one.set_index("round").loc[rows["round"] - 1]
    assert mine["after_win"].tolist() == (before["winner"] == side).tolist()
    assert (
        mine["revised"].tolist()
        == (
            rows[f"{side}_build"].to_numpy() != before[f"{side}_build"].to_numpy()
        ).tolist()
    )
    assert kept["over"].any() and kept["opponent_over"].any()


def test_partial_correlation():
    rng = np.random.default_rng(0)
    z = rng.normal(size=200)
    x, y = z + rng.normal(size=200), z + rng.normal(size=200)  # related only through z
    rxy, rxz, ryz = (np.corrcoef(a, b)[0, 1] for a, b in ((x, y), (x, z), (y, z)))
    closed = (rxy - rxz * ryz) / np.sqrt((1 - rxz**2) * (1 - ryz**2))
    assert partial_correlation(x, y, z) == pytest.approx(closed, abs=1e-12)
    assert rxy > 0.3 and abs(partial_correlation(x, y, z)) < 0.15
    with pytest.raises(ValueError, match="at least 4"):
        partial_correlation([1, 2, 3], [1, 2, 3], [1, 2, 3])


def test_mean_se():
    assert mean_se([1.0, 3.0]) == (2.0, 1.0)
    with pytest.raises(ValueError, match="two values"):
        mean_se([1.0])


def test_ties_count_as_losses():
    log = pd.DataFrame(
        {
            "round": [1, 2, 3, 4],
            "winner": ["none"] * 4,
            "defender_cost": [20] * 4,
            "invader_cost": [20] * 4,
            "defender_violations": 0,
            "invader_violations": 0,
        }
    )
    assert match_metrics(log, "defender", "first", 20)["WR"] == 0.0


def test_kept_rounds_parity():
    log = pd.DataFrame({"round": range(1, 12)})
    assert kept_rounds(log, "first")["round"].tolist() == [2, 4, 6, 8, 10]
    assert kept_rounds(log, "second")["round"].tolist() == [3, 5, 7, 9, 11]


def test_composite_and_rank_stability():
    table = pd.DataFrame(
        {
            "WR": [1.0, 0.0],
            "CSR": [1.0, 0.0],
            "OBR": [0.0, 1.0],
            "ORR": [0.0, 1.0],
            "slope": [0.2, -0.2],
        },
        index=["good", "bad"],
    )
    assert composite(table).tolist() == [1.0, 0.0]
    assert composite(table, leave_out="WR").tolist() == [1.0, 0.0]
    stab = rank_stability(table)
    assert list(stab.index) == list(METRICS)
    assert (
        np.allclose(stab["spearman_rho"], 1.0) and (stab["top_player"] == "good").all()
    )


def test_revision_trace_marks_kept_rounds_and_corrections():
    from rlhfbook.methods.games.metrics import revision_trace

    log = pd.DataFrame(
        {
            "round": range(1, 8),
            "reviser": ["defender", "invader"] * 3 + [""],
            "defender_cost": [20, 20, 20, 18, 18, 18, 19],
            "invader_cost": 20,
            "winner": [
                "invader",
                "defender",
                "invader",
                "invader",
                "defender",
                "defender",
                "invader",
            ],
            "defender_build": "{}",
        }
    )
    trace = revision_trace(log, "defender", "first")
    assert trace.index[trace["kept"]].tolist() == [2, 4, 6]
    assert trace.index[trace["correction"]].tolist() == [
        4
    ]  # 20 -> 18 between kept rounds 2 and 4
