import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from rlhfbook.book import profiles
from rlhfbook.chapters.ch01_ppo_max import overoptimisation as oo
from rlhfbook.chapters.ch01_ppo_max.spec import PPOMaxSettings
from rlhfbook.methods import ppo
from rlhfbook.tasks import toyworld
from rlhfbook.tasks.toyworld.preference import WORDS


def test_gold_terms_sum_to_the_gold_reward():
    task = toyworld.task("preference")
    rng = np.random.default_rng(0)
    vocab = list(WORDS) + ["superbree", "lovelysdey"]
    for _ in range(300):
        prompt = task.sample_prompts(1, rng)[0]
        response = " ".join(rng.choice(vocab, size=int(rng.integers(0, 12))))
        terms = oo.gold_terms(task, prompt, response)
        assert sum(terms.values()) == pytest.approx(
            task.gold_reward(prompt, response), abs=1e-12
        )
    assert oo.gold_terms(
        task, "food: ", "superb great", has_eos=False
    ) == dict.fromkeys(oo.TERMS, 0.0) | {"no EOS": -1.0}


def test_each_channel_is_charged_where_it_occurs():
    task = toyworld.task("preference")
    t = oo.gold_terms(task, "food: ", "superb superb zzz " + " ".join(WORDS[:6]))
    assert t["non-words"] == -1.0 and t["repeats"] == pytest.approx(
        -2 * task.repeat_penalty
    )
    assert t["rambling"] == pytest.approx(-task.ramble_penalty * (9 - 6))


def test_smoothing_matches_pandas_rolling_mean():
    y = np.random.default_rng(1).normal(size=23)
    assert np.allclose(oo.smooth(y, 5), pd.Series(y).rolling(5, min_periods=1).mean())


def test_collapse_and_slope_on_a_rise_and_fall():
    gold = np.array([1.0, 2.0, 4.0, 3.0, 1.0])
    proxy = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    assert oo.collapse(gold, proxy) == {
        "end_over_peak": 0.25,
        "proxy_gain": 2.0,
        "peak_iteration": 2,
    }
    assert oo.slope(np.array([1.0, 3.0, 5.0])) == pytest.approx(2.0)


def test_collapse_iteration_is_the_first_drop_below_a_fraction_of_the_running_peak():
    gold = np.array([1.0, 2.0, 4.0, 3.5, 3.1, 3.5, 2.0])
    assert oo.collapse_iteration(gold) == 4  # 3.1 <= 0.8 * 4
    assert oo.collapse_iteration(gold, fraction=0.5) == 6
    assert oo.collapse_iteration(np.array([1.0, 2.0, 3.0])) is None


def test_train_sends_a_run_with_grpo_settings_to_trl_and_the_others_to_ppo(monkeypatch):
    monkeypatch.setattr(oo, "run_ppo", lambda run: "ppo")
    monkeypatch.setattr(oo, "run_grpo", lambda run: "grpo")
    ppo_run = oo.Run("A", 0, "sft", "rm", "sft", config=dict(iterations=2))
    assert oo.train(ppo_run) == "ppo"
    assert (
        oo.train(oo.Run("G", 0, "sft", "rm", "sft", grpo=dict(max_steps=2))) == "grpo"
    )


# --- the chapter's experiment harness ---------------------------------------------------------------

P = PPOMaxSettings()
CONFIGS = {
    "A vanilla PPO": dict(ppo.VANILLA),
    "A + KL penalty only": dict(ppo.VANILLA) | dict(kl_coef=P.kl_coef),
    "B PPO-max": dict(),
}


