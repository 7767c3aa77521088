"""CITATION.cff agrees with the package and with `brainalign cite`."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from brainalign import __version__
from brainalign.benchmarks.registry import all_benchmarks
from brainalign.bibtex import STUDY_BIBTEX, suite_bibtex
from brainalign.cite import bibtex_for

CFF = Path(__file__).resolve().parents[2] / "CITATION.cff"


def test_citation_cff_matches_the_suite_bibtex() -> None:
    cff = yaml.safe_load(CFF.read_text("utf-8"))
    assert {"cff-version", "message", "title", "authors"} <= set(cff)
    assert cff["version"] == __version__.split("+")[0]
    assert f"title   = {{{cff['title']}}}" in suite_bibtex()
    assert f"version = {{{__version__}}}" in suite_bibtex()
    study = cff["references"][0]
    assert study["title"] in STUDY_BIBTEX and "2404.18772" in study["identifiers"][0]["value"]


def test_cite_without_id_is_the_suite() -> None:
    assert bibtex_for(None) == bibtex_for("brainalign") == suite_bibtex()
    assert bibtex_for("study") == STUDY_BIBTEX
    assert "@article{kriegeskorte2008matching" in bibtex_for("kriegeskorte2008_92")


def test_every_builtin_benchmark_cites_the_study_and_the_suite_once_each() -> None:
    builtin = [b for b in all_benchmarks() if type(b).__module__.startswith("brainalign.")]
    assert "probe.saliency_semantic" in {b.id for b in builtin}
    for benchmark in builtin:
        text = bibtex_for(benchmark.id)
        assert STUDY_BIBTEX in text and suite_bibtex() in text, benchmark.id
        keys = re.findall(r"@\w+\{([^,\s]+),", text)
        assert len(keys) == len(set(keys)), (benchmark.id, keys)  # one entry per key, no variants
    probe = bibtex_for("probe.saliency_semantic")
    for key in ("itti1998saliency", "reimers2019sbert", "brainalign"):
        assert f"{{{key}," in probe
    assert "Tux Paint" in probe  # the default probe's image pool
