"""The BibTeX of the suite and of the study it grows out of (CITATION.cff at the repository root
says the same for GitHub's "Cite this repository"). What to cite for a benchmark, a data set or a
result: :mod:`brainalign.citing`."""

from __future__ import annotations

from ._version import __version__
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


def suite_bibtex(version: str = __version__) -> str:
    """BibTeX of this suite at ``version`` (default: the installed one)."""
    return f"""@software{{brainalign,
  author  = {{{{brainalign developers}}}},
  title   = {{brainalign: layer-wise brain alignment benchmarks for vision models}},
  version = {{{version}}},
  year    = {{2026}},
  url     = {{https://github.com/brainalign/brainalign}},
  note    = {{Benchmarks are cited by id and version, e.g. kriegeskorte2008.hIT@1}}
}}"""
