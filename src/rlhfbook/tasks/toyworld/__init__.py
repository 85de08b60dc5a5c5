"""The toy world: a tokenizer, two tasks with known gold scores, tiny models, base policies.

No hub is reachable on the book's machines, so every chapter runs on this world, built in
code and deterministic. Its gold scores are exact, which is what lets the chapters measure
what papers can only estimate with human raters.
"""

from rlhfbook.tasks.toyworld.code import CodeTask
from rlhfbook.tasks.toyworld.model import new_model
from rlhfbook.tasks.toyworld.policies import RECIPES, base_policy, task
from rlhfbook.tasks.toyworld.preference import PreferenceTask
from rlhfbook.tasks.toyworld.tokenizer import build_tokenizer

__all__ = [
    "CodeTask",
    "PreferenceTask",
    "RECIPES",
    "base_policy",
    "build_tokenizer",
    "new_model",
    "task",
]
