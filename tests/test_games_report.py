"""Chapter 5's league analysis (rlhfbook.chapters.ch05_strategic_games.report) against loop references and hand-computed cases."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rlhfbook.chapters.ch05_strategic_games import report
from rlhfbook.methods.games import TurnBased
from rlhfbook.methods.games.metrics import partial_correlation


class Recorder:
    """Stands in for the chapter's results: keeps the keyword arguments of each check."""

    def __init__(self):
        self.calls = []

    def check(self, name, **kwargs):
        self.calls.append((name, kwargs))
        return kwargs


def seed_table(n_seeds=3, n_players=6, seed=0):
    rng = np.random.default_rng(seed)
    rows = [
        {
            "seed": s,
            "player": f"p{i}",
            "ORR": rng.random(),
            "CSR": rng.random(),
            "WR": rng.random(),
            "OBR": rng.random(),
        }
        for s in range(n_seeds)
        for i in range(n_players)
    ]
    return pd.DataFrame(rows).set_index(["seed", "player"])


def test_seed_check_applies_the_claims_rule_and_sign():
    rec = Recorder()
    per_seed = {0: 0.1, 1: 0.3, 2: 0.2}
    report.seed_check(
        rec, "rl_raises_csr_prose", per_seed, "3 league seeds", ours={"x": 1}
    )
    check = report.SeedChecks(rec, "3 league seeds")
    check("orr_csr_raw", {0: -0.5, 1: -0.4, 2: -0.6})
    check("feedback_used", {0: 0.1, 1: 0.3, 2: 0.2})
    (name, positive), (_, negative), (_, noted) = rec.calls
    assert (
        name == "rl_raises_csr_prose"
        and positive["kind"] == "finding"
        and positive["origin"] == "extension"
    )
    assert (
        positive["claim"] == report.CLAIM["rl_raises_csr_prose"].claim
        and positive["per_seed"] == per_seed
    )
    assert (
        positive["direction"] == ">="
        and positive["threshold"] == 0.0
        and "value" not in positive
    )
    assert (
        positive["rule"]
        == f"per seed: {report.CLAIM['rl_raises_csr_prose'].decisive}, over 3 league seeds"
    )
    assert positive["ours"] == {"x": 1}
    assert negative["direction"] == "<=" and negative["threshold"] == 0.0
    assert negative["origin"] == "paper"
    assert (
        noted["rule"].endswith("(RL late's own revision turns in the seed's league)")
        and noted["origin"] == "extension"
    )


