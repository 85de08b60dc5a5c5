"""Tiny Llama-style causal LMs built from a config (no hub).

Used by every chapter (the toy policies and reward models).
"""

from __future__ import annotations

from transformers import (
    AutoModelForCausalLM,
    LlamaConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

# name -> (hidden size, layers, heads, MLP width)
SIZES: dict[str, tuple[int, int, int, int]] = {
    "tiny": (32, 2, 2, 64),  # ~0.03M parameters: smoke tests
    "small": (128, 3, 4, 256),  # ~0.5M parameters: the cpu profile
    "base": (256, 4, 4, 768),  # ~3M parameters
}


def model_config(
    size: str, tokenizer: PreTrainedTokenizerFast, max_positions: int = 128
) -> LlamaConfig:
    """A Llama config of one of :data:`SIZES` for ``tokenizer``'s vocabulary."""
    if size not in SIZES:
        raise ValueError(
            f"unknown model size {size!r}; valid sizes: {', '.join(SIZES)}"
        )
    hidden, layers, heads, mlp = SIZES[size]
    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=mlp,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=max_positions,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        attention_dropout=0.0,
    )


def new_model(size: str, tokenizer: PreTrainedTokenizerFast) -> PreTrainedModel:
    """A freshly initialised causal LM (seed torch first for reproducible weights)."""
    return AutoModelForCausalLM.from_config(model_config(size, tokenizer))
