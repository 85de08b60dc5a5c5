"""Ranking accuracy of preference-tuned models (Chen et al., 2024).

A preference datapoint is ``(x, y_w, y_l)`` with ``alpha`` the fraction of raters who
preferred ``y_w`` (``alpha >= 0.5``). Everything here works on *sequence log-likelihoods*
``log pi(y | x)``: the policy's (``policy_w``, ``policy_l``) and the reference model's
(``ref_w``, ``ref_l``), as numpy arrays (or torch tensors where stated).

* :func:`sequence_logprobs` -- ``log pi(y|x)`` summed over response tokens (Eq. 13) and the
  token counts, from which the length-normalised likelihood of Eq. 15 follows;
* :func:`dpo_loss` -- the DPO loss (Eq. 2) and its gamma-scaled version (Eq. 4);
* :func:`ranking_correct` -- ranking accuracy (Def. 2.3) with the tie rule of Def. C.1;
* :func:`reward_correct`, :func:`reward_accuracy` -- DPO's "reward accuracy", a different quantity;
* :func:`optimal_logratio`, :func:`idealized_ranking_accuracy` -- Thm 3.1 and Cor. 3.3;
* :func:`reference_logratio`, :func:`loss_threshold` -- the difficulty ``c`` of a datapoint
  and the bound of Thm 4.1.

Used by chapter 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rlhfbook.core.progress import track
from rlhfbook.lm.rollout import Rollout, encode_prompts, sequence_logprob

BETAS: tuple[float, ...] = (0.01, 0.1, 1.0, 5.0, 10.0)  # the paper's beta grid for R*
TIE_EPS = 0.01  # Def. C.1: a tie is ranked correctly when |pi(y1) - pi(y2)| < 0.01
UNANIMOUS_EPS = 1e-3  # Cor. 3.3: alpha = 1 is replaced by 1 - 0.001


# --- sequence log-likelihoods -----------------------------------------------------------
def encode_responses(
    tokenizer,
    prompts: list[str],
    responses: list[str],
    *,
    add_eos: bool = True,
    max_prompt_tokens: int | None = None,
    max_response_tokens: int | None = None,
) -> Rollout:
    """``(prompt, response)`` texts as a :class:`~rlhfbook.lm.rollout.Rollout`: left-padded
    prompts, right-padded responses (with EOS appended when ``add_eos``, as TRL's DPOTrainer
    does), so the rollout module's log-prob code scores them.

    Long prompts keep their last ``max_prompt_tokens`` tokens, long responses their first
    ``max_response_tokens``; both cuts are the same for ``y_w`` and ``y_l`` of a pair.
    """
    if len(prompts) != len(responses):
        raise ValueError(f"got {len(prompts)} prompts but {len(responses)} responses")
    if not prompts:
        raise ValueError("need at least one (prompt, response) pair")
    if max_prompt_tokens is not None:
        prompts = [last_tokens(tokenizer, p, max_prompt_tokens) for p in prompts]
    # Plain text, no chat template: preference pairs are scored as written (HH-RLHF transcripts
    # carry their own "Human:"/"Assistant:" turns), as TRL scores standard-format pairs.
    query_ids, query_mask = encode_prompts(tokenizer, list(prompts), chat=False)
    rows = []
    for r in responses:
        ids = tokenizer(r, add_special_tokens=False)["input_ids"][:max_response_tokens]
        rows.append(ids + [tokenizer.eos_token_id] if add_eos else ids)
    if any(len(ids) == 0 for ids in rows):
        raise ValueError(
            "an empty response has no likelihood to rank (pass add_eos=True)"
        )
    width = max(map(len, rows))
    pad = tokenizer.pad_token_id
    response_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids in rows])
    response_mask = torch.tensor(
        [[1] * len(ids) + [0] * (width - len(ids)) for ids in rows]
    )
    has_eos = torch.full((len(rows),), add_eos)
    return Rollout(
        list(prompts),
        list(responses),
        query_ids,
        query_mask,
        response_ids,
        response_mask,
        has_eos,
    )


def last_tokens(tokenizer, text: str, n: int) -> str:
    """The end of ``text`` that encodes to at most ``n`` tokens. Decoding the last ``n`` tokens can
    give text that encodes to more (a cut inside a word, or inside a character's bytes, which decodes
    to a 3-byte replacement character), and a model with ``n_positions`` = prompt + answer tokens
    (GPT-2 in chapter 2: 768 + 256 = 1,024) would then index past its positions: keep one token
    fewer until it fits."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    keep = min(n, len(ids))
    cut = tokenizer.decode(ids[len(ids) - keep :])
    while keep and len(tokenizer(cut, add_special_tokens=False)["input_ids"]) > n:
        keep -= 1
        cut = tokenizer.decode(ids[len(ids) - keep :])
    return cut


