"""What a language model's sampling, scoring and training compute, by arithmetic: the work a GPU does.

A part of a chapter is counted as a :class:`Work`:

* ``flops``: matrix-multiply FLOPs, 2N per token of a forward pass of an N-parameter model, 6N per
  trained token in full fine-tuning and 4N with low-rank adapters (no weight gradients of the
  frozen base; Kaplan et al. 2020's 6N rule);
* ``launches``: transformer layers run one after the other by the host, one per layer and
  decoding step or micro-batch pass (3 per layer for a forward and backward pass, and
  :data:`LORA_LAUNCHES` times as many with the book's adapters): eager PyTorch and HF ``generate``
  on small batches are bound by the host launching kernels, not by the GPU;
* ``weight_bytes``: 16-bit weights read from memory once per decoding step;
* ``host_s``: seconds of work on the host (e.g. sandboxed programs).

Each chapter counts its GPU profiles' work with these (its spec's ``gpu_work``), and
:mod:`rlhfbook.book.gpu_sizing` turns work into minutes on a card.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

LORA_LAUNCHES = 1.5  # each adapted linear layer adds two small matmuls and an add


@dataclass(frozen=True)
class LM:
    """A model's size as the arithmetic needs it (published configs)."""

    name: str
    params: float
    layers: int


# Published models' sizes
QWEN_05B = LM("Qwen2.5-0.5B", 0.494e9, 24)
QWEN_15B = LM("Qwen2.5-1.5B", 1.54e9, 28)
GPT2 = LM("GPT-2", 0.124e9, 12)


@dataclass(frozen=True)
class Work:
    """What a part of a chapter computes (see the module's docstring); parts add up."""

    generated: float = 0.0  # tokens sampled
    forward: float = 0.0  # tokens through a forward pass only (scoring, log-probs)
    trained: float = 0.0  # tokens through a forward and backward pass
    flops: float = 0.0
    launches: float = 0.0
    weight_bytes: float = 0.0
    host_s: float = 0.0

    def __add__(self, other: Work) -> Work:
        return Work(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(self))
        )

    def __mul__(self, k: float) -> Work:
        return Work(*(getattr(self, f.name) * k for f in fields(self)))

    __rmul__ = __mul__


def generate(
    lm: LM,
    rows: int,
    prompt: int,
    new: int,
    chunk: int | None = None,
    lora: bool = False,
) -> Work:
    """Sampling ``new`` tokens after a ``prompt``-token prompt for ``rows`` rows, ``chunk`` rows per
    ``generate`` call: one prefill and ``new`` decoding steps per call."""
    calls = math.ceil(rows / (chunk or rows))
    return Work(
        generated=rows * new,
        flops=2 * lm.params * rows * (prompt + new),
        launches=calls * (new + 1) * lm.layers * (LORA_LAUNCHES if lora else 1),
        weight_bytes=calls * new * 2 * lm.params,
    )


def forward(lm: LM, rows: int, tokens: int, micro: int | None = None) -> Work:
    """One forward pass over ``rows`` sequences of ``tokens`` tokens, ``micro`` rows a pass."""
    passes = math.ceil(rows / (micro or rows))
    return Work(
        forward=rows * tokens,
        flops=2 * lm.params * rows * tokens,
        launches=passes * lm.layers,
    )


def train(
    lm: LM, rows: int, tokens: int, micro: int | None = None, lora: bool = False
) -> Work:
    """A forward and backward pass over ``rows`` sequences of ``tokens`` tokens, ``micro`` rows a
    pass: 6N FLOPs per token in full fine-tuning, 4N with adapters."""
    passes = math.ceil(rows / (micro or rows))
    return Work(
        trained=rows * tokens,
        flops=(4 if lora else 6) * lm.params * rows * tokens,
        launches=passes * 3 * lm.layers * (LORA_LAUNCHES if lora else 1),
    )


def ppo_iteration(
    lm: LM,
    rows: int,
    prompt: int,
    new: int,
    epochs: int,
    scorers: int,
    micro: int | None,
    chunk: int | None,
    lora: bool,
    trained_rows: int | None = None,
    critic: bool = True,
) -> Work:
    """One iteration of the book's PPO (:func:`rlhfbook.methods.ppo.train`): a rollout of ``rows`` samples,
    the old policy's and the reference's log-probs, the critic's values and ``scorers`` reward models'
    scores, then ``epochs`` passes of the policy (and the critic) over ``trained_rows`` of them
    (a filter's subset; all rows by default)."""
    tokens, kept = prompt + new, trained_rows or rows
    models = 2 if critic else 1
    return (
        generate(lm, rows, prompt, new, chunk, lora)
        + (2 + critic + scorers) * forward(lm, rows, tokens, micro)
        + epochs * models * train(lm, kept, tokens, micro, lora)
    )
