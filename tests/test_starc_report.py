"""Chapter 4's harness, tables and figures (rlhfbook.chapters.ch04_reward_distance.starc_report): loop references and hand-computed cases."""

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from rlhfbook.chapters.ch04_reward_distance import starc_report as sr  # noqa: E402
from rlhfbook.methods import reward_distance as rd  # noqa: E402
from rlhfbook.methods import reward_model_family as rmf  # noqa: E402
from rlhfbook.tasks.toyworld.preference import PreferenceTask  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_finding_gives_the_check_arguments_of_one_number_per_seed():
    args, n_ok = sr.finding([3, 4, 5], np.array([0.3, 0.1, 0.25]), 0.2, "per seed: x")
    assert n_ok == 2 and args == {
        "per_seed": {3: 0.3, 4: 0.1, 5: 0.25},
        "threshold": 0.2,
        "direction": ">=",
        "rule": "per seed: x",
    }
    assert sr.finding([3, 4], [0.01, 0.03], 0.02, "r", "<=")[1] == 1
    assert (
        sr.mean_sd([1.0]) == "1.000 ± 0.000"
        and sr.mean_sd([1.0, 2.0]) == "1.500 ± 0.707"
    )


def test_equivalent_copies_keep_the_regret_and_only_val_and_minimal_see_through_all():
    rng = np.random.default_rng(0)
    mdp = rd.random_mdp(rng, 6, 3, 0.9)
    r = rng.standard_normal(mdp.reward_shape)
    copies = sr.equivalent_copies(mdp, r, rng)
    table = sr.copy_table(mdp, r, copies)
    assert list(table.index) == [
        "potential-shaped",
        "S'-redistributed",
        "scaled by 3.7",
        "all three",
        "negated",
    ]
    assert table.index.name == "copy of R"
    np.testing.assert_allclose(table.loc["scaled by 3.7", "raw L2 / |R|"], 2.7)
    np.testing.assert_allclose(table.loc["negated", "raw L2 / |R|"], 2.0)
    equivalent = table.drop(index="negated")
    assert (equivalent["regret"].abs() < 1e-8).all()
    assert (equivalent[["VAL distance", "minimal distance"]].abs() < 1e-6).all().all()
    assert (
        table.loc["S'-redistributed", "EPIC distance"] > 0.05
        and table.loc["S'-redistributed", "DARD distance"] > 0.05
    )
    np.testing.assert_allclose(
        table.loc["negated", ["EPIC distance", "VAL distance"]], 2.0
    )
    assert table.loc["negated", "regret"] > 0.5


def test_interpolation_runs_and_correlations_match_the_loop_they_replace():
    runs = sr.interpolation_runs([3, 4], 2, 2, 4, cells=sr.CELLS)
    control = sr.interpolation_runs(
        [3], 1, 2, 4, stream=1, next_state_dependent=False, canonicalisations=("VAL",)
    )
    for s in (3, 4):
        regret, grid, mdps, _ = rd.interpolation_experiment(
            np.random.default_rng(s), 2, 2, 4, cells=sr.CELLS, progress=False
        )
        np.testing.assert_array_equal(runs[s]["regret"], regret)
        assert (
            runs[s]["grid"].keys() == grid.keys()
            and len(runs[s]["mdps"]) == len(mdps) == 2
        )
        for k in grid:
            np.testing.assert_array_equal(runs[s]["grid"][k], grid[k])
    regret, grid, _, _ = rd.interpolation_experiment(
        np.random.default_rng([3, 1]),
        1,
        2,
        4,
        next_state_dependent=False,
        canonicalisations=("VAL",),
        progress=False,
    )
    np.testing.assert_array_equal(control[3]["regret"], regret)
    corr = sr.correlations(runs)
    assert list(corr) == [3, 4]
    for s in (3, 4):
        for k, v in runs[s]["grid"].items():
            assert corr[s][k] == pytest.approx(
                np.corrcoef(v, runs[s]["regret"])[0, 1], abs=1e-12
            )


def _hand_table():
    # two seeds, VAL / EPIC / DARD / none in both checked cells
    values = {
        10: dict(VAL=(0.9, 0.8), EPIC=(0.7, 0.75), DARD=(0.6, 0.79), none=(0.1, 0.2)),
        11: dict(VAL=(0.95, 0.85), EPIC=(0.8, 0.8), DARD=(0.9, 0.84), none=(0.3, 0.1)),
    }
    return {
        s: {(c, n, n): v[i] for c, v in row.items() for i, n in enumerate(sr.CHECKED)}
        for s, row in values.items()
    }


