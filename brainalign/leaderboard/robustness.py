"""Whether the study's claims and the models' ranks survive a change of metric.

The claims panel decides each claim on classical RSA alone. Where a brain target was also scored
with other metrics (benchmarks ``<target id>.<metric>@<version>``: feature-reweighted RSA, CKA,
encoding), this panel applies the claims panel's own rule to each metric's layerwise numbers
(:mod:`.decisive`'s within-model tests over architecture lineages, the same minimums, a claim
supported only when every target supports it) and sets the verdicts side by side, saying in a
sentence whether a conclusion depends on the metric. It also ranks the models on each target under
each metric and compares the rankings (Kendall's τ, the pairs of models that swap order, and how
many of those swaps lie beyond both metrics' 95% intervals, i.e. are not plausibly noise).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from ..results import as_float
from .aggregate import Leaderboard, is_trained
from .claims import Claim, DecisiveTests, saliency_claim, semantic_claim
from .decisive import (
    LineageTest,
    difference_test,
    model_metadata,
    within_model_contrast,
    within_model_test,
)
from .differences import format_interval
from .relation import (
    CLASSICAL,
    STIMULI_NOT_RECORDED,
    brain_column,
    evidence_lines,
    is_brain,
    is_probe,
    metric_label,
    target_stimuli,
)

#: The verdict of a target that was not scored with a metric.
NOT_SCORED = "not scored"
#: Fewest models ranked under both metrics for a comparison of their rankings.
MIN_RANKED = 3

#: The claims of the claims panel decided within models, by key: the claim (from
#: :class:`~.claims.DecisiveTests`) and its decisive test of one brain column of the layer table.
WITHIN_CLAIMS: dict[str, tuple[Callable[[DecisiveTests], Claim], Callable[..., LineageTest]]] = {
    "semantic": (
        semantic_claim,
        lambda layers, column, models: within_model_test(layers, "semantic", column, models=models),
    ),
    "saliency": (
        saliency_claim,
        lambda layers, column, models: within_model_contrast(
            layers, "semantic", "saliency", column, models=models
        ),
    ),
}


@dataclass(frozen=True)
class Scored:
    """One brain target as scored under one metric: the benchmark (its newest version) and the
    layer-table column holding its per-layer numbers."""

    target: (
        str  # the target's id without metric or version (plus ":name" for one of several targets)
    )
    metric: str
    benchmark: str  # benchmark identifier (id@version)
    column: str  # its column in the layer table
    measure_target: str  # the brain similarity measure's target


def scored_targets(board: Leaderboard) -> dict[str, dict[str, Scored]]:
    """Target → metric → how it was scored (classical RSA first, then the metrics by name). Where a
    target was scored with several versions of one metric's benchmark, the newest counts."""
    cards = {b.identifier: b for b in board.benchmarks if b.kind == "human"}
    found: dict[tuple[str, str], Scored] = {}
    for result in (r for e in board.entries for r in e.results.values()):
        card = cards.get(result.benchmark)
        if card is None or is_probe(result) or not is_brain(result):
            continue
        brains = [m for m in result.measures if m.kind == "brain_similarity"]
        for measure in brains:
            target = card.target_id + (f":{measure.target}" if len(brains) > 1 else "")
            key = (target, card.metric_name)
            known = found.get(key)
            if known is None or (cards[known.benchmark].version, known.benchmark) < (
                card.version,
                card.identifier,
            ):
                found[key] = Scored(
                    target,
                    card.metric_name,
                    card.identifier,
                    brain_column(result, measure.target, len(brains)),
                    measure.target,
                )
    out: dict[str, dict[str, Scored]] = {}
    for (target, metric), scored in sorted(
        found.items(), key=lambda item: (item[0][0], item[0][1] != CLASSICAL, item[0][1])
    ):
        out.setdefault(target, {})[metric] = scored
    return out


