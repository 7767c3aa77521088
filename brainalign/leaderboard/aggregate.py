"""From a pile of results to what the leaderboard shows: one entry per model, one card per
benchmark, the layer and model tables, the relation analyses and the untrained-twin comparison.

Everything here is plain data (no HTML), so it can be tested and reused without a browser.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..benchmarks.base import Measure
from ..benchmarks.probe import probe_label
from ..caveats import few_subjects, interval_resamples
from ..models.cards import UNTRAINED_SUFFIX
from ..results import RejectedFile, Result
from .differences import compare_results
from .merge import Conflict, Merged
from .relation import (
    CLASSICAL,
    brain_columns,
    choose_probe,
    column_benchmarks,
    is_brain,
    is_probe,
    layer_relations,
    layer_table,
    metric_label,
    metric_of,
    model_relations,
    model_table,
)
from .setups import Note, column_notes, version_notes

#: Kinds of measures the twin comparison reports.
TWIN_KINDS: tuple[str, ...] = ("brain_similarity", "semantic_encoding", "saliency_suppression")


@dataclass(frozen=True)
class BenchmarkCard:
    """What a result recorded about its benchmark, plus its noise ceiling (human benchmarks)."""

    identifier: str
    id: str
    version: int
    kind: str  # "probe", "human" or "other"
    title: str
    description: str
    metric: str
    bibtex: str
    datasets: tuple[str, ...]
    ceiling_lower: float
    ceiling_upper: float
    n_models: int
    label: str = ""  # probes: which probe (source, base images, caveats in a word)
    caveats: tuple[str, ...] = ()
    interval: str = ""  # what its headline numbers' intervals resample, and how well they cover
    headlines: tuple[
        Measure, ...
    ] = ()  # the measures it declares as headline numbers (table columns)
    n_subjects: int | None = None  # human benchmarks: subjects its intervals resample
    n_stimuli: int | None = None
    ceiling_reliable: bool | None = None  # None: its results do not say (older results)
    ceiling_reliability: dict[str, Any] = field(
        default_factory=dict
    )  # test, p, n_permutations, seed
    ceiling_convention: str = ""
    resampled: str | None = None  # human benchmarks: what the brain similarity's interval resamples
    metric_name: str = (
        CLASSICAL  # the alignment metric it scores with (rsa, wrsa, cka, encoding, …)
    )
    target_id: str = (
        ""  # its id without the metric: benchmarks of one target under several metrics share it
    )

    @property
    def name(self) -> str:
        """A short name for a column head: the last part of its target's id (``IT``,
        ``judgements``), and its metric where that is not classical RSA (``IT (CKA)``)."""
        short = (self.target_id or self.id).rpartition(".")[2]
        return (
            short
            if self.metric_name == CLASSICAL
            else f"{short} ({metric_label(self.metric_name)})"
        )

    @property
    def source(self) -> str:
        """The rest of its target's id with the version (``algonauts2019.92images @2``)."""
        target = self.target_id or self.id
        return f"{target.rpartition('.')[0] or target} @{self.version}"

    @property
    def few_subjects(self) -> str:
        """The caveat of intervals resampled from few subjects, "" where none applies."""
        return (
            few_subjects(self.n_subjects, self.resampled or "subjects and stimuli")
            if self.kind == "human"
            else ""
        )


@dataclass
class Entry:
    """One model: its card (from its results' provenance) and its results by benchmark identifier."""

    model_id: str
    card: dict[str, Any]
    results: dict[str, Result]

    @property
    def versions(self) -> list[str]:
        """The brainalign versions its results were computed with."""
        return sorted(
            {str(r.provenance.get("brainalign_version", "")) for r in self.results.values()}
        )

    def number(self, benchmark: str | None, name: str, key: str = "value") -> float:
        result = self.results.get(benchmark) if benchmark else None
        return result.value(name, key) if result is not None else math.nan

    def measured(
        self, benchmark: str | None, kind: str, key: str = "value", **attributes: Any
    ) -> float:
        """The number ``key`` of the measure of ``kind`` its result on ``benchmark`` declares."""
        result = self.results.get(benchmark) if benchmark else None
        measure = result.measure(kind, **attributes) if result is not None else None
        return (
            result.value(measure.name, key)
            if result is not None and measure is not None
            else math.nan
        )


