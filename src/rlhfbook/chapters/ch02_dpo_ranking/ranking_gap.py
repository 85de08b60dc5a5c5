"""The ranking-accuracy gap of DPO (chapter 2): Chen et al. (2024), "Preference learning
algorithms do not learn preference rankings".

Chapter 2 uses this module for what it runs and tabulates around the methods of
:mod:`rlhfbook.methods.ranking` (the paper's quantities), :mod:`rlhfbook.chapters.ch02_dpo_ranking.unigram_dpo` (Part B) and
:mod:`rlhfbook.methods.dpo_training` (TRL's DPO with checkpoints):

* Part A, the identities on random log-likelihoods: :func:`check_identities` (Thm 4.1,
  Prop. 2.6, Thm 3.1 by :func:`soft_label_optimum`, Cor. 3.3);
* Part C, the study on the ranking task: one seed's pairs scored by the reference
  (:func:`seed_data`, :func:`pair_stats`), DPO runs and their best-validation checkpoints
  (:func:`run_dpo`, :func:`train_study`, :class:`DPOStudy`), the win rate of Sec. 5
  (:class:`WinRate`), the flips of Fig. 2 (:func:`quartile_flips`), the alignment gap of
  Table 1 (:func:`alignment_gap`), the gamma sweep of Eq. 4 (:func:`gamma_table`) and the
  rank correlation of R and win rate (:func:`near_far_rho`);
* the chapter's tables: :func:`example_pair_table`, :func:`hh_comparison`,
  :func:`best_checkpoints`, :func:`flip_rows`, :func:`thm41_runs`, :func:`table1_beside_paper`,
  :func:`paper_vs_book`, :func:`over_seeds`.

Its figures are in :mod:`rlhfbook.chapters.ch02_dpo_ranking.ranking_gap_figures`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from rlhfbook.chapters.ch02_dpo_ranking import unigram_dpo as ud
from rlhfbook.lm import rollout
from rlhfbook.lm.models import load_policy
from rlhfbook.methods import dpo_training as dt
from rlhfbook.methods import ranking as rk
from rlhfbook.report import display
from rlhfbook.tasks.preferences import load_pairs

if TYPE_CHECKING:
    from rlhfbook.chapters.ch02_dpo_ranking.spec import DPORankingSettings
    from rlhfbook.methods.dpo_training import Checkpoint
    from rlhfbook.tasks.preferences import PreferencePairs
    from rlhfbook.tasks.ranking_task import RankingTask

IDENTITY_GAMMAS: tuple[float, ...] = (
    0.0,
    0.5,
    1.0,
    2.0,
)  # the gamma of Eq. 4 on which Thm 4.1 is checked
Key = tuple[int, float]  # (seed, beta) of a DPO run


# --- Part A: the identities on random log-likelihoods ---------------------------------------
def random_points(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """``n`` random sequence log-likelihoods of answers of about 30 nats, four times:
    policy ``y_w``, policy ``y_l``, reference ``y_w``, reference ``y_l``."""
    return [-np.abs(rng.normal(30, 10, n)) for _ in range(4)]


def thm41_agreement(
    rng: np.random.Generator,
    n: int,
    betas: Sequence[float] = rk.BETAS,
    gammas: Sequence[float] = IDENTITY_GAMMAS,
) -> pd.DataFrame:
    """Thm 4.1 on random points, per (beta, gamma): the share of points where ``R = 1``
    (Def. 2.3) agrees with ``L_DPO^gamma <= -log sigmoid(beta gamma c)`` (Eq. 4). The
    log-likelihoods are scaled down where needed to keep ``beta gamma |c|`` inside float64's
    range of ``exp``."""
    rows = []
    for beta in betas:
        for gamma in gammas:
            scale = min(1.0, 5.0 / (beta * max(gamma, 1.0)))
            pw, pl, rw, rl = (scale * x for x in random_points(rng, n))
            below = rk.dpo_loss(pw, pl, rw, rl, beta, gamma) <= rk.loss_threshold(
                rk.reference_logratio(rw, rl), beta, gamma
            )
            rows.append(
                dict(
                    beta=beta,
                    gamma=gamma,
                    agreement=np.mean(rk.ranking_correct(pw, pl) == below),
                )
            )
    return pd.DataFrame(rows)


def prop26_accuracy(
    rng: np.random.Generator,
    n: int,
    betas: Sequence[float] = rk.BETAS,
    max_loss: float = 0.6,
) -> float:
    """Prop. 2.6 on random points: when the reference ranks a pair correctly, a DPO loss of at
    most ``max_loss`` implies ``R = 1``. Returns the smallest, over ``betas``, share of such
    points ranked correctly (1 when the proposition holds)."""
    pw, pl, rw, rl = random_points(rng, n)
    rw, rl = (
        np.maximum(rw, rl),
        np.minimum(rw, rl),
    )  # the reference ranks every pair correctly
    return min(
        rk.ranking_correct(pw, pl)[rk.dpo_loss(pw, pl, rw, rl, b) <= max_loss].mean()
        for b in betas
    )


def soft_label_optimum(alpha: float, beta: float, ref: torch.Tensor) -> float:
    """Thm 3.1 by optimisation: minimise the soft-label objective
    ``alpha L(y_w, y_l) + (1 - alpha) L(y_l, y_w)`` over a free softmax policy on
    ``len(ref)`` answers (``ref``: the reference's log-probabilities; answers 0 and 1 are the
    pair), and return the optimum's likelihood ratio ``pi(y_w) / pi(y_l)`` divided by the
    closed form of Thm 3.1 (1 when the theorem holds). ``alpha = 1`` is read as ``1 - 0.001``."""
    logits = torch.zeros(len(ref), dtype=torch.float64, requires_grad=True)
    a = min(alpha, 1 - rk.UNANIMOUS_EPS)
    opt = torch.optim.LBFGS(
        [logits],
        max_iter=500,
        tolerance_grad=1e-14,
        tolerance_change=1e-16,
        line_search_fn="strong_wolfe",
    )

    def closure():
        opt.zero_grad()
        pi = torch.log_softmax(logits, 0)
        loss = a * rk.dpo_loss(pi[0], pi[1], ref[0], ref[1], beta) + (
            1 - a
        ) * rk.dpo_loss(pi[1], pi[0], ref[1], ref[0], beta)
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    pi = torch.log_softmax(logits, 0).detach()
    return torch.exp(pi[0] - pi[1]).item() / np.exp(
        rk.optimal_logratio(ref[0].item(), ref[1].item(), alpha, beta)
    )


def cor33_agreement(
    rng: np.random.Generator, n: int, betas: Sequence[float] = rk.BETAS
) -> tuple[bool, int]:
    """Cor. 3.3: whether ``R*`` computed in log space (:func:`rlhfbook.methods.ranking.optimal_logratio`)
    ranks exactly as the paper's formula with likelihoods, on random points and votes, wherever
    the direct formula is finite; and on how many points (over all ``betas``) it was."""
    _, _, rw, rl = random_points(rng, n)
    alpha = rng.choice([0.5, 0.6, 0.8, 1.0], n)
    equal, count = True, 0
    for beta in betas:
        a = np.minimum(alpha, 1 - rk.UNANIMOUS_EPS)
        with np.errstate(over="ignore", under="ignore"):
            direct = np.exp(rw) / np.exp(rl) * (a / (1 - a)) ** (1 / beta)
        finite = np.isfinite(direct) & (np.exp(rl) > 0) & (direct > 0)
        equal &= bool(
            np.array_equal(
                (rk.optimal_logratio(rw, rl, alpha, beta) > 0)[finite],
                direct[finite] > 1,
            )
        )
        count += int(finite.sum())
    return equal, count


@dataclass
class Identities:
    """The paper's identities measured on random points (see :func:`check_identities`)."""

    thm41: pd.DataFrame  # agreement per (beta, gamma)
    prop26: float
    thm31: float  # max |soft-label optimum / closed form - 1|
    cor33_equal: bool
    cor33_n: int

    def table(self) -> pd.DataFrame:
        """One row per identity: what was measured."""
        return pd.DataFrame(
            [
                (
                    "Thm 4.1: R = 1 iff loss <= -log sigmoid(beta gamma c)",
                    f"{self.thm41.agreement.min():.4f} (min over {len(self.thm41)} (beta, gamma))",
                ),
                (
                    "Prop 2.6: reference correct and loss <= 0.6 => R = 1",
                    f"{self.prop26:.4f}",
                ),
                (
                    "Thm 3.1: soft-label optimum / closed form, max |ratio - 1|",
                    f"{self.thm31:.1e}",
                ),
                (
                    "Cor 3.3: log-space R* == direct formula where finite",
                    f"{self.cor33_equal} on {self.cor33_n} points",
                ),
            ],
            columns=["identity", "measured"],
        ).set_index("identity")


