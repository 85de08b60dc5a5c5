"""A chapter's spec: everything the book needs to know about a chapter, in one place.

Each chapter package holds one (``rlhfbook.chapters.chNN_name.spec.SPEC``), and the book finds the
chapters through :data:`rlhfbook.chapters.SPECS`. A spec has the chapter's settings -- one frozen
dataclass whose every field has a type and a one-line help with its unit (:func:`setting`; a
field's default is the ``cpu`` profile) -- its four profiles as instances of it (``smoke``,
``cpu``, ``gpu``: a free Colab T4 in 45 minutes, ``gpu-full``: one 80 GB GPU in two hours, sized by
:mod:`rlhfbook.book.gpu_sizing`), its time budgets, whether its gpu profile needs an accelerator,
whether it spreads its own runs over every core, the models its PPO keeps on a GPU, and the work
its gpu profiles compute (or what they do instead).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlhfbook.lm.gpu_cost import Work

# Every chapter's budget in the GPU profiles (minutes): a Colab T4, one 80 GB GPU.
GPU_BUDGET_MIN: dict[str, float] = {"gpu": 45, "gpu-full": 120}


def setting(default: Any, help: str) -> Any:
    """A dataclass field with its ``cpu``-profile ``default`` and a one-line ``help``."""
    return field(default=default, metadata={"help": help})


def as_dict(settings: Any) -> dict[str, Any]:
    """A settings instance as ``{field: value}``, in field order (values as they are, not copied)."""
    return {f.name: getattr(settings, f.name) for f in fields(settings)}


@dataclass(frozen=True)
class ChapterSpec:
    """One chapter's facts (module docstring)."""

    chapter: str  # "NN_name", as in book/_toc.yml and the notebook's file name
    profiles: Mapping[
        str, Any
    ]  # profile -> settings instance: smoke, cpu, gpu, gpu-full
    budget_min: Mapping[
        str, float
    ]  # smoke and cpu wall-time budgets on 2 cores (minutes)
    needs_gpu: bool = (
        False  # its gpu profile wants an accelerator (the notebook asks Colab for one)
    )
    fans_out: bool = False  # it spreads its own runs over every core (rlhfbook.core.parallel.map_runs)
    ppo_scorers: int = 0  # frozen reward models scoring its PPO's rollouts (rlhfbook.lm.memory.ppo_plan)
    # what its notebook keeps on the GPU while its runs train in its process: (fp32 policies,
    # 16-bit reward models) (rlhfbook.lm.memory.notebook_bytes)
    notebook_models: tuple[int, int] = (0, 0)
    # the work its gpu profiles compute at given settings, part -> Work (its sizing module;
    # rlhfbook.book.gpu_sizing turns it into minutes), or None with a gpu_note instead
    gpu_work: Callable[[Mapping[str, Any]], dict[str, Work]] | None = None
    gpu_note: str = ""  # what its gpu profile does where it needs no sizing

    def budgets(self) -> dict[str, float]:
        """Wall-time budget per profile (minutes): smoke and cpu on 2 cores, the GPU profiles'."""
        return dict(self.budget_min) | GPU_BUDGET_MIN
