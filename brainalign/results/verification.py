"""Checking a result's numbers against another computation of them, and the record that says a
result was verified.

Two results *agree* when every number they hold (summary, layerwise table, extra) is within
:data:`TOLERANCE` of the other's and every text (a chosen layer's name) is equal. ``brainalign
verify`` re-scores a result from its provenance and compares; the leaderboard compares results of
the same model, benchmark and settings from several folders the same way.

A verification is recorded beside the result it checked, as ``<result stem>.verification`` (JSON:
not a ``.json`` file, so nothing takes it for a result). It names the result's content id, so it
stands only for exactly those numbers, and writing it changes neither the result's files nor its id.
"""

from __future__ import annotations

import json
import math
import platform
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from .._io import write_json_atomic
from .._version import __version__
from .layerwise import column_kinds
from .provenance import environment
from .result import Result

#: The exactness contract: a re-computation reproduces every reported number to within this
#: (absolute) difference. It absorbs what another thread count or BLAS changes (last bits,
#: ~1e-16) and nothing a person would report.
TOLERANCE = 1e-6
RECORD_SUFFIX = ".verification"
RECORD_FORMAT = "brainalign.verification"

Status = Literal["verified", "differs", "cannot verify"]


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


def compare_numbers(recorded: Result, recomputed: Result, tolerance: float = TOLERANCE) -> Comparison:
    """Every number of ``recorded`` against ``recomputed`` (summary, extra, layerwise rows
    matched by their text and integer columns). What only the recomputation has (fields added
    since, e.g. by a newer brainalign) is not compared; a recorded number it lacks is a difference,
    except a recorded missing number (null, or a
    layerwise row whose values are NaN)."""
    pairs = [*_leaves("summary", recorded.summary, recomputed.summary),
             *_leaves("extra", recorded.extra, recomputed.extra),
             *_layerwise_pairs(recorded.layerwise, recomputed.layerwise)]
    differences, largest = [], 0.0
    for where, a, b in pairs:
        if _same(a, b, tolerance):
            if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
                largest = max(largest, abs(float(a) - float(b)))
        else:
            differences.append(Difference(where, a, b))
    differences.sort(key=lambda d: -d.size if math.isfinite(d.size) else -math.inf)
    return Comparison(len(pairs), largest, tuple(differences))


def _same(a: Any, b: Any, tolerance: float) -> bool:
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
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
            yield where, "present" if row in left.index else "absent", "present" if row in right.index else "absent"
            continue
        for column in numbers:
            yield f"{where}.{column}", float(left.at[row, column]), float(right.at[row, column])


# --- the record ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerificationRecord:
    """That (and where, when, with which versions) a result was re-scored and found to agree
    (``status`` "verified") or not ("differs")."""

    result_id: str
    status: Status
    verified_at: str
    where: dict[str, Any]
    versions: dict[str, Any]
    tolerance: float = TOLERANCE
    n_checked: int = 0
    max_difference: float = 0.0
    differences: list[str] = field(default_factory=list)

    @classmethod
    def now(cls, result: Result, status: Status, comparison: Comparison | None) -> VerificationRecord:
        env = environment()
        return cls(
            result_id=result.content_id(), status=status,
            verified_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            where={"host": platform.node(), "system": platform.system(), "machine": env["machine"]},
            versions={"brainalign": __version__, "python": env["python"], "libraries": env["libraries"],
                      "torch_threads": env.get("torch_threads")},
            n_checked=comparison.n_checked if comparison else 0,
            max_difference=comparison.max_difference if comparison else 0.0,
            differences=[str(d) for d in comparison.differences[:20]] if comparison else [],
        )

    def stands_for(self, result: Result) -> bool:
        """Whether this record verified exactly ``result`` (its content id)."""
        return self.status == "verified" and self.result_id == result.content_id()

    def summary(self) -> str:
        """``verified on HOST (System machine) at TIME with brainalign V, torch T`` for a page."""
        torch = self.versions.get("libraries", {}).get("torch")
        return (f"{self.status} on {self.where.get('host') or 'an unnamed host'} ({self.where.get('system')} "
                f"{self.where.get('machine')}) at {self.verified_at} with brainalign {self.versions.get('brainalign')}"
                + (f", torch {torch}" if torch else ""))


def record_path(result_path: str | Path) -> Path:
    """Where the verification of the result file ``result_path`` (``….json``) lives."""
    path = Path(result_path)
    return path.with_name(path.stem + RECORD_SUFFIX)


def write_record(result_path: str | Path, record: VerificationRecord) -> Path:
    path = record_path(result_path)
    write_json_atomic(path, {"format": RECORD_FORMAT, "format_version": 1, **asdict(record)})
    return path


def read_record(result_path: str | Path) -> VerificationRecord | None:
    """The verification recorded beside a result file, or None (none, or not readable)."""
    path = record_path(result_path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("format") != RECORD_FORMAT:
        return None
    known = VerificationRecord.__dataclass_fields__
    try:
        return VerificationRecord(**{k: v for k, v in document.items() if k in known})
    except TypeError:
        return None
