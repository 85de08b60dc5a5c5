# ---
# jupyter:
#   accelerator: GPU
#   colab:
#     gpuType: T4
#     provenance: []
#   jupytext:
#     notebook_metadata_filter: accelerator,colab
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. Process metrics for LLMs in strategic games
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rlhf-measured/rlhf-measured/blob/main/notebooks/05_strategic_games.ipynb)
#
# **The paper's claim.** Win rates say whether a model won, not how it got there. AdvGameBench
# {footcite}`yuan2025tracing` makes LLMs play adversarial build games under a budget -- a
# tower-defence game, an auto-battler and a turn-based combat game -- and records the *process*:
# each model writes an initial build from the rules, then the two sides take turns revising
# their builds with feedback on the last result, and a side over its budget loses. Beside the
# win rate (WR) it measures the over-budget ratio (OBR), how often a model changes its build
# (the over-correction risk rate, ORR), how often a change is followed by a win (the correction
# success rate, CSR) and the trend of wins over revisions (the improvement slope). Over 4,320
# rounds and 12 models, revising more often went with revising less successfully
# (Pearson r(ORR, CSR) = -0.51, p = 0.093), ChatGPT-o3-mini led with WR 74.7 %, CSR 78.6 % and a
# slope of +0.041, and Qwen-Plus lost most of its games (WR 25.6 %) chiefly by overspending.
#
# **What this chapter reproduces, and at what scale.** No LLM API is reachable from the book's
# machines. The chapter rebuilds the *measurement framework* -- two of the games as engines
# (the turn-based one with outcome noise, so that a result is evidence rather than a verdict),
# the benchmark's match protocol and its metrics, checked against a port of its evaluator, and a
# validator that enforces the stated rules -- and fills the league with two kinds of players: twelve scripted revisers
# whose behaviour is set by knobs drawn from declared priors in every league seed, and a **player trained in the book**, a tiny transformer that
# reads the game state, last round's outcome and the match's history and writes its next build. It is fine-tuned on
# the scripted players' turns, then trained by reinforcement learning with the match's
# outcome as reward and a budget it is free to break, on three training seeds; its SFT start and
# RL checkpoints enter the league beside the scripts, against fixed opponents it never trained against. The
# scripted players' metrics follow from their knobs; the trained player's do not, so the
# paper's claims about *process* can be tested on it and can fail. The `gpu` profile (or an
# OpenAI-compatible `endpoint`) plays a real instruct model through the same league.

# %% tags=["hide-input"]
# Colab only: install this book's package (does nothing anywhere else).
import os
import subprocess
import sys

if "google.colab" in sys.modules:
    from importlib.metadata import distributions

    before, imported = (
        {d.metadata["Name"]: d.version for d in distributions()},
        set(sys.modules),
    )
    subprocess.check_call(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            os.environ.get(
                "RLHFBOOK_PIP_SPEC",
                "rlhfbook @ git+https://github.com/rlhf-measured/rlhf-measured@main",
            ),
        ]
    )
    from rlhfbook.book import colab

    colab.report_install(before, imported)

# %% tags=["parameters"]
profile = "cpu"  # smoke | cpu | gpu (a Colab T4) | gpu-full (an 80 GB GPU)
seed = 0
model_name = None  # LLM player: a hub id or local folder (None: the profile's; cpu: an untrained toy model)
endpoint = None  # an OpenAI-compatible base URL, e.g. "http://localhost:8000/v1" (uses model_name)

# %%
import rlhfbook
from rlhfbook.report import diagram, display

P, results = rlhfbook.start_chapter(
    "05_strategic_games", profile, seed, model_name=model_name, endpoint=endpoint
)

# %% tags=["hide-input"]
import numpy as np
import pandas as pd
import torch
from IPython.display import display as show

from rlhfbook.chapters.ch05_strategic_games import report
from rlhfbook.chapters.ch05_strategic_games.report import CHECKPOINTS, SHOWN
from rlhfbook.methods import grpo
from rlhfbook.methods.games import TowerDefense, TurnBased, benchmark, learned, probes
from rlhfbook.methods.games import metrics as gm
from rlhfbook.methods.games import players as gp
from rlhfbook.methods.games import protocol as pr
from rlhfbook.methods.games.tower_defense import simulate_row
from rlhfbook.methods.games.turn_based import duel

# %%
TRAINING_SEEDS = 3  # the trained recipe: training seeds seed, seed + 1, seed + 2
NOISE = 0.2  # turn-based outcome noise: damage x exp(0.2 z), z ~ N(0, 1), per round
game, td = TurnBased(noise=NOISE), TowerDefense()
budgets = {g.name: g.budgets for g in (game, td)}
league_seeds = [seed + i for i in range(P.league_seeds)]

# %% tags=["remove-cell"]
display.figure(
    diagram.pipeline(
        [
            ("data", "Two games", "turn-based duel and tower defense, with budgets"),
            ("model", "Players", "scripted revisers; a toy player: SFT, then GRPO"),
            ("train", "GRPO", f"{P.rl_iterations} iterations of sparring matches"),
            (
                "evaluate",
                "League",
                f"{P.league_seeds} seeds x {P.rounds} revision rounds per match",
            ),
            (
                "evaluate",
                "Process metrics",
                "WR, OBR, ORR, CSR, slope; their correlations",
            ),
        ]
    ),
    "ch5-pipeline",
)

# %% [markdown]
# ```{glue:figure} ch5-pipeline
# :name: fig-ch5-pipeline
# :alt: Five boxes: two games, players, GRPO training, league, process metrics
#
# What the chapter runs: the games, the players (scripted, and one trained in the book by SFT and GRPO), a league of matches with revision rounds on every league seed, and the paper's process metrics of every player.
# ```

