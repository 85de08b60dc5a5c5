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
# machines, so the chapter rebuilds the *measurement framework* and runs it on simulated
# players whose revision behaviour is set by a few knobs. Two games are re-implemented as
# deterministic engines (the turn-based combat game and a discrete-tick tower defence), the
# match protocol and the metrics follow the benchmark's code, and a league of 12 scripted
# players meets fixed opponents (3 in the `cpu` and `gpu` profiles) in both games and all four
# (role x move order) settings.
# **Everything measured here is a property of the framework and of the simulated players, not
# a claim about real LLMs.** An LLM player with the benchmark's prompt is part of the package:
# in the `cpu` profile an untrained toy model shows how malformed answers become rule
# violations; the `gpu` profile (or an OpenAI-compatible `endpoint`) plays a real model through
# the same league.

# %% tags=["hide-input"]
# Colab only: install this book's package (does nothing anywhere else).
import os, subprocess, sys
if "google.colab" in sys.modules:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", os.environ.get(
        "RLHFBOOK_PIP_SPEC", "rlhfbook @ git+https://github.com/rlhf-measured/rlhf-measured@main")])

# %% tags=["parameters"]
profile = "cpu"  # smoke | cpu | gpu
seed = 0
model_name = None  # LLM player: a hub id or local folder (None: the profile's; cpu: the toy model)
endpoint = None  # an OpenAI-compatible base URL, e.g. "http://localhost:8000/v1" (uses model_name)

# %%
import rlhfbook  # noqa: F401  (first: switches the HF hub offline)
from rlhfbook import display, env, profiles
from rlhfbook.results import Results

P = profiles.resolve("05_strategic_games", profile, model_name=model_name, endpoint=endpoint)
env.seed_everything(seed)
results = Results(P, seed, parameters=dict(profile=profile, seed=seed, model_name=model_name, endpoint=endpoint))
display.runtime_table(P.chapter)

# %%
import json
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display as show
from scipy import stats

from rlhfbook.games import TowerDefense, TurnBased
from rlhfbook.games import metrics as gm
from rlhfbook.games import players as gp
from rlhfbook.games import protocol as pr
from rlhfbook.games.tower_defense import _row
from rlhfbook.games.turn_based import duel
from rlhfbook.results import results_dir

games = [TurnBased(), TowerDefense()]
budgets = {g.name: g.budgets for g in games}
print(f"profile {profile}: {P.rounds} revisions per match, {P.n_opponents} fixed opponent(s), "
      f"{P.n_candidates} candidate builds per best response")

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
# catalogue the LLM player reads is printed from the same table the engine runs.
#
# **Tower defence.** Humans (budget 2000) place units on a 5 x 11 board; Demons (budget 1500)
# enter a row at its right end at their spawn time and walk left; a demon that reaches the left
# edge wins the game for the Demons. The official simulator is a real-time pygame loop, so its
# outcome can depend on the machine; this one advances in fixed ticks of 125 ms and rows are
# simulated independently, which makes a simulation a pure function of the two builds. Here is
# the core of each engine:

# %%
display.show_source(duel, _row)

# %% [markdown]
# Every game offers the protocol the same interface: costs, rule checks that turn a player's
# text into a legal build plus a list of *rule violations*, a simulation that returns the winner
# and a margin, and the local edits the scripted players use. The issue asks for one simulation
# in under 5 ms; we time 300 simulations of random builds per game.

# %%
rng = np.random.default_rng(seed)
speed = {}
for g in games:
    pairs = [(g.random_build("defender", rng), g.random_build("invader", rng)) for _ in range(300)]
    start = time.perf_counter()
    outcomes = [g.simulate(d, i) for d, i in pairs]
    speed[g.name] = (time.perf_counter() - start) / len(pairs) * 1e3
    print(f"{g.name:>14}: {speed[g.name]:.2f} ms per simulation; defender wins "
          f"{np.mean([o.winner == 'defender' for o in outcomes]):.0%} of matches between random builds")
results.metric("ms_per_simulation", speed)
print("\nWhat the LLM player reads (turn-based, defender side, first lines):\n")
print("\n".join(games[0].rules_text("defender").splitlines()[:12]))