def test_configurations_share_the_chapter_settings_and_vanilla_gets_the_sft_critic():
    cfg = oo.ppo_config(P, CONFIGS["A + KL penalty only"])
    assert (
        cfg["iterations"] == P.iterations
        and cfg["lr"] == P.lr
        and cfg["kl_coef"] == P.kl_coef
    )
    assert (
        oo.ppo_config(P, CONFIGS["A vanilla PPO"])["kl_coef"] == 0.0
    )  # the override wins
    assert oo.critic_init(CONFIGS["A vanilla PPO"], "sft", "rm") == "sft"
    assert oo.critic_init(CONFIGS["B PPO-max"], "sft", "rm") == "rm"
    table = oo.switch_table(CONFIGS, P)
    assert list(table.columns) == list(CONFIGS)
    assert list(table.loc["critic init"]) == [
        "SFT + fresh head",
        "SFT + fresh head",
        "reward model",
    ]
    assert (
        table.loc["kl_coef", "A vanilla PPO"] == 0.0
        and table.loc["kl_coef", "B PPO-max"] == P.kl_coef
    )
    assert (
        table.loc["reward_norm", "B PPO-max"]
        and not table.loc["reward_norm", "A vanilla PPO"]
    )
    assert set(table.loc["iterations"]) == {
        P.iterations
    }  # like with like: every configuration as long


def test_runs_are_one_per_seed_and_configuration_longest_first_each_on_its_seeds_reward_model():
    configs = CONFIGS | {"long": dict(iterations=P.iterations + 1)}
    runs = oo.ppo_runs(
        configs, P, [5, 6], "sft", {5: "rm5", 6: "rm6"}, eval_seed=10_005
    )
    assert [(r.name, r.seed) for r in runs] == [
        ("long", 5),
        ("long", 6),
        ("A vanilla PPO", 5),
        ("A + KL penalty only", 5),
        ("B PPO-max", 5),
        ("A vanilla PPO", 6),
        ("A + KL penalty only", 6),
        ("B PPO-max", 6),
    ]
    assert {r.critic_path for r in runs if r.name.startswith("A")} == {"sft"}
    assert all(r.rm_path == f"rm{r.seed}" for r in runs)
    assert [r.critic_path for r in runs if r.name == "B PPO-max"] == ["rm5", "rm6"]
    assert all(
        r.eval_seed == 10_005 and r.n_eval == P.eval_prompts and not r.grpo
        for r in runs
    )


def test_grpo_gets_the_samples_and_optimiser_steps_of_a_plus_kl():
    g = oo.grpo_settings(P)
    assert (
        g["n_prompts"] * g["num_generations"] == P.iterations * P.prompts_per_iteration
    )  # sampled responses
    assert (
        g["max_steps"] == P.iterations * P.epochs * P.minibatches
    )  # optimiser steps, as PPO's
    assert (
        g["num_iterations"] == P.epochs
    )  # passes over each generation, as PPO's epochs
    assert (
        g["beta"] == P.kl_coef
        and g["learning_rate"] == P.lr
        and g["loss_type"] == "grpo"
    )
    runs = oo.grpo_runs(P, [0, 1], "sft", {0: "rm0", 1: "rm1"}, eval_seed=7)
    assert [r.seed for r in runs] == [0, 1] and all(
        r.grpo == g and r.critic_path == "sft" for r in runs
    )
    assert [r.rm_path for r in runs] == ["rm0", "rm1"]


def test_grpo_table_lists_only_what_differs_from_trls_defaults():
    from trl import GRPOConfig

    g = oo.grpo_settings(P)
    table = oo.grpo_table(g).set_index("setting")
    default_beta = GRPOConfig.__dataclass_fields__["beta"].default
    assert (
        "beta" in table.index
        if g["beta"] != default_beta
        else "beta" not in table.index
    )
    assert (
        table.loc["loss_type", "here"] == "grpo"
        and table.loc["n_prompts", "TRL default"] == "(the book's)"
    )
    assert "lora_rank" not in table.index  # None: not set here
    assert "max_grad_norm" not in table.index  # 1.0 is TRL's default too


