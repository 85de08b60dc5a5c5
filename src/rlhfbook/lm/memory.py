"""GPU memory of the book's own PPO on a real model (chapters 1 and 3), checked before any training.

PPO holds four models at once: the trained policy and critic, the frozen reference policy (with
adapters, the policy itself with its adapters off) and the frozen reward models that score the
rollouts (chapter 1: the proxy and the gold, chapter 3: one).
A trained model costs 4 bytes per parameter for its fp32 weights, plus 12 per *trainable*
parameter for the gradient and AdamW's two moments: 16 B per parameter in full fine-tuning, and
about 2 with low-rank adapters (:mod:`rlhfbook.lm.lora`), whose frozen weights are stored in the
16 bits of the forward passes. On top come one micro-batch's logits
(:func:`logits_bytes`) and what its forward pass keeps for the backward
(:func:`activation_bytes`, measured with autograd's saved-tensor hooks on a one- and a two-block
copy of the model and extrapolated).
:func:`ppo_plan` adds these up from the model's config, counting parameters on the meta device
(no weights are allocated), and :func:`check_fits`, called by :func:`rlhfbook.start_chapter`,
stops a chapter in one line when the plan exceeds the GPU, before the reward models train.
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

import torch

from rlhfbook.core import runtime
from rlhfbook.core.errors import ParameterError
from rlhfbook.lm import lora
from rlhfbook.lm.models import check_local_or_online

PROMPT_TOKENS = (
    512  # the prompt length the gpu profiles budget for (chapter 1's rm_max_length)
)
HEADROOM = 0.9  # the share of a GPU's memory the plan may use (the CUDA context, the allocator's slack)
HALF = (
    torch.float16,
    torch.bfloat16,
)  # autocast dtypes: 16-bit activations and weight copies
# Qwen2.5-0.5B(-Instruct)'s published config.json, the model of chapters 1 and 3's gpu profiles
QWEN2_5_05B = dict(
    hidden_size=896,
    intermediate_size=4864,
    num_hidden_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    vocab_size=151936,
    tie_word_embeddings=True,
)


class GPUMemoryError(ParameterError):
    """A chapter whose PPO does not fit the GPU at its settings (shown as one line)."""


def count_parameters(
    config, lora_rank: int | None = None, critic: bool = False
) -> tuple[int, int]:
    """``(all, trainable)`` parameters of the policy (a causal LM) or, with ``critic``, of the critic
    (a one-output sequence classifier) that ``config`` builds, with :func:`rlhfbook.lm.lora.add_adapters`
    at ``lora_rank`` (None: every parameter trains). Built on the meta device: nothing is allocated."""
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    config = copy.deepcopy(config)
    with torch.device("meta"):
        if critic:
            config.num_labels = 1
            model = AutoModelForSequenceClassification.from_config(config)
        else:
            model = AutoModelForCausalLM.from_config(config)
    total = sum(p.numel() for p in model.parameters())
    if lora_rank is None:
        return total, total
    return total, lora.add_adapters(
        model, lora_rank, 1.0, train=("score",) if critic else ()
    )


def trained_bytes(total: int, trainable: int, frozen_size: int = 4) -> int:
    """The weights, ``frozen_size`` bytes each for the ``total - trainable`` frozen ones (2 where
    adapters let them be stored in 16 bits, :func:`rlhfbook.lm.lora.add_adapters`), and fp32 weight,
    gradient and two AdamW moments (16 bytes) for each trainable one."""
    return frozen_size * (total - trainable) + 16 * trainable


def saved_bytes(config, tokens: int, lora_rank: int | None, dtype: torch.dtype) -> int:
    """Bytes autograd keeps for the backward pass of the decoder of ``config`` (its blocks and final
    norm, not the LM head) over one row of ``tokens`` tokens: every tensor the saved-tensor hooks see,
    once per storage, except the parameters themselves (counted in :func:`trained_bytes`). Under
    16-bit autocast (``dtype`` float16 / bfloat16; run on the CPU in bfloat16, which has the same
    sizes and casts) they include the 16-bit copies of the weights that the matrix products keep,
    except with the adapters of ``lora_rank``, whose frozen weights are already 16-bit.
    Measured on a CPU model with random weights."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_config(config)
    if lora_rank is not None:
        # frozen weights in the autocast dtype, as ppo.train stores them on a GPU: no 16-bit copies
        lora.add_adapters(
            model, lora_rank, frozen_dtype=torch.bfloat16 if dtype in HALF else None
        )
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    ids = torch.zeros(1, tokens, dtype=torch.long)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype in HALF):
            model.model(input_ids=ids)
    return sum(seen.values())