def test_record_checks_records_each_claim_under_its_kind():
    rec = Recorder()
    seeds = [0, 1, 2]
    ev = report.Evidence(
        raw_r={0: -0.2, 1: -0.3, 2: -0.1},
        n_players=15,
        separation=pd.DataFrame(
            {
                "matched pairs": [10, 8, 12],
                "separated": [5, 2, 6],
                "share separated": [0.5, 0.25, 0.5],
            },
            index=seeds,
        ),
        beyond={0: -0.1, 1: -0.2, 2: -0.15},
        counterfactual=pd.DataFrame(
            {"win": [0.0, 1.0], "raw win": [1.0, 1.0], "affordable win": [0.0, 1.0]}
        ),
        d_csr_prose={0: 0.0, 1: 0.1, 2: -0.1},
        flip=pd.DataFrame(
            {
                "keep after a win": [0.9, 0.8, 0.7],
                "keep after a loss": [0.1, 0.2, 0.3],
                "effect": [0.8, 0.6, 0.4],
                "opponent effect": [0.5, 0.4, 0.3],
                "turns": [60, 60, 60],
            },
            index=seeds,
        ),
        d_wr={0: 0.3, 1: 0.2, 2: 0.4},
        characters={"fewer than three characters": 0.0, "empty (forfeit)": 0.0},
        table=pd.DataFrame(
            {"CSR_paper": [0.2, 0.3, 0.4, 0.5]},
            index=["SFT", "RL late", "SFT (t2)", "RL late (t2)"],
        ),
        training_seeds=2,
    )
    report.record_checks(rec, seeds, ev)
    calls = dict(rec.calls)
    assert list(calls) == [
        "orr_csr_raw",
        "process_separates_matched_wr",
        "budget_beyond_rule",
        "rl_raises_csr_prose",
        "feedback_used",
        "rl_beats_sft",
        "three_characters",
    ]
    assert {n: c["kind"] for n, c in calls.items()} == {
        c.name: c.kind for c in report.CLAIMS if c.name in calls
    }
    assert calls["feedback_used"]["per_seed"] == {0: 0.8, 1: 0.6, 2: 0.4}
    assert calls["orr_csr_raw"]["ours"]["players"] == 15
    sep = calls["process_separates_matched_wr"]
    assert sep["per_seed"] == {0: 0.5, 1: 0.25, 2: 0.5}
    assert sep["threshold"] == report.chance_separation() and sep["direction"] == ">="
    assert sep["origin"] == "paper" and sep["kind"] == "finding"
    assert calls["feedback_used"]["ours"][
        "answers changed, opponent's build swapped"
    ] == pytest.approx(0.4)
    assert calls["budget_beyond_rule"]["ours"]["won, made affordable"] == 0.5
    assert calls["three_characters"]["value"] == 0.0
    assert calls["rl_raises_csr_prose"]["ours"] == {
        "prose CSR SFT, mean over 2 training seeds": pytest.approx(0.3),
        "prose CSR RL late, mean over 2 training seeds": pytest.approx(0.4),
    }
    assert all(c.origin in ("paper", "extension") for c in report.CLAIMS)


def test_sanity_check_passes_only_when_given():
    rec = Recorder()
    report.sanity_check(rec, "metrics_match_benchmark", 1e-15, "rule", ours={})
    report.sanity_check(
        rec, "metrics_match_hand_values", 0.0, "rule", ours={}, passed=False
    )
    assert rec.calls[0][1]["threshold"] == 1e-12 and "passed" not in rec.calls[0][1]
    assert rec.calls[1][1]["passed"] is False and rec.calls[1][1]["kind"] == "sanity"


def test_claims_table_states_each_rule():
    claims = report.claims_table()
    assert list(claims.index) == list(report.CLAIM)
    assert claims.loc["orr_csr_raw", "passes when"] == "mean + 2 SE <= 0"
    assert claims.loc["rl_beats_sft", "kind"] == "control"
    assert claims.loc["metrics_match_benchmark", "passes when"] == "<= 1e-12"
    assert {c.kind for c in report.CLAIMS} == {"finding", "control", "sanity"}


def test_per_seed_difference_and_summary():
    values = pd.Series(
        {(0, "RL late"): 0.7, (0, "SFT"): 0.5, (1, "RL late"): 0.4, (1, "SFT"): 0.6}
    )
    d = report.per_seed_difference(values, [0, 1])
    assert d == pytest.approx({0: 0.2, 1: -0.2})
    summary = report.difference_summary({"WR": d})
    assert summary.index.name == "RL late - SFT"
    assert summary.loc["WR", "mean"] == pytest.approx(0.0) and summary.loc[
        "WR", "SE"
    ] == pytest.approx(0.2)


def test_seed_correlations_match_a_loop():
    table = seed_table()
    corr = report.seed_correlations(table, range(3))
    for s in range(3):
        x = table.loc[s]
        assert corr.loc[s, "r(ORR, CSR)"] == pytest.approx(
            stats.pearsonr(x["ORR"], x["CSR"]).statistic
        )
        assert corr.loc[s, "r(ORR, WR)"] == pytest.approx(
            np.corrcoef(x["ORR"], x["WR"])[0, 1]
        )
        assert corr.loc[s, "partial r(ORR, CSR | WR)"] == pytest.approx(
            partial_correlation(x["ORR"], x["CSR"], x["WR"])
        )
    some = report.seed_correlations(table, [1], players=["p0", "p2", "p3", "p5"])
    x = table.loc[1].loc[["p0", "p2", "p3", "p5"]]
    assert some.loc[1, "r(CSR, WR)"] == pytest.approx(
        np.corrcoef(x["CSR"], x["WR"])[0, 1]
    )
    assert some.loc[1, "r(CSR, WR)"] != pytest.approx(corr.loc[1, "r(CSR, WR)"])


