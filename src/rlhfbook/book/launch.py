"""Script entry points for the book's TRL-based training, for ``accelerate launch`` (used by the
running page; chapters 1, 2 and 3 train the same way in-process).

One process or many, the same command line trains on the same *global* batch: each process takes
``global_batch / WORLD_SIZE`` rows per step, and TRL (through accelerate) averages the gradients::

    python -m rlhfbook.book.launch reward --base MODEL --pairs pairs.jsonl --out rm --steps 100 --global-batch 32
    accelerate launch --num_processes 2 -m rlhfbook.book.launch reward ...   # the same run on 2 GPUs / processes

``MODEL`` is a local folder or a hub id; ``pairs.jsonl`` has TRL's columns (``prompt``, ``chosen``,
``rejected``). The main process writes ``log_history.json`` (the trainer's logged losses) into
``--out`` beside the saved model. On CPUs (as in the tests) ``--multi_gpu`` still starts N processes;
they talk over gloo.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from rlhfbook.core import environment, runtime
from rlhfbook.lm import models
from rlhfbook.tasks.preferences import load_pairs


def world_size() -> int:
    """The number of processes ``accelerate launch`` (or torchrun) started; 1 without one."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def per_device_batch(global_batch: int) -> int:
    """Rows per process and step so that all processes together take ``global_batch``."""
    n = world_size()
    if global_batch % n:
        raise ValueError(
            f"--global-batch {global_batch} is not divisible by the {n} processes"
        )
    return global_batch // n


def train_dpo_files(
    base: str,
    pairs: str,
    out: str,
    *,
    steps: int,
    global_batch: int,
    beta: float,
    lr: float,
    seed: int,
) -> list[dict]:
    """DPO (Rafailov et al., Eq. 7) from a model folder or id and a pairs file, with TRL's
    ``DPOTrainer`` and the book's settings (:func:`rlhfbook.methods.dpo_training.dpo_config`); saves the policy."""
    from trl import DPOTrainer

    from rlhfbook.methods.dpo_training import dpo_config  # deferred: imports torch

    policy, tok = models.load_policy(base)
    args = dpo_config(
        out,
        beta=beta,
        learning_rate=lr,
        epochs=1,
        batch_size=per_device_batch(global_batch),
        seed=seed,
        max_steps=steps,
        logging_steps=1,
        precompute_ref_log_probs=False,
    )
    trainer = DPOTrainer(
        model=policy,
        args=args,
        train_dataset=load_pairs(pairs).to_dataset(),
        processing_class=tok,
    )
    runtime.prepare_trainer(trainer).train()
    trainer.save_model(out)
    return trainer.state.log_history


def main(argv: list[str] | None = None) -> int:
    # deferred: imports torch
    from rlhfbook.methods.reward_model import train_reward_model

    environment.prepare()
    parser = argparse.ArgumentParser(
        prog="python -m rlhfbook.book.launch", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "method",
        choices=("reward", "dpo"),
        help="reward: TRL RewardTrainer; dpo: TRL DPOTrainer",
    )
    parser.add_argument(
        "--base", required=True, help="causal-LM folder or hub id to start from"
    )
    parser.add_argument(
        "--pairs",
        required=True,
        help="preference pairs: .json/.jsonl file or hub dataset id",
    )
    parser.add_argument(
        "--out", required=True, help="folder for the trained model and log_history.json"
    )
    parser.add_argument("--steps", type=int, required=True, help="optimiser steps")
    parser.add_argument(
        "--global-batch", type=int, default=32, help="pairs per step over all processes"
    )
    parser.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    parser.add_argument("--beta", type=float, default=0.1, help="DPO's beta (dpo only)")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of weights' init, shuffling and dropout",
    )
    args = parser.parse_args(argv)
    try:
        per_device_batch(args.global_batch)
    except ValueError as e:
        parser.error(str(e))

    runtime.seed_everything(args.seed)
    runtime.quiet()
    if args.method == "reward":
        tok = models.load_tokenizer(args.base)
        _, history = train_reward_model(
            args.base,
            tok,
            args.pairs,
            args.out,
            steps=args.steps,
            batch_size=per_device_batch(args.global_batch),
            lr=args.lr,
            seed=args.seed,
            logging_steps=1,
        )
    else:
        history = train_dpo_files(
            args.base,
            args.pairs,
            args.out,
            steps=args.steps,
            global_batch=args.global_batch,
            beta=args.beta,
            lr=args.lr,
            seed=args.seed,
        )
    if int(os.environ.get("RANK", "0")) == 0:
        (Path(args.out) / "log_history.json").write_text(json.dumps(history, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
