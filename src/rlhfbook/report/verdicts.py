"""One rule for every finding and control, and the expected verdicts pinned in ``book/verdicts.yml``.

Per seed a check has one decisive number (a paired difference when two methods are compared
on the same seed). Over ``n`` seeds: the mean, the standard deviation ``sd`` (ddof 1), the
standard error ``SE = sd / sqrt(n)`` and the interval ``mean ± 2 SE``. Against the paper's
threshold, fixed before the run:

* **reproduced** -- the whole interval is on the paper's side (for ``>=``:
  ``mean - 2 SE >= threshold``; for ``<=``: ``mean + 2 SE <= threshold``);
* **contradicted** -- the whole interval is strictly on the other side;
* **inconclusive** -- the interval contains the threshold, or fewer than :data:`MIN_SEEDS`
  seeds were run; :func:`seeds_needed` says how many seeds would settle it at this spread;
* **not evaluable** -- the setting cannot test the claim (with the reason).

A check whose unit is not a seed (one reward model, one dataset) gives a :class:`Bootstrap`
estimate and standard error over its own units instead; the seed minimum does not apply.
Sanity checks (true by construction of correct code) *pass* or *fail*; in the ``smoke``
profile every check is *not evaluated*.

The expected ``cpu`` verdict of every check is pinned in ``book/verdicts.yml``
(:func:`load_pinned`); :func:`differences` lists, one line each, the checks of executed
chapters whose verdict differs, so that a change of verdict fails ``make test`` until it is
acknowledged in that file. :func:`robustness_rows` sets two seed blocks' verdicts side by side.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIN_SEEDS = (
    6  # a finding or control on fewer seeds is inconclusive whatever its interval
)
VERDICTS = ("reproduced", "inconclusive", "contradicted", "not evaluable")
SANITY = ("pass", "fail")
NOT_EVALUATED = "not evaluated"  # the smoke profile
PINNED_FILE = Path("book") / "verdicts.yml"


@dataclass(frozen=True)
class Interval:
    """Mean ± 2 SE of ``n`` units (seeds, or a bootstrap's units when ``unit`` says so)."""

    mean: float
    sd: float
    se: float
    n: int
    unit: str = "seed"

    @property
    def low(self) -> float:
        return self.mean - 2 * self.se

    @property
    def high(self) -> float:
        return self.mean + 2 * self.se

    @property
    def per_seed(self) -> bool:
        """Whether the units are seeds (the seed minimum applies) rather than a bootstrap's."""
        return self.unit == "seed"


@dataclass(frozen=True)
class Bootstrap:
    """A check's estimate and its bootstrap standard error over ``n`` units of one run
    (e.g. ``unit="SFT samples"``): for a claim about one reward model or one dataset."""

    estimate: float
    se: float
    n: int
    unit: str

    def interval(self) -> Interval:
        return Interval(
            float(self.estimate),
            float(self.se) * math.sqrt(self.n),
            float(self.se),
            int(self.n),
            self.unit,
        )


def interval(values: Iterable[float]) -> Interval:
    """Mean, sd (ddof 1), SE = sd / sqrt(n) of per-seed values (sd = SE = 0 for one value)."""
    xs = [float(v) for v in values]
    if not xs:
        raise ValueError("a finding or control needs at least one per-seed value")
    n = len(xs)
    mean = math.fsum(xs) / n
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else 0.0
    return Interval(mean, sd, sd / math.sqrt(n), n)


def side(iv: Interval, threshold: float, direction: str) -> str:
    """Where mean ± 2 SE lies: "holds" (all on the claim's side, the threshold included),
    "opposite" (all strictly on the other side) or "straddles"."""
    if direction == ">=":
        return (
            "holds"
            if iv.low >= threshold
            else "opposite"
            if iv.high < threshold
            else "straddles"
        )
    if direction == "<=":
        return (
            "holds"
            if iv.high <= threshold
            else "opposite"
            if iv.low > threshold
            else "straddles"
        )
    raise ValueError(f"direction must be '>=' or '<=', not {direction!r}")


def seeds_needed(iv: Interval, threshold: float) -> int | None:
    """Seeds at which mean ± 2 SE would just exclude the threshold if mean and sd stayed as
    measured: n' = n (2 SE / |mean - threshold|)^2, at least :data:`MIN_SEEDS`; ``None`` when
    the mean sits on the threshold (no number of seeds settles it)."""
    gap = abs(iv.mean - threshold)
    if gap == 0 or not math.isfinite(gap) or not math.isfinite(iv.se):
        return None
    return max(MIN_SEEDS, math.ceil(iv.n * (2 * iv.se / gap) ** 2 - 1e-9))


def decide(iv: Interval, threshold: float, direction: str) -> str:
    """The verdict of a finding or control (module docstring)."""
    where = side(iv, threshold, direction)
    if iv.per_seed and iv.n < MIN_SEEDS:
        return "inconclusive"
    return {
        "holds": "reproduced",
        "opposite": "contradicted",
        "straddles": "inconclusive",
    }[where]


def fmt(x: float) -> str:
    """A number as the verdict texts print it (3 significant digits, no exponent for usual sizes)."""
    return f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"


def summary(iv: Interval, threshold: float | None = None, direction: str = ">=") -> str:
    """ "0.50 ± 0.18 over 3 seeds (needs ≥ 0.6)": mean ± 2 SE, its units and the threshold."""
    units = (
        f"{iv.n} seed{'s' * (iv.n != 1)}"
        if iv.per_seed
        else f"a bootstrap over {iv.n} {iv.unit}"
    )
    text = f"{fmt(iv.mean)} ± {fmt(2 * iv.se)} over {units}"
    if threshold is not None:
        text += f" (needs {'≥' if direction == '>=' else '≤'} {fmt(threshold)})"
    return text


def explain(verdict: str, iv: Interval, threshold: float, direction: str) -> str:
    """Why a finding or control is not reproduced, from its numbers (empty when it is)."""
    low, high = fmt(iv.low), fmt(iv.high)
    need = seeds_needed(iv, threshold)
    settle = (
        f"at this spread about {need} seeds would settle it"
        if need is not None
        else "its mean sits on the threshold, so more seeds alone would not settle it"
    )
    if verdict == "contradicted":
        return f"The interval [{low}, {high}] lies entirely on the other side of the paper's threshold {fmt(threshold)}."
    if verdict != "inconclusive":
        return ""
    if (
        iv.per_seed
        and iv.n < MIN_SEEDS
        and side(iv, threshold, direction) != "straddles"
    ):
        return (
            f"Evaluated on {iv.n} seed{'s' * (iv.n != 1)}; a finding or control needs at least {MIN_SEEDS} "
            f"(its interval [{low}, {high}] already excludes the threshold {fmt(threshold)})."
        )
    units = "seeds" if iv.per_seed else iv.unit
    return (
        f"The interval [{low}, {high}] contains the threshold {fmt(threshold)}: the effect is within the "
        f"spread over {iv.n} {units}; {settle}."
    )


# --- pinned expectations ----------------------------------------------------------------------------


def load_pinned(path: Path) -> dict[str, dict[str, str]]:
    """``chapter -> check name -> expected verdict`` from ``book/verdicts.yml``."""
    import yaml

    data = yaml.safe_load(Path(path).read_text()) or {}
    allowed = set(VERDICTS) | set(SANITY)
    for chapter, checks in data.items():
        bad = {n: v for n, v in (checks or {}).items() if v not in allowed}
        if bad:
            raise ValueError(
                f"{path}: {chapter}: unknown verdict(s) {bad}; valid: {', '.join(sorted(allowed))}"
            )
    return {c: dict(v or {}) for c, v in data.items()}


def measured(check: Mapping[str, Any]) -> str:
    """A recorded check's numbers in a few characters: "0.50 ± 0.18 vs 0.6" (mean ± 2 SE vs threshold)."""
    value, threshold = check.get("value"), check.get("threshold")
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return f"value {value}"
    text = fmt(value)
    if check.get("se") is not None:
        text += f" ± {fmt(2 * check['se'])}"
    return text + (f" vs {fmt(threshold)}" if threshold is not None else "")


def differences(
    pinned: Mapping[str, Mapping[str, str]], records: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """One line per check of an executed chapter (``records``: chapter -> results JSON) whose verdict
    differs from the pinned one, or that is recorded but not pinned, or pinned but not recorded."""
    lines = []
    for chapter, record in records.items():
        expected = dict(pinned.get(chapter, {}))
        short = chapter.split("_")[0]
        for check in record["checks"]:
            want = expected.pop(check["name"], None)
            if want is None:
                lines.append(
                    f"{short} {check['name']}: not pinned in {PINNED_FILE} (got {check['status']})"
                )
            elif want != check["status"]:
                lines.append(
                    f"{short} {check['name']}: expected {want}, got {check['status']} ({measured(check)})"
                )
        lines += [
            f"{short} {name}: pinned as {want} but not recorded"
            for name, want in expected.items()
        ]
    return lines


def robustness_rows(
    checks_a: Sequence[Mapping[str, Any]], checks_b: Sequence[Mapping[str, Any]]
) -> list[tuple[str, str, str, str, str]]:
    """Findings and controls of one chapter on two seed blocks: (check, kind, verdict on block A with
    its numbers, the same on block B, "agree" / "DIFFER")."""
    by_name = {c["name"]: c for c in checks_b}
    rows = []
    for a in checks_a:
        if a.get("kind") == "sanity":
            continue
        b = by_name.get(a["name"])
        cell_b = f"{b['status']} ({measured(b)})" if b else "not recorded"
        same = "agree" if b and b["status"] == a["status"] else "DIFFER"
        rows.append(
            (a["name"], a["kind"], f"{a['status']} ({measured(a)})", cell_b, same)
        )
    return rows


def sentence(check: Mapping[str, Any]) -> str:
    """One recorded finding or control in words: "**claim** — reproduced: 0.62 ± 0.05 over 8 seeds
    (needs ≥ 0.5)." (for a chapter's closing paragraph; sanity checks say pass or fail)."""
    if check.get("se") is None:
        return f"**{check['claim'].rstrip('.')}**: {check['status']}."
    iv = Interval(
        check["value"],
        check.get("sd") or 0.0,
        check["se"],
        check["n"],
        check.get("unit", "seed"),
    )
    return f"**{check['claim'].rstrip('.')}**: {check['status']}, {summary(iv, check['threshold'], check['direction'])}."