def test_residual_is_orthogonal_to_the_line():
    x = pd.Series([0.0, 1.0, 2.0, 3.0])
    assert np.allclose(report.residual(2 * x + 1, x), 0)
    r = report.residual(pd.Series([0.0, 2.0, 1.0, 5.0]), x)
    assert r.sum() == pytest.approx(0, abs=1e-12) and (r * x).sum() == pytest.approx(
        0, abs=1e-12
    )


def test_budget_evidence_by_hand():
    table = seed_table(n_seeds=2)
    kept = pd.DataFrame(
        {
            "seed": [0, 0, 0, 1, 1],
            "over": [True, True, False, True, False],
            "win": [1, 0, 1, 1, 0],
            "opponent_over": [True, False, False, False, False],
        }
    )
    ev = report.budget_evidence(table, kept, [0, 1])
    assert ev["over-budget rounds won"] == {0: 0.5, 1: 1.0}
    assert ev["opponent over budget"] == pytest.approx({0: 1 / 3, 1: 0.0})
    x = table.loc[1]
    assert ev["r(OBR, WR)"][1] == pytest.approx(np.corrcoef(x["OBR"], x["WR"])[0, 1])


def test_first_and_last_wins_and_behaviour():
    kept = pd.DataFrame(
        {
            "player": ["SFT"] * 4 + ["RL late"] * 4,
            "k": [0, 1, 0, 1] * 2,
            "win": [0, 1, 0, 0, 1, 1, 1, 0],
            "after_win": [False, False, True, True, False, True, False, True],
            "revised": [1, 0, 1, 1, 1, 0, 0, 0],
        }
    )
    first, last = report.first_and_last_wins(kept, ["SFT", "RL late"])
    assert first.to_dict() == {"RL late": 1.0, "SFT": 0.0}
    assert last.to_dict() == {"RL late": 0.5, "SFT": 0.5}
    names = ["SFT", "RL late"]
    table = pd.DataFrame(
        {
            m: [0.1, 0.2]
            for m in ("WR", "OBR", "ORR", "CSR", "CSR_paper", "slope", "violations")
        },
        index=names,
    )
    slope = pd.Series(
        {(0, "SFT"): 0.1, (1, "SFT"): 0.3, (0, "RL late"): -0.1, (1, "RL late"): 0.1}
    )
    slope.index.names = ["seed", "player"]
    b = report.checkpoint_behaviour(table, kept, slope, names)
    assert (
        b.loc["SFT", "changes build after a loss"] == 0.5
        and b.loc["SFT", "changes build after a win"] == 1.0
    )
    assert (
        b.loc["RL late", "changes build after a loss"] == 0.5
        and b.loc["RL late", "changes build after a win"] == 0.0
    )
    assert b.loc["SFT", "slope per match"] == pytest.approx(0.2) and b.loc[
        "RL late", "slope per match"
    ] == pytest.approx(0.0)


def test_radar_values_orient_every_axis_outward():
    table = pd.DataFrame(
        {"WR": [0.6], "CSR": [0.5], "OBR": [0.2], "ORR": [0.9], "slope": [0.2]},
        index=["a"],
    )
    assert report.radar_values(table).loc["a"].tolist() == pytest.approx(
        [0.6, 0.5, 0.8, 0.1, 1.0]
    )
    table["slope"] = -0.04
    assert report.radar_values(table).loc["a", "slope (scaled)"] == pytest.approx(0.3)


