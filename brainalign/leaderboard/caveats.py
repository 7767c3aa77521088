"""Caveats a reader must see beside a number, decided in one place so that the page, `compare` and
`cite` say the same thing."""

from __future__ import annotations

#: An interval resampled from fewer subjects than this is flagged wherever it is shown: with so few
#: subjects the two-factor interval covers the population value less often than its nominal 95%
#: (the coverage table of the human benchmarks' documentation).
FEW_SUBJECTS = 8


def few_subjects(n_subjects: int | None) -> str:
    """The caveat for an interval resampled from ``n_subjects`` subjects, or "" where none applies."""
    if n_subjects is None or n_subjects >= FEW_SUBJECTS:
        return ""
    return (f"interval from only {n_subjects} subjects: it covers the population value less often "
            f"than 95% (read it as about a 90% interval)")
