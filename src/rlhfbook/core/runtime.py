"""Seeding, determinism, device choice and quiet library output for the chapters."""

from __future__ import annotations

import logging
import os
import random
import warnings
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch and transformers are imported lazily, where they are used
    import torch
    import transformers

# One CPU thread: the book's models are tiny, so a second thread gains little, and a fixed
# count of 1 makes results independent of the machine's core count and immune to the 5-100x
# slow-down that oversubscribed threads cause on a busy 2-core machine.
DEFAULT_THREADS = 1


# The help of a PPO chapter's ``autocast`` setting: the precision of PPO and of the TRL trainers.
AUTOCAST_HELP = (
    "dtype of the forward passes of PPO and of the TRL trainers (reward models, GRPO; runtime.autocast_dtype): "
    "'auto' is bf16 on a GPU that has it, else fp16 "
    "with loss scaling, and fp32 on a CPU; 'float32' forces fp32 on a GPU, for a T4 whose fp16 overflows "
    "(runtime.HalfPrecisionOverflow) (dtype)"
)


def seed_everything(seed: int, threads: int | None = None) -> None:
    """Seed python, numpy and torch, and make torch deterministic.

    The thread count is fixed too: CPU reductions split work by thread, so the same seed
    gives bit-identical numbers only with the same number of threads
    (``RLHFBOOK_THREADS`` overrides the default of 1).
    """
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=torch.cuda.is_available())
    # Deterministic mode also NaN-fills every torch.empty (a debugging aid); TRL's fused LM
    # head allocates up to 512 MB per pass, so the fill cost more than the training itself.
    torch.utils.deterministic.fill_uninitialized_memory = False
    n = threads or int(os.environ.get("RLHFBOOK_THREADS", DEFAULT_THREADS))
    if not torch.cuda.is_available():
        torch.set_num_threads(n)


def device() -> torch.device:
    """The GPU when there is one, else the CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def dtype_for(device: torch.device | str, trainable: bool = False) -> torch.dtype:
    """The dtype the book loads a model's weights in on ``device`` (and TF32 on, on CUDA).

    =============================  ==============  ===============
    device                         sampled/scored  trained
    =============================  ==============  ===============
    CPU                            float32         float32
    CUDA with bf16 (A100, H100)    bfloat16        float32 (TF32)
    CUDA without bf16 (T4, V100)   float16         float32 (TF32)
    =============================  ==============  ===============

    "With bf16" means native bf16 (compute capability 8.0 or later): torch's
    ``is_bf16_supported()`` also counts bf16 that a T4 (7.5) only emulates, without tensor cores,
    which would leave the T4's fp16 tensor cores and loss scaling unused.

    CPU half precision is slow and the smoke/cpu numbers are fp32. A model that is only sampled
    or scored (a game player, a frozen reward model) halves its memory in bf16, or fp16 where
    the GPU has no bf16. Weights that are *trained* stay fp32: AdamW steps of 1e-6 vanish in
    bf16's 8-bit mantissa, and fp16 weights cannot be trained without loss scaling; the TRL
    trainers get mixed precision (bf16, else fp16 autocast with a dynamic loss scaler) from
    :func:`trainer_precision`, and the book's own PPO the same autocast (:func:`autocast_dtype`).
    """
    import torch

    device = torch.device(device)
    if device.type != "cuda":
        return torch.float32
    torch.backends.cuda.matmul.allow_tf32 = (
        True  # TF32 matmuls and convolutions (Ampere and later)
    )
    torch.backends.cudnn.allow_tf32 = True
    if trainable:
        return torch.float32
    return (
        torch.bfloat16
        if torch.cuda.is_bf16_supported(including_emulation=False)
        else torch.float16
    )


class HalfPrecisionOverflow(FloatingPointError):
    """A forward pass that overflows fp16 (inf or NaN), which no loss scale can repair."""


FP16_MAX = 65504.0  # the largest finite float16
FP16_ADVICE = (
    f"activations beyond fp16's range (at most {FP16_MAX:,.0f}) make it inf or NaN; run on a GPU with bfloat16 "
    "(an L4 or A100 rather than a T4), or in fp32 (autocast='float32', a setting of chapters 1 and 3, of "
    "PPOConfig and of trainer_settings)"
)
MIN_LOSS_SCALE = 1.0  # as DeepSpeed's fp16 min_loss_scale: an overflow at this scale is the forward's


def check_loss_scale(scaler: torch.amp.GradScaler | None, trainer: str) -> None:
    """Stop a run whose fp16 loss scale fell below :data:`MIN_LOSS_SCALE` (``scaler``: a torch
    ``GradScaler``, or None without loss scaling).

    Dynamic loss scaling (Micikevicius et al., 2018) skips a step whose gradients hold inf or NaN
    and halves the scale; a scale halved below 1 means the gradients overflow however small the
    scale, i.e. the fp16 forward pass does, and the run would skip every step from then on.
    Raises :class:`HalfPrecisionOverflow` naming ``trainer``."""
    if (
        scaler is not None
        and scaler.is_enabled()
        and scaler.get_scale() < MIN_LOSS_SCALE
    ):
        raise HalfPrecisionOverflow(
            f"{trainer}'s fp16 loss scale fell below {MIN_LOSS_SCALE:g}, every step's gradients overflow: {FP16_ADVICE}"
        )


def in_fp16(model) -> bool:
    """Whether ``model``'s forward passes run in float16: fp16 weights, or fp16 autocast on its device."""
    import torch

    param = next(model.parameters())
    kind = param.device.type
    return param.dtype == torch.float16 or (
        torch.is_autocast_enabled(kind)
        and torch.get_autocast_dtype(kind) == torch.float16
    )


