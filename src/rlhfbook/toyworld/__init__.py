"""The toy world: a tokenizer, two tasks with known gold scores, tiny models, base policies.

No hub is reachable on the book's machines, so every chapter runs on this world, built in
code and deterministic. Its gold scores are exact, which is what lets the chapters measure
what papers can only estimate with human raters.
"""

from .code import CodeTask
from .model import new_model
from .policies import RECIPES, base_policy, task
from .preference import PreferenceTask
from .tokenizer import build_tokenizer

__all__ = [
    "CodeTask",
    "PreferenceTask",
    "RECIPES",
    "base_policy",
    "build_tokenizer",
    "new_model",
    "task",
]
