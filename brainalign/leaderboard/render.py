"""The static HTML leaderboard: an index page (the ranked table first) and, in a folder beside it,
one page per model and per benchmark, the analysis page (relations, claims, untrained twins) and
the CSV export. Every page is self-contained (inline CSS, JS and SVG) and links the others by
relative paths, so the index and its folder open offline from ``file://`` and can be zipped,
archived or served anywhere.

Everything that came from a user (model ids, cards, benchmark text, provenance) passes through
Jinja2's autoescaping; embedded JSON goes through ``tojson``, which escapes ``<``, ``>`` and ``&``
so no string can close the ``<script>`` element.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from .._files import atomic_path
from .._version import __version__
from ..caveats import FEW_SUBJECTS
from ..progress import progress
from ..results import RejectedFile, Result, as_float, jsonable
from .aggregate import BenchmarkCard, Entry, Leaderboard, build_leaderboard, is_trained
from .claims import Claim, DecisiveTests, decisive_rows, decisive_tests, evaluate_claims, page_text
from .differences import format_interval
from .export import claims_data, export
from .merge import Conflict, merge_stores
from .methods import cite_result
from .plots import profile_svg, scatter_svg, shorten
from .ranking import T_975, Z_975, Ranking, rank
from .relation import POINTS_INDEPENDENT, PROBE_MEASURES, brain_columns, metric_label
from .robustness import Robustness, metric_robustness

_TEMPLATES = "templates"
_MEASURE_LABELS = {
    "semantic": "semantic ρ (probe, Baseline)",
    "saliency": "saliency ρ (probe, Baseline)",
    "semantic_encoding": "semantic encoding",
    "saliency_suppression": "saliency suppression",
}
#: The folder beside the index that holds the other pages: ``leaderboard.html`` → ``leaderboard_files``.
FILES_SUFFIX = "_files"
CSV_NAME = "leaderboard.csv"


@dataclass(frozen=True)
class LeaderboardPage:
    """What ``leaderboard build`` wrote (the index and the folder of pages beside it), what it
    skipped and which results conflict."""

    path: Path
    n_results: int
    n_models: int
    problems: list[RejectedFile]
    conflicts: list[Conflict] = field(default_factory=list)
    folder: Path | None = None
    n_pages: int = 1


def files_folder(index: str | os.PathLike[str]) -> Path:
    """The folder of pages that belongs to the index page ``index``."""
    path = Path(index)
    return path.with_name(path.stem + FILES_SUFFIX)


def build(
    results_dirs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out: str | Path,
    *,
    strict: bool = False,
    probe: str | None = None,
    title: str = "brainalign leaderboard",
) -> LeaderboardPage:
    """Read every result under each of ``results_dirs`` (one folder or several: several labs'
    results merge, see :mod:`.merge`) and write the leaderboard: the index page ``out`` and its
    folder of pages (:func:`files_folder`), both replaced whole. Unreadable results are skipped
    and reported, conflicting ones shown as conflicts (with ``strict``, either raises)."""
    folders = [results_dirs] if isinstance(results_dirs, (str, os.PathLike)) else list(results_dirs)
    merged = merge_stores(folders, strict=strict)
    board = build_leaderboard(merged.results, merged.problems, probe=probe, merged=merged)
    site = Site(board, title=title, files=files_folder(out).name)
    pages = site.pages()
    _write_page(Path(out), pages)
    return LeaderboardPage(
        Path(out),
        len(merged.results),
        len(board.entries),
        merged.problems,
        merged.conflicts,
        files_folder(out),
        len(pages),
    )


def _write_page(index: Path, pages: dict[str, str]) -> None:
    """Write the index ``index`` and its folder of pages, both replaced whole: the new index and
    folder are written aside first, so a write the machine refuses (a full disk, no permission)
    raises a :class:`~brainalign.errors.BrainAlignError` naming ``index`` and leaves the old
    page, folder included, as it was."""
    with atomic_path(index) as tmp:
        tmp.write_text(pages["index.html"], encoding="utf-8")
        _write_folder(files_folder(index), {k: v for k, v in pages.items() if k != "index.html"})


def _write_folder(folder: Path, files: dict[str, str]) -> None:
    """Write ``files`` (relative path → text) as ``folder``, replacing what was there at once:
    the new folder is written aside, then swapped in; on failure the old folder stays."""
    fresh = folder.with_name(f".{folder.name}.new-{os.getpid()}")
    stale = folder.with_name(f".{folder.name}.old-{os.getpid()}")
    for path in (fresh, stale):
        shutil.rmtree(path, ignore_errors=True)
    try:
        for relative, text in files.items():
            target = fresh / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        if folder.exists():
            folder.rename(stale)
        try:
            fresh.rename(folder)
        except OSError:
            if stale.exists():
                stale.rename(folder)
            raise
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    shutil.rmtree(stale, ignore_errors=True)


def render_html(board: Leaderboard, *, title: str = "brainalign leaderboard") -> str:
    """The index page as one HTML string (deterministic for the same results)."""
    return Site(board, title=title).index()


def render_analysis(board: Leaderboard, *, title: str = "brainalign leaderboard") -> str:
    """The analysis page (relations, claims, untrained twins) as one HTML string."""
    return Site(board, title=title).analysis()


def slug(text: str) -> str:
    """A file name for ``text`` (a model or benchmark id): its safe characters and a short hash,
    so distinct ids never share a page."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:48] or "id"
    return f"{safe}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


