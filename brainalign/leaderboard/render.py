"""The static HTML leaderboard: one self-contained file (inline CSS, JS and SVG; no network), so
it works offline from ``file://`` and can be attached, archived or served anywhere.

Everything that came from a user (model ids, cards, benchmark text, provenance) passes through
Jinja2's autoescaping; the embedded data JSON goes through ``tojson``, which escapes ``<``, ``>``
and ``&`` so no string can close the ``<script>`` element.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
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
from .claims import evaluate_claims
from .compare import format_interval
from .plots import profile_svg, scatter_svg
from .relation import POINTS_INDEPENDENT, PROBE_MEASURES, PROBE_SUMMARIES, brain_columns
from ..results import RejectedFile, ResultsStore, as_float, jsonable

_TEMPLATES = "templates"
_MEASURE_LABELS = {
    "semantic": "semantic ρ (probe, Baseline)",
    "saliency": "saliency ρ (probe, Baseline)",
    "semantic_encoding": "semantic encoding",
    "saliency_suppression": "saliency suppression",
}


@dataclass(frozen=True)
class LeaderboardPage:
    """What ``leaderboard build`` wrote and what it skipped."""

    path: Path
    n_results: int
    n_models: int
    problems: list[RejectedFile]


def build(
    results_dir: str | Path, out: str | Path, *, strict: bool = False, probe: str | None = None,
    title: str = "brainalign leaderboard",
) -> LeaderboardPage:
    """Read every result under ``results_dir`` and write the leaderboard to ``out`` (atomically).
    Unreadable results are skipped and reported (or raise, with ``strict``)."""
    loaded = ResultsStore(results_dir).load_all(strict=strict)
    board = build_leaderboard(loaded.results, loaded.problems, probe=probe)
    html = render_html(board, title=title)
    write_text_atomic(out, html)
    return LeaderboardPage(Path(out), len(loaded.results), len(board.entries), loaded.problems)


def render_html(board: Leaderboard, *, title: str = "brainalign leaderboard") -> str:
    """The leaderboard page as one HTML string (deterministic for the same results)."""
    template = _environment().get_template("leaderboard.html.j2")
    brains = brain_columns(board.layers)
    return template.render(
        title=title,
        version=__version__,
        board=board,
        humans=board.human_benchmarks,
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
        claims=evaluate_claims(board),
        provenance=[_provenance(entry) for entry in board.entries],
        data=_data(board),
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
        "semantic": _triple(entry, board.probe, "semantic_encoding"),
        "saliency": _triple(entry, board.probe, "saliency_suppression"),
        "brains": [
            {"raw": _triple(entry, b.identifier, "brain_similarity"),
             "normalised": _triple(entry, b.identifier, "brain_similarity", "normalised_")}
            for b in board.human_benchmarks
        ],
        "version": ", ".join(entry.versions),
        "search": " ".join(str(t) for t in text if t).lower(),
    }


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


def _provenance(entry: Entry) -> dict[str, Any]:
    return {
        "model": entry.model_id,
        "card": json.dumps(entry.card, indent=2, sort_keys=True, ensure_ascii=False),
        "results": [
            {"benchmark": identifier,
             "text": json.dumps({"summary": r.summary, "provenance": r.provenance}, indent=2,
                                sort_keys=True, ensure_ascii=False)}
            for identifier, r in entry.results.items()
        ],
    }


def _data(board: Leaderboard) -> Any:
    """Everything the page shows, as JSON-ready data for the download button."""
    return jsonable({
        "brainalign_version": __version__,
        "probe": board.probe,
        "models": [
            {"id": e.model_id, "card": e.card,
             "results": {b: {"summary": r.summary, "provenance": r.provenance} for b, r in e.results.items()}}
            for e in board.entries
        ],
        "layers": _records(board.layers),
        "layer_relations": _records(board.layer_relations),
        "model_relations": _records(board.model_relations),
        "model_table": _records(board.models),
        "untrained_twins": _records(board.twins),
        "skipped": [{"path": str(p.path), "message": p.message} for p in board.problems],
        "probe_summaries": list(PROBE_SUMMARIES),
    }, "leaderboard data")
