"""The layerwise table of a result: canonical columns and dtypes, and its canonical CSV bytes.

The table is stored as CSV rather than a binary columnar format because its bytes are part of the
result's content id: they must be the same on every machine and with every library version, and
CSV written here (floats as Python's shortest round-trip ``repr``, missing numbers as empty
fields) is exactly that. A few thousand rows per result make its size irrelevant.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..benchmarks.base import LAYERWISE_COLUMNS
from ..errors import BrainAlignError

#: The kind of every standard column; other columns a benchmark adds get the kind of their dtype.
COLUMN_KINDS: dict[str, str] = {
    "layer": "text",
    "layer_index": "integer",
    "depth": "number",
    "target": "text",
    "subject": "text",
    "condition": "text",
    "value": "number",
    "ci_low": "number",
    "ci_high": "number",
}
assert tuple(COLUMN_KINDS) == LAYERWISE_COLUMNS
KINDS = ("text", "integer", "number")


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))


def _kind_of(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_integer_dtype(values):
        return "integer"
    if pd.api.types.is_float_dtype(values):
        return "number"
    return "text"


def _coerce(values: pd.Series, kind: str) -> pd.Series:
    if kind == "text":
        return values.map(lambda v: "" if _is_missing(v) else str(v)).astype(object)
    numbers = pd.to_numeric(values, errors="raise")
    if kind == "integer":
        if numbers.isna().any() or not np.all(np.equal(np.mod(numbers, 1), 0)):
            raise ValueError("must hold whole numbers")
        return numbers.astype(np.int64)
    return numbers.astype(np.float64)


def canonical_layerwise(table: pd.DataFrame, where: str) -> pd.DataFrame:
    """``table`` with :data:`LAYERWISE_COLUMNS` first in their canonical dtypes (text ``""`` for
    missing, numbers NaN), extra columns after (integer, number or text); a clear error if a
    column is absent or not coercible."""
    if not isinstance(table, pd.DataFrame):
        raise BrainAlignError(f"{where}: the layerwise table must be a pandas DataFrame")
    missing = [c for c in LAYERWISE_COLUMNS if c not in table.columns]
    if missing:
        raise BrainAlignError(f"{where}: the layerwise table lacks the column(s) {missing}")
    out = pd.DataFrame(index=pd.RangeIndex(len(table)))
    columns = [*LAYERWISE_COLUMNS, *(str(c) for c in table.columns if c not in LAYERWISE_COLUMNS)]
    for column in columns:
        values = table[column].reset_index(drop=True)
        kind = COLUMN_KINDS.get(column) or _kind_of(values)
        try:
            out[column] = _coerce(values, kind)
        except (TypeError, ValueError) as err:
            raise BrainAlignError(
                f"{where}: layerwise column {column!r} has a bad value ({err})"
            ) from None
    return out


def column_kinds(table: pd.DataFrame) -> dict[str, str]:
    """The kind of each column of a canonical table, in column order."""
    return {str(c): COLUMN_KINDS.get(str(c)) or _kind_of(table[c]) for c in table.columns}


def _cell(value: Any, kind: str) -> str:
    if kind == "text":
        return str(value)
    if kind == "integer":
        return str(int(value))
    number = float(value)
    return "" if math.isnan(number) else repr(number)


def layerwise_csv(table: pd.DataFrame) -> bytes:
    """The canonical CSV bytes of a canonical table: the same numbers give the same bytes."""
    kinds = column_kinds(table)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(kinds))
    columns = [table[c].to_numpy() for c in kinds]
    for row in zip(*columns):
        writer.writerow([_cell(v, k) for v, k in zip(row, kinds.values())])
    return buffer.getvalue().encode("utf-8")


def read_layerwise_csv(data: bytes, kinds: Mapping[str, str], where: str) -> pd.DataFrame:
    """Parse :func:`layerwise_csv` bytes with the column kinds recorded beside them."""
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error) as err:
        raise BrainAlignError(f"{where} is not a readable layerwise CSV file ({err})") from None
    if not rows or rows[0] != list(kinds):
        found = rows[0] if rows else []
        raise BrainAlignError(f"{where} has columns {found}, expected {list(kinds)}")
    body = rows[1:]
    if any(len(row) != len(kinds) for row in body):
        raise BrainAlignError(f"{where} has rows with a wrong number of fields")
    frame = pd.DataFrame(index=pd.RangeIndex(len(body)))
    for position, (column, kind) in enumerate(kinds.items()):
        cells = [row[position] for row in body]
        try:
            if kind == "text":
                frame[column] = pd.Series(cells, dtype=object)
            elif kind == "integer":
                frame[column] = np.array([int(c) for c in cells], dtype=np.int64)
            else:
                frame[column] = np.array(
                    [float(c) if c else np.nan for c in cells], dtype=np.float64
                )
        except ValueError as err:
            raise BrainAlignError(
                f"{where}: column {column!r} holds a bad {kind} ({err})"
            ) from None
    return frame