def activation_bytes(
    config,
    rows: int,
    tokens: int,
    lora_rank: int | None,
    dtype: torch.dtype = torch.float16,
) -> int:
    """Bytes one forward pass of ``rows`` x ``tokens`` keeps for its backward, for the full
    ``config``: :func:`saved_bytes` of a 1- and a 2-block copy with a 64-token vocabulary, at 8 and
    16 tokens, solved for the bytes per token and block, per block (the weight copies) and per
    token and model; plus, under autocast, the LM head's 16-bit weight copy (none with adapters,
    where the frozen head is stored in 16 bits). Saved tensors grow
    linearly in tokens and blocks (a test checks the extrapolation against a direct measurement)."""

    def measured(layers: int, n: int) -> int:
        small = copy.deepcopy(config)
        small.num_hidden_layers, small.vocab_size = layers, 64
        if (
            getattr(small, "layer_types", None) is not None
        ):  # one attention type per block (Qwen2)
            small.layer_types = small.layer_types[:layers]
        return saved_bytes(small, n, lora_rank, dtype)

    b11, b21, b12, b22 = (
        measured(1, 8),
        measured(2, 8),
        measured(1, 16),
        measured(2, 16),
    )
    per_block_token = ((b22 - b12) - (b21 - b11)) / 8
    per_block = (b21 - b11) - 8 * per_block_token
    per_token = (b12 - b11) / 8 - per_block_token
    fixed = b11 - per_block - 8 * per_block_token - 8 * per_token
    n, layers = rows * tokens, config.num_hidden_layers
    copies_head = dtype in HALF and lora_rank is None
    head = 2 * config.vocab_size * config.hidden_size if copies_head else 0
    return round(
        layers * (per_block + n * per_block_token) + n * per_token + fixed + head
    )


def logits_bytes(rows: int, tokens: int, vocab: int, dtype: torch.dtype) -> int:
    """An upper bound on the peak bytes of the [rows, tokens, vocab] tensors of one policy
    forward/backward pass.

    The logits in ``dtype`` (the autocast dtype, or fp32) at every position (``tokens``: prompt +
    response; the model computes them all) plus three fp32 tensors of their size: the
    log-softmax of :func:`rlhfbook.rollout.token_logprobs` (saved for backward), the gradient it
    receives and the gradient it returns, which only cover the response positions. So 14 bytes
    per entry in fp16/bf16 and 16 in fp32 (``benchmarks/ppo_memory.py`` measures the bound).
    """
    return rows * tokens * vocab * (torch.empty((), dtype=dtype).element_size() + 3 * 4)