def test_figures_axes():
    table = pd.DataFrame(
        {
            "WR": [0.2, 0.5, 0.9, 0.4],
            "OBR": [0.6, 0.1, 0.0, 0.3],
            "ORR": [0.8, 0.5, 0.3, 0.6],
            "CSR": [0.1, 0.4, 0.8, 0.2],
        },
        index=["SFT", "RL late", "best-response-1", "other"],
    )
    table["slope"], table["S"] = 0.01, 0.5
    fig = report.plot_obr_wr(table, ["SFT", "RL late"])
    ax = fig.axes[0]
    assert (
        ax.get_xlabel().startswith("OBR")
        and ax.get_ylabel().startswith("WR")
        and len(ax.texts) == 2
    )
    colours = ax.collections[0].get_facecolors()
    assert np.allclose(colours[3][:3], matplotlib.colors.to_rgb(report.OTHER))
    fig = report.plot_orr_csr(table, ["SFT"], raw_r=-0.125, partial_r=0.3)
    assert [a.get_xlabel() for a in fig.axes] == [
        "ORR (share of revisions)",
        "ORR minus its fit on WR (share of revisions)",
    ]
    # the titles quote the chapter's statistics, not the correlation of the plotted means
    assert [a.get_title() for a in fig.axes] == [
        "raw: r = -0.12 (mean over seeds)",
        "given WR: partial r = +0.30 (mean over seeds)",
    ]
    fig = report.plot_radar(
        table, [(["SFT", "RL late"], "trained"), (["best-response-1"], "scripted")]
    )
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == report.RADAR_AXES
    assert len(fig.axes[0].lines) == 2 and fig.axes[1].get_title() == "scripted"
    log = pd.DataFrame(
        {
            "win": [0.1, 0.4],
            "over_budget": [0.2, 0.1],
            "keep": [0.0, 0.3],
            "kl_ref": [0.0, 0.01],
        }
    )
    fig = report.plot_grpo(log, {"SFT": 0, "RL late": 1})
    assert (
        fig.axes[0].get_xlabel() == "GRPO iteration" and len(fig.axes[0].lines) == 2 + 2
    )
    plt.close("all")


def test_frequent_builds_counts_each_side():
    game = TurnBased()
    import json

    d, i = json.dumps(game.example("defender")), json.dumps(game.example("invader"))
    logs = pd.DataFrame(
        {
            "player": ["RL late"] * 4 + ["other"],
            "round": [1, 2, 3, 4, 2],
            "role": ["defender", "defender", "defender", "invader", "defender"],
            "defender_build": [d, d, d, d, d],
            "invader_build": [i, i, i, i, i],
            "defender_cost": [5, 5, 5, 5, 5],
            "invader_cost": [7, 7, 7, 7, 7],
            "defender_violations": [0, 1, 0, 0, 0],
            "invader_violations": [0, 0, 0, 2, 0],
        }
    )
    f = report.frequent_builds(logs, game).set_index("side")
    assert (
        f.loc["defender", "violations"] == 0.5 and f.loc["invader", "violations"] == 2
    )
    assert (
        f.loc["invader", "cost"] == 7
        and f.loc["defender", "share of the side's rounds"] == 1.0
    )
    assert f.loc["defender", "build"] == game.describe(
        "defender", game.example("defender")
    )


def test_overspenders_lists_players_or_none():
    heavy = pd.DataFrame({"OBR": [0.5, 0.75], "WR": [0.25, 0.1]}, index=["a", "b"])
    assert (
        report.overspenders(heavy)
        == "players with OBR >= 0.5: a (OBR 0.50, WR 0.25), b (OBR 0.75, WR 0.10)"
    )
    assert report.overspenders(heavy.iloc[:0]) == "players with OBR >= 0.5: none"


def _per_match(seed, player, orr, csr):
    """12 per-match rows (2 roles x 2 orders x 3 opponents) with the given ORR and CSR values."""
    units = [
        (r, t, o)
        for r in ("defender", "invader")
        for t in ("first", "second")
        for o in ("x", "y", "z")
    ]
    return [
        {
            "seed": seed,
            "player": player,
            "role": r,
            "tag": t,
            "opponent": o,
            "ORR": orr[i],
            "CSR": csr[i],
        }
        for i, (r, t, o) in enumerate(units)
    ]