# %% [markdown]
# ## 1. Two games with budgets
#
# **Turn-based combat.** Invaders (Fire, Water, Dark) against Defenders (Wood, Earth, Light),
# 20 budget points each. A side fields three characters, one per element, each with three skills
# from its element's six (costs 1-5); a build costs the sum of its skill costs. As in the
# official engine, characters use their skills in round-robin order, and the team fight is a
# queue of duels in which the winner stays in with the HP it has left. The elemental chart
# multiplies damage by 1.2 when effective (Fire > Wood > Earth > Water > Fire), 0.8 when
# resisted, and 1.5 between Light and Dark. Skill names and costs are the benchmark's; their
# effects are reduced to six primitives (damage, burn, heal, shield, boost, exposure), and the
# catalogue an LLM player reads is printed from the same table the engine runs.
#
# The official engine is deterministic and fully observed: a build that won keeps winning
# against an opponent that does not change, so keeping after a win cannot go wrong and a
# result settles whether a build is good. The book's world adds **outcome noise**: in every
# simulated round each character's damage is scaled by its form, $e^{0.2 z}$ with
# $z \sim N(0, 1)$ drawn afresh. A result is then evidence about a build, not a verdict, and
# revising after a win or keeping after a loss is a real decision. The scripted players judge
# candidate builds with one noisy simulation each, a private and imperfect model of the engine.
# (The noise level was chosen on pilot league seeds 500-502, where keeping a build after a win
# won the next round 77 % of the time at noise 0.15 instead of 100 %; 0.2 is the chapter's.)
#
# **Tower defence.** Humans (budget 2000) place units on a 5 x 11 board; Demons (budget 1500)
# enter a row at its right end at their spawn time and walk left; a demon that reaches the left
# edge wins the game for the Demons. The official simulator is a real-time pygame loop, so its
# outcome can depend on the machine; this one advances in fixed ticks of 125 ms and rows are
# simulated independently, which makes a simulation a pure function of the two builds. Here is
# the core of each engine:

# %%
display.show_source(duel, simulate_row)

# %% [markdown]
# Every game offers the protocol the same interface: costs, rule checks that turn a player's
# text into a legal build plus a list of *rule violations*, a simulation that returns the winner
# and a margin, and the local edits the scripted players use. We time 300 simulations of random
# builds per game.

# %% tags=["hide-input"]
print(
    f"profile {profile}: {P.rounds} revisions per match, league seeds "
    f"{league_seeds[0]}-{league_seeds[-1]}, "
    f"{P.n_candidates} candidate builds per scripted best response\n"
)
speed, defender_wins = report.time_simulations(
    (game, td), np.random.default_rng(seed), n=300
)
for name, ms in speed.items():
    print(
        f"{name:>14}: {ms:.2f} ms per simulation; defender wins "
        f"{defender_wins[name]:.0%} of matches between random builds"
    )
results.timing("ms_per_simulation", speed)
print("\nWhat an LLM player reads (turn-based, defender side, first lines):\n")
print("\n".join(game.rules_text("defender").splitlines()[:12]))

# %% [markdown]
# ## 2. The match protocol
#
# A match follows the benchmark's `init.py` and `battle.py`:
#
# 1. **Initial builds.** Each player writes a build from the rules alone. An answer over budget
#    or unparseable is returned with feedback, up to 5 tries; the last answer stays even if it is
#    still over budget. As in the benchmark, a player's initial build per game and side is
#    written once per league and reused in all its matches.
# 2. **Alternating revisions.** Rounds $r = 1, \dots, R+1$ each simulate the current builds;
#    after round $r \le R$ one side (alternating, starting with the side that moves first) sees
#    the result, its cost and the budget, the rules and both builds, and returns a full new
#    build. With $R = 10$ each side revises five times.
# 3. **Budget adjudication.** If exactly one side is over budget it loses; if neither, the
#    simulation decides; if both, the smaller relative overrun wins, and equal overruns mean no
#    winner (a loss for both in the metrics).
#
# A tested player meets each fixed opponent in four settings: as defender or invader, moving
# first or second. Unparseable answers, unknown skills and illegal placements are recorded as
# rule violations and dropped; play goes on with what is left, or with the previous build if
# nothing could be parsed. The book plays all matches of a league side by side, round by round
# (`play_matches`), so that a neural player answers every turn of a round in one batch; each
# match keeps its own random generator, so its log does not depend on its neighbours.

# %%
display.show_source(pr.adjudicate)

# %% [markdown]
# ## 3. The process metrics
#
# The benchmark's evaluator (`compute_metrics`) reads one CSV per (model, role, move order):
# the matches against all fixed opponents, appended one after the other. It drops round 1 and
# keeps the rounds that evaluate a build the tested model has *just revised* (even rounds when
# it moves first, odd rounds when second). On the kept sequence $k = 0, \dots, n-1$ with wins
# $w_k \in \{0, 1\}$ (after adjudication) and own build costs $c_k$, and budget $B$:
#
# $$\mathrm{WR} = \frac1n \sum_k w_k, \qquad \mathrm{OBR} = \frac1n \sum_k \mathbb 1[c_k > B],$$
#
# $$\mathrm{ORR} = \frac{\#\{k \ge 1 : c_k \ne c_{k-1}\}}{n-1}, \qquad
# \mathrm{CSR} = \frac{\#\{k \ge 1 : c_k \ne c_{k-1},\ w_k = 1\}}{\#\{k \ge 1 : c_k \ne c_{k-1}\}},$$
#
# and the improvement slope $\beta$ is the least-squares slope of $w_k$ on $k$. Two details
# matter later: a *correction* is a change of total cost, so a revision that keeps the cost
# (reordering skills, moving a unit) is not counted; and the code sets CSR to 0 when there is no
# correction at all. The paper's prose defines CSR differently ("how often a revision leads to
# improved results, either by eliminating a rule violation or by turning a loss into a win");
# `csr_paper` implements that reading as a named variant. Per model, the metrics are averaged
# over its CSVs and then over games.

# %%
display.show_source(gm.process_metrics)

# %% [markdown]
# A hand-made example: kept rounds with costs [18, 18, 20, 19, 19], wins [0, 0, 1, 0, 1] and
# budget 18. The cost changes at $k = 2$ (a win) and $k = 3$ (a loss), so ORR = 2/4 and
# CSR = 1/2; three of five builds are over budget; the slope of the wins on 0..4 is 2/10.
# Edge cases return the benchmark's defined values.

# %%
hand = gm.process_metrics([0, 0, 1, 0, 1], [18, 18, 20, 19, 19], budget=18)
expected = {"WR": 0.4, "OBR": 0.6, "ORR": 0.5, "CSR": 0.5, "slope": 0.2}
hand_error = max(abs(hand[k] - v) for k, v in expected.items())
edge_cases = report.metric_edge_cases(budget=18)
edges_finite = all(np.isfinite(v) for m in edge_cases.values() for v in m.values())
show(display.table(pd.DataFrame({"computed": hand, "by hand": expected}).T))
display.table(pd.DataFrame(edge_cases).T)