def ppo_plan(
    config,
    settings: Any,
    scorers: int,
    dtype: torch.dtype = torch.float16,
    weights_dtype: torch.dtype | None = None,
) -> dict[str, int]:
    """Bytes of GPU memory the PPO of a chapter's ``settings`` (``lora_rank``, ``micro_batch``,
    ``max_new_tokens``, ``prompts_per_iteration``) needs on the policy ``config``, by part; the
    reward models and the critic share the policy's architecture, ``scorers`` of them score.
    ``dtype`` is the autocast dtype of the logits and activations (float32 on a CPU, where
    ``benchmarks/ppo_memory.py`` measures the plan: an upper bound on the live tensors' peak,
    through :func:`logits_bytes`), ``weights_dtype`` that of the frozen reward models'
    weights (None: ``dtype``)."""
    policy = count_parameters(config, settings.lora_rank)
    critic = count_parameters(config, settings.lora_rank, critic=True)
    rows = settings.micro_batch or settings.prompts_per_iteration
    tokens = PROMPT_TOKENS + settings.max_new_tokens
    frozen = torch.empty((), dtype=dtype).element_size() if settings.lora_rank else 4
    return {
        "policy": trained_bytes(*policy, frozen),
        "critic": trained_bytes(*critic, frozen),
        "reference policy": 0
        if settings.lora_rank
        else 4 * policy[0],  # with adapters: the policy, adapters off
        "reward models": scorers
        * critic[0]
        * torch.empty((), dtype=weights_dtype or dtype).element_size(),
        "logits": logits_bytes(rows, tokens, config.vocab_size, dtype),
        "activations": activation_bytes(
            config, rows, tokens, settings.lora_rank, dtype
        ),
    }


class Resident(Protocol):
    """What a chapter keeps on the GPU (its spec, :class:`rlhfbook.report.spec.ChapterSpec`):
    ``ppo_scorers`` frozen reward models scoring its PPO's rollouts (0: no PPO), and
    ``notebook_models`` = (fp32 policies, 16-bit reward models) its notebook holds while its runs
    train in its process (jobs=1)."""

    ppo_scorers: int
    notebook_models: tuple[int, int]


def notebook_bytes(config, notebook_models: tuple[int, int]) -> int:
    """Bytes of the models a notebook keeps on the GPU during its runs: ``notebook_models`` =
    (fp32 policies of ``config``, reward models in 16 bits)."""
    policies, scorers = notebook_models
    return (
        4 * policies * count_parameters(config)[0]
        + 2 * scorers * count_parameters(config, critic=True)[0]
    )


def forward_dtype(autocast: str | None) -> torch.dtype:
    """The dtype of PPO's logits and activations on a GPU for an ``autocast`` setting
    (:func:`rlhfbook.core.runtime.autocast_dtype`), sized without a GPU: "auto" is bfloat16 or
    float16, which take the same 2 bytes an element; "float32" (the way out of an fp16 overflow) 4."""

    return (
        torch.float16
        if autocast == "auto"
        else runtime.autocast_dtype(autocast, "cpu") or torch.float32
    )


def check_fits(
    settings: Any, resident: Resident, total_bytes: int | None = None
) -> dict[str, int] | None:
    """Raise :class:`GPUMemoryError` (one line) when a chapter's PPO on ``settings.model_name``, with
    the models ``resident`` says it keeps on the GPU (:class:`Resident`, :func:`notebook_bytes`), needs
    more than ``HEADROOM`` of the GPU (``total_bytes``: the CUDA device's memory); returns the plan, or
    None where nothing is checked (a chapter without PPO, the toy world, or no GPU)."""
    if not resident.ppo_scorers or not settings.model_name:
        return None
    if total_bytes is None:
        if not torch.cuda.is_available():
            return None
        total_bytes = torch.cuda.get_device_properties(0).total_memory
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(check_local_or_online(settings.model_name))
    plan = ppo_plan(
        config,
        settings,
        resident.ppo_scorers,
        forward_dtype(settings.autocast),
        torch.float16,
    )
    plan["the notebook's models"] = notebook_bytes(config, resident.notebook_models)
    need = sum(plan.values())
    if need > HEADROOM * total_bytes:
        parts = ", ".join(f"{k} {v / 1e9:.1f}" for k, v in plan.items())
        raise GPUMemoryError(
            f"{settings.chapter}'s PPO on {settings.model_name} needs about {need / 1e9:.1f} GB ({parts}) and "
            f"this GPU has {total_bytes / 1e9:.1f} GB: set lora_rank (e.g. 16), a smaller micro_batch, "
            "or a smaller model_name (see the running page)"
        )
    return plan