def test_separated_pairs_by_hand():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.05, 12)
    rows = (
        _per_match(0, "a", 0.8 + noise, 0.5 + noise)
        + _per_match(0, "b", 0.2 + noise[::-1], 0.5 + noise[::-1])  # ORR far apart
        + _per_match(0, "c", 0.8 + noise[::-1], 0.5 + noise)  # like a, within noise
        + _per_match(0, "d", np.full(12, 0.5), np.full(12, 0.5))  # wins far more
    )
    per_match = pd.DataFrame(rows).sample(
        frac=1, random_state=1
    )  # order must not matter
    table = pd.DataFrame(
        {"WR": [0.50, 0.53, 0.46, 0.90]},
        index=pd.MultiIndex.from_product([[0], list("abcd")], names=["seed", "player"]),
    )
    out = report.separated_pairs(per_match, table, [0])
    # matched: a-b (0.03), a-c (0.04); b-c differs by 0.07, d by 0.37 or more
    assert out.loc[0, "matched pairs"] == 2
    assert out.loc[0, "separated"] == 1  # a-b by ORR; a-c is noise
    assert out.loc[0, "share separated"] == 0.5
    # a loop reference for the flagged pair
    d = np.array([r["ORR"] for r in rows[:12]]) - np.array(
        [r["ORR"] for r in rows[12:24]]
    )
    assert abs(d.mean()) > 2 * d.std(ddof=1) / np.sqrt(12)
    none = report.separated_pairs(per_match, table, [0], margin=0.01)
    assert none.loc[0, "matched pairs"] == 0 and none.loc[0, "share separated"] == 0.0


def test_chance_separation_is_the_false_positive_rate_of_identical_players():
    # P(|t_11| > 2) per metric, two independent metrics
    p = 2 * stats.t.sf(2, 11)
    assert report.chance_separation(12, 2) == pytest.approx(1 - (1 - p) ** 2)
    assert 0.13 < report.chance_separation() < 0.14
    # simulated identical players: the share flagged matches the bound
    rng = np.random.default_rng(0)
    d = rng.normal(size=(20000, 12, 2))
    flagged = (np.abs(d.mean(1)) > 2 * d.std(1, ddof=1) / np.sqrt(12)).any(1)
    assert flagged.mean() == pytest.approx(report.chance_separation(), abs=0.01)
    assert report.CLAIM["process_separates_matched_wr"].threshold == (
        report.chance_separation()
    )


def test_replica_names_and_means_over_training_seeds():
    assert report.replica_names(0) == ("SFT", "RL late")
    assert report.replica_names(2) == ("SFT (t3)", "RL late (t3)")
    values = pd.Series(
        {
            (0, "SFT"): 0.1,
            (0, "RL late"): 0.5,
            (0, "SFT (t2)"): 0.2,
            (0, "RL late (t2)"): 0.2,
            (1, "SFT"): 0.0,
            (1, "RL late"): 0.1,
            (1, "SFT (t2)"): 0.3,
            (1, "RL late (t2)"): 0.1,
        }
    )
    assert report.over_training_seeds(values, [0, 1], 2) == pytest.approx(
        {0: 0.2, 1: -0.05}
    )


def test_metric_edge_cases_are_the_benchmarks_defined_values():
    cases = report.metric_edge_cases(budget=18)
    assert list(cases) == list(report.EDGE_CASES)
    assert cases["no kept round"] == dict.fromkeys(
        ("WR", "OBR", "ORR", "CSR", "slope"), 0.0
    )
    assert cases["a single round"]["ORR"] == 0.0 and cases["a single round"]["OBR"] == 1
    assert cases["no revision at all"]["CSR"] == 0.0  # no correction: CSR is 0
    assert cases["ties only (no winner)"]["WR"] == 0.0
    assert all(np.isfinite(v) for m in cases.values() for v in m.values())


def _league_log(game, player, opponent, seed=3, rounds=4):
    return report.one_match(game, player, opponent, rounds=rounds, seed=seed)


