"""The measures a result reports, as its benchmark declared them when it was scored.

A result records its benchmark's :class:`~brainalign.benchmarks.base.Measure` declarations, so a
reader knows which summary number is a brain similarity, a semantic encoding or a sensitivity
(and to which distractor) without the benchmark being installed. Results written by brainalign
0.1 predate the declarations; for its built-in benchmarks they are derived here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..benchmarks.base import Measure

_LEGACY_PROBE = "probe.saliency_semantic"


def declared_measures(
    info: Mapping[str, Any], summary: Mapping[str, Any], layerwise: pd.DataFrame
) -> tuple[Measure, ...]:
    """The measures in a result's benchmark record (``provenance["benchmark"]``), or for a
    result that records none, those of the built-in benchmark it came from."""
    if "measures" in info:
        return tuple(Measure.from_dict(m) for m in info["measures"])
    from ..benchmarks.probe import probe_measures  # only for results of brainalign 0.1
    from ..benchmarks.scoring import brain_measures

    if info.get("id") == _LEGACY_PROBE:
        return probe_measures()
    if "brain_similarity" in summary:
        targets = sorted(set(layerwise["target"]))
        return brain_measures(targets[0] if len(targets) == 1 else "", interval="subjects")
    return ()


def measure_of(measures: tuple[Measure, ...], kind: str, **attributes: Any) -> Measure | None:
    """The first measure of ``kind`` whose attributes (``target``, ``distractor``…) match."""
    for measure in measures:
        if measure.kind == kind and all(getattr(measure, k) == v for k, v in attributes.items()):
            return measure
    return None


def layer_rows(layerwise: pd.DataFrame, measure: Measure) -> pd.DataFrame:
    """The layerwise rows that hold ``measure`` per layer."""
    keep = pd.Series(True, index=layerwise.index)
    for column, value in measure.layerwise.items():
        keep &= layerwise[column] == value
    return layerwise[keep]