def test_per_seed_margins_and_their_tables_by_hand():
    table = _hand_table()
    np.testing.assert_array_equal(sr.per_seed(table, "EPIC", "wL2"), [0.75, 0.8])
    margin = sr.margins(table)
    assert list(margin) == [
        ("EPIC", "L2"),
        ("EPIC", "wL2"),
        ("DARD", "L2"),
        ("DARD", "wL2"),
    ]
    np.testing.assert_allclose(margin["EPIC", "L2"], [0.2, 0.15])
    np.testing.assert_allclose(margin["DARD", "wL2"], [0.01, 0.01])
    out = sr.margin_table(margin)
    assert out.index.name == "margin in correlation with regret"
    assert out.loc["VAL − DARD, wL2/wL2", "seeds ≥ 0.02 (of 2)"] == 0
    assert out.loc["VAL − EPIC, L2/L2", "seeds ≥ 0.02 (of 2)"] == 2
    assert out.loc["VAL − EPIC, L2/L2", "min"] == pytest.approx(0.15)
    by_canon = sr.correlation_table(table, ["VAL", "none"])
    assert list(by_canon.columns) == [
        "L2/L2 mean ± sd",
        "wL2/wL2 mean ± sd",
        "L2/L2 min",
        "wL2/wL2 min",
    ]
    assert (
        by_canon.loc["none", "L2/L2 mean ± sd"] == "0.200 ± 0.141"
        and by_canon.loc["none", "wL2/wL2 min"] == 0.1
    )
    assert sr.correlation_metric(table, ["VAL"]) == {
        "VAL L2/L2": {"10": 0.9, "11": 0.95},
        "VAL wL2/wL2": {"10": 0.8, "11": 0.85},
    }


def test_grid_summary_by_hand():
    full = pd.Series(
        {
            ("VAL", "L2", "L2"): 0.9,
            ("VAL", "L2", "L1"): 0.7,
            ("VAL", "L1", "L2"): 0.3,
            ("EPIC", "L2", "L2"): 0.5,
            ("EPIC", "L1", "L1"): 0.6,
        }
    )
    summary, top10 = sr.grid_summary(full, ["EPIC", "VAL"])
    assert (
        list(summary.index) == ["EPIC", "VAL"]
        and summary.index.name == "canonicalisation"
    )
    assert (
        summary.loc["VAL", "best"] == 0.9
        and summary.loc["VAL", "median"] == 0.7
        and summary.loc["VAL", "worst"] == 0.3
    )
    assert (
        summary.loc["VAL", "worst normalisation"] == "L1"
        and summary.loc["EPIC", "worst normalisation"] == "L2"
    )
    assert top10 == {"VAL": 3, "EPIC": 2}


def test_transition_sparsity_by_hand():
    tau = np.zeros((2, 1, 2))
    tau[0, 0] = [1 - 1e-7, 1e-7]
    tau[1, 0] = [0.5, 0.5]
    mdp = rd.TabularMDP(tau, 0.9, np.array([0.5, 0.5]))
    out = sr.transition_sparsity([mdp])
    assert (
        out["likely next states"] == 1.5
        and out["states"] == 2
        and out["unlikely share"] == 0.25
    )
    assert out["unlikely mass"] == pytest.approx(0.5e-7)


def test_property_reports_follow_the_generators_and_summary_takes_the_worst_case():
    rng = np.random.default_rng(0)
    mdps = [rd.random_mdp(rng, 5, 2, 0.9) for _ in range(3)]
    runs = {7: dict(mdps=mdps), 8: dict(mdps=mdps[:1])}
    reports = sr.property_reports(runs, 2, 5)
    assert len(reports) == 3
    assert reports.iloc[1].to_dict() == rd.property_report(
        mdps[1], np.random.default_rng([7, 1]), 5
    )
    assert reports.iloc[2].to_dict() == rd.property_report(
        mdps[0], np.random.default_rng([8, 0]), 5
    )
    hand = pd.DataFrame(
        {
            **{k: [0.0, 1e-12] for k in sr.INVARIANCES},
            "VAL to scaled": [3e-12, 0.0],
            "EPIC to redistributed": [0.4, 0.3],
            "DARD to redistributed": [0.2, 0.5],
            "VAL d(R, -R)": [2.0, 1.9],
            "max asymmetry": [0.0, 1e-9],
            "max triangle violation": [-0.1, -0.2],
            "max distance": [1.5, 1.8],
        }
    )
    props = sr.property_summary(hand)
    assert props["max STARC distance to an equivalent reward"] == 3e-12
    assert props["min EPIC distance to the S'-redistributed copy"] == 0.3
    assert props["min DARD distance to the S'-redistributed copy"] == 0.2
    assert props["max |d(R, -R) - 2|"] == pytest.approx(0.1)
    assert (
        props["max triangle violation d(x,z) - d(x,y) - d(y,z)"] == -0.1
        and props["max distance"] == 1.8
    )