@torch.no_grad()
def sequence_logprobs(
    model,
    tokenizer,
    prompts: list[str],
    responses: list[str],
    *,
    batch_size: int = 64,
    progress: bool = False,
    **encode_kwargs,
) -> tuple[np.ndarray, np.ndarray]:
    """``log pi(y|x)`` summed over the response tokens (Eq. 13) and the number of tokens.

    ``logp / n_tokens`` is the log of the length-normalised likelihood
    ``pi(y|x)^(1/|y|)`` of Eq. 15. Computed in float64 after the forward pass.
    """
    was_training = model.training
    model.eval()
    sums, counts = [], []
    for start in track(
        range(0, len(prompts), batch_size), desc="log-likelihoods", enabled=progress
    ):
        batch = encode_responses(
            tokenizer,
            prompts[start : start + batch_size],
            responses[start : start + batch_size],
            **encode_kwargs,
        )
        sums.append(sequence_logprob(model, batch).double().cpu().numpy())
        counts.append(batch.lengths.numpy())
    model.train(was_training)
    return np.concatenate(sums), np.concatenate(counts)


@dataclass
class PairLogprobs:
    """``log pi(y_w|x)``, ``log pi(y_l|x)`` of a set of pairs and their token counts."""

    w: np.ndarray
    l: np.ndarray  # y_l, the paper's name
    nw: np.ndarray
    nl: np.ndarray

    @property
    def per_token(self) -> tuple[np.ndarray, np.ndarray]:
        """Log of the length-normalised likelihoods ``pi(y|x)^(1/|y|)`` (Eq. 15) of y_w and y_l."""
        return self.w / self.nw, self.l / self.nl


class PairScorer:
    """Log-likelihoods of both answers of a fixed set of pairs under any model.

    ``pairs`` has ``prompts``, ``chosen`` and ``rejected`` lists (e.g. a
    :class:`~rlhfbook.tasks.preferences.PreferencePairs`). The texts are tokenised once
    (:func:`encode_responses`, EOS appended), so scoring many checkpoints costs forward passes only.
    """

    def __init__(self, tokenizer, pairs, *, batch_size: int = 64, **encode_kwargs):
        self.batches = []
        for start in range(0, len(pairs.prompts), batch_size):
            prompts = pairs.prompts[start : start + batch_size]
            self.batches.append(
                tuple(
                    encode_responses(
                        tokenizer,
                        prompts,
                        answers[start : start + batch_size],
                        **encode_kwargs,
                    )
                    for answers in (pairs.chosen, pairs.rejected)
                )
            )

    @torch.no_grad()
    def __call__(self, model) -> PairLogprobs:
        was_training = model.training
        model.eval()
        parts = [
            [sequence_logprob(model, b).double().cpu().numpy() for b in pair]
            for pair in self.batches
        ]
        model.train(was_training)
        counts = [[b.lengths.numpy() for b in pair] for pair in self.batches]
        return PairLogprobs(
            *(np.concatenate([p[k] for p in parts]) for k in (0, 1)),
            *(np.concatenate([n[k] for n in counts]) for k in (0, 1)),
        )


def pair_logprobs(
    model, tokenizer, pairs, *, batch_size: int = 64, **encode_kwargs
) -> PairLogprobs:
    """:class:`PairScorer` of ``pairs`` applied once to ``model``."""
    return PairScorer(tokenizer, pairs, batch_size=batch_size, **encode_kwargs)(model)


# --- losses -------------------------------------------------------------------------------
def _log_sigmoid(z):
    if isinstance(z, torch.Tensor):
        return torch.nn.functional.logsigmoid(z)
    return -np.logaddexp(0.0, -np.asarray(z, dtype=np.float64))


def dpo_loss(policy_w, policy_l, ref_w, ref_l, beta: float, gamma: float = 1.0):
    """Per-datapoint DPO loss (Eq. 2), or the gamma-scaled loss of Eq. 4:

    ``-log sigmoid(beta * [log pi(y_w)/pi(y_l) + gamma * log pi_Ref(y_l)/pi_Ref(y_w)])``.

    ``gamma = 1`` is DPO, ``gamma = 0`` drops the reference model. Takes numpy arrays or
    torch tensors (differentiable) and returns the same kind.
    """
    if beta <= 0:
        raise ValueError(f"beta must be positive, got {beta}")
    return -_log_sigmoid(beta * ((policy_w - policy_l) + gamma * (ref_l - ref_w)))


