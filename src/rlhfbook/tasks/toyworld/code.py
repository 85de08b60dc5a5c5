"""The verifiable code task: write a tiny program from input/output examples.

The language has six operations on an integer, applied left to right::

    inc: x+1   dec: x-1   dbl: 2x   neg: -x   sqr: x*x   half: floor(x/2)

A prompt shows three examples, ``"f(2)=6 f(-1)=0 f(5)=12 ->"``, and a response is a program,
``"inc dbl"``. The **gold score** is the fraction of hidden unit tests (five fixed inputs)
that the program passes, exactly like the pass rate of generated code; ``pass@1`` counts
programs that pass all of them. The interpreter evaluates only these six operations, so
running a generated program is safe by construction.

Used by chapters 0 and 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import product

import numpy as np

OPS = {
    "inc": lambda x: x + 1,
    "dec": lambda x: x - 1,
    "dbl": lambda x: 2 * x,
    "neg": lambda x: -x,
    "sqr": lambda x: x * x,
    "half": lambda x: x // 2,
}
TEST_INPUTS = (-3, -1, 0, 4, 7)
EXAMPLE_RANGE = (-5, 9)  # examples use distinct inputs drawn from this closed range


class ProgramError(ValueError):
    """A response that is not a program of the tiny language."""


def parse(program: str) -> list[str]:
    """Split a program into operations; raise :class:`ProgramError` on anything else."""
    ops = program.split()
    if not ops:
        raise ProgramError("empty program")
    unknown = [op for op in ops if op not in OPS]
    if unknown:
        raise ProgramError(f"unknown operation(s) {unknown}; valid: {', '.join(OPS)}")
    return ops


def run(program: str, x: int) -> int:
    """Evaluate ``program`` on input ``x``."""
    for op in parse(program):
        x = OPS[op](x)
    return x


@dataclass(frozen=True)
class CodeTask:
    """Program synthesis from three examples, scored by five hidden unit tests.

    ``max_ops`` bounds the language's programs (the intended ones and those enumerated as passing);
    ``ops`` sets how hard the prompts are: every prompt's intended program has exactly that many
    operations (None: 1 to ``max_ops``, every prompt the language can state).
    """

    max_ops: int = 3
    max_response_tokens: int = 16  # characters: the longest program is 13
    name: str = "code"
    ops: int | None = None

    def __post_init__(self) -> None:
        if self.ops is not None and not 1 <= self.ops <= self.max_ops:
            raise ValueError(
                f"ops must be in 1..max_ops={self.max_ops}, got {self.ops}"
            )

    def random_program(self, rng: np.random.Generator) -> str:
        """1..max_ops operations (``ops`` where set), at most one ``sqr`` (keeps numbers short)."""
        names = list(OPS)
        low, high = (self.ops, self.ops) if self.ops else (1, self.max_ops)
        while True:
            ops = [
                names[i]
                for i in rng.integers(len(names), size=int(rng.integers(low, high + 1)))
            ]
            if ops.count("sqr") <= 1:
                return " ".join(ops)

    def prompt_for(self, program: str, rng: np.random.Generator) -> str:
        xs = rng.choice(
            np.arange(EXAMPLE_RANGE[0], EXAMPLE_RANGE[1] + 1), size=3, replace=False
        )
        return " ".join(f"f({x})={run(program, int(x))}" for x in xs) + " ->"

    def sample_prompts(self, n: int, rng: np.random.Generator) -> list[str]:
        """``n`` prompts of random programs; with ``ops`` set, a prompt is redrawn until its intended
        program (the shortest that fits its examples, :meth:`demonstration`) has ``ops`` operations."""
        prompts = []
        while len(prompts) < n:
            prompt = self.prompt_for(self.random_program(rng), rng)
            if self.ops is None or len(self.demonstration(prompt).split()) == self.ops:
                prompts.append(prompt)
        return prompts

    @staticmethod
    def examples(prompt: str) -> list[tuple[int, int]]:
        """The (input, output) pairs shown in a prompt."""
        pairs = []
        for item in prompt.removesuffix("->").split():
            lhs, rhs = item.split("=")
            pairs.append((int(lhs[2:-1]), int(rhs)))
        return pairs

    def demonstration(self, prompt: str, rng: np.random.Generator | None = None) -> str:
        """The intended program: the first shortest program that fits the examples.

        Deterministic (``rng`` is accepted for the common task interface and unused): the
        examples underdetermine the function, and the hidden tests encode this choice, as
        unit tests encode the intended behaviour behind an ambiguous specification.
        """
        return _intended_program(prompt, self.max_ops)

    def hidden_tests(self, prompt: str) -> list[tuple[int, int]]:
        """The unit tests: the intended program's outputs at TEST_INPUTS."""
        target = self.demonstration(prompt)
        return [(x, run(target, x)) for x in TEST_INPUTS]

    def gold_reward(self, prompt: str, response: str) -> float:
        """Fraction of hidden unit tests passed (0 for a response that does not parse)."""
        tests = self.hidden_tests(prompt)
        try:
            return sum(run(response, x) == y for x, y in tests) / len(tests)
        except ProgramError:
            return 0.0


def _programs_of_length(length: int) -> list[str]:
    return [" ".join(p) for p in product(OPS, repeat=length) if p.count("sqr") <= 1]


@lru_cache(maxsize=65536)
def _intended_program(prompt: str, max_ops: int) -> str:
    examples = CodeTask.examples(prompt)
    for length in range(1, max_ops + 1):
        for program in _programs_of_length(length):
            if all(run(program, x) == y for x, y in examples):
                return program
    raise ValueError(f"no program of at most {max_ops} operations fits {prompt!r}")