def check_identities(rng: np.random.Generator, n: int) -> Identities:
    """Thm 4.1 (all five beta of the paper's grid x gamma in {0, 0.5, 1, 2}), Prop. 2.6 and
    Cor. 3.3 on ``n`` random points each, drawn from ``rng`` in that order, and Thm 3.1 on a
    reference of five answers drawn from torch's global generator (alpha in {0.6, 0.8, 1},
    beta in {0.1, 1, 5})."""
    thm41 = thm41_agreement(rng, n)
    prop26 = prop26_accuracy(rng, n)
    ref5 = torch.log_softmax(torch.randn(5, dtype=torch.float64), 0)
    thm31 = max(
        abs(soft_label_optimum(a, b, ref5) - 1)
        for a in (0.6, 0.8, 1.0)
        for b in (0.1, 1.0, 5.0)
    )
    return Identities(thm41, prop26, thm31, *cor33_agreement(rng, n))


# --- Part C: the pairs of one seed ----------------------------------------------------------
def example_pair_table(task: RankingTask, pairs: PreferencePairs) -> pd.DataFrame:
    """The first pair of ``pairs``: each answer's length, writer log-likelihood, shared
    utility and taste (Sec. 4.1 of the chapter)."""
    x, answers = pairs.prompts[0], (pairs.chosen[0], pairs.rejected[0])
    return pd.DataFrame(
        {
            "answer": answers,
            "words": [len(y.split()) for y in answers],
            "writer log-likelihood (nats)": [
                task.writer_logprob(x, y) for y in answers
            ],
            "shared utility": [task.shared_utility(x, y) for y in answers],
            "taste": [task.taste(x, y) for y in answers],
        },
        index=pd.Index(
            ["y_w (preferred)", "y_l"],
            name=f"prompt {x!r}, alpha = {pairs.alpha[0]:.1f}",
        ),
    )


@dataclass
class SeedData:
    """One seed's rated pairs, split, and scored by the reference."""

    train: PreferencePairs
    val: PreferencePairs
    ref_train: rk.PairLogprobs
    ref_val: rk.PairLogprobs
    c: (
        np.ndarray
    )  # reference log-ratio of the train pairs (Thm 4.1), by the reference model
    c_writer: np.ndarray  # the same by the writer's exact likelihood

    @property
    def ref_correct(self) -> np.ndarray:
        """Train pairs the reference ranks correctly (``c <= 0``)."""
        return self.c <= 0


def seed_data(
    task: RankingTask,
    reference: torch.nn.Module,
    tokenizer,
    seed: int,
    *,
    n_pairs: int,
    n_val: int,
    n_raters: int,
    eval_batch: int,
) -> SeedData:
    """Sample ``n_pairs`` rated pairs with ``numpy``'s generator of ``seed``, keep the first
    ``n_val`` for validation, and score both parts under the reference (Eq. 13)."""
    pairs = task.sample_pairs(n_pairs, n_raters, np.random.default_rng(seed))
    val, train = pairs.select(range(n_val)), pairs.select(range(n_val, n_pairs))
    ref_train, ref_val = (
        rk.pair_logprobs(reference, tokenizer, d, batch_size=eval_batch)
        for d in (train, val)
    )
    writer = [
        np.array([task.writer_logprob(p, y) for p, y in zip(train.prompts, ys)])
        for ys in (train.chosen, train.rejected)
    ]
    return SeedData(
        train=train,
        val=val,
        ref_train=ref_train,
        ref_val=ref_val,
        c=rk.reference_logratio(ref_train.w, ref_train.l),
        c_writer=writer[1] - writer[0],
    )


