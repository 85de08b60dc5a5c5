"""``python -m rlhfbook.book.gpu_check``: the first minutes on a GPU, one line per check and a summary.

The checks run in the order of how likely the gpu profile is to fail on them, each on its own,
so that one failure does not hide the next (see ``book/running.md``):

1. **device**: torch sees a CUDA device; the dtype the book picks on it (fp16 below compute
   capability 8.0, where bf16 is only emulated; bf16 from 8.0 on);
2. **generation config**: samples come from the policy whose log-probs PPO computes, under a model
   whose generation config carries Qwen2.5's sampling defaults (:mod:`rlhfbook.testing.standin`);
3. **memory plan**: chapters 1 and 3's PPO with the models their notebooks keep on the GPU
   (:func:`rlhfbook.lm.memory.check_fits`) against this GPU, or a T4 without one;
4. **evaluation batches**: rows per ``generate`` call of chapter 1's evaluation and chapter 2's
   scoring batch, in bytes of logits against the device;
5. **generation speed**: a rollout of 64 prompts x 128 tokens at Qwen2.5-0.5B's size (random
   weights), timed and extrapolated to chapter 1's gpu profile (GPU only).

Without a GPU the device check fails and the speed check is skipped; the others run on the CPU.
Exits 1 when a check failed.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from rlhfbook.book import gpu_sizing, profiles
from rlhfbook.core import environment, runtime
from rlhfbook.lm import gpu_cost, memory, models, rollout
from rlhfbook.testing import standin

T4_BYTES = 15_835_398_144  # a Colab T4's memory (torch.cuda.get_device_properties(0).total_memory)


class Skipped(Exception):
    """A check that cannot run here (its reason is the message)."""


@dataclass(frozen=True)
class Outcome:
    """One check's line: its name, "ok" / "FAIL" / "skipped", what it found, and its seconds."""

    name: str
    status: str
    detail: str
    seconds: float

    def line(self) -> str:
        return f"{self.status:>7}  {self.name}: {self.detail} ({self.seconds:.1f} s)"


def device_memory() -> int:
    """This GPU's memory in bytes, or a T4's without a GPU (what the plans are checked against)."""
    return (
        torch.cuda.get_device_properties(0).total_memory
        if torch.cuda.is_available()
        else T4_BYTES
    )


def check_device() -> str:
    """torch sees CUDA, and the 16-bit dtype the book picks there is the GPU's native one."""

    if not torch.cuda.is_available():
        raise AssertionError(
            f"torch {torch.__version__} sees no CUDA device (CUDA build: {torch.version.cuda})"
        )
    major, minor = torch.cuda.get_device_capability()
    expected = torch.bfloat16 if major >= 8 else torch.float16
    picked = runtime.dtype_for("cuda")
    assert picked == expected, (
        f"compute capability {major}.{minor} should give {expected}, the book picks {picked}"
    )
    return f"{torch.cuda.get_device_name()} (compute capability {major}.{minor}), torch {torch.__version__}: {picked}"


def sampling_gap(model, tokenizer, prompts: list[str], max_new_tokens: int) -> float:
    """The largest difference between the log-prob of a sampled token under the distribution that
    ``rollout.generate`` sampled it from and under the policy (:func:`rlhfbook.lm.rollout.response_logprobs`)."""

    scores, real_generate = [], model.generate

    def generate_with_scores(*args, **kwargs):
        out = real_generate(
            *args, **kwargs, output_scores=True, return_dict_in_generate=True
        )
        scores.append(torch.stack(out.scores, 1).float().cpu())
        return out.sequences

    model.generate = generate_with_scores
    try:
        r = rollout.generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens)
    finally:
        del model.generate  # the class's method again
    sampled = (
        torch.log_softmax(torch.cat(scores), -1)
        .gather(-1, r.response_ids[..., None])
        .squeeze(-1)
    )
    with torch.no_grad():
        policy = rollout.response_logprobs(model, r).cpu()
    return float((sampled - policy)[r.response_mask.bool()].abs().max())


def check_generation_config() -> str:
    """Samples under Qwen2.5's generation config come from the policy itself."""

    with tempfile.TemporaryDirectory() as folder:
        model, tok = models.load_policy(standin.build(Path(folder)))
    model.to(runtime.device())
    torch.manual_seed(0)
    gap = sampling_gap(
        model,
        tok,
        ["write code that sorts", "hi hi hi", "what is a prime"],
        max_new_tokens=8,
    )
    penalty = model.generation_config.repetition_penalty
    assert gap < 1e-3, (
        f"sampled tokens' log-probs differ from the policy's by up to {gap:.3g} nats"
    )
    return f"sampled = policy log-probs within {gap:.1e} nats under repetition_penalty={penalty}"