def test_grpo_takes_ppos_minibatches_per_pass_and_its_epochs_as_passes():
    """32 completions per generation in 2 minibatches, 2 passes: TRL's generation batch is PPO's
    iteration and it steps 4 times per generation, as PPO does per iteration."""
    from dataclasses import replace

    from trl import GRPOConfig

    from rlhfbook.core import runtime

    Q = replace(P, prompts_per_iteration=32, minibatches=2, epochs=2, iterations=5)
    g = oo.grpo_settings(Q)
    n_prompts, *_ = (g.pop(k) for k in oo.GRPO_OWN)
    args = GRPOConfig(**runtime.trainer_settings("unused", 0, "auto"), **g)
    assert args.generation_batch_size == 32 and args.per_device_train_batch_size == 16
    assert (
        args.steps_per_generation * args.num_iterations == 4 == Q.epochs * Q.minibatches
    )
    assert args.max_steps == 5 * 4 and n_prompts * Q.grpo_generations == 5 * 32
    assert (
        oo.ppo_config(Q, {})["minibatches"] == 2 and oo.ppo_config(Q, {})["epochs"] == 2
    )


def test_the_gpu_profile_trains_adapters_in_ppo_and_grpo_in_micro_batches():
    """PPO and GRPO train the same adapters at the same rate; GRPO keeps its 64-completion step in
    passes of 1 (TRL's generation batch, per-device batch x accumulation steps, stays 64)."""
    from trl import GRPOConfig

    from rlhfbook.core import runtime

    G = profiles.resolve("01_ppo_max", "gpu")
    cfg = ppo.PPOConfig(**oo.ppo_config(G, CONFIGS["B PPO-max"]))
    assert cfg.lora_rank == 16 and cfg.micro_batch == 1
    g = oo.grpo_settings(G)
    assert g["learning_rate"] == cfg.lr and g["per_device_train_batch_size"] == 1
    n_prompts, rank, chunk, autocast = (g.pop(k) for k in oo.GRPO_OWN)
    assert (
        rank == cfg.lora_rank
        and chunk == cfg.chunk_size == 64
        and autocast == cfg.autocast
    )
    args = GRPOConfig(**runtime.trainer_settings("unused", 0, autocast), **g)
    assert (
        args.per_device_train_batch_size * args.steps_per_generation
        == G.prompts_per_iteration
    )
    assert n_prompts * G.grpo_generations == G.iterations * G.prompts_per_iteration
    assert oo.ppo_config(P, {})["lora_rank"] is None is oo.grpo_settings(P)["lora_rank"]
    assert oo.grpo_settings(P)["gradient_accumulation_steps"] == 1


def test_win_rate_counts_a_tie_half():
    sft_gold = torch.tensor([0.0, 1.0, 2.0, 3.0])
    assert oo.win_rate([1.0, 1.0, 1.0, 4.0], sft_gold) == pytest.approx(
        (1 + 0.5 + 0 + 1) / 4
    )
    assert oo.win_rate(sft_gold.tolist(), sft_gold) == 0.5


def _out(name, seed, gold_curve, terms=None, eval_gold=(0.0, 1.0)):
    """A fake run_ppo output: a log whose gold terms are ``terms`` per iteration (utility = gold if None)."""
    terms = terms or [{"utility": g} for g in gold_curve]
    log = [
        {
            "gold_reward": g,
            "proxy_reward": float(i),
            "kl": 0.1 * i,
            "length": 10 + i,
            "perplexity": 1.0,
            "seconds": 1.0,
        }
        | {f"gold {t}": step.get(t, 0.0) for t in oo.TERMS}
        for i, (g, step) in enumerate(zip(gold_curve, terms))
    ]
    eval_terms = dict.fromkeys(oo.TERMS, 0.0) | {"non-words": -0.5}
    return {
        "run": {"name": name, "seed": seed},
        "log": log,
        "eval_gold": list(eval_gold),
        "eval_terms": eval_terms,
        "repeat_rate": 0.25,
        "samples": ["a"],
    }


def test_curves_are_the_smoothed_metric_per_seed_in_seed_order():
    outs = [
        _out("A", 1, [3.0, 1.0, 2.0]),
        _out("A", 0, [1.0, 2.0, 3.0]),
        _out("B", 0, [0.0, 0.0, 6.0]),
    ]
    logs = oo.logs_frame(outs)
    c = oo.curves(logs, "gold_reward", ["A", "B"], window=2)
    assert np.allclose(c["A"], [[1.0, 1.5, 2.5], [3.0, 2.0, 1.5]])  # seed 0 first
    assert np.allclose(c["B"], [[0.0, 0.0, 3.0]])