def test_described_trace_is_one_match_with_its_metrics():
    from rlhfbook.methods.games import metrics as gm
    from rlhfbook.methods.games import players as gp

    game = TurnBased(noise=0.2)
    player, opponent = gp.league(2)[0], gp.fixed_opponents(2)[-1]
    log = _league_log(game, player, opponent)
    other = log.assign(seed=4)  # another league seed: ignored
    trace, metrics = report.described_trace(
        pd.concat([log, other]), game, 3, player.name, opponent.name
    )
    assert len(trace) == len(log) and set(metrics) == set(gm.METRICS)
    assert metrics == {
        k: v
        for k, v in gm.match_metrics(log, "defender", "first", 20).items()
        if k in gm.METRICS
    }
    assert all(isinstance(b, str) and not b.startswith("{") for b in trace["own build"])


def test_play_llm_plays_one_match_unless_a_real_model_is_set(monkeypatch):
    from types import SimpleNamespace

    from rlhfbook.methods.games import players as gp

    game = TurnBased(noise=0.2)
    stub = gp.league(2)[0]
    calls = []
    monkeypatch.setattr(report, "llm_player", lambda *a: calls.append(a) or stub)
    P = SimpleNamespace(
        endpoint=None,
        model_name=None,
        llm_new_tokens=8,
        llm_prompt_tokens=16,
        llm_rounds=2,
        llm_seeds=1,
    )
    llm, logs = report.play_llm(P, [game], gp.fixed_opponents(2), [5, 6], 5)
    assert llm is stub and calls == [(None, None, 8, 16, 5)]
    assert set(logs["seed"]) == {5} and logs["match"].nunique() == 1
    assert set(logs["opponent"]) == {gp.fixed_opponents(2)[0].name}
    played = []
    monkeypatch.setattr(
        report,
        "llm_league",
        lambda llm, g, o, r, seeds, full: played.append((seeds, full)),
    )
    report.play_llm(
        P.__class__(**{**vars(P), "model_name": "m"}), [game], [], [5, 6], 5
    )
    assert played == [([5], True)]


def test_training_quotes_read_the_checkpoints():
    behaviour = pd.DataFrame(
        {
            "changes build after a loss": [0.6, 0.9],
            "changes build after a win": [0.3, 0.1],
            "OBR": [0.2, 0.05],
        },
        index=["SFT", "RL late"],
    )
    k_first = pd.Series({"SFT": 0.4, "RL late": 0.7})
    k_last = pd.Series({"SFT": 0.5, "RL late": 0.8})
    q = report.training_quotes(
        behaviour, k_first, k_last, {0: 0.1, 1: 0.3}, {0: -0.01, 1: 0.01}
    )
    assert q["d_csr_prose"] == pytest.approx(0.2)
    assert q["d_csr_prose_se"] == pytest.approx(0.1)  # sd 0.1414 / sqrt(2)
    assert q["d_slope_match"] == pytest.approx(0.0)
    assert (q["rl_first_win"], q["rl_last_win"], q["sft_last_win"]) == (0.7, 0.8, 0.5)
    assert (q["rl_change_loss"], q["sft_change_win"]) == (0.9, 0.3)
    assert (q["sft_obr"], q["rl_obr"]) == (0.2, 0.05)


def test_summary_quotes_name_each_status():
    q = report.summary_quotes(
        {"orr_csr_raw": "reproduced", "three_characters": "pass"},
        np.float64(0.25),
        0.1,
        pd.Series(
            {"keep after a win": 0.9, "keep after a loss": 0.2, "opponent effect": 0.4}
        ),
    )
    assert q == {
        "status_orr_csr_raw": "reproduced",
        "status_three_characters": "pass",
        "wr_gain": 0.25,
        "csr_gain": 0.1,
        "flip_keep_win": 0.9,
        "flip_keep_loss": 0.2,
        "flip_opponent": 0.4,
    }
    assert type(q["wr_gain"]) is float