# %% [markdown]
# The metric functions work on the book's tidy logs. As an independent oracle, `benchmark.py`
# ports the evaluator's definitions to the benchmark's own CSV schema (winner labels
# "Defenders" / "Invaders", the model named in its role's column, the slope by a least-squares
# fit with an intercept), row by row as its code walks the file. We compare the two on random
# logs of one to three appended matches, both roles and both move orders.

# %%
display.show_source(benchmark.compute_metrics)
n_random_logs = 200
parity = benchmark.parity(n_random_logs, seed=seed)
results.metric("oracle_max_abs_difference", parity)
display.quote(parity=parity, n_random_logs=n_random_logs)

# %% [markdown]
# Over {glue:text}`n_random_logs` random logs, two roles, two move orders and five metrics,
# the largest difference from the ported evaluator is {glue:text}`parity:.1e`.

# %% [markdown]
# ## 4. What is tested, and when a claim counts as reproduced
#
# The paper's claims are about twelve LLMs, one value each: a negative r(ORR, CSR) (-0.51)
# across models, process metrics that tell apart models win rate does not, and a low win rate
# for its overspender "primarily due to excessive resource use". The book tests the *sign* of
# each claim -- the threshold the paper's claim sets is 0, except for the separation of players,
# where it is the share that chance alone would give (section 8) --
# evaluated per *league seed* (a full replay of the league with fresh randomness in every match
# and fresh initial builds), with the mean over the seeds and its standard error (SE). A claim
# is reproduced when the mean and two SE on either side lie entirely on the paper's side of 0,
# contradicted when they lie entirely on the other side, and inconclusive otherwise. Two checks
# are labelled *extension*: the paper trains nothing, so "RL raises the prose CSR" and "the
# trained player uses the feedback" are the book's questions, not the paper's. These rules,
# fixed before the checked league was run, are the table below. The trained player's recipe was
# tuned on pilots (training seeds 100-102, league seeds 100-109) and the checks were piloted on
# seed 500 (league seeds 500-509), none of which is among the checked seeds.
#
# Some of the paper's numbers cannot be tested here at all: that there are 12 LLMs, o3-mini's
# CSR (78.6 %) and slope (+0.041), and the sign of r among *LLMs*. A toy world has no o3-mini;
# what it can test is whether the paper's relations hold among players whose behaviour is known.

# %% tags=["hide-input"]
display.quote(
    first_league_seed=league_seeds[0],
    last_league_seed=league_seeds[-1],
    n_league_seeds=len(league_seeds),
    training_seed=seed,
)
display.table(report.claims_table())

# %% [markdown]
# Checked league seeds: {glue:text}`first_league_seed` to {glue:text}`last_league_seed`
# ({glue:text}`n_league_seeds` seeds); the trained player's training seed is
# {glue:text}`training_seed`.

# %% [markdown]
# ## 5. The players
#
# All players sit behind one interface: `act(turn)` receives the game, the side, the previous
# build, the opponent's build, the last winner and a feedback line, and returns text with a JSON
# build (`act_batch` answers the turns of matches played side by side).
#
# ### Scripted revisers
#
# The scripted revisers have five knobs: the probability of revising after a loss and after a
# win (revising a winning build is the over-correction the paper's ORR is named after), the
# revision quality $q$ (the chance a revision is a best response: candidate edits simulated
# against the opponent's current build, the best margin kept; otherwise 1-3 random edits), the
# budget slip (the chance a proposed build is pushed 10-50 % over budget) and the chance the
# first build is planned from the rules rather than random. Twelve *families* form the league,
# named by the behaviour they stand for; a family is not one player but a prior. In every league
# seed each family's player is drawn afresh: how often it revises after a loss and after a win,
# how good its revisions are and how often it slips over budget are each drawn uniformly within
# $\pm${glue:text}`knob_spread` of the family's value (clipped to [0, 1]). The prior was declared
# before any league ran; the league seed draws the players, and the trained player learns from
# a population drawn the same way from its training seed. Three more players are the fixed
# opponents every tested player meets; the two that revise overspend sometimes, so a tested
# player's over-budget build does not lose by the rules alone. The table lists the families'
# values and the fixed opponents.

# %%
display.show_source(gp.ScriptedReviser.build, gp.draw_league)
league_players = {  # league seed -> its twelve drawn players
    s: gp.draw_league(P.knob_spread, np.random.default_rng([7, s]), P.n_candidates)
    for s in league_seeds
}
population = gp.draw_league(  # what the trained player learns from
    P.knob_spread, np.random.default_rng([8, seed]), P.n_candidates
)
opponents = gp.fixed_opponents(P.n_candidates)
display.table(report.knob_table(gp.league(P.n_candidates), opponents))

# %% tags=["remove-cell"]
display.quote(knob_spread=P.knob_spread)

# %% [markdown]
# ### A player trained in the book
#
# The benchmark's LLMs read a prompt and write JSON. The trained player reads the same
# information as a short sequence of *game tokens* -- its side, last round's result, its cost,
# its build and the opponent's -- and writes `keep` or `revise` followed by a full build, one
# token per element or skill. Nothing in the vocabulary enforces the rules: it can write a build
# over budget, repeat an element or give a character another element's skill, and the protocol
# parses its answer like any other, so those become over-budget builds and rule violations. The
# model is the toy world's tiny Llama over this vocabulary.
#
# It is trained in two stages, against twelve scripted players drawn from the families' prior
# with the training seed (`population`; never the fixed opponents, and not the league's draws):
#
# 1. **SFT** on demonstrations: every turn those scripted players answered in matches among
#    themselves, with the toy world's SFT loop.
# 2. **RL** with a group-relative policy gradient (GRPO {footcite}`shao2024deepseekmath`),
#    rewarded per *match*. Each iteration draws sparring matches against those players and
#    plays each one a group of times from the same start with the same random draws, the policy
#    sampling its own answers in every copy; its context carries the match's history (its
#    results in the earlier rounds). A copy's reward is the share of rounds 2 to $R+1$ the policy
#    won, budget rule included; every answer in a copy gets the copy's reward standardised
#    within its group as its advantage. The update is PPO's clipped surrogate
#    {footcite}`schulman2017ppo` with a KL penalty to the SFT policy. The reward says nothing
#    else: not to revise after a loss, to keep a winning build or to watch the cost, so any such
#    *process* is learned, not scripted; and because a revision is paid for the rest of the
#    match, improving over the rounds is something the policy can learn.

