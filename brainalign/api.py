"""The Python API in one place: load models and benchmarks, score, run, publish.

>>> import brainalign
>>> model = brainalign.load_model("efficientnet_lite0")                     # doctest: +SKIP
>>> brainalign.score(model, ["kriegeskorte2008.hIT", "probe.saliency_semantic"])  # doctest: +SKIP
>>> brainalign.build_leaderboard("results", "leaderboard.html")             # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import _API, runner
from .benchmarks import Benchmark, all_benchmarks
from .benchmarks import get as load_benchmark
from .errors import BrainAlignError
from .execution import Executor, LocalExecutor, ModelSpec, Outcome, OutcomeCallback, ScoringOptions, open_store
from .leaderboard.render import build as _build
from .phases import phase
from .models import LoadedModel, ModelCard, extract_layer_rdms, from_module, list_models, load_model
from .verification import verify
from .results import Result, ResultsStore
from .runner import DEFAULT_MODELS, BenchmarkSpec, RunReport
from .stimuli import StimulusSet

if TYPE_CHECKING:  # dask is imported only when a client is given (brainalign.distributed)
    from dask.distributed import Client


def list_benchmarks() -> list[Benchmark]:
    """Every registered benchmark (``benchmark.default`` marks those `run` scores by default)."""
    return all_benchmarks()


def build_leaderboard(results: str | Path | Sequence[str | Path], out: str | Path = "leaderboard.html") -> Path:
    """Write the static HTML leaderboard of every valid result under ``results`` (a folder, or
    several whose results merge; conflicting results are shown as conflicts)."""
    return _build(results if isinstance(results, (str, Path)) else list(results), Path(out)).path


def executor_for(client: Client | None = None, layer_groups: int = 1) -> Executor:
    """Where pairs run: here, or on the Dask cluster behind ``client`` (``layer_groups`` > 1
    splits each model's layers across its workers)."""
    if client is None:
        if layer_groups != 1:
            raise BrainAlignError("layer groups split a model's layers across Dask workers; give a "
                                  "client (--scheduler ADDRESS or --workers N)")
        return LocalExecutor()
    from .distributed import DaskExecutor

    return DaskExecutor(client, layer_groups=layer_groups)


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
    return runner.score(model, benchmarks, results=results, options=options, force=force,
                        executor=executor_for(client, layer_groups), skip_absent=skip_absent,
                        **option_overrides)


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
    default ``<results>/leaderboard.html``).

    With a Dask ``client`` (``dask.distributed.Client``) every (model, benchmark) pair is one task
    on the cluster, written into the same results store; ``layer_groups`` > 1 also splits each
    model's layers across workers. Without one, Dask is not even imported. Benchmarks that
    cannot run are treated as by :func:`score`.
    """
    store = open_store(results)
    report = runner.run(models, benchmarks, results=store, options=options, force=force,
                        on_outcome=on_outcome, executor=executor_for(client, layer_groups),
                        skip_absent=skip_absent, **option_overrides)
    if store.folder.is_dir():  # nothing is stored when every pair was skipped: no page to build
        out = Path(leaderboard) if leaderboard is not None else store.folder / "leaderboard.html"
        with phase("page"):
            report.leaderboard = _build(store.folder, out).path
    return report


__all__ = list(_API)  # one list, kept in brainalign/__init__.py (its lazy attributes)
