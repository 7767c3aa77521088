"""How semantic encoding and saliency go with brain similarity: the study's headline analysis, kept
as a descriptive replication (the claims are decided by :mod:`.decisive`, within models).

Two levels. Across layers: every scored layer of every model is one point (a layer's ρ with the
probe's semantic or saliency RDM on the Baseline images against its ρ with a brain target, averaged
over subjects), pooled over models and per model. Across models: each model's semantic encoding and
saliency suppression against its brain similarity. Each relation reports Pearson r and the
correlation of a quadratic fit, because the study found the saliency relation to be nonlinear.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import BrainAlignError
from ..metrics import METRICS  # the built-in names (a plugin's metric is known from its results)
from ..results import Result
from ..results.measures import layer_rows
from ..rsa.inference import LEVEL, expanded_percentile_interval

#: Layer-table columns of the chosen probe, and the measure kind each holds per layer.
PROBE_COLUMNS: dict[str, str] = {
    "semantic": "semantic_encoding",
    "saliency": "saliency_suppression",
}
PROBE_MEASURES: tuple[str, ...] = tuple(PROBE_COLUMNS)
#: The across-model measures taken from the probe's summary (model-table columns, by kind).
PROBE_SUMMARIES: tuple[str, ...] = tuple(PROBE_COLUMNS.values())


#: Resamples of the model-cluster bootstrap of a pooled relation's interval (more than
#: :data:`~brainalign.rsa.N_BOOT`: few clusters make a coarse distribution).
RELATION_N_BOOT = 2000
#: Fewest models for an interval over models (fewer: Fisher z over points, marked as such).
MIN_GROUPS = 3
#: Fewer models (or trained models) than this, and a relation across them carries a caveat: an
#: interval that resamples a handful of models is unreliable, and where few models are trained
#: the split between trained and untrained ones alone can make r large.
FEW_MODELS = 5
#: The ``ci_method`` of an interval that takes every point as independent (its p-value agrees).
POINTS_INDEPENDENT = "Fisher z, points independent"


def relation(
    layers: pd.DataFrame,
    x: str,
    y: str,
    *,
    groups: str | None = None,
    n_boot: int = RELATION_N_BOOT,
    seed: int = 0,
) -> dict[str, Any]:
    """Pearson and quadratic relation between columns ``x`` and ``y`` of ``layers``.

    Rows where either is missing are dropped. Returns ``n``; ``r`` and its two-sided ``p``
    (scipy.stats.pearsonr, which takes the points as independent); the linear fit's ``slope``,
    ``intercept`` and ``r2_linear``; ``r2_quadratic`` of a degree-2 least-squares fit,
    ``r_quadratic`` = √R² (≥ ``|r|``), and ``p_quadratic``, the F-test of the squared term (is the
    curve better than the line?); a 95% interval of r, ``ci_low``/``ci_high``, made as
    ``ci_method`` says. Undefined numbers (fewer than 3 points, a constant column) are NaN.

    Layers of one network are alike (neighbouring layers have similar ρ), so pooled layers are
    not independent points: with ``groups`` (a column, e.g. ``"model"``) holding at least
    :data:`MIN_GROUPS` groups, the interval resamples whole groups with replacement (``n_boot``
    times, seeded; an expanded percentile interval over ``n_groups`` units), which keeps its
    coverage where the Fisher-z interval of independent points would be far too narrow. Otherwise
    the interval is Fisher z over the points.
    """
    columns = [x, y] + ([groups] if groups is not None else [])
    for column in columns:
        if column not in layers.columns:
            raise BrainAlignError(
                f"relation: no column {column!r}; columns are {list(layers.columns)}"
            )
    data = layers[[x, y]].apply(pd.to_numeric, errors="coerce")
    if groups is not None:
        data["group"] = layers[groups].astype(str)
    data = data.dropna()
    xs, ys = data[x].to_numpy(np.float64), data[y].to_numpy(np.float64)
    nan = float("nan")
    out: dict[str, Any] = {
        "x": x,
        "y": y,
        "n": len(xs),
        "r": nan,
        "p": nan,
        "ci_low": nan,
        "ci_high": nan,
        "ci_method": "",
        "n_groups": int(data["group"].nunique()) if groups is not None else 0,
        "slope": nan,
        "intercept": nan,
        "r2_linear": nan,
        "r2_quadratic": nan,
        "r_quadratic": nan,
        "p_quadratic": nan,
    }
    if len(xs) < 3 or np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return out
    pearson = stats.pearsonr(xs, ys)
    if out["n_groups"] >= MIN_GROUPS:
        codes = pd.factorize(data["group"])[0]
        low, high = _group_bootstrap_interval(xs, ys, codes, n_boot, seed)
        method = f"{out['n_groups']} {groups}s resampled"
    else:
        interval = pearson.confidence_interval(LEVEL)
        low, high, method = interval.low, interval.high, POINTS_INDEPENDENT
    fit = stats.linregress(xs, ys)
    rss_linear = _rss(xs, ys, degree=1)
    rss_quadratic = _rss(xs, ys, degree=2)
    total = float(np.sum((ys - ys.mean()) ** 2))
    r2_quadratic = max(0.0, 1.0 - rss_quadratic / total)
    out.update(
        r=float(pearson.statistic),
        p=float(pearson.pvalue),
        ci_low=float(low),
        ci_high=float(high),
        ci_method=method,
        slope=float(fit.slope),
        intercept=float(fit.intercept),
        r2_linear=float(pearson.statistic) ** 2,
        r2_quadratic=r2_quadratic,
        r_quadratic=math.sqrt(r2_quadratic),
        p_quadratic=_squared_term_p(rss_linear, rss_quadratic, len(xs)),
    )
    return out


def _group_bootstrap_interval(
    xs: np.ndarray, ys: np.ndarray, codes: np.ndarray, n_boot: int, seed: int
) -> tuple[float, float]:
    """Expanded percentile interval of Pearson r over resamples of whole groups (clusters):
    a resample's r is computed from the groups' sums, each drawn group counted as often as drawn."""
    n_groups = int(codes.max()) + 1
    moments = np.stack([np.ones_like(xs), xs, ys, xs * xs, ys * ys, xs * ys], axis=1)
    per_group = np.zeros((n_groups, moments.shape[1]))
    np.add.at(per_group, codes, moments)
    rng = np.random.default_rng(seed)
    draws = np.stack(
        [
            np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)
            for _ in range(n_boot)
        ]
    ).astype(np.float64)
    count, sx, sy, sxx, syy, sxy = (draws @ per_group).T
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (sxy - sx * sy / count) / np.sqrt((sxx - sx**2 / count) * (syy - sy**2 / count))
    r[~np.isfinite(r)] = np.nan
    low, high = expanded_percentile_interval(np.clip(r, -1.0, 1.0), n_groups)
    return float(low), float(high)


def _rss(xs: np.ndarray, ys: np.ndarray, degree: int) -> float:
    """Residual sum of squares of a least-squares polynomial fit (x standardised for conditioning)."""
    z = (xs - xs.mean()) / xs.std()
    design = np.vander(z, degree + 1)
    coefficients, *_ = np.linalg.lstsq(design, ys, rcond=None)
    return float(np.sum((ys - design @ coefficients) ** 2))


def _squared_term_p(rss_linear: float, rss_quadratic: float, n: int) -> float:
    if n <= 3:
        return float("nan")
    if rss_quadratic <= 0:
        return 0.0 if rss_linear > 0 else float("nan")
    f_value = (rss_linear - rss_quadratic) / (rss_quadratic / (n - 3))
    return float(stats.f.sf(max(f_value, 0.0), 1, n - 3))


# --- which results are what ---------------------------------------------------------------------


def is_probe(result: Result) -> bool:
    """A probe result: its benchmark declares a semantic encoding measure."""
    return result.measure("semantic_encoding") is not None


def is_brain(result: Result) -> bool:
    """A human (brain or behaviour) benchmark result: it declares a brain similarity measure."""
    return result.measure("brain_similarity") is not None


def is_classical_brain(result: Result) -> bool:
    """A human benchmark scored by classical RSA: the relations and claims are defined over these
    (the same targets scored by another metric are benchmarks of their own, not more evidence)."""
    return result.measure("brain_similarity", metric="") is not None


def choose_probe(results: Iterable[Result], probe: str | None = None) -> str | None:
    """The probe benchmark whose numbers the relations and claims use: ``probe`` if given (``id``
    or ``id@version``), else the one most models were scored on (on a tie: the pinned standard
    probe before one whose id carries a content hash, then the newest version, then the name)."""
    counts: dict[str, int] = {}
    for result in results:
        if is_probe(result) and (probe is None or probe in (result.benchmark, result.benchmark_id)):
            counts[result.benchmark] = counts.get(result.benchmark, 0) + 1
    if not counts:
        return None
    return max(counts, key=lambda b: (counts[b], "~" not in b, int(b.partition("@")[2]), b))


def brain_column(result: Result, target: str, n_targets: int) -> str:
    """The layer-table column of a brain target: the benchmark identifier, plus ``:target`` when
    the benchmark has several targets."""
    return result.benchmark if n_targets == 1 else f"{result.benchmark}:{target}"


#: The metric of a benchmark that names none: classical RSA (every benchmark scored one way).
CLASSICAL = "rsa"
#: How pages name the built-in metrics (others: by their own name).
METRIC_LABELS: dict[str, str] = {
    CLASSICAL: "RSA",
    "wrsa": "wRSA",
    "cka": "CKA",
    "encoding": "encoding",
}


def metric_of(identifier: str, provenance: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """(the benchmark's id without its metric, the metric's name) of a benchmark ``identifier``
    (``id@version``): the metric its result's ``provenance`` records with the benchmark
    (``benchmark.metric_id``, ``name@version``), else the last part of its id when that names a
    built-in metric (``algonauts2019.92images.IT.cka@1`` → ``(…IT, "cka")``), else
    :data:`CLASSICAL` (results written before there were other metrics). The first item names the
    brain target whatever the metric, so benchmarks that score one target with several metrics
    share it."""
    bench_id = identifier.partition("@")[0]
    head, _, last = bench_id.rpartition(".")
    info = (provenance or {}).get("benchmark")
    recorded = info.get("metric_id") if isinstance(info, Mapping) else None
    if isinstance(recorded, str) and recorded:
        name = recorded.partition("@")[0]
        return (head if head and last == name and name != CLASSICAL else bench_id), name
    if head and last in METRICS and last != CLASSICAL:
        return head, last
    return bench_id, CLASSICAL


def metric_label(name: str) -> str:
    return METRIC_LABELS.get(name, name)


def column_benchmarks(results: Iterable[Result]) -> dict[str, str]:
    """Each brain column of :func:`layer_table` and :func:`model_table` → the identifier of the
    benchmark it holds."""
    columns: dict[str, str] = {}
    for result in results:
        if is_probe(result) or not is_brain(result):
            continue
        columns[result.benchmark] = result.benchmark
        brains = [m for m in result.measures if m.kind == "brain_similarity"]
        for measure in brains:
            columns[brain_column(result, measure.target, len(brains))] = result.benchmark
    return columns


#: The stimulus identity of a target whose results do not record which stimuli they were computed on.
STIMULI_NOT_RECORDED = "not recorded"


def target_stimuli(results: Iterable[Result]) -> dict[str, str]:
    """Each brain column of :func:`layer_table` → which stimuli its numbers were computed on: the
    digest of the sorted stimulus ids its results record (``stimulus_ids_sha256``), so the 92
    objects count as the same stimuli on a white or a grey background; :data:`STIMULI_NOT_RECORDED`
    for results that do not record it (written before brainalign recorded it)."""
    found: dict[str, set[str]] = {}
    for result in results:
        if is_probe(result) or not is_brain(result):
            continue
        recorded = result.provenance.get("stimulus_ids_sha256")
        key = (
            "+".join(sorted(str(v) for v in recorded.values()))
            if isinstance(recorded, dict) and recorded
            else STIMULI_NOT_RECORDED
        )
        brains = [m for m in result.measures if m.kind == "brain_similarity"]
        for measure in brains:
            found.setdefault(brain_column(result, measure.target, len(brains)), set()).add(key)
    # models that disagree about a column's stimuli (they should not): the column gets all their keys
    return {column: "|".join(sorted(keys)) for column, keys in found.items()}


def evidence_lines(stimuli: dict[str, str]) -> list[list[str]]:
    """Brain columns grouped into lines of evidence: columns on the same stimuli are one line (not
    replications of each other). Where any column's stimuli are not recorded, all columns are one
    line: nothing shows that column is independent of the others."""
    if any(STIMULI_NOT_RECORDED in key for key in stimuli.values()):
        return [sorted(stimuli)] if stimuli else []
    groups: dict[str, list[str]] = {}
    for column in sorted(stimuli):
        groups.setdefault(stimuli[column], []).append(column)
    return sorted(groups.values())


def _layer_parts(result: Result, chosen: str | None) -> list[pd.DataFrame]:
    """A result's per-layer values, as (model, layer, …, column, value) rows: the chosen probe's
    semantic and saliency measures, or a brain benchmark's brain similarity per target (the
    mean over subjects comes later)."""
    if is_probe(result):
        if result.benchmark != chosen:
            return []
        columns = [(column, result.measure(kind)) for column, kind in PROBE_COLUMNS.items()]
    elif not is_brain(result):
        return []
    else:
        brains = [m for m in result.measures if m.kind == "brain_similarity"]
        columns = [(brain_column(result, m.target, len(brains)), m) for m in brains]
    parts = []
    for column, measure in columns:
        if measure is None or not measure.layerwise:
            continue
        table = layer_rows(result.layerwise, measure)
        if (table["subject"] != "").any():
            table = table[table["subject"] != ""]
        parts.append(
            pd.DataFrame(
                {
                    "model": result.model_id,
                    "layer": table["layer"],
                    "layer_index": table["layer_index"],
                    "depth": table["depth"],
                    "column": column,
                    "value": table["value"],
                }
            )
        )
    return parts


# --- across layers ----------------------------------------------------------------------------------


def layer_table(results: Sequence[Result], probe: str | None = None) -> pd.DataFrame:
    """One row per (model, layer): ``model``, ``layer``, ``layer_index``, ``depth``, the probe's
    Baseline ``semantic`` and ``saliency`` ρ, and one column per brain target (named by
    :func:`brain_column`) holding the layer's ρ averaged over subjects. Layers are matched by model
    and layer name; a layer a benchmark did not score is NaN there."""
    chosen = choose_probe(results, probe)
    parts = [part for result in results for part in _layer_parts(result, chosen)]
    if not parts:
        return pd.DataFrame(columns=["model", "layer", "layer_index", "depth", *PROBE_MEASURES])
    long = pd.concat(parts, ignore_index=True)
    wide = long.pivot_table(
        index=["model", "layer"], columns="column", values="value", aggfunc="mean"
    )
    position = long.groupby(["model", "layer"])[["layer_index", "depth"]].first()
    table = position.join(wide).reset_index()
    for measure in PROBE_MEASURES:
        if measure not in table.columns:
            table[measure] = np.nan
    brains = sorted(c for c in wide.columns if c not in PROBE_MEASURES)
    table = table[["model", "layer", "layer_index", "depth", *PROBE_MEASURES, *brains]]
    table.columns.name = None
    return table.sort_values(["model", "layer_index", "layer"], ignore_index=True)


def brain_columns(table: pd.DataFrame) -> list[str]:
    """The brain-target columns of a :func:`layer_table` (or :func:`model_table`)."""
    fixed = {"model", "layer", "layer_index", "depth", *PROBE_MEASURES, *PROBE_SUMMARIES}
    return [c for c in table.columns if c not in fixed]


def layer_relations(
    table: pd.DataFrame,
    trained: Collection[str] | None = None,
    targets: Collection[str] | None = None,
) -> pd.DataFrame:
    """For each brain target (of ``targets``, when given) and probe measure: the relation pooled
    over models (``model`` "") and per model, over the layers of :func:`layer_table`. ``trained``:
    the ids of the trained models, for the pooled relations' :func:`caveat`."""
    rows = []
    for target in _chosen(brain_columns(table), targets):
        for measure in PROBE_MEASURES:
            pooled = relation(table, measure, target, groups="model")
            rows.append(
                {
                    "brain": target,
                    "measure": measure,
                    "model": "",
                    **pooled,
                    "caveat": caveat(_models_used(table, measure, target), trained),
                }
            )
            for model, group in table.groupby("model", sort=True):
                rows.append(
                    {
                        "brain": target,
                        "measure": measure,
                        "model": model,
                        **relation(group, measure, target),
                        "caveat": "",
                    }
                )
    return _frame(rows)


