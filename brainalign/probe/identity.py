"""What makes two probe folders the same probe: what a model sees, and what defines it.

A probe's id (``probe.saliency_semantic~<hash>``; the pinned standard probe has no hash) is the
sha256 of three things: the decoded pixels of every image (not the PNG bytes, which another
zlib or Pillow may write differently), the condition table (which base image, which distractor,
where, at which contrast, with which captions), and the manifest fields that define the probe
(builder version, pool, embedder, settings). Numbers a build *measured* on the way (saliency
changes, semantic distances, resolved thresholds, target RDMs) are left out: they are floats
from OpenCV and PyTorch, whose last bits differ between versions while the images do not.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

#: Manifest fields that define a probe (the pool minus where its files lay on the building machine).
DEFINING_FIELDS: tuple[str, ...] = (
    "format",
    "builder_version",
    "conditions",
    "pool",
    "embedder",
    "settings",
)
#: Columns of ``metadata.csv`` that say what each stimulus shows.
TABLE_COLUMNS: tuple[str, ...] = (
    "stimulus_id",
    "condition",
    "base_id",
    "distractor_id",
    "base_captions",
    "distractor_captions",
    "contrast",
    "edge",
    "box_x0",
    "box_y0",
    "box_x1",
    "box_y1",
)
#: The table's numeric columns (``metadata.csv`` may hand them back as text).
NUMERIC_COLUMNS: tuple[str, ...] = ("contrast", "box_x0", "box_y0", "box_x1", "box_y1")
_LOCATIONS = frozenset({"folder", "captions", "images"})


def pixels_sha256(pixels: np.ndarray) -> str:
    """sha256 of an image's decoded pixels (shape and RGB uint8 values)."""
    array = np.ascontiguousarray(pixels, dtype=np.uint8)
    return hashlib.sha256(f"{array.shape}\0".encode() + array.tobytes()).hexdigest()


def content_sha256(
    manifest: Mapping[str, Any], rows: Iterable[Mapping[str, Any]], pixels: Mapping[str, str]
) -> str:
    """The probe's content hash from its manifest's defining fields, its condition table (rows in
    file order) and the :func:`pixels_sha256` of each stimulus's image (by stimulus id)."""
    definition = {name: manifest.get(name) for name in DEFINING_FIELDS}
    definition["pool"] = {
        k: v for k, v in (definition["pool"] or {}).items() if k not in _LOCATIONS
    }
    table = [
        [_canonical(row.get(column)) for column in TABLE_COLUMNS] + [pixels[row["stimulus_id"]]]
        for row in rows
    ]
    document = {
        "definition": definition,
        "columns": [*TABLE_COLUMNS, "pixels_sha256"],
        "table": table,
    }
    text = json.dumps(
        document, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )
    return hashlib.sha256(text.encode()).hexdigest()


def table_rows(metadata: pd.DataFrame) -> list[dict[str, Any]]:
    """The condition table of a ``metadata.csv`` as read back, numeric columns as numbers."""
    table = metadata.reindex(columns=list(TABLE_COLUMNS))
    for column in NUMERIC_COLUMNS:
        table[column] = pd.to_numeric(table[column], errors="coerce")
    return table.to_dict("records")


def _canonical(value: Any) -> Any:
    """One spelling per value, however it was stored: missing → None, whole numbers → int,
    other numbers → float to 12 digits, the rest → str (a table read back from CSV equals the one
    written)."""
    if value is None or value is pd.NA or (isinstance(value, str) and not value):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        number = float(value)
        if math.isnan(number):
            return None
        # 12 significant digits: the table's numbers are short decimals (contrasts, pixel boxes),
        # and a CSV reader's last-bit rounding must not make another probe
        return int(number) if number.is_integer() else float(f"{number:.12g}")
    return str(value)