# %% [markdown]
# ## 2. The match protocol
#
# A match follows the benchmark's `init.py` and `battle.py`:
#
# 1. **Initial builds.** Each player writes a build from the rules alone. An answer over budget
#    or unparseable is returned with feedback, up to 5 tries; the last answer stays even if it is
#    still over budget. As in the benchmark, a player's initial build per game and side is
#    written once and reused in all its matches.
# 2. **Alternating revisions.** Rounds $r = 1, \dots, R+1$ each simulate the current builds;
#    after round $r \le R$ one side (alternating, starting with the side that moves first) sees
#    the result, its cost and the budget, the rules and both builds, and returns a full new
#    build. With $R = 10$ each side revises five times.
# 3. **Budget adjudication.** If exactly one side is over budget it loses; if neither, the
#    simulation decides; if both, the smaller relative overrun wins, and equal overruns mean no
#    winner (a loss for both in the metrics).
#
# A tested player meets each fixed opponent in four settings: as defender or invader, moving
# first or second. Unparseable answers, unknown units and illegal placements are recorded as
# rule violations and dropped; play goes on with the previous build.

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
display.show_source(gm.process_metrics, gm.csr_paper)

# %% [markdown]
# The hand-made example: kept rounds with costs [18, 18, 20, 19, 19], wins
# [0, 0, 1, 0, 1] and budget 18. The cost changes at $k = 2$ (a win) and $k = 3$ (a loss), so
# ORR = 2/4 and CSR = 1/2; three of five builds are over budget; the slope of the wins on
# 0..4 is 2/10. Edge cases return the benchmark's defined values.

# %%
hand = gm.process_metrics([0, 0, 1, 0, 1], [18, 18, 20, 19, 19], budget=18)
expected = {"WR": 0.4, "OBR": 0.6, "ORR": 0.5, "CSR": 0.5, "slope": 0.2}
edge_cases = {
    "no kept round": gm.process_metrics([], [], 18),
    "a single round": gm.process_metrics([1], [20], 18),
    "no revision at all": gm.process_metrics([0, 1, 1], [18, 18, 18], 18),
    "ties only (no winner)": gm.process_metrics([0, 0, 0], [17, 18, 17], 18),
}
show(pd.DataFrame({"computed": hand, "by hand": expected}).T)
show(pd.DataFrame(edge_cases).T)
hand_ok = all(abs(hand[k] - v) <= 1e-12 for k, v in expected.items())
edges_ok = all(np.isfinite(v) for m in edge_cases.values() for v in m.values())
print(f"hand example reproduced: {hand_ok}; all edge cases finite: {edges_ok}; "
      f"paper-prose CSR of the example: {gm.csr_paper([0, 0, 1, 0, 1], [18, 18, 20, 19, 19], 18):.2f}")

# %% [markdown]
# ## 4. Simulated players
#
# All players sit behind one interface: `act(turn)` receives the game, the side, the previous
# build, the opponent's build, the last winner and a feedback line, and returns text with a JSON
# build. The scripted revisers stand in for LLMs with five knobs: the probability of revising
# after a loss and after a win (revising a winning build is the over-correction the paper's ORR
# is named after), the revision quality $q$ (the chance a revision is a best response: candidate
# edits simulated against the opponent's current build, the best margin kept; otherwise 1-3
# random edits), the budget slip (the chance a proposed build is pushed 10-50 % over budget) and
# the chance the first build is planned from the rules rather than random. Two more knobs shape
# the best response: how many candidates it tries and whether they are local edits of the
# current build (a hill climber, `fresh` = 0) or partly fresh builds.

# %%
display.show_source(gp.ScriptedReviser.build)
league_players = gp.league(P.n_candidates)
opponents = gp.fixed_opponents(P.n_candidates)[:P.n_opponents]
knobs = pd.DataFrame([{k: getattr(p, k) for k in ("name", "p_revise_loss", "p_revise_win", "quality", "slip",
                                                   "planning", "fresh")} for p in league_players + opponents])
knobs["group"] = ["league"] * len(league_players) + ["fixed opponent"] * len(opponents)
knobs.set_index("name")

# %% [markdown]
# ## 5. The league
#
# Every league player meets every fixed opponent in both games and all four settings. The
# opponents are played in the order listed (static, moderate, strong), as the benchmark plays
# its `--fix-models` list, and each CSV holds one player's matches in one role and move order.

