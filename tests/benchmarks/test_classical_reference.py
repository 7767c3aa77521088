"""The classical-RSA numbers of the human benchmarks stay what they were when the fixture was
recorded (tests/benchmarks/classical_reference.py): every summary value, interval, ceiling,
reliability p, bootstrap sample and layerwise rho, to 1e-12, from the same stored layer RDMs."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from classical_reference import BENCHMARKS, FIXTURE, load_layers, score_all

TOLERANCE = 1e-12


def _differences(expected: Any, found: Any, where: str = "") -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(found, dict) or set(expected) - set(found):
            return [
                f"{where}: keys {sorted(expected)} vs {sorted(found) if isinstance(found, dict) else found}"
            ]
        return [d for k in expected for d in _differences(expected[k], found[k], f"{where}.{k}")]
    if isinstance(expected, list):
        if not isinstance(found, list) or len(found) != len(expected):
            return [f"{where}: {len(expected)} items vs {found!r:.80}"]
        return [
            d
            for i, (e, f) in enumerate(zip(expected, found))
            for d in _differences(e, f, f"{where}[{i}]")
        ]
    if (
        isinstance(expected, float)
        and isinstance(found, (int, float))
        and not isinstance(found, bool)
    ):
        same = (math.isnan(expected) and math.isnan(found)) or abs(expected - found) <= TOLERANCE
        return [] if same else [f"{where}: {expected!r} vs {found!r}"]
    return [] if expected == found else [f"{where}: {expected!r} vs {found!r}"]


@pytest.fixture(scope="module")
def rescored(shared_data: Path) -> dict[str, Any]:
    return json.loads(json.dumps(score_all(load_layers(), shared_data)))


@pytest.mark.parametrize("identifier", [*BENCHMARKS, "single-subject"])
def test_classical_rsa_numbers_are_unchanged(rescored: dict[str, Any], identifier: str) -> None:
    expected = json.loads((FIXTURE / "scores.json").read_text())[identifier]
    assert _differences(expected, rescored[identifier]) == []


def test_the_comparison_sees_a_change() -> None:
    """The comparison itself fails on a change of 1e-9 and on a missing key."""
    assert _differences({"a": [1.0, 2.0]}, {"a": [1.0, 2.0 + 1e-9]})
    assert _differences({"a": 1.0, "b": "x"}, {"a": 1.0})
    assert not _differences({"a": float("nan")}, {"a": float("nan")})
