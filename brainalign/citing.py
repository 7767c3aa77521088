"""What to cite for anything brainalign names: a result (the BibTeX of its benchmark's data, the
study and the suite, and a methods sentence), a benchmark (its data, the study, the suite), a data
set (its sources and the suite), the study, or the suite itself. ``brainalign cite ID`` prints
:func:`bibtex_for` ``(ID)``."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from .benchmarks.registry import get
from .citation import STUDY_BIBTEX, suite_bibtex
from .errors import BrainAlignError
from .neural_data.registry import datasets, get_dataset
from .results import Result

_KEY = re.compile(r"@\w+\s*\{\s*([^,\s]+)\s*,")


def bibtex_for(identifier: str | None = None) -> str:
    """BibTeX for ``identifier``: a result file (``….json``: with a methods sentence, see
    :func:`cite_result`), a benchmark id or spec file (its data, the study, the suite), a data set
    name (its sources and the suite), ``study``, or None / ``brainalign`` (the suite)."""
    if identifier in (None, "", "brainalign", "suite"):
        return suite_bibtex()
    if identifier == "study":
        return STUDY_BIBTEX
    if identifier.endswith(".json"):
        return cite_result(Result.read(identifier))
    if identifier in {d.name for d in datasets()}:
        return "\n\n".join([get_dataset(identifier).bibtex, suite_bibtex()])
    try:
        benchmark = get(identifier)
    except BrainAlignError:
        if identifier.endswith(".toml") or Path(identifier).exists():
            raise
        raise BrainAlignError(
            f"nothing to cite called {identifier!r}: give a result file (.json), a benchmark id "
            "(`brainalign benchmarks`) or spec file, a data set (`brainalign data list`), `study` or "
            "`brainalign`"
        ) from None
    return with_study_and_suite(benchmark.bibtex)


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


def methods_sentence(result: Result) -> str:
    """A sentence a paper's methods can use: what was scored on which benchmark id@version, the
    number reported with its interval and what the interval is, the layer policy, the seed, the
    brainalign version and the result's content id."""
    info, provenance = result.benchmark_info, result.provenance
    version = str(provenance.get("brainalign_version", ""))
    study, suite = keys(STUDY_BIBTEX)[0], keys(suite_bibtex(version))[0]
    data = [k for k in keys(str(info.get("bibtex", ""))) if k not in (study, suite)]
    title = str(info.get("title") or "")
    sentence = (f"We scored the model {result.model_id} on the benchmark {result.benchmark}"
                + (f" ({title}" + (f"; data: \\cite{{{','.join(data)}}})" if data else ")") if title else "")
                + f" with brainalign {version} \\cite{{{suite}}}, which implements the analyses of "
                f"\\cite{{{study}}}.")
    measure = result.headline()
    if measure is not None:
        entry = result.summary[measure.name]
        number = f"{measure.label or measure.name} = {entry['value']:.3f}"
        if entry.get("ci_low") is not None and entry.get("ci_high") is not None:
            interval = f"[{entry['ci_low']:.3f}, {entry['ci_high']:.3f}]"
            number += f" ({interval}: {measure.interval})" if measure.interval else f" (95% interval {interval})"
        if entry.get("normalised") is not None:
            number += f", {entry['normalised']:.3f} of the upper noise ceiling"
        if entry.get("layer"):
            number += f", at layer {entry['layer']}"
        sentence += f" We report {number}."
    policy = provenance.get("layer_policy")
    policy = ", ".join(policy) if isinstance(policy, list) else policy
    sentence += (f" Layers: policy \"{policy}\"; seed {provenance.get('seed')}; "
                 f"result id {result.content_id()} (sha256 of the result's content).")
    return sentence


def cite_result(result: Result) -> str:
    """The BibTeX of the result's benchmark (as it recorded it: its data, the study, the suite at
    the version that computed it), then :func:`methods_sentence` as ``%`` comment lines, so the
    whole output can be saved as a ``.bib`` file."""
    version = str(result.provenance.get("brainalign_version", "")) or None
    bibtex = with_study_and_suite(str(result.benchmark_info.get("bibtex", "")), version)
    comment = textwrap.fill(methods_sentence(result), width=98, initial_indent="% ", subsequent_indent="% ",
                            break_long_words=False, break_on_hyphens=False)
    return f"{bibtex}\n\n% Methods:\n{comment}"