# --- ranking and reward accuracy ---------------------------------------------------------
def ranking_correct(logp_w, logp_l, alpha=None, tie_eps: float = TIE_EPS) -> np.ndarray:
    """Per datapoint, is ``y_w`` ranked at least as likely as ``y_l`` (Def. 2.3)?

    Pass sums for ``R``, or per-token means for the length-normalised ``R~``. A tie
    (``alpha == 0.5``) counts as correct when ``|pi(y1) - pi(y2)| < tie_eps`` (Def. C.1).
    """
    logp_w, logp_l = (
        np.asarray(logp_w, dtype=np.float64),
        np.asarray(logp_l, dtype=np.float64),
    )
    if logp_w.shape != logp_l.shape:
        raise ValueError(
            f"logp_w and logp_l need equal shape, got {logp_w.shape} and {logp_l.shape}"
        )
    correct = logp_w >= logp_l
    if alpha is None:
        return correct
    alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float64), logp_w.shape)
    if np.any((alpha < 0.5) | (alpha > 1)):
        raise ValueError(
            "alpha is the share of raters preferring y_w and must lie in [0.5, 1]"
        )
    tie = alpha == 0.5
    close = np.abs(np.exp(logp_w) - np.exp(logp_l)) < tie_eps
    return np.where(tie, close, correct)


def ranking_accuracy(logp_w, logp_l, alpha=None, tie_eps: float = TIE_EPS) -> float:
    """Ranking accuracy ``R`` (Def. 2.3): the mean of :func:`ranking_correct`."""
    return float(ranking_correct(logp_w, logp_l, alpha, tie_eps).mean())


def reward_correct(policy_w, policy_l, ref_w, ref_l) -> np.ndarray:
    """DPO's reward accuracy per datapoint: is the implicit reward
    ``beta log pi(y)/pi_Ref(y)`` of ``y_w`` strictly above that of ``y_l`` (as TRL logs it)?

    It compares log-*ratios*, so it can be high while ranking accuracy stays low.
    """
    return (np.asarray(policy_w) - np.asarray(ref_w)) > (
        np.asarray(policy_l) - np.asarray(ref_l)
    )


def reward_accuracy(policy_w, policy_l, ref_w, ref_l) -> float:
    """The share of pairs DPO's implicit reward orders correctly, ties counting one half.

    At the reference itself every pair is a tie (both rewards are 0), so this starts at
    exactly 0.5, the level of a coin; TRL's strict version (:func:`reward_correct`) starts at 0.
    """
    margin = (np.asarray(policy_w) - np.asarray(ref_w)) - (
        np.asarray(policy_l) - np.asarray(ref_l)
    )
    return float(np.mean((margin > 0) + 0.5 * (margin == 0)))


# --- idealized ranking accuracy (Sec. 3) --------------------------------------------------
def logit_alpha(alpha, eps: float = UNANIMOUS_EPS) -> np.ndarray:
    """``log(alpha / (1 - alpha))`` with unanimous votes ``alpha = 1`` read as ``1 - eps``."""
    alpha = np.asarray(alpha, dtype=np.float64)
    if np.any((alpha < 0.5) | (alpha > 1)):
        raise ValueError(
            "alpha is the share of raters preferring y_w and must lie in [0.5, 1]"
        )
    alpha = np.minimum(alpha, 1 - eps)
    return np.log(alpha) - np.log1p(-alpha)


def optimal_logratio(
    ref_w, ref_l, alpha, beta: float, eps: float = UNANIMOUS_EPS
) -> np.ndarray:
    """``log pi*(y_w)/pi*(y_l)`` of the perfectly optimised DPO/RLHF policy (Thm 3.1):

    ``log pi_Ref(y_w)/pi_Ref(y_l) + logit(alpha) / beta``.
    """
    if beta <= 0:
        raise ValueError(f"beta must be positive, got {beta}")
    return (
        np.asarray(ref_w, dtype=np.float64)
        - np.asarray(ref_l, dtype=np.float64)
        + logit_alpha(alpha, eps) / beta
    )


def idealized_ranking_accuracy(
    ref_w,
    ref_l,
    alpha,
    betas=BETAS,
    eps: float = UNANIMOUS_EPS,
) -> dict[float, float]:
    """``R*`` for each beta (Cor. 3.3), in log space: the share of datapoints with
    ``-c + logit(alpha)/beta > 0``. Pass per-token means for the length-normalised ``R~*``."""
    return {
        float(b): float((optimal_logratio(ref_w, ref_l, alpha, b, eps) > 0).mean())
        for b in betas
    }


