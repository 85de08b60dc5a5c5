"""Peak memory of one PPO step, beside the plan of ``rlhfbook.lm.memory``, on the GPU or the CPU.

``rlhfbook.lm.memory.ppo_plan`` adds up 4 bytes per weight (2 per frozen weight with adapters under
16-bit autocast), 12 more per trainable one, a micro-batch's logits and what its forward pass keeps for the backward. This measures the sum.
Each configuration runs in a fresh process that builds, on the GPU if there is one, the models
chapter 1's PPO holds at once from a Qwen2 config (default: Qwen2.5-0.5B's published dimensions,
random weights, nothing downloaded): the policy and the critic (fp32; with adapters on a GPU their
frozen weights in 16 bits), the reference policy
(fp32; none with adapters, where it is the policy with its adapters off) and ``--scorers`` reward
models (in ``runtime.dtype_for``: 16-bit on a GPU). It then runs one PPO iteration
(``ppo.make_batch`` + ``ppo.update``, one epoch, under the book's autocast) on two micro-batches
of ``--micro-batch`` rows of 512 prompt (``memory.PROMPT_TOKENS``) + ``--response`` tokens; with
more than one micro-batch no pass holds two graphs, as in the gpu profiles (64 rows, 2 per pass).

It reports the peak beside the plan in the autocast dtype of the device (fp32 on the CPU):
on a GPU, PyTorch's peak allocated memory (and the peak its caching allocator reserved); on the
CPU, the process's peak resident memory above its resident memory before the models were
built. The CPU process runs with glibc's ``MALLOC_MMAP_THRESHOLD_`` fixed at 128 kB, so that
every tensor larger than that is mapped on its own and returned at once when freed: the peak
is then that of the live tensors. With glibc's default, a moving threshold up to 32 MB, freed
activations stay in the heap and the peak counts them again (17.1 GB against 12.9 GB live at
full size with adapters)::

    python benchmarks/ppo_memory.py [--lora-rank 16 none] [--micro-batch 2] [--response 128] [--layers 24]

On the CPU the full-size defaults need about 20 GB of memory with adapters and 30 GB without
(use --layers).
"""

from __future__ import annotations

import argparse
import copy
import multiprocessing
import os
import resource
import time
from types import SimpleNamespace

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    Qwen2Config,
)

from rlhfbook.book import profiles
from rlhfbook.core import environment, runtime
from rlhfbook.lm import memory
from rlhfbook.lm.rollout import Rollout
from rlhfbook.methods import ppo

environment.prepare()  # the hub offline, quiet libraries (as a chapter's first cell does)