class Site:
    """The pages of one leaderboard, by relative path from the index's folder."""

    def __init__(
        self,
        board: Leaderboard,
        *,
        title: str = "brainalign leaderboard",
        files: str = "leaderboard" + FILES_SUFFIX,
    ) -> None:
        self.board = board
        self.title = title
        self.files = files
        self.ranking = rank(board)
        self.env = _environment()
        self.columns = _columns(board)
        self.cards = {b.identifier: b for b in board.benchmarks}

    # --- links ------------------------------------------------------------------------------
    def model_path(self, model: str) -> str:
        return f"models/{slug(model)}.html"

    def benchmark_path(self, identifier: str) -> str:
        return f"benchmarks/{slug(identifier)}.html"

    def pages(self) -> dict[str, str]:
        """Every page and file of the site: ``index.html`` (written as the index itself) and the
        rest by their path inside the folder of pages."""
        pages = {
            "index.html": self.index(),
            "analysis.html": self.analysis(),
            CSV_NAME: export(self.board, "csv"),
        }
        for entry in progress(self.board.entries, desc="model pages"):
            pages[self.model_path(entry.model_id)] = self.model_page(entry)
        for bench in self.board.benchmarks:
            pages[self.benchmark_path(bench.identifier)] = self.benchmark_page(bench)
        return pages

    def _render(self, template: str, depth: int, **context: Any) -> str:
        """``depth``: how many folders below the index the page lies (0: the index)."""
        up = "../" * depth
        files = f"{up}{self.files}/" if depth == 0 else "../" * (depth - 1)
        return self.env.get_template(template).render(
            title=self.title,
            version=__version__,
            board=self.board,
            ranking=self.ranking,
            index=f"{up}{_index_name(self.files)}",
            files=files,
            model_link=lambda m: files + self.model_path(m),
            benchmark_link=lambda b: files + self.benchmark_path(b),
            css=Markup(_asset("leaderboard.css")),
            js=Markup(_asset("leaderboard.js")),
            few_subjects_threshold=FEW_SUBJECTS,
            **context,
        )

    # --- the index ----------------------------------------------------------------------------
    def index(self) -> str:
        board = self.board
        return self._render(
            "leaderboard.html.j2",
            0,
            columns=self.columns,
            rows=[self._row(entry) for entry in self._ranked_entries()],
            families=sorted({str(e.card.get("family") or "") for e in board.entries} - {""}),
            objectives=sorted({str(e.card.get("objective") or "") for e in board.entries} - {""}),
            warnings=self._warnings(),
            intervals=self._interval_notes(),
            ranking_data=self._ranking_data(),
            csv=CSV_NAME,
        )

    def _ranked_entries(self) -> list[Entry]:
        return [self.board.entry(s.model) for s in self.ranking.standings]

    def _row(self, entry: Entry) -> dict[str, Any]:
        card = entry.card
        standing = self.ranking.standing(entry.model_id)
        text = [
            entry.model_id,
            card.get("family"),
            card.get("objective"),
            card.get("training_data"),
        ]
        return {
            "model": entry.model_id,
            "family": str(card.get("family") or ""),
            "objective": str(card.get("objective") or ""),
            "rank": standing.rank,
            "overall": (standing.value, standing.ci_low, standing.ci_high),
            "missing": standing.missing,
            "cells": [self._cell(entry, column) for column in self.columns],
            "correlations": _upper_triangle(self.ranking.correlations.get(entry.model_id)),
            "search": " ".join(str(t) for t in text if t).lower(),
        }

    def _cell(self, entry: Entry, column: Column) -> dict[str, Any]:
        """One number of the table: value, interval, its raw counterpart, where it came from."""
        board = self.board
        result = entry.results.get(column.benchmark.identifier)
        empty = {
            "conflict": False,
            "missing": False,
            "value": math.nan,
            "low": math.nan,
            "high": math.nan,
            "se": math.nan,
            "dof": math.nan,
            "title": "",
            "verified": "",
            "withheld": "",
        }
        if board.conflicting(entry.model_id, column.benchmark.identifier):
            return {**empty, "conflict": True}
        if result is None:
            return {**empty, "missing": True}
        number = result.summary.get(column.measure) or {}
        prefix = "normalised" if column.normalised else "value"
        low_key, high_key = (
            ("normalised_ci_low", "normalised_ci_high")
            if column.normalised
            else ("ci_low", "ci_high")
        )
        part = self.ranking.components.get(entry.model_id, {}).get(column.benchmark.identifier)
        verification = board.merged.verification_of(result) if board.merged is not None else None
        raw = _interval(number)
        hover = [f"{column.benchmark.identifier}, {column.label}: {raw}"]
        if column.normalised:
            hover.append(f"÷ upper noise ceiling {column.benchmark.ceiling_upper:.3f}")
        if number.get("layer"):
            hover.append(f"layer {number['layer']}")
        withheld = (result.summary.get(column.measure) or {}).get("normalised_withheld")
        if withheld:
            hover.append(f"not divided by the ceiling: {withheld}")
        return {
            **empty,
            "value": as_float(number.get(prefix)),
            "low": as_float(number.get(low_key)),
            "high": as_float(number.get(high_key)),
            "se": part.se if part is not None and column.normalised else math.nan,
            "dof": part.dof if part is not None and column.normalised else math.nan,
            "title": "; ".join(hover),
            "verified": verification.summary() if verification is not None else "",
            "withheld": str(withheld or ""),
        }

    def _warnings(self) -> list[str]:
        """Everything that may change how a number on the index reads, one line each."""
        board = self.board
        lines = [f"skipped {p.path}: {p.message}" for p in board.problems]
        lines += [f"conflict: {c}; none of these numbers is shown" for c in board.conflicts]
        lines += [str(n) for n in board.warnings]
        return lines

    def _interval_notes(self) -> list[dict[str, Any]]:
        """What the table's intervals resample, once per distinct description, with its benchmarks."""
        groups: dict[str, list[BenchmarkCard]] = {}
        for column in self.columns:
            groups.setdefault(column.benchmark.interval or "not recorded", [])
            if column.benchmark not in groups[column.benchmark.interval or "not recorded"]:
                groups[column.benchmark.interval or "not recorded"].append(column.benchmark)
        return [{"text": text, "benchmarks": benches} for text, benches in groups.items()]

    def _ranking_data(self) -> dict[str, Any]:
        ranking = self.ranking
        return {
            "benchmarks": [b.identifier for b in ranking.benchmarks],
            "columns": [
                c.benchmark.identifier
                if c.normalised and c.benchmark in ranking.benchmarks
                else None
                for c in self.columns
            ],
            "weights": ranking.weights,
            "t975": list(T_975),
            "z975": Z_975,
        }

    # --- detail pages -------------------------------------------------------------------------
    def _classical_brains(self) -> list[str]:
        """The layer table's brain columns scored with classical RSA (plots labelled ρ, the relations)."""
        classical = set(self.board.brain_columns())
        return [c for c in brain_columns(self.board.layers) if c in classical]

    def model_page(self, entry: Entry) -> str:
        board = self.board
        brains = self._classical_brains()
        layers = (
            board.layers[board.layers["model"] == entry.model_id]
            if len(board.layers)
            else board.layers
        )
        labels = {c: self._brain_label(c) for c in brains}
        twins = (
            board.twins[board.twins["model"] == entry.model_id] if len(board.twins) else board.twins
        )
        return self._render(
            "model.html.j2",
            2,
            entry=entry,
            standing=self.ranking.standing(entry.model_id),
            results=[
                self._result_view(entry, identifier, result)
                for identifier, result in entry.results.items()
            ],
            profile=Markup(profile_svg(layers, brains, labels, key="profile"))
            if len(layers)
            else "",
            notes=[n for n in board.notes if n.model == entry.model_id],
            conflicts=[c for c in _conflicts(board) if c["model"] == entry.model_id],
            twins=_records(twins),
            card_json=json.dumps(entry.card, indent=2, sort_keys=True, ensure_ascii=False),
        )

    def _brain_label(self, column: str) -> str:
        identifier, _, target = column.partition(":")
        card = self.cards.get(identifier)
        name = card.name if card is not None else identifier
        return f"{name} ({target})" if target else name

    def _result_view(self, entry: Entry, identifier: str, result: Result) -> dict[str, Any]:
        board = self.board
        card = self.cards[identifier]
        verification = board.merged.verification_of(result) if board.merged is not None else None
        origins = board.merged.origins_of(result) if board.merged is not None else ()
        numbers = []
        for measure in result.measures:
            number = result.summary.get(measure.name) or {}
            if measure.kind == "noise_ceiling" or number.get("value") is None:
                continue
            numbers.append(
                {
                    "label": measure.label or measure.name,
                    "name": measure.name,
                    "headline": measure.headline,
                    "value": _interval(number),
                    "normalised": _interval(number, "normalised")
                    if measure.kind == "brain_similarity"
                    else "",
                    "withheld": str(number.get("normalised_withheld") or ""),
                    "layer": str(number.get("layer") or ""),
                    "description": measure.description,
                }
            )
        return {
            "benchmark": card,
            "id": _id(board, result),
            "numbers": numbers,
            "verified": verification.summary() if verification is not None else "",
            "sources": [
                (Path(o.folder) / o.file).as_posix() for o in origins
            ],  # as the user named the folder
            "caveat": card.few_subjects,
            "dropped": [
                f"{d.get('layer')} ({d.get('reason')})" if isinstance(d, dict) else str(d)
                for d in result.extra.get("dropped_layers") or []
            ],
            "citation": cite_result(result, "text"),  # what `brainalign cite RESULT` prints
            "conflict": board.conflicting(entry.model_id, identifier),
            "text": json.dumps(
                {"summary": result.summary, "provenance": result.provenance},
                indent=2,
                sort_keys=True,
                ensure_ascii=False,
            ),
        }

    def benchmark_page(self, bench: BenchmarkCard) -> str:
        board = self.board
        rows: list[dict[str, Any]] = []
        for entry in board.entries:
            result = entry.results.get(bench.identifier)
            if result is None:
                continue
            verification = (
                board.merged.verification_of(result) if board.merged is not None else None
            )
            rows.append(
                {
                    "model": entry.model_id,
                    "id": _id(board, result),
                    "verified": verification.summary() if verification is not None else "",
                    "conflict": board.conflicting(entry.model_id, bench.identifier),
                    "cells": [
                        _number_cell(result, m.name, m.kind == "brain_similarity")
                        for m in bench.headlines
                    ],
                }
            )
        key = 0 if bench.headlines else None
        if key is not None:
            rows.sort(
                key=lambda r: (
                    math.isnan(r["cells"][0]["sort"]),
                    -r["cells"][0]["sort"] if not math.isnan(r["cells"][0]["sort"]) else 0,
                    r["model"],
                )
            )
        return self._render(
            "benchmark.html.j2",
            2,
            bench=bench,
            rows=rows,
            notes=[n for n in board.notes if n.benchmark == bench.identifier],
            in_table=bench in board.ranked_benchmarks,
        )

    def analysis(self) -> str:
        board = self.board
        brains = self._classical_brains()
        relations = _relation_records(board.layer_relations)
        tests = decisive_tests(board)
        claims = evaluate_claims(board, tests)
        robustness = metric_robustness(board)
        return self._render(
            "analysis_page.html.j2",
            1,
            probes=board.probes,
            pooled=[r for r in relations if r["model"] == "" and r["n"] > 0],
            per_model=[r for r in relations if r["model"] != "" and r["n"] > 0],
            across_models=[r for r in _relation_records(board.model_relations) if r["n"] > 0],
            layer_figures=self._layer_figures(brains),
            model_figures=self._model_figures(),
            twins=_records(board.twins),
            claims=claims,
            decisive=decisive_rows(tests),
            analysis=page_text(tests),
            robustness=robustness,
            data=self._analysis_data(tests, claims, robustness),
        )

    def _analysis_data(
        self, tests: DecisiveTests, claims: Sequence[Claim], robustness: Robustness
    ) -> Any:
        """The analysis page's summary numbers, JSON-ready, for its download button: the decisive
        tests, the claims, the relations pooled over models and the metric-robustness panel. Only
        the panel's ranks grow with the number of models (one small integer per model, target and
        metric); no other per-model rows, and each test names its lineages but not its models (the
        json export lists them)."""
        board = self.board
        relations = board.layer_relations
        data = claims_data(board, tests, claims)
        return jsonable(
            {
                "brainalign_version": __version__,
                "probe": board.probe,
                "decisive_tests": [
                    {k: v for k, v in row.items() if k != "models"}
                    for row in data["decisive_tests"]
                ],
                "claims": data["claims"],
                "pooled_relations": _records(
                    relations[relations["model"] == ""] if len(relations) else relations
                ),
                "model_relations": _records(board.model_relations),
                "metric_robustness": robustness.to_dict(),
            },
            "analysis data",
        )

    def _kinds(self) -> dict[str, str]:
        return {e.model_id: "trained" if is_trained(e) else "untrained" for e in self.board.entries}

    def _layer_figures(self, brains: list[str]) -> list[dict[str, Any]]:
        figures = []
        relations = self.board.layer_relations
        pooled = relations[relations["model"] == ""] if len(relations) else relations
        jobs = [(brain, measure) for brain in brains for measure in PROBE_MEASURES]
        for index, (brain, measure) in enumerate(progress(jobs, desc="relation plots")):
            fit = (
                pooled[(pooled["brain"] == brain) & (pooled["measure"] == measure)]
                .iloc[0]
                .to_dict()
            )
            if fit["n"] == 0:
                continue
            figures.append(
                {
                    "brain": brain,
                    "measure": measure,
                    "fit": fit,
                    "svg": Markup(
                        scatter_svg(
                            self.board.layers,
                            measure,
                            brain,
                            fit,
                            key=f"layers-{index}",
                            kinds=self._kinds(),
                            x_label=_MEASURE_LABELS[measure],
                            y_label=f"{self._brain_label(brain)} ρ (mean over subjects)",
                        )
                    ),
                }
            )
        return figures

    def _model_figures(self) -> list[dict[str, Any]]:
        figures = []
        for index, fit in enumerate(_records(self.board.model_relations)):
            if fit["n"] == 0:
                continue
            figures.append(
                {
                    "brain": fit["brain"],
                    "measure": fit["measure"],
                    "fit": fit,
                    "svg": Markup(
                        scatter_svg(
                            self.board.models,
                            fit["measure"],
                            fit["brain"],
                            fit,
                            key=f"models-{index}",
                            kinds=self._kinds(),
                            x_label=_MEASURE_LABELS[fit["measure"]],
                            y_label=f"{self._brain_label(fit['brain'])} brain similarity",
                        )
                    ),
                }
            )
        return figures


