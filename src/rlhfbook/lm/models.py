"""Load a policy or reward model from a local folder or (GPU, Colab) a hub id.

Three things every load does, so that a hub model behaves like the toy world's:

* **external ids are resolved first.** :func:`resolve_external` checks (and, online, downloads)
  every model and dataset a chapter's parameters name, in the chapter's first cell: a missing
  local path, an unknown hub id or an offline hub is one line (:class:`ModelUnavailable`, shown
  without a traceback like a bad parameter) before any training starts;
* **dtype per device** (:func:`rlhfbook.core.runtime.dtype_for`): fp32 on a CPU; on a GPU, models that are
  only sampled or scored load in bf16 (fp16 without bf16), models that are trained keep fp32
  weights (TF32 matmuls);
* **a pad token distinct from EOS**, and the embeddings resized when the tokenizer grew
  (:func:`fit_embeddings`), for the policy and for reward models alike.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rlhfbook.core import runtime
from rlhfbook.core.environment import online, set_hub_access
from rlhfbook.core.errors import ParameterError


class ModelUnavailable(ParameterError, RuntimeError):
    """A model or dataset that is neither local nor reachable on the hub (shown as one line)."""


# Parameters that name an external model / dataset, in any chapter's profile table.
MODEL_KEYS = ("model_name", "reward_model_name", "gold_reward_model_name")
DATASET_KEYS = ("dataset", "preference_dataset")
_DATA_SUFFIXES = (".json", ".jsonl")


def _looks_local(name: str) -> bool:
    """A name meant as a local path: absolute, relative (./, ../, ~), or a data file name."""
    return (
        name.startswith(("/", "./", "../", "~", "\\"))
        or name.endswith(_DATA_SUFFIXES)
        or "\\" in name
        or name.count("/") > 1
    )


def _unavailable(kind: str, name: str, why: str) -> ModelUnavailable:
    return ModelUnavailable(f"could not fetch {kind} {name!r}: {why}")


OFFLINE_HINT = (
    "it is not a local {what} and the Hugging Face hub is offline here (HF_HUB_OFFLINE=1). Use the "
    "offline 'cpu' profile (toy-world models), pass a local {what}, or allow the hub on a machine "
    "with network access: the 'gpu' profile does, or set RLHFBOOK_ONLINE=1 (RLHFBOOK_ONLINE=0 "
    "keeps it off)."
)


def check_local_or_online(
    name_or_path: str | Path, kind: str = "model", profile: str | None = None
) -> str:
    """``name_or_path`` as a string if it is a local folder/file or the hub is on, else one-line error."""
    name = str(name_or_path)
    path = Path(name).expanduser()
    what = "file" if kind == "dataset" else "folder"
    if path.is_dir() or (kind == "dataset" and path.is_file()):
        return str(path)
    if _looks_local(name) or path.exists():
        raise _unavailable(
            kind, name, f"no such local {what} ({path.resolve()} does not exist)."
        )
    if not online(profile):
        raise _unavailable(kind, name, OFFLINE_HINT.format(what=what))
    return name


_check_reachable = check_local_or_online  # the name earlier code used


def _fetch_hub(name: str, kind: str) -> None:
    """Download ``name`` from the hub now (weights and tokenizer / the dataset's files), or one line why not."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    patterns = (
        ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "*.tiktoken"]
        if kind == "model"
        else None
    )
    try:
        snapshot_download(
            name,
            repo_type="dataset" if kind == "dataset" else "model",
            allow_patterns=patterns,
        )
    except GatedRepoError:
        raise _unavailable(
            kind,
            name,
            "it is gated on the hub: accept its licence on huggingface.co and log in "
            "(huggingface-cli login or HF_TOKEN).",
        ) from None
    except (RepositoryNotFoundError, RevisionNotFoundError):
        raise _unavailable(
            kind,
            name,
            f"no such {kind} on the Hugging Face hub (check the id, or pass a local "
            f"{'file' if kind == 'dataset' else 'folder'}).",
        ) from None
    except Exception as error:  # network errors: DNS, timeouts, proxies
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        raise _unavailable(
            kind,
            name,
            f"the hub could not be reached ({type(error).__name__}: {first}). "
            "Check the network, or set RLHFBOOK_ONLINE=0 and pass a local copy.",
        ) from None