def _chosen(columns: list[str], targets: Collection[str] | None) -> list[str]:
    return columns if targets is None else [c for c in columns if c in targets]


def _models_used(table: pd.DataFrame, x: str, y: str) -> list[str]:
    """The models with at least one point where both ``x`` and ``y`` are known."""
    usable = (
        table[["model", x, y]]
        .apply(pd.to_numeric, errors="coerce")
        .assign(model=table["model"])
        .dropna()
    )
    return sorted(set(usable["model"]))


def caveat(models: Sequence[str], trained: Collection[str] | None = None) -> str:
    """What a reader must know about a relation across ``models`` before trusting its interval:
    fewer than :data:`FEW_MODELS` models, or fewer than that many trained ones among them (then
    trained and untrained models form two clusters, and r mostly measures the gap between them)."""
    notes = []
    if 0 < len(models) < FEW_MODELS:
        notes.append(f"only {len(models)} models: an interval resampling so few is unreliable")
    if trained is not None and len(models) >= 2:
        n_trained = sum(m in trained for m in models)
        if n_trained < min(FEW_MODELS, len(models)):
            notes.append(
                f"only {n_trained} of {len(models)} models are trained: the gap between trained "
                "and untrained models alone can make r large; descriptive only"
            )
    return "; ".join(notes)