@dataclass(frozen=True)
class Column:
    """A column of the index's table: one headline measure of one benchmark, normalised by the
    noise ceiling where the measure is a brain similarity and the ceiling can be used."""

    benchmark: BenchmarkCard
    measure: str
    label: str
    normalised: bool


def _columns(board: Leaderboard) -> list[Column]:
    """The table's columns, from what the benchmarks declare: every headline measure of every
    benchmark of the main table (human benchmarks first, then the probe and others)."""
    order = {"human": 0, "probe": 1, "other": 2}
    columns = []
    for bench in sorted(board.ranked_benchmarks, key=lambda b: (order[b.kind], b.identifier)):
        for measure in bench.headlines:
            brain = measure.kind == "brain_similarity"
            normalised = (
                brain
                and bench.ceiling_reliable is not False
                and bench.ceiling_upper == bench.ceiling_upper
            )
            columns.append(Column(bench, measure.name, measure.label or measure.name, normalised))
    return columns


def _interval(number: dict[str, Any], prefix: str = "") -> str:
    """``value [low, high]`` of a summary entry (``prefix`` "normalised": its normalised triple)."""
    value = prefix or "value"
    low, high = (f"{prefix}_ci_low", f"{prefix}_ci_high") if prefix else ("ci_low", "ci_high")
    return format_interval(
        as_float(number.get(value)), as_float(number.get(low)), as_float(number.get(high))
    )