AUTOCAST = ("auto", "bfloat16", "float16", "float32", None)
"""Values of an autocast setting (:func:`autocast_dtype`)."""


def check_autocast(autocast: str | None) -> None:
    """A ``ValueError`` (one line) for an ``autocast`` setting that is not one of :data:`AUTOCAST`."""
    if autocast not in AUTOCAST:
        raise ValueError(
            f"autocast={autocast!r}; valid: {', '.join(map(repr, AUTOCAST))}"
        )


def autocast_dtype(
    autocast: str | None, device: torch.device | str
) -> torch.dtype | None:
    """The dtype that the forward passes of a model trained on ``device`` autocast to, for an
    ``autocast`` setting: "auto" is :func:`dtype_for` (bfloat16, else float16 with loss scaling,
    on CUDA; none on a CPU), "bfloat16" | "float16" force one, "float32" or None is fp32. None
    means fp32, autocast off."""
    import torch

    check_autocast(autocast)
    auto = dtype_for(device)  # and TF32 matmuls on CUDA, whatever the setting
    dtype = auto if autocast == "auto" else getattr(torch, autocast or "float32")
    return None if dtype == torch.float32 else dtype


def frozen_dtype(
    autocast: str | None, device: torch.device | str
) -> torch.dtype | None:
    """The dtype the frozen weights of a model trained through adapters are stored in: under
    16-bit autocast (:func:`autocast_dtype`) the dtype the book keeps frozen models in on ``device``
    (:func:`dtype_for`: 16 bits on a GPU, half the memory; fp32 on a CPU), else None (unchanged)."""
    return dtype_for(device) if autocast_dtype(autocast, device) is not None else None


def trainer_precision(autocast: str | None = "auto") -> dict[str, bool]:
    """``bf16`` / ``fp16`` flags of a transformers/TRL trainer config for ``autocast`` (:data:`AUTOCAST`)
    on this machine.

    "auto": bf16 where the GPU supports it, else fp16 mixed precision (fp32 weights, fp16
    autocast, a dynamic loss scaler: what ``fp16=True`` does in ``Trainer``), and neither on a
    CPU; "float32" neither, on any device (TF32 matmuls on CUDA).
    """
    import torch

    dtype = autocast_dtype(autocast, "cuda" if torch.cuda.is_available() else "cpu")
    return {"bf16": dtype == torch.bfloat16, "fp16": dtype == torch.float16}


