"""DPO with TRL's ``DPOTrainer``, with the gamma-scaled objective and checkpoint callbacks.

Chen et al. (2024, Eq. 4) scale the reference term of DPO by ``gamma``:
``-log sigmoid(beta [log pi(y_w)/pi(y_l) - gamma log pi_Ref(y_w)/pi_Ref(y_l)])``.
TRL's loss is ``-log sigmoid(beta [(log pi(y_w) - ref_w) - (log pi(y_l) - ref_l)])``, so
multiplying the *precomputed* reference log-likelihoods by ``gamma`` gives exactly Eq. 4
(``gamma = 1`` is DPO). :class:`GammaDPOTrainer` does that and nothing else.

:func:`train_dpo` runs it from a reference model and records checkpoints: the policy's
log-likelihoods of every pair by the book's own forward pass (:mod:`rlhfbook.methods.ranking`), and
by TRL's (:func:`trl_pair_logprobs`: its tokenisation, collator and fused log-prob head, with
the reference log-likelihoods TRL precomputed), so that the two can be checked against each
other. :func:`checkpoint_table` turns them into the quantities of Chen et al. (2024).

Used by chapter 2, and by ``python -m rlhfbook.book.launch dpo``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from datasets import Dataset, concatenate_datasets
from datasets.fingerprint import Hasher
from transformers import TrainerCallback
from trl import DPOConfig, DPOTrainer

from rlhfbook.core import runtime
from rlhfbook.methods import ranking as rk


def dpo_config(
    output_dir: str,
    *,
    beta: float,
    learning_rate: float,
    epochs: float,
    batch_size: int,
    seed: int,
    **overrides,
) -> DPOConfig:
    """A ``DPOConfig`` with the book's :func:`~rlhfbook.core.runtime.trainer_settings` (CPU or GPU),
    a constant learning rate, and the reference log-likelihoods precomputed once (the reference
    is the initial policy)."""
    settings = dict(
        **runtime.trainer_settings(output_dir, seed),
        beta=beta,
        learning_rate=learning_rate,
        num_train_epochs=epochs,
        per_device_train_batch_size=batch_size,
        logging_steps=10,
        precompute_ref_log_probs=True,
        max_length=None,
        lr_scheduler_type="constant",
    )
    settings.update(overrides)
    return DPOConfig(**settings)


REF_COLUMNS = ("ref_chosen_logps", "ref_rejected_logps")
_REF_LOGPS: dict[str, tuple[Dataset, list[torch.Tensor]]] = {}


def _rng_states() -> list[torch.Tensor]:
    return [
        torch.get_rng_state(),
        *(torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []),
    ]


def _set_rng_states(states: list[torch.Tensor]) -> None:
    torch.set_rng_state(states[0])
    if torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states[1:])


def reference_logps(
    trainer: DPOTrainer,
    dataset: Dataset,
    batch_size: int,
    compute: Callable[[], Dataset],
) -> Dataset:
    """``dataset`` with TRL's precomputed reference log-probs, computed once per process for the
    same reference weights, token ids, batching, precision and random state.

    A chapter trains several DPO policies (betas, gammas) from one reference on one dataset, and
    TRL recomputes the reference pass for each trainer (its own cache is keyed by a fingerprint
    that differs for every in-memory dataset). The key hashes the reference's weights (TRL's
    model hash), every column of the tokenised dataset, the batch size, the collator, the
    precision settings and torch's random state; a hit returns the numbers the pass would
    compute and leaves the random state the pass would leave (its data loader draws a seed), so
    everything after it is as if the pass had run.
    """
    args, before = trainer.args, _rng_states()
    key = Hasher.hash(
        (
            trainer._precompute_model_hash,
            batch_size,
            repr(trainer.data_collator),
            args.bf16,
            args.fp16,
            trainer.ld_alpha,
            dataset.to_dict(),
            [state.numpy().tobytes() for state in before],
        )
    )
    if key not in _REF_LOGPS:
        columns = compute().select_columns(list(REF_COLUMNS))
        _REF_LOGPS[key] = columns, _rng_states()
    columns, after = _REF_LOGPS[key]
    _set_rng_states(after)
    return concatenate_datasets([dataset, columns], axis=1)


def forget_reference_logps() -> None:
    """Empty the cache of :func:`reference_logps` (e.g. to time a reference pass)."""
    _REF_LOGPS.clear()


class GammaDPOTrainer(DPOTrainer):
    """TRL's DPOTrainer on the gamma-scaled objective (Eq. 4 of Chen et al., 2024).

    Speed, numbers unchanged: the reference pass runs once per reference and dataset
    (:func:`reference_logps`); ``runtime.seed_everything`` keeps deterministic mode from NaN-filling
    every ``torch.empty`` (TRL's fused LM head allocates up to 512 MB per pass).
    """

    def __init__(self, *args, gamma: float = 1.0, **kwargs):
        config = kwargs.get("args")
        if config is None or not config.precompute_ref_log_probs:
            raise ValueError(
                "GammaDPOTrainer scales precomputed reference log-probs: pass args with precompute_ref_log_probs=True"
            )
        self.gamma = float(gamma)
        quiet = config.disable_tqdm and "TQDM_DISABLE" not in os.environ
        if quiet:  # TRL's reference precompute bar only listens to this variable
            os.environ["TQDM_DISABLE"] = "1"
        try:
            super().__init__(*args, **kwargs)
        finally:
            if quiet:
                del os.environ["TQDM_DISABLE"]

    def _precompute_ref_logps(self, dataset, name, batch_size):
        dataset = reference_logps(
            self,
            dataset,
            batch_size,
            lambda: super(GammaDPOTrainer, self)._precompute_ref_logps(
                dataset, name, batch_size
            ),
        )
        if self.gamma == 1.0:
            return dataset
        g = self.gamma
        return dataset.map(
            lambda b: {k: [g * v for v in b[k]] for k in REF_COLUMNS},
            batched=True,
        )


class EveryKSteps(TrainerCallback):
    """Calls ``fn(step, model)`` before the first step, every ``k`` steps, and at the end."""

    def __init__(self, k: int, fn: Callable[[int, torch.nn.Module], None]):
        if k < 1:
            raise ValueError(f"k must be a positive number of steps, got {k}")
        self.k, self.fn, self._last = k, fn, None

    def _call(self, step: int, model) -> None:
        if step != self._last:
            self._last = step
            self.fn(step, model)

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._call(0, model)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.k == 0:
            self._call(state.global_step, model)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self._call(state.global_step, model)


def trl_batches(trainer: DPOTrainer, batch_size: int = 256) -> list[dict]:
    """``trainer.train_dataset`` in order, collated by TRL's own collator (right-padded
    prompt + answer + EOS, completion masks, precomputed reference log-likelihoods)."""
    data = trainer.train_dataset
    if "ref_chosen_logps" not in data.column_names:
        raise ValueError(
            "the trainer has no precomputed reference log-probs (precompute_ref_log_probs=True)"
        )
    rows = data.to_list()
    return [
        trainer.data_collator(rows[start : start + batch_size])
        for start in range(0, len(rows), batch_size)
    ]


@torch.no_grad()
def trl_pair_logprobs(
    trainer: DPOTrainer, batches: list[dict], model: torch.nn.Module | None = None
) -> np.ndarray:
    """TRL's own numbers for the pairs of ``batches`` (:func:`trl_batches`), shape [n, 4]: the
    policy's ``log pi(y_w)`` and ``log pi(y_l)`` by TRL's ``compute_ref_log_probs`` (its forward
    with the fused log-prob head), and the reference log-likelihoods TRL precomputed
    (multiplied by gamma in :class:`GammaDPOTrainer`).

    TRL's per-pair DPO loss is ``ranking.dpo_loss`` of these four columns (``gamma = 1``);
    a unit test checks that their mean over a batch equals ``trainer.compute_loss``.
    """
    model = model if model is not None else trainer.model
    was_training = model.training
    model.eval()
    rows = []
    for batch in batches:
        batch = {k: v.to(trainer.accelerator.device) for k, v in batch.items()}
        chosen, rejected = trainer.compute_ref_log_probs(model, batch)
        rows.append(
            torch.stack(
                [
                    chosen.float(),
                    rejected.float(),
                    batch["ref_chosen_logps"].float(),
                    batch["ref_rejected_logps"].float(),
                ],
                1,
            )
            .cpu()
            .double()
            .numpy()
        )
    model.train(was_training)
    return np.concatenate(rows)


@dataclass
class Checkpoint:
    """One recorded state of a DPO run (see :func:`train_dpo`)."""

    step: int
    train: rk.PairLogprobs  # the book's forward pass (rlhfbook.methods.ranking)
    val: rk.PairLogprobs
    trl: np.ndarray  # TRL's forward of the train pairs: [policy y_w, policy y_l, ref y_w, ref y_l] (ref x gamma)
    distance: float  # ||theta - theta_Ref||, over all weights
    extra: dict = field(default_factory=dict)


def train_dpo(
    reference: torch.nn.Module,
    tokenizer,
    train,
    val,
    *,
    beta: float,
    learning_rate: float,
    epochs: float,
    batch_size: int,
    eval_every: int,
    seed: int,
    gamma: float = 1.0,
    eval_batch: int = 256,
    extra: Callable[[torch.nn.Module], dict] | None = None,
) -> list[Checkpoint]:
    """DPO (Eq. 2; Eq. 4 when ``gamma != 1``) with TRL, starting from a copy of the
    ``reference`` policy (which stays untouched), on the pairs ``train`` (a :class:`~rlhfbook.tasks.preferences.PreferencePairs`), recording a
    :class:`Checkpoint` before the first step, every ``eval_every`` steps and at the end.

    ``val`` pairs are only evaluated (to pick the checkpoint with the lowest validation loss);
    ``extra(model)`` adds numbers of the caller's (e.g. a win rate) to each checkpoint. Runs
    in float32 on any device, so that TRL's numbers and the book's agree to float32 rounding.
    """
    import copy
    import tempfile

    torch.manual_seed(seed)
    model = copy.deepcopy(reference).requires_grad_(True)
    ref_params = torch.cat([p.detach().flatten() for p in model.parameters()]).cpu()
    checkpoints: list[Checkpoint] = []
    scorers = {
        name: rk.PairScorer(tokenizer, pairs, batch_size=eval_batch)
        for name, pairs in (("train", train), ("val", val))
    }
    trainer: GammaDPOTrainer | None = None
    batches: list[dict] = []

    def record(step: int, policy: torch.nn.Module) -> None:
        was_training = policy.training
        policy.eval()
        with torch.no_grad():
            params = torch.cat(
                [p.detach().flatten() for p in policy.parameters()]
            ).cpu()
            checkpoints.append(
                Checkpoint(
                    step=step,
                    train=scorers["train"](policy),
                    val=scorers["val"](policy),
                    trl=trl_pair_logprobs(trainer, batches, policy),
                    distance=torch.linalg.vector_norm(params - ref_params).item(),
                    extra=extra(policy) if extra else {},
                )
            )
        policy.train(was_training)

    with tempfile.TemporaryDirectory(prefix="rlhfbook-dpo-") as output_dir:
        args = dpo_config(
            output_dir,
            beta=beta,
            learning_rate=learning_rate,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            precompute_ref_batch_size=eval_batch,
            bf16=False,
            fp16=False,
        )
        trainer = GammaDPOTrainer(
            model=model,
            args=args,
            gamma=gamma,
            processing_class=tokenizer,
            train_dataset=train.to_dataset(),
            callbacks=[EveryKSteps(eval_every, record)],
        )
        runtime.prepare_trainer(trainer)
        batches.extend(trl_batches(trainer, eval_batch))
        trainer.train()
    return checkpoints


def checkpoint_table(
    checkpoints: list[Checkpoint],
    ref_train,
    ref_val,
    *,
    beta: float,
    gamma: float = 1.0,
    tie_tolerance: float = 1e-3,
):
    """Per checkpoint, on the train pairs unless marked ``val``: the DPO loss as TRL computes
    it, ranking accuracy ``R`` and ``R~`` (Def. 2.3, Eq. 15), reward accuracy (ties one half),
    the share of pairs the reference mis-ranks that are now ranked correctly (Fig. 2), and the
    Thm 4.1 agreement: ``R = 1`` by the book's forward pass iff TRL's loss is at most
    ``-log sigmoid(beta gamma c)``, over pairs whose log-ratio is farther than
    ``tie_tolerance`` nats from 0 (float32 rounding; ``near ties`` counts the others).
    ``ref_train`` / ``ref_val`` are the reference's :class:`~rlhfbook.methods.ranking.PairLogprobs`.
    """
    import pandas as pd

    c = rk.reference_logratio(ref_train.w, ref_train.l)
    ref_wrong = c > 0
    rows = []
    for cp in checkpoints:
        t, v = cp.train, cp.val
        trl_loss = rk.dpo_loss(*cp.trl.T, beta)
        ours_loss = rk.dpo_loss(t.w, t.l, ref_train.w, ref_train.l, beta, gamma)
        correct = rk.ranking_correct(t.w, t.l)
        decided = np.abs(t.w - t.l) > tie_tolerance
        below = trl_loss <= rk.loss_threshold(c, beta, gamma)
        rows.append(
            {
                "step": cp.step,
                "train loss": trl_loss.mean(),
                "val loss": rk.dpo_loss(
                    v.w, v.l, ref_val.w, ref_val.l, beta, gamma
                ).mean(),
                "R": correct.mean(),
                "R~": rk.ranking_accuracy(*t.per_token),
                "reward acc": rk.reward_accuracy(t.w, t.l, ref_train.w, ref_train.l),
                "flipped": correct[ref_wrong].mean(),
                "val R": rk.ranking_accuracy(v.w, v.l),
                "val reward acc": rk.reward_accuracy(v.w, v.l, ref_val.w, ref_val.l),
                "Thm 4.1 agreement": np.mean(correct[decided] == below[decided]),
                "near ties": int((~decided).sum()),
                "max |loss - TRL loss|": np.abs(ours_loss - trl_loss).max(),
                "distance": cp.distance,
                **cp.extra,
            }
        )
    return pd.DataFrame(rows).set_index("step")