def test_family_and_its_table_match_the_loop_they_replace():
    task = PreferenceTask(world_seed=0)
    settings = SimpleNamespace(
        pool_size=12,
        n_eval_pairs=200,
        train_sizes=(30, 100),
        flip_rates=(0.0, 0.3),
        bon_n=4,
    )
    fam = sr.family(task, 5, settings)
    rng = np.random.default_rng([5, 2])  # the chapter's loop before it moved
    pool = rmf.sample_pool(task, 12, rng)
    held_out = rmf.comparisons(pool, 200, rng)
    fitted = rmf.fitted_models(pool, (30, 100), (0.0, 0.3), rng)
    models = fitted + rmf.perturbed_models(pool, fitted[-2], rng)
    assert [m.label for m in fam["models"]] == [m.label for m in models]
    for got, want in zip(fam["models"], models):
        np.testing.assert_array_equal(got.scores, want.scores)
    for got, want in zip(fam["held_out"], held_out):
        np.testing.assert_array_equal(got, want)
    table = sr.family_table(fam, 4)
    assert table.index.name == "reward model" and list(table.columns) == [
        "kind",
        *rmf.METRICS,
    ]
    m = models[3]
    assert table.loc[m.label, "kind"] == m.kind
    assert table.loc[m.label, list(rmf.METRICS)].to_dict() == rmf.evaluate(
        pool, m.scores, held_out, 4
    )


def test_rank_against_regret_flips_the_sign_where_larger_is_better():
    regret = [0.1, 0.2, 0.3, 0.4]
    t = pd.DataFrame({m: [0.0, 1.0, 2.0, 3.0] for m in rmf.METRICS})
    t["best-of-N regret"] = regret
    t["accuracy (gold)"] = [0.9, 0.8, 0.7, 0.6]  # perfect, larger is better
    t["accuracy (raters)"] = [0.6, 0.7, 0.8, 0.9]  # perfectly wrong
    t["Brier"] = [0.1, 0.3, 0.2, 0.4]
    rank = sr.rank_against_regret({0: t, 1: t})
    assert "best-of-N regret" not in rank.index and list(rank.columns) == [0, 1]
    assert (
        rank.loc["STARC distance", 0] == 1.0 and rank.loc["accuracy (gold)", 1] == 1.0
    )
    assert rank.loc["accuracy (raters)", 0] == -1.0
    assert rank.loc["Brier", 0] == pytest.approx(
        spearmanr(t["Brier"], regret).statistic
    )
    summary = sr.rank_summary(rank)
    assert summary.loc[
        "accuracy (raters)", "mean ± sd"
    ] == "-1.000 ± 0.000" and summary.loc["Brier", "max"] == pytest.approx(0.8)


def test_overconfidence_by_hand():
    conf, freq, count = (
        np.array([0.1, np.nan, 0.9]),
        np.array([0.3, np.nan, 0.7]),
        np.array([10, 0, 30]),
    )
    # bins 1 and 3: (0.4 - 0.2) each, weights 10 and 30 of 40; the empty bin (nan, as reliability_curve gives it) is skipped
    assert sr.overconfidence(conf, freq, count) == pytest.approx(0.2)
    assert sr.overconfidence(
        np.array([0.6]), np.array([0.9]), np.array([5])
    ) == pytest.approx(-0.3)