def check_memory_plan() -> str:
    """Chapters 1 and 3's PPO, with their notebooks' own models, fit this GPU (a T4 without one)."""
    from transformers import Qwen2Config

    total, parts = device_memory(), []
    with tempfile.TemporaryDirectory() as folder:
        Qwen2Config(**memory.QWEN2_5_05B).save_pretrained(
            folder
        )  # the config only: nothing is downloaded
        for chapter in (c for c in profiles.chapters() if profiles.spec(c).ppo_scorers):
            P = profiles.resolve(chapter, "gpu")
            plan = memory.check_fits(
                profiles.Profile(chapter, "gpu", {**P, "model_name": folder}),
                profiles.spec(chapter),
                total_bytes=total,
            )
            parts.append(
                f"chapter {int(chapter[:2])} {sum(plan.values()) / 1e9:.1f} GB"
            )
    return f"{', '.join(parts)} planned, of {total / 1e9:.1f} GB (measured peaks: benchmarks/ppo_memory.py)"


def check_evaluation_batches() -> str:
    """Chapter 1's evaluation generates in bounded calls; chapter 2's scoring batch's fp32 logits fit."""

    rows = rollout.rows_per_call(
        1024, profiles.resolve("01_ppo_max", "gpu").chunk_size, torch.device("cuda")
    )
    P = profiles.resolve("02_dpo_ranking", "gpu")
    logits = (
        2
        * P.real_eval_batch
        * (P.max_prompt_tokens + P.max_response_tokens)
        * 50257
        * 4
    )  # + log-softmax
    assert rows <= 64, f"chapter 1 generates {rows} evaluation prompts per call"
    assert logits < device_memory() / 2, (
        f"chapter 2's scoring batch holds {logits / 1e9:.1f} GB of fp32 logits"
    )
    return f"chapter 1: {rows} prompts per generate call; chapter 2: {logits / 1e9:.1f} GB of fp32 logits a batch"


def check_generation_speed() -> str:
    """A rollout of 64 x 128 tokens at Qwen2.5-0.5B's size, timed against what the sizing arithmetic
    assumes for it on this card (:mod:`rlhfbook.book.gpu_sizing`), and chapter 1's ``gpu`` estimate
    scaled by the ratio."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    if not torch.cuda.is_available():
        raise Skipped("needs a GPU")
    with tempfile.TemporaryDirectory() as folder:
        _, tok = models.load_policy(standin.build(Path(folder)))
    config = Qwen2Config(**memory.QWEN2_5_05B | {"vocab_size": len(tok)})
    model = Qwen2ForCausalLM(config).to("cuda", runtime.dtype_for("cuda"))
    prompts = ["write a python function"] * 64
    start = time.perf_counter()
    rollout.generate(model, tok, prompts, max_new_tokens=128)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    name = torch.cuda.get_device_name(0)
    card = next((c for c in gpu_sizing.CARDS if c in name), "H100")
    assumed = gpu_sizing.seconds(
        gpu_cost.generate(gpu_cost.QWEN_05B, 64, 8, 128), gpu_sizing.CARDS[card]
    )
    estimate = gpu_sizing.minutes(
        "01_ppo_max", profiles.resolve("01_ppo_max", "gpu"), card
    )
    return (
        f"{seconds:.1f} s per 64 x 128 rollout, {card}'s arithmetic assumes {assumed:.1f} s; "
        f"chapter 1's gpu profile: {estimate:.0f} min estimated, {estimate * seconds / assumed:.0f} "
        "min scaled by this rollout"
    )


CHECKS: tuple[tuple[str, Callable[[], str]], ...] = (
    ("device", check_device),
    ("generation config", check_generation_config),
    ("memory plan", check_memory_plan),
    ("evaluation batches", check_evaluation_batches),
    ("generation speed", check_generation_speed),
)


def run(name: str, check: Callable[[], str]) -> Outcome:
    """One check, timed: "ok" with its finding, "skipped" with the reason, or "FAIL" with the error."""
    start = time.perf_counter()
    try:
        status, detail = "ok", check()
    except Skipped as reason:
        status, detail = "skipped", str(reason)
    except Exception as error:  # every failure is one line of the report
        status, detail = "FAIL", f"{type(error).__name__}: {error}".splitlines()[0]
    return Outcome(name, status, detail, time.perf_counter() - start)


def main() -> int:
    """Run every check, print one line each and a summary; 1 if one failed."""

    environment.prepare()
    runtime.quiet()
    outcomes = []
    for name, check in CHECKS:
        outcomes.append(run(name, check))
        print(outcomes[-1].line(), flush=True)
    counts = {
        s: sum(o.status == s for o in outcomes) for s in ("ok", "FAIL", "skipped")
    }
    print(f"{counts['ok']} ok, {counts['FAIL']} failed, {counts['skipped']} skipped")
    return int(counts["FAIL"] > 0)


if __name__ == "__main__":
    raise SystemExit(main())
