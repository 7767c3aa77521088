"""A result one can cite: `brainalign cite RESULT` gives the BibTeX of the benchmark's data, the
study and the suite (at the version that computed the result), and a methods sentence naming the
benchmark id@version, the number with its interval and what that interval is, the layer policy,
the seed, the brainalign version and the result's content id."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_run import run_cli
from synthetic_results import make_result

from brainalign.citation import STUDY_BIBTEX, suite_bibtex
from brainalign.citing import keys, with_study_and_suite
from brainalign.results import ResultsStore


def cite(argv: list[str], capsys) -> tuple[int, str, str]:
    return run_cli(["cite", *argv], capsys)


@pytest.fixture
def result_file(tmp_path: Path) -> tuple[Path, object]:
    result = make_result("efficientnet_lite0", "kriegeskorte2008.hIT@1")
    result.provenance["brainalign_version"] = "0.0.9"
    return ResultsStore(tmp_path / "results").save(result), result


def test_cite_a_result_gives_its_bibtex_and_a_methods_sentence(result_file, capsys) -> None:
    path, result = result_file
    code, out, _ = cite([str(path)], capsys)
    assert code == 0
    bibtex, _, comment = out.partition("% Methods:")
    found = keys(bibtex)
    assert found == ["kriegeskorte2008", "opielka2024saliency", "brainalign"]  # data, study, suite, once each
    assert "version = {0.0.9}" in bibtex  # the suite as it was when the result was computed
    assert all(line.startswith("% ") for line in comment.strip().splitlines())  # the file stays valid .bib
    sentence = " ".join(line[2:] for line in comment.strip().splitlines())
    entry = result.summary["brain_similarity"]
    for part in (
        "on the benchmark kriegeskorte2008.hIT@1 (Title of kriegeskorte2008.hIT; data: \\cite{kriegeskorte2008})",
        "with brainalign 0.0.9 \\cite{brainalign}", "\\cite{opielka2024saliency}",
        f"brain similarity = {entry['value']:.3f} ([{entry['ci_low']:.3f}, {entry['ci_high']:.3f}]: "
        "95% expanded percentile bootstrap over subjects",
        f"{entry['normalised']:.3f} of the upper noise ceiling", 'policy "blocks"', "seed 0",
        f"result id {result.content_id()}",
    ):
        assert part in sentence, part


def test_a_result_without_interval_or_headline_still_gets_a_sentence(result_file, tmp_path: Path, capsys) -> None:
    result = make_result("efficientnet_lite0", "mur2013.judgements@1")
    result.summary["brain_similarity"].update(ci_low=None, ci_high=None)
    path = ResultsStore(tmp_path / "other").save(result)
    _, out, _ = cite([str(path)], capsys)
    sentence = " ".join(out.split())
    assert f"brain similarity = {result.summary['brain_similarity']['value']:.3f}, " in sentence
    assert "95% interval" not in sentence


def test_an_edited_result_cannot_be_cited(result_file, capsys) -> None:
    path, _ = result_file
    document = json.loads(path.read_text())
    document["summary"]["brain_similarity"]["value"] = 0.9
    path.write_text(json.dumps(document))
    code, _, err = cite([str(path)], capsys)
    assert code == 2 and "does not match its content id" in err


def test_benchmark_bibtex_that_lacks_the_study_or_suite_gets_them_once() -> None:
    data = "@article{toylab2026,\n  title = {Toy},\n  year = {2026}\n}"
    assert keys(with_study_and_suite(data)) == ["toylab2026", "opielka2024saliency", "brainalign"]
    full = with_study_and_suite(data)
    assert with_study_and_suite(full) == full
    assert STUDY_BIBTEX in full and suite_bibtex() in full
    assert re.findall(r"@\w+\{", with_study_and_suite("")) == ["@misc{", "@software{"]


def test_unknown_things_to_cite_are_one_clear_error(capsys) -> None:
    code, _, err = cite(["no.such.benchmark"], capsys)
    assert code == 2 and "nothing to cite called 'no.such.benchmark'" in err and "result file (.json)" in err
    code, _, err = cite(["absent.json"], capsys)
    assert code == 2 and "result file absent.json does not exist" in err