def pair_stats(d: SeedData) -> dict[str, float]:
    """What the reference and the raters make of one seed's train pairs: ranking accuracy
    ``R`` and ``R~`` of the reference (Def. 2.3, Eq. 15), the spread of ``|c|``, the shares of
    each ``alpha``, of a longer / shorter ``y_w``, and of distinct prompts."""
    t, ref, c = d.train, d.ref_train, d.c
    longer = np.array(
        [len(w.split()) > len(l.split()) for w, l in zip(t.chosen, t.rejected)]
    )
    shorter = np.array(
        [len(w.split()) < len(l.split()) for w, l in zip(t.chosen, t.rejected)]
    )
    return {
        "R reference": rk.ranking_accuracy(ref.w, ref.l),
        "R~ reference": rk.ranking_accuracy(*ref.per_token),
        "median |c| (nats)": np.median(np.abs(c)),
        "|c| lower quartile": np.quantile(np.abs(c), 0.25),
        "|c| upper quartile": np.quantile(np.abs(c), 0.75),
        **{f"alpha = {a:.1f}": np.mean(t.alpha == a) for a in np.unique(t.alpha)},
        "y_w longer": longer.mean(),
        "y_w shorter": shorter.mean(),
        "distinct prompts": len(set(t.prompts)) / len(t.prompts),
    }


def pair_stats_table(data: dict[int, SeedData]) -> pd.DataFrame:
    """:func:`pair_stats` per seed (rows ``seed s``) and their ``mean``."""
    stats = pd.DataFrame({f"seed {s}": pair_stats(d) for s, d in data.items()}).T
    stats.loc["mean"] = stats.mean()
    return stats


def c_rms_error(data: dict[int, SeedData]) -> float:
    """Root mean square, over every seed's train pairs, of the reference's ``c`` minus the
    writer's exact ``c`` (nats): how well the reference learned the writer."""
    err = np.concatenate([d.c - d.c_writer for d in data.values()])
    return float(np.sqrt(np.mean(err**2)))


def hh_comparison(m: pd.Series, n_raters: int, n_params: int) -> pd.DataFrame:
    """What the ranking task shares with HH-RLHF and what it does not; ``m`` is the ``mean``
    row of :func:`pair_stats_table`."""
    return pd.DataFrame(
        [
            (
                "reference ranking accuracy R",
                "about 46% for every model the paper measured",
                f"{m['R reference']:.1%}",
            ),
            (
                "who wrote the answers",
                "another model; the reference is fine-tuned on such answers",
                "a word-frequency writer; the reference is fine-tuned on its answers",
            ),
            (
                "what the raters judge",
                "human taste, not how likely the words are",
                "a shared utility plus a taste for each (prompt, answer) that the writer's statistics do not predict",
            ),
            (
                "size of c",
                "tens to hundreds of nats (answers of hundreds of tokens)",
                f"median |c| {m['median |c| (nats)']:.1f} nats (quartiles {m['|c| lower quartile']:.1f} to "
                f"{m['|c| upper quartile']:.1f})",
            ),
            (
                "prompts",
                "dialogues, nearly all distinct",
                f"three details each; {m['distinct prompts']:.0%} distinct",
            ),
            (
                "labels per pair",
                "one (alpha = 1)",
                f"{n_raters} Bradley-Terry vote(s); "
                + ", ".join(
                    f"{name} in {m[name]:.0%} of pairs"
                    for name in m.index
                    if name.startswith("alpha")
                ),
            ),
            (
                "length and label",
                "chosen and rejected answers of any length",
                f"length independent of the label: y_w longer in {m['y_w longer']:.0%}, shorter in "
                f"{m['y_w shorter']:.0%}",
            ),
            (
                "models",
                "GPT-2 to 7B parameters, sub-word tokens",
                f"{n_params:,} parameters, one token per word",
            ),
            (
                "what is not there",
                "",
                "language: no syntax, no meaning, no shared phrasing between the writer and the raters",
            ),
        ],
        columns=["property", "HH-RLHF (paper)", "this task"],
    ).set_index("property")


# --- Part C: DPO runs -------------------------------------------------------------------------
class WinRate:
    """Win rate against the reference (Sec. 5): the share of ``prompts`` where a model's
    sample scores above the reference's for the raters (the task's gold score), ties one half.
    The reference's samples are drawn once, after ``torch.manual_seed(seed)``."""

    def __init__(
        self,
        task: RankingTask,
        reference: torch.nn.Module,
        tokenizer,
        prompts: list[str],
        seed: int,
    ):
        self.task, self.tokenizer, self.prompts = task, tokenizer, prompts
        torch.manual_seed(seed)
        self.reference_gold = self.gold(reference)

    def gold(self, model: torch.nn.Module) -> np.ndarray:
        """The raters' score of one sample of ``model`` per prompt."""

        samples = rollout.generate(
            model,
            self.tokenizer,
            self.prompts,
            max_new_tokens=self.task.max_response_tokens,
        )
        return rollout.gold_scores(self.task, samples).numpy()

    def __call__(self, model: torch.nn.Module) -> dict[str, float]:
        gold = self.gold(model)
        return {
            "win rate": float(
                np.mean(
                    (gold > self.reference_gold) + 0.5 * (gold == self.reference_gold)
                )
            )
        }


def run_dpo(
    reference: torch.nn.Module,
    tokenizer,
    d: SeedData,
    P: DPORankingSettings,
    *,
    seed: int,
    beta: float,
    gamma: float = 1.0,
    extra: Callable[[torch.nn.Module], dict] | None = None,
) -> tuple[list[Checkpoint], pd.DataFrame]:
    """DPO (Eq. 2; Eq. 4 for ``gamma != 1``) with TRL from the reference on one seed's pairs
    at the learning rate ``P.lr_x_beta / beta``: the checkpoints and their table
    (:func:`rlhfbook.methods.dpo_training.checkpoint_table`)."""

    cps = dt.train_dpo(
        reference,
        tokenizer,
        d.train,
        d.val,
        beta=beta,
        gamma=gamma,
        learning_rate=P.lr_x_beta / beta,
        epochs=P.epochs,
        batch_size=P.batch_size,
        eval_every=P.eval_every,
        seed=seed,
        eval_batch=P.eval_batch,
        extra=extra,
    )
    return cps, dt.checkpoint_table(cps, d.ref_train, d.ref_val, beta=beta, gamma=gamma)


def best_step(table: pd.DataFrame) -> int:
    """The step of the checkpoint with the lowest validation loss (the paper's choice)."""
    return int(table["val loss"].idxmin())


