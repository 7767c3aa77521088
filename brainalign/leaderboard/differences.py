"""Differences between two models' results, benchmark by benchmark, with an interval for each.

**Paired** where both results recorded the bootstrap samples of a number from the same draws (the
same subjects, stimuli, seed and number of resamples, and the same data: brain similarity from
version 2 of the human benchmarks on): the difference is bootstrapped resample by resample, so
what the two models share (the subjects and stimuli that happened to be drawn) cancels, and the
two-factor correction of :func:`brainalign.rsa.two_factor_interval` makes its interval, exactly as
for one model's score.

**MOVER** otherwise (results that recorded no samples, e.g. version 1, the probe, or results
scored with other seeds or data; Zou & Donner 2008, "method of variance estimates recovery"):
the interval is built from the two recorded intervals,

    low  = d − √((A − A_low)² + (B_high − B)²)
    high = d + √((A_high − A)² + (B − B_low)²)

exact for independent, normally distributed estimates, with asymmetric intervals handled. Two
models scored on the same stimuli and subjects have positively correlated errors, so this
interval is then wider than the paired one (conservative): an interval that excludes 0 is good
evidence of a difference; one that includes 0 is not evidence of equality. Every row says which
interval it has (``interval``) and, for MOVER, why it could not be paired.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..caveats import interval_caveat, interval_covers, interval_resamples
from ..results import Result, as_float
from ..rsa.inference import LEVEL, TwoFactorSamples, two_factor_interval

#: Sub-keys of a summary entry that carry a point value and its interval.
_VALUE_KEYS: tuple[tuple[str, str, str, str], ...] = (
    ("", "value", "ci_low", "ci_high"),
    (" (normalised)", "normalised", "normalised_ci_low", "normalised_ci_high"),
)

COMPARISON_COLUMNS: tuple[str, ...] = (
    "benchmark",
    "metric",
    "a",
    "a_ci_low",
    "a_ci_high",
    "b",
    "b_ci_low",
    "b_ci_high",
    "difference",
    "ci_low",
    "ci_high",
    "verdict",
    "interval",
    "covers",
    "interval_caveat",  # what the intervals are about; few subjects (brainalign.caveats)
)
#: How the interval of a difference was made (the ``interval`` column starts with one of these).
PAIRED = "paired"
MOVER = "MOVER"


def difference_interval(
    a: float, a_low: float, a_high: float, b: float, b_low: float, b_high: float
) -> tuple[float, float]:
    """MOVER 95% interval of ``a − b`` from the two 95% intervals (NaN if either is missing)."""
    d = a - b
    low = d - math.sqrt((a - a_low) ** 2 + (b_high - b) ** 2)
    high = d + math.sqrt((a_high - a) ** 2 + (b - b_low) ** 2)
    return low, high


def verdict(low: float, high: float, label_a: str = "A", label_b: str = "B") -> str:
    if math.isnan(low) or math.isnan(high):
        return "no interval"
    if low > 0:
        return f"{label_a} higher"
    if high < 0:
        return f"{label_b} higher"
    return "no clear difference"


def _resamples(result: Result) -> dict[str, Any] | None:
    record = result.extra.get("resamples")
    return record if isinstance(record, dict) and record.get("interval") == "two-factor" else None


def why_unpaired(a: Result, b: Result) -> str:
    """Why two results on one benchmark cannot be compared resample by resample ("" if they can)."""
    record_a, record_b = _resamples(a), _resamples(b)
    if record_a is None or record_b is None:
        missing = " and ".join(side for side, r in (("A", record_a), ("B", record_b)) if r is None)
        return f"{missing} recorded no bootstrap samples"
    if record_a["draws"] != record_b["draws"]:
        return "resampled differently (another seed, other subjects or stimuli)"
    data_a, data_b = a.provenance.get("data_checksums"), b.provenance.get("data_checksums")
    if data_a and data_b and data_a != data_b:
        return "scored on different data files"
    return ""


def _paired_samples(result: Result, name: str, normalised: bool) -> TwoFactorSamples | None:
    samples = _resamples(result)["samples"].get(name)  # type: ignore[index]
    if samples is None:
        return None
    found = TwoFactorSamples(
        *(np.asarray([as_float(x) for x in samples[k]]) for k in ("subjects", "stimuli", "both"))
    )
    if not normalised:
        return found
    ceiling = result.measure("noise_ceiling")
    upper = result.value(ceiling.name, "upper") if ceiling is not None else math.nan
    return found / upper if upper > 0 else None


def paired_difference(
    a: Result, b: Result, name: str, normalised: bool = False
) -> tuple[float, float] | None:
    """The 95% two-factor interval of ``a − b`` from the two results' paired bootstrap samples of
    summary number ``name`` (normalised: divided by each one's upper noise ceiling), or None when
    they cannot be paired (:func:`why_unpaired`) or did not record that number."""
    if why_unpaired(a, b):
        return None
    samples_a, samples_b = (
        _paired_samples(a, name, normalised),
        _paired_samples(b, name, normalised),
    )
    if samples_a is None or samples_b is None:
        return None
    key = "normalised" if normalised else "value"
    record = _resamples(a)
    assert record is not None  # _paired_samples found the resamples
    low, high, _ = two_factor_interval(
        a.value(name, key) - b.value(name, key),
        samples_a - samples_b,
        int(record["n_subjects"]),
        int(record["n_stimuli"]),
        float(record.get("level", LEVEL)),
    )
    return low, high


def withheld(result: Result, name: str) -> bool:
    """Whether ``result`` withholds the normalised numbers of summary entry ``name``: it says so,
    or its noise ceiling failed the test that the subjects agree (a number divided by a ceiling
    of noise is never shown, whatever a hand-edited file holds)."""
    if result.summary.get(name, {}).get("normalised_withheld"):
        return True
    ceiling = result.measure("noise_ceiling")
    return ceiling is not None and result.summary.get(ceiling.name, {}).get("reliable") is False


def compare_results(
    a: Sequence[Result], b: Sequence[Result], *, label_a: str = "A", label_b: str = "B"
) -> pd.DataFrame:
    """One row per (benchmark, summary number) that both sides report: each side's value and
    interval, the difference ``a − b`` with its interval (paired where the two results share
    their resamples, else MOVER; ``interval`` says which, and why not paired), and a verdict;
    ``covers`` says what the intervals are about and ``interval_caveat`` where they rest on few
    subjects (:mod:`brainalign.caveats`).
    Benchmarks are matched by ``id@version``; numbers without a ``value`` (e.g. the noise
    ceiling) are skipped, and so are normalised numbers either side withholds (:func:`withheld`)."""
    by_benchmark_b = {result.benchmark: result for result in b}
    rows = []
    for left in sorted(a, key=lambda r: r.benchmark):
        right = by_benchmark_b.get(left.benchmark)
        if right is None:
            continue
        reason = why_unpaired(left, right)
        for name in left.summary:
            if name not in right.summary:
                continue
            for suffix, value, low, high in _VALUE_KEYS:
                va, vb = left.value(name, value), right.value(name, value)
                if (
                    math.isnan(va)
                    or math.isnan(vb)
                    or (suffix and (withheld(left, name) or withheld(right, name)))
                ):
                    continue
                la, ha = left.value(name, low), left.value(name, high)
                lb, hb = right.value(name, low), right.value(name, high)
                paired = paired_difference(left, right, name, normalised=bool(suffix))
                if paired is not None:
                    (d_low, d_high), how = paired, f"{PAIRED}: same subjects and stimuli resampled"
                else:
                    d_low, d_high = difference_interval(va, la, ha, vb, lb, hb)
                    how = (
                        ""
                        if math.isnan(d_low)
                        else (
                            f"{MOVER}, assumes independence: "
                            + (reason or "no samples of this number")
                        )
                    )
                rows.append(
                    {
                        "benchmark": left.benchmark,
                        "metric": name + suffix,
                        "a": va,
                        "a_ci_low": la,
                        "a_ci_high": ha,
                        "b": vb,
                        "b_ci_low": lb,
                        "b_ci_high": hb,
                        "difference": va - vb,
                        "ci_low": d_low,
                        "ci_high": d_high,
                        "verdict": verdict(d_low, d_high, label_a, label_b),
                        "interval": how,
                        **_interval_words(left, right, name, math.isnan(d_low)),
                    }
                )
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def _interval_words(a: Result, b: Result, name: str, no_interval: bool) -> dict[str, str]:
    """What the intervals of number ``name`` cover, and the few-subjects caveat of either side."""
    if no_interval:
        return {"covers": "", "interval_caveat": ""}
    covers = {interval_covers(interval_resamples(r, name)) for r in (a, b)} - {""}
    caveats = [c for c in dict.fromkeys(interval_caveat(r, name) for r in (a, b)) if c]
    return {"covers": "; ".join(sorted(covers)), "interval_caveat": "; ".join(caveats)}


def format_interval(
    value: float, low: float = math.nan, high: float = math.nan, digits: int = 3
) -> str:
    """``0.312 [0.281, 0.340]``; ``—`` for a missing value; no brackets without an interval."""
    value, low, high = as_float(value), as_float(low), as_float(high)
    if math.isnan(value):
        return "—"
    text = f"{value:.{digits}f}"
    if not (math.isnan(low) or math.isnan(high)):
        text += f" [{low:.{digits}f}, {high:.{digits}f}]"
    return text