# %%
display.show_source(learned.match_reward, grpo.group_advantages)
recipe = learned.Recipe(
    demo_matches=P.demo_matches,
    sft_steps=P.sft_steps,
    early=P.rl_early,
    seed=seed,
    noise=NOISE,
    grpo=learned.LeagueGRPOConfig(
        iterations=P.rl_iterations,
        matches=P.rl_matches,
        group_size=P.group_size,
        rounds=P.rounds,
    ),
)
trained, record = learned.trained_players(recipe, population, population)

# %% tags=["hide-input"]
codec = next(iter(trained.values())).codec
grpo_log = pd.DataFrame(record["grpo_log"]).set_index("iteration")
results.metric("training", {"demonstrations": record["demonstrations"]})
results.timing(
    "training",
    {
        "seconds": record["seconds"],
        "sft_seconds": record["sft_seconds"],
        "loaded_from_cache": record["cached"],
    },
)
print(report.training_summary(record, recipe))
context, answer = report.example_answer(game, trained["RL late"], codec, seed)
print("\na context:", context)
print("RL late's answer, as the protocol reads it:", answer)

# %% tags=["remove-cell"]
display.figure(
    report.plot_grpo(
        grpo_log, dict(zip(CHECKPOINTS, (0, recipe.early, recipe.grpo.iterations)))
    ),
    "ch5-grpo",
)

# %% [markdown]
# ```{glue:figure} ch5-grpo
# :name: fig-ch5-grpo
# :alt: Line plots of the RL stage over GRPO iterations: win rate, over-budget share, keep rate and KL to the reference, with the three checkpoints marked
#
# The RL stage, measured on the sparring matches it plays against its training population (left:
# the reward, the share of a match's later rounds won). Vertical lines mark the three checkpoints that enter the league (SFT, RL early, RL late, in their colours
# throughout the chapter).
# ```
#
# The same recipe is trained with {glue:text}`training_seeds` training seeds in all (from
# the chapter's seed on); the SFT and RL late checkpoints of the other seeds enter the league
# too, as `SFT (t2)`, `RL late (t2)` and so on, so that what training does is measured over
# training seeds, not read off one run.

# %%
replica = report.replicas(recipe, population, population, TRAINING_SEEDS)
display.quote(training_seeds=TRAINING_SEEDS)

# %% [markdown]
# ## 6. The league
#
# Every player -- the twelve scripted revisers drawn for the seed and the trained checkpoints --
# meets every fixed opponent in the turn-based game in all four settings, in every league seed. The opponents are
# played in the order listed (static, moderate, strong), as the benchmark plays its
# `--fix-models` list, and each CSV holds one player's matches in one role and move order.

# %%
torch.manual_seed(seed)  # the trained players sample their answers
checkpoints = list(trained.values()) + list(replica.values())
players = {s: checkpoints + league_players[s] for s in league_seeds}
logs, timing = pr.run_league(
    [game], players, opponents, rounds=P.rounds, seeds=league_seeds
)
per_csv = gm.csv_metrics(logs, budgets)
seed_table = gm.player_table(per_csv)  # one row per (league seed, player)
table = seed_table.groupby("player", sort=False).mean()
table["S"] = gm.composite(table)

# %% tags=["hide-input"]
per_match = gm.csv_metrics(logs, budgets, per_match=True)
kept = gm.kept_table(logs, budgets)
results.metric("league", {"matches": int(logs["match"].nunique()), "rounds": len(logs)})
results.timing(
    "league",
    {"seconds": timing["seconds"], "simulations_per_s": timing["simulations_per_s"]},
)
results.metric("player_table", table.round(4).to_dict(orient="index"))
print(
    f"{logs['match'].nunique()} matches, {len(logs)} simulated rounds, "
    f"{timing['simulations']} simulations (best responses included) "
    f"in {timing['seconds']:.1f} s"
)
display.table(table.sort_values("S", ascending=False).drop(columns="CSR_paper"))

# %% [markdown]
# The table lists each player's metrics averaged over its CSVs (4 settings) and then over the
# league seeds; `violations` counts the rule violations in the answers behind its kept builds
# per CSV, and `S` is the book's composite score (section 11). The radar charts show the same
# numbers with every axis oriented so that outward is better (1 - OBR, 1 - ORR, and the slope
# mapped to $\mathrm{clip}(0.5 + 5\beta, 0, 1)$).

# %% tags=["remove-cell"]
display.figure(
    report.plot_radar(
        table,
        [
            (CHECKPOINTS, "the trained player's checkpoints"),
            (SHOWN, "four scripted revisers"),
        ],
    ),
    "ch5-radar",
)

# %% [markdown]
# ```{glue:figure} ch5-radar
# :name: fig-ch5-radar
# :alt: Radar charts of each player process metrics, the trained checkpoints beside four scripted revisers
#
# Process profiles (radial axis: metric value from 0 to 1, outward is better), means over the
# league seeds.
# ```
#
# Compare the trained player's shape before and after RL with the
# scripted shapes: the best-response reviser, an over-corrector that changes winning builds
# (its 1 - ORR spoke shrinks) and a budget slipper (its 1 - OBR spoke shrinks, and WR with it).
#
# ### Are the rules enforced, and does one build win everything?
#
# The rules field three characters per side; the validator rejects a smaller team (the previous
# build stays in play, and the answer counts as a rule violation). If one build beat nearly every
# other, revising would have nothing to decide: keep that build and win. We play a sample of the
# builds each side fielded in the league against a disjoint sample of the other side's builds.

# %%
characters = report.character_counts(logs, game)
dominant, best_fixed = report.dominance_report(game, logs, seed)
display.table(dominant)

# %% tags=["hide-input"]
results.metric("characters", characters)
results.metric("best_fixed_build", best_fixed)
display.quote(
    fewer_than_three=characters["fewer than three characters"],
    forfeit=characters["empty (forfeit)"],
    best_fixed_defender=best_fixed["defender"],
    best_fixed_invader=best_fixed["invader"],
)

# %% [markdown]
# Builds in play with fewer than three characters: {glue:text}`fewer_than_three:.1%`; empty
# (forfeit): {glue:text}`forfeit:.1%`. The best fixed build's win rate in the table is
# {glue:text}`best_fixed_defender:.0%` as defender and {glue:text}`best_fixed_invader:.0%` as
# invader.

# %% [markdown]
# ### A revision trace
#
# What the metrics see in one match: RL late as defender against the strongest fixed opponent,
# moving first, in the first league seed. Only the `kept` rounds (those evaluating its fresh
# revisions) enter the metrics; a `correction` is a kept round whose cost differs from the
# previous kept round.