def test_channel_change_is_the_change_of_each_term_from_the_gold_peak_to_the_end():
    terms = [
        {"utility": 1.0},
        {"utility": 3.0},  # the gold peak
        {"utility": 3.0, "non-words": -1.0, "repeats": -0.6},
        {"utility": 2.0, "non-words": -2.0, "repeats": -0.6, "rambling": -0.4},
    ]
    gold = [sum(t.values()) for t in terms]
    logs = oo.logs_frame([_out("A", 0, gold, terms)])
    change = oo.channel_change(
        logs, oo.curves(logs, "gold_reward", ["A"], window=1)["A"], "A", window=1
    )
    assert change.loc[0].to_dict() == pytest.approx(
        {
            "utility": -1.0,
            "non-words": -2.0,
            "repeats": -0.6,
            "rambling": -0.4,
            "no EOS": 0.0,
        }
    )
    assert oo.ood_share(change).loc[0] == pytest.approx(2.6 / 4.0)
    table = oo.channel_table({"A": change})
    assert table.loc["A", "gold lost, peak -> end"] == pytest.approx(4.0)


def test_finals_end_values_and_the_tables_read_the_runs():
    sft_gold = torch.tensor([0.5, 0.5])
    outs = [
        _out(n, s, [1.0, 3.0, 2.0], eval_gold=(1.0, 0.5))
        for n in CONFIGS
        for s in (0, 1)
    ]
    logs, finals = oo.logs_frame(outs), oo.finals_frame(outs, sft_gold)
    assert set(finals.win_rate) == {0.75} and set(finals["held-out non-words"]) == {
        -0.5
    }
    assert list(oo.per_seed(finals, "B PPO-max", "eval_gold").index) == [0, 1]
    c = {
        m: oo.curves(logs, m, CONFIGS, window=1)
        for m in ("proxy_reward", "gold_reward", "kl", "length")
    }
    ends = pd.DataFrame({n: oo.end_values(n, c, finals) for n in CONFIGS}).T
    assert (
        ends.loc["A vanilla PPO", "gold peak"] == 3.0
        and ends.loc["A vanilla PPO", "gold end"] == 2.0
    )
    assert (
        ends.loc["A vanilla PPO", "proxy at gold peak"] == 1.0
        and ends.loc["A vanilla PPO", "proxy end"] == 2.0
    )
    assert ends.loc["B PPO-max", "KL end (nats)"] == pytest.approx(0.2)
    assert ends.loc["B PPO-max", "non-words per response (held-out)"] == 0.5
    drift = oo.drift_table(c | {"perplexity": c["kl"]}, list(CONFIGS))
    assert drift.loc[("A vanilla PPO", "length (chars)")].to_dict() == {
        "first iteration": 10.0,
        "end": 12.0,
        "change": 2.0,
    }
    assert len(drift) == 3 * len(oo.DRIFT)
    ingredients = oo.ingredients_table(ends, P)
    it = f", {P.iterations} iterations each"  # like with like, and the table says so
    assert list(ingredients["comparison"]) == [
        "A + KL vs A" + it,
        "B vs A + KL" + it,
    ]  # no C: two rows
    with_c = oo.ingredients_table(
        pd.concat(
            [ends, ends.loc[["B PPO-max"]].rename(index=lambda _: "C PPO-max, no KL")]
        ),
        P,
    )
    assert list(with_c["comparison"])[2:] == ["B vs C" + it, "C vs A" + it]
    assert ends.loc[
        "A vanilla PPO", "gold slope, second half (per iteration)"
    ] == pytest.approx(-1.0)
    pvb = oo.paper_vs_book(ends, 12.5, P)
    assert "proxy 1.00 -> 2.00, gold 3.00 -> 2.00" in pvb.iloc[0]["this book"]
    assert pvb.iloc[3]["this book"] == "C runs in the gpu profile only"
    grpo_outs = [
        {
            "run": {"seed": s},
            "eval_gold": [0.5, 1.0],
            "trace": [{"samples": 4}] * 3,
            "optimizer_steps": 12,
        }
        for s in (0, 1)
    ]
    grpo = oo.grpo_frame(grpo_outs, sft_gold)
    assert grpo.loc[0].to_dict() == {
        "eval_gold": 0.75,
        "win_rate": 0.75,
        "samples": 12,
        "optimizer_steps": 12,
    }
    comparison = oo.grpo_comparison(finals, grpo, P)
    assert (
        comparison.loc["TRL GRPO", "held-out gold (mean ± sd over seeds)"]
        == "0.75 ± 0.00"
    )
    assert (
        comparison.loc["PPO, vanilla + KL (same iterations)", "optimiser steps"]
        == P.iterations * P.epochs * P.minibatches
    )


