"""The overall rank: one number per model that a reader can sort by, with its rule stated.

The overall score is the weighted mean, over the human benchmarks, of brain similarity divided by
the benchmark's noise ceiling (each weight 1 by default; 0 for a benchmark whose ceiling was found
unreliable, for one whose results withheld the normalised score, and for one that scores a target
with another metric than classical RSA: it measures the same target again, and the
metric-robustness panel compares the metrics' ranks). A model needs a score on
every benchmark with a weight above 0 to have one.

Its interval combines the benchmarks' own intervals. Each benchmark gives a standard error ``s_k``
(its normalised interval's half-width over the t quantile it was made with: the two-factor
interval is ``score ± t·√V``) and degrees of freedom ``d_k``. Benchmarks scored on the same images
are correlated (a model that happens to suit these 92 images suits them on every benchmark; two
regions of the same subjects share the subjects too), so the variance of the mean is
``Σ_kl w_k w_l ρ_kl s_k s_l / (Σ w)²``. ``ρ_kl`` is estimated from the two benchmarks' recorded
bootstrap resamples (subjects and stimuli resampled at once) where they were drawn alike (same
seed, same stimulus files, as many resamples); elsewhere it is 1, the largest it can be, so the
interval is never narrower than the data allow. The interval is ``mean ± t·√variance`` with
Welch–Satterthwaite degrees of freedom. The page's JavaScript recomputes it for other weights from
the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import t as student_t

from ..results import Result, as_float
from .aggregate import BenchmarkCard, Entry, Leaderboard
from .relation import CLASSICAL

#: Degrees of freedom up to which the t quantile is tabulated (above: the normal quantile).
T_TABLE_MAX = 200
#: ``T_975[d - 1]``: the 97.5% quantile of Student's t with ``d`` degrees of freedom.
T_975: tuple[float, ...] = tuple(float(student_t.ppf(0.975, d)) for d in range(1, T_TABLE_MAX + 1))
Z_975 = float(student_t.ppf(0.975, 1e9))


def t_quantile(dof: float) -> float:
    """The 97.5% t quantile at the whole number of degrees of freedom at or below ``dof`` (so the
    page's JavaScript, which looks the same table up, gives the same interval)."""
    if not math.isfinite(dof) or dof > T_TABLE_MAX:
        return Z_975
    return T_975[max(math.floor(dof), 1) - 1]


@dataclass(frozen=True)
class Component:
    """One benchmark's part in a model's overall score."""

    value: float  # normalised score
    se: float  # its standard error
    dof: float  # degrees of freedom of its interval (inf: normal)
    samples: np.ndarray | None = None  # normalised resamples over subjects and stimuli at once
    seed: object = None
    stimuli: str = ""  # what identifies its images (same text: same images)


@dataclass(frozen=True)
class Standing:
    """A model's overall score and interval (NaN where it lacks a benchmark of the rule)."""

    model: str
    value: float
    ci_low: float
    ci_high: float
    missing: tuple[str, ...] = ()
    rank: int | None = None


@dataclass
class Ranking:
    """The overall rank of every model, the rule's benchmarks and weights, those left out and why,
    and per model what the page needs to recompute it (components and correlations)."""

    benchmarks: list[BenchmarkCard]  # the human benchmarks the rule may weigh, in column order
    weights: dict[str, float]
    left_out: dict[str, str]  # benchmark identifier → why its default weight is 0
    standings: list[Standing]  # ranked: best first, models without a score last
    components: dict[str, dict[str, Component]] = field(
        default_factory=dict
    )  # model → benchmark → part
    correlations: dict[str, np.ndarray] = field(default_factory=dict)  # model → ρ over benchmarks

    def standing(self, model: str) -> Standing:
        return next(s for s in self.standings if s.model == model)

    @property
    def rule(self) -> str:
        """The rule in a sentence, as the page states it."""
        used = [b.identifier for b in self.benchmarks if self.weights.get(b.identifier, 0) > 0]
        if not used:
            return "No human benchmark with a usable noise ceiling was scored, so there is no overall score."
        text = (
            f"Overall: the mean over {len(used)} human benchmark(s) of brain similarity divided by the "
            f"benchmark's noise ceiling, each weighted equally; a model needs all of them. Its 95% interval "
            f"combines the benchmarks' intervals, allowing for benchmarks that share images."
        )
        if self.left_out:
            text += (
                " Left out: " + "; ".join(f"{b} ({why})" for b, why in self.left_out.items()) + "."
            )
        return text


def rank(board: Leaderboard, weights: Mapping[str, float] | None = None) -> Ranking:
    """The overall rank of ``board``'s models (``weights``: benchmark identifier → weight, for
    those given; the defaults of the module docstring otherwise)."""
    benchmarks = [
        b
        for b in board.human_benchmarks  # classical RSA: other metrics are ranked on their own
        if any(m.kind == "brain_similarity" and not m.metric for m in b.headlines)
    ]
    left_out = {
        b.identifier: "its noise ceiling was not found reliable"
        for b in benchmarks
        if b.ceiling_reliable is False
    }
    left_out.update(
        {
            b.identifier: f"scored with {b.metric_name}: the overall rank is classical RSA's, and the "
            "ranks under each metric are in the metric-robustness panel"
            for b in benchmarks
            if b.metric_name != CLASSICAL and b.identifier not in left_out
        }
    )
    chosen = {b.identifier: (0.0 if b.identifier in left_out else 1.0) for b in benchmarks}
    chosen.update({k: float(v) for k, v in (weights or {}).items() if k in chosen})
    components = {e.model_id: _components(e, benchmarks) for e in board.entries}
    for b in benchmarks:
        if (
            chosen[b.identifier] > 0
            and b.identifier not in left_out
            and not any(b.identifier in parts for parts in components.values())
        ):
            left_out[b.identifier] = "no result has a score divided by its ceiling"
            chosen[b.identifier] = 0.0
    correlations = {
        model: correlation_matrix([parts.get(b.identifier) for b in benchmarks])
        for model, parts in components.items()
    }
    standings = []
    for entry in board.entries:
        parts = components[entry.model_id]
        used = [b.identifier for b in benchmarks if chosen[b.identifier] > 0]
        missing = tuple(b for b in used if b not in parts)
        if missing or not used:
            standings.append(Standing(entry.model_id, math.nan, math.nan, math.nan, missing))
            continue
        order = [b.identifier for b in benchmarks]
        index = [order.index(b) for b in used]
        value, low, high = combine(
            [parts[b] for b in used],
            [chosen[b] for b in used],
            correlations[entry.model_id][np.ix_(index, index)],
        )
        standings.append(Standing(entry.model_id, value, low, high))
    ordered = sorted(
        standings,
        key=lambda s: (math.isnan(s.value), -s.value if not math.isnan(s.value) else 0, s.model),
    )
    ranked = [
        Standing(
            s.model, s.value, s.ci_low, s.ci_high, s.missing, None if math.isnan(s.value) else i + 1
        )
        for i, s in enumerate(ordered)
    ]
    return Ranking(benchmarks, chosen, left_out, ranked, components, correlations)


def combine(
    parts: Sequence[Component], weights: Sequence[float], rho: np.ndarray
) -> tuple[float, float, float]:
    """The weighted mean of ``parts`` and its 95% interval (module docstring)."""
    w = np.asarray(weights, dtype=np.float64)
    values = np.array([p.value for p in parts])
    se = np.array([p.se for p in parts])
    mean = float(w @ values / w.sum())
    if not np.all(np.isfinite(se)):
        return mean, math.nan, math.nan
    scaled = w * se
    variance = max(float(scaled @ rho @ scaled), 0.0) / w.sum() ** 2
    dof = welch_dof(scaled, [p.dof for p in parts])
    half = t_quantile(dof) * math.sqrt(variance)
    return mean, mean - half, mean + half


def welch_dof(scaled_se: Sequence[float] | np.ndarray, dofs: Sequence[float]) -> float:
    """Welch–Satterthwaite degrees of freedom of a sum of terms with standard errors ``scaled_se``."""
    a = np.asarray(scaled_se, dtype=np.float64) ** 2
    d = np.asarray(dofs, dtype=np.float64)
    finite = np.isfinite(d)
    denominator = float(np.sum(a[finite] ** 2 / d[finite]))
    return float(a.sum() ** 2 / denominator) if denominator > 0 else math.inf


def correlation_matrix(parts: Sequence[Component | None]) -> np.ndarray:
    """ρ between the benchmarks of one model (rows for missing benchmarks: identity)."""
    k = len(parts)
    rho = np.eye(k)
    for i in range(k):
        for j in range(i + 1, k):
            a, b = parts[i], parts[j]
            if a is None or b is None:
                continue
            rho[i, j] = rho[j, i] = _correlation(a, b)
    return rho


def _correlation(a: Component, b: Component) -> float:
    """From the resamples where they were drawn alike (same seed, same images), else 1."""
    if a.samples is None or b.samples is None or len(a.samples) != len(b.samples):
        return 1.0
    aligned = a.seed is not None and a.seed == b.seed and a.stimuli != "" and a.stimuli == b.stimuli
    finite = np.isfinite(a.samples) & np.isfinite(b.samples)
    if not aligned or not (a.se > 0 and b.se > 0) or finite.sum() < 3:
        return 1.0
    covariance = float(np.cov(a.samples[finite], b.samples[finite])[0, 1])
    return float(np.clip(covariance / (a.se * b.se), -1.0, 1.0))


def _components(entry: Entry, benchmarks: Sequence[BenchmarkCard]) -> dict[str, Component]:
    parts = {}
    for bench in benchmarks:
        result = entry.results.get(bench.identifier)
        part = component(result) if result is not None else None
        if part is not None:
            parts[bench.identifier] = part
    return parts


def component(result: Result) -> Component | None:
    """A human result's normalised brain similarity, its standard error and resamples (None where
    it has no normalised score)."""
    measure = result.measure("brain_similarity")
    if measure is None:
        return None
    entry = result.summary.get(measure.name) or {}
    value, raw = as_float(entry.get("normalised")), as_float(entry.get("value"))
    if math.isnan(value):
        return None
    low, high = as_float(entry.get("normalised_ci_low")), as_float(entry.get("normalised_ci_high"))
    extra = result.extra
    dof = as_float((extra.get("two_factor") or {}).get("dof"))
    if math.isnan(dof):
        n_subjects = extra.get("n_subjects")
        dof = (
            float(n_subjects) - 1
            if isinstance(n_subjects, (int, float)) and n_subjects > 1
            else math.inf
        )
    se = (
        (high - low) / 2 / t_quantile(dof)
        if not (math.isnan(low) or math.isnan(high))
        else math.nan
    )
    samples = (
        ((extra.get("resamples") or {}).get("samples") or {}).get(measure.name, {}).get("both")
    )
    scale = value / raw if raw else math.nan
    resampled = (
        np.asarray(samples, dtype=np.float64) * scale if samples and math.isfinite(scale) else None
    )
    stimuli = result.provenance.get("stimuli_sha256")
    return Component(
        value,
        se,
        dof,
        resampled,
        result.provenance.get("seed"),
        repr(sorted(stimuli.items())) if isinstance(stimuli, dict) else str(stimuli or ""),
    )
