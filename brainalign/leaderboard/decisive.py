"""The tests that decide the study's relation claims: ones a difference between models cannot carry.

Pooled over the layers of all models (the study's analysis, kept in :mod:`.relation` as a
descriptive replication), a layer's semantic ρ goes with its brain ρ as soon as some models
(trained ones) are higher on both than others (untrained ones), whatever happens inside any one
model. The claim is about layers, so it is tested *within* models, and the independent units are
architecture lineages (:func:`brainalign.models.cards.architecture_lineage`), not models:
EfficientNet-Lite0/1/2 are scaled copies of one design and count once.

The within-model test is a two-stage (summary-statistics) test: each model's Pearson r over its
layers, as Fisher z; the mean z of each lineage; a one-sample t-test over lineages (df = lineages −
1). The across-model test takes one point per trained lineage (the means of its models) and
Pearson's r over those points. Both were chosen by simulation against a mixed-effects model and
against model-centred r with intervals that resample models or lineages
(``tools/simulate_claims.py``, docs/metrics.md): with the leaderboard's few lineages only the
t-test over lineages held its false-positive rate. Every function takes a plain table, so any
metric's layerwise results can feed it.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import BrainAlignError
from ..models.cards import card_lineage
from ..rsa import (
    ALPHA,  # two-sided, every interval here: a claim comes out "supported" by chance at most half as often
)

#: Fewest independent trained lineages for a within-model verdict: with two, the t-test over
#: lineages has 1 degree of freedom and its interval is ±12.7 standard errors (the power curve in
#: docs/metrics.md).
MIN_LINEAGES = 3
#: Fewest trained lineages for an across-model verdict (one point per lineage; r over fewer than
#: five points decides nothing at realistic effect sizes).
MIN_LINEAGES_ACROSS = 5
#: Fewest layers with both measures known for a model to enter a within-model test.
MIN_LAYERS = 4

#: What the within-model test estimates, in one sentence for the page.
WITHIN_ESTIMATE = (
    "The decisive number is the within-model correlation: for each trained model, Pearson's r "
    "between its layers' {x} and their brain ρ, averaged (as Fisher z) first over the models of "
    "one architecture lineage and then over lineages, with a t interval over lineages; a "
    "difference between models (trained against untrained, one family against another) cannot "
    "move it."
)


@dataclass(frozen=True)
class LineageTest:
    """One decisive test: its estimate and interval over independent lineages, or why there is none.

    ``estimate``/``ci_low``/``ci_high`` are on the scale ``scale`` names ("r": a correlation,
    back-transformed from mean Fisher z; "Δz": a difference of Fisher z). ``n_lineages`` counts
    the lineages that entered; below ``minimum`` the test is not run (``testable`` False) and its
    numbers are NaN, so nothing can quote them.
    """

    analysis: str  # "within models" or "across models"
    x: str
    y: str
    models: tuple[str, ...]
    lineages: tuple[str, ...]
    minimum: int
    estimate: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    p: float = math.nan
    scale: str = "r"
    trained_only: bool = True
    per_model: dict[str, float] = field(default_factory=dict)

    @property
    def n_lineages(self) -> int:
        return len(self.lineages)

    @property
    def testable(self) -> bool:
        return self.n_lineages >= self.minimum and not math.isnan(self.ci_low)

    @property
    def direction(self) -> str:
        """ "positive" or "negative" where the interval excludes 0, "open" where it includes it,
        "not testable" below the minimum."""
        if not self.testable:
            return "not testable"
        return "positive" if self.ci_low > 0 else "negative" if self.ci_high < 0 else "open"

    def to_dict(self) -> dict[str, Any]:
        return {
            "analysis": self.analysis,
            "x": self.x,
            "y": self.y,
            "models": list(self.models),
            "lineages": list(self.lineages),
            "n_models": len(self.models),
            "n_lineages": self.n_lineages,
            "minimum": self.minimum,
            "trained_only": self.trained_only,
            "testable": self.testable,
            "direction": self.direction,
            "scale": self.scale,
            **(
                {
                    "estimate": self.estimate,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "p": self.p,
                }
                if self.testable
                else {}
            ),
        }


def model_metadata(
    cards: Mapping[str, Mapping[str, Any]], trained: Collection[str]
) -> pd.DataFrame:
    """One row per model of ``cards`` (model id → card): ``model``, its ``lineage`` (from the
    card's architecture) and whether it is ``trained`` (its id is in ``trained``)."""
    rows = [
        {"model": model, "lineage": card_lineage(card), "trained": model in trained}
        for model, card in cards.items()
    ]
    return pd.DataFrame(rows, columns=["model", "lineage", "trained"])


@dataclass(frozen=True)
class _Layers:
    """A table's selected rows as arrays: ``names`` and ``lineages`` per model (sorted by name),
    ``codes`` (each row's model) and the measures' ``values``."""

    names: np.ndarray
    lineages: np.ndarray
    codes: np.ndarray
    values: dict[str, np.ndarray]


def _layers(
    table: pd.DataFrame, models: pd.DataFrame | None, columns: list[str], trained_only: bool
) -> _Layers:
    missing = [c for c in ["model", *columns] if c not in table.columns]
    source = models if models is not None else table
    missing += [f"{c} (model metadata)" for c in ("lineage", "trained") if c not in source.columns]
    if missing:
        raise BrainAlignError(
            f"decisive test: no column(s) {missing}; the table needs model and the measures, "
            "and lineage and trained per model (in the table or given as `models`)"
        )
    names = table["model"].astype(str).to_numpy(dtype=object)
    if models is not None:
        meta = models.drop_duplicates("model").set_index(
            models.drop_duplicates("model")["model"].astype(str)
        )
        at = meta.index.get_indexer(names)
        lineage = np.where(at >= 0, meta["lineage"].astype(str).to_numpy(dtype=object)[at], "")
        trained = np.where(
            at >= 0, meta["trained"].fillna(False).astype(bool).to_numpy()[at], False
        )
    else:
        lineage = table["lineage"].fillna("").astype(str).to_numpy(dtype=object)
        trained = table["trained"].fillna(False).astype(bool).to_numpy()
    keep = trained if trained_only else np.ones(len(names), dtype=bool)
    unique, first, codes = np.unique(names[keep], return_index=True, return_inverse=True)
    values = {
        c: pd.to_numeric(table[c], errors="coerce").to_numpy(np.float64)[keep] for c in columns
    }
    return _Layers(unique, lineage[keep][first], codes, values)


def _fisher_z(r: np.ndarray) -> np.ndarray:
    return np.arctanh(np.clip(r, -1 + 1e-12, 1 - 1e-12))


def _within_r(layers: _Layers, x: str, y: str) -> np.ndarray:
    """Each model's Pearson r of ``x`` and ``y`` over its layers where both are known (NaN with
    fewer than :data:`MIN_LAYERS` such layers or a constant column), from per-model sums of
    centred values (vectorised: simulations call this thousands of times)."""
    xs, ys = layers.values[x], layers.values[y]
    both = ~(np.isnan(xs) | np.isnan(ys))
    codes, xs, ys, size = layers.codes[both], xs[both], ys[both], len(layers.names)
    n = np.bincount(codes, minlength=size).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        xc = xs - (np.bincount(codes, xs, size) / n)[codes]
        yc = ys - (np.bincount(codes, ys, size) / n)[codes]
        sxx, syy = np.bincount(codes, xc * xc, size), np.bincount(codes, yc * yc, size)
        sxy = np.bincount(codes, xc * yc, size)
        # a column whose spread is at the level of rounding error is constant
        varies = (
            (sxx > 1e-20 * np.bincount(codes, xs * xs, size))
            & (syy > 1e-20 * np.bincount(codes, ys * ys, size))
            & (sxx > 0)
            & (syy > 0)
        )
        return np.where(
            (n >= MIN_LAYERS) & varies, np.clip(sxy / np.sqrt(sxx * syy), -1.0, 1.0), np.nan
        )


def _lineage_t(
    values: np.ndarray, lineages: np.ndarray
) -> tuple[list[str], float, float, float, float]:
    """The mean of each lineage's per-model ``values`` (NaN models left out), then the one-sample
    t over lineages: (lineages, mean, ci_low, ci_high, p)."""
    known = ~np.isnan(values)
    names, codes = np.unique(lineages[known], return_inverse=True)
    means = np.bincount(codes, values[known], len(names)) / np.bincount(codes, minlength=len(names))
    n = len(names)
    if n < 2:
        return [str(name) for name in names], math.nan, math.nan, math.nan, math.nan
    mean, sd = float(means.mean()), float(means.std(ddof=1))
    half = stats.t.ppf(1 - ALPHA / 2, n - 1) * sd / math.sqrt(n)
    p = (
        float(2 * stats.t.sf(abs(mean) / (sd / math.sqrt(n)), n - 1))
        if sd > 0
        else (0.0 if mean else 1.0)
    )
    return [str(name) for name in names], mean, mean - half, mean + half, p


def within_model_test(
    layers: pd.DataFrame,
    x: str,
    y: str,
    *,
    models: pd.DataFrame | None = None,
    trained_only: bool = True,
    minimum: int = MIN_LINEAGES,
) -> LineageTest:
    """Whether ``x`` goes with ``y`` across the layers *within* models, tested over lineages.

    ``layers``: one row per (model, layer) with columns ``model``, ``x``, ``y`` and the model
    metadata ``lineage`` and ``trained`` (or give them as ``models``, see :func:`model_metadata`).
    Only trained models enter unless ``trained_only`` is False. The estimate is tanh of the mean
    over lineages of each lineage's mean Fisher z of its models' r, with a t interval (df =
    lineages − 1).
    """
    data = _layers(layers, models, [x, y], trained_only)
    r = _within_r(data, x, y)
    names, mean, low, high, p = _lineage_t(_fisher_z(r), data.lineages)
    known = ~np.isnan(r)
    test = LineageTest(
        "within models",
        x,
        y,
        tuple(data.names[known]),
        tuple(names),
        minimum,
        trained_only=trained_only,
        per_model=dict(zip(data.names[known], r[known].tolist())),
    )
    if len(names) < minimum:
        return test
    return replace(
        test, estimate=math.tanh(mean), ci_low=math.tanh(low), ci_high=math.tanh(high), p=p
    )


def within_model_contrast(
    layers: pd.DataFrame,
    stronger: str,
    weaker: str,
    y: str,
    *,
    models: pd.DataFrame | None = None,
    trained_only: bool = True,
    minimum: int = MIN_LINEAGES,
) -> LineageTest:
    """Whether ``stronger`` goes with ``y`` within models more strongly than ``weaker`` does in
    either direction: per model ``z(r of stronger) − |z(r of weaker)|``, tested over lineages
    like :func:`within_model_test` (estimate on the Δz scale; positive: ``stronger`` is stronger).

    The absolute value makes the test conservative for "stronger" (``|z|`` overstates a null
    relation) and liberal for the opposite direction.
    """
    data = _layers(layers, models, [stronger, weaker, y], trained_only)
    difference = _fisher_z(_within_r(data, stronger, y)) - np.abs(
        _fisher_z(_within_r(data, weaker, y))
    )
    names, mean, low, high, p = _lineage_t(difference, data.lineages)
    known = ~np.isnan(difference)
    test = LineageTest(
        "within models",
        f"{stronger} − |{weaker}|",
        y,
        tuple(data.names[known]),
        tuple(names),
        minimum,
        scale="Δz",
        trained_only=trained_only,
        per_model=dict(zip(data.names[known], difference[known].tolist())),
    )
    if len(names) < minimum:
        return test
    return replace(test, estimate=mean, ci_low=low, ci_high=high, p=p)


def difference_test(
    first: LineageTest, second: LineageTest, models: pd.DataFrame, *, minimum: int = MIN_LINEAGES
) -> LineageTest:
    """Whether two within-model tests of the same models differ, e.g. one relation measured with
    two metrics: per model (those in both), ``first``'s value minus ``second``'s (Fisher z of r;
    a Δz as it is), tested over lineages like :func:`within_model_test` (scale Δz; positive:
    ``first`` is stronger). ``models``: model metadata with ``model`` and ``lineage``. Two verdicts
    can differ by chance alone (one interval just excludes 0, the other just includes it); this
    tests the difference itself."""
    lineage_of = dict(zip(models["model"].astype(str), models["lineage"].astype(str)))
    common = sorted(set(first.per_model) & set(second.per_model))

    def value(test: LineageTest, model: str) -> float:
        v = test.per_model[model]
        return float(_fisher_z(np.array(v))) if test.scale == "r" else v

    difference = np.array([value(first, m) - value(second, m) for m in common], dtype=np.float64)
    names, mean, low, high, p = _lineage_t(
        difference, np.array([lineage_of.get(m, m) for m in common], dtype=object)
    )
    test = LineageTest(
        first.analysis,
        f"{first.x} ({first.y} − {second.y})",
        first.y,
        tuple(common),
        tuple(names),
        minimum,
        scale="Δz",
        trained_only=first.trained_only,
        per_model=dict(zip(common, difference.tolist())),
    )
    if len(names) < minimum:
        return test
    return replace(test, estimate=mean, ci_low=low, ci_high=high, p=p)


def across_lineage_test(
    table: pd.DataFrame,
    x: str,
    y: str,
    *,
    models: pd.DataFrame | None = None,
    trained_only: bool = True,
    minimum: int = MIN_LINEAGES_ACROSS,
) -> LineageTest:
    """Whether models high on ``x`` are high on ``y``, with one point per lineage (the mean of its
    models' values) among trained models: Pearson r over lineages, its t-test p-value and Fisher-z
    interval (both exact for normal points; they take lineages as independent, which they are by
    construction, and cannot be carried by the gap between trained and untrained models)."""
    data = _layers(table, models, [x, y], trained_only)
    both = ~(np.isnan(data.values[x]) | np.isnan(data.values[y]))
    codes = data.codes[both]
    scored = np.unique(codes)
    lineage_of_row = data.lineages[codes]
    names, lineage_codes = np.unique(lineage_of_row, return_inverse=True)
    # a model's rows weigh 1 / (its rows) so that each model counts once in its lineage's mean
    weight = 1.0 / np.bincount(codes, minlength=len(data.names))[codes]
    count = np.bincount(lineage_codes, weight, len(names))
    px = np.bincount(lineage_codes, weight * data.values[x][both], len(names)) / count
    py = np.bincount(lineage_codes, weight * data.values[y][both], len(names)) / count
    test = LineageTest(
        "across models",
        x,
        y,
        tuple(data.names[scored]),
        tuple(str(n) for n in names),
        minimum,
        trained_only=trained_only,
    )
    if len(names) < max(minimum, 4) or np.ptp(px) == 0 or np.ptp(py) == 0:
        return test
    pearson = stats.pearsonr(px, py)
    interval = pearson.confidence_interval(1 - ALPHA)
    return replace(
        test,
        estimate=float(pearson.statistic),
        ci_low=float(interval.low),
        ci_high=float(interval.high),
        p=float(pearson.pvalue),
    )