# --- across models ------------------------------------------------------------------------------


def model_table(results: Sequence[Result], probe: str | None = None) -> pd.DataFrame:
    """One row per model: the chosen probe's semantic encoding and saliency suppression (columns
    named by their kinds), and each brain benchmark's brain similarity (raw) in a column named by
    its identifier."""
    chosen = choose_probe(results, probe)
    rows: dict[str, dict[str, float]] = {}
    for result in results:
        row = rows.setdefault(result.model_id, {})
        if is_probe(result) and result.benchmark == chosen:
            for kind in PROBE_SUMMARIES:
                measure = result.measure(kind)
                row[kind] = result.value(measure.name) if measure is not None else np.nan
        elif is_brain(result):
            headline = result.measure("brain_similarity")
            row[result.benchmark] = result.value(headline.name) if headline is not None else np.nan
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("model").reset_index()
    for name in PROBE_SUMMARIES:
        if name not in table.columns:
            table[name] = np.nan
    brains = sorted(c for c in table.columns if c not in ("model", *PROBE_SUMMARIES))
    return table[["model", *PROBE_SUMMARIES, *brains]].sort_values("model", ignore_index=True)


def model_relations(
    table: pd.DataFrame,
    trained: Collection[str] | None = None,
    targets: Collection[str] | None = None,
) -> pd.DataFrame:
    """Across models: each probe summary against each benchmark's brain similarity. Each model is
    one point, and the interval of r resamples models (with :data:`MIN_GROUPS` or more), like the
    pooled layer relation's; ``trained`` and ``targets`` as in :func:`layer_relations`."""
    rows = [
        {
            "brain": target,
            "measure": measure,
            **relation(table, measure, target, groups="model"),
            "caveat": caveat(_models_used(table, measure, target), trained),
        }
        for target in _chosen(brain_columns(table), targets)
        for measure in PROBE_SUMMARIES
    ]
    return _frame(rows)


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    columns = [
        "brain",
        "measure",
        "model",
        "x",
        "y",
        "n",
        "n_groups",
        "r",
        "p",
        "ci_low",
        "ci_high",
        "ci_method",
        "slope",
        "intercept",
        "r2_linear",
        "r2_quadratic",
        "r_quadratic",
        "p_quadratic",
        "caveat",
    ]
    frame = pd.DataFrame(rows)
    return frame.reindex(columns=[c for c in columns if c in frame.columns or not rows])
