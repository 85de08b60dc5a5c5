"""Sampling responses from a policy and scoring them token by token.

Shared by every chapter that samples from a language model. Two functions must agree for
PPO to be correct: :func:`generate` samples a batch, :func:`token_logprobs` recomputes the
log-probability of each sampled token with the *same* padding, positions and temperature,
so that the probability ratio of a fresh policy against its own rollout is exactly 1.

What a hub instruct model needs, and the toy world's tokenizers leave unchanged:

* **chat template**: a tokenizer that has one gets each prompt as one user turn of its chat
  template, with the assistant's turn opened (:func:`format_prompts`); ``Rollout.prompts``
  keeps the raw prompts (tasks look their answers up by them), ``query_ids`` hold the template;
* **every end token**: instruct models stop on one of several tokens (Qwen: ``<|im_end|>`` or
  ``<|endoftext|>``; Llama 3: ``<|eot_id|>`` or ``<|end_of_text|>``), listed in
  ``generation_config.eos_token_id``; :func:`end_token_ids` collects them with the tokenizer's,
  generation stops on any, and a response has EOS if it ends with any;
* **no sampling defaults of its own**: a hub model's ``generation_config`` carries the sampling
  its authors recommend (Qwen2.5: ``repetition_penalty`` 1.1, ``top_k`` 20, ``top_p`` 0.8,
  temperature 0.7), which ``generate`` applies to every field a call leaves unset;
  :func:`own_distribution` sets them aside, so that a sample comes from the policy whose
  log-probs PPO computes (as TRL's GRPOTrainer, which sets ``repetition_penalty=1``);
* **chunks**: ``chunk_size`` rows at a time for generation and for log-probs
  (:func:`response_logprobs`), so that a large batch fits a small GPU; ``None`` (the default)
  is one batch, as in the smoke and cpu profiles, except that generation on a GPU takes at most
  :data:`GPU_ROWS` rows a call (:func:`rows_per_call`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from rlhfbook.core import runtime


@dataclass
class Rollout:
    """A batch of sampled responses (one row per sample).

    ``query_ids`` are left-padded prompts; ``response_ids`` are the sampled tokens, padded
    after the first EOS; ``response_mask`` is 1 on the response tokens up to and including
    the first EOS; ``has_eos`` is False for a response cut off at ``max_new_tokens``.
    """

    prompts: list[str]
    responses: list[str]
    query_ids: torch.Tensor  # [B, Lq]
    query_mask: torch.Tensor  # [B, Lq]
    response_ids: torch.Tensor  # [B, Lr]
    response_mask: torch.Tensor  # [B, Lr]
    has_eos: torch.Tensor  # [B] bool

    def __len__(self) -> int:
        return len(self.prompts)

    def select(self, index: torch.Tensor | list[int]) -> Rollout:
        """The rows ``index`` of every field (texts and tensors stay aligned)."""
        index = torch.as_tensor(index, dtype=torch.long)
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = (
                [value[i] for i in index.tolist()]
                if isinstance(value, list)
                else value[index]
            )
        return Rollout(**out)

    @property
    def lengths(self) -> torch.Tensor:
        """Response lengths in tokens (EOS included)."""
        return self.response_mask.sum(1)


def format_prompts(
    tokenizer: PreTrainedTokenizerBase, prompts: Sequence[str], chat: bool | None = None
) -> list[str]:
    """Each prompt as the text the model is conditioned on: a user turn of the tokenizer's chat
    template with the assistant's turn opened, or the prompt itself without a template
    (``chat=None``: the template when there is one; ``chat=False``: never)."""
    if chat is False or not getattr(tokenizer, "chat_template", None):
        return list(prompts)
    return [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
        )
        for p in prompts
    ]


def encode_prompts(
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    chat: bool | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded ids and attention mask of the prompts, in the chat template if the tokenizer has
    one and ``chat`` is not False (:func:`format_prompts`; the template writes its own special
    tokens, none are added)."""
    if tokenizer.padding_side != "left":
        raise ValueError(
            "generation needs a left-padding tokenizer (tokenizer.padding_side = 'left')"
        )
    enc = tokenizer(
        format_prompts(tokenizer, prompts, chat),
        return_tensors="pt",
        padding=True,
        add_special_tokens=False,
    )
    return enc["input_ids"], enc["attention_mask"]