# --- the claims under each metric ---------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict on one target under one metric, with the test it came from (None where
    the target was not scored with the metric)."""

    status: str
    test: LineageTest | None = None
    benchmark: str = ""
    difference: LineageTest | None = None  # its estimate minus classical RSA's, within models (Δz)

    @property
    def beyond_chance(self) -> bool:
        """Whether its estimate differs from classical RSA's beyond chance (the interval of the
        difference excludes 0)."""
        return self.difference is not None and self.difference.direction in ("positive", "negative")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "benchmark": self.benchmark}
        if self.test is not None:
            out.update({k: v for k, v in self.test.to_dict().items() if k != "models"})
        if self.difference is not None:
            out["difference_from_rsa"] = {
                k: v
                for k, v in self.difference.to_dict().items()
                if k
                in (
                    "estimate",
                    "ci_low",
                    "ci_high",
                    "p",
                    "direction",
                    "n_lineages",
                    "scale",
                    "testable",
                )
            }
        return out


@dataclass(frozen=True)
class ClaimAcrossMetrics:
    """One claim of the claims panel under every metric: its status over all targets per metric
    (the claims panel's rule), the verdict per target and metric, and whether it depends on the
    metric, in a sentence."""

    key: str
    claim: str
    metrics: tuple[str, ...]
    status: dict[str, str]  # metric → status over the targets scored with it
    n_targets: dict[str, int]  # metric → how many targets it scored
    targets: dict[str, dict[str, Verdict]]  # target → metric → verdict
    depends: bool
    sentence: str
    target_sentences: dict[str, str] = field(
        default_factory=dict
    )  # targets whose verdict depends on the metric

    def to_dict(self) -> dict[str, Any]:
        return {
            "claim": self.claim,
            "key": self.key,
            "metrics": list(self.metrics),
            "status": dict(self.status),
            "n_targets": dict(self.n_targets),
            "depends_on_metric": self.depends,
            "sentence": self.sentence,
            "targets": {
                t: {m: v.to_dict() for m, v in by_metric.items()}
                for t, by_metric in self.targets.items()
            },
            "target_sentences": dict(self.target_sentences),
        }


def claims_across_metrics(
    board: Leaderboard, scored: Mapping[str, Mapping[str, Scored]] | None = None
) -> list[ClaimAcrossMetrics]:
    """Each within-model claim (:data:`WITHIN_CLAIMS`) under every metric a target was scored with."""
    scored = scored if scored is not None else scored_targets(board)
    metrics = _metrics(scored)
    metadata = model_metadata(
        {e.model_id: e.card for e in board.entries},
        {e.model_id for e in board.entries if is_trained(e)},
    )
    stimuli = target_stimuli(r for e in board.entries for r in e.results.values())
    layers = board.layers
    tests = {
        (key, target, metric): test_of(layers, s.column, metadata)
        for key, (_, test_of) in WITHIN_CLAIMS.items()
        for target, by_metric in scored.items()
        for metric, s in by_metric.items()
    }

    def decisive(pairs: Sequence[tuple[str, str]]) -> DecisiveTests:
        """The tests of (target, metric) ``pairs``, as the claims read them (target names as rows)."""
        keys = {t: stimuli.get(scored[t][m].column, STIMULI_NOT_RECORDED) for t, m in pairs}
        return DecisiveTests(
            [(t, "semantic", tests["semantic", t, m]) for t, m in pairs],
            [],
            [(t, tests["saliency", t, m]) for t, m in pairs],
            [],
            evidence_lines(keys),
            not any(STIMULI_NOT_RECORDED in key for key in keys.values()),
        )

    out = []
    for key, (claim_of, _) in WITHIN_CLAIMS.items():
        status, n_targets = {}, {}
        for metric in metrics:
            pairs = [(t, metric) for t in scored if metric in scored[t]]
            status[metric] = claim_of(decisive(pairs)).status
            n_targets[metric] = len(pairs)
        per_target: dict[str, dict[str, Verdict]] = {}
        for target, by_metric in scored.items():
            classical = tests.get((key, target, CLASSICAL))
            per_target[target] = {}
            for m in metrics:
                if m not in by_metric:
                    per_target[target][m] = Verdict(NOT_SCORED)
                    continue
                test = tests[key, target, m]
                difference = (
                    difference_test(test, classical, metadata)
                    if classical is not None and m != CLASSICAL
                    else None
                )
                per_target[target][m] = Verdict(
                    claim_of(decisive([(target, m)])).status,
                    test,
                    by_metric[m].benchmark,
                    difference,
                )
        depends, sentence = agreement(status)
        sentence += _chance(status, per_target)
        target_sentences = {}
        for target, verdicts in per_target.items():
            differs, text = agreement({m: v.status for m, v in verdicts.items()})
            if differs:
                target_sentences[target] = text + _chance(
                    {m: v.status for m, v in verdicts.items()}, {target: verdicts}
                )
        text = claim_of(decisive([])).claim
        out.append(
            ClaimAcrossMetrics(
                key,
                text,
                metrics,
                status,
                n_targets,
                per_target,
                depends,
                sentence,
                target_sentences,
            )
        )
    return out


def _chance(status: Mapping[str, str], per_target: Mapping[str, Mapping[str, Verdict]]) -> str:
    """For each metric whose verdict differs from classical RSA's: whether its within-model
    estimate differs from RSA's beyond chance on some target (then the metric, not chance, moved
    the verdict), or on none (then the verdicts may differ by chance alone)."""
    classical = status.get(CLASSICAL)
    if classical is None or _undecided(classical):
        return ""
    notes = []
    for metric, verdict in status.items():
        if metric == CLASSICAL or _undecided(verdict) or verdict == classical:
            continue
        label = metric_label(metric)
        beyond = [
            (t, v[metric].difference) for t, v in per_target.items() if v[metric].beyond_chance
        ]
        if beyond:
            notes.append(
                f"under {label} the within-model estimate differs from RSA's beyond chance on "
                + ", ".join(
                    f"{t} (Δz = {format_interval(d.estimate, d.ci_low, d.ci_high, 2)})"
                    for t, d in beyond
                    if d is not None
                )
            )
        else:
            notes.append(
                f"under {label} no target's estimate differs from RSA's beyond chance, so the verdicts "
                "may differ by chance alone"
            )
    text = "; ".join(notes)
    return f" {text[0].upper()}{text[1:]}." if text else ""


def _metrics(scored: Mapping[str, Mapping[str, Scored]]) -> tuple[str, ...]:
    names = {m for by_metric in scored.values() for m in by_metric}
    return tuple(sorted(names, key=lambda m: (m != CLASSICAL, m)))


def _undecided(status: str) -> bool:
    return status in ("not testable", NOT_SCORED)


def agreement(status: Mapping[str, str]) -> tuple[bool, str]:
    """Whether verdicts (metric → status) depend on the metric, and a sentence that says so:
    they depend on it when the metrics that could test the claim reach different verdicts."""
    tested = {m: s for m, s in status.items() if not _undecided(s)}
    untestable = [m for m, s in status.items() if s == "not testable"]
    tail = f" Not testable under {_join(untestable)}." if untestable else ""
    if len(status) == 1:
        metric, verdict = next(iter(status.items()))
        return False, (
            f"{verdict[0].upper()}{verdict[1:]} under {metric_label(metric)}, the only metric scored: "
            "whether it survives a change of metric is open."
        )
    if len(tested) < 2:
        only = (
            f"only {_join(list(tested))} could test it ({next(iter(tested.values()))})"
            if tested
            else "no metric could test it"
        )
        return False, f"Open: {only}.{tail}"
    groups: dict[str, list[str]] = {}
    for metric, verdict in tested.items():
        groups.setdefault(verdict, []).append(metric)
    if len(groups) == 1:
        verdict = next(iter(groups))
        return (
            False,
            f"Holds under every metric that could test it: {verdict} under {_join(list(tested))}.{tail}",
        )
    parts = [f"{verdict} under {_join(metrics)}" for verdict, metrics in groups.items()]
    return True, f"Depends on the metric: {'; '.join(parts)}.{tail}"


def _join(metrics: Sequence[str]) -> str:
    labels = [metric_label(m) for m in metrics]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


# --- the ranks under each metric ----------------------------------------------------------------


@dataclass(frozen=True)
class RankComparison:
    """How two metrics' rankings of the models on one target agree."""

    a: str
    b: str
    n: int  # models ranked under both
    tau: float  # Kendall's τ-b (NaN below :data:`MIN_RANKED` models)
    p: float
    pairs: int
    swapped: int  # pairs of models in opposite order
    clear: int  # of those, pairs whose 95% intervals are apart under both metrics
    first: tuple[str, str]  # the first-ranked model under each

    @property
    def sentence(self) -> str:
        a, b = metric_label(self.a), metric_label(self.b)
        if self.n < MIN_RANKED:
            return f"{a} and {b} rank {self.n} model{'s' if self.n != 1 else ''} in common: too few to compare."
        if self.swapped == 0:
            return f"{a} and {b} rank the {self.n} models alike: no pair swaps order (Kendall's τ = {self.tau:.2f})."
        text = (
            f"Ranks under {a} and {b} disagree: Kendall's τ = {self.tau:.2f} over {self.n} models; "
            f"{self.swapped} of {self.pairs} pairs swap order, "
        )
        text += (
            f"{self.clear} of them with 95% intervals apart under both metrics"
            if self.clear
            else "none with 95% intervals apart under both metrics (they may be noise)"
        )
        if self.first[0] != self.first[1]:
            text += f"; first: {self.first[0]} under {a}, {self.first[1]} under {b}"
        return text + "."

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "n": self.n,
            "tau": self.tau,
            "p": self.p,
            "pairs": self.pairs,
            "swapped": self.swapped,
            "clear": self.clear,
            "first": list(self.first),
            "sentence": self.sentence,
        }