@dataclass
class Leaderboard:
    entries: list[Entry]
    benchmarks: list[BenchmarkCard]
    probe: str | None
    layers: pd.DataFrame
    models: pd.DataFrame
    layer_relations: pd.DataFrame
    model_relations: pd.DataFrame
    twins: pd.DataFrame
    #: Trained models scored without their untrained twin (the page says how to add one).
    without_twin: list[str] = field(default_factory=list)
    problems: list[RejectedFile] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    merged: Merged | None = None  # where each result came from, verifications and conflicts
    metrics: dict[str, str] = field(
        default_factory=dict
    )  # brain column → the metric its benchmark scores with

    @property
    def warnings(self) -> list[Note]:
        """The notes a reader must see (the others follow from how the models are defined)."""
        return [n for n in self.notes if n.warning]

    @property
    def conflicts(self) -> list[Conflict]:
        return self.merged.conflicts if self.merged is not None else []

    def conflicting(self, model_id: str, benchmark: str | None) -> bool:
        """Whether the model's results on ``benchmark`` conflict (and so none is shown)."""
        return any(c.model_id == model_id and c.benchmark == benchmark for c in self.conflicts)

    @property
    def human_benchmarks(self) -> list[BenchmarkCard]:
        return [b for b in self.benchmarks if b.kind == "human"]

    @property
    def probes(self) -> list[BenchmarkCard]:
        """Every probe scored: each has columns of its own."""
        return [b for b in self.benchmarks if b.kind == "probe"]

    @property
    def probe_card(self) -> BenchmarkCard | None:
        """The probe the relations and claims use."""
        return next((b for b in self.probes if b.identifier == self.probe), None)

    @property
    def ranked_benchmarks(self) -> list[BenchmarkCard]:
        """The benchmarks of the main table: every human benchmark, the probe the relations use
        and any other benchmark with headline numbers (other probes have pages of their own)."""
        return [b for b in self.benchmarks if b.kind != "probe" or b.identifier == self.probe]

    def entry(self, model_id: str) -> Entry:
        return next(e for e in self.entries if e.model_id == model_id)

    def brain_columns(self, metric: str | None = CLASSICAL) -> list[str]:
        """The brain columns of the layer and model tables whose benchmark scores with ``metric``
        (None: every metric). The relations and claims use classical RSA's alone; the
        metric-robustness panel compares the others with them."""
        columns = brain_columns(self.layers) + [
            c for c in brain_columns(self.models) if c not in set(brain_columns(self.layers))
        ]
        return (
            columns
            if metric is None
            else [c for c in columns if self.metrics.get(c, CLASSICAL) == metric]
        )


def build_leaderboard(
    results: Sequence[Result],
    problems: Sequence[RejectedFile] = (),
    *,
    probe: str | None = None,
    merged: Merged | None = None,
) -> Leaderboard:
    """Aggregate ``results`` (any number of models × benchmarks). ``probe`` picks the probe
    benchmark whose numbers describe models when several were scored (default: the most common).
    ``merged``: where the results came from (several folders), with their verifications and
    conflicts, for the page to show."""
    notes: list[Note] = list(merged.notes) if merged is not None else []
    entries = _entries(results, notes)
    layers = layer_table(results, probe)
    models = model_table(results, probe)
    scored = {e.model_id for e in entries}
    trained = {e.model_id for e in entries if is_trained(e)}
    cards = _benchmark_cards(results, notes)
    metric = {card.identifier: card.metric_name for card in cards}
    metrics = {
        column: metric.get(identifier, CLASSICAL)
        for column, identifier in column_benchmarks(results).items()
    }
    classical = {column for column, name in metrics.items() if name == CLASSICAL}
    return Leaderboard(
        entries=entries,
        benchmarks=cards,
        probe=choose_probe(results, probe),
        layers=layers,
        models=models,
        layer_relations=layer_relations(layers, trained, targets=classical),
        model_relations=model_relations(models, trained, targets=classical),
        twins=twin_comparison(entries),
        without_twin=sorted(model for model in trained if model + UNTRAINED_SUFFIX not in scored),
        problems=list(problems),
        notes=notes,
        merged=merged,
        metrics=metrics,
    )