@dataclass
class DPOStudy:
    """DPO runs keyed by (seed, beta): their checkpoints, tables and best-validation checkpoints."""

    runs: dict[Key, list[Checkpoint]]
    tables: dict[Key, pd.DataFrame]
    best_step: dict[Key, int] = field(init=False)
    best: dict[Key, pd.Series] = field(
        init=False
    )  # the table row of the best checkpoint
    best_cp: dict[Key, Checkpoint] = field(init=False)

    def __post_init__(self) -> None:
        self.best_step = {key: best_step(tab) for key, tab in self.tables.items()}
        self.best = {
            key: self.tables[key].loc[self.best_step[key]] for key in self.tables
        }
        self.best_cp = {
            key: self.runs[key][self.tables[key].index.get_loc(self.best_step[key])]
            for key in self.tables
        }


def train_study(
    reference: torch.nn.Module,
    tokenizer,
    data: dict[int, SeedData],
    P: DPORankingSettings,
    extra: Callable[[torch.nn.Module], dict] | None = None,
) -> DPOStudy:
    """:func:`run_dpo` for every seed of ``data`` and every beta of ``P.betas``, in that order."""
    runs, tables = {}, {}
    for s, d in data.items():
        for beta in P.betas:
            runs[s, beta], tables[s, beta] = run_dpo(
                reference, tokenizer, d, P, seed=s, beta=beta, extra=extra
            )
    return DPOStudy(runs, tables)


def best_checkpoints(study: DPOStudy) -> pd.DataFrame:
    """One row per run: the best step and, there and at the reference, R, reward accuracy,
    the flipped share (Fig. 2), validation R and reward accuracy, win rate."""
    tables, best = study.tables, study.best
    return pd.DataFrame(
        {
            f"seed {s}, beta {b}": {
                "best step": study.best_step[s, b],
                "R reference": tables[s, b]["R"].iloc[0],
                "R": best[s, b]["R"],
                "reward acc": best[s, b]["reward acc"],
                "flipped": best[s, b]["flipped"],
                "val R reference": tables[s, b]["val R"].iloc[0],
                "val R": best[s, b]["val R"],
                "val reward acc": best[s, b]["val reward acc"],
                "win rate": best[s, b]["win rate"],
            }
            for s, b in tables
        }
    ).T


# --- Fig. 2 and 3: which pairs flip -----------------------------------------------------------
def flipped_wrong(d: SeedData, cp: Checkpoint) -> tuple[np.ndarray, np.ndarray]:
    """The train pairs the reference ranks wrongly: their ``c`` and whether ``cp`` ranks them
    correctly (flipped, Fig. 2)."""
    wrong = ~d.ref_correct
    return d.c[wrong], rk.ranking_correct(cp.train.w, cp.train.l)[wrong]


def quartile_flips(d: SeedData, cp: Checkpoint) -> tuple[float, float]:
    """Share of wrongly ranked train pairs flipped at ``cp``: in the bottom and the top
    quartile of ``c`` (Fig. 3: the correct pairs after DPO are those with small c)."""
    c_wrong, flipped = flipped_wrong(d, cp)
    q1, q3 = np.quantile(c_wrong, [0.25, 0.75])
    return flipped[c_wrong <= q1].mean(), flipped[c_wrong >= q3].mean()


def flip_table_along(
    d: SeedData, checkpoints: list[Checkpoint], steps: Iterable[int]
) -> pd.DataFrame:
    """The four-way flip table of Fig. 2 (:func:`rlhfbook.methods.ranking.flip_table`) per
    checkpoint, as shares of the train pairs, indexed by step."""
    rows = [
        rk.flip_table(d.ref_correct, rk.ranking_correct(cp.train.w, cp.train.l))
        for cp in checkpoints
    ]
    return pd.DataFrame(rows, index=steps) / len(d.ref_correct)


def flip_rows(study: DPOStudy, data: dict[int, SeedData]) -> pd.DataFrame:
    """Per run: the flipped share at the best checkpoint, and in the bottom / top c-quartile."""
    return pd.DataFrame(
        {
            f"seed {s}, beta {b}": dict(
                zip(
                    ("flipped", "bottom c-quartile", "top c-quartile"),
                    (
                        study.best[s, b]["flipped"],
                        *quartile_flips(data[s], study.best_cp[s, b]),
                    ),
                )
            )
            for s, b in study.tables
        }
    ).T


def thm41_runs(tables: dict[Key, pd.DataFrame]) -> pd.DataFrame:
    """Per run: the minimum Thm 4.1 agreement over its checkpoints (book's ranking vs TRL's
    loss), the checkpoints, the near ties left out, and the largest |book loss - TRL loss|."""
    return pd.DataFrame(
        {
            f"seed {s}, beta {b}": {
                "Thm 4.1 agreement (min over checkpoints)": tab[
                    "Thm 4.1 agreement"
                ].min(),
                "checkpoints": len(tab),
                "near ties left out": int(tab["near ties"].sum()),
                "max |book loss - TRL loss|": tab["max |loss - TRL loss|"].max(),
            }
            for (s, b), tab in tables.items()
        }
    ).T


# --- Table 1: idealized ranking accuracy and the alignment gap -------------------------------
@dataclass
class AlignmentGap:
    """Table 1 of the paper for our runs (see :func:`alignment_gap`)."""

    ideal: dict[
        int, dict[str, float]
    ]  # per seed, rlhfbook.methods.ranking.accuracy_report of the reference
    r_star: dict[Key, float]  # R*(beta), Cor. 3.3 in log space
    r_star_official: dict[Key, float]  # the official code's R*(beta), unnormalised
    gap: dict[Key, float]  # R*(beta) - R at the best checkpoint
    table: pd.DataFrame