def test_summaries_read_the_numbers_they_are_given():
    main = {(c, n): np.array([0.2, 0.2]) for c in ("EPIC", "DARD") for n in sr.CHECKED}
    gone = {
        (c, n): np.array([0.01, -0.01]) for c in ("EPIC", "DARD") for n in sr.CHECKED
    }
    quotes = sr.lead_quotes(main, gone)
    assert "vanishes" in quotes["lead_reading"] and quotes["lead_EPIC_L2"] == 0.2
    assert quotes["gone_DARD_wL2"] == 0.0 and "%" in quotes["lead_weighting"]
    assert "keeps part" in sr.lead_quotes(main, main)["lead_reading"]
    no_lead = {
        k: v - 1.0 for k, v in main.items()
    }  # VAL behind: no ratio, no advantage to explain
    behind = sr.lead_quotes(no_lead, gone)
    assert "no advantage here" in behind["lead_reading"]
    assert behind["lead_weighting"] == ""
    rank = pd.DataFrame(
        {0: [0.9, 0.1, 0.5], 1: [0.7, 0.3, 0.5]},
        index=["STARC distance", "accuracy (gold)", "accuracy (raters)"],
    )
    quotes = sr.bridge_quotes(rank)
    assert quotes["rank_starc_mean"] == pytest.approx(0.8)
    assert quotes["rank_starc_sd"] == pytest.approx(0.141421356)
    assert type(quotes["rank_gold_sd"]) is float
    assert quotes["rank_reading"].endswith("weighs errors by their size directly.")
    swapped = rank.loc[
        ["STARC distance", "accuracy (raters)", "accuracy (gold)"]
    ].set_axis(rank.index)
    assert sr.bridge_quotes(swapped)["rank_reading"].endswith("in this run.")


def test_paper_vs_book_rows():
    table = _hand_table()
    full = pd.Series(
        {
            ("VAL", "L2", "L2"): 0.9,
            ("minimal", "L2", "L2"): 0.95,
            ("EPIC", "L2", "L2"): 0.8,
            ("DARD", "L2", "L2"): 0.7,
        }
    )
    settings = SimpleNamespace(n_envs=4, n_pairs=2, n_steps=16)
    rank = pd.DataFrame(
        {10: [0.8, 0.2, 0.4]},
        index=["STARC distance", "accuracy (gold)", "accuracy (raters)"],
    )
    control = {("EPIC", "L2"): np.array([0.0, 0.02])}
    out = sr.paper_vs_book(settings, [10, 11], full, 64, table, control, 20, rank)
    assert list(out.columns) == ["paper", "this book"]
    assert out.loc["points", "this book"] == "4 x 2 x 16 = 128 per seed, 2 seeds"
    assert (
        out.loc["best STARC / best EPIC or DARD pseudometric", "this book"]
        == "0.950 / 0.800 (64 points of seed 10)"
    )
    assert (
        out.loc["VAL, L2 / L2", "this book"] == "0.925 ± 0.035"
        and out.loc["none, L2 / L2", "paper"] == "-"
    )
    assert (
        out.loc["VAL − EPIC, s'-independent rewards (L2 / L2)", "this book"]
        == "0.010 ± 0.014"
    )
    assert "20 reward models" in out.loc["reward models (bridge)", "this book"]


def test_grid_and_margin_figures_axes():
    table = _hand_table()
    full = pd.Series(
        {("VAL", "L2", "L2"): 0.9, ("none", "L2", "L2"): 0.1, ("EPIC", "L2", "L2"): 0.5}
    )
    fig = sr.grid_figure(full, 32, table, ["none", "EPIC", "VAL"])
    ax0, ax1 = fig.axes
    assert [p.get_height() for p in ax0.patches] == [
        0.9,
        0.5,
        0.1,
    ]  # sorted, best first
    assert [p.get_facecolor() for p in ax0.patches][0] == matplotlib.colors.to_rgba(
        sr.CANON_COLOURS["VAL"]
    )
    assert (
        ax0.get_title() == "All 3 pseudometrics (32 points)"
        and ax0.get_ylabel() == "Pearson correlation with regret"
    )
    assert [t.get_text() for t in ax1.get_xticklabels()] == [
        "none",
        "EPIC",
        "VAL",
    ] and ax1.get_title() == "Checked cells, 2 seeds"
    assert len(ax1.patches) == 6 and ax1.patches[0].get_height() == pytest.approx(
        0.2
    )  # none, L2: mean of 0.1, 0.3
    margin = sr.margins(table)
    fig = sr.margin_figure(margin, margin)
    assert [ax.get_title() for ax in fig.axes] == ["L2 / L2", "wL2 / wL2"]
    assert fig.axes[0].get_ylabel() == "VAL's correlation minus competitor's"
    assert len(fig.axes[0].collections) == 4  # (paper's, control) x (EPIC, DARD)
    np.testing.assert_allclose(
        fig.axes[0].collections[0].get_offsets()[:, 1], margin["EPIC", "L2"]
    )


