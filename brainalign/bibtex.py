"""BibTeX: the entries of the suite, of the study it grows out of and of the methods papers behind
its analyses (CITATION.cff at the repository root says the same for GitHub's "Cite this
repository"), and the few operations on BibTeX text the suite needs. What to cite for a benchmark,
a data set or a result: :mod:`brainalign.cite`."""

from __future__ import annotations

import re

from ._version import __version__

_KEY = re.compile(r"@\w+\s*\{\s*([^,\s]+)\s*,")

#: What ``brainalign cite RESULT --format`` accepts: the methods paragraph as text, Markdown or
#: LaTeX, each followed by its BibTeX, or ``bibtex`` (the BibTeX, the paragraph as comments).
FORMATS: tuple[str, ...] = ("text", "markdown", "latex", "bibtex")

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
  note    = {{Each result names the benchmark it was scored on as id@version}}
}}"""


#: The methods papers a methods paragraph names, by what they stand for: RSA itself, the noise
#: ceiling, and the interval of each kind (what it resamples, as results record it).
METHOD_BIBTEX: dict[str, str] = {
    "rsa": """@article{kriegeskorte2008representational,
  author  = {Kriegeskorte, Nikolaus and Mur, Marieke and Bandettini, Peter A.},
  title   = {Representational similarity analysis -- connecting the branches of systems neuroscience},
  journal = {Frontiers in Systems Neuroscience},
  volume  = {2},
  pages   = {4},
  year    = {2008},
  doi     = {10.3389/neuro.06.004.2008}
}""",
    "wrsa": """@article{kaniuth2022feature,
  author  = {Kaniuth, Philipp and Hebart, Martin N.},
  title   = {Feature-reweighted representational similarity analysis: A method for improving the fit between computational models, brains, and behavior},
  journal = {NeuroImage},
  volume  = {257},
  pages   = {119294},
  year    = {2022},
  doi     = {10.1016/j.neuroimage.2022.119294}
}""",
    "cka": """@inproceedings{kornblith2019similarity,
  author    = {Kornblith, Simon and Norouzi, Mohammad and Lee, Honglak and Hinton, Geoffrey},
  title     = {Similarity of Neural Network Representations Revisited},
  booktitle = {Proceedings of the 36th International Conference on Machine Learning},
  series    = {PMLR},
  volume    = {97},
  pages     = {3519--3529},
  year      = {2019}
}""",
    "encoding": """@article{naselaris2011encoding,
  author  = {Naselaris, Thomas and Kay, Kendrick N. and Nishimoto, Shinji and Gallant, Jack L.},
  title   = {Encoding and decoding in {fMRI}},
  journal = {NeuroImage},
  volume  = {56},
  number  = {2},
  pages   = {400--410},
  year    = {2011},
  doi     = {10.1016/j.neuroimage.2010.07.073}
}""",
    "noise ceiling": """@article{nili2014toolbox,
  author  = {Nili, Hamed and Wingfield, Cai and Walther, Alexander and Su, Li and Marslen-Wilson, William and Kriegeskorte, Nikolaus},
  title   = {A Toolbox for Representational Similarity Analysis},
  journal = {PLoS Computational Biology},
  volume  = {10},
  number  = {4},
  pages   = {e1003553},
  year    = {2014},
  doi     = {10.1371/journal.pcbi.1003553}
}""",
    "subjects and stimuli": """@article{schutt2023statistical,
  author  = {Sch{\\"u}tt, Heiko H. and Kipnis, Alexander D. and Diedrichsen, J{\\"o}rn and Kriegeskorte, Nikolaus},
  title   = {Statistical inference on representational geometries},
  journal = {eLife},
  volume  = {12},
  pages   = {e82566},
  year    = {2023},
  doi     = {10.7554/eLife.82566}
}""",
    "subjects": """@article{hesterberg2015teachers,
  author  = {Hesterberg, Tim C.},
  title   = {What Teachers Should Know About the Bootstrap: Resampling in the Undergraduate Statistics Curriculum},
  journal = {The American Statistician},
  volume  = {69},
  number  = {4},
  pages   = {371--386},
  year    = {2015},
  doi     = {10.1080/00031305.2015.1089789}
}""",
}


def method_bibtex(*methods: str) -> str:
    """The entries of :data:`METHOD_BIBTEX` for ``methods`` (unknown names are skipped)."""
    return "\n\n".join(METHOD_BIBTEX[m] for m in methods if m in METHOD_BIBTEX)


def parse_bibtex(text: str) -> dict[str, str]:
    """Split a .bib text into ``{key: entry}`` (entries start with ``@type{key,`` at a line start)."""
    entries: dict[str, str] = {}
    starts = list(re.finditer(r"^@\w+\{([^,\s]+),", text, flags=re.MULTILINE))
    for match, following in zip(starts, [*starts[1:], None]):
        end = following.start() if following else len(text)
        entries[match.group(1)] = text[match.start() : end].strip()
    return entries


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