def alignment_gap(
    study: DPOStudy, data: dict[int, SeedData], betas: Sequence[float]
) -> AlignmentGap:
    """Table 1: ``R~``, ``R`` at the best checkpoint of each run beside the idealized ``R~*``,
    ``R*`` over the paper's beta grid (min / median / max), ``R*(beta)`` at the run's beta,
    the alignment gap ``R*(beta) - R``, and the official code's ``R*``."""
    names = ("min", "median", "max")
    ideal = {
        s: rk.accuracy_report(
            d.ref_train.w, d.ref_train.l, d.ref_train.nw, d.ref_train.nl, d.train.alpha
        )
        for s, d in data.items()
    }
    r_star = {
        (s, b): rk.idealized_ranking_accuracy(
            d.ref_train.w, d.ref_train.l, d.train.alpha, [b]
        )[b]
        for s, d in data.items()
        for b in betas
    }
    r_star_official = {
        (s, b): rk.idealized_ranking_accuracy_official(
            d.ref_train.w,
            d.ref_train.l,
            d.ref_train.nw,
            d.ref_train.nl,
            d.train.alpha,
            b,
            normalized=False,
        )
        for s, d in data.items()
        for b in betas
    }
    gap = {key: r_star[key] - study.best[key]["R"] for key in study.tables}
    rows = {}
    for s, b in study.tables:
        cp = study.best_cp[s, b]
        rows[f"seed {s}, DPO beta {b}"] = {
            "R~": rk.ranking_accuracy(*cp.train.per_token),
            **{f"R~* {n}": ideal[s][f"R~* {n}"] for n in names},
            "R": study.best[s, b]["R"],
            **{f"R* {n}": ideal[s][f"R* {n}"] for n in names},
            "R*(beta)": r_star[s, b],
            "gap R*(beta) - R": gap[s, b],
            "R*(beta), official code": r_star_official[s, b],
            "R* median, official code": ideal[s]["R* (official code) median"],
        }
    return AlignmentGap(ideal, r_star, r_star_official, gap, pd.DataFrame(rows).T)


TABLE1_COLUMNS = [
    "R~",
    "R~* min",
    "R~* median",
    "R~* max",
    "R",
    "R* min",
    "R* median",
    "R* max",
]
PAPER_TABLE1 = pd.DataFrame(
    [
        [54, 86, 98, 100, 42, 90, 99, 100],
        [53, 87, 97, 100, 42, 91, 99, 100],
        [54, 73, 73, 97, 40, 67, 93, 100],
        [53, 87, 97, 100, 40, 91, 99, 100],
    ],
    index=[
        f"paper: {m}"
        for m in ("Zephyr-7B-DPO", "Tulu-2-DPO-7B", "Gemma-7B-IT", "Llama-2-7B-chat")
    ],
    columns=TABLE1_COLUMNS,
)  # Table 1 of the paper: Alpaca Farm, percent


def table1_beside_paper(
    table1: pd.DataFrame, seeds: Sequence[int], betas: Sequence[float]
) -> pd.DataFrame:
    """The paper's Table 1 (percent) above ours: per beta, the mean over seeds of the rows of
    :func:`alignment_gap`'s table, in percent, rounded to integers."""
    ours = pd.DataFrame(
        {
            f"this book: DPO beta {b} (mean of {len(seeds)} seeds)": 100
            * table1.loc[
                [f"seed {s}, DPO beta {b}" for s in seeds], TABLE1_COLUMNS
            ].mean()
            for b in betas
        }
    ).T
    return pd.concat([PAPER_TABLE1, ours]).round(0).astype(int)


# --- Eq. 4 and Sec. 5 -------------------------------------------------------------------------
def gamma_table(
    gamma_runs: dict[float, tuple[list[Checkpoint], pd.DataFrame]],
) -> pd.DataFrame:
    """The gamma sweep (Eq. 4): per gamma, the best-validation checkpoint's step, losses,
    R, R~, reward accuracy, flipped share, win rate and Thm 4.1 agreement."""
    ordered = sorted(gamma_runs.items())
    table = pd.DataFrame(
        {g: tab.loc[tab["val loss"].idxmin()] for g, (_, tab) in ordered}
    ).T
    table = table.rename_axis("gamma")[
        [
            "train loss",
            "val loss",
            "R",
            "R~",
            "reward acc",
            "flipped",
            "win rate",
            "Thm 4.1 agreement",
        ]
    ]
    table.insert(0, "best step", [best_step(tab) for _, (_, tab) in ordered])
    return table


def near_far_rho(tables: Sequence[pd.DataFrame]) -> dict[str, float]:
    """Sec. 5: Spearman correlation of R and win rate over the checkpoints of ``tables`` (one
    seed's runs), for those near the reference (weight distance at most the median), far from
    it, and all. NaN where R never moved (a constant column has no rank correlation)."""
    from scipy.stats import spearmanr

    along = pd.concat(list(tables))
    near = along["distance"] <= along["distance"].median()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            name: spearmanr(part["R"], part["win rate"]).statistic
            for name, part in (
                ("near", along[near]),
                ("far", along[~near]),
                ("all", along),
            )
        }


def spearman_table(
    tables: dict[Key, pd.DataFrame], seeds: Sequence[int], betas: Sequence[float]
) -> tuple[pd.DataFrame, dict[str, float]]:
    """:func:`near_far_rho` per seed (over its runs of every beta), and its mean and sd over seeds."""
    rho = pd.DataFrame(
        {f"seed {s}": near_far_rho([tables[s, b] for b in betas]) for s in seeds}
    ).T
    summary = {f"{name} mean": rho[name].mean() for name in rho} | {
        f"{name} sd": rho[name].std() for name in rho
    }
    return rho, summary


# --- Paper vs this book -----------------------------------------------------------------------
def over_seeds(values: Iterable[float], fmt: str = ".3f") -> str:
    """'mean ± sd (min ..., max ...)' of per-seed values (sd with ddof 1; 0 for one seed)."""
    values = np.asarray(list(values), dtype=float)
    sd = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():{fmt}} ± {sd:{fmt}} (min {values.min():{fmt}}, max {values.max():{fmt}})"