# %%
logs, timing = pr.run_league(games, league_players, opponents, rounds=P.rounds, seed=seed)
n_matches = logs["match"].nunique()
log_path = results_dir() / "05_strategic_games_logs.csv"
log_path.parent.mkdir(parents=True, exist_ok=True)
logs.to_csv(log_path, index=False)
print(f"{n_matches} matches, {len(logs)} simulated rounds in the logs, {timing['simulations']} simulations in all "
      f"(best responses included) in {timing['seconds']:.1f} s: {timing['simulations_per_s']:.0f} simulations/s")
print(f"match logs: {log_path} ({len(logs.columns)} columns: {', '.join(logs.columns[:12])}, ...)")
results.metric("league_seconds", timing["seconds"])
results.metric("simulations_per_s", timing["simulations_per_s"])
results.metric("n_matches", n_matches)

# %%
per_csv = gm.csv_metrics(logs, budgets)
table = gm.player_table(per_csv)
knob_of = knobs.set_index("name")
table["quality"] = knob_of.loc[table.index, "quality"]
table["S"] = gm.composite(table)
table = table.sort_values("S", ascending=False)
results.metric("player_table", table.round(4).to_dict(orient="index"))
table.round(3)

# %% [markdown]
# The table lists each player's metrics averaged over its 8 CSVs (2 games x 4 settings); `S` is
# the book's composite score (section 8). The radar chart shows the same numbers with every axis
# oriented so that outward is better (1 - OBR, 1 - ORR, and the slope mapped to
# $\mathrm{clip}(0.5 + 5\beta, 0, 1)$).

# %%
axes_names = ["WR", "CSR", "1 - OBR", "1 - ORR", "slope (scaled)"]
radar = pd.DataFrame({"WR": table["WR"], "CSR": table["CSR"], "1 - OBR": 1 - table["OBR"],
                      "1 - ORR": 1 - table["ORR"], "slope (scaled)": (0.5 + 5 * table["slope"]).clip(0, 1)})