# %%
trace, one_match = report.described_trace(
    logs, game, seed, "RL late", opponents[-1].name, "defender", "first"
)
display.quote(**{f"trace_{k}": v for k, v in one_match.items()})
display.table(trace)

# %% [markdown]
# The metrics of this match alone: WR {glue:text}`trace_WR:.2f`, OBR
# {glue:text}`trace_OBR:.2f`, ORR {glue:text}`trace_ORR:.2f`, CSR {glue:text}`trace_CSR:.2f`
# and slope {glue:text}`trace_slope:.2f`.

# %% [markdown]
# ## 7. Does training change the process, or only the outcome?
#
# The paper reads process metrics as evidence of *how* a model plays. If that reading is right,
# training that raises the win rate should show up in the process too: corrections that succeed
# more often, and wins that come more often as the match goes on (the slope). The benchmark's
# code counts a correction as successful when the round after it is won, so for a player that
# mostly wins its CSR is close to its WR. The paper's prose defines success as a correction that
# removes a rule violation or *turns a loss into a win* (`CSR (prose)`); the check uses that. We compare
# the three checkpoints against the fixed opponents, none of which they trained against. The
# table adds two behaviours the benchmark does not score but that explain its numbers: how
# often the player changes its build after a loss and after a win.

# %%
slope_match = report.slope_per_match(per_match)
behaviour = report.checkpoint_behaviour(table, kept, slope_match, CHECKPOINTS)
# RL late - SFT per league seed, averaged over the training seeds
d_csr = report.over_training_seeds(
    seed_table["CSR_paper"], league_seeds, TRAINING_SEEDS
)
d_wr = report.over_training_seeds(seed_table["WR"], league_seeds, TRAINING_SEEDS)
d_slope = report.per_seed_difference(slope_match, league_seeds)  # first training seed
summary = report.difference_summary(
    {"WR": d_wr, "CSR (prose)": d_csr, "slope per match": d_slope}
)
show(display.table(behaviour))
display.table(summary)

# %% tags=["hide-input"]
results.metric("checkpoints", behaviour.round(4).to_dict(orient="index"))

# %% tags=["remove-cell"]
display.figure(
    report.plot_win_curves(kept, opponents[0].name, CHECKPOINTS + ["best-response-1"]),
    "ch5-win-curves",
)

# %% [markdown]
# ```{glue:figure} ch5-win-curves
# :name: fig-ch5-win-curves
# :alt: Win rate at each kept round of a match, one line per checkpoint and the best-response reviser
#
# Win rate at each kept round of a match, over all matches and league seeds.
# ```
#
# The
# improvement slope is the tilt of these lines; compare where each checkpoint starts with where
# it ends.

# %% tags=["hide-input"]
k_first, k_last = report.first_and_last_wins(kept, CHECKPOINTS)
display.quote(**report.training_quotes(behaviour, k_first, k_last, d_csr, d_slope))

# %% [markdown]
# RL late wins {glue:text}`rl_first_win:.0%` of its first kept rounds and
# {glue:text}`rl_last_win:.0%` of its last (SFT: {glue:text}`sft_first_win:.0%` and
# {glue:text}`sft_last_win:.0%`). Training changed the prose CSR by
# {glue:text}`d_csr_prose:+.3f` (SE {glue:text}`d_csr_prose_se:.3f`) and the per-match slope
# by {glue:text}`d_slope_match:+.4f` (SE {glue:text}`d_slope_match_se:.4f`). RL late changes
# its build after {glue:text}`rl_change_loss:.0%` of its losses and
# {glue:text}`rl_change_win:.0%` of its wins (SFT: {glue:text}`sft_change_loss:.0%` and
# {glue:text}`sft_change_win:.0%`), and its share of over-budget builds went from
# {glue:text}`sft_obr:.1%` to {glue:text}`rl_obr:.1%`.

# %% [markdown]
# What does RL late play? Its most frequent builds on each side, with the share of its rounds
# they were in play, their cost and the rule violations of the answers that produced them:

# %%
frequent = report.frequent_builds(logs, game, "RL late", top=2)
results.metric("rl_late_frequent_builds", frequent.to_dict(orient="records"))
display.table(frequent.set_index("side"))

# %% [markdown]
# A build the validator had to trim -- a skill of another element, a fourth skill -- still plays
# with what is left, so such a violation costs the policy nothing; a team of fewer than three
# characters is rejected and the previous build stays in play.
#
# ### Does the trained player use the feedback?
#
# A player could win without reading the result at all. The flip test asks each checkpoint the
# same revision turns it met in the league twice, once told it won the last round and once told
# it lost, with everything else -- both builds, the random draws -- equal, and counts how often
# it keeps its build (`effect`: keep when told it won minus keep when told it lost). The
# feedback also shows the opponent's last build, so the test perturbs that too: the same turns,
# the result as it was, the opponent's build swapped for another one the player met, and the
# share of answers that change (`opponent effect`). A player that ignores the feedback scores 0
# on both; the book's tests check the test on scripted players that ignore the feedback, that
# read only the result, and that best-respond to the opponent's build. One row per checkpoint
# and training seed (means over the league seeds): what training learns about the feedback can
# differ from one training seed to the next.

# %%
flip_table, flip_rl = report.flip_tests(
    trained | replica, game, logs, league_seeds, TRAINING_SEEDS
)
results.metric("flip_test", flip_table.round(4).to_dict(orient="index"))
display.table(flip_table)

# %% [markdown]
# The reward mentions neither keeping nor the cost; the numbers above say how far RL learned
# either. An over-budget build loses its round unless the opponent overruns more.
# The CSR counts the corrections followed by a win, so it rises when the answers to losses
# start to win. The slope is a different quantity: it measures how much a player *gains*
# during a match, not how well it plays. A player that wins its first revision has little room
# to climb; the reward pays for the whole match, not for climbing within it.
#
# ## 8. Revising more often, revising less well? ORR against CSR
#
# The paper's central process finding is a negative correlation between how often a model
# changes its build and how often a change pays off: the raw Pearson r(ORR, CSR) across models,
# -0.51. The check is that statistic, across this league's players, per league seed. Both
# metrics, however, move with the win rate: a player that loses more has more to correct (ORR
# rises), and a player that wins more has more corrections followed by a win (CSR rises), so a
# negative raw r can come from win rate alone. The book also reports, without checking it, the
# partial correlation given WR -- in this world close to an accounting identity, since WR mixes
# the rounds after a correction (won at rate CSR) with those after none:
#
# $$r_{\mathrm{ORR},\mathrm{CSR}\mid\mathrm{WR}} = \frac{r_{OC} - r_{OW}\, r_{CW}}
# {\sqrt{(1 - r_{OW}^2)(1 - r_{CW}^2)}},$$
#
# the correlation of what is left of ORR and of CSR once each is regressed on WR.

