"""Chapter 2's harnesses (rlhfbook.chapters.ch02_dpo_ranking.ranking_gap) and figures (rlhfbook.chapters.ch02_dpo_ranking.ranking_gap_figures):
hand-computed small cases, loop references, and the axes of each figure."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr

from rlhfbook.chapters.ch02_dpo_ranking import ranking_gap as rg
from rlhfbook.chapters.ch02_dpo_ranking import ranking_gap_figures as figures
from rlhfbook.methods import ranking as rk
from rlhfbook.methods.dpo_training import Checkpoint
from rlhfbook.tasks.preferences import PreferencePairs
from rlhfbook.tasks.ranking_task import RankingTask


def logprobs(w, l, nw=None, nl=None) -> rk.PairLogprobs:
    w, l = np.asarray(w, float), np.asarray(l, float)
    return rk.PairLogprobs(
        w,
        l,
        np.ones_like(w) if nw is None else np.asarray(nw, float),
        np.ones_like(l) if nl is None else np.asarray(nl, float),
    )


def seed_data(ref_w, ref_l, alpha=None, chosen=None, rejected=None) -> rg.SeedData:
    n = len(ref_w)
    pairs = PreferencePairs(
        [f"p{i}" for i in range(n)],
        chosen or ["a"] * n,
        rejected or ["b"] * n,
        np.ones(n) if alpha is None else np.asarray(alpha, float),
    )
    ref = logprobs(ref_w, ref_l)
    c = rk.reference_logratio(ref.w, ref.l)
    return rg.SeedData(pairs, pairs, ref, ref, c, c)


def checkpoint(step, w, l) -> Checkpoint:
    lp = logprobs(w, l)
    return Checkpoint(
        step=step, train=lp, val=lp, trl=np.zeros((len(lp.w), 4)), distance=float(step)
    )


# --- Part A ---------------------------------------------------------------------------------
def test_identities_hold_on_random_points_and_draw_in_the_notebooks_order():
    torch.manual_seed(0)
    used = np.random.default_rng(3)
    ids = rg.check_identities(used, 2000)
    assert len(ids.thm41) == len(rk.BETAS) * len(rg.IDENTITY_GAMMAS)
    assert (ids.thm41.agreement == 1.0).all() and ids.prop26 == 1.0
    assert ids.thm31 < 1e-6 and ids.cor33_equal and ids.cor33_n > 0
    # the same numbers from the parts, called in the chapter's order on one generator
    rng = np.random.default_rng(3)
    torch.manual_seed(0)
    thm41, prop26 = rg.thm41_agreement(rng, 2000), rg.prop26_accuracy(rng, 2000)
    ref5 = torch.log_softmax(torch.randn(5, dtype=torch.float64), 0)
    assert ids.thm31 == max(
        abs(rg.soft_label_optimum(a, b, ref5) - 1)
        for a in (0.6, 0.8, 1.0)
        for b in (0.1, 1.0, 5.0)
    )
    assert thm41.equals(ids.thm41) and prop26 == ids.prop26
    assert rg.cor33_agreement(rng, 2000) == (ids.cor33_equal, ids.cor33_n)
    assert (
        used.random() == rng.random()
    )  # the chapter's next draws (the win-rate prompts) are unchanged
    assert list(ids.table().index.str[:8]) == [
        "Thm 4.1:",
        "Prop 2.6",
        "Thm 3.1:",
        "Cor 3.3:",
    ]


def test_prop26_fails_when_the_loss_bound_is_too_loose():
    # loss <= log 2 + 0.1 no longer implies R = 1: the proposition's 0.6 < log 2 matters
    assert rg.prop26_accuracy(np.random.default_rng(0), 5000, max_loss=0.8) < 1.0


def test_soft_label_optimum_matches_thm31_closed_form_by_hand():
    ref = torch.log(torch.tensor([0.5, 0.25, 0.25], dtype=torch.float64))
    # alpha 0.8, beta 1: pi*(y_w)/pi*(y_l) = (0.5/0.25) * (0.8/0.2) = 8
    assert rg.soft_label_optimum(0.8, 1.0, ref) == pytest.approx(1.0, abs=1e-6)
    logits = torch.log(
        torch.tensor([8.0, 1.0, 1.0], dtype=torch.float64)
    )  # any policy with that ratio
    assert torch.exp(logits[0] - logits[1]).item() / np.exp(
        rk.optimal_logratio(np.log(0.5), np.log(0.25), 0.8, 1.0)
    ) == pytest.approx(1.0)


# --- Part C: pairs --------------------------------------------------------------------------
def test_pair_stats_by_hand():
    d = seed_data(
        ref_w=[-1.0, -5.0, -2.0, -3.0],
        ref_l=[-2.0, -1.0, -2.0, -9.0],
        alpha=[1.0, 1.0, 0.5, 1.0],
        chosen=["a b", "a", "a b c", "a"],
        rejected=["a", "a b", "a b c", "x"],
    )
    st = rg.pair_stats(d)
    # c = ref_l - ref_w = [-1, 4, 0, -6]: |c| = [1, 4, 0, 6]
    assert st["median |c| (nats)"] == 2.5
    assert st["R reference"] == pytest.approx(
        3 / 4
    )  # the tie (c = 0) counts as correct
    assert st["alpha = 0.5"] == 0.25 and st["alpha = 1.0"] == 0.75
    assert (
        st["y_w longer"] == 0.25
        and st["y_w shorter"] == 0.25
        and st["distinct prompts"] == 1.0
    )
    assert d.ref_correct.tolist() == [True, False, True, True]
    table = rg.pair_stats_table({0: d, 1: d})
    assert list(table.index) == ["seed 0", "seed 1", "mean"] and table.loc[
        "mean"
    ].equals(table.loc["seed 0"])


def test_c_rms_error_by_hand():
    d = seed_data([0.0, 0.0], [3.0, -1.0])
    d.c_writer = np.array([0.0, 3.0])  # c = [3, -1]: errors 3 and -4
    assert rg.c_rms_error({0: d}) == pytest.approx(np.sqrt((9 + 16) / 2))


def test_example_pair_table_reads_the_tasks_scores():
    task = RankingTask()
    pairs = task.sample_pairs(1, 1, np.random.default_rng(0))
    table = rg.example_pair_table(task, pairs)
    x = pairs.prompts[0]
    assert list(table["answer"]) == [pairs.chosen[0], pairs.rejected[0]]
    assert list(table["words"]) == [
        len(pairs.chosen[0].split()),
        len(pairs.rejected[0].split()),
    ]
    assert table["taste"].iloc[1] == task.taste(x, pairs.rejected[0])
    assert table["writer log-likelihood (nats)"].iloc[0] == task.writer_logprob(
        x, pairs.chosen[0]
    )


# --- Part C: DPO runs -----------------------------------------------------------------------
def fake_study() -> tuple[rg.DPOStudy, dict[int, rg.SeedData]]:
    """Two seeds x betas (0.1, 1): four pairs each, the reference mis-ranks pairs 1 and 3."""
    data = {
        s: seed_data([-1.0, -9.0, -2.0, -3.0], [-2.0, -1.0, -3.0, -1.0]) for s in (0, 1)
    }  # c = [-1, 8, -1, 2]
    runs, tables = {}, {}
    for s in (0, 1):
        for b in (0.1, 1.0):
            cps = [
                checkpoint(0, [-1.0, -9.0, -2.0, -3.0], [-2.0, -1.0, -3.0, -1.0]),
                checkpoint(
                    10, [-1.0, -0.5, -2.0, -3.0], [-2.0, -1.0, -3.0, -1.0]
                ),  # flips pair 1 (c = 8)
                checkpoint(
                    20, [-1.0, -0.5, -2.0, -0.5], [-2.0, -1.0, -3.0, -1.0]
                ),  # and pair 3 (c = 2)
            ]
            val_loss = [0.7, 0.5, 0.6] if s == 0 else [0.7, 0.6, 0.4]
            tables[s, b] = pd.DataFrame(
                {
                    "val loss": val_loss,
                    "train loss": [0.7, 0.6, 0.5],
                    "R": [0.5, 0.75, 1.0],
                    "R~": [0.5, 0.75, 1.0],
                    "val R": [0.5, 0.5, 0.75],
                    "reward acc": [0.5, 0.8, 0.9 + 0.05 * (b == 1.0)],
                    "val reward acc": [0.5, 0.7, 0.8],
                    "flipped": [0.0, 0.5, 1.0],
                    "win rate": [0.5, 0.6, 0.55] if s == 0 else [0.5, 0.4, 0.7],
                    "Thm 4.1 agreement": [1.0, 1.0, 1.0 if s == 0 else 0.75],
                    "near ties": [0, 1, 0],
                    "max |loss - TRL loss|": [0.0, 1e-7, 2e-7],
                    "distance": [0.0, 1.0, 2.0],
                },
                index=pd.Index([0, 10, 20], name="step"),
            )
            runs[s, b] = cps
    return rg.DPOStudy(runs, tables), data


def test_study_picks_the_checkpoint_with_the_lowest_validation_loss():
    study, _ = fake_study()
    assert study.best_step == {(0, 0.1): 10, (0, 1.0): 10, (1, 0.1): 20, (1, 1.0): 20}
    assert study.best_cp[1, 0.1].step == 20 and study.best_cp[0, 1.0].step == 10
    assert study.best[0, 0.1]["R"] == 0.75 and study.best[1, 1.0][
        "reward acc"
    ] == pytest.approx(0.95)
    table = rg.best_checkpoints(study)
    assert (
        table.loc["seed 1, beta 0.1", "best step"] == 20
        and table.loc["seed 0, beta 0.1", "R reference"] == 0.5
    )
    assert table.loc["seed 1, beta 1.0", "win rate"] == 0.7


def test_flips_by_hand():
    study, data = fake_study()
    c_wrong, flipped = rg.flipped_wrong(data[0], study.best_cp[0, 0.1])
    assert c_wrong.tolist() == [8.0, 2.0] and flipped.tolist() == [True, False]
    assert rg.quartile_flips(data[0], study.best_cp[0, 0.1]) == (
        0.0,
        1.0,
    )  # bottom quartile c=2 (not flipped), top c=8
    along = rg.flip_table_along(data[0], study.runs[0, 0.1], [0, 10, 20])
    assert along.sum(axis=1).tolist() == [1.0, 1.0, 1.0]
    assert (
        along.loc[0, "incorrect -> correct"] == 0
        and along.loc[10, "incorrect -> correct"] == 0.25
    )
    assert (
        along.loc[20, "incorrect -> incorrect"] == 0
        and along.loc[20, "correct -> correct"] == 0.5
    )
    rows = rg.flip_rows(study, data)
    assert rows.loc["seed 1, beta 0.1"].tolist() == [1.0, 1.0, 1.0]


def test_thm41_runs_and_evidence_take_the_minimum_over_checkpoints_and_gammas():
    study, _ = fake_study()
    thm = rg.thm41_runs(study.tables)
    assert (
        thm.loc["seed 1, beta 1.0", "Thm 4.1 agreement (min over checkpoints)"] == 0.75
    )
    assert thm.loc["seed 0, beta 0.1", "near ties left out"] == 1
    gamma_runs = {
        0.0: (None, study.tables[1, 0.1].assign(**{"Thm 4.1 agreement": 0.5})),
        1.0: (None, study.tables[0, 0.1]),
    }
    ev = rg.thm41_evidence(study, gamma_runs, [0, 1])
    assert ev.per_seed == {0: 0.5, 1: 0.75} and ev.passed is False
    assert ev.ours["checkpoints"] == 4 * 3 + 3 and ev.ours["near ties left out"] == 4
    gamma_runs[0.0] = (None, study.tables[0, 0.1])
    assert rg.thm41_evidence(
        rg.DPOStudy(
            study.runs,
            {
                k: t.assign(**{"Thm 4.1 agreement": 1.0})
                for k, t in study.tables.items()
            },
        ),
        gamma_runs,
        [0, 1],
    ).passed


def test_gamma_table_orders_gammas_and_reads_the_best_checkpoint():
    study, _ = fake_study()
    table = rg.gamma_table(
        {2.0: (None, study.tables[1, 0.1]), 0.0: (None, study.tables[0, 0.1])}
    )
    assert list(table.index) == [0.0, 2.0] and table.index.name == "gamma"
    assert table["best step"].tolist() == [10, 20] and table["R"].tolist() == [
        0.75,
        1.0,
    ]
    assert list(table.columns)[:3] == ["best step", "train loss", "val loss"]


def test_near_far_rho_matches_scipy_on_each_half():
    rng = np.random.default_rng(0)
    tabs = [
        pd.DataFrame(
            {"R": rng.random(6), "win rate": rng.random(6), "distance": rng.random(6)}
        )
        for _ in range(2)
    ]
    got = rg.near_far_rho(tabs)
    along = pd.concat(tabs)
    near = along[along["distance"] <= along["distance"].median()]
    far = along[along["distance"] > along["distance"].median()]
    assert got["near"] == spearmanr(near["R"], near["win rate"]).statistic
    assert got["far"] == spearmanr(far["R"], far["win rate"]).statistic
    assert got["all"] == spearmanr(along["R"], along["win rate"]).statistic
    study, _ = fake_study()
    rho, summary = rg.spearman_table(study.tables, [0, 1], [0.1, 1.0])
    assert (
        list(rho.index) == ["seed 0", "seed 1"]
        and summary["all mean"] == rho["all"].mean()
    )
    quotes = rg.spearman_quotes({**summary, "far mean": 0.1})
    assert "unlike the paper" in quotes["rho_far_verdict"]
    assert quotes["rho_far_mean"] == 0.1 and type(quotes["rho_all_sd"]) is float
    assert quotes["rho_all_sd"] == summary["all sd"]
    negative = rg.spearman_quotes({**summary, "far mean": -0.1})
    assert negative["rho_far_verdict"].startswith("as in the paper")


def test_win_rate_counts_ties_one_half():
    win = object.__new__(rg.WinRate)
    win.reference_gold = np.array([1.0, 2.0, 3.0, 4.0])
    win.gold = lambda model: np.array([2.0, 2.0, 1.0, 5.0])  # win, tie, loss, win
    assert win(None) == {"win rate": 2.5 / 4}


# --- Table 1 and the checks -----------------------------------------------------------------
def test_alignment_gap_is_r_star_minus_r_at_the_best_checkpoint():
    study, data = fake_study()
    gap = rg.alignment_gap(study, data, [0.1, 1.0])
    for key in study.tables:
        r_star = rk.idealized_ranking_accuracy(
            data[key[0]].ref_train.w, data[key[0]].ref_train.l, np.ones(4), [key[1]]
        )
        assert gap.r_star[key] == r_star[key[1]]
        assert gap.gap[key] == r_star[key[1]] - study.best[key]["R"]
    # by hand: at beta 1 a unanimous vote moves the optimum by logit(0.999) = 6.9 nats < c = 8 of pair 1
    assert (
        gap.r_star[0, 1.0] == 0.75
        and gap.r_star[0, 0.1] == 1.0
        and gap.gap[1, 1.0] == 0.75 - 1.0
    )
    assert (
        gap.r_star_official[0, 1.0] == 1.0
    )  # the official code's variant: vote ratio x ratio of log-likelihoods
    assert gap.table.loc["seed 0, DPO beta 0.1", "gap R*(beta) - R"] == gap.gap[0, 0.1]
    assert gap.table.loc["seed 1, DPO beta 1.0", "R"] == 1.0
    both = rg.table1_beside_paper(gap.table, [0, 1], [0.1, 1.0])
    assert len(both) == 4 + 2 and list(both.columns) == rg.TABLE1_COLUMNS
    assert both.loc["this book: DPO beta 0.1 (mean of 2 seeds)", "R"] == round(
        100 * (0.75 + 1.0) / 2
    )


def test_reward_up_ranking_flat_margins_by_hand():
    study, data = fake_study()
    ev = rg.reward_up_ranking_flat(study, data, [0, 1], 0.1)
    # R_ref = 0.5; seed 0: reward acc 0.8, R 0.75 -> margins (10, 15, -20); seed 1: 0.9, 1.0 -> (10, 25, -45)
    assert ev.per_seed == pytest.approx({0: -20.0, 1: -45.0})
    assert ev.ours["reward acc gain (pts)"] == pytest.approx(35.0)
    assert ev.ours["beta 1.0: reward acc gain (pts)"] == pytest.approx(37.5)
    # where the reward-accuracy margin decides: gain 10 points, 5 short of 15
    flat = rg.DPOStudy(
        study.runs,
        {k: t.assign(R=0.52, **{"reward acc": 0.6}) for k, t in study.tables.items()},
    )
    assert rg.reward_up_ranking_flat(flat, data, [0, 1], 0.1).per_seed == pytest.approx(
        {0: -5.0, 1: -5.0}
    )
    # R falling 10 points below the reference's counts as moving 10 points
    fell = rg.DPOStudy(
        study.runs,
        {k: t.assign(R=0.4, **{"reward acc": 0.8}) for k, t in study.tables.items()},
    )
    assert rg.reward_up_ranking_flat(fell, data, [0, 1], 0.1).per_seed == pytest.approx(
        {0: -5.0, 1: -5.0}
    )
    assert set(ev.kwargs()) == {
        "per_seed",
        "ours",
    }  # a finding: the verdict rule decides


def test_flips_are_the_share_of_mis_ranked_pairs_and_their_fall_with_c():
    study, data = fake_study()
    ev = rg.mis_ranked_rarely_flip(study, data, [0, 1], 0.1)
    assert ev.per_seed == {0: 0.5, 1: 1.0} and ev.ours == {
        "beta 1.0: flipped": pytest.approx(0.75)
    }
    falls = rg.flips_fall_with_c(study, data, [0, 1], 0.1)
    assert falls.ours == {
        "bottom c-quartile flipped": 0.5,
        "top c-quartile flipped": 1.0,
    }
    # per seed: top - bottom / 2, from quartile_flips of each seed's best checkpoint
    expected = {
        s: t - b / 2
        for s, (b, t) in (
            (s, rg.quartile_flips(data[s], study.best_cp[s, 0.1])) for s in (0, 1)
        )
    }
    assert falls.per_seed == pytest.approx(expected)


def test_near_far_evidence_is_the_per_seed_difference_of_the_two_correlations():
    rho = pd.DataFrame(
        {"near": [0.8, 0.5, np.nan], "far": [-0.2, 0.6, 0.1], "all": [0.3, 0.5, 0.1]},
        index=["seed 0", "seed 1", "seed 2"],
    )
    ev = rg.near_far_evidence(rho, [0, 1, 2])
    assert ev.per_seed[0] == pytest.approx(1.0) and ev.per_seed[1] == pytest.approx(
        -0.1
    )
    assert np.isnan(ev.per_seed[2])  # seed 2's R never moved: no correlation
    assert ev.ours["rho near (mean)"] == pytest.approx(0.65) and set(ev.kwargs()) == {
        "per_seed",
        "ours",
    }


def test_small_c_evidence_by_hand():
    control = {
        0: {"flipped": 0.6, "R after DPO": 0.9, "R reference": 0.8, "median |c|": 1.0},
        1: {"flipped": 0.5, "R after DPO": 0.85, "R reference": 0.8, "median |c|": 3.0},
    }
    gammas = pd.DataFrame({"flipped": [0.3]}, index=[0.0])
    ev = rg.small_c_evidence(control, gammas)
    assert ev.per_seed == {0: 0.6, 1: 0.5} and ev.passed is None
    assert ev.ours == pytest.approx(
        {"median |c|": 2.0, "R rise (pts)": 7.5, "transformer, gamma 0: flipped": 0.3}
    )
    assert (
        rg.small_c_evidence(control, gammas.iloc[:0]).ours[
            "transformer, gamma 0: flipped"
        ]
        is None
    )


def test_over_seeds_by_hand():
    assert rg.over_seeds([1.0, 2.0, 3.0]) == "2.000 ± 1.000 (min 1.000, max 3.000)"
    assert rg.over_seeds([0.5], ".1f") == "0.5 ± 0.0 (min 0.5, max 0.5)"


def test_paper_vs_book_rows_read_the_study():
    study, data = fake_study()
    gap = rg.alignment_gap(study, data, [0.1, 1.0])
    stats = rg.pair_stats_table(data)
    _, summary = rg.spearman_table(study.tables, [0, 1], [0.1, 1.0])
    table = rg.paper_vs_book(
        stats, study, gap, rg.thm41_runs(study.tables), summary, [0, 1], [0.1, 1.0]
    )
    assert table.shape == (8, 2)
    ours = table["this book (mean ± sd over seeds)"]
    assert ours["Thm 4.1 on every checkpoint"].startswith("0.7500")
    assert ours["Ranking accuracy after DPO (best checkpoint, train pairs)"].startswith(
        "beta 0.1: " + rg.over_seeds([0.75, 1.0])
    )


# --- figures --------------------------------------------------------------------------------
def test_flip_curve_has_one_point_per_bin_at_the_bins_median():
    fig, ax = plt.subplots()
    c = np.arange(1.0, 9.0)
    figures.flip_curve(ax, c, np.array([0, 0, 1, 1, 0, 1, 1, 1], bool), bins=4)
    x, y = ax.lines[0].get_data()
    assert list(x) == [1.5, 3.5, 5.5, 7.5] and list(y) == [0.0, 1.0, 0.5, 1.0]
    plt.close(fig)


@pytest.mark.filterwarnings(
    "ignore::RuntimeWarning"
)  # two wrongly ranked pairs leave most of the 8 c-bins empty
def test_study_figures_axes():
    study, data = fake_study()
    fig = figures.training_curves(study, [0.1, 1.0])
    assert [ax.get_xlabel() for ax in fig.axes] == ["DPO step", "DPO step"]
    assert len(fig.axes[0].lines) == 2 * len(
        study.tables
    )  # one curve and one best dot per run
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "beta 0.1",
        "beta 1.0",
    ]
    fig = figures.flips(study, data, (0, 0.1), [0.1, 1.0])
    assert fig.axes[0].get_ylabel() == "share of train pairs" and fig.axes[
        1
    ].get_xlabel().startswith("c of the wrongly")
    fig = figures.rank_vs_win(study.tables, [0, 1], [0.1, 1.0])
    assert (
        fig.axes[0].get_xlabel().startswith("ranking accuracy R")
        and len(fig.axes[0].lines) == 4
    )
    fig = figures.reference_logratios(data, 0)
    assert fig.axes[1].get_ylabel() == "c of the reference model (nats)"
    plt.close("all")


def test_loss_vs_c_separates_at_the_thm41_curve():
    study, data = fake_study()
    for key, cps in study.runs.items():  # give the checkpoints TRL-like quadruples
        for cp in cps:
            cp.trl = np.stack(
                [
                    cp.train.w,
                    cp.train.l,
                    data[key[0]].ref_train.w,
                    data[key[0]].ref_train.l,
                ],
                axis=1,
            )
    fig = figures.loss_vs_c(study, data[0], 0, [0.1, 1.0])
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "c (nats)"
    right, wrong = (coll.get_offsets() for coll in ax.collections)
    threshold = lambda c: rk.loss_threshold(c, 0.1)  # noqa: E731 - the curve drawn
    assert (right[:, 1] <= threshold(right[:, 0])).all() and (
        wrong[:, 1] > threshold(wrong[:, 0])
    ).all()
    plt.close("all")


def test_sandbox_flips_figure_has_one_line_per_sigma():
    from rlhfbook.chapters.ch02_dpo_ranking import unigram_dpo as ud

    studies = {
        s: ud.Study(
            np.arange(1.0, 17.0), np.zeros(16, bool), np.arange(16) % 2 == 0, 0.5, 1.0
        )
        for s in (0.0, 5.0)
    }
    fig = figures.sandbox_flips(studies)
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "$\\sigma$ = 0",
        "$\\sigma$ = 5",
    ]
    plt.close(fig)


def test_the_real_model_is_scored_in_batches_whose_fp32_logits_fit_a_t4(
    tmp_path, monkeypatch
):
    from rlhfbook.book import profiles
    from rlhfbook.testing import standin

    gpu = profiles.resolve("02_dpo_ranking", "gpu")
    P = profiles.resolve(
        "02_dpo_ranking",
        "gpu",
        model_name=str(standin.build(tmp_path / "model")),
        dataset=str(standin.write_hh_rlhf(tmp_path / "hh.jsonl", n=12)),
        n_real_pairs=12,
    )
    batches = []
    scored = rk.sequence_logprobs

    def spy(*args, batch_size, **kwargs):  # the real scoring, recording its batch
        batches.append(batch_size)
        return scored(*args, batch_size=batch_size, **kwargs)

    monkeypatch.setattr(rk, "sequence_logprobs", spy)
    report, n = rg.real_model_report(P, seed=0, device="cpu")
    assert n == 12 and 0 <= report["R"] <= 1 and batches
    gpt2_vocab, tokens = 50257, gpu.max_prompt_tokens + gpu.max_response_tokens
    logits_and_log_softmax = (
        2 * max(batches) * tokens * gpt2_vocab * 4
    )  # fp32, every position
    assert logits_and_log_softmax < 8e9  # half of a 16 GB T4


def test_the_real_model_report_leaves_out_pairs_with_an_empty_answer(tmp_path):
    import json

    from rlhfbook.book import profiles
    from rlhfbook.testing import standin

    hh = standin.write_hh_rlhf(tmp_path / "hh.jsonl", n=6)
    rows = [json.loads(line) for line in hh.read_text().splitlines()]
    rows[2]["rejected"] = (
        rows[2]["chosen"].split("Assistant:")[0] + "Assistant:"
    )  # an empty answer
    hh.write_text("".join(json.dumps(r) + "\n" for r in rows))
    P = profiles.resolve(
        "02_dpo_ranking",
        "gpu",
        model_name=str(standin.build(tmp_path / "model")),
        dataset=str(hh),
        n_real_pairs=6,
    )
    report, n = rg.real_model_report(P, seed=0, device="cpu")
    assert n == 5 and 0 <= report["R"] <= 1


def test_the_real_model_step_is_skipped_without_a_model_and_recorded_with_one(
    monkeypatch,
):
    from types import SimpleNamespace

    from rlhfbook.book import profiles

    recorded = {}
    results = SimpleNamespace(metric=lambda k, v: recorded.update({k: v}))
    P = profiles.resolve("02_dpo_ranking", "smoke")
    shown = rg.real_model_section(results, P, 0, "cpu")
    assert "Skipped" in shown.data and recorded == {}
    monkeypatch.setattr(
        rg,
        "real_model_report",
        lambda P, seed, device: ({"R": 0.5, "R~": 0.6, "median |c|": 2.0}, 7),
    )
    real = profiles.resolve("02_dpo_ranking", "smoke", model_name="m", dataset="d")
    rg.real_model_section(results, real, 0, "cpu")
    assert recorded["real_model"] == {
        "model": "m",
        "dataset": "d",
        "pairs": 7,
        "R": 0.5,
        "R~": 0.6,
        "median |c|": 2.0,
    }
