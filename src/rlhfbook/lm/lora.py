"""Low-rank adapters (LoRA, through peft) for the book's own PPO and TRL's GRPO (chapters 1 and 3,
``lora_rank`` in their gpu profiles).

Hu et al. (2021), *LoRA: Low-Rank Adaptation of Large Language Models*, Eq. 3: a frozen weight
W0 (d_out x d_in) is trained as W0 + (alpha / r) B A, with A (r x d_in) drawn at random and
B (d_out x r) zero, so the adapted model starts exactly at the pretrained one. Only A and B get
gradients and AdamW moments: for a 0.5B model at r = 16 on every linear layer of its blocks,
about 9M of 494M parameters. That is what lets PPO's policy and critic, both trained, fit a 16 GB
GPU (:mod:`rlhfbook.lm.memory`); the frozen weights can then be stored in 16 bits as well
(:func:`add_adapters`' ``frozen_dtype``). Schulman et al. (2025), *LoRA Without Regret*, find LoRA
on every layer matches full fine-tuning in reinforcement learning even at small ranks, at about
ten times full fine-tuning's learning rate.

The layers are peft's: :func:`config` names which ones, :func:`add_adapters` puts them into a model
in place (``peft.inject_adapter_in_model``: the model keeps its class), and TRL's GRPO takes the same
:func:`config` as its ``peft_config``, so that its reference policy is the policy with its adapters
switched off rather than a second copy of the model.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    import peft

ALPHA = 32.0  # the update is (alpha / r) B A; 32 as Schulman et al. (2025)


def config(
    model: nn.Module, rank: int, alpha: float = ALPHA, train: Sequence[str] = ()
) -> peft.LoraConfig:
    """peft's LoRA settings for ``model``: rank ``rank``, scale ``alpha / rank`` (Eq. 3), no dropout,
    on every ``nn.Linear`` of its transformer blocks, named one by one.

    The output heads (``lm_head``, and the ``train`` modules such as a critic's ``score`` head,
    which stay fully trainable) are not adapted. Raises ``ValueError`` for a rank below 1 or a
    model without such layers (e.g. GPT-2, whose blocks use ``Conv1D``).
    """
    if rank < 1:
        raise ValueError(f"lora_rank must be >= 1, got {rank}")
    heads = {"lm_head", *train}
    targets = [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and not heads & set(name.split("."))
    ]
    if not targets:
        raise ValueError(
            f"{type(model).__name__} has no nn.Linear layer to adapt (LoRA here needs nn.Linear blocks)"
        )
    # deferred: peft imports tqdm.auto, whose ipywidgets warning a notebook shows if it loads
    # before rlhfbook.core.environment.prepare quiets it (a chapter's first cell imports this module)
    import peft

    return peft.LoraConfig(
        r=rank, lora_alpha=alpha, lora_dropout=0.0, target_modules=targets
    )


def add_adapters(
    model: nn.Module,
    rank: int,
    alpha: float = ALPHA,
    train: Sequence[str] = (),
    frozen_dtype: torch.dtype | None = None,
) -> int:
    """Freeze ``model`` and add rank-``rank`` adapters (:func:`config`) to it in place, A random and
    B = 0 (Hu et al., Sec. 4.1); the ``train`` modules (a critic's ``score`` head) train whole.

    ``frozen_dtype`` (16 bits on a GPU: 2 bytes a parameter instead of 4) stores the frozen weights
    in that dtype; the adapters and the ``train`` modules stay in fp32, the dtype AdamW steps need.
    Returns the number of trainable parameters.
    """
    from peft import inject_adapter_in_model  # deferred: see config

    settings = config(model, rank, alpha, train)
    model.requires_grad_(False)
    inject_adapter_in_model(settings, model)
    for name, p in model.named_parameters():
        p.requires_grad_("lora_" in name)
    for name in train:
        model.get_submodule(name).requires_grad_(True)
    if frozen_dtype is not None:
        for p in model.parameters():
            if not p.requires_grad:
                p.data = p.data.to(frozen_dtype)
    return sum(p.numel() for p in trainable(model))


@contextmanager
def disabled(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` with its adapters switched off: exactly the model they were added to. With adapters,
    PPO's reference policy pi_SFT is the policy itself, so it costs no second copy of the weights."""
    from peft.tuners.tuners_utils import BaseTunerLayer  # deferred: see config

    layers = [m for m in model.modules() if isinstance(m, BaseTunerLayer)]
    if not layers:
        raise ValueError(f"{type(model).__name__} has no adapters to switch off")
    for layer in layers:
        layer.enable_adapters(False)
    try:
        yield model
    finally:
        for layer in layers:
            layer.enable_adapters(True)


def trainable(model: nn.Module) -> list[nn.Parameter]:
    """The parameters an optimiser should hold: all of them, or only the adapters and heads after :func:`add_adapters`."""
    return [p for p in model.parameters() if p.requires_grad]
