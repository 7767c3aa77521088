"""What to cite for anything brainalign names: a result (a methods paragraph and the BibTeX of every
work it names, :mod:`brainalign.leaderboard.methods`), a benchmark (its data, its methods, the study,
the suite), a data set (its sources and the suite), the study, or the suite itself.
``brainalign cite ID`` prints :func:`bibtex_for` ``(ID)``."""

from __future__ import annotations

import difflib
from pathlib import Path

from .benchmarks.registry import all_benchmarks, candidates, get
from .bibtex import FORMATS, STUDY_BIBTEX, suite_bibtex, with_study_and_suite
from .errors import BrainAlignError
from .leaderboard.methods import cite_result, methods_paragraph, result_bibtex
from .neural_data.catalogue import datasets, get_dataset
from .results import Result

__all__ = ["FORMATS", "bibtex_for", "cite_result", "methods_paragraph", "result_bibtex"]


def bibtex_for(identifier: str | None = None, format: str = "bibtex") -> str:
    """What to cite for ``identifier``: a result file (``….json``: :func:`cite_result` in
    ``format``), a benchmark id or spec file (its BibTeX), a data set name (its sources and the
    suite), ``study``, or None / ``brainalign`` (the suite). A name that is none of these but part
    of some is an error listing them (:func:`~brainalign.benchmarks.registry.candidates`)."""
    if identifier in (None, "", "brainalign", "suite"):
        return suite_bibtex()
    if identifier == "study":
        return STUDY_BIBTEX
    if identifier.endswith(".json"):
        return cite_result(Result.read(identifier), format)
    if identifier in {d.name for d in datasets()}:
        return "\n\n".join([get_dataset(identifier).bibtex, suite_bibtex()])
    try:
        benchmark = get(identifier)
    except BrainAlignError:
        if identifier.endswith(".toml") or Path(identifier).exists():
            raise
        found = [b.id for b in candidates(identifier)]
        if found:
            raise BrainAlignError(
                f"{identifier!r} is not one thing to cite but part of {len(found)}: {', '.join(found)}; "
                f"name one of them (e.g. brainalign cite {found[0]})"
            ) from None
        close = difflib.get_close_matches(identifier, _names(), n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise BrainAlignError(
            f"nothing to cite called {identifier!r}{hint}: give a result file (.json), a benchmark id "
            "(`brainalign benchmarks`) or spec file, a data set (`brainalign data list`), `study` or "
            "`brainalign`"
        ) from None
    return with_study_and_suite(benchmark.bibtex)


def _names() -> list[str]:
    """Every benchmark id (each once, whatever its versions) and data set name."""
    return sorted({b.id for b in all_benchmarks()} | {d.name for d in datasets()})