def paper_vs_book(
    stats: pd.DataFrame,
    study: DPOStudy,
    gap: AlignmentGap,
    thm: pd.DataFrame,
    rho_summary: dict[str, float],
    seeds: Sequence[int],
    betas: Sequence[float],
) -> pd.DataFrame:
    """The paper's findings (Fig. 1-3, Table 1, Sec. 5) beside ours, mean ± sd over seeds:
    ``stats`` from :func:`pair_stats_table`, ``thm`` from :func:`thm41_runs`."""
    best = study.best

    def per_beta(col: str) -> str:
        return "; ".join(
            f"beta {b}: {over_seeds([best[s, b][col] for s in seeds])}" for b in betas
        )

    ideal = gap.ideal
    return pd.DataFrame(
        [
            (
                "Reference ranking accuracy (Fig. 1, HH-RLHF)",
                "about 46% for every model",
                over_seeds(stats.loc[[f"seed {s}" for s in seeds], "R reference"]),
            ),
            (
                "Ranking accuracy after DPO (best checkpoint, train pairs)",
                "stays below 60%; moves little in training (Fig. 2)",
                per_beta("R"),
            ),
            (
                "Reward accuracy after DPO (train pairs)",
                "rises well above chance while R does not",
                per_beta("reward acc"),
            ),
            (
                "Wrongly ranked pairs flipped at the best checkpoint (Fig. 2)",
                "< 10%",
                per_beta("flipped"),
            ),
            (
                "Idealized R* (median over beta; Table 1, Alpaca Farm)",
                "90 to 99% (official code)",
                f"{over_seeds([ideal[s]['R* median'] for s in seeds])}; official code "
                f"{over_seeds([ideal[s]['R* (official code) median'] for s in seeds])}",
            ),
            (
                "Alignment gap R*(beta) - R (Table 1: to the median R*)",
                "19 to 59 points",
                "; ".join(
                    f"beta {b}: {over_seeds([100 * gap.gap[s, b] for s in seeds], '.1f')} points"
                    for b in betas
                ),
            ),
            (
                "Thm 4.1 on every checkpoint",
                "an identity",
                f"{thm.iloc[:, 0].min():.4f} (min over runs), against TRL's losses",
            ),
            (
                "Ranking accuracy vs win rate (Sec. 5)",
                "correlated near pi_Ref, anti-correlated far",
                f"Spearman near {rho_summary['near mean']:+.2f} ± {rho_summary['near sd']:.2f}, far "
                f"{rho_summary['far mean']:+.2f} ± {rho_summary['far sd']:.2f}",
            ),
        ],
        columns=["finding", "paper", "this book (mean ± sd over seeds)"],
    ).set_index("finding")


# --- Sec. 5 of the chapter: a real model on real pairs (gpu profile) -------------------------
def real_model_report(P: DPORankingSettings, seed: int, device) -> tuple[dict, int]:
    """Ranking accuracy (R, R~) and the idealized accuracies of the causal LM ``P.model_name``
    on ``P.n_real_pairs`` pairs of ``P.dataset`` (one label each, so alpha = 1), with answers
    scored without EOS and at most ``P.max_prompt_tokens`` of context, ``P.real_eval_batch``
    sequences per forward pass (GPT-2's fp32 logits of 8 x 1,024 tokens: 1.6 GB); and the number of
    pairs scored (those with an empty answer are left out: without EOS it has no likelihood)."""

    model, tok = load_policy(P.model_name)
    model.to(device)
    loaded = load_pairs(P.dataset, n=P.n_real_pairs, seed=seed, split="test")
    # scored without EOS, an empty answer has no likelihood: such pairs (HH-RLHF has a few) are left out
    real = loaded.select(
        [i for i, (c, r) in enumerate(zip(loaded.chosen, loaded.rejected)) if c and r]
    )
    cut = dict(
        add_eos=False,
        max_prompt_tokens=P.max_prompt_tokens,
        max_response_tokens=P.max_response_tokens,
        batch_size=P.real_eval_batch,
    )
    lw, nw = rk.sequence_logprobs(
        model, tok, real.prompts, real.chosen, progress=True, **cut
    )
    ll, nl = rk.sequence_logprobs(
        model, tok, real.prompts, real.rejected, progress=True, **cut
    )
    report = rk.accuracy_report(lw, ll, nw, nl, real.alpha)
    report["median |c|"] = float(np.median(np.abs(rk.reference_logratio(lw, ll))))
    return report, len(real)


# --- Reproduction checks: the evidence of each ------------------------------------------------
@dataclass
class Evidence:
    """What one reproduction check records besides its claim, threshold and rule: the decisive
    number per seed, the numbers beside it, and (a sanity check) whether it holds."""

    per_seed: dict[int, float]
    ours: dict[str, float | int | None]
    passed: bool | None = None

    def kwargs(self) -> dict:
        """The keyword arguments of :meth:`rlhfbook.report.results.Results.check` it fills."""
        return dict(per_seed=self.per_seed, ours=self.ours) | (
            {} if self.passed is None else {"passed": self.passed}
        )


def _betas(study: DPOStudy) -> list[float]:
    return list(dict.fromkeys(b for _, b in study.tables))


def _seed_mean(values: dict[Key, float], seeds: Sequence[int], beta: float) -> float:
    return float(np.mean([values[s, beta] for s in seeds]))


def reward_up_ranking_flat(
    study: DPOStudy, data: dict[int, SeedData], seeds: Sequence[int], beta: float
) -> Evidence:
    """Figs. 1-2: the reference ranks below 60%, DPO raises reward accuracy by >= 15 points
    while R moves by <= 5 points. Per seed, at ``beta``, the smallest of the three margins in
    points: ``60 - R_ref``, ``(reward acc - 50) - 15``, ``5 - |R - R_ref|`` (best checkpoint,
    train pairs); beside it the validation pairs and the other betas."""
    best, tables = study.best, study.tables
    other = [b for b in _betas(study) if b != beta]
    R_ref = {s: float(data[s].ref_correct.mean()) for s in seeds}
    gain = {(s, b): best[s, b]["reward acc"] - 0.5 for s, b in tables}
    moved = {(s, b): abs(best[s, b]["R"] - R_ref[s]) for s, b in tables}
    margins = {
        s: min(60 - 100 * R_ref[s], 100 * gain[s, beta] - 15, 5 - 100 * moved[s, beta])
        for s in seeds
    }
    ours = {
        "R_ref": float(np.mean(list(R_ref.values()))),
        "reward acc gain (pts)": 100 * _seed_mean(gain, seeds, beta),
        "|R - R_ref| (pts)": 100 * _seed_mean(moved, seeds, beta),
        "val: R_ref": float(np.mean([tables[s, beta]["val R"].iloc[0] for s in seeds])),
        "val: R at best": float(np.mean([best[s, beta]["val R"] for s in seeds])),
        "val: reward acc at best": float(
            np.mean([best[s, beta]["val reward acc"] for s in seeds])
        ),
        **{
            f"beta {b}: reward acc gain (pts)": 100 * _seed_mean(gain, seeds, b)
            for b in other
        },
        **{
            f"beta {b}: |R - R_ref| (pts)": 100 * _seed_mean(moved, seeds, b)
            for b in other
        },
    }
    return Evidence(margins, ours)


def mis_ranked_rarely_flip(
    study: DPOStudy, data: dict[int, SeedData], seeds: Sequence[int], beta: float
) -> Evidence:
    """Fig. 2: per seed, the share of mis-ranked train pairs flipped at the best checkpoint at
    ``beta``; beside it the other betas'."""
    flipped = {k: study.best[k]["flipped"] for k in study.tables}
    ours = {
        f"beta {b}: flipped": _seed_mean(flipped, seeds, b)
        for b in _betas(study)
        if b != beta
    }
    return Evidence({s: float(flipped[s, beta]) for s in seeds}, ours)