def test_rm_gold_agreement_ignores_gold_ties():
    proxy_a, proxy_b = (
        torch.tensor([1.0, 0.0, 2.0, 5.0]),
        torch.tensor([0.0, 1.0, 3.0, 0.0]),
    )
    gold_a, gold_b = (
        torch.tensor([1.0, 1.0, 0.0, 2.0]),
        torch.tensor([0.0, 0.0, 1.0, 2.0]),
    )  # last pair: a tie
    acc, corr = oo.rm_gold_agreement(proxy_a, proxy_b, gold_a, gold_b)
    assert acc == pytest.approx(2 / 3)  # right on pairs 0 and 2, wrong on 1
    assert corr == pytest.approx(np.corrcoef(proxy_a, gold_a)[0, 1])


def test_exercise_configs_and_the_eta_sweep():
    ex = oo.exercise_configs(P)
    assert [o.get("kl_coef") for o in ex.values()] == [
        None,
        P.kl_coef / 2,
        P.kl_coef * 2,
    ]
    assert all(o["iterations"] == P.exercise_iterations for o in ex.values())

    def log(g):
        return pd.DataFrame(
            {"gold_reward": [9.0] + [g] * 5, "kl": [9.0] + [g / 10] * 5}
        )

    ex_logs = {name: log(float(k)) for k, name in enumerate(ex)}
    sweep = oo.eta_sweep(ex, ex_logs, P, log(5.0))
    assert list(sweep.index) == sorted([P.kl_coef / 2, P.kl_coef, P.kl_coef * 2])
    assert list(sweep["gold end"]) == [1.0, 5.0, 2.0]  # the last 5 iterations only
    assert sweep.loc[P.kl_coef, "KL end"] == pytest.approx(0.5)


def test_gold_reward_is_the_toy_gold_or_the_gold_reward_model_without_eos_minus_one(
    monkeypatch,
):
    from rlhfbook.chapters.ch01_ppo_max import gold_proxy
    from rlhfbook.lm import rollout

    task = toyworld.task("preference")
    r = rollout.Rollout.__new__(rollout.Rollout)
    monkeypatch.setattr(oo, "gold_scores", lambda t, ro: ("toy", t, ro))
    assert oo.gold_reward(task, None, "cpu", 128)(r) == ("toy", task, r)
    monkeypatch.setattr(gold_proxy, "transcript_reward", lambda *a: ("rm", *a))
    assert oo.gold_reward(task, "gold", "cpu", 96) == (
        "rm",
        "gold",
        "cpu",
        96,
        oo.NO_EOS_SCORE,
    )


def test_proxy_reward_reads_the_toy_text_or_the_hh_rlhf_transcript(monkeypatch):
    from rlhfbook.chapters.ch01_ppo_max import gold_proxy
    from rlhfbook.methods import reward_model

    monkeypatch.setattr(reward_model, "proxy_reward", lambda *a, **kw: ("toy", *a, kw))
    monkeypatch.setattr(gold_proxy, "transcript_reward", lambda *a: ("real", *a))
    assert oo.proxy_reward("rm", "tok", "cpu", False, 96) == (
        "toy",
        "rm",
        "tok",
        "cpu",
        {"no_eos_score": -1.0},
    )
    assert oo.proxy_reward("rm", "tok", "cpu", True, 96) == (
        "real",
        "rm",
        "cpu",
        96,
        -1.0,
    )