#: Card objectives of models that learned nothing: untrained networks and baselines (pixels).
UNTRAINED_OBJECTIVES: tuple[str, ...] = ("untrained", "none")


def is_trained(entry: Entry) -> bool:
    """Whether a model was trained: not an untrained twin, nor a card whose objective says it
    learned nothing (an untrained network, the pixel baseline)."""
    return (
        not entry.model_id.endswith(UNTRAINED_SUFFIX)
        and entry.card.get("objective") not in UNTRAINED_OBJECTIVES
    )


def _entries(results: Sequence[Result], notes: list[Note]) -> list[Entry]:
    by_model: dict[str, dict[str, Result]] = {}
    for result in results:
        by_model.setdefault(result.model_id, {})[result.benchmark] = result
    entries = []
    for model_id in sorted(by_model):
        own = by_model[model_id]
        cards = {json.dumps(r.model_card, sort_keys=True): r.benchmark for r in own.values()}
        if len(cards) > 1:
            notes.append(
                Note(
                    f"model {model_id}: its model card differs between results "
                    f"({', '.join(sorted(cards.values()))}); the card of the first is shown",
                    model=model_id,
                )
            )
        first = own[min(own)]
        entries.append(Entry(model_id, dict(first.model_card), dict(sorted(own.items()))))
    return entries


def _kind(result: Result) -> str:
    return "probe" if is_probe(result) else "human" if is_brain(result) else "other"


def _benchmark_cards(results: Sequence[Result], notes: list[Note]) -> list[BenchmarkCard]:
    grouped: dict[str, list[Result]] = {}
    for result in sorted(results, key=lambda r: r.model_id):
        grouped.setdefault(result.benchmark, []).append(result)
    cards = []
    for identifier, group in grouped.items():
        first = group[0]
        info = first.benchmark_info
        ceilings = {_ceiling(r) for r in group}
        if len({json.dumps(c) for c in ceilings}) > 1:
            notes.append(
                Note(
                    f"benchmark {identifier}: results record different noise ceilings; "
                    f"the one of {first.model_id} is shown",
                    benchmark=identifier,
                )
            )
        _note_stimuli(identifier, group, notes)
        lower, upper = _ceiling(first)
        kind = _kind(first)
        label, caveats = (
            probe_label(identifier, first.provenance.get("data_checksums") or {})
            if kind == "probe"
            else ("", [])
        )
        notes += [
            Note(f"benchmark {identifier} ({label}): {caveat}", benchmark=identifier)
            for caveat in caveats
        ]
        ceiling = first.summary.get("noise_ceiling") or {}
        target_id, metric_name = metric_of(identifier, first.provenance)
        cards.append(
            BenchmarkCard(
                identifier=identifier,
                id=str(info["id"]),
                version=int(info["version"]),
                kind=kind,
                title=str(info.get("title") or identifier),
                description=str(info.get("description", "")),
                metric=str(info.get("metric", "")),
                bibtex=str(info.get("bibtex", "")),
                datasets=tuple(info.get("datasets", ())),
                ceiling_lower=lower,
                ceiling_upper=upper,
                n_models=len(group),
                label=label,
                caveats=tuple(caveats),
                interval="; ".join(
                    dict.fromkeys(m.interval for m in first.measures if m.headline and m.interval)
                ),
                headlines=tuple(m for m in first.measures if m.headline),
                n_subjects=_most_common(_n_subjects(r) for r in group),
                n_stimuli=_most_common(_n_stimuli(r) for r in group),
                ceiling_reliable=_reliable(group),
                ceiling_reliability=dict(ceiling.get("reliability") or {}),
                ceiling_convention=str(ceiling.get("convention") or ""),
                resampled=_most_common(_resampled(r) for r in group) if kind == "human" else None,
                target_id=target_id,
                metric_name=metric_name,
            )
        )
    notes.extend(version_notes(list(grouped)))
    order = {"probe": 0, "human": 1, "other": 2}
    return sorted(cards, key=lambda c: (order[c.kind], c.identifier))