angles = np.linspace(0, 2 * np.pi, len(axes_names), endpoint=False)
fig, axs = plt.subplots(3, 4, figsize=(13, 10), subplot_kw={"projection": "polar"})
for ax, (name, row) in zip(axs.flat, radar.iterrows()):
    values = np.r_[row.to_numpy(), row.iloc[0]]
    ax.plot(np.r_[angles, angles[0]], values, color="C0")
    ax.fill(np.r_[angles, angles[0]], values, alpha=0.25, color="C0")
    ax.set_xticks(angles, axes_names, fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_yticks([0.5, 1.0], ["0.5", "1"], fontsize=6)
    ax.set_title(f"{name}\nS = {table.loc[name, 'S']:.2f}", fontsize=9)
fig.suptitle("Process profile of each simulated player (outward is better; radial axis: metric value, 0-1)")
fig.tight_layout()
plt.show()

# %% [markdown]
# *Figure: one radar per simulated player, sorted by the composite score S.* Compare the shapes
# of the best-response players, the over-correctors (who change winning builds, so the
# 1 - ORR spoke shrinks) and the budget slippers (the 1 - OBR spoke shrinks, and the WR spoke
# with it).
#
# ### A revision trace
#
# What the metrics see in one match: the best player as defender in the turn-based game against
# the strongest fixed opponent, moving first. Only the `kept` rounds (those evaluating its fresh
# revisions) enter the metrics; a `correction` is a kept round whose cost differs from the
# previous kept round.

# %%
best = table.index[0]
trace_opponent = opponents[-1].name
one = logs[(logs["game"] == "turn_based") & (logs["player"] == best) & (logs["opponent"] == trace_opponent)
           & (logs["role"] == "defender") & (logs["tag"] == "first")]
trace = gm.revision_trace(one, "defender", "first")
trace["own build"] = [" | ".join(f"{c['element']}: {', '.join(c['skills'])}" for c in json.loads(b)["defenders"])
                      for b in trace["own build"]]
print(f"{best} (defender, moves first) vs {trace_opponent}; metrics of this match alone: "
      + ", ".join(f"{k} {v:.2f}" for k, v in gm.match_metrics(one, 'defender', 'first', 20).items()
                  if k in gm.METRICS))
with pd.option_context("display.max_colwidth", 120):
    show(trace)

# %% [markdown]
# ## 6. Revising more often, revising less well: ORR against CSR
#
# The paper's central process finding is a negative correlation between how often a model
# changes its build and how often a change pays off. In the league it arises from the players'
# design: players that revise after wins (over-correctors) also revise badly, while the
# best-response players revise rarely and well.

# %%
r_orr_csr, p_orr_csr = stats.pearsonr(table["ORR"], table["CSR"])
per_match = gm.csv_metrics(logs, budgets, per_match=True)
table_pm = gm.player_table(per_match)
r_pm, p_pm = stats.pearsonr(table_pm["ORR"], table_pm["CSR"])
r_paper_variant, _ = stats.pearsonr(table["ORR"], table["CSR_paper"])
results.metric("r_orr_csr", r_orr_csr)
results.metric("p_orr_csr", p_orr_csr)
results.metric("r_orr_csr_per_match", r_pm)
results.metric("r_orr_csr_paper_variant", r_paper_variant)

fig, ax = plt.subplots(figsize=(6.5, 4.5))
sc = ax.scatter(table["ORR"], table["CSR"], c=table["quality"], cmap="viridis", s=60, vmin=0, vmax=1)
for name, row in table.iterrows():
    ax.annotate(name, (row["ORR"], row["CSR"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
slope_fit, intercept_fit = np.polyfit(table["ORR"], table["CSR"], 1)
xs = np.linspace(table["ORR"].min(), table["ORR"].max(), 2)
ax.plot(xs, intercept_fit + slope_fit * xs, "k--", lw=1)
ax.set(xlabel="ORR (share of revisions that change the cost)", ylabel="CSR (share of changes followed by a win)",
       title=f"ORR vs CSR over 12 simulated players: r = {r_orr_csr:.2f}, p = {p_orr_csr:.3f}")
fig.colorbar(sc, label="revision quality q")
plt.show()
print(f"Pearson r(ORR, CSR) = {r_orr_csr:.2f} (p = {p_orr_csr:.3g}, n = {len(table)}); the paper: -0.51 (p = 0.093).")
print(f"With one CSV per match instead of per (role, move order): r = {r_pm:.2f} (p = {p_pm:.2g}); "
      f"with the paper-prose CSR: r = {r_paper_variant:.2f}.")

# %% [markdown]
# Look at the colour: the correlation follows revision quality, which the league couples with
# the propensity to over-correct. The second line is a warning about the metric itself. Scored
# one match at a time, a player that rarely changes its cost often has *no* correction in a
# match, and the code's convention "CSR = 0 without corrections" then drags its average CSR
# down: the careful players look unsuccessful because they were careful, and the correlation
# changes. Pooling several matches into one CSV, as the benchmark does, hides most of this.
#
# ## 7. The budget rule and the value of good revisions
#
# A build over budget loses unless the opponent overspends more, so a high OBR caps the win
# rate; the paper's Qwen-Plus (OBR 0.51, WR 25.6 %) is the example. And revisions that are best
# responses should win more than random edits and improve over the match.

# %%
fig, ax = plt.subplots(figsize=(6.5, 4))
ax.scatter(table["OBR"], table["WR"], s=50)
for name, row in table.iterrows():
    ax.annotate(name, (row["OBR"], row["WR"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
ax.axvline(0.5, color="grey", ls=":", lw=1)
ax.set(xlabel="OBR (share of kept builds over budget)", ylabel="WR (share of kept rounds won)",
       title=f"Win rate against over-budget ratio, {len(table)} simulated players", xlim=(-0.05, 1), ylim=(0, 1))
plt.show()
over = table[table["OBR"] >= 0.5]
print("players with OBR >= 0.5: " + (", ".join(f"{n} (OBR {r.OBR:.2f}, WR {r.WR:.2f})" for n, r in over.iterrows())
                                     or "none"))

# %% [markdown]
# *Figure: each point is a player; the dotted line marks OBR = 0.5.* Look at the right of the
# line: a player whose kept builds are over budget half the time or more cannot win more than
# the rounds in which its build is within budget (or the opponent overspends more), so its
# point sits low; the printout names those players and their win rates.
#
# ### The improvement slope: per match or per pooled CSV?
#
# The improvement slope needs care, and check 4 below depends on how it is computed. The
# benchmark's evaluator fits one slope per CSV, and a CSV holds a player's matches against all
# fixed opponents one after the other, so the regression runs across matches: it also measures
# the *order* in which the opponents were played. A player that improves within every match can
# still get a negative slope if the last opponent is the strongest. We therefore report the
# slope three ways: per match (one regression per match, then averaged), on the pooled CSV in
# the benchmark's opponent order (static, moderate, strong), and on the pooled CSV with the
# opponents' order drawn at random per CSV (a replay of the league).

# %%
groups = {"best response (q >= 0.8)": table.index[table["quality"] >= 0.8],
          "random revisions (q = 0)": table.index[table["quality"] == 0]}
shuffled_logs, _ = pr.run_league(games, league_players, opponents, rounds=P.rounds, seed=seed,
                                 shuffle_opponents=True, progress=False)
table_shuffled = gm.player_table(gm.csv_metrics(shuffled_logs, budgets))
rows = []
for label, members in groups.items():
    rows.append({"group": label, "players": len(members), "WR": table.loc[members, "WR"].mean(),
                 "slope per match": table_pm.loc[members, "slope"].mean(),
                 "slope, pooled CSV (benchmark order)": table.loc[members, "slope"].mean(),
                 "slope, pooled CSV (shuffled order)": table_shuffled.loc[members, "slope"].mean()})
rows.append({"group": "all 12 players", "players": len(table), "WR": table["WR"].mean(),
             "slope per match": table_pm["slope"].mean(),
             "slope, pooled CSV (benchmark order)": table["slope"].mean(),
             "slope, pooled CSV (shuffled order)": table_shuffled["slope"].mean()})
groups_table = pd.DataFrame(rows).set_index("group")
br, rr = groups_table.iloc[0], groups_table.iloc[1]
wr_gap = br["WR"] - rr["WR"]
results.metric("groups", groups_table.round(4).to_dict(orient="index"))
show(groups_table.round(3))

# The confound itself: the best-response group's win rate against each opponent, in the order played.
br_matches = per_match[per_match["player"].isin(groups["best response (q >= 0.8)"])]
wr_by_opponent = br_matches.groupby("opponent", sort=False)[["WR", "slope"]].mean()
wr_by_opponent.index.name = "opponent (in the order played)"
results.metric("best_response_by_opponent", wr_by_opponent.round(4).to_dict(orient="index"))
show(wr_by_opponent.round(3))
pooled = br["slope, pooled CSV (benchmark order)"]
print(f"best-response group: slope per match {br['slope per match']:+.4f}, pooled CSV in the benchmark's order "
      f"{pooled:+.4f}, pooled CSV in shuffled order {br['slope, pooled CSV (shuffled order)']:+.4f}.")
print(f"Check 4 asks for a slope > 0: the per-match slope {'passes' if br['slope per match'] > 0 else 'fails'}; "
      f"the benchmark's pooled slope would {'pass' if pooled > 0 else 'fail'}.")
rising = wr_by_opponent.index[wr_by_opponent["slope"] > 0]
print(f"per-match slope > 0 against: {', '.join(rising) or 'no opponent'}; <= 0 against: "
      f"{', '.join(wr_by_opponent.index.difference(rising, sort=False)) or 'no opponent'}")

# %%
n_kept = len(gm.kept_rounds(one, "first"))
var_j, var_k = np.var(np.arange(n_kept)), np.var(np.arange(n_kept * len(opponents)))
print(f"{len(opponents)} matches of {n_kept} kept rounds per CSV: Var(j) / Var(k) = {var_j:.1f} / {var_k:.1f} "
      f"= {var_j / var_k:.2f}")

# %% [markdown]
# Compare the columns of the first table. Two things separate the per-match slope from the
# pooled one. First, dilution: a trend that repeats inside each match is diluted in a
# regression over the whole CSV, which keeps only the share $\mathrm{Var}(j)/\mathrm{Var}(k)$
# printed above of the within-match slope ($j$ the position in the match, $k$ in the CSV).
# Second, the opponent order: the second table shows the best-response players' win rate
# against each opponent in the order played, and a win rate that falls from the first
# opponent to the last enters the pooled regression as a downward trend that has nothing to do
# with revising. The last two columns of the first table differ only in that order.
#
# **What this means for check 4, stated plainly.** The check asks whether best-response
# revisers improve over the match (slope > 0). Computed the benchmark's way, on the pooled
# CSV, the slope is the value printed above, with the verdict printed beside it; the check
# instead uses the per-match slope, a different estimator from the benchmark's evaluator,
# because the pooled one mixes learning within a match with the order of the opponents. Both
# values are recorded in the check's row, and the shuffled-order column lets you see how much
# of the pooled value the order alone moves. The slope column of the second table adds a
# caveat in the other direction: the per-match slope is an average over opponents, and the
# last printed line says against which opponents it is positive. Where only some carry it, the
# pass means that best-response revisers improve within matches *on average over these
# opponents*, not against each of them. If you hold that the benchmark's own estimator is the
# one to reproduce, read check 4 as *not reproduced for the pooled slope*; the threshold itself
# is unchanged.
#
# ## 8. A composite score and its stability
#
# The paper ranks models by a composite process score whose formula it does not publish. The
# book defines one, with every term in [0, 1] and oriented so that higher is better:
#
# $$S = \tfrac15\left(\mathrm{WR} + \mathrm{CSR} + (1 - \mathrm{OBR}) + (1 - \mathrm{ORR}) +
# \mathrm{clip}(0.5 + 5\beta, 0, 1)\right).$$
#
# How much does the ranking depend on any single metric? We drop each in turn and compare the
# rankings.

# %%
display.show_source(gm.composite)
stability = gm.rank_stability(table)
results.metric("rank_stability", stability.round(4).to_dict(orient="index"))
show(stability.round(3))
print(f"Spearman rho with the full ranking: {stability['spearman_rho'].min():.2f} to "
      f"{stability['spearman_rho'].max():.2f}; the top player stays {table.index[0]} in "
      f"{(stability['top_player'] == table.index[0]).sum()} of {len(stability)} leave-one-out rankings; "
      f"leaving out {stability['spearman_rho'].idxmin()} changes the ranking most.")

# %% [markdown]
# The simulated players differ along a few coupled knobs, so several metrics carry the same
# information and dropping one of them moves few ranks. With real models, whose metrics need not
# be coupled this way, the choice of terms and weights deserves the same check before a
# composite is trusted.
#
# ## 9. An LLM player
#
# `LLMPlayer` sends the benchmark's prompt (side, last result, cost and budget, rules and both
# catalogues, both builds, a format example) to any transformers causal LM and parses the JSON
# it returns; `EndpointPlayer` does the same through an OpenAI-compatible chat endpoint with the
# standard library only. In the `cpu` profile the model is the toy world's untrained tiny model,
# whose answers are noise: every answer becomes a rule violation, the empty or previous build
# stays in play, and the match completes. With `model_name` (the `gpu` profile) or `endpoint`
# set, the same player runs the whole league programme against the fixed opponents.

# %%
import torch

from rlhfbook.toyworld import build_tokenizer, new_model

if P.endpoint:
    llm = gp.EndpointPlayer(P.endpoint, model=P.model_name or "default", max_tokens=P.llm_new_tokens)
elif P.model_name:
    llm = gp.LLMPlayer.from_pretrained(P.model_name, max_new_tokens=P.llm_new_tokens,
                                       max_prompt_tokens=P.llm_prompt_tokens)
else:
    torch.manual_seed(seed)
    tokenizer = build_tokenizer()
    llm = gp.LLMPlayer(new_model("tiny", tokenizer).eval(), tokenizer, name="toy-tiny-untrained",
                       max_new_tokens=P.llm_new_tokens, max_prompt_tokens=P.llm_prompt_tokens)

if P.endpoint or P.model_name:  # a real model: the full league programme
    llm_logs, llm_timing = pr.run_league(games, [llm], opponents, rounds=P.llm_rounds, seed=seed)
else:  # the toy model: one short demo match per game
    llm_logs = pd.concat([pr.play_match(g, llm, opponents[0], rounds=P.llm_rounds, seed=seed)
                          .assign(match=i, game=g.name, player=llm.name, opponent=opponents[0].name,
                                  role="defender", tag="first") for i, g in enumerate(games)], ignore_index=True)
llm_table = gm.player_table(gm.csv_metrics(llm_logs, budgets))
answers = len(llm.transcript)
print(f"{llm.name}: {answers} answers, {llm_logs['match'].nunique()} match(es) completed; "
      f"violations in the kept rounds: {llm_table['violations'].mean():.1f} per CSV on average")
print(f"first answer (first 80 characters): {llm.transcript[0][1][:80]!r}")
results.metric("llm_player", {"name": llm.name, "answers": answers, **llm_table.iloc[0].round(4).to_dict()})
llm_table.round(3)

# %% [markdown]
# ## Paper vs this book

# %%
top = table.index[0]
slippers = table[table["OBR"] >= 0.5]
comparison = pd.DataFrame([
    ("players", "12 LLMs (API)", f"{len(table)} scripted revisers"),
    ("games", "tower defence, auto-battler, turn-based", "turn-based, tower defence (discrete ticks)"),
    ("rounds", "4,320", f"{len(logs)} simulated rounds in {n_matches} matches"),
    ("r(ORR, CSR)", "-0.51 (p = 0.093)", f"{r_orr_csr:.2f} (p = {p_orr_csr:.2g})"),
    ("improvement slope, best revisers", "o3-mini: +0.041 (pooled CSV, the evaluator's)",
     f"best-response group: per match {br['slope per match']:+.3f}; pooled CSV {pooled:+.3f} "
     f"(shuffled order {br['slope, pooled CSV (shuffled order)']:+.3f})"),
    ("top composite player", "o3-mini: WR 74.7 %, CSR 78.6 %, slope +0.041",
     f"{top}: WR {table.loc[top, 'WR']:.1%}, CSR {table.loc[top, 'CSR']:.1%}, slope {table.loc[top, 'slope']:+.3f}"),
    ("overspender", "Qwen-Plus: OBR 0.51, WR 25.6 %",
     "; ".join(f"{n}: OBR {r.OBR:.2f}, WR {r.WR:.1%}" for n, r in slippers.iterrows()) or "none"),
    ("composite score", "not published", "book's S, leave-one-out Spearman rho >= "
     f"{stability['spearman_rho'].min():.2f}"),
], columns=["quantity", "paper", "this book"]).set_index("quantity")
comparison

# %% [markdown]
# The numbers differ in kind, not only in size: the paper measures LLMs; this chapter measures
# simulated players whose behaviour was chosen, so the relations it reproduces (negative ORR-CSR
# correlation, overspending capping the win rate, good revisions paying off) hold *because* of
# how the players are built. What the chapter does establish is that the framework measures
# these relations faithfully, that its metrics have pitfalls worth knowing (the zero-CSR
# convention, cost-neutral revisions that are not counted, the opponent order inside the
# slope), and that a real model can be run through exactly the same code. The slope row also
# compares different estimators: the paper's +0.041 comes from the benchmark's evaluator,
# which computes the pooled slope, so the like-for-like number of ours is the pooled one, not
# the per-match slope that check 4 uses.

# %% [markdown]
# ## Reproduction checks
#
# The thresholds are the issue's. A pass says that the framework measures what it should and
# that the simulated players behave as they were built to; it is not evidence about real LLMs.
# Check 4 uses the per-match slope; section 7 prints the benchmark's pooled slope beside it,
# with the verdict the same threshold would give it, and both values are recorded in the
# check's row.

# %%
results.check(
    "metrics_match_hand_values",
    claim="The metric functions give the hand-computed values and defined edge cases.",
    paper="costs [18,18,20,19,19], wins [0,0,1,0,1], B=18: ORR 0.5, CSR 0.5, WR 0.4, OBR 0.6, slope 0.2",
    ours={k: round(v, 12) for k, v in hand.items()}, threshold="equal to 1e-12; edge cases finite",
    passed=bool(hand_ok and edges_ok))
results.check(
    "orr_csr_correlation",
    claim="Players that revise more often revise less successfully.",
    paper="r(ORR, CSR) = -0.51 over 12 models", ours=round(r_orr_csr, 3), threshold="<= -0.3",
    passed=bool(r_orr_csr <= -0.3))
results.check(
    "overspending_caps_win_rate",
    claim="Players with OBR >= 0.5 win at most 35 % of rounds.",
    paper="Qwen-Plus: OBR 0.51, WR 25.6 %",
    ours=round(float(over["WR"].max()), 3) if len(over) else "no player with OBR >= 0.5",
    threshold="max WR <= 0.35 (and at least one such player)",
    passed=bool(len(over) > 0 and over["WR"].max() <= 0.35))
results.check(
    "best_response_improves",
    claim="Best-response revisers improve over the match and beat random revisers by 20+ points of WR.",
    paper="o3-mini: slope +0.041, WR 74.7 %",
    ours={"slope per match": round(float(br["slope per match"]), 4),
          "slope pooled CSV": round(float(br["slope, pooled CSV (benchmark order)"]), 4),
          "WR gap": round(float(wr_gap), 3)},
    threshold="slope per match > 0 and WR gap >= 0.20",
    passed=bool(br["slope per match"] > 0 and wr_gap >= 0.20))
results.table()

# %%
results.finish()

# %% [markdown]
# ## Summary
#
# * AdvGameBench scores the *process* of playing: win rate, over-budget ratio, how often a build
#   is changed (ORR), how often a change is followed by a win (CSR) and the trend of wins over
#   revisions. The chapter re-implements two of its games as deterministic engines, its match
#   protocol and its metrics, and checks them against hand-computed values.
# * With simulated players whose revision behaviour is set by knobs, the framework shows the
#   paper's relations: revising more often goes with revising less successfully, overspending
#   caps the win rate, and best-response revisions win more and improve within a match.
# * The metrics have sharp edges: CSR is 0 without corrections, cost-neutral revisions are not
#   corrections, and the slope of a pooled CSV measures the opponents' order as much as
#   learning. A composite score is only as good as its stability under changes of its terms.
# * None of this is evidence about real LLMs; the `gpu` profile or an endpoint runs a real
#   model through the same code.
#
# ## Exercises
#
# 1. A player revises after every round but each revision only reorders its skills (the cost
#    never changes). What are its ORR and CSR? Check with `process_metrics`.
# 2. Make the `budget-slipper-2` player budget-aware (slip 0) and rerun its matches. How do its
#    OBR, WR and composite rank change?
# 3. Replace the benchmark's CSR by the paper-prose variant (`CSR_paper`) in the composite. Does
#    the ranking change?

# %% tags=["hide-input"]
# Solution 1: no cost change means no correction: ORR = 0 and, by the code's convention, CSR = 0,
# however the revisions went.
print("exercise 1:", gm.process_metrics([0, 1, 1, 0, 1], [20] * 5, budget=20))

# %% tags=["hide-input"]
# Solution 2: the same knobs without the slip, replayed against the same opponents.
import dataclasses

careful_slipper = dataclasses.replace(next(p for p in league_players if p.name == "budget-slipper-2"), slip=0.0,
                                      name="budget-slipper-2 (slip 0)")
ex_logs, _ = pr.run_league(games, [careful_slipper], opponents, rounds=P.rounds, seed=seed, progress=False)
ex_row = gm.player_table(gm.csv_metrics(ex_logs, budgets))
ex_row["S"] = gm.composite(ex_row)
print("exercise 2:\n", pd.concat([table.loc[["budget-slipper-2"], ex_row.columns], ex_row]).round(3))

# %% tags=["hide-input"]
# Solution 3: swap the CSR column and recompute the composite ranking.
variant = table.assign(CSR=table["CSR_paper"])
ranks = pd.DataFrame({"benchmark CSR": gm.composite(table).rank(ascending=False),
                      "paper-prose CSR": gm.composite(variant).rank(ascending=False)})
print("exercise 3: Spearman rho between the rankings =",
      round(stats.spearmanr(ranks.iloc[:, 0], ranks.iloc[:, 1]).statistic, 3))

# %% [markdown]
# ## References
#
# ```{footbibliography}
# ```
#
# The whole book's references are on the [bibliography](../book/bibliography.md) page.