def flips_fall_with_c(
    study: DPOStudy, data: dict[int, SeedData], seeds: Sequence[int], beta: float
) -> Evidence:
    """Fig. 3: per seed, the flipped share of the mis-ranked train pairs in the top c-quartile minus
    half that of the bottom c-quartile, at the best checkpoint at ``beta`` (at most 0 when the
    hardest pairs flip at most half as often as the easiest)."""
    bottom_top = {s: quartile_flips(data[s], study.best_cp[s, beta]) for s in seeds}
    ours = {
        "bottom c-quartile flipped": float(np.mean([bottom_top[s][0] for s in seeds])),
        "top c-quartile flipped": float(np.mean([bottom_top[s][1] for s in seeds])),
    }
    return Evidence(
        {s: float(top - 0.5 * bottom) for s, (bottom, top) in bottom_top.items()}, ours
    )


def alignment_gap_evidence(
    study: DPOStudy, gap: AlignmentGap, seeds: Sequence[int], beta: float
) -> Evidence:
    """Table 1: per seed, the alignment gap ``R*(beta) - R`` in points at the best checkpoint;
    beside it R*, R, the official code's R* and gap, and the other betas' gaps."""
    best = study.best
    gap_pts = {s: 100 * gap.gap[s, beta] for s in seeds}
    R = {k: best[k]["R"] for k in study.tables}
    ours = {
        f"R*({beta})": float(np.mean([gap.r_star[s, beta] for s in seeds])),
        "R at best": _seed_mean(R, seeds, beta),
        f"official code: R*({beta})": float(
            np.mean([gap.r_star_official[s, beta] for s in seeds])
        ),
        "official code: gap (pts)": float(
            np.mean(
                [
                    100 * (gap.r_star_official[s, beta] - best[s, beta]["R"])
                    for s in seeds
                ]
            )
        ),
        **{
            f"beta {b}: gap (pts)": 100 * _seed_mean(gap.gap, seeds, b)
            for b in _betas(study)
            if b != beta
        },
    }
    return Evidence(gap_pts, ours)


def thm41_evidence(
    study: DPOStudy,
    gamma_runs: dict[float, tuple[list[Checkpoint], pd.DataFrame]],
    seeds: Sequence[int],
) -> Evidence:
    """Thm 4.1 against TRL: per seed, the minimum agreement over every checkpoint of every beta
    (and, for the first seed, of every gamma run); passes only when it is 1 on every seed."""
    tables = study.tables
    thm_min = {
        s: float(min(tables[s, b]["Thm 4.1 agreement"].min() for b in _betas(study)))
        for s in seeds
    }
    first = seeds[0]
    thm_min[first] = min(
        thm_min[first],
        float(min(tab["Thm 4.1 agreement"].min() for _, tab in gamma_runs.values())),
    )
    ours = {
        "checkpoints": int(
            sum(len(t) for t in tables.values())
            + sum(len(t) for g, (_, t) in gamma_runs.items() if g != 1.0)
        ),
        "near ties left out": int(sum(t["near ties"].sum() for t in tables.values())),
        "max |book loss - TRL loss|": float(
            max(t["max |loss - TRL loss|"].max() for t in tables.values())
        ),
    }
    return Evidence(thm_min, ours, bool(min(thm_min.values()) == 1.0))


def small_c_evidence(
    control: dict[int, dict[str, float]], gamma_table: pd.DataFrame
) -> Evidence:
    """The control (Thm 4.1: the difficulty of a pair is its c): per seed, the share of
    mis-ranked pairs DPO flips in the sandbox at sigma = 0 (``control``: each seed's
    :meth:`rlhfbook.chapters.ch02_dpo_ranking.unigram_dpo.Study.summary`). Beside it the rise of R and the
    transformer's flipped share at gamma = 0."""
    flip = {s: v["flipped"] for s, v in control.items()}
    rise = float(
        np.mean([v["R after DPO"] - v["R reference"] for v in control.values()])
    )
    ours = {
        "median |c|": float(np.mean([v["median |c|"] for v in control.values()])),
        "R rise (pts)": 100 * rise,
        "transformer, gamma 0: flipped": float(gamma_table.loc[0.0, "flipped"])
        if 0.0 in gamma_table.index
        else None,
    }
    return Evidence(flip, ours)


def near_far_evidence(rho: pd.DataFrame, seeds: Sequence[int]) -> Evidence:
    """Sec. 5: per seed, the Spearman correlation of R and win rate over the checkpoints near the
    reference minus that over the checkpoints far from it (:func:`spearman_table`'s rows); a seed
    whose R never moved has no correlation (NaN, which the verdict leaves out)."""
    diff = {
        s: float(rho.loc[f"seed {s}", "near"] - rho.loc[f"seed {s}", "far"])
        for s in seeds
    }
    ours = {
        f"rho {part} (mean)": float(rho[part].mean()) for part in ("near", "far", "all")
    }
    return Evidence(diff, ours)


