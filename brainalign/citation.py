"""How to cite: the suite, the study it grows out of, and any benchmark's or data set's sources.

``brainalign cite ID`` prints :func:`bibtex_for` ``(ID)``; CITATION.cff at the repository root
says the same for GitHub's "Cite this repository".
"""

from __future__ import annotations

from . import __version__
from .errors import BrainAlignError

STUDY_BIBTEX = """@misc{opielka2024saliency,
  author        = {Opie{\\l}ka, Gustaw and Loke, Jessica and Scholte, Steven},
  title         = {Saliency Suppressed, Semantics Surfaced: Visual Transformations in Neural Networks and the Brain},
  year          = {2024},
  eprint        = {2404.18772},
  archivePrefix = {arXiv},
  primaryClass  = {cs.CV},
  note          = {ICLR 2024 Workshop on Representational Alignment (Re-Align)}
}"""


def suite_bibtex() -> str:
    """BibTeX of this suite at the installed version."""
    return f"""@software{{brainalign,
  author  = {{{{brainalign developers}}}},
  title   = {{brainalign: layer-wise brain alignment benchmarks for vision models}},
  version = {{{__version__}}},
  year    = {{2026}},
  url     = {{https://github.com/brainalign/brainalign}},
  note    = {{Benchmarks are cited by id and version, e.g. kriegeskorte2008.hIT@1}}
}}"""


def bibtex_for(identifier: str | None = None) -> str:
    """BibTeX for ``identifier``: a benchmark id (its data, the study, the suite), a data set
    name (its sources and the suite), ``study``, or None / ``brainalign`` (the suite)."""
    if identifier in (None, "", "brainalign", "suite"):
        return suite_bibtex()
    if identifier == "study":
        return STUDY_BIBTEX
    from .neural_data.registry import datasets, get_dataset

    if identifier in {d.name for d in datasets()}:
        return "\n\n".join([get_dataset(identifier).bibtex, suite_bibtex()])
    from .benchmarks.registry import get

    try:
        benchmark = get(identifier)
    except BrainAlignError:
        raise BrainAlignError(
            f"nothing to cite called {identifier!r}: give a benchmark id (`brainalign benchmarks`), "
            "a data set (`brainalign data list`), `study` or `brainalign`"
        ) from None
    return benchmark.bibtex
