"""`brainalign leaderboard export`: one row per model × benchmark × measure, in csv, markdown,
latex (a booktabs table that compiles) and json, each number traceable to its result."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_run import run_cli
from synthetic_results import CARDS, HUMAN, PROBE, fill_store, make_result, two_labs

from brainalign.latex import latex_escape
from brainalign.leaderboard.aggregate import build_leaderboard
from brainalign.leaderboard.export import COLUMNS, export, rows
from brainalign.leaderboard.merge import merge_stores

#: A model id holding every character LaTeX and Markdown treat specially.
AWKWARD = "net_v2&co%50$#{x}~^\\|<1>"


def export_cli(argv: list[object], capsys) -> tuple[int, str, str]:
    return run_cli(["leaderboard", "export", *argv], capsys)


def _board(folder: Path):
    merged = merge_stores([folder])
    return build_leaderboard(merged.results, merged.problems, merged=merged)


def test_csv_has_one_row_per_model_benchmark_and_headline_measure(synthetic_store, capsys) -> None:
    code, out, _ = export_cli([synthetic_store.folder, "--format", "csv"], capsys)
    assert code == 0
    table = list(csv.DictReader(io.StringIO(out)))
    assert list(table[0]) == list(COLUMNS)
    assert len(table) == len(CARDS) * (
        2 + len(HUMAN)
    )  # the probe's two headline measures, one per human benchmark
    by_key = {(r["model"], r["benchmark"], r["measure"]): r for r in table}
    for result in synthetic_store.load_all().results:
        for name in ("brain_similarity", "semantic_encoding", "saliency_suppression"):
            if name not in result.summary:
                continue
            row = by_key[(result.model_id, result.benchmark, name)]
            number = result.summary[name]
            assert float(row["value"]) == number["value"]  # exact: repr round-trips
            assert (
                float(row["ci_low"]) == number["ci_low"]
                and float(row["ci_high"]) == number["ci_high"]
            )
            assert row["result_id"] == result.content_id()
            assert row["interval"] and row["verified"] == ""
            stored_at = synthetic_store.path_for(result.model_id, result.benchmark)
            assert (
                stored_at.relative_to(synthetic_store.folder).as_posix() == row["source"]
            )  # portable
            if name == "brain_similarity":
                assert float(row["normalised"]) == number["normalised"]
                assert float(row["ceiling_upper"]) == result.summary["noise_ceiling"]["upper"]
                assert int(row["n_subjects"]) == HUMAN[result.benchmark][1]
                assert bool(row["caveat"]) == (HUMAN[result.benchmark][1] < 8)  # hIT's 4 subjects
            else:
                assert row["normalised"] == "" and row["n_subjects"] == ""


def test_all_measures_adds_every_declared_number(synthetic_store) -> None:
    board = _board(synthetic_store.folder)
    headline, every = rows(board), rows(board, all_measures=True)
    extra = {r["measure"] for r in every} - {r["measure"] for r in headline}
    assert "brain_similarity_max" in extra and "sensitivity.Salient.saliency" in extra
    assert "noise_ceiling" not in {r["measure"] for r in every}  # a column, not a row


def test_conflicting_results_are_left_out(tmp_path: Path, capsys) -> None:
    lab_a, lab_b = two_labs(tmp_path)
    code, out, err = export_cli([lab_a.folder, lab_b.folder, "--format", "json"], capsys)
    assert code == 0 and "left out (conflict): clip_rn50 on algonauts2019.92images.IT@1" in err
    data = json.loads(out)
    assert not [
        r
        for r in data["rows"]
        if r["model"] == "clip_rn50" and r["benchmark"].startswith("algonauts")
    ]
    assert data["columns"] == list(COLUMNS)
    assert len(data["rows"]) == 3 * (2 + len(HUMAN)) - 1


def test_json_has_no_nan(synthetic_store) -> None:
    text = export(_board(synthetic_store.folder), "json")
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    probe_row = next(r for r in data["rows"] if r["benchmark"] == PROBE)
    assert probe_row["normalised"] is None and probe_row["ceiling_upper"] is None


def test_markdown_is_a_table_with_its_notes(tmp_path: Path) -> None:
    store = fill_store(
        tmp_path / "results", models=("clip_rn50",), benchmarks=(PROBE, "kriegeskorte2008.hIT@1")
    )
    store.save(make_result(AWKWARD, "kriegeskorte2008.hIT@1"))
    text = export(_board(store.folder), "markdown")
    lines = text.splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert (
        len(table) == 2 + 2 + 1 + 1
    )  # header, rule, clip_rn50's three rows, the awkward model's one
    assert all(
        line.count(" | ") == table[0].count(" | ") for line in table if not line.startswith("|-")
    )
    assert any(line.startswith(r"| net_v2&co%50$#{x}~^\\\|&lt;1&gt; |") for line in table)
    assert "1. 95% expanded percentile bootstrap over subjects" in text
    # hIT@1 resamples subjects only: with 4 of them, about an 80% interval (a two-factor one: about 90%)
    assert (
        "Few subjects: an interval from only 4 subjects" in text and "about an 80% interval" in text
    )
    assert "about a 90% interval" not in text


def _latex_engine() -> str | None:
    return shutil.which("pdflatex")


@pytest.fixture
def latex():
    engine = _latex_engine()
    if engine is None:
        message = (
            "no LaTeX engine: apt-get install texlive-latex-recommended (Debian) to check that "
            "the exported table compiles"
        )
        if os.environ.get("BRAINALIGN_REQUIRE_LATEX", "") not in ("", "0"):
            pytest.fail(message)
        pytest.skip(message)
    return engine


def test_the_latex_table_compiles(tmp_path: Path, latex: str, capsys) -> None:
    store = fill_store(tmp_path / "results", models=tuple(CARDS))
    store.save(make_result(AWKWARD, "kriegeskorte2008.hIT@1"))
    table = tmp_path / "table.tex"
    code, _, err = export_cli([store.folder, "--format", "latex", "--out", table], capsys)
    assert code == 0 and f"wrote {table}" in err
    source = table.read_text()
    assert r"\toprule" in source and r"\midrule" in source and r"\bottomrule" in source
    (tmp_path / "paper.tex").write_text(
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs,longtable}\n"
        "\\usepackage[landscape,margin=1cm]{geometry}\n"
        "\\begin{document}\n\\input{table.tex}\n\\end{document}\n"
    )
    run = subprocess.run(
        [latex, "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "paper.pdf").stat().st_size > 1000
    text = (
        subprocess.run(
            ["pdftotext", "paper.pdf", "-"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        if shutil.which("pdftotext")
        else None
    )
    if text is not None:  # the awkward id prints as itself
        assert "net_v2&co%50$#{x}" in text.stdout


def test_latex_escape_leaves_nothing_active() -> None:
    escaped = latex_escape(AWKWARD + " ρ ÷ é")
    for active in ("&", "%", "$", "#", "_", "{", "}", "~", "^", "\\"):
        stripped = escaped
        for command in (
            r"\textbackslash{}",
            r"\textasciitilde{}",
            r"\textasciicircum{}",
            r"\textless{}",
            r"\textgreater{}",
            r"\textbar{}",
            r"$\rho$",
            r"$\div$",
        ):
            stripped = stripped.replace(command, "")
        assert all(
            stripped[i - 1] == "\\"
            for i, c in enumerate(stripped)
            if c == active and active != "\\"
        ), active
    assert "?" in escaped  # é: outside what pdflatex's default fonts print
    # prose for a UTF-8 document (the methods text) keeps its letters, not its active characters
    assert latex_escape("Schütt <3", ascii_only=False) == r"Schütt \textless{}3"


def test_export_of_nothing_is_an_error(tmp_path: Path, capsys) -> None:
    (tmp_path / "results").mkdir()
    code, _, err = export_cli([tmp_path / "results"], capsys)
    assert code == 2 and "no results to export" in err


def test_values_round_trip_through_csv(synthetic_store) -> None:
    table = list(csv.DictReader(io.StringIO(export(_board(synthetic_store.folder), "csv"))))
    for row in table:
        for column in ("value", "ci_low", "ci_high"):
            assert row[column] == "" or math.isfinite(float(row[column]))