def end_token_ids(
    tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel | None = None
) -> list[int]:
    """Every token that ends a response: the model's ``generation_config.eos_token_id`` (an id or
    a list) and the tokenizer's EOS, in that order, without repeats and never the pad token."""
    ids: list[int] = []
    config = getattr(model, "generation_config", None)
    for value in (getattr(config, "eos_token_id", None), tokenizer.eos_token_id):
        if value is None:
            continue
        for i in [value] if isinstance(value, int) else list(value):
            if i not in ids and i != tokenizer.pad_token_id:
                ids.append(int(i))
    return ids


def response_mask_from_ids(
    response_ids: torch.Tensor, eos_id: int | Sequence[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask of tokens up to and including the first end token (any of ``eos_id``), and whether one occurred."""
    is_eos = torch.isin(
        response_ids, torch.as_tensor(eos_id, dtype=response_ids.dtype).reshape(-1)
    )
    has_eos = is_eos.any(1)
    after_eos = (is_eos.cumsum(1) - is_eos.long()) > 0  # strictly after the first EOS
    return (~after_eos).long(), has_eos


GPU_ROWS = 64  # rows per generate call on a GPU when the caller sets no chunk_size (the gpu profiles' chunk_size)


def rows_per_call(n: int, chunk_size: int | None, device: torch.device) -> int:
    """Rows of each generate call for ``n`` prompts: ``chunk_size`` when given; else all of them on a
    CPU, and at most :data:`GPU_ROWS` on a GPU, where 1,024 chat prompts of ~300 tokens in one fp32
    call keep over 16 GB of activations and key/value cache on a 0.5B model."""
    if chunk_size is not None:
        return max(1, chunk_size)
    return max(1, n if device.type == "cpu" else min(n, GPU_ROWS))


@contextmanager
def own_distribution(model: PreTrainedModel) -> Iterator[None]:
    """Within the block, ``model.generate`` samples from the model's own distribution: its
    ``generation_config`` is a blank one, so no repetition penalty, top-k, top-p, min-p or other
    logits processor of the hub's config applies unless the call asks for it."""
    from transformers import GenerationConfig

    saved = model.generation_config
    model.generation_config = GenerationConfig()
    try:
        yield
    finally:
        model.generation_config = saved


@torch.no_grad()
def generate(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    *,
    max_new_tokens: int,
    temperature: float = 1.0,
    greedy: bool = False,
    chunk_size: int | None = None,
) -> Rollout:
    """Sample one response per prompt (repeat a prompt in ``prompts`` for several samples).

    Generation stops on any of :func:`end_token_ids`; ``chunk_size`` prompts are generated at a
    time (by default all of them on a CPU, :data:`GPU_ROWS` on a GPU: :func:`rows_per_call`). The prompts are encoded together, so every chunk has the
    batch's left padding and the chunks' responses are padded to the longest. Samples come from the
    policy itself at ``temperature`` (:func:`own_distribution`). A model whose fp16 forward pass
    overflows stops with :class:`rlhfbook.core.runtime.HalfPrecisionOverflow`.
    """
    query_ids, query_mask = encode_prompts(tokenizer, prompts)
    device = next(model.parameters()).device
    kwargs = (
        dict(do_sample=False)
        if greedy
        else dict(do_sample=True, temperature=temperature, top_k=0, top_p=1.0)
    )
    eos = end_token_ids(tokenizer, model)
    step = rows_per_call(len(prompts), chunk_size, device)
    chunks = []
    for start in range(0, len(prompts), step):
        try:
            with own_distribution(model):
                out = model.generate(
                    input_ids=query_ids[start : start + step].to(device),
                    attention_mask=query_mask[start : start + step].to(device),
                    max_new_tokens=max_new_tokens,
                    pad_token_id=tokenizer.pad_token_id,
                    eos_token_id=eos[0] if len(eos) == 1 else eos,
                    **kwargs,
                ).cpu()
        except RuntimeError as error:  # sampling from inf / NaN probabilities
            if runtime.in_fp16(model) and ("inf" in str(error) or "nan" in str(error)):
                raise runtime.HalfPrecisionOverflow(
                    f"sampling in fp16 failed: {runtime.FP16_ADVICE}"
                ) from error
            raise
        chunks.append(out[:, query_ids.shape[1] :])
    width = max(
        c.shape[1] for c in chunks
    )  # a chunk stops early only once all its rows ended
    response_ids = torch.cat(
        [
            torch.nn.functional.pad(
                c, (0, width - c.shape[1]), value=tokenizer.pad_token_id
            )
            for c in chunks
        ]
    )
    mask, has_eos = response_mask_from_ids(response_ids, eos)
    response_ids = response_ids.masked_fill(mask == 0, tokenizer.pad_token_id)
    texts = tokenizer.batch_decode(response_ids, skip_special_tokens=True)
    return Rollout(
        list(prompts), texts, query_ids, query_mask, response_ids, mask, has_eos
    )


def rollout_from_ids(
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    response_ids: list[list[int]],
    eos_ids: Sequence[int] | None = None,
) -> Rollout:
    """A :class:`Rollout` of responses sampled elsewhere (e.g. by TRL's GRPOTrainer), given as
    token-id lists; each is cut after its first end token (``eos_ids``, default the tokenizer's
    EOS; pass :func:`end_token_ids` of the model) and padded like :func:`generate`'s."""
    if len(prompts) != len(response_ids):
        raise ValueError(f"{len(prompts)} prompts but {len(response_ids)} responses")
    query_ids, query_mask = encode_prompts(tokenizer, prompts)
    width = max(1, max(map(len, response_ids)))
    padded = torch.tensor(
        [list(r) + [tokenizer.pad_token_id] * (width - len(r)) for r in response_ids]
    )
    padded = padded.masked_fill(
        padded == tokenizer.pad_token_id, -1
    )  # pad is never EOS
    mask, has_eos = response_mask_from_ids(
        padded, eos_ids if eos_ids is not None else end_token_ids(tokenizer)
    )
    mask = mask * (padded != -1).long()
    padded = padded.masked_fill(mask == 0, tokenizer.pad_token_id)
    texts = tokenizer.batch_decode(padded, skip_special_tokens=True)
    return Rollout(list(prompts), texts, query_ids, query_mask, padded, mask, has_eos)


def _positions(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids that ignore left padding (as ``generate`` computes them)."""
    return (attention_mask.cumsum(1) - 1).clamp(min=0)


def _model_inputs(model: torch.nn.Module, rollout: Rollout) -> dict[str, torch.Tensor]:
    """Query + response ids, attention mask and padding-aware positions on the model's device.

    ``use_cache=False``: a scoring or training pass has no next step, so the key/value cache that
    HF models fill by default would only be copied and dropped (the outputs are the same).
    """
    device = next(model.parameters()).device
    ids = torch.cat([rollout.query_ids, rollout.response_ids], 1).to(device)
    mask = torch.cat([rollout.query_mask, rollout.response_mask], 1).to(device)
    return dict(
        input_ids=ids,
        attention_mask=mask,
        position_ids=_positions(mask),
        use_cache=False,
    )


def forward_logits(model: PreTrainedModel, rollout: Rollout) -> torch.Tensor:
    """Logits that predict each response token, shape [B, Lr, V]."""
    logits = model(**_model_inputs(model, rollout)).logits
    lq = rollout.query_ids.shape[1]
    return logits[:, lq - 1 : -1]


def forward_scalar_head(model: PreTrainedModel, rollout: Rollout) -> torch.Tensor:
    """A sequence-classification model's scalar head at every position, shape [B, Lq + Lr].

    Works for a reward model and for a critic built from one (Zheng et al., 2023 initialise
    the critic from the reward model): both are a backbone plus a linear ``score`` head.
    """
    backbone = getattr(model, model.base_model_prefix)
    hidden = backbone(**_model_inputs(model, rollout)).last_hidden_state
    return model.score(hidden).squeeze(-1)


def forward_values(critic: PreTrainedModel, rollout: Rollout) -> torch.Tensor:
    """V(s_t) for each response step t, read at the token *before* y_t, shape [B, Lr]."""
    lq = rollout.query_ids.shape[1]
    return forward_scalar_head(critic, rollout)[:, lq - 1 : -1]


def no_eos_floor(rm_scores) -> float:
    """The EOS trick's score for one reward model: one standard deviation below the lowest score
    it gives a complete answer of the SFT policy, so that a truncated answer ranks below every
    real one. A Bradley-Terry reward model's scores have an arbitrary offset, so a fixed constant
    could sit anywhere inside its range."""
    r = np.asarray(rm_scores, float)
    if r.size < 2 or not np.isfinite(r).all():
        raise ValueError("no_eos_floor needs at least two finite scores")
    return float(r.min() - r.std())


def eos_trick(
    scores: torch.Tensor, rollout: Rollout, no_eos_score: float | None
) -> torch.Tensor:
    """``scores`` with ``no_eos_score`` for every response cut off without EOS (the "EOS trick" of
    Huang et al., 2024); None keeps the scores as they are."""
    if no_eos_score is None:
        return scores
    return torch.where(rollout.has_eos, scores, torch.tensor(no_eos_score))


def reward_model_scores(
    reward_model: PreTrainedModel, rollout: Rollout, no_eos_score: float | None = None
) -> torch.Tensor:
    """The reward model's score of each response, read at its last token (the EOS), shape [B].

    The sequence is prompt + response + EOS, the text TRL's ``RewardTrainer`` trains on.
    ``no_eos_score`` replaces the score of responses cut off without EOS when given.
    """
    lq = rollout.query_ids.shape[1]
    heads = forward_scalar_head(reward_model, rollout)[:, lq:]
    last = (rollout.lengths - 1).clamp(min=0).to(heads.device)
    return eos_trick(
        heads.gather(1, last[:, None]).squeeze(1).float().cpu(), rollout, no_eos_score
    )


def token_logprobs(
    logits: torch.Tensor, response_ids: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """log pi(y_t | x, y_<t) of each response token, shape [B, Lr] (in fp32 for half-precision logits)."""
    logp = torch.log_softmax(logits.float() / temperature, dim=-1)
    return logp.gather(-1, response_ids.to(logits.device).unsqueeze(-1)).squeeze(-1)


def response_logprobs(
    model: PreTrainedModel,
    rollout: Rollout,
    temperature: float = 1.0,
    chunk_size: int | None = None,
) -> torch.Tensor:
    """:func:`token_logprobs` of the model's forward pass, ``chunk_size`` rows at a time (all by
    default), shape [B, Lr]: only one chunk's [rows, Lr, V] logits exist at once."""
    step = max(1, chunk_size or len(rollout))
    if step >= len(rollout):
        return token_logprobs(
            forward_logits(model, rollout), rollout.response_ids, temperature
        )
    index = torch.arange(len(rollout))
    return torch.cat(
        [
            response_logprobs(model, rollout.select(index[s : s + step]), temperature)
            for s in range(0, len(rollout), step)
        ]
    )


def sequence_logprob(
    model: PreTrainedModel,
    rollout: Rollout,
    temperature: float = 1.0,
    chunk_size: int | None = None,
) -> torch.Tensor:
    """log pi(y | x) summed over response tokens (EOS included), shape [B]."""
    lp = response_logprobs(model, rollout, temperature, chunk_size)
    return (lp * rollout.response_mask.to(lp.device)).sum(1)


def gold_scores(
    task, rollout: Rollout, no_eos_score: float | None = None
) -> torch.Tensor:
    """The task's gold score of each response; ``no_eos_score`` replaces it for responses
    without EOS (the "EOS trick" of Huang et al., 2024) when given."""
    scores = torch.tensor(
        [task.gold_reward(p, r) for p, r in zip(rollout.prompts, rollout.responses)]
    )
    return eos_trick(scores, rollout, no_eos_score)