# %%
display.show_source(gm.partial_correlation)
correlations = report.seed_correlations(seed_table, league_seeds)
raw_r, r_csr_wr, r_orr_wr, partial_r = (
    correlations[c].to_dict() for c in correlations.columns
)
m_raw, se_raw = gm.mean_se(list(raw_r.values()))
m_partial, se_partial = gm.mean_se(list(partial_r.values()))
display.table(correlations.agg(["mean", "std"]))

# %% tags=["hide-input"]
results.metric("correlations_per_seed", correlations.round(4).to_dict(orient="index"))
display.quote(
    n_players=len(table),
    m_raw=m_raw,
    se_raw=se_raw,
    raw_low=m_raw - 2 * se_raw,
    raw_high=m_raw + 2 * se_raw,
    m_partial=m_partial,
    se_partial=se_partial,
)

# %% [markdown]
# Over {glue:text}`n_league_seeds` league seeds of {glue:text}`n_players` players,
# r(ORR, CSR) = {glue:text}`m_raw:+.3f` (SE {glue:text}`se_raw:.3f`; mean ± 2 SE from
# {glue:text}`raw_low:+.3f` to {glue:text}`raw_high:+.3f`), and the partial r given WR is
# {glue:text}`m_partial:+.3f` (SE {glue:text}`se_partial:.3f`); the paper's r is -0.51
# over 12 models.

# %% tags=["remove-cell"]
display.figure(
    report.plot_orr_csr(table, CHECKPOINTS + SHOWN, m_raw, m_partial),
    "ch5-orr-csr",
)

# %% [markdown]
# ```{glue:figure} ch5-orr-csr
# :name: fig-ch5-orr-csr
# :alt: Scatter of CSR against ORR per player, raw and after removing what win rate explains
#
# Each point is a player (means over the league seeds); grey points are the scripted players not
# named. Left: the paper's statistic. Right: the same after removing what win rate explains from
# both axes. Each title quotes the mean over league seeds of the per-seed correlation, the number
# the text and the checks use (the correlation of the plotted means is a different number).
# ```
#
# The correlation table above the figure says how strongly CSR
# and ORR each move with WR, and its last column what remains of the ORR-CSR relation once WR is
# accounted for.
#
# The paper also reads its process metrics as telling apart models that win rate alone does
# not. The check: in each league seed, take the pairs of players whose win rates differ by less
# than {glue:text}`wr_margin` -- pairs win rate does not separate -- and count those that ORR or
# CSR does separate: the mean over the pair's {glue:text}`separation_units` paired matches
# (same role, move order and opponent) of the metric's difference lies beyond 2 SE of 0. Two
# identical players would be flagged in a share {glue:text}`chance_share:.3f` of pairs by chance
# alone (two metrics, each beyond 2 SE with probability P(|t| > 2) at
# {glue:text}`separation_df` degrees of freedom); the decisive number per league seed is the
# share of matched pairs separated, and the claim is reproduced when its mean - 2 SE lies above
# that chance share. The margin and the rule were fixed before any league ran.

# %%
separation = report.separated_pairs(per_match, seed_table, league_seeds)
results.metric("separated_pairs", separation.round(4).to_dict(orient="index"))
m_sep, se_sep = gm.mean_se(list(separation["share separated"]))
display.table(separation)

# %% tags=["hide-input"]
display.quote(
    wr_margin=report.MATCHED_WR_MARGIN,
    separation_units=report.SEPARATION_UNITS,
    separation_df=report.SEPARATION_UNITS - 1,
    chance_share=report.chance_separation(),
    matched_per_seed=separation["matched pairs"].mean(),
    m_sep=m_sep,
    se_sep=se_sep,
)

# %% [markdown]
# Per league seed, {glue:text}`matched_per_seed:.1f` pairs are matched on win rate on average,
# and ORR or CSR separates a share {glue:text}`m_sep:.3f` of them (SE
# {glue:text}`se_sep:.3f`; chance: {glue:text}`chance_share:.3f`).

# %% [markdown]
# ## 9. Does budget discipline matter for winning?
#
# The paper attributes Qwen-Plus's low win rate (25.6 %) to overspending (OBR 0.51). When
# the rules alone make an over-budget build lose (unless the opponent overruns more), so "players
# that overspend win less" is true by construction. The question that could fail is whether
# overspending costs wins *beyond* what the rule removes. A counterfactual answers it: every
# over-budget build a tested player fielded in a kept round is made affordable (random cheaper
# skills until it fits, the same repair the scripted players use) and played against the same
# opposing build. The decisive number per league seed is the affordable builds' win rate minus
# the over-budget builds' win rate with the budget rule switched off: positive when the
# overspending itself was a bad choice on the field, negative when it bought strength that only
# the rule takes away.

# %%
counterfactual = probes.budget_counterfactual(game, logs, seed)
beyond = probes.beyond_rule(counterfactual)
m_beyond, se_beyond = gm.mean_se(list(beyond.values()))
heavy = table[table["OBR"] >= 0.5]
print(report.overspenders(heavy))

# %% tags=["hide-input"]
display.quote(
    n_over_budget=len(counterfactual),
    won_under_rule=counterfactual["win"].mean(),
    won_rule_off=counterfactual["raw win"].mean(),
    won_affordable=counterfactual["affordable win"].mean(),
    m_beyond=m_beyond,
    se_beyond=se_beyond,
)

# %% [markdown]
# The tested players fielded {glue:text}`n_over_budget` over-budget builds in kept rounds.
# They won {glue:text}`won_under_rule:.1%` of those rounds under the rule,
# {glue:text}`won_rule_off:.1%` with the rule off and {glue:text}`won_affordable:.1%` made
# affordable; per league seed, affordable minus rule-off is {glue:text}`m_beyond:+.3f`
# (SE {glue:text}`se_beyond:.3f`).

# %% tags=["remove-cell"]
display.figure(report.plot_obr_wr(table, CHECKPOINTS + SHOWN), "ch5-obr-wr")

