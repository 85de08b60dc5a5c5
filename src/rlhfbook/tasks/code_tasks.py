"""Code generation scored by unit tests: MBPP-format datasets, and raters who label by the tests.

Two pieces for chapters on code RLHF (Shen & Zhang, 2024, train on code with unit tests):

* :class:`UnitTestTask` turns problems in MBPP's format (``text``, ``test_list``, ``code``, optional
  ``test_setup_code``; Austin et al., 2021) into a task with the toy world's interface
  (``sample_prompts``, ``gold_reward``, ``demonstration``). The gold reward is the fraction of the
  problem's tests that the generated program passes, run in :mod:`rlhfbook.tasks.sandbox`.
* :class:`UnitTestRaters` labels a pair of responses by their unit-test scores through a
  Bradley-Terry choice with temperature ``tau`` (ties are coin flips), and :func:`unit_test_pairs`
  turns N samples per prompt into such labelled pairs: the noisy data from which a deliberately
  imperfect reward model is trained (the paper's RM data are pairs of its SFT policy's samples).
* :func:`passing_programs` lists every program of the toy language that passes a prompt's hidden
  tests, so that the pass rate of a policy's samples can be computed exactly instead of estimated.
* :func:`with_execution` appends what a program does on the examples its prompt *shows* (never
  the hidden tests) to the program's text: the input of a reward model that can check a program
  against the prompt instead of executing it in its head.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache, partial
from itertools import product
from pathlib import Path

import numpy as np

from rlhfbook.lm.models import check_local_or_online
from rlhfbook.tasks.preferences import PreferencePairs, rate_pairs
from rlhfbook.tasks.sandbox import Limits, pass_rate, run_tests


def load_problems(source: str | Path, split: str = "test") -> list[dict]:
    """MBPP-format problems from a local ``.json``/``.jsonl`` file or a hub dataset id.

    Each row needs a problem statement (``text``, or ``prompt`` as in MBPP's sanitized config), a
    ``test_list`` of assert statements and a reference ``code``.
    """
    import datasets

    source = check_local_or_online(
        source, "dataset"
    )  # one line: a missing file, or the hub offline
    if str(source).endswith((".json", ".jsonl")):
        rows = datasets.load_dataset("json", data_files=str(source), split="train")
    else:
        rows = datasets.load_dataset(str(source), split=split)
    problems = []
    for row in rows:
        text = row.get("text") or row.get("prompt")
        if not text or not row.get("test_list") or "code" not in row:
            raise ValueError(
                f"an MBPP-format row needs 'text' (or 'prompt'), 'test_list' and 'code'; got {sorted(row)}"
            )
        problems.append(
            {
                "text": text,
                "test_list": list(row["test_list"]),
                "code": row["code"],
                "test_setup_code": row.get("test_setup_code") or "",
            }
        )
    return problems


def clean_program(response: str) -> str:
    """The program in a response: the body of a Markdown code fence if there is one."""
    if "```" in response:
        body = response.split("```")[1]
        return body.removeprefix("python").lstrip("\n")
    return response


@dataclass
class UnitTestTask:
    """A code task over MBPP-format problems (see :func:`load_problems`)."""

    problems: list[dict]
    limits: Limits = Limits()
    max_response_tokens: int = 256
    name: str = "mbpp"
    _by_prompt: dict = field(init=False, repr=False)
    _cache: dict = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not self.problems:
            raise ValueError("UnitTestTask needs at least one problem")
        self._by_prompt = {self.prompt_for(p): p for p in self.problems}

    @staticmethod
    def prompt_for(problem: dict) -> str:
        """MBPP's usual prompt: the statement and the first test, then the start of the answer."""
        return f'"""\n{problem["text"]}\n{problem["test_list"][0]}\n"""\n'

    @property
    def prompts(self) -> list[str]:
        return list(self._by_prompt)

    def sample_prompts(self, n: int, rng: np.random.Generator) -> list[str]:
        prompts = self.prompts
        return [prompts[i] for i in rng.integers(len(prompts), size=n)]

    def demonstration(self, prompt: str, rng: np.random.Generator | None = None) -> str:
        return self._by_prompt[prompt]["code"]

    def shown_test_passes(self, prompt: str, response: str) -> bool:
        """Whether the program passes the one test its prompt shows (sandboxed)."""
        problem = self._by_prompt[prompt]
        return run_tests(
            clean_program(response),
            problem["test_list"][:1],
            self.limits,
            problem["test_setup_code"],
        )[0]

    def gold_reward(self, prompt: str, response: str) -> float:
        """Fraction of the problem's tests passed by the response's program (sandboxed, cached)."""
        key = (prompt, response)
        if key not in self._cache:
            problem = self._by_prompt[prompt]
            self._cache[key] = pass_rate(
                clean_program(response),
                problem["test_list"],
                self.limits,
                problem["test_setup_code"],
            )
        return self._cache[key]


@dataclass(frozen=True)
class UnitTestRaters:
    """Raters who prefer the response that passes more unit tests, noisily.

    ``P(a preferred) = sigmoid((s(a) - s(b)) / tau)`` with ``s`` the task's gold score (fraction of
    tests passed); equal scores are a coin flip. Exposes the task interface that
    :func:`rlhfbook.methods.reward_model.preference_pairs` and :func:`rlhfbook.tasks.preferences.rate_pairs` need.
    """

    task: object
    tau: float = 0.1

    def __post_init__(self) -> None:
        if self.tau <= 0:
            raise ValueError(f"tau must be > 0, got {self.tau}")

    @property
    def name(self) -> str:
        return self.task.name

    def sample_prompts(self, n: int, rng: np.random.Generator) -> list[str]:
        return self.task.sample_prompts(n, rng)

    def gold_reward(self, prompt: str, response: str) -> float:
        return self.task.gold_reward(prompt, response)

    def rate(
        self, prompt: str, a: str, b: str, n_raters: int, rng: np.random.Generator
    ) -> int:
        """How many of ``n_raters`` independent raters prefer ``a`` over ``b``."""
        margin = (self.gold_reward(prompt, a) - self.gold_reward(prompt, b)) / self.tau
        return int(rng.binomial(n_raters, 1.0 / (1.0 + np.exp(-margin))))


def unit_test_pairs(
    raters: UnitTestRaters,
    prompts: list[str],
    responses: list[list[str]],
    rng: np.random.Generator,
) -> PreferencePairs:
    """Preference pairs from N samples per prompt: every pair of distinct responses of a prompt
    whose unit-test scores differ, labelled by one of ``raters`` (so a pair can be labelled the
    wrong way round). Pairs with equal scores carry no signal and are skipped."""
    if len(prompts) != len(responses):
        raise ValueError(
            f"{len(prompts)} prompts but {len(responses)} groups of responses"
        )

    def contrasting():
        for prompt, group in zip(prompts, responses):
            distinct = list(dict.fromkeys(group))
            scores = [raters.gold_reward(prompt, r) for r in distinct]
            for i in range(len(distinct)):
                for j in range(i + 1, len(distinct)):
                    if scores[i] != scores[j]:
                        yield prompt, distinct[i], distinct[j]

    return rate_pairs(raters, contrasting(), 1, rng)


def _shown_results(task, prompt: str, response: str) -> list[tuple[str, str, bool]]:
    """(program's output, expected output, equal) for each example the prompt shows."""
    from rlhfbook.tasks.toyworld.code import ProgramError, run

    if isinstance(task, UnitTestTask):
        return [
            ("passed", "passed", True)
            if task.shown_test_passes(prompt, response)
            else ("failed", "passed", False)
        ]
    if not hasattr(task, "examples"):
        raise TypeError(
            f"needs the toy code task or a UnitTestTask, got {type(task).__name__}"
        )
    results = []
    for x, y in task.examples(prompt):
        try:
            got = str(run(response, x))
        except ProgramError:
            got = "err"
        results.append((got, str(y), got == str(y)))
    return results


def shown_outputs(task, prompt: str, response: str) -> str:
    """What the program does on the examples the prompt shows, as a test report reads.

    Toy code task (:class:`rlhfbook.tasks.toyworld.CodeTask`): the program's output on each shown input
    (``err`` when the program does not parse), then for each whether it equals the shown output
    (:func:`shown_verdicts`), ``"36 36 16 | != != !="`` or ``"49 25 9 | == == =="``. The verdicts come
    last, at fixed places before the end of the text, where the reward model reads its score.
    :class:`UnitTestTask`: ``"# shown test: passed"`` or ``"failed"``. The hidden unit tests, which
    define the gold score, are never used.
    """
    if isinstance(task, UnitTestTask):
        return "# shown test: " + _shown_results(task, prompt, response)[0][0]
    outputs = " ".join(got for got, _, _ in _shown_results(task, prompt, response))
    return outputs + " | " + shown_verdicts(task, prompt, response)


def shown_verdicts(task, prompt: str, response: str) -> str:
    """Whether the program gets each shown example right, ``"== != =="`` (``"=="``: right)."""
    return " ".join(
        "==" if ok else "!=" for _, _, ok in _shown_results(task, prompt, response)
    )


def shown_pass_rate(task, prompt: str, response: str) -> float:
    """Fraction of the prompt's shown examples (MBPP: its one shown test) that the program gets right."""
    results = _shown_results(task, prompt, response)
    return sum(ok for _, _, ok in results) / len(results)


def with_execution(task, prompt: str, response: str) -> str:
    """The reward model's text for a response: the response, then :func:`shown_outputs`
    (``"dec sqr | 36 36 16 | != != !="``; MBPP: the code, a newline, ``# shown test: passed``)."""
    sep = "\n" if isinstance(task, UnitTestTask) else " | "
    return response + sep + shown_outputs(task, prompt, response)


def execution_pairs(task, pairs: PreferencePairs) -> PreferencePairs:
    """``pairs`` with :func:`with_execution` applied to every chosen and rejected answer."""
    return pairs.map_answers(partial(with_execution, task))


@lru_cache(maxsize=4)
def _programs_by_behaviour(max_ops: int) -> dict[tuple[int, ...], list[str]]:
    """Every single-spaced program of 1..``max_ops`` operations, keyed by its outputs at the hidden
    test inputs."""
    from rlhfbook.tasks.toyworld.code import OPS, TEST_INPUTS, run

    by_outputs: dict[tuple[int, ...], list[str]] = {}
    for length in range(1, max_ops + 1):
        for ops in product(OPS, repeat=length):
            program = " ".join(ops)
            by_outputs.setdefault(
                tuple(run(program, x) for x in TEST_INPUTS), []
            ).append(program)
    return by_outputs


def passing_programs(task, prompt: str) -> list[str]:
    """Every program of the toy code task's language (1 to ``task.max_ops`` operations, single
    spaces) that passes all hidden unit tests of ``prompt``: the intended program and every program
    equal to it on the test inputs, such as ``"inc dec dbl"`` for ``"dbl"``."""
    outputs = tuple(y for _, y in task.hidden_tests(prompt))
    return list(_programs_by_behaviour(task.max_ops).get(outputs, []))
