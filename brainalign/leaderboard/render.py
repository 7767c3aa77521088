"""The static HTML leaderboard: one self-contained file (inline CSS, JS and SVG; no network), so
it works offline from ``file://`` and can be attached, archived or served anywhere.

Everything that came from a user (model ids, cards, benchmark text, provenance) passes through
Jinja2's autoescaping; the embedded data JSON goes through ``tojson``, which escapes ``<``, ``>``
and ``&`` so no string can close the ``<script>`` element.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from .._version import __version__
from .._io import write_text_atomic
from ..progress import progress
from .aggregate import Entry, Leaderboard, build_leaderboard
from .merge import Conflict, merge_stores
from .claims import Claim, DecisiveTests, decisive_rows, decisive_tests, evaluate_claims, page_text
from .compare import format_interval
from .plots import profile_svg, scatter_svg
from .relation import POINTS_INDEPENDENT, PROBE_MEASURES, PROBE_SUMMARIES, brain_columns
from ..results import RejectedFile, Result, as_float, jsonable

_TEMPLATES = "templates"
_MEASURE_LABELS = {
    "semantic": "semantic ρ (probe, Baseline)",
    "saliency": "saliency ρ (probe, Baseline)",
    "semantic_encoding": "semantic encoding",
    "saliency_suppression": "saliency suppression",
}


@dataclass(frozen=True)
class LeaderboardPage:
    """What ``leaderboard build`` wrote, what it skipped and which results conflict."""

    path: Path
    n_results: int
    n_models: int
    problems: list[RejectedFile]
    conflicts: list[Conflict] = field(default_factory=list)


def build(
    results_dirs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], out: str | Path, *,
    strict: bool = False, probe: str | None = None, title: str = "brainalign leaderboard",
) -> LeaderboardPage:
    """Read every result under each of ``results_dirs`` (one folder or several: several labs'
    results merge, see :mod:`.merge`) and write the leaderboard to ``out`` (atomically).
    Unreadable results are skipped and reported, conflicting ones shown as conflicts (with
    ``strict``, either raises)."""
    folders = [results_dirs] if isinstance(results_dirs, (str, os.PathLike)) else list(results_dirs)
    merged = merge_stores(folders, strict=strict)
    board = build_leaderboard(merged.results, merged.problems, probe=probe, merged=merged)
    html = render_html(board, title=title)
    write_text_atomic(out, html)
    return LeaderboardPage(Path(out), len(merged.results), len(board.entries), merged.problems, merged.conflicts)


def render_html(board: Leaderboard, *, title: str = "brainalign leaderboard") -> str:
    """The leaderboard page as one HTML string (deterministic for the same results)."""
    template = _environment().get_template("leaderboard.html.j2")
    brains = brain_columns(board.layers)
    tests = decisive_tests(board)
    claims = evaluate_claims(board, tests)
    return template.render(
        title=title,
        version=__version__,
        board=board,
        humans=board.human_benchmarks,
        probes=board.probes,
        rows=[_row(entry, board) for entry in board.entries],
        families=sorted({str(e.card.get("family") or "") for e in board.entries} - {""}),
        objectives=sorted({str(e.card.get("objective") or "") for e in board.entries} - {""}),
        pooled=[r for r in _relation_records(board.layer_relations) if r["model"] == "" and r["n"] > 0],
        per_model=[r for r in _relation_records(board.layer_relations) if r["model"] != "" and r["n"] > 0],
        across_models=[r for r in _relation_records(board.model_relations) if r["n"] > 0],
        layer_figures=_layer_figures(board, brains),
        model_figures=_model_figures(board),
        profiles=_profiles(board, brains),
        twins=_records(board.twins),
        claims=claims,
        decisive=decisive_rows(tests),
        analysis=page_text(tests),
        provenance=[_provenance(entry, board) for entry in board.entries],
        entries=_entries(board),
        conflicts=_conflicts(board),
        several_sources=board.merged is not None and len({o.folder for os_ in board.merged.origins.values()
                                                          for o in os_}) > 1,
        data=_data(board, tests, claims),
        css=Markup(_asset("leaderboard.css")),
        js=Markup(_asset("leaderboard.js")),
    )


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
    return env


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(_TEMPLATES, name).read_text("utf-8")


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


def _triple(entry: Entry, benchmark: str | None, kind: str, prefix: str = "") -> tuple[float, float, float]:
    """A measure's value and interval (``prefix`` "normalised_": its normalised ones)."""
    value_key = prefix.rstrip("_") if prefix else "value"
    return tuple(entry.measured(benchmark, kind, key)  # type: ignore[return-value]
                 for key in (value_key, f"{prefix}ci_low", f"{prefix}ci_high"))


