"""The preference task: short reviews with a hidden gold reward and simulated raters.

A prompt names a topic (``"food: "``); a response is a few words from a fixed vocabulary
(``"fresh tasty cozy"``). Each word has a hidden utility for each topic. The **gold reward**
(what a careful human would think, known exactly here) sums the utilities of the distinct
words and penalises repeated words and rambling beyond six words.

**Raters** are noisy and *biased towards longer answers*: a rater compares two responses by
gold reward plus ``length_bias`` per word, through a Bradley-Terry choice. A reward model
learned from their labels therefore rewards length and never sees repetition (the
demonstrations rarely repeat), which is the exploitable gap that PPO finds in chapter 1:
the proxy reward keeps rising on long, repetitive answers while the gold reward falls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TOPICS = ("food", "film", "park", "song", "book", "trip", "game", "shop")
WORDS = (
    "superb",
    "great",
    "lovely",
    "fresh",
    "tasty",
    "cozy",
    "bright",
    "smart",
    "fine",
    "calm",
    "neat",
    "fair",
    "plain",
    "odd",
    "slow",
    "loud",
    "bland",
    "stale",
    "dull",
    "messy",
    "rude",
    "awful",
    "broken",
    "dirty",
)
MAX_GOOD_WORDS = 6  # words beyond this are rambling


@dataclass(frozen=True)
class PreferenceTask:
    """Deterministic preference world; ``world_seed`` fixes the hidden utilities."""

    world_seed: int = 0
    length_bias: float = (
        0.35  # raters' extra preference per word (the exploitable bias)
    )
    repeat_penalty: float = 0.6
    ramble_penalty: float = 0.4
    demo_temperature: float = 0.8
    max_response_tokens: int = (
        64  # characters: room for ~10 words, so rambling is possible
    )
    name: str = "preference"
    utility: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.world_seed)
        base = np.linspace(1.0, -1.0, len(WORDS))  # WORDS is ordered best to worst
        topical = rng.normal(0.0, 0.3, size=(len(TOPICS), len(WORDS)))
        object.__setattr__(self, "utility", base[None, :] + topical)

    # --- text format -----------------------------------------------------------------
    @staticmethod
    def prompt(topic: str) -> str:
        return f"{topic}: "

    @staticmethod
    def topic_of(prompt: str) -> str:
        topic = prompt.split(":")[0].strip()
        if topic not in TOPICS:
            raise ValueError(
                f"unknown topic in prompt {prompt!r}; topics: {', '.join(TOPICS)}"
            )
        return topic

    def sample_prompts(self, n: int, rng: np.random.Generator) -> list[str]:
        return [self.prompt(TOPICS[i]) for i in rng.integers(len(TOPICS), size=n)]

    # --- gold reward -----------------------------------------------------------------
    def word_utilities(self, prompt: str) -> dict[str, float]:
        row = self.utility[TOPICS.index(self.topic_of(prompt))]
        return dict(zip(WORDS, row.tolist()))

    def gold_reward(self, prompt: str, response: str) -> float:
        """Sum of utilities of distinct known words; -1 per unknown word, -repeat_penalty
        per repeated word, -ramble_penalty per word beyond MAX_GOOD_WORDS."""
        u = self.word_utilities(prompt)
        words = response.split()
        seen: set[str] = set()
        total = 0.0
        for w in words:
            if w not in u:
                total -= 1.0
            elif w in seen:
                total -= self.repeat_penalty
            else:
                total += u[w]
                seen.add(w)
        return total - self.ramble_penalty * max(0, len(words) - MAX_GOOD_WORDS)

    def best_response(self, prompt: str) -> str:
        """The gold-optimal response: the positive-utility words, best first, at most 6."""
        u = self.word_utilities(prompt)
        good = sorted((w for w in u if u[w] > 0), key=u.get, reverse=True)
        return " ".join(good[:MAX_GOOD_WORDS])

    # --- demonstrations (SFT data) -----------------------------------------------------
    def demonstration(self, prompt: str, rng: np.random.Generator) -> str:
        """A plausible human answer: 2-6 words drawn without replacement, better words
        likelier (softmax of utility / demo_temperature); 1 in 20 repeats its last word."""
        u = np.array(list(self.word_utilities(prompt).values()))
        p = np.exp(u / self.demo_temperature)
        n = int(rng.integers(2, MAX_GOOD_WORDS + 1))
        idx = rng.choice(len(WORDS), size=n, replace=False, p=p / p.sum())
        words = [WORDS[i] for i in idx]
        if rng.random() < 0.05:
            words.append(words[-1])
        return " ".join(words)

    # --- raters -----------------------------------------------------------------------
    def rater_score(self, prompt: str, response: str) -> float:
        """What a (length-biased) rater perceives: gold reward + length_bias per word."""
        return self.gold_reward(prompt, response) + self.length_bias * len(
            response.split()
        )

    def rate(
        self, prompt: str, a: str, b: str, n_raters: int, rng: np.random.Generator
    ) -> int:
        """How many of ``n_raters`` independent Bradley-Terry raters prefer ``a`` over ``b``."""
        margin = self.rater_score(prompt, a) - self.rater_score(prompt, b)
        return int(rng.binomial(n_raters, 1.0 / (1.0 + np.exp(-margin))))