def _resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _reset_peak_resident() -> None:
    """Start the process's resident high-water mark afresh (Linux's ``clear_refs`` 5): ``ru_maxrss``
    cannot be reset, and a spawned process inherits its parent's, which Linux keeps across exec."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _peak_resident_bytes() -> int:
    """The resident high-water mark (``VmHWM``) since :func:`_reset_peak_resident`."""
    with open("/proc/self/status") as f:
        return 1024 * int(
            next(line for line in f if line.startswith("VmHWM:")).split()[1]
        )


def measure(
    config: Qwen2Config,
    lora_rank: int | None,
    micro_batch: int,
    response: int,
    scorers: int,
) -> dict:
    """One PPO iteration on fresh models of ``config``: the peak bytes above those in use before
    the models were built (GPU: allocated by PyTorch, and ``reserved_bytes`` by its cache; CPU:
    resident), its seconds and :func:`rlhfbook.lm.memory.ppo_plan` in the device's autocast dtype."""
    runtime.seed_everything(0)
    device = runtime.device()
    cuda = device.type == "cuda"
    prompt, rows = memory.PROMPT_TOKENS, 2 * micro_batch
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    else:
        _reset_peak_resident()
    start = torch.cuda.memory_allocated() if cuda else _resident_bytes()
    policy = AutoModelForCausalLM.from_config(config).to(device)
    ref = (
        None
        if lora_rank
        else AutoModelForCausalLM.from_config(config).requires_grad_(False).to(device)
    )
    critic_config = copy.deepcopy(config)
    critic_config.num_labels = 1
    critic = AutoModelForSequenceClassification.from_config(critic_config).to(device)
    rms = [
        AutoModelForSequenceClassification.from_config(critic_config)
        .requires_grad_(False)
        .to(device, runtime.dtype_for(device))
        for _ in range(scorers)
    ]
    cfg = ppo.PPOConfig(
        iterations=1,
        prompts_per_iteration=rows,
        max_new_tokens=response,
        epochs=1,
        critic_warmup=0,
        micro_batch=micro_batch,
        lora_rank=lora_rank,
    )
    precision = ppo.Precision.create(cfg.autocast, device)
    policy_opt, critic_opt = ppo.optimisers(policy, critic, cfg)
    ones = lambda n: torch.ones(rows, n, dtype=torch.long)  # noqa: E731
    rollout = Rollout(
        [""] * rows,
        [""] * rows,
        torch.randint(0, config.vocab_size, (rows, prompt)),
        ones(prompt),
        torch.randint(0, config.vocab_size, (rows, response)),
        ones(response),
        torch.ones(rows, dtype=torch.bool),
    )
    t0 = time.perf_counter()
    batch, _ = ppo.make_batch(
        policy,
        ref,
        critic,
        rollout,
        torch.randn(rows),
        cfg,
        ppo.RunningMoments(),
        precision=precision,
    )
    ppo.update(policy, critic, batch, cfg, policy_opt, critic_opt, precision=precision)
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    if cuda:
        peak, reserved = (
            torch.cuda.max_memory_allocated() - start,
            torch.cuda.max_memory_reserved(),
        )
    else:
        peak, reserved = _peak_resident_bytes() - start, None
    step = SimpleNamespace(
        lora_rank=lora_rank,
        micro_batch=micro_batch,
        max_new_tokens=response,
        prompts_per_iteration=rows,
    )
    dtype = runtime.autocast_dtype(cfg.autocast, device) or torch.float32
    plan = memory.ppo_plan(
        config, step, scorers, dtype, runtime.dtype_for(device)
    )  # the settings ppo_plan reads
    del policy, ref, critic, rms
    return {
        "lora_rank": lora_rank,
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "dtype": str(dtype).removeprefix("torch."),
        "seconds": seconds,
        "peak_bytes": peak,
        "reserved_bytes": reserved,
        "plan_bytes": sum(plan.values()),
        "plan": plan,
    }


def _child(queue, *args) -> None:
    queue.put(measure(*args))


MMAP_THRESHOLD = str(
    128 * 1024
)  # bytes: larger allocations get their own mapping, freed at once


def in_fresh_process(*args) -> dict:
    """:func:`measure` in a new process, so that its peak is its own (with ``MMAP_THRESHOLD``)."""
    os.environ["MALLOC_MMAP_THRESHOLD_"] = (
        MMAP_THRESHOLD  # read by the new process's glibc
    )
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(queue, *args))
    process.start()
    out = queue.get()
    process.join()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lora-rank", nargs="+", default=["16", "none"])
    parser.add_argument("--micro-batch", type=int, default=2)
    parser.add_argument("--response", type=int, default=128)
    parser.add_argument(
        "--scorers", type=int, default=profiles.spec("01_ppo_max").ppo_scorers
    )
    parser.add_argument(
        "--layers", type=int, default=memory.QWEN2_5_05B["num_hidden_layers"]
    )
    args = parser.parse_args()
    config = Qwen2Config(**memory.QWEN2_5_05B | dict(num_hidden_layers=args.layers))
    print(
        "| device | autocast | lora_rank | measured peak (GB) | reserved (GB) | plan (GB) | measured / plan | step (s) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for rank in args.lora_rank:
        r = None if rank == "none" else int(rank)
        m = in_fresh_process(config, r, args.micro_batch, args.response, args.scorers)
        peak, plan = m["peak_bytes"] / 1e9, m["plan_bytes"] / 1e9
        reserved = (
            "n/a" if m["reserved_bytes"] is None else f"{m['reserved_bytes'] / 1e9:.2f}"
        )
        print(
            f"| {m['device']} | {m['dtype']} | {rank} | {peak:.2f} | {reserved} | {plan:.2f} | {peak / plan:.2f} "
            f"| {m['seconds']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
