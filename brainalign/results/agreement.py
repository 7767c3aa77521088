"""Whether two results agree: every number they hold (summary, layerwise table, extra) is within
:data:`TOLERANCE` of the other's and every text (a chosen layer's name) is equal. ``brainalign
verify`` re-scores a result from its provenance and compares (:mod:`brainalign.verification`); the
leaderboard compares results of the same model, benchmark and settings from several folders the
same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .layerwise import column_kinds
from .result import Result

#: The exactness contract: a re-computation reproduces every reported number to within this
#: (absolute) difference. It absorbs what another thread count or BLAS changes (last bits,
#: ~1e-16) and nothing a person would report.
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Difference:
    """One number (or text) that differs: where in the result, and the two values."""

    where: str
    recorded: Any
    recomputed: Any

    @property
    def size(self) -> float:
        """``|recorded − recomputed|`` (inf where one is missing or they are texts)."""
        try:
            return abs(float(self.recorded) - float(self.recomputed))
        except (TypeError, ValueError):
            return math.inf

    def __str__(self) -> str:
        gap = f" (off by {self.size:.3g})" if math.isfinite(self.size) else ""
        return f"{self.where}: recorded {_show(self.recorded)}, recomputed {_show(self.recomputed)}{gap}"


def _show(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else repr(value)


@dataclass(frozen=True)
class Comparison:
    """How two results' numbers compare: how many were checked, the largest difference among
    those that agree, and every one that does not."""

    n_checked: int
    max_difference: float
    differences: tuple[Difference, ...]

    @property
    def agree(self) -> bool:
        return not self.differences


def compare_numbers(
    recorded: Result, recomputed: Result, tolerance: float = TOLERANCE
) -> Comparison:
    """Every number of ``recorded`` against ``recomputed`` (summary, extra, layerwise rows
    matched by their text and integer columns). What only the recomputation has (fields added
    since, e.g. by a newer brainalign) is not compared; a recorded number it lacks is a difference,
    except a recorded missing number (null, or a
    layerwise row whose values are NaN)."""
    pairs = [
        *_leaves("summary", recorded.summary, recomputed.summary),
        *_leaves("extra", recorded.extra, recomputed.extra),
        *_layerwise_pairs(recorded.layerwise, recomputed.layerwise),
    ]
    differences, largest = [], 0.0
    for where, a, b in pairs:
        if _same(a, b, tolerance):
            if (
                isinstance(a, (int, float))
                and isinstance(b, (int, float))
                and not isinstance(a, bool)
            ):
                largest = max(largest, abs(float(a) - float(b)))
        else:
            differences.append(Difference(where, a, b))
    differences.sort(key=lambda d: -d.size if math.isfinite(d.size) else -math.inf)
    return Comparison(len(pairs), largest, tuple(differences))


def _same(a: Any, b: Any, tolerance: float) -> bool:
    numbers = (int, float)
    if (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(float(a) - float(b)) <= tolerance
    return a == b


_MISSING = object()


def _leaves(prefix: str, a: Any, b: Any) -> Iterator[tuple[str, Any, Any]]:
    """``(path, a value, b value)`` for every leaf of the recorded tree ``a`` and of the recomputed
    ``b``, except what ``b`` adds: a field a later brainalign reports beside the recorded numbers
    (e.g. a test of the noise ceiling) claims nothing about them."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in sorted(set(a), key=str):
            yield from _leaves(f"{prefix}.{key}", a.get(key, _MISSING), b.get(key, _MISSING))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for k, (x, y) in enumerate(zip(a, b)):
            yield from _leaves(f"{prefix}[{k}]", x, y)
    elif b is _MISSING and (a is None or (isinstance(a, float) and math.isnan(a))):
        return  # a recorded missing number (a layer now dropped as uncomparable) claims nothing
    else:
        yield prefix, ("absent" if a is _MISSING else a), ("absent" if b is _MISSING else b)


def _layerwise_pairs(a: pd.DataFrame, b: pd.DataFrame) -> Iterator[tuple[str, Any, Any]]:
    """Number cells of two layerwise tables, rows matched by their text and integer columns."""
    kinds = column_kinds(a)
    if column_kinds(b) != kinds:
        yield "layerwise columns", list(kinds), list(column_kinds(b))
        return
    keys = [c for c, kind in kinds.items() if kind != "number"]
    numbers = [c for c, kind in kinds.items() if kind == "number"]
    left, right = a.set_index(keys), b.set_index(keys)
    if left.index.has_duplicates or right.index.has_duplicates:  # rows not told apart by their keys
        left, right = a.reset_index(drop=True), b.reset_index(drop=True)
    for row in left.index.union(right.index, sort=False):
        where = f"layerwise[{', '.join(map(str, row if isinstance(row, tuple) else (row,)))}]"
        if row not in right.index or row not in left.index:
            measured = [c for c in ("value", "ci_low", "ci_high") if c in numbers]
            if row in left.index and left.loc[[row], measured].isna().all(axis=None):
                continue  # a recorded row of NaN (a layer now dropped as uncomparable) claims no number
            yield (
                where,
                "present" if row in left.index else "absent",
                "present" if row in right.index else "absent",
            )
            continue
        for column in numbers:
            yield f"{where}.{column}", float(left.at[row, column]), float(right.at[row, column])
