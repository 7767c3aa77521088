"""Perf tests measure with pytest-benchmark and report speed ratios against the alternative on the
same inputs. Ratios are printed at the end of the run (and never asserted: timing is not a test).

Where an alternative is too slow to run in full (thousands of scipy calls), a fixed sample of its
work is timed and extrapolated; the printed line says so.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

_TIMES: dict[str, dict[str, float]] = defaultdict(dict)
_NOTES: dict[str, list[str]] = defaultdict(list)


def record(group: str, name: str, seconds: float, note: str = "") -> None:
    """Remember a (possibly extrapolated) wall time for the ratio table."""
    _TIMES[group][name] = seconds
    if note:
        _NOTES[group].append(f"{name}: {note}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is a measurement (``-m perf`` selects them, ``-m "not perf"``
    leaves them out); CI runs them all."""
    here = str(__import__("pathlib").Path(__file__).parent)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.perf)


@pytest.fixture
def perf_record():
    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _TIMES:
        return
    terminalreporter.section("brainalign speed ratios")
    for group, times in _TIMES.items():
        ours = times.get("brainalign")
        for name, seconds in sorted(times.items()):
            ratio = (
                f"  ({seconds / ours:6.1f}× brainalign's time)"
                if ours and name != "brainalign"
                else ""
            )
            terminalreporter.write_line(f"{group:<28} {name:<34} {seconds:10.3f} s{ratio}")
        for note in _NOTES[group]:
            terminalreporter.write_line(f"{'':<28} note: {note}")