def _n_subjects(result: Result) -> int | None:
    """How many subjects a human result's interval resampled (as its scoring recorded it)."""
    extra = result.extra
    found = extra.get("n_subjects", (extra.get("resamples") or {}).get("n_subjects"))
    if found is None and "subject" in result.layerwise and is_brain(result):
        subjects = result.layerwise["subject"]
        found = subjects[subjects != ""].nunique() or None
    return int(found) if found is not None else None


def _resampled(result: Result) -> str | None:
    """What the interval of a human result's brain similarity resamples, as it recorded it."""
    measure = result.measure("brain_similarity")
    return interval_resamples(result, measure.name) if measure is not None else None


def _n_stimuli(result: Result) -> int | None:
    """How many stimuli the result's numbers were computed on, where it recorded it."""
    extra = result.extra
    found = (extra.get("two_factor") or {}).get(
        "n_stimuli", (extra.get("resamples") or {}).get("n_stimuli", extra.get("n_stimuli"))
    )
    return int(found) if found is not None else None


def _most_common(values: Any) -> Any:
    counts: dict[Any, int] = {}
    for value in values:
        if value is not None:
            counts[value] = counts.get(value, 0) + 1
    return max(counts, key=lambda v: counts[v]) if counts else None


def _reliable(group: Sequence[Result]) -> bool | None:
    """Whether the benchmark's noise ceiling was found reliable: False if any result says it was
    not, True if they say it was, None where none says (results written before the test)."""
    said = [r.summary.get("noise_ceiling", {}).get("reliable") for r in group]
    said = [s for s in said if isinstance(s, bool)]
    return None if not said else all(said)


def _ceiling(result: Result) -> tuple[float, float]:
    """The (lower, upper) noise ceiling a result reports, NaN where it declares none."""
    measure = result.measure("noise_ceiling")
    if measure is None:
        return math.nan, math.nan
    return result.value(measure.name, "lower"), result.value(measure.name, "upper")


def _note_stimuli(identifier: str, group: Sequence[Result], notes: list[Note]) -> None:
    """Numbers of one benchmark compare models only on the same stimuli, data and layer policy:
    say when they were not (e.g. a probe built elsewhere, or the small fallback probe where the
    Tux Paint stamps were missing)."""
    notes.extend(column_notes(identifier, group))
    fallback = sorted(
        r.model_id
        for r in group
        if r.provenance.get("data_checksums", {}).get("probe_pool") == "bundled"
    )
    if fallback:
        notes.append(
            Note(
                f"benchmark {identifier}: {', '.join(fallback)} scored on the small fallback probe "
                "of bundled photos (the Tux Paint stamps were not available), not the default probe; "
                "its numbers are not comparable with the default's",
                benchmark=identifier,
            )
        )


def twin_comparison(entries: Sequence[Entry]) -> pd.DataFrame:
    """Each model beside its untrained twin (``<id>:untrained``): pretrained − untrained for
    brain similarity, semantic encoding and saliency suppression, with MOVER intervals."""
    by_id = {e.model_id: e for e in entries}
    frames = []
    for entry in entries:
        twin = by_id.get(entry.model_id + UNTRAINED_SUFFIX)
        if twin is None:
            continue
        diff = compare_results(
            list(entry.results.values()),
            list(twin.results.values()),
            label_a="pretrained",
            label_b="untrained",
        )
        names = {m.name for r in entry.results.values() for m in r.measures if m.kind in TWIN_KINDS}
        diff = diff[diff["metric"].isin(names)]
        frames.append(diff.assign(model=entry.model_id, twin=twin.model_id))
    if not frames:
        return pd.DataFrame(columns=["model", "twin", *compare_results([], []).columns])
    table = pd.concat(frames, ignore_index=True)
    return table[["model", "twin", *[c for c in table.columns if c not in ("model", "twin")]]]