def idealized_ranking_accuracy_official(
    ref_w,
    ref_l,
    n_w,
    n_l,
    alpha,
    beta: float,
    *,
    normalized: bool,
    eps: float = UNANIMOUS_EPS,
    tie_band: float = 0.05,
) -> float:
    """``R*`` as the paper's code computes it (``RLHFMinimizerClient.compute_ranks``).

    Differences from Cor. 3.3, kept to compare with Table 1: the vote ratio is
    ``alpha / (1 - alpha)`` (``alpha / eps`` when unanimous); the non-normalised branch
    multiplies it by a ratio of *log*-likelihoods ``log pi(y_w) / log pi(y_l)`` instead of a
    likelihood ratio; rankings within ``|ratio - 1| < tie_band`` are ties that must match the
    votes' tie status; points whose ratio overflows to inf are dropped.
    """
    ref_w, ref_l = (
        np.asarray(ref_w, dtype=np.float64),
        np.asarray(ref_l, dtype=np.float64),
    )
    alpha = np.asarray(alpha, dtype=np.float64)
    other = 1 - alpha
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        votes = np.where(other > 0, alpha / np.where(other > 0, other, 1), alpha / eps)
        if normalized:
            model_ratio = np.exp(ref_w / np.asarray(n_w) - ref_l / np.asarray(n_l))
        else:
            model_ratio = ref_w / ref_l
        posterior = votes ** (1 / beta) * model_ratio
    valid = np.isfinite(posterior)
    if not valid.any():
        return float("nan")

    def rank(ratio):  # 0: tie, 1: y_w first, -1: y_l first
        return np.where(
            np.abs(ratio - 1) < tie_band, 0, np.where(ratio >= 1 + tie_band, 1, -1)
        )

    return float((rank(votes[valid]) == rank(posterior[valid])).mean())


# --- the difficulty of a datapoint (Sec. 4) ----------------------------------------------
def reference_logratio(ref_w, ref_l) -> np.ndarray:
    """``c = log pi_Ref(y_l|x) / pi_Ref(y_w|x)``: how wrongly the reference ranks the pair
    (``c > 0``: the reference prefers the losing answer). One forward pass, no training."""
    return np.asarray(ref_l, dtype=np.float64) - np.asarray(ref_w, dtype=np.float64)


def loss_threshold(c, beta: float, gamma: float = 1.0) -> np.ndarray:
    """Thm 4.1: a datapoint is ranked correctly exactly when its (gamma-scaled) DPO loss is
    at most ``-log sigmoid(beta * gamma * c)``; about ``exp(-beta c)`` for large ``beta c``.

    In float64 both sides are exact while ``beta * gamma * |c|`` stays below about 700;
    beyond that ``exp`` underflows and both round to 0."""
    if beta <= 0:
        raise ValueError(f"beta must be positive, got {beta}")
    # beta * (gamma * c), grouped as dpo_loss groups beta * (m + gamma * c): equal at a tie m = 0
    return -_log_sigmoid(beta * (gamma * np.asarray(c, dtype=np.float64)))


def flip_table(ref_correct, policy_correct) -> dict[str, int]:
    """The four-way table of Fig. 2: how pairs move between the reference and the policy."""
    ref_correct, policy_correct = (
        np.asarray(ref_correct, bool),
        np.asarray(policy_correct, bool),
    )
    return {
        "correct -> correct": int((ref_correct & policy_correct).sum()),
        "correct -> incorrect": int((ref_correct & ~policy_correct).sum()),
        "incorrect -> correct": int((~ref_correct & policy_correct).sum()),
        "incorrect -> incorrect": int((~ref_correct & ~policy_correct).sum()),
    }


def accuracy_report(
    policy_w, policy_l, n_w, n_l, alpha, betas=BETAS
) -> dict[str, float]:
    """``R``, ``R~`` (Def. 2.3, Eq. 15), and min / median / max over ``betas`` of the
    idealized ``R*`` and ``R~*`` (Cor. 3.3, log space) and of the official code's variant,
    as in Table 1. For ``R*`` the log-likelihoods must be the *reference* model's."""
    norm_w, norm_l = (
        np.asarray(policy_w) / np.asarray(n_w),
        np.asarray(policy_l) / np.asarray(n_l),
    )
    out = {
        "R": ranking_accuracy(policy_w, policy_l, alpha),
        "R~": ranking_accuracy(norm_w, norm_l, alpha),
    }
    grids = {
        "R*": idealized_ranking_accuracy(policy_w, policy_l, alpha, betas),
        "R~*": idealized_ranking_accuracy(norm_w, norm_l, alpha, betas),
        "R* (official code)": {
            b: idealized_ranking_accuracy_official(
                policy_w, policy_l, n_w, n_l, alpha, b, normalized=False
            )
            for b in betas
        },
        "R~* (official code)": {
            b: idealized_ranking_accuracy_official(
                policy_w, policy_l, n_w, n_l, alpha, b, normalized=True
            )
            for b in betas
        },
    }
    for name, grid in grids.items():
        values = np.array(list(grid.values()))
        out.update(
            {
                f"{name} min": float(np.nanmin(values)),
                f"{name} median": float(np.nanmedian(values)),
                f"{name} max": float(np.nanmax(values)),
            }
        )
    return out