@dataclass(frozen=True)
class TargetRanks:
    """The models' ranks on one target under each metric (1 = most similar; ties share the best
    rank), with the numbers ranked (raw brain similarity and its interval) and each pair of
    metrics' agreement."""

    target: str
    metrics: tuple[str, ...]
    benchmarks: dict[str, str]  # metric → benchmark identifier
    values: dict[str, dict[str, tuple[float, float, float]]]  # metric → model → (value, low, high)
    ranks: dict[str, dict[str, int]]  # metric → model → rank
    comparisons: list[RankComparison]

    @property
    def models(self) -> list[str]:
        """Every ranked model, by its rank under the first metric (classical RSA), then by name."""
        first = self.ranks.get(self.metrics[0], {})
        every = {m for ranks in self.ranks.values() for m in ranks}
        return sorted(every, key=lambda m: (first.get(m, math.inf), m))

    @property
    def disagree(self) -> bool:
        return any(c.swapped for c in self.comparisons if c.n >= MIN_RANKED)

    def to_dict(self) -> dict[str, Any]:
        models = self.models
        return {
            "target": self.target,
            "metrics": list(self.metrics),
            "benchmarks": dict(self.benchmarks),
            "models": models,
            "ranks": {m: [self.ranks[m].get(model) for model in models] for m in self.metrics},
            "values": {
                m: [
                    self.values[m][model][0] if model in self.values[m] else None
                    for model in models
                ]
                for m in self.metrics
            },
            "comparisons": [c.to_dict() for c in self.comparisons],
        }


