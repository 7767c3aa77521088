"""Differences between two models' results, benchmark by benchmark, with an interval for each.

Results keep each number's 95% bootstrap interval but not the bootstrap samples, so the interval
of a difference A − B is built from the two intervals by MOVER (Zou & Donner 2008, "method of
variance estimates recovery"; Newcombe's approach for differences):

    low  = d − √((A − A_low)² + (B_high − B)²)
    high = d + √((A_high − A)² + (B − B_low)²)

It is exact for independent, normally distributed estimates and handles asymmetric intervals.
Both models are usually scored on the same stimuli and subjects, so their errors are positively
correlated and this interval is then wider than a paired bootstrap would give (conservative): an
interval that excludes 0 is good evidence of a difference; one that includes 0 is not evidence
of equality.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from ..results import Result, as_float

#: Sub-keys of a summary entry that carry a point value and its interval.
_VALUE_KEYS: tuple[tuple[str, str, str, str], ...] = (
    ("", "value", "ci_low", "ci_high"),
    (" (normalised)", "normalised", "normalised_ci_low", "normalised_ci_high"),
)

COMPARISON_COLUMNS: tuple[str, ...] = (
    "benchmark", "metric", "a", "a_ci_low", "a_ci_high", "b", "b_ci_low", "b_ci_high",
    "difference", "ci_low", "ci_high", "verdict",
)


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


def compare_results(
    a: Sequence[Result], b: Sequence[Result], *, label_a: str = "A", label_b: str = "B"
) -> pd.DataFrame:
    """One row per (benchmark, summary number) that both sides report: each side's value and
    interval, the difference ``a − b`` with its MOVER interval, and a verdict. Benchmarks are
    matched by ``id@version``; numbers without a ``value`` (e.g. the noise ceiling) are skipped."""
    by_benchmark_b = {result.benchmark: result for result in b}
    rows = []
    for left in sorted(a, key=lambda r: r.benchmark):
        right = by_benchmark_b.get(left.benchmark)
        if right is None:
            continue
        for name in left.summary:
            if name not in right.summary:
                continue
            for suffix, value, low, high in _VALUE_KEYS:
                va, vb = left.value(name, value), right.value(name, value)
                if math.isnan(va) or math.isnan(vb):
                    continue
                la, ha = left.value(name, low), left.value(name, high)
                lb, hb = right.value(name, low), right.value(name, high)
                d_low, d_high = difference_interval(va, la, ha, vb, lb, hb)
                rows.append({
                    "benchmark": left.benchmark, "metric": name + suffix,
                    "a": va, "a_ci_low": la, "a_ci_high": ha, "b": vb, "b_ci_low": lb, "b_ci_high": hb,
                    "difference": va - vb, "ci_low": d_low, "ci_high": d_high,
                    "verdict": verdict(d_low, d_high, label_a, label_b),
                })
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def format_interval(value: float, low: float = math.nan, high: float = math.nan, digits: int = 3) -> str:
    """``0.312 [0.281, 0.340]``; ``—`` for a missing value; no brackets without an interval."""
    value, low, high = as_float(value), as_float(low), as_float(high)
    if math.isnan(value):
        return "—"
    text = f"{value:.{digits}f}"
    if not (math.isnan(low) or math.isnan(high)):
        text += f" [{low:.{digits}f}, {high:.{digits}f}]"
    return text