def _number_cell(result: Result, name: str, brain: bool) -> dict[str, Any]:
    number = result.summary.get(name) or {}
    return {
        "raw": _interval(number),
        "normalised": _interval(number, "normalised") if brain else "",
        "layer": str(number.get("layer") or ""),
        "sort": as_float(
            number.get("normalised" if brain and number.get("normalised") is not None else "value")
        ),
    }


def _upper_triangle(matrix: Any) -> list[float]:
    if matrix is None:
        return []
    k = len(matrix)
    return [round(float(matrix[i][j]), 4) for i in range(k) for j in range(i + 1, k)]


def _index_name(files: str) -> str:
    return files[: -len(FILES_SUFFIX)] + ".html" if files.endswith(FILES_SUFFIX) else "index.html"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("brainalign.leaderboard", _TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["interval"] = lambda v: format_interval(*v)
    env.filters["num"] = lambda v, digits=3: format_interval(v, digits=digits)
    env.filters["sortvalue"] = _sort_value
    env.filters["parameters"] = _parameters
    env.filters["pvalue"] = _p_value
    env.filters["measure"] = lambda m: _MEASURE_LABELS.get(m, m)
    env.filters["metric"] = metric_label
    env.filters["short"] = shorten
    env.filters["breakable"] = _breakable
    env.filters["isnan"] = lambda v: math.isnan(as_float(v))
    return env


def _breakable(text: str) -> Markup:
    """``text`` escaped, with line-break opportunities after dots, underscores and tildes (ids in
    narrow column heads break there, not mid-word)."""
    return Markup("<wbr>").join(Markup.escape(part) for part in re.split(r"(?<=[._~])", str(text)))


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(_TEMPLATES).joinpath(name).read_text("utf-8")


def _sort_value(value: Any) -> str:
    number = as_float(value)
    return "" if math.isnan(number) else repr(number)


def _parameters(value: Any) -> str:
    number = as_float(value)
    if math.isnan(number):
        return "—"
    if number >= 1e9:
        return f"{number / 1e9:.2f} B"
    return f"{number / 1e6:.1f} M" if number >= 1e5 else f"{number:,.0f}"


def _p_value(value: Any) -> str:
    number = as_float(value)
    return "—" if math.isnan(number) else f"{number:.1e}" if number < 1e-3 else f"{number:.3f}"


def _id(board: Leaderboard, result: Result) -> str:
    return board.merged.id_of(result) if board.merged is not None else result.content_id()


def _headline(result: Result) -> str:
    measure = result.headline()
    if measure is None:
        return "—"
    entry = result.summary[measure.name]
    return f"{measure.name} {_interval(entry)}"


def _conflicts(board: Leaderboard) -> list[dict[str, Any]]:
    return [
        {
            "model": c.model_id,
            "benchmark": c.benchmark,
            "settings": json.dumps(c.settings, sort_keys=True, ensure_ascii=False),
            "versions": [
                {
                    "number": _headline(r),
                    "id": _id(board, r),
                    "sources": ", ".join(dict.fromkeys(o.folder for o in origins)),
                }
                for r, origins in c.versions
            ],
            "differences": [str(d) for d in c.differences[:5]]
            + ([f"and {len(c.differences) - 5} more"] if len(c.differences) > 5 else []),
        }
        for c in board.conflicts
    ]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [dict(row) for row in frame.to_dict(orient="records")]


def _relation_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Relation rows, each saying whether its p-values may be shown: only beside an interval that
    also takes the points as independent (never beside one that resamples models and may
    contradict them)."""
    return [
        {**row, "show_p": row.get("ci_method") == POINTS_INDEPENDENT} for row in _records(frame)
    ]


__all__ = [
    "LeaderboardPage",
    "Ranking",
    "Site",
    "build",
    "files_folder",
    "render_analysis",
    "render_html",
    "slug",
]
