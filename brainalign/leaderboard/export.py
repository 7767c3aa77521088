"""The leaderboard's numbers as a table for papers and spreadsheets: one row per model ×
benchmark × measure, each with its interval and how that was made, the noise ceiling, the number
of subjects and stimuli, the result's content id and whether it was verified.

``csv`` and ``json`` carry every column; ``markdown`` and ``latex`` (a booktabs ``longtable``)
carry the columns a reader of a paper needs, and list what each interval resamples below the
table, numbered.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import Any

from .._version import __version__
from ..caveats import few_subjects, interval_resamples
from ..latex import latex_escape
from ..results import as_float, jsonable
from .aggregate import Leaderboard
from .claims import Claim, DecisiveTests, decisive_rows, decisive_tests, evaluate_claims
from .differences import format_interval
from .robustness import metric_robustness

FORMATS: tuple[str, ...] = ("csv", "markdown", "latex", "json")

#: Every column of a row, in order (csv, json).
COLUMNS: tuple[str, ...] = (
    "model",
    "benchmark",
    "measure",
    "kind",
    "label",
    "value",
    "ci_low",
    "ci_high",
    "normalised",
    "normalised_ci_low",
    "normalised_ci_high",
    "interval",
    "layer",
    "ceiling_lower",
    "ceiling_upper",
    "ceiling_reliable",
    "n_subjects",
    "n_stimuli",
    "caveat",
    "result_id",
    "verified",
    "source",
    "brainalign_version",
)


def rows(board: Leaderboard, *, all_measures: bool = False) -> list[dict[str, Any]]:
    """One row per model × benchmark × measure: the benchmarks' headline measures (with
    ``all_measures``, every declared measure with a value, the noise ceiling aside: it is a
    column). Results that conflict are left out, as on the page."""
    cards = {b.identifier: b for b in board.benchmarks}
    out = []
    for entry in board.entries:
        for identifier, result in entry.results.items():
            card = cards[identifier]
            verification = (
                board.merged.verification_of(result) if board.merged is not None else None
            )
            origins = board.merged.origins_of(result) if board.merged is not None else ()
            result_id = (
                board.merged.id_of(result) if board.merged is not None else result.content_id()
            )
            for measure in result.measures:
                if measure.kind == "noise_ceiling" or not (all_measures or measure.headline):
                    continue
                number = result.summary.get(measure.name) or {}
                if number.get("value") is None:
                    continue
                human = measure.kind == "brain_similarity"
                out.append(
                    {
                        "model": entry.model_id,
                        "benchmark": identifier,
                        "measure": measure.name,
                        "kind": measure.kind,
                        "label": measure.label,
                        "value": as_float(number.get("value")),
                        "ci_low": as_float(number.get("ci_low")),
                        "ci_high": as_float(number.get("ci_high")),
                        "normalised": as_float(number.get("normalised")) if human else math.nan,
                        "normalised_ci_low": as_float(number.get("normalised_ci_low"))
                        if human
                        else math.nan,
                        "normalised_ci_high": as_float(number.get("normalised_ci_high"))
                        if human
                        else math.nan,
                        "interval": measure.interval,
                        "layer": str(number.get("layer") or ""),
                        "ceiling_lower": card.ceiling_lower if human else math.nan,
                        "ceiling_upper": card.ceiling_upper if human else math.nan,
                        "ceiling_reliable": card.ceiling_reliable if human else None,
                        "n_subjects": card.n_subjects if human else None,
                        "n_stimuli": card.n_stimuli,
                        "caveat": few_subjects(
                            card.n_subjects,
                            interval_resamples(result, measure.name) or "subjects and stimuli",
                        )
                        if human
                        else "",
                        "result_id": result_id,
                        "verified": verification.summary() if verification is not None else "",
                        "source": "; ".join(o.file for o in origins),
                        "brainalign_version": str(result.provenance.get("brainalign_version", "")),
                    }
                )
    return out


def export(board: Leaderboard, fmt: str, *, all_measures: bool = False) -> str:
    """The rows of ``board`` in format ``fmt`` (one of :data:`FORMATS`)."""
    table = rows(board, all_measures=all_measures)
    if fmt == "csv":
        return to_csv(table)
    if fmt == "json":
        return (
            json.dumps(
                {
                    "brainalign_version": __version__,
                    "columns": list(COLUMNS),
                    "rows": jsonable(table, "export"),
                    **claims_data(board),
                    "metric_robustness": jsonable(
                        metric_robustness(board).to_dict(), "metric robustness"
                    ),
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )
    if fmt == "markdown":
        return to_markdown(table)
    if fmt == "latex":
        return to_latex(table)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def claims_data(
    board: Leaderboard, tests: DecisiveTests | None = None, claims: Sequence[Claim] | None = None
) -> dict[str, Any]:
    """The decisive within-model tests and the study's claims checked on ``board`` (as the analysis
    page shows them), JSON-ready: a test below its minimum carries no number."""
    tests = tests if tests is not None else decisive_tests(board)
    claims = claims if claims is not None else evaluate_claims(board, tests)
    return jsonable(
        {"decisive_tests": decisive_rows(tests), "claims": [claim.to_dict() for claim in claims]},
        "claims",
    )


def to_csv(table: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in table:
        writer.writerow({k: _csv_cell(row[k]) for k in COLUMNS})
    return buffer.getvalue()


def _csv_cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(value) if isinstance(value, float) else value


def _brief(table: Sequence[dict[str, Any]]) -> tuple[list[list[str]], list[str]]:
    """The paper columns of each row as text, and the distinct interval descriptions (numbered
    in the rows' "interval" cell)."""
    methods: list[str] = []
    cells = []
    for row in table:
        method = row["interval"] or "not recorded"
        if method not in methods:
            methods.append(method)
        caveat = " (few subjects)" if row["caveat"] else ""
        cells.append(
            [
                row["model"],
                row["benchmark"],
                row["label"],
                format_interval(row["value"], row["ci_low"], row["ci_high"]),
                format_interval(
                    row["normalised"], row["normalised_ci_low"], row["normalised_ci_high"]
                ),
                "—"
                if math.isnan(row["ceiling_upper"])
                else f"{row['ceiling_upper']:.3f}"
                + (" (unreliable)" if row["ceiling_reliable"] is False else ""),
                f"{row['n_subjects']}{caveat}" if row["n_subjects"] is not None else "—",
                str(row["n_stimuli"]) if row["n_stimuli"] is not None else "—",
                str(methods.index(method) + 1),
                row["result_id"][:12],
                "yes" if row["verified"] else "no",
            ]
        )
    return cells, methods


BRIEF_HEADER = (
    "Model",
    "Benchmark",
    "Measure",
    "Value [95% CI]",
    "÷ ceiling [95% CI]",
    "Ceiling",
    "Subjects",
    "Stimuli",
    "Interval",
    "Result id",
    "Verified",
)


def to_markdown(table: Sequence[dict[str, Any]]) -> str:
    cells, methods = _brief(table)

    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(markdown_escape(v) for v in values) + " |"

    lines = [
        line(BRIEF_HEADER),
        "|" + "|".join("---:" if i >= 3 else "---" for i in range(len(BRIEF_HEADER))) + "|",
    ]
    lines += [line(row) for row in cells]
    lines += ["", "Interval:"] + [f"{i}. {m}" for i, m in enumerate(methods, 1)]
    lines += ["", _footnote(table)]
    return "\n".join(lines) + "\n"


_MARKDOWN_SPECIAL = {
    "\\": "\\\\",
    "|": "\\|",
    "`": "\\`",
    "*": "\\*",
    "<": "&lt;",
    ">": "&gt;",
    "\n": " ",
}


def markdown_escape(text: str) -> str:
    """``text`` as a Markdown table cell that shows it as written (no markup, no cell break)."""
    return "".join(_MARKDOWN_SPECIAL.get(c, c) for c in str(text))


def to_latex(table: Sequence[dict[str, Any]]) -> str:
    """A booktabs ``longtable`` (needs ``\\usepackage{booktabs,longtable}``), its notes below."""
    cells, methods = _brief(table)
    header = " & ".join(latex_escape(h) for h in BRIEF_HEADER) + r" \\"
    body = [
        " & ".join(
            latex_escape(c) if i != 9 else r"\texttt{" + latex_escape(c) + "}"
            for i, c in enumerate(row)
        )
        + r" \\"
        for row in cells
    ]
    notes = [f"({i}) {latex_escape(m)}" for i, m in enumerate(methods, 1)]
    return (
        "\n".join(
            [
                f"% brainalign {__version__} leaderboard export; needs \\usepackage{{booktabs,longtable}}",
                r"\begingroup\small\setlength{\tabcolsep}{3pt}",
                r"\begin{longtable}{lllrrrrrrll}",
                r"\toprule",
                header,
                r"\midrule",
                r"\endhead",
                r"\bottomrule",
                r"\endfoot",
                *body,
                r"\end{longtable}",
                r"\par\footnotesize Interval: " + "; ".join(notes) + r".\par",
                r"\footnotesize " + latex_escape(_footnote(table)) + r"\par",
                r"\endgroup",
            ]
        )
        + "\n"
    )


def _footnote(table: Sequence[dict[str, Any]]) -> str:
    text = (
        "÷ ceiling: the value divided by the benchmark's upper noise ceiling. Result id: the first "
        "12 characters of the result's content id (sha256); `brainalign cite` takes the result file."
    )
    caveats = sorted({row["caveat"] for row in table if row["caveat"]})
    return text + ("".join(f" Few subjects: {c}." for c in caveats) if caveats else "")