def ranks(values: Mapping[str, float]) -> dict[str, int]:
    """Model → rank by ``values`` (higher first; ties share the best rank; NaN unranked)."""
    known = {m: v for m, v in values.items() if not math.isnan(v)}
    if not known:
        return {}
    order = stats.rankdata([-v for v in known.values()], method="min")
    return {m: int(r) for m, r in zip(known, order)}


def compare_rankings(
    a: str,
    b: str,
    first: Mapping[str, tuple[float, float, float]],
    second: Mapping[str, tuple[float, float, float]],
) -> RankComparison:
    """Kendall's τ and the swapped pairs between two metrics' numbers for the same models."""
    common = sorted(set(first) & set(second))
    x = np.array([first[m] for m in common], dtype=np.float64).reshape(-1, 3)
    y = np.array([second[m] for m in common], dtype=np.float64).reshape(-1, 3)
    n = len(common)
    tops = (_first(first, common), _first(second, common))
    if n < MIN_RANKED:
        return RankComparison(a, b, n, math.nan, math.nan, n * (n - 1) // 2, 0, 0, tops)
    i, j = np.triu_indices(n, 1)
    swapped = np.sign(x[i, 0] - x[j, 0]) * np.sign(y[i, 0] - y[j, 0]) < 0
    apart_x = (x[i, 1] > x[j, 2]) | (x[j, 1] > x[i, 2])
    apart_y = (y[i, 1] > y[j, 2]) | (y[j, 1] > y[i, 2])
    tau = stats.kendalltau(x[:, 0], y[:, 0])
    return RankComparison(
        a,
        b,
        n,
        float(tau.statistic),
        float(tau.pvalue),
        len(i),
        int(swapped.sum()),
        int((swapped & apart_x & apart_y).sum()),
        tops,
    )


def _first(values: Mapping[str, tuple[float, float, float]], models: Sequence[str]) -> str:
    """The first-ranked of ``models`` by ``values`` ("" for none; on a tie, the last by name)."""
    return max(models, key=lambda m: (values[m][0], m)) if models else ""


def target_ranks(
    board: Leaderboard, scored: Mapping[str, Mapping[str, Scored]] | None = None
) -> list[TargetRanks]:
    """Per target, the models' ranks under each metric it was scored with."""
    scored = scored if scored is not None else scored_targets(board)
    out = []
    for target, by_metric in scored.items():
        values: dict[str, dict[str, tuple[float, float, float]]] = {}
        for metric, s in by_metric.items():
            values[metric] = {}
            for entry in board.entries:
                result = entry.results.get(s.benchmark)
                if result is None or board.conflicting(entry.model_id, s.benchmark):
                    continue
                measure = result.measure(
                    "brain_similarity", target=s.measure_target
                ) or result.measure("brain_similarity")
                if measure is None:
                    continue
                number = tuple(
                    as_float(result.value(measure.name, k)) for k in ("value", "ci_low", "ci_high")
                )
                if not math.isnan(number[0]):
                    values[metric][entry.model_id] = number  # type: ignore[assignment]
        metrics = tuple(by_metric)
        out.append(
            TargetRanks(
                target,
                metrics,
                {m: s.benchmark for m, s in by_metric.items()},
                values,
                {m: ranks({model: v[0] for model, v in values[m].items()}) for m in metrics},
                [
                    compare_rankings(a, b, values[a], values[b])
                    for a, b in itertools.combinations(metrics, 2)
                ],
            )
        )
    return out


# --- the panel ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Robustness:
    """The metric-robustness panel: the within-model claims and the ranks under every metric."""

    metrics: tuple[str, ...]
    targets: dict[str, dict[str, Scored]]
    claims: list[ClaimAcrossMetrics]
    ranks: list[TargetRanks]

    @property
    def several(self) -> bool:
        """Whether any target was scored with more than one metric (else there is nothing to compare)."""
        return any(len(by_metric) > 1 for by_metric in self.targets.values())

    @property
    def summary(self) -> str:
        """One sentence for the top of the panel."""
        if not self.targets:
            return (
                "No human benchmark was scored, so no claim or rank can be compared across metrics."
            )
        if not self.several:
            return (
                "Every brain target here was scored with one metric only "
                f"({_join(list(self.metrics))}); score a target's benchmarks per metric (e.g. "
                "<target>.wrsa, .cka, .encoding) to see whether a claim or a rank survives a change of metric."
            )
        depends = [c for c in self.claims if c.depends]
        compared = [
            c for c in self.claims if sum(not _undecided(s) for s in c.status.values()) >= 2
        ]
        moved = [r.target for r in self.ranks if r.disagree]
        if depends:
            text = f"{len(depends)} of {len(self.claims)} within-model claims depend on the metric"
        elif compared:
            text = "No within-model claim depends on the metric among those that could test it"
        else:
            text = (
                "No within-model claim could be tested under two metrics (too few trained architecture "
                "lineages)"
            )
        text += (
            f"; the models' ranks differ between metrics on {_join_plain(moved)}."
            if moved
            else "; the models rank alike under every metric."
        )
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": list(self.metrics),
            "summary": self.summary,
            "targets": {
                t: {m: s.benchmark for m, s in by_metric.items()}
                for t, by_metric in self.targets.items()
            },
            "claims": [c.to_dict() for c in self.claims],
            "ranks": [r.to_dict() for r in self.ranks],
        }


def _join_plain(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def metric_robustness(board: Leaderboard) -> Robustness:
    scored = scored_targets(board)
    return Robustness(
        _metrics(scored), scored, claims_across_metrics(board, scored), target_ranks(board, scored)
    )