def _row(entry: Entry, board: Leaderboard) -> dict[str, Any]:
    card = entry.card
    text = [entry.model_id, card.get("family"), card.get("objective"), card.get("training_data")]
    return {
        "model": entry.model_id,
        "family": str(card.get("family") or ""),
        "objective": str(card.get("objective") or ""),
        "training_data": str(card.get("training_data") or ""),
        "n_parameters": card.get("n_parameters"),
        "probes": [
            {"semantic": _cell(entry, board, b.identifier, "semantic_encoding"),
             "saliency": _cell(entry, board, b.identifier, "saliency_suppression")}
            for b in board.probes
        ],
        "brains": [
            {"raw": _cell(entry, board, b.identifier, "brain_similarity"),
             "normalised": _cell(entry, board, b.identifier, "brain_similarity", "normalised_")}
            for b in board.human_benchmarks
        ],
        "version": ", ".join(entry.versions),
        "sources": ", ".join(dict.fromkeys(o.folder for r in entry.results.values() for o in _origins(board, r))),
        "search": " ".join(str(t) for t in text if t).lower(),
    }


def _cell(entry: Entry, board: Leaderboard, benchmark: str | None, kind: str, prefix: str = "") -> dict[str, Any]:
    """One number of the table: value and interval, the result's id, and whether it was verified
    or conflicts (then no number is shown)."""
    result = entry.results.get(benchmark) if benchmark else None
    verification = board.merged.verification_of(result) if board.merged and result is not None else None
    return {
        "triple": _triple(entry, benchmark, kind, prefix),
        "id": _id(board, result) if result is not None else "",
        "verified": verification.summary() if verification is not None else "",
        "conflict": board.conflicting(entry.model_id, benchmark),
    }


def _id(board: Leaderboard, result: Result) -> str:
    return board.merged.id_of(result) if board.merged is not None else result.content_id()


def _origins(board: Leaderboard, result: Result) -> tuple[Any, ...]:
    return board.merged.origins_of(result) if board.merged is not None else ()


def _entries(board: Leaderboard) -> list[dict[str, Any]]:
    """Every result on the page: its headline number, content id, where it came from, whether verified."""
    rows = []
    for entry in board.entries:
        for identifier, result in entry.results.items():
            verification = board.merged.verification_of(result) if board.merged is not None else None
            rows.append({"model": entry.model_id, "benchmark": identifier, "number": _headline(result),
                         "id": _id(board, result),
                         "sources": ", ".join(dict.fromkeys(o.folder for o in _origins(board, result))),
                         "verified": verification.summary() if verification is not None else ""})
    return rows


def _headline(result: Result) -> str:
    measure = result.headline()
    if measure is None:
        return "—"
    entry = result.summary[measure.name]
    return f"{measure.name} {format_interval(entry['value'], entry.get('ci_low'), entry.get('ci_high'))}"


def _conflicts(board: Leaderboard) -> list[dict[str, Any]]:
    return [{
        "model": c.model_id, "benchmark": c.benchmark,
        "settings": json.dumps(c.settings, sort_keys=True, ensure_ascii=False),
        "versions": [{"number": _headline(r), "id": _id(board, r),
                      "sources": ", ".join(dict.fromkeys(o.folder for o in origins))} for r, origins in c.versions],
        "differences": [str(d) for d in c.differences[:5]] + (
            [f"and {len(c.differences) - 5} more"] if len(c.differences) > 5 else []),
    } for c in board.conflicts]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [dict(row) for row in frame.to_dict(orient="records")]