def resolve_external(params: Mapping[str, Any], fetch: bool = True) -> dict[str, str]:
    """Check every external model and dataset a chapter's parameters name, before any training.

    ``params`` is the chapter's :class:`rlhfbook.book.profiles.Profile`: its name sets hub access
    (on in ``gpu``, see :func:`rlhfbook.core.environment.online`) for this process and its workers; its
    ``model_name`` / ``reward_model_name`` / ``gold_reward_model_name`` / ``dataset`` /
    ``preference_dataset`` values (those that
    are set; ``model_name`` is an endpoint's model name when ``endpoint`` is set) must be local
    folders / files or, online, hub ids, which are downloaded now (``fetch``). Returns
    ``{parameter: local path or hub id}``; raises :class:`ModelUnavailable` (one line) otherwise.
    """
    profile = getattr(params, "name", None)
    if profile:
        os.environ["RLHFBOOK_PROFILE"] = profile
    set_hub_access(online(profile))
    resolved = {}
    for key in MODEL_KEYS + DATASET_KEYS:
        name = params.get(key)
        if not name or (key == "model_name" and params.get("endpoint")):
            continue
        kind = "dataset" if key in DATASET_KEYS else "model"
        resolved[key] = check_local_or_online(name, kind, profile)
        if (
            fetch
            and resolved[key] == str(name)
            and not Path(str(name)).expanduser().exists()
        ):
            _fetch_hub(str(name), kind)
    return resolved


def fit_embeddings(model, tokenizer) -> None:
    """Grow the model's token embeddings to the tokenizer's size (after a new pad token) and
    record the pad id in its configs: an id past the embedding matrix indexes out of range."""
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
    model.config.pad_token_id = tokenizer.pad_token_id
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id


def load_tokenizer(name_or_path: str | Path):
    """The tokenizer of a folder or hub id, left-padded, with a PAD distinct from EOS."""
    from transformers import AutoTokenizer

    name = check_local_or_online(name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(name)
    tokenizer.padding_side = "left"
    # Qwen pads with <|endoftext|>, one of its end tokens: a pad that ends responses would make
    # padding look like EOS, so the pad must be a token of its own.
    if tokenizer.pad_token_id is None or tokenizer.pad_token_id in {
        tokenizer.eos_token_id,
        *_end_ids(name),
    }:
        tokenizer.add_special_tokens({"pad_token": "<pad>"})
    return tokenizer


def _end_ids(name: str) -> list[int]:
    """The end tokens in a model's generation config (``[]`` when it has none)."""
    from transformers import GenerationConfig

    try:
        value = GenerationConfig.from_pretrained(name).eos_token_id
    except (OSError, ValueError):
        return []
    return [] if value is None else [value] if isinstance(value, int) else list(value)


def _dtype_kwargs(dtype, trainable: bool) -> dict:

    return {
        "dtype": dtype
        if dtype is not None
        else runtime.dtype_for(runtime.device(), trainable=trainable)
    }


def load_policy(
    name_or_path: str | Path,
    dtype: str | None = None,
    frozen: bool = False,
    sample_only: bool = False,
):
    """``(model, tokenizer)`` of a causal LM from a local folder or a hub id, in eval mode.

    ``frozen=True`` turns off gradients: the reference policy pi_SFT of a KL penalty (it keeps
    the trained policy's dtype, so that the KL of an untrained policy is exactly 0).
    ``sample_only=True`` (a model that is only sampled, e.g. a game player) loads in half
    precision on a GPU; ``dtype`` overrides :func:`rlhfbook.core.runtime.dtype_for`.
    """
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(name_or_path)
    model = AutoModelForCausalLM.from_pretrained(
        check_local_or_online(name_or_path),
        **_dtype_kwargs(dtype, trainable=not sample_only),
    )
    fit_embeddings(model, tokenizer)
    model.requires_grad_(not frozen)
    return model.eval(), tokenizer


def load_reference(name_or_path: str | Path, lora_rank: int | None, device):
    """PPO's reference policy pi_SFT on ``device``: a frozen copy of the policy's starting point, or
    None when the policy trains adapters (``lora_rank``), where it is the policy with its adapters
    off (:func:`rlhfbook.lm.lora.disabled`, what :func:`rlhfbook.methods.ppo.train` does with None)."""
    return None if lora_rank else load_policy(name_or_path, frozen=True)[0].to(device)


def load_reward_model(
    name_or_path: str | Path,
    tokenizer=None,
    dtype: str | None = None,
    sample_only: bool = False,
):
    """A sequence-classification model with one output (a reward model or critic) and its tokenizer.

    ``sample_only=True`` (a frozen reward model that only scores) loads in half precision on a GPU.
    """
    from transformers import AutoModelForSequenceClassification

    tokenizer = tokenizer or load_tokenizer(name_or_path)
    model = AutoModelForSequenceClassification.from_pretrained(
        check_local_or_online(name_or_path),
        num_labels=1,
        **_dtype_kwargs(dtype, trainable=not sample_only),
    )
    fit_embeddings(model, tokenizer)
    return model.eval(), tokenizer


def display_name(path_or_id: str | Path) -> str:
    """How to name a model to the reader: a local folder by its name (no machine paths), a hub id as is."""
    return Path(path_or_id).name if Path(path_or_id).exists() else str(path_or_id)