def test_fit_reward_model_trains_on_the_given_pairs_with_the_chapters_recipe(
    monkeypatch, tmp_path
):
    from dataclasses import replace
    from pathlib import Path

    from rlhfbook.methods import reward_model

    seen = {}
    monkeypatch.setattr(
        reward_model,
        "train_reward_model",
        lambda b, t, p, o, **kw: (seen.update(pairs=p, **kw), (Path(o), []))[1],
    )
    Q = replace(
        P, rm_steps=11, gold_rm_steps=99, rm_lr=0.5, rm_max_length=64, micro_batch=8
    )
    assert (
        oo.fit_reward_model(Q, "sft", None, "the pairs", tmp_path / "rm", 4, Q.rm_steps)
        == tmp_path / "rm"
    )
    expected = dict(
        steps=11,
        batch_size=32,
        lr=0.5,
        seed=4,
        max_length=64,
        micro_batch=8,
        autocast="auto",
    )
    assert seen == dict(pairs="the pairs", **expected)


def test_ood_check_is_the_lost_gold_through_non_words_and_repeats_minus_the_rest():
    change = pd.DataFrame(  # per seed, gold change peak -> end by term
        {
            "utility": [-1.0, -3.0, 0.0],
            "non-words": [-2.0, -0.5, -1.0],
            "repeats": [-1.0, 0.0, -1.0],
        }
        | {"rambling": [0.0, -0.5, 0.0], "no EOS": [0.0, 0.0, 0.0]},
        index=[0, 1, 2],
    )
    c = oo.ood_check(change)
    assert (
        c["per_seed"] == pytest.approx({0: 2.0, 1: -3.0, 2: 2.0}) and "passed" not in c
    )  # the rule decides
    assert (
        c["ours"]["non-words change (mean)"] == pytest.approx(-3.5 / 3)
        and c["threshold"] == 0.0
    )
    # the margin is >= 0 exactly where the share of the loss is >= 0.5, and near 0 where gold barely falls
    assert ((oo.ood_margin(change) >= 0) == (oo.ood_share(change) >= 0.5)).all()
    flat = pd.DataFrame(
        {t: [0.0] for t in oo.TERMS} | {"repeats": [-0.01], "utility": [0.011]},
        index=[0],
    )
    assert (
        oo.ood_margin(flat).loc[0] == pytest.approx(0.01 + 0.011)
        and abs(oo.ood_share(flat).loc[0]) > 5
    )
    assert (
        c["origin"] == "extension"
    )  # the book measures the channel; the paper infers it
    real = oo.ood_check(None)
    assert (
        real["not_evaluable"] == oo.TOY_ONLY + "."
        and "per_seed" not in real
        and real["claim"] == c["claim"]
    )
    assert (
        "changes by -3.33 per response" in c["context"]
        and "non-words -1.17" in c["context"]
    )


def test_each_seed_samples_its_own_pairs_and_trains_its_own_reward_model(
    monkeypatch, tmp_path
):
    from rlhfbook.lm import models
    from rlhfbook.methods import reward_model

    monkeypatch.setattr(models, "load_policy", lambda path, frozen: ("sft", "tok"))
    monkeypatch.setattr(
        reward_model,
        "preference_pairs",
        lambda pol, tok, task, n, rng, max_new_tokens: (n, rng.integers(1 << 30)),
    )
    fits = []
    monkeypatch.setattr(oo, "fit_reward_model", lambda *a: fits.append(a) or a[4])
    paths = [
        oo.toy_reward_model(
            (dict(profiles.resolve("01_ppo_max", "cpu")), "sft", str(tmp_path), s)
        )
        for s in (3, 4, 3)
    ]
    assert paths == [f"{tmp_path}/rm-3", f"{tmp_path}/rm-4", f"{tmp_path}/rm-3"]
    pickle.dumps(
        (dict(profiles.resolve("01_ppo_max", "cpu")), "sft", "out", 3)
    )  # a worker's job travels
    pairs = [f[3] for f in fits]
    assert (
        pairs[0] == pairs[2] != pairs[1] and pairs[0][0] == P.rm_pairs
    )  # the seed's own pairs, reproducibly
    assert [f[5:] for f in fits] == [(3, P.rm_steps), (4, P.rm_steps), (3, P.rm_steps)]


