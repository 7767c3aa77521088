"""What to cite for anything brainalign names: a result (a methods paragraph and the BibTeX of every
work it names, :mod:`brainalign.leaderboard.methods`), a benchmark (its data, its methods, the study,
the suite), a data set (its sources and the suite), the study, or the suite itself.
``brainalign cite ID`` prints :func:`bibtex_for` ``(ID)``."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from .benchmarks.registry import all_benchmarks, get
from .citation import STUDY_BIBTEX, suite_bibtex
from .errors import BrainAlignError
from .leaderboard.methods import FORMATS, cite_result, methods_paragraph, result_bibtex
from .neural_data.registry import datasets, get_dataset
from .results import Result

__all__ = ["FORMATS", "bibtex_for", "candidates", "cite_result", "keys", "methods_paragraph",
           "result_bibtex", "with_study_and_suite"]

_KEY = re.compile(r"@\w+\s*\{\s*([^,\s]+)\s*,")


def bibtex_for(identifier: str | None = None, format: str = "bibtex") -> str:
    """What to cite for ``identifier``: a result file (``….json``: :func:`cite_result` in
    ``format``), a benchmark id or spec file (its BibTeX), a data set name (its sources and the
    suite), ``study``, or None / ``brainalign`` (the suite). A name that is none of these but part
    of some is an error listing them (:func:`candidates`)."""
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
        found = candidates(identifier)
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


def candidates(name: str) -> list[str]:
    """The benchmark ids and data set names that ``name`` is part of (``algonauts2019.92images``:
    its EVC and IT benchmarks), for a name that is none of them itself."""
    wanted = name.partition("@")[0].lower()
    if not wanted:
        return []
    return sorted({n for n in _names() if wanted in n.lower()})


def _names() -> list[str]:
    """Every benchmark id (each once, whatever its versions) and data set name."""
    return sorted({b.id for b in all_benchmarks()} | {d.name for d in datasets()})


def keys(bibtex: str) -> list[str]:
    """The citation keys of the entries in ``bibtex``, in order."""
    return _KEY.findall(bibtex)


def with_study_and_suite(bibtex: str, version: str | None = None) -> str:
    """``bibtex`` plus the study's and the suite's entries where it lacks them (a plugin's
    benchmark may cite its data only)."""
    parts = [bibtex.strip()] if bibtex.strip() else []
    for entry in (STUDY_BIBTEX, suite_bibtex(version) if version else suite_bibtex()):
        if keys(entry)[0] not in keys(bibtex):
            parts.append(entry)
    return "\n\n".join(parts)
