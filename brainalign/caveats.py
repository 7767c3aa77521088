"""Caveats a reader must see beside a number, decided in one place so that the page, `compare` and
`cite` say the same thing: intervals from few subjects, and what an interval covers."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only read here: importing results (pandas) would slow `brainalign --help`
    from .results import Result

#: An interval resampled from fewer subjects than this is flagged wherever it is shown: with so few
#: subjects the two-factor interval covers the population value less often than its nominal 95%
#: (the coverage table of the human benchmarks' documentation).
FEW_SUBJECTS = 8

#: What an interval is about, by what it resamples (the words results record).
COVERS: dict[str, str] = {
    "subjects and stimuli": "new subjects and new images of the same kind and number",
    "subjects": "new subjects seeing these same images (not new images)",
    "stimuli": "new images of the same kind and number",
}


def few_subjects(n_subjects: int | None, resampled: str = "subjects and stimuli") -> str:
    """The caveat for an interval resampled from ``n_subjects`` subjects, or "" where none applies
    (enough subjects, or an interval that does not resample subjects)."""
    if n_subjects is None or n_subjects >= FEW_SUBJECTS or "subjects" not in resampled:
        return ""
    # the simulated coverage with 4 subjects: about 90% for the two-factor interval, 80% for the
    # expanded percentile interval over subjects alone (version 1 of the human benchmarks)
    reading = (
        "about a 90% interval" if resampled == "subjects and stimuli" else "about an 80% interval"
    )
    return (
        f"an interval from only {n_subjects} subjects covers the population value less often "
        f"than 95% (read it as {reading})"
    )


def interval_covers(resampled: str | None) -> str:
    """What an interval that resamples ``resampled`` is about ("" where unknown)."""
    return COVERS.get(resampled or "", "")


def interval_resamples(result: Result, name: str) -> str | None:
    """What the interval of summary number ``name`` resamples ("subjects and stimuli", "subjects"
    or "stimuli"), from what the result recorded; None where it has no interval or does not say."""
    entry = result.summary.get(name)
    if not isinstance(entry, dict) or entry.get("ci_low") is None or entry.get("ci_high") is None:
        return None
    if isinstance(entry.get("interval"), str):
        return entry["interval"]
    measure = next((m for m in result.measures if m.name == name), None)
    if (
        measure is not None
        and measure.kind == "brain_similarity"
        and "interval_resamples" in result.extra
    ):
        return str(result.extra["interval_resamples"])  # version 1 of the human benchmarks
    if measure is not None:  # the measure's own words, e.g. "percentile bootstrap over stimuli"
        found = re.search(r"over (subjects and stimuli|subjects|stimuli)\b", measure.interval)
        if found:
            return found.group(1)
    return None


def n_subjects(result: Result) -> int | None:
    """How many subjects the result's intervals resample (None: no subjects, or not recorded)."""
    found = result.extra.get("n_subjects")
    if found is None and isinstance(result.extra.get("resamples"), dict):
        found = result.extra["resamples"].get("n_subjects")
    return int(found) if isinstance(found, (int, float)) else None


def interval_caveat(result: Result, name: str) -> str:
    """The few-subjects caveat for the interval of summary number ``name`` ("" if none applies)."""
    resampled = interval_resamples(result, name)
    return few_subjects(n_subjects(result), resampled) if resampled else ""