def test_scatter_bridge_and_calibration_figures_axes():
    run = dict(
        regret=np.linspace(0, 1, 5),
        grid={
            (c, "L2", "L2"): np.linspace(0, 2, 5)
            for c in ("none", "EPIC", "DARD", "VAL")
        },
    )
    corr = {(c, "L2", "L2"): 0.5 for c in ("none", "EPIC", "DARD", "VAL")}
    fig = sr.scatter_figure(run, corr, 3)
    assert [ax.get_title() for ax in fig.axes] == [
        f"{c}: r = 0.500" for c in ("none", "EPIC", "DARD", "VAL")
    ]
    assert (
        fig.axes[2].get_xlabel() == "distance, L2 / L2 (unitless)"
        and fig.axes[0].get_ylabel() == "normalised regret"
    )
    task = PreferenceTask(world_seed=0)
    settings = SimpleNamespace(
        pool_size=12,
        n_eval_pairs=300,
        train_sizes=(30, 100),
        flip_rates=(0.0, 0.3),
        bon_n=4,
    )
    fam = sr.family(task, 0, settings)
    table = sr.family_table(fam, 4)
    fig = sr.bridge_figure(table, 4, 0)
    ax0, ax1 = fig.axes
    assert (
        ax0.get_xlabel() == "STARC distance to the gold reward (0 to 2)"
        and ax0.get_ylabel() == "best-of-4 gold regret (gold-reward units)"
    )
    np.testing.assert_allclose(
        ax0.collections[0].get_offsets()[:, 0], table["STARC distance"]
    )
    assert (
        len(ax1.collections) == 2
        and fig._suptitle.get_text()
        == f"{len(table)} reward models on the toy world (seed 0)"
    )
    shown = ["fitted: 100 comparisons, flip 0", "fitted: 30 comparisons, flip 0"]
    fig, over = sr.calibration_figure(table, fam, shown, 4)
    assert (
        list(over) == shown and fig.axes[1].get_xlabel() == "predicted P(a preferred)"
    )
    assert [line.get_label() for line in fig.axes[1].lines] == [
        "100 comparisons, flip 0",
        "30 comparisons, flip 0",
        "calibrated",
    ]


def test_endpoint_parts_split_the_points_by_their_endpoints_signal():
    runs = sr.interpolation_runs([3, 4], 3, 4, 4, cells=sr.CELLS)
    for r in runs.values():
        r["signal"][:] = 0.5
        r["signal"][:8] = [1e-10, 0.5]  # the first two pairs get a nearly trivial R1
    run = runs[3]
    parts = sr.endpoint_correlations(runs)
    for name, keep in (
        (sr.ENDPOINTS[0], slice(8, None)),
        (sr.ENDPOINTS[1], slice(0, 8)),
    ):
        for k, v in run["grid"].items():
            assert parts[name][3][k] == pytest.approx(
                rd.pearson(v[keep], run["regret"][keep]), abs=1e-12
            )
    table = sr.endpoint_table(runs)
    assert table.loc[f"{sr.ENDPOINTS[1]}, L2/L2", "share of points"] == pytest.approx(
        8 / 48
    )
    profiles = sr.step_profiles(run, 4)
    assert list(dict.fromkeys(profiles.index.get_level_values(0)))[:2] == [
        "ordinary endpoints",
        "nearly trivial R1",
    ]
    np.testing.assert_allclose(
        profiles.loc["nearly trivial R1", "regret"],
        run["regret"][:8].reshape(2, 4).mean(0),
    )


def test_lead_and_mean_2se_by_hand():
    table = _hand_table()
    np.testing.assert_allclose(
        sr.lead(table, "L2"), [0.2, 0.05]
    )  # min(VAL - EPIC, VAL - DARD) per seed
    assert sr.mean_2se([1.0, 2.0, 3.0]) == f"+2.000 ± {2 / np.sqrt(3):.3f}"


def test_monte_carlo_comparison_uses_the_runs_draws():
    comparison = sr.monte_carlo_comparison(5, 1, 2, 3)
    run = sr.interpolation_runs([5], 1, 2, 3, cells=sr.CELLS)[5]
    np.testing.assert_allclose(comparison["exact"], run["regret"], atol=1e-12)
    np.testing.assert_allclose(
        comparison["VAL distance"], run["grid"]["VAL", "L2", "L2"], atol=1e-12
    )
    assert comparison["monte carlo"].shape == (6,)
    np.testing.assert_array_equal(comparison["signal"], run["signal"].min(-1))


