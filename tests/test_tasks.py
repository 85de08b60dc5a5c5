"""Every task class of the book implements the Task interface; a class missing a method does not."""

import pytest

from rlhfbook.tasks.base import Task
from rlhfbook.tasks.code_tasks import UnitTestTask
from rlhfbook.tasks.ranking_task import RankingTask
from rlhfbook.tasks.toyworld import CodeTask, PreferenceTask


@pytest.mark.parametrize(
    "cls",
    [PreferenceTask, CodeTask, UnitTestTask, RankingTask],
    ids=lambda c: c.__name__,
)
def test_every_task_class_implements_task(cls):
    assert issubclass(cls, Task)


def test_a_class_without_a_gold_reward_is_not_a_task():
    class PromptsOnly:
        def sample_prompts(self, n, rng):
            return []

        def demonstration(self, prompt, rng):
            return ""

    assert not issubclass(PromptsOnly, Task)
