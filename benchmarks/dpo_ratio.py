"""Seconds per DPO epoch: TRL's DPOTrainer as this book configures it beside TRL's defaults.

Ours is ``rlhfbook.methods.dpo_training``: ``dpo_config`` (fp32 on a CPU, no activation checkpointing,
reference log-probs precomputed once) and ``GammaDPOTrainer`` (gamma = 1, i.e. DPO, without
the NaN fill of ``torch.empty`` that deterministic mode adds to TRL's fused LM head; its cache of
reference passes, which spares a chapter's later trainers that pass, is emptied first). The
defaults are ``DPOConfig`` with only the run's own settings (learning rate, beta, batch size,
one epoch, seed; no reporting, saving or progress bars; ``use_cpu`` without a GPU, which TRL's
default bf16 requires there): bf16 autocast, activation
checkpointing, a reference forward pass at every step. Both train a freshly initialised
toy-world model on the same preference pairs (the preference task's demonstrations), under
the book's deterministic seeding; construction (tokenisation, reference precompute) counts::

    python benchmarks/dpo_ratio.py [--pairs 384] [--size small] [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import torch
import transformers
from trl import DPOConfig, DPOTrainer

from rlhfbook.core import environment, runtime
from rlhfbook.lm.models import load_policy
from rlhfbook.methods import dpo_training as dt
from rlhfbook.tasks import toyworld
from rlhfbook.tasks.preferences import PreferencePairs

SETTINGS = dict(
    beta=0.1, learning_rate=5e-4, batch_size=32, seed=0
)  # chapter 2's cpu profile

environment.prepare()  # the hub offline, quiet libraries (as a chapter's first cell does)


def setup(folder: str, n_pairs: int, size: str = "small", seed: int = 0):
    """A fresh toy-world policy saved in ``folder`` (TRL builds its reference from there), and
    ``n_pairs`` preference pairs."""
    runtime.seed_everything(seed)
    runtime.quiet()
    task, tok = toyworld.task("preference"), toyworld.build_tokenizer()
    toyworld.new_model(size, tok).save_pretrained(folder)
    tok.save_pretrained(folder)
    rng = np.random.default_rng(seed)
    prompts = task.sample_prompts(n_pairs, rng)
    chosen = [task.demonstration(p, rng) for p in prompts]
    return PreferencePairs(
        prompts, chosen, [task.demonstration(p, rng) for p in prompts]
    ).to_dataset()


def ours(model, tok, data, out: str, batch_size: int) -> DPOTrainer:
    dt.forget_reference_logps()  # time the reference pass too, as a chapter's first trainer pays it
    args = dt.dpo_config(
        out,
        beta=SETTINGS["beta"],
        learning_rate=SETTINGS["learning_rate"],
        epochs=1,
        batch_size=batch_size,
        seed=SETTINGS["seed"],
    )
    return dt.GammaDPOTrainer(
        model=model, args=args, gamma=1.0, processing_class=tok, train_dataset=data
    )


def defaults(model, tok, data, out: str, batch_size: int) -> DPOTrainer:
    args = DPOConfig(
        output_dir=out,
        beta=SETTINGS["beta"],
        learning_rate=SETTINGS["learning_rate"],
        num_train_epochs=1,
        per_device_train_batch_size=batch_size,
        seed=SETTINGS["seed"],
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
    )  # TRL's default bf16 asks for it on a CPU
    return DPOTrainer(model=model, args=args, processing_class=tok, train_dataset=data)


def timed(build, folder: str, data, batch_size: int) -> tuple[float, int]:
    """Seconds to build a trainer of the policy in ``folder`` and train it one epoch, and its steps."""
    model, tok = load_policy(folder)
    with tempfile.TemporaryDirectory(prefix="dpo-bench-") as out:
        start = time.perf_counter()
        trainer = build(model, tok, data, out, batch_size)
        trainer.remove_callback(transformers.PrinterCallback)
        trainer.train()
        return time.perf_counter() - start, trainer.state.global_step


def measure(
    n_pairs: int = 384,
    size: str = "small",
    repeats: int = 1,
    batch_size: int = SETTINGS["batch_size"],
):
    """Median seconds per epoch of ours and of the defaults (alternating), and their ratio."""
    times: dict[str, list[float]] = {"ours": [], "defaults": []}
    steps = 0
    with tempfile.TemporaryDirectory(prefix="dpo-bench-policy-") as folder:
        data = setup(folder, n_pairs, size)
        for r in range(repeats):
            pair = [("defaults", defaults), ("ours", ours)]
            for name, build in pair if r % 2 == 0 else pair[::-1]:
                seconds, steps = timed(build, folder, data, batch_size)
                times[name].append(seconds)
    our_s, default_s = (
        float(np.median(times["ours"])),
        float(np.median(times["defaults"])),
    )
    return dict(
        pairs=n_pairs,
        size=size,
        steps=steps,
        ours_s=our_s,
        defaults_s=default_s,
        ratio=default_s / our_s,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=384)
    parser.add_argument(
        "--size", default="small", help="toy-world model size: tiny | small | base"
    )
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    m = measure(args.pairs, args.size, args.repeats)
    print(
        f"DPO epoch ({m['pairs']} pairs, {m['steps']} steps of {SETTINGS['batch_size']}, size {m['size']}): "
        f"TRL defaults {m['defaults_s']:.1f} s, ours {m['ours_s']:.1f} s, ratio {m['ratio']:.2f}x"
    )


if __name__ == "__main__":
    os.environ.setdefault(
        "TQDM_DISABLE", "1"
    )  # TRL's reference precompute bar in the defaults run
    t0 = time.perf_counter()
    main()
    print(
        f"total {time.perf_counter() - t0:.1f} s ({torch.get_num_threads()} thread(s))"
    )
