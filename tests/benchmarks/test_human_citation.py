"""CITATION.cff agrees with the package and with `brainalign cite`."""

from __future__ import annotations

from pathlib import Path

import yaml

from brainalign import __version__
from brainalign.citation import STUDY_BIBTEX, bibtex_for, suite_bibtex

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
