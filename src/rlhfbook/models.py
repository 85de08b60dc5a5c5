"""Load a policy or reward model from a local folder or (GPU, Colab) a hub id."""

from __future__ import annotations

from pathlib import Path

from . import online


class ModelUnavailable(RuntimeError):
    """A model that is neither a local folder nor reachable on the hub."""


def _check_reachable(name_or_path: str | Path) -> str:
    name = str(name_or_path)
    if Path(name).is_dir():
        return name
    if not online():
        raise ModelUnavailable(
            f"could not fetch model {name!r}: it is not a local folder and the Hugging Face hub is "
            "offline here (HF_HUB_OFFLINE=1). Use the offline 'cpu' profile (toy-world models), "
            "pass a local folder, or set RLHFBOOK_ONLINE=1 before importing rlhfbook on a "
            "machine with network access."
        )
    return name


def load_tokenizer(name_or_path: str | Path):
    """The tokenizer of a folder or hub id, left-padded, with a PAD distinct from EOS."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(_check_reachable(name_or_path))
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        tokenizer.add_special_tokens({"pad_token": "<pad>"})
    return tokenizer


def load_policy(name_or_path: str | Path, dtype: str | None = None, frozen: bool = False):
    """``(model, tokenizer)`` of a causal LM from a local folder or a hub id, in eval mode.

    ``frozen=True`` turns off gradients: the reference policy pi_SFT of a KL penalty.
    """
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(name_or_path)
    kwargs = {"dtype": dtype} if dtype else {}
    model = AutoModelForCausalLM.from_pretrained(_check_reachable(name_or_path), **kwargs)
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.requires_grad_(not frozen)
    return model.eval(), tokenizer


def load_reward_model(name_or_path: str | Path, tokenizer=None, dtype: str | None = None):
    """A sequence-classification model with one output (a reward model) and its tokenizer."""
    from transformers import AutoModelForSequenceClassification

    tokenizer = tokenizer or load_tokenizer(name_or_path)
    kwargs = {"dtype": dtype} if dtype else {}
    model = AutoModelForSequenceClassification.from_pretrained(
        _check_reachable(name_or_path), num_labels=1, **kwargs)
    model.config.pad_token_id = tokenizer.pad_token_id
    return model.eval(), tokenizer


def display_name(path_or_id: str | Path) -> str:
    """How to name a model to the reader: a local folder by its name (no machine paths), a hub id as is."""
    return Path(path_or_id).name if Path(path_or_id).exists() else str(path_or_id)
