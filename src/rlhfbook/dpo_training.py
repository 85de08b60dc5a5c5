"""DPO with TRL's ``DPOTrainer``, with the gamma-scaled objective and checkpoint callbacks.

Chen et al. (2024, Eq. 4) scale the reference term of DPO by ``gamma``:
``-log sigmoid(beta [log pi(y_w)/pi(y_l) - gamma log pi_Ref(y_w)/pi_Ref(y_l)])``.
TRL's loss is ``-log sigmoid(beta [(log pi(y_w) - ref_w) - (log pi(y_l) - ref_l)])``, so
multiplying the *precomputed* reference log-likelihoods by ``gamma`` gives exactly Eq. 4
(``gamma = 1`` is DPO). :class:`GammaDPOTrainer` does that and nothing else.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from datasets import Dataset, concatenate_datasets
from datasets.fingerprint import Hasher
from transformers import TrainerCallback
from trl import DPOConfig, DPOTrainer


def preference_dataset(prompts: list[str], chosen: list[str], rejected: list[str]) -> Dataset:
    """A TRL preference dataset in the standard (plain string) format."""
    if not len(prompts) == len(chosen) == len(rejected):
        raise ValueError("prompts, chosen and rejected need the same length")
    return Dataset.from_dict({"prompt": list(prompts), "chosen": list(chosen), "rejected": list(rejected)})


def dpo_config(output_dir: str, *, beta: float, learning_rate: float, epochs: float, batch_size: int,
               seed: int, **overrides) -> DPOConfig:
    """A ``DPOConfig`` that runs on a CPU as well as a GPU (see trl-offline notes): fp32 or
    bf16 by hardware, no activation checkpointing, no saving or reporting, no progress bars,
    reference log-likelihoods precomputed once (the reference is the initial policy)."""
    on_gpu = torch.cuda.is_available()
    settings = dict(
        output_dir=output_dir, beta=beta, learning_rate=learning_rate, num_train_epochs=epochs,
        per_device_train_batch_size=batch_size, seed=seed, data_seed=seed, use_cpu=not on_gpu,
        bf16=on_gpu and torch.cuda.is_bf16_supported(), activation_checkpointing=False,
        report_to="none", save_strategy="no", logging_steps=10, disable_tqdm=True,
        precompute_ref_log_probs=True, max_length=None, lr_scheduler_type="constant",
        dataloader_num_workers=0,
    )
    settings.update(overrides)
    return DPOConfig(**settings)


@contextmanager
def unfilled_empty() -> Iterator[None]:
    """Within the block, ``torch.empty`` does not fill new memory with NaN under deterministic mode.

    ``torch.use_deterministic_algorithms(True)`` (the book's seeding) also fills every
    ``torch.empty`` with NaN, a guard against reading memory that was never written. TRL's
    fused LM head (DPOTrainer, GRPOTrainer) allocates a ``[min(tokens, 4096), 32768]`` tile
    buffer per forward and backward pass, whatever the vocabulary, and writes only
    ``[:, :vocab]`` of it before reading it: on a CPU the NaN fill of that buffer (up to 512 MB)
    takes longer than the whole pass of a toy model. Nothing reads the unfilled part, so the
    numbers are bit-identical (tests/test_dpo_training.py checks this).
    """
    previous = torch.utils.deterministic.fill_uninitialized_memory
    torch.utils.deterministic.fill_uninitialized_memory = False
    try:
        yield
    finally:
        torch.utils.deterministic.fill_uninitialized_memory = previous


REF_COLUMNS = ("ref_chosen_logps", "ref_rejected_logps")
_REF_LOGPS: dict[str, tuple[Dataset, list[torch.Tensor]]] = {}


def _rng_states() -> list[torch.Tensor]:
    return [torch.get_rng_state(), *(torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [])]


def _set_rng_states(states: list[torch.Tensor]) -> None:
    torch.set_rng_state(states[0])
    if torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states[1:])


def reference_logps(trainer: DPOTrainer, dataset: Dataset, batch_size: int, compute: Callable[[], Dataset]) -> Dataset:
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
    key = Hasher.hash((trainer._precompute_model_hash, batch_size, repr(trainer.data_collator), args.bf16, args.fp16,
                       trainer.ld_alpha, dataset.to_dict(), [state.numpy().tobytes() for state in before]))
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
    (:func:`reference_logps`), and no ``torch.empty`` is NaN-filled (:func:`unfilled_empty`).
    """

    def __init__(self, *args, gamma: float = 1.0, **kwargs):
        config = kwargs.get("args")
        if config is None or not config.precompute_ref_log_probs:
            raise ValueError("GammaDPOTrainer scales precomputed reference log-probs: "
                             "pass args with precompute_ref_log_probs=True")
        self.gamma = float(gamma)
        quiet = config.disable_tqdm and "TQDM_DISABLE" not in os.environ
        if quiet:  # TRL's reference precompute bar only listens to this variable
            os.environ["TQDM_DISABLE"] = "1"
        try:
            with unfilled_empty():
                super().__init__(*args, **kwargs)
        finally:
            if quiet:
                del os.environ["TQDM_DISABLE"]

    def train(self, *args, **kwargs):
        with unfilled_empty():
            return super().train(*args, **kwargs)

    def _precompute_ref_logps(self, dataset, name, batch_size):
        dataset = reference_logps(self, dataset, batch_size,
                                  lambda: super(GammaDPOTrainer, self)._precompute_ref_logps(dataset, name, batch_size))
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


def rated_pairs(task, model, tokenizer, prompts: list[str], n_raters: int, rng) -> dict:
    """Two reference samples per prompt, ordered by the majority of ``n_raters`` simulated
    raters (odd, so no ties): ``prompt``, ``chosen``, ``rejected`` lists and ``alpha``, the
    share of raters preferring ``chosen``. Pairs with a truncated or identical answer are
    dropped (a truncated answer has no EOS, so its likelihood is not that of a full answer)."""
    import numpy as np

    from .rollout import generate

    if n_raters % 2 == 0:
        raise ValueError("use an odd number of raters so that every pair has a majority")
    a, b = (generate(model, tokenizer, prompts, max_new_tokens=task.max_response_tokens) for _ in range(2))
    out = {"prompt": [], "chosen": [], "rejected": [], "alpha": []}
    for i, p in enumerate(prompts):
        ya, yb = a.responses[i], b.responses[i]
        if not (a.has_eos[i] and b.has_eos[i]) or ya == yb or not ya or not yb:
            continue
        k = task.rate(p, ya, yb, n_raters, rng)
        first = 2 * k > n_raters
        out["prompt"].append(p)
        out["chosen"].append(ya if first else yb)
        out["rejected"].append(yb if first else ya)
        out["alpha"].append((k if first else n_raters - k) / n_raters)
    out["alpha"] = np.array(out["alpha"])
    return out