def record_checks(
    results: Any,
    study: DPOStudy,
    data: dict[int, SeedData],
    seeds: Sequence[int],
    cb: float,
    gap: AlignmentGap,
    gamma_runs: dict[float, tuple[list[Checkpoint], pd.DataFrame]],
    gamma_table: pd.DataFrame,
    rho: pd.DataFrame,
    *,
    sandbox_pairs: int,
    sandbox_steps: int,
) -> None:
    """Chapter 2's findings, control and sanity check, recorded on ``results`` (a
    :class:`rlhfbook.report.results.Results`), each with one number per seed at ``beta = cb``:
    the reward-up / ranking-flat composite and the flip shares (Figs. 1-3), the alignment gap
    (Table 1), Thm 4.1 against TRL's loss, the sigma = 0 sandbox (control) and Sec. 5's
    near-versus-far correlation."""
    results.check(
        "reward_up_ranking_flat",
        kind="finding",
        claim="The reference ranks fewer than 60% of pairs correctly, and at the best-validation checkpoint DPO raises "
        "reward accuracy by at least 15 points while ranking accuracy moves by at most 5 (train pairs).",
        paper="ranking accuracy < 60% and nearly unchanged by DPO while reward accuracy rises (Figs. 1-2)",
        threshold=0.0,
        direction=">=",
        rule="per seed, the smallest of three margins in points: 60 - R_ref, (reward acc - 50) - 15, 5 - |R - R_ref|; "
        f"the mean over seeds must be >= 0 (beta {cb})",
        **reward_up_ranking_flat(study, data, seeds, cb).kwargs(),
    )
    results.check(
        "mis_ranked_rarely_flip",
        kind="finding",
        claim="Of the train pairs the reference mis-ranks, at most 10% are ranked correctly at the best-validation "
        "checkpoint.",
        paper="< 10% of initially mis-ranked training pairs flipped (Fig. 2)",
        threshold=0.10,
        direction="<=",
        rule=f"per seed, the share of mis-ranked train pairs that DPO flips (beta {cb})",
        **mis_ranked_rarely_flip(study, data, seeds, cb).kwargs(),
    )
    results.check(
        "flips_fall_with_c",
        kind="finding",
        claim="The pairs DPO does flip are those with small c: the hardest quarter of the mis-ranked pairs flips at most "
        "half as often as the easiest quarter.",
        paper="the pairs ranked correctly after DPO are those with a small reference log-ratio c (Fig. 3, Thm 4.1)",
        threshold=0.0,
        direction="<=",
        rule=f"per seed, flipped share of the top c-quartile minus half that of the bottom c-quartile (beta {cb})",
        **flips_fall_with_c(study, data, seeds, cb).kwargs(),
    )
    results.check(
        "alignment_gap",
        kind="finding",
        claim="The idealized ranking accuracy R*(beta) of a perfectly optimised model exceeds the observed ranking "
        "accuracy by at least 20 points (the alignment gap).",
        paper="gaps of 19 to 59 points (Table 1, to the median R* of the official code)",
        threshold=20.0,
        direction=">=",
        rule=f"per seed, R*(beta) - R at the best-validation checkpoint, in points (Cor. 3.3 in log space; beta {cb}, "
        "train pairs)",
        **alignment_gap_evidence(study, gap, seeds, cb).kwargs(),
    )
    results.check(
        "thm41_against_trl",
        kind="sanity",
        claim="A pair is ranked correctly (by the book's forward pass) exactly when TRL's DPO loss is at most "
        "-log sigmoid(beta gamma c) (Thm 4.1).",
        paper="an identity (100%)",
        threshold=1.0,
        direction=">=",
        rule="per seed, the minimum agreement over every checkpoint of every beta (and, for the first seed, every gamma); "
        "must be 1 on every seed",
        **thm41_evidence(study, gamma_runs, seeds).kwargs(),
    )
    control = {
        s: ud.study(
            s, nuisance=0.0, n_pairs=sandbox_pairs, steps=sandbox_steps
        ).summary()
        for s in seeds
    }
    results.check(
        "small_c_flips",
        kind="control",
        claim="With a reference whose c is small (the sandbox at sigma = 0), DPO does flip most mis-ranked pairs: the "
        "effect comes from c, not from DPO failing to learn.",
        paper="Thm 4.1: the difficulty of a pair is its c",
        threshold=0.5,
        direction=">=",
        rule="per seed, the share of mis-ranked pairs DPO flips in the sandbox at sigma = 0 (the rise of R beside it)",
        **small_c_evidence(control, gamma_table).kwargs(),
    )
    results.check(
        "ranking_tracks_win_rate_only_near_the_reference",
        kind="finding",
        claim="Ranking accuracy and win rate rise together while the model stays close to the reference, and the "
        "correlation weakens once it moves far from it.",
        paper="Sec. 5: ranking accuracy and win rate are correlated near the reference and part ways far from it",
        threshold=0.0,
        direction=">=",
        rule="per seed, Spearman's rho of R and win rate over the checkpoints near the reference minus that over those "
        "far from it (near: weight distance at most the seed's median)",
        **near_far_evidence(rho, seeds).kwargs(),
    )


# --- One call per step of the chapter (issue 33: the notebook shows the method) ----------
def data_for_seeds(
    task: RankingTask,
    reference: torch.nn.Module,
    tokenizer,
    seeds: Sequence[int],
    P: DPORankingSettings,
) -> dict[int, SeedData]:
    """:func:`seed_data` of every seed, with the chapter's sizes from ``P``."""
    return {
        s: seed_data(
            task,
            reference,
            tokenizer,
            s,
            n_pairs=P.n_pairs,
            n_val=P.n_val,
            n_raters=P.n_raters,
            eval_batch=P.eval_batch,
        )
        for s in seeds
    }


def spearman_quotes(summary: dict[str, float]) -> dict[str, float | str]:
    """The numbers of :func:`spearman_table`'s summary that the chapter's prose quotes
    (``rho_near_mean``, ``rho_near_sd``, ``rho_far_…``, ``rho_all_…``, as plain floats
    for ``{glue:text}``), and ``rho_far_verdict``: the clause that sets the far mean's sign
    against the paper's finding."""
    quotes: dict[str, float | str] = {
        f"rho_{name}_{stat}": float(summary[f"{name} {stat}"])
        for name in ("near", "far", "all")
        for stat in ("mean", "sd")
    }
    quotes["rho_far_verdict"] = (
        "as in the paper, it turns negative far from the reference"
        if summary["far mean"] < 0
        else "unlike the paper, it does not turn negative far from the reference "
        "within these short runs"
    )
    return quotes


def real_model_section(results, P: DPORankingSettings, seed: int, device):
    """The chapter's real-model step, one call for every profile: with ``P.model_name`` and
    ``P.dataset`` (the gpu profile) :func:`real_model_report`, recorded as the metric
    ``real_model`` and shown as a table; otherwise a note of how to run it."""
    from IPython.display import Markdown

    if not (P.model_name and P.dataset):
        return Markdown(
            "Skipped: set `model_name` and `dataset` (the `gpu` profile does)."
        )
    report, n_real = real_model_report(P, seed, device)
    results.metric(
        "real_model",
        {"model": P.model_name, "dataset": P.dataset, "pairs": n_real, **report},
    )
    print(
        f"{P.model_name} on {n_real} pairs of {P.dataset}: R = {report['R']:.3f}, "
        f"R~ = {report['R~']:.3f}, median |c| = {report['median |c|']:.1f} nats "
        "(paper, HH-RLHF: R about 0.46 for every model)"
    )
    return display.table(pd.Series(report).to_frame("value"))
