"""Low-rank adapters (LoRA) for the book's own PPO (chapters 1 and 3, ``lora_rank`` in their gpu profiles).

Hu et al. (2021), *LoRA: Low-Rank Adaptation of Large Language Models*, Eq. 3: a frozen weight
W0 (d_out x d_in) is trained as W0 + (alpha / r) B A, with A (r x d_in) drawn at random and
B (d_out x r) zero, so the adapted model starts exactly at the pretrained one. Only A and B get
gradients and AdamW moments: for a 0.5B model at r = 16 on every linear layer of its blocks,
about 9M of 494M parameters. That is what lets PPO's policy and critic, both trained, fit a 16 GB
GPU (:mod:`rlhfbook.lm.memory`). Schulman et al. (2025), *LoRA Without Regret*, find LoRA on every
layer matches full fine-tuning in reinforcement learning even at small ranks, at about ten times
full fine-tuning's learning rate. Chapter 1's TRL GRPO trains the same adapters (TRL's optimiser
takes the parameters that require gradients).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

ALPHA = 32.0  # the update is (alpha / r) B A; 32 as Schulman et al. (2025)


class LoRALinear(nn.Module):
    """``base(x) + (alpha / r) * x A^T B^T``: a frozen linear layer plus its rank-r update (Eq. 3)."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base.requires_grad_(False)
        weight = base.weight
        self.lora_A = nn.Parameter(
            torch.empty(
                rank, base.in_features, dtype=weight.dtype, device=weight.device
            )
        )
        self.lora_B = nn.Parameter(
            torch.zeros(
                base.out_features, rank, dtype=weight.dtype, device=weight.device
            )
        )
        nn.init.kaiming_uniform_(
            self.lora_A, a=math.sqrt(5)
        )  # A random, B = 0 (Hu et al., Sec. 4.1)
        self.scaling = alpha / rank
        self.enabled = True  # False: exactly the base layer (see disabled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        if not self.enabled:
            return out
        return (
            out
            + nn.functional.linear(nn.functional.linear(x, self.lora_A), self.lora_B)
            * self.scaling
        )


def add_adapters(
    model: nn.Module, rank: int, alpha: float = ALPHA, train: Sequence[str] = ()
) -> int:
    """Freeze ``model`` and wrap every ``nn.Linear`` of its transformer blocks in a :class:`LoRALinear`.

    The output heads (``lm_head``, and the ``train`` modules such as a critic's ``score`` head,
    which stay fully trainable) are not adapted. Returns the number of trainable parameters.
    Raises ``ValueError`` for a model without such layers (e.g. GPT-2, whose blocks use ``Conv1D``).
    """
    if rank < 1:
        raise ValueError(f"lora_rank must be >= 1, got {rank}")
    model.requires_grad_(False)
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
    for name in targets:
        parent, _, child = name.rpartition(".")
        owner = model.get_submodule(parent)
        setattr(owner, child, LoRALinear(getattr(owner, child), rank, alpha))
    for name in train:
        model.get_submodule(name).requires_grad_(True)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@contextmanager
def disabled(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` with its adapters switched off: exactly the model they were added to. With adapters,
    PPO's reference policy pi_SFT is the policy itself, so it costs no second copy of the weights."""
    layers = [m for m in model.modules() if isinstance(m, LoRALinear)]
    if not layers:
        raise ValueError(f"{type(model).__name__} has no adapters to switch off")
    for layer in layers:
        layer.enabled = False
    try:
        yield model
    finally:
        for layer in layers:
            layer.enabled = True


def trainable(model: nn.Module) -> list[nn.Parameter]:
    """The parameters an optimiser should hold: all of them, or only the adapters and heads after :func:`add_adapters`."""
    return [p for p in model.parameters() if p.requires_grad]