def _relation_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Relation rows, each saying whether its p-values may be shown: only beside an interval that
    also takes the points as independent (never beside one that resamples models and may
    contradict them)."""
    return [{**row, "show_p": row.get("ci_method") == POINTS_INDEPENDENT} for row in _records(frame)]


def _layer_figures(board: Leaderboard, brains: list[str]) -> list[dict[str, Any]]:
    figures = []
    relations = board.layer_relations
    pooled = relations[relations["model"] == ""] if len(relations) else relations
    jobs = [(brain, measure) for brain in brains for measure in PROBE_MEASURES]
    for index, (brain, measure) in enumerate(progress(jobs, desc="relation plots")):
        fit = pooled[(pooled["brain"] == brain) & (pooled["measure"] == measure)].iloc[0].to_dict()
        if fit["n"] == 0:
            continue
        figures.append({"brain": brain, "measure": measure, "fit": fit, "svg": Markup(scatter_svg(
            board.layers, measure, brain, fit, key=f"layers-{index}",
            x_label=_MEASURE_LABELS[measure], y_label=f"{brain} ρ (mean over subjects)"))})
    return figures


def _model_figures(board: Leaderboard) -> list[dict[str, Any]]:
    figures = []
    for index, fit in enumerate(_records(board.model_relations)):
        if fit["n"] == 0:
            continue
        figures.append({"brain": fit["brain"], "measure": fit["measure"], "fit": fit, "svg": Markup(scatter_svg(
            board.models, fit["measure"], fit["brain"], fit, key=f"models-{index}",
            x_label=_MEASURE_LABELS[fit["measure"]], y_label=f"{fit['brain']} brain similarity"))})
    return figures


def _profiles(board: Leaderboard, brains: list[str]) -> list[dict[str, Any]]:
    profiles = []
    models = list(board.layers.groupby("model", sort=True)) if len(board.layers) else []
    for index, (model, layers) in enumerate(progress(models, desc="profile plots")):
        profiles.append({"model": model, "svg": Markup(profile_svg(layers, brains, {}, key=f"profile-{index}"))})
    return profiles


def _provenance(entry: Entry, board: Leaderboard) -> dict[str, Any]:
    return {
        "model": entry.model_id,
        "card": json.dumps(entry.card, indent=2, sort_keys=True, ensure_ascii=False),
        "results": [
            {"benchmark": identifier, "id": _id(board, r),
             "sources": ", ".join(str(o.path) for o in _origins(board, r)),
             "text": json.dumps({"summary": r.summary, "provenance": r.provenance}, indent=2,
                                sort_keys=True, ensure_ascii=False)}
            for identifier, r in entry.results.items()
        ],
    }


def _data(board: Leaderboard, tests: DecisiveTests, claims: Sequence[Claim]) -> Any:
    """Everything the page shows, as JSON-ready data for the download button."""
    return jsonable({
        "brainalign_version": __version__,
        "probe": board.probe,
        "probes": [{"benchmark": b.identifier, "label": b.label, "caveats": list(b.caveats)} for b in board.probes],
        "models": [
            {"id": e.model_id, "card": e.card,
             "results": {b: {"id": _id(board, r), "summary": r.summary, "provenance": r.provenance,
                             "from": [str(o.path) for o in _origins(board, r)],
                             "verified": [o.verification.summary() for o in _origins(board, r) if o.verification]}
                         for b, r in e.results.items()}}
            for e in board.entries
        ],
        "conflicts": _conflicts(board),
        "layers": _records(board.layers),
        "layer_relations": _records(board.layer_relations),
        "model_relations": _records(board.model_relations),
        "decisive_tests": decisive_rows(tests),
        "claims": [claim.to_dict() for claim in claims],
        "model_table": _records(board.models),
        "untrained_twins": _records(board.twins),
        "skipped": [{"path": str(p.path), "message": p.message} for p in board.problems],
        "probe_summaries": list(PROBE_SUMMARIES),
    }, "leaderboard data")