def trainer_settings(output_dir: str, seed: int, autocast: str | None = "auto") -> dict:
    """The arguments every TRL trainer of the book shares (``RewardConfig``, ``DPOConfig``,
    ``GRPOConfig``): the GPU if there is one, with :func:`trainer_precision` of ``autocast``, else the CPU;
    ``seed`` for the weights and the data order; no activation checkpointing, saving, reporting,
    progress bars or data-loader workers; DDP without the unused-parameter search (under
    ``accelerate launch``)."""
    import torch

    return dict(
        output_dir=str(output_dir),
        seed=seed,
        data_seed=seed,
        use_cpu=not torch.cuda.is_available(),
        **trainer_precision(autocast),
        activation_checkpointing=False,
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
        dataloader_num_workers=0,
        ddp_find_unused_parameters=False,
    )


def trainer_batch(batch: int, micro_batch: int | None = None) -> dict[str, int]:
    """A TRL trainer's ``per_device_train_batch_size`` and ``gradient_accumulation_steps`` for
    ``batch`` examples per optimiser step in passes of ``micro_batch`` (None, or at least ``batch``:
    one pass). The accumulated gradient is that of the whole batch, in the memory of one pass."""
    if micro_batch is None or micro_batch >= batch:
        return dict(per_device_train_batch_size=batch, gradient_accumulation_steps=1)
    if micro_batch < 1 or batch % micro_batch:
        raise ValueError(
            f"a batch of {batch} does not split into micro-batches of {micro_batch}"
        )
    return dict(
        per_device_train_batch_size=micro_batch,
        gradient_accumulation_steps=batch // micro_batch,
    )


def prepare_trainer(trainer: transformers.Trainer) -> transformers.Trainer:
    """The book's callbacks on a transformers/TRL ``trainer``, returned: no printed logs (the
    chapters read ``trainer.state.log_history``), and after every optimiser step
    :func:`check_loss_scale` on the loss scaler of its (accelerate-wrapped) optimizer, so that an
    fp16 run whose forward pass overflows stops with one line instead of skipping every step."""
    import transformers

    name = type(trainer).__name__

    class LossScaleGuard(transformers.TrainerCallback):
        def on_step_end(self, args, state, control, optimizer=None, **kwargs):
            check_loss_scale(getattr(optimizer, "scaler", None), name)

    trainer.remove_callback(transformers.PrinterCallback)
    trainer.add_callback(LossScaleGuard())
    return trainer


def quiet() -> None:
    """Silence library logging, progress bars and known-harmless warnings in notebooks."""
    import datasets  # tqdm's "IProgress not found" warning is filtered on importing rlhfbook
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    datasets.utils.logging.set_verbosity_error()
    logging.getLogger("papermill").setLevel(logging.WARNING)
    for category in (FutureWarning, UserWarning, DeprecationWarning):
        warnings.filterwarnings("ignore", category=category)
    figure_style()


# Figures are shown at the book's column width (about 690 px): at 100 dpi a figure of at most
# 10 inches keeps 11 pt tick labels above 9 px on the page.
MAX_FIGURE_WIDTH_IN = 10.0
FIGURE_STYLE = {
    "figure.dpi": 100,
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "xtick.labelsize": 10.5,
    "ytick.labelsize": 10.5,
    "legend.fontsize": 10,
}


def figure_style() -> None:
    """The book's matplotlib settings (after pyplot is imported, so the inline backend keeps them)."""
    import matplotlib.pyplot as plt

    plt.rcParams.update(FIGURE_STYLE)
