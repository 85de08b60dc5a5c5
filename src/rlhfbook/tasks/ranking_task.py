"""A preference task in the regime of Chen et al. (2024): the writer is not the rater.

Real preference data (HH-RLHF) pairs two answers written by some model and labelled by
people whose taste that model never saw. The reference (SFT) model learns how answers are
*written*, not how they are *judged*, and long answers make its log-likelihoods of two
answers differ by tens of nats. This task builds exactly that, and nothing more:

* **Prompts have their own details**: ``"ask: gola mipe soru ->"`` names three of
  ``n_details`` detail words, so almost every prompt is new.
* **The writer** answers with ``min_words..max_words`` words (length uniform, independent of
  everything else), each drawn i.i.d. from a Zipf frequency distribution over ``n_words``
  words whose order is a random permutation: frequency says nothing about quality.
* **The raters** score an answer by a *shared* utility -- per word, a global part plus an
  interaction with each of the prompt's details -- and an *idiosyncratic taste* for that
  particular (prompt, answer), a fixed pseudo-random draw no model can infer from the text's
  statistics, with a spread ``taste_ratio`` times that of the shared part. The shared
  utility is centred under the writer's word frequencies for every prompt, so the expected
  score does not depend on the answer's length. ``n_raters`` Bradley-Terry raters vote.

The reference model is trained on the writer's demonstrations (``toyworld.sft``), with a
word-level tokenizer (one token per word) so that answers of 6-14 words are short sequences.

Used by chapter 2.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from rlhfbook.tasks.preferences import PreferencePairs, rate_pairs

PROMPT_HEAD, PROMPT_TAIL = "ask:", "->"
_CONSONANTS, _VOWELS = "bdfgklmnprstvz", "aeiou"


def _syllable_words(
    n: int, rng: np.random.Generator, exclude: set[str] = frozenset()
) -> tuple[str, ...]:
    """``n`` distinct pronounceable four-letter words (consonant-vowel-consonant-vowel)."""
    words: list[str] = []
    while len(words) < n:
        c, v = rng.choice(list(_CONSONANTS), 2), rng.choice(list(_VOWELS), 2)
        word = c[0] + v[0] + c[1] + v[1]
        if word not in words and word not in exclude:
            words.append(word)
    return tuple(words)


def _standard_normal(key: str) -> float:
    """A standard normal draw fixed by ``key`` (the same in every process and session)."""
    seed = int.from_bytes(
        hashlib.blake2b(key.encode(), digest_size=8).digest(), "little"
    )
    return float(np.random.default_rng(seed).standard_normal())


@dataclass(frozen=True)
class RankingTask:
    """Writer-is-not-rater preference world; ``world_seed`` fixes words, frequencies and utilities."""

    world_seed: int = 0
    n_words: int = 128
    n_details: int = 32
    details_per_prompt: int = 3
    min_words: int = 10
    max_words: int = 24
    zipf_exponent: float = 1.0
    shared_scale: float = 0.3  # sd of one word's shared utility for a prompt
    taste_ratio: float = (
        1.25  # sd of the taste term / sd of the shared utility of an answer
    )
    name: str = "ranking"
    words: tuple[str, ...] = field(init=False, repr=False, compare=False)
    details: tuple[str, ...] = field(init=False, repr=False, compare=False)
    frequency: np.ndarray = field(init=False, repr=False, compare=False)
    utility: np.ndarray = field(init=False, repr=False, compare=False)
    interaction: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 1 <= self.min_words <= self.max_words:
            raise ValueError(
                f"need 1 <= min_words <= max_words, got {self.min_words}, {self.max_words}"
            )
        rng = np.random.default_rng(self.world_seed)
        words = _syllable_words(self.n_words, rng)
        details = _syllable_words(self.n_details, rng, exclude=set(words))
        rank = rng.permutation(self.n_words)  # frequency order, unrelated to utility
        freq = 1.0 / (1.0 + rank) ** self.zipf_exponent
        # a word's shared utility for a prompt: a global part plus one interaction per detail,
        # the two halves of the variance shared_scale**2
        half = self.shared_scale / np.sqrt(2)
        utility = rng.normal(0, half, self.n_words)
        interaction = rng.normal(
            0, half / np.sqrt(self.details_per_prompt), (self.n_details, self.n_words)
        )
        for name, value in (
            ("words", words),
            ("details", details),
            ("frequency", freq / freq.sum()),
            ("utility", utility),
            ("interaction", interaction),
        ):
            object.__setattr__(self, name, value)

    @property
    def max_response_tokens(self) -> int:
        """The longest answer in tokens, EOS included."""
        return self.max_words + 1

    # --- text format -------------------------------------------------------------------
    def prompt(self, details: list[str]) -> str:
        return " ".join([PROMPT_HEAD, *details, PROMPT_TAIL]) + " "

    def details_of(self, prompt: str) -> list[str]:
        parts = prompt.split()
        if (
            len(parts) != self.details_per_prompt + 2
            or parts[0] != PROMPT_HEAD
            or parts[-1] != PROMPT_TAIL
        ):
            raise ValueError(
                f"not a prompt of this task: {prompt!r} (expected 'ask: d1 d2 d3 -> ')"
            )
        unknown = [d for d in parts[1:-1] if d not in self.details]
        if unknown:
            raise ValueError(f"unknown detail(s) {unknown} in prompt {prompt!r}")
        return parts[1:-1]

    def sample_prompts(self, n: int, rng: np.random.Generator) -> list[str]:
        return [
            self.prompt(
                [
                    self.details[i]
                    for i in rng.choice(
                        self.n_details, self.details_per_prompt, replace=False
                    )
                ]
            )
            for _ in range(n)
        ]

    # --- the writer (SFT data) ---------------------------------------------------------
    def demonstration(self, prompt: str, rng: np.random.Generator) -> str:
        """The writer's answer: a uniform number of words, each i.i.d. by Zipf frequency."""
        n = int(rng.integers(self.min_words, self.max_words + 1))
        return " ".join(
            self.words[i] for i in rng.choice(self.n_words, n, p=self.frequency)
        )

    def writer_logprob(self, prompt: str, response: str) -> float:
        """``log p_writer(y | x)``: the length's probability plus each word's frequency -- the
        likelihood a perfectly trained reference model would give (it ignores the prompt)."""
        ids = self._word_ids(response)
        if not self.min_words <= len(ids) <= self.max_words:
            return float("-inf")
        return float(
            -np.log(self.max_words - self.min_words + 1)
            + np.log(self.frequency[ids]).sum()
        )

    def _word_ids(self, response: str) -> list[int]:
        index = {w: i for i, w in enumerate(self.words)}
        try:
            return [index[w] for w in response.split()]
        except KeyError as err:
            raise ValueError(
                f"unknown word {err.args[0]!r} in response {response!r}"
            ) from None

    # --- the raters ----------------------------------------------------------------------
    def word_utilities(self, prompt: str) -> np.ndarray:
        """Shared utility of each word for ``prompt``, centred under the writer's frequencies
        (so the expected score of an answer is 0 whatever its length)."""
        rows = [self.details.index(d) for d in self.details_of(prompt)]
        u = self.utility + self.interaction[rows].sum(0)
        return u - self.frequency @ u

    def shared_utility(self, prompt: str, response: str) -> float:
        """The part of the raters' score every answer shares: a sum of word utilities."""
        words = response.split()
        known = [w for w in words if w in self.words]
        return float(
            self.word_utilities(prompt)[self._word_ids(" ".join(known))].sum()
        ) - (len(words) - len(known))

    @property
    def taste_scale(self) -> float:
        """sd of the taste term: ``taste_ratio`` x the sd of an answer's shared utility at mean length."""
        mean_words = (self.min_words + self.max_words) / 2
        return self.taste_ratio * self.shared_scale * float(np.sqrt(mean_words))

    def taste(self, prompt: str, response: str) -> float:
        """The raters' idiosyncratic taste for this exact (prompt, answer): a fixed random draw."""
        return self.taste_scale * _standard_normal(
            f"{self.world_seed}|{prompt}|{response}"
        )

    def gold_reward(self, prompt: str, response: str) -> float:
        """What the raters perceive: shared utility + taste (the Bradley-Terry score)."""
        return self.shared_utility(prompt, response) + self.taste(prompt, response)

    def rate(
        self, prompt: str, a: str, b: str, n_raters: int, rng: np.random.Generator
    ) -> int:
        """How many of ``n_raters`` independent Bradley-Terry raters prefer ``a`` over ``b``."""
        margin = self.gold_reward(prompt, a) - self.gold_reward(prompt, b)
        return int(rng.binomial(n_raters, 1.0 / (1.0 + np.exp(-margin))))

    def sample_pairs(
        self, n: int, n_raters: int, rng: np.random.Generator
    ) -> PreferencePairs:
        """``n`` prompts, two writer answers each, ordered by the majority of ``n_raters``
        (odd: no ties); ``alpha`` is the share of raters preferring ``chosen``. Identical
        answers are redrawn."""
        if n_raters % 2 == 0:
            raise ValueError(
                "use an odd number of raters so that every pair has a majority"
            )

        def two_answers():
            for p in self.sample_prompts(n, rng):
                a = self.demonstration(p, rng)
                b = self.demonstration(p, rng)
                while b == a:
                    b = self.demonstration(p, rng)
                yield p, a, b

        return rate_pairs(self, two_answers(), n_raters, rng)

    # --- tokenizer -----------------------------------------------------------------------
    def tokenizer(self):
        """A word-level tokenizer: one token per word of the task, plus PAD, BOS, EOS, UNK.

        ``decode`` joins words with spaces, so ``decode(encode(text)) == text`` for answers.
        Padding is on the left, as generation wants."""
        # deferred: tokenizers and transformers, which this module needs nowhere else
        from tokenizers import decoders, pre_tokenizers

        from rlhfbook.tasks.toyworld.tokenizer import word_level

        return word_level(
            (PROMPT_HEAD, PROMPT_TAIL) + self.details + self.words,
            pre_tokenizers.WhitespaceSplit(),
            decoders.WordPiece(prefix="##", cleanup=False),
        )