# %% [markdown]
# ```{glue:figure} ch5-obr-wr
# :name: fig-ch5-obr-wr
# :alt: Scatter of win rate against over-budget ratio per player
#
# Each point is a player (means over the league seeds). The budget rule alone draws most of
# this picture; the check is the counterfactual above.
# ```
#
# Follow the budget slippers and
# the trained player's three checkpoints.
#
# ## 10. Improvement slope against opponents that adapt
#
# The paper's top model, o3-mini, had a positive improvement slope (+0.041): it won more as the
# match went on. Against the *static* fixed opponent, whose build never changes, any player that
# keeps a build once it wins climbs almost by construction (noise aside). The test that could fail uses the two
# opponents that revise. We take the top player by composite score in each league seed, and
# compute its slope per match (a regression per match, then averaged) rather than on the pooled
# CSV, which also measures the order in which the opponents were played. This is reported, not
# checked: o3-mini's slope is one model's value, and the top player here is not the same player
# in every seed.

# %%
top_player, top_slope, by_opponent = report.top_player_slopes(
    per_match, seed_table, table, [o.name for o in opponents], league_seeds
)
m_top, se_top = gm.mean_se(list(top_slope.values()))
display.table(by_opponent)

# %% tags=["hide-input"]
display.quote(top_players=", ".join(top_player.values()), m_top=m_top, se_top=se_top)

# %% [markdown]
# The top player per league seed: {glue:text}`top_players`. Its slope per match against the
# adapting opponents is {glue:text}`m_top:+.4f` (SE {glue:text}`se_top:.4f`).
#
# The table shows, for every player that was top in some seed, the slope per match against each
# opponent and the benchmark's pooled slope. Against the static opponent the slopes are the
# climb that keeping a winning build produces; against opponents that answer each revision with
# their own best response, a round won is an invitation for the opponent to adapt.
#
# ## 11. A composite score and its stability
#
# The paper ranks models by a composite process score whose formula it does not publish. The
# book defines one, with every term in [0, 1] and oriented so that higher is better:
#
# $$S = \tfrac15\left(\mathrm{WR} + \mathrm{CSR} + (1 - \mathrm{OBR}) + (1 - \mathrm{ORR}) +
# \mathrm{clip}(0.5 + 5\beta, 0, 1)\right).$$
#
# How much does the ranking depend on any single metric? We drop each in turn.

# %%
display.show_source(gm.composite)
stability = gm.rank_stability(table)
display.table(stability)

# %% tags=["hide-input"]
results.metric("rank_stability", stability.round(4).to_dict(orient="index"))
top = table["S"].idxmax()
display.quote(
    rho_min=stability["spearman_rho"].min(),
    rho_max=stability["spearman_rho"].max(),
    top_player=top,
    top_kept=(stability["top_player"] == top).sum(),
    n_rankings=len(stability),
)

# %% [markdown]
# Spearman's rho with the full ranking lies between {glue:text}`rho_min:.2f` and
# {glue:text}`rho_max:.2f`; the top player stays {glue:text}`top_player` in
# {glue:text}`top_kept` of {glue:text}`n_rankings` leave-one-out rankings.

# %% [markdown]
# ## 12. The same framework on the second game
#
# The trained player plays the turn-based game only. The scripted league also plays the tower
# defence game, in the first league seed, to show the framework on both engines and how much a
# player's win rate depends on the game (the paper's reviewers quote Gemini-2-Flash at 15.8 % in
# tower defence and 49.2 % in the battle-card game).

# %%
td_logs, td_timing = pr.run_league(
    [td], league_players[seed], opponents, rounds=P.rounds, seeds=[seed], progress=False
)
td_table = gm.player_table(gm.csv_metrics(td_logs, budgets)).loc[seed]
per_game = report.per_game_table(seed_table.loc[seed], td_table)
display.table(per_game)

# %% tags=["hide-input"]
results.metric("tower_defense_table", td_table.round(4).to_dict(orient="index"))
display.quote(
    td_matches=td_logs["match"].nunique(),
    td_seconds=td_timing["seconds"],
    wr_gap=per_game["WR gap"].abs().max(),
    wr_gap_player=per_game["WR gap"].abs().idxmax(),
)

# %% [markdown]
# The tower defence league played {glue:text}`td_matches` matches in
# {glue:text}`td_seconds:.1f` s; the largest WR gap between the games is
# {glue:text}`wr_gap:.2f` ({glue:text}`wr_gap_player`).

# %% [markdown]
# ## 13. An LLM player
#
# `LLMPlayer` sends the benchmark's prompt (side, last result, cost and budget, rules and both
# catalogues, both builds, a format example) to any transformers causal LM and parses the JSON
# it returns, answering the turns of a round in batches; `EndpointPlayer` does the same through
# an OpenAI-compatible chat endpoint with the standard library only. In the `cpu` profile the
# model is the toy world's *untrained* character-level model, whose answers are noise: every
# answer becomes a rule violation and the match completes on the empty or previous build. With
# `model_name` (the `gpu` profile: an instruct model) or `endpoint` set, the same player runs the
# league programme in both games against the fixed opponents.

# %%
llm, llm_logs = report.play_llm(P, [game, td], opponents, league_seeds, seed)
llm_table = gm.player_table(gm.csv_metrics(llm_logs, budgets))
display.table(llm_table)

# %% tags=["hide-input"]
print(
    f"{llm.name}: {len(llm.transcript)} answers, {llm_logs['match'].nunique()} match(es) completed; "
    f"violations in the kept rounds: {llm_table['violations'].mean():.1f} per CSV on average"
)
print(f"first answer (first 80 characters): {llm.transcript[0][1][:80]!r}")
results.metric(
    "llm_player",
    {
        "name": llm.name,
        "answers": len(llm.transcript),
        **llm_table.groupby("player").mean().iloc[0].round(4).to_dict(),
    },
)

# %% [markdown]
# ## Paper vs this book

# %% tags=["hide-input"]
comparison = report.comparison_table(
    league_size=len(population),
    parameters=sum(p.numel() for p in trained["RL late"].model.parameters()),
    rounds=len(logs),
    matches=logs["match"].nunique(),
    seeds=len(league_seeds),
    raw=(m_raw, se_raw),
    n_players=len(table),
    partial=(m_partial, se_partial),
    separation=(m_sep, se_sep),
    beyond=(m_beyond, se_beyond),
    heavy=heavy,
    wr_gain=np.mean(list(d_wr.values())),
    csr_gain=np.mean(list(d_csr.values())),
    flip=float(flip_rl["effect"].mean()),
    min_rho=stability["spearman_rho"].min(),
)
display.table(comparison)

