"""What to cite for anything brainalign names: a benchmark (its data, the study, the suite), a
data set (its sources and the suite), the study, or the suite itself. ``brainalign cite ID``
prints :func:`bibtex_for` ``(ID)``."""

from __future__ import annotations

from .benchmarks.registry import get
from .citation import STUDY_BIBTEX, suite_bibtex
from .errors import BrainAlignError
from .neural_data.registry import datasets, get_dataset


def bibtex_for(identifier: str | None = None) -> str:
    """BibTeX for ``identifier``: a benchmark id (its data, the study, the suite), a data set
    name (its sources and the suite), ``study``, or None / ``brainalign`` (the suite)."""
    if identifier in (None, "", "brainalign", "suite"):
        return suite_bibtex()
    if identifier == "study":
        return STUDY_BIBTEX

    if identifier in {d.name for d in datasets()}:
        return "\n\n".join([get_dataset(identifier).bibtex, suite_bibtex()])
    try:
        benchmark = get(identifier)
    except BrainAlignError:
        raise BrainAlignError(
            f"nothing to cite called {identifier!r}: give a benchmark id (`brainalign benchmarks`), "
            "a data set (`brainalign data list`), `study` or `brainalign`"
        ) from None
    return benchmark.bibtex
