"""Sampling responses from a policy and scoring them token by token.

Shared by every chapter that samples from a language model. Two functions must agree for
PPO to be correct: :func:`generate` samples a batch, :func:`token_logprobs` recomputes the
log-probability of each sampled token with the *same* padding, positions and temperature,
so that the probability ratio of a fresh policy against its own rollout is exactly 1.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase


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
            out[f.name] = [value[i] for i in index.tolist()] if isinstance(value, list) else value[index]
        return Rollout(**out)

    @property
    def lengths(self) -> torch.Tensor:
        """Response lengths in tokens (EOS included)."""
        return self.response_mask.sum(1)


def encode_prompts(tokenizer: PreTrainedTokenizerBase, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded prompt ids and attention mask (no special tokens added)."""
    if tokenizer.padding_side != "left":
        raise ValueError("generation needs a left-padding tokenizer (tokenizer.padding_side = 'left')")
    enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    return enc["input_ids"], enc["attention_mask"]


def response_mask_from_ids(response_ids: torch.Tensor, eos_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask of tokens up to and including the first EOS, and whether an EOS occurred."""
    is_eos = response_ids == eos_id
    has_eos = is_eos.any(1)
    after_eos = (is_eos.cumsum(1) - is_eos.long()) > 0  # strictly after the first EOS
    return (~after_eos).long(), has_eos


@torch.no_grad()
def generate(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompts: list[str], *,
    max_new_tokens: int, temperature: float = 1.0, greedy: bool = False,
) -> Rollout:
    """Sample one response per prompt (repeat a prompt in ``prompts`` for several samples)."""
    query_ids, query_mask = encode_prompts(tokenizer, prompts)
    device = next(model.parameters()).device
    kwargs = dict(do_sample=False) if greedy else dict(do_sample=True, temperature=temperature, top_k=0, top_p=1.0)
    out = model.generate(
        input_ids=query_ids.to(device), attention_mask=query_mask.to(device),
        max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id, **kwargs,
    ).cpu()
    response_ids = out[:, query_ids.shape[1]:]
    mask, has_eos = response_mask_from_ids(response_ids, tokenizer.eos_token_id)
    response_ids = response_ids.masked_fill(mask == 0, tokenizer.pad_token_id)
    texts = tokenizer.batch_decode(response_ids, skip_special_tokens=True)
    return Rollout(list(prompts), texts, query_ids, query_mask, response_ids, mask, has_eos)


def rollout_from_ids(tokenizer: PreTrainedTokenizerBase, prompts: list[str], response_ids: list[list[int]]) -> Rollout:
    """A :class:`Rollout` of responses sampled elsewhere (e.g. by TRL's GRPOTrainer), given as
    token-id lists; each is cut after its first EOS and padded like :func:`generate`'s."""
    if len(prompts) != len(response_ids):
        raise ValueError(f"{len(prompts)} prompts but {len(response_ids)} responses")
    query_ids, query_mask = encode_prompts(tokenizer, prompts)
    width = max(1, max(map(len, response_ids)))
    padded = torch.tensor([list(r) + [tokenizer.pad_token_id] * (width - len(r)) for r in response_ids])
    padded = padded.masked_fill(padded == tokenizer.pad_token_id, -1)  # pad is never EOS
    mask, has_eos = response_mask_from_ids(padded, tokenizer.eos_token_id)
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
    return dict(input_ids=ids, attention_mask=mask, position_ids=_positions(mask), use_cache=False)


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


def reward_model_scores(reward_model: PreTrainedModel, rollout: Rollout, no_eos_score: float | None = None) -> torch.Tensor:
    """The reward model's score of each response, read at its last token (the EOS), shape [B].

    The sequence is prompt + response + EOS, the text TRL's ``RewardTrainer`` trains on.
    ``no_eos_score`` replaces the score of responses cut off without EOS when given.
    """
    lq = rollout.query_ids.shape[1]
    heads = forward_scalar_head(reward_model, rollout)[:, lq:]
    last = (rollout.lengths - 1).clamp(min=0).to(heads.device)
    scores = heads.gather(1, last[:, None]).squeeze(1).float().cpu()
    if no_eos_score is not None:
        scores = torch.where(rollout.has_eos, scores, torch.tensor(no_eos_score))
    return scores


def token_logprobs(logits: torch.Tensor, response_ids: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """log pi(y_t | x, y_<t) of each response token, shape [B, Lr]."""
    logp = torch.log_softmax(logits / temperature, dim=-1)
    return logp.gather(-1, response_ids.to(logits.device).unsqueeze(-1)).squeeze(-1)


def sequence_logprob(model: PreTrainedModel, rollout: Rollout, temperature: float = 1.0) -> torch.Tensor:
    """log pi(y | x) summed over response tokens (EOS included), shape [B]."""
    lp = token_logprobs(forward_logits(model, rollout), rollout.response_ids, temperature)
    return (lp * rollout.response_mask.to(lp.device)).sum(1)


def gold_scores(task, rollout: Rollout, no_eos_score: float | None = None) -> torch.Tensor:
    """The task's gold score of each response; ``no_eos_score`` replaces it for responses
    without EOS (the "EOS trick" of Huang et al., 2024) when given."""
    scores = torch.tensor([task.gold_reward(p, r) for p, r in zip(rollout.prompts, rollout.responses)])
    if no_eos_score is not None:
        scores = torch.where(rollout.has_eos, scores, torch.tensor(no_eos_score))
    return scores