# %% [markdown]
# The numbers differ in kind, not only in size. The paper measures twelve LLMs once each; this
# chapter measures a league whose scripted members behave as their knobs say, plus one small
# model trained by the book, over repeated leagues. What transfers is the framework -- engines,
# protocol, metrics that agree with the benchmark's definitions -- and tests of what the metrics
# mean: whether the paper's r(ORR, CSR) has its sign among players whose behaviour is known,
# whether overspending costs wins beyond the rule, and whether a trained player's process
# changes and uses the feedback it is given.

# %% [markdown]
# ## Reproduction checks
#
# The rules are those of section 4, fixed before the league was run. Each finding's row records
# its per-seed values; its verdict is the book's rule, the mean plus or minus two standard errors
# over the league seeds against the threshold 0, as in every chapter.

# %% tags=["hide-input"]
evidence = report.Evidence(
    raw_r=raw_r,
    n_players=len(table),
    separation=separation,
    beyond=beyond,
    counterfactual=counterfactual,
    d_csr_prose=d_csr,
    flip=flip_rl,
    d_wr=d_wr,
    characters=characters,
    table=table,
    training_seeds=TRAINING_SEEDS,
)
report.record_checks(results, league_seeds, evidence)
report.sanity_check(
    results,
    "metrics_match_benchmark",
    parity,
    f"largest absolute difference over {n_random_logs} random logs, 2 roles, 2 move orders, 5 metrics",
    ours={"random logs": n_random_logs},
)
report.sanity_check(
    results,
    "metrics_match_hand_values",
    hand_error,
    "largest difference from the hand values; edge cases finite",
    ours={k: round(v, 12) for k, v in hand.items()},
    passed=bool(hand_error <= 1e-12 and edges_finite),
)
results.table()

# %%
results.finish();
# %% [markdown]
# ## Summary

# %% tags=["hide-input"]
status = {c.name: c.status for c in results.checks}
display.quote(
    **report.summary_quotes(
        status,
        np.mean(list(d_wr.values())),
        np.mean(list(d_csr.values())),
        flip_rl.mean(),
    )
)

# %% [markdown]
# * AdvGameBench scores the *process* of playing: win rate, over-budget ratio, how often a
#   build is changed (ORR), how often a change is followed by a win (CSR) and the trend of
#   wins over revisions. The chapter re-implements two of its games, its protocol and its
#   metrics, which agree with a port of its evaluator to {glue:text}`parity:.0e` on random
#   logs. The validator enforces the three-character rule
#   ({glue:text}`status_three_characters`); the best fixed build found wins
#   {glue:text}`best_fixed_defender:.0%` as defender and {glue:text}`best_fixed_invader:.0%`
#   as invader against the builds the league played.
# * The paper's statistic, the raw r(ORR, CSR) across players, is {glue:text}`m_raw:+.2f`
#   over {glue:text}`n_players` players ({glue:text}`status_orr_csr_raw`; the paper: -0.51
#   over 12 models).
# * Among pairs of players within {glue:text}`wr_margin` win rate of each other, ORR or CSR
#   separates a share {glue:text}`m_sep:.2f` (chance: {glue:text}`chance_share:.2f`;
#   {glue:text}`status_process_separates_matched_wr`).
# * Overspending's cost beyond the budget rule (the same builds made affordable, against the
#   raw result of the over-budget ones): {glue:text}`m_beyond:+.2f`
#   ({glue:text}`status_budget_beyond_rule`).
# * A tiny transformer trained in the book (SFT, then GRPO on the match's outcome)
#   raised its win rate against unseen opponents by {glue:text}`wr_gain:+.2f`
#   ({glue:text}`status_rl_beats_sft`) and its prose CSR by {glue:text}`csr_gain:+.2f`
#   ({glue:text}`status_rl_raises_csr_prose`), means over its training seeds. On the first
#   training seed it changed its build after {glue:text}`rl_change_win:.0%` of its wins and
#   {glue:text}`rl_change_loss:.0%` of its losses. With the result token flipped it keeps
#   {glue:text}`flip_keep_win:.0%` of its builds when told it won and
#   {glue:text}`flip_keep_loss:.0%` when told it lost ({glue:text}`status_feedback_used`);
#   with the opponent's last build swapped for another it changes
#   {glue:text}`flip_opponent:.0%` of its answers.

# %% [markdown]
# ## Exercises
#
# 1. A player revises after every round but each revision only reorders its skills (the cost
#    never changes). What are its ORR and CSR? Check with `process_metrics`.
# 2. Play RL late greedily (`greedy=True`) instead of sampling. How do its ORR, CSR and
#    violations change, and why?
# 3. Compute the raw and the partial r(ORR, CSR) over the twelve scripted players alone. Which
#    of the two does adding the trained checkpoints change more?

# %% tags=["hide-cell"]
# Solution 1: no cost change means no correction: ORR = 0 and, by the code's convention, CSR = 0,
# however the revisions went.
print("exercise 1:", gm.process_metrics([0, 1, 1, 0, 1], [20] * 5, budget=20))

# %% tags=["hide-cell"]
# Solution 2: the same checkpoint, answering with its most likely token at every step. Sampling
# writes an occasional wrong-element skill (a violation) and varies its corrections; greedy
# decoding removes that noise.
late = trained["RL late"]
greedy = learned.TransformerPlayer(
    late.model, late.codec, "RL late (greedy)", greedy=True
)
ex_logs, _ = pr.run_league(
    [game], [greedy], opponents, rounds=P.rounds, seeds=league_seeds, progress=False
)
ex_row = gm.player_table(gm.csv_metrics(ex_logs, budgets)).groupby("player").mean()
display.table(pd.concat([table.loc[["RL late"], ex_row.columns], ex_row]))

# %% tags=["hide-cell"]
# Solution 3: the same per-seed correlations without the three checkpoints.
ex3 = report.seed_correlations(
    seed_table, league_seeds, players=[p.name for p in population]
)
ex3 = ex3[["r(ORR, CSR)", "partial r(ORR, CSR | WR)"]].set_axis(
    ["raw r", "partial r"], axis=1
)
print(
    "exercise 3 (scripted players only, mean over league seeds):",
    {k: round(float(v), 3) for k, v in ex3.mean().items()},
    "; with the checkpoints:",
    {"raw r": round(m_raw, 3), "partial r": round(m_partial, 3)},
)

# %% [markdown]
# ## References
#
# ```{footbibliography}
# ```
#
# The whole book's references are on the [bibliography](../book/bibliography.md) page.