def test_monte_carlo_summary_by_hand():
    mc = {
        "exact": np.array([0.2, 0.4, 0.8, 0.6]),
        "monte carlo": np.array([0.25, -0.1, 0.4, 0.2]),
        "VAL distance": np.array([0.3, 0.5, 1.4, 1.0]),
        "signal": np.array([0.5, 0.5, 1e-10, 1e-10]),
    }
    summary = sr.monte_carlo_summary(mc)
    assert (
        summary["outside [0, 1]"] == 0.25
        and summary["pairs with a nearly trivial endpoint"] == 0.5
    )
    assert summary["error, ordinary endpoints"] == pytest.approx(0.275)
    assert summary["error, a nearly trivial endpoint"] == pytest.approx(0.4)
    assert summary["VAL corr exact"] == pytest.approx(
        np.corrcoef(mc["VAL distance"], mc["exact"])[0, 1]
    )


def test_rounding_table_takes_the_worst_mdp():
    mdps = [rd.random_mdp(np.random.default_rng(i), 6, 2) for i in range(2)]
    table = sr.rounding_table(mdps, np.random.default_rng(0))
    rng = np.random.default_rng(0)
    levels = [
        rd.rounding_level(m, rd.trivial_rewards(m, rng), rd.METRICS) for m in mdps
    ]
    assert list(table.columns) == list(rd.METRICS) and set(table.index) == {
        "EPIC",
        "DARD",
        "VAL",
        "minimal",
    }
    assert table.loc["VAL", "wL2"] == max(level["VAL", "wL2"] for level in levels)
    assert table.to_numpy().max() < rd.ROUNDING


def test_endpoint_quotes_read_the_intervals():
    ordinary = {
        "L2": np.array([0.02, 0.025, 0.022]),
        "wL2": np.array([0.01, 0.02, 0.015]),
    }
    part_lead = {(sr.ENDPOINTS[0], n): v for n, v in ordinary.items()} | {
        (sr.ENDPOINTS[1], n): v * 10 for n, v in ordinary.items()
    }
    quotes = sr.endpoint_quotes(part_lead, np.full(3, 0.0895), np.full(3, 0.03))
    assert (
        "real on ordinary rewards (L2 and wL2" in quotes["ep_reading"]
        and "removes 75% of its mean L2 lead" in quotes["ep_reading"]
    )
    assert quotes["ep_seeds"] == 3 and quotes["ep_all_L2_mean"] == pytest.approx(0.0895)
    assert quotes["ep_all_L2_2se"] == pytest.approx(0.0)
    assert quotes["ep_trivial_wL2_mean"] == pytest.approx(0.15)
    part_lead[sr.ENDPOINTS[0], "L2"] = np.array([-0.01, 0.02, 0.0])
    part_lead[sr.ENDPOINTS[0], "wL2"] = np.array([-0.01, 0.02, 0.0])
    assert (
        "not distinguishable from 0"
        in sr.endpoint_quotes(part_lead, np.full(3, 0.09), np.full(3, 0.03))[
            "ep_reading"
        ]
    )


def test_signal_summary_splits_the_endpoints_by_their_policy_signal():
    mdps = [rd.random_mdp(np.random.default_rng(i), 6, 2) for i in range(2)]
    # points of a pair run over n_steps = 3 steps; a point's row holds its pair's (R1, R2) signal
    n_steps, endpoints = (
        3,
        [[1e-13, 1e-9], [0.5, 0.2]],
    )  # trivial, nearly trivial, 2 ordinary
    signal = np.repeat(np.array(endpoints), n_steps, axis=0)
    runs = {
        0: {"mdps": mdps, "signal": signal},
        1: {"mdps": mdps, "signal": signal[n_steps:]},
    }
    table, numbers, text = sr.signal_summary(runs, 1, n_steps, np.random.default_rng(0))
    assert table.equals(sr.rounding_table(mdps[:1], np.random.default_rng(0)))
    assert numbers["rounding level"] == table.to_numpy().max()
    assert (
        numbers["trivial share"] == 1 / 6 and numbers["nearly trivial share"] == 1 / 6
    )
    assert (
        numbers["smallest nearly trivial"] == numbers["largest nearly trivial"] == 1e-9
    )
    assert numbers["smallest ordinary"] == 0.2
    assert "6 random rewards of the runs (2 seeds), 16.7% are nearly trivial" in text