def test_drift_advice_names_the_indicators_that_separate_vanilla_from_the_penalised_runs():
    names = ["A vanilla PPO", "A + KL penalty only", "B PPO-max"]
    moves = {
        "kl": [17.0, 4.0, 4.5],
        "length": [4.0, 0.5, 1.0],
        "perplexity": [-0.3, -0.2, -0.25],
    }
    c = {
        m: {n: np.array([[0.0, v]]) for n, v in zip(names, vals)}
        for m, vals in moves.items()
    }
    drift = oo.drift_table(c, names)
    assert oo.drift_separates(drift, names[0], names[1:]) == {
        "KL to SFT (nats)": True,  # 17 >= 2 x 4.5
        "length (chars)": True,  # 4 >= 2 x 1
        "perplexity": False,  # 0.3 < 2 x 0.25
    }
    text = oo.drift_advice(drift, names[0], names[1:])
    assert text.startswith(
        "Of the drift indicators the paper recommends, watch KL to SFT and length:"
    )
    assert (
        "Perplexity does not (perplexity vanilla -0.30, A + KL -0.20, PPO-max -0.25)."
        in text
    )
    c["kl"] = {n: np.array([[0.0, 1.0]]) for n in names}
    c["length"] = c["kl"]
    assert "none moves twice as far" in oo.drift_advice(
        oo.drift_table(c, names), names[0], names[1:]
    )


def test_rm_gold_table_has_a_row_per_seed_with_accuracy_correlation_and_sd():
    gold_a, gold_b = (
        torch.tensor([1.0, 0.0, 2.0, 3.0]),
        torch.tensor([0.0, 1.0, 2.0, 1.0]),
    )
    perfect = {"a": gold_a, "b": gold_b}
    fns = {0: lambda s: perfect[s], 1: lambda s: -perfect[s]}
    table = oo.rm_gold_table(fns, "a", "b", gold_a, gold_b)
    assert list(table.index) == [0, 1] and table.index.name == "seed"
    assert table.loc[0, "accuracy on gold-ranked SFT pairs"] == 1.0
    assert table.loc[1, "accuracy on gold-ranked SFT pairs"] == 0.0
    assert table.loc[0, "correlation(proxy, gold)"] == pytest.approx(1.0)
    assert table.loc[1, "RM sd on SFT samples"] == pytest.approx(float(gold_a.std()))


def test_a_given_reward_model_serves_every_seed_and_records_nothing():
    P = profiles.resolve("01_ppo_max", "smoke", reward_model_name="some/rm")
    paths, metrics = oo.proxy_reward_models(P, [3, 4], "sft", None, "w", "cpu")
    assert paths == {3: "some/rm", 4: "some/rm"} and metrics == {}


def test_the_toy_world_holds_out_prompts_of_the_eval_seed_and_has_no_gold_model():
    P = profiles.resolve("01_ppo_max", "smoke")
    task = toyworld.task("preference")
    prompts, data = oo.held_out(P, task, 0, 10_000)
    assert data is None
    assert prompts == task.sample_prompts(P.eval_prompts, np.random.default_rng(10_000))
    assert oo.gold_model(P, "sft", None, None, "w", 0) == (None, {})
    given = profiles.resolve("01_ppo_max", "smoke", gold_reward_model_name="g/rm")
    assert oo.gold_model(given, "sft", None, object(), "w", 0) == ("g/rm", {})
