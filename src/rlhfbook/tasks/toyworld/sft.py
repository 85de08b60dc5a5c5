"""Supervised fine-tuning of a base policy on a task's demonstrations (a plain loop).

Used by every chapter, through :func:`rlhfbook.tasks.toyworld.base_policy`, and by chapter 5's player.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerFast

from rlhfbook.core.progress import track
from rlhfbook.tasks.base import Task


def demonstration_batch(
    task, tokenizer: PreTrainedTokenizerFast, n: int, rng: np.random.Generator
):
    """``n`` (prompt + demonstration + EOS) sequences, right-padded, with labels that are
    ``-100`` on the prompt and padding so the loss covers the response only."""
    prompts = task.sample_prompts(n, rng)
    rows, labels = [], []
    for p in prompts:
        prompt_ids = tokenizer(p, add_special_tokens=False)["input_ids"]
        response_ids = tokenizer(task.demonstration(p, rng), add_special_tokens=False)[
            "input_ids"
        ]
        ids = prompt_ids + response_ids + [tokenizer.eos_token_id]
        rows.append(ids)
        labels.append([-100] * len(prompt_ids) + ids[len(prompt_ids) :])
    width = max(map(len, rows))
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
    label_ids = torch.tensor([lab + [-100] * (width - len(lab)) for lab in labels])
    return input_ids, (input_ids != pad).long(), label_ids


def supervised_finetune(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    task: Task,
    *,
    steps: int,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    progress: bool = True,
) -> list[float]:
    """Train on fresh demonstrations each step (AdamW, cosine decay), on the model's device; returns the losses."""
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=max(steps, 1), eta_min=lr / 10
    )
    model.train()
    losses = []
    for _ in track(range(steps), desc=f"SFT {task.name}", enabled=progress):
        input_ids, mask, labels = (
            t.to(model.device)
            for t in demonstration_batch(task, tokenizer, batch_size, rng)
        )
        loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
    model.eval()
    return losses
