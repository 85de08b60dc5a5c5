"""The toy world: a tokenizer, two tasks with known gold scores, tiny models, base policies.

No hub is reachable on the book's machines, so every chapter runs on this world, built in
code and deterministic. Its gold scores are exact, which is what lets the chapters measure
what papers can only estimate with human raters.
"""

from rlhfbook.toyworld.code import CodeTask
from rlhfbook.toyworld.model import new_model
from rlhfbook.toyworld.policies import RECIPES, base_policy, task
from rlhfbook.toyworld.preference import PreferenceTask
from rlhfbook.toyworld.tokenizer import build_tokenizer

__all__ = [
    "CodeTask",
    "PreferenceTask",
    "RECIPES",
    "base_policy",
    "build_tokenizer",
    "new_model",
    "task",
]
