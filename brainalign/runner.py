"""Scoring runs: models × benchmarks → results in a store → the leaderboard.

A run is resumable by construction: a (model, benchmark) pair already in the results store with
the same seed, preprocessing and layer policy is reused, and layer RDMs are cached on disk, so a
killed run started again recomputes only what was lost and ends with the same numbers.
Benchmarks whose data is missing are reported as skipped with the command that gets the data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ._io import sha256_file
from .benchmarks import Benchmark, all_benchmarks
from .benchmarks import get as get_benchmark
from .errors import BrainAlignError
from .leaderboard.store import Result, ResultsStore, default_results_dir
from .models import (
    DEFAULT_MEMORY_BUDGET,
    LoadedModel,
    ModelCard,
    extract_layer_rdms,
    get_card,
    load_model,
)
from .models.weights import weights_file_path
from .paths import data_dir as resolve_data_dir

if TYPE_CHECKING:  # dask is imported only when a client is given (brainalign.distributed)
    from dask.distributed import Client

    from .stimuli import StimulusSet

log = logging.getLogger(__name__)

#: The models `brainalign run` scores by default: every model whose weights work offline, their
#: untrained twins, two untrained architectures from the study, and the pixel baseline.
DEFAULT_MODELS: tuple[str, ...] = (
    "efficientnet_lite0",
    "efficientnet_lite0:untrained",
    "efficientnet_lite1",
    "efficientnet_lite1:untrained",
    "efficientnet_lite2",
    "efficientnet_lite2:untrained",
    "resnet50:untrained",
    "vit_b_16:untrained",
    "pixels",
)

Status = Literal["scored", "reused", "skipped"]


@dataclass(frozen=True)
class Outcome:
    """What happened to one (model, benchmark) pair."""

    model_id: str
    benchmark: str
    status: Status
    result: Result | None = None
    message: str = ""


@dataclass(frozen=True)
class ScoringOptions:
    """Everything besides the model and benchmark that determines (or speeds up) a score."""

    device: str = "cpu"
    batch_size: int = 32
    memory_budget: int | str = DEFAULT_MEMORY_BUDGET
    layers: str | Sequence[str] | None = None
    seed: int = 0
    data_dir: Path | None = None
    preprocessing: str = "native"
    weights: Path | None = None


@dataclass
class RunReport:
    outcomes: list[Outcome] = field(default_factory=list)
    leaderboard: Path | None = None

    def by_status(self, status: Status) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]


ModelSpec = str | LoadedModel
#: Called with the loaded model and the benchmark's stimulus sets just before extraction (the Dask
#: runner fills the layer-RDM cache from several workers there; see brainalign.distributed).
PrepareLayers = Callable[[LoadedModel, Mapping[str, "StimulusSet"]], None]


def default_benchmarks() -> list[Benchmark]:
    return [b for b in all_benchmarks() if b.default]


def resolve_benchmarks(benchmarks: str | Benchmark | Iterable[str | Benchmark] | None) -> list[Benchmark]:
    if benchmarks is None:
        return default_benchmarks()
    if isinstance(benchmarks, (str, Benchmark)):
        benchmarks = [benchmarks]
    return [b if isinstance(b, Benchmark) else get_benchmark(b) for b in benchmarks]


def score(
    model: ModelSpec,
    benchmarks: str | Benchmark | Iterable[str | Benchmark] | None = None,
    *,
    results: str | Path | ResultsStore | None = None,
    options: ScoringOptions | None = None,
    force: bool = False,
    client: Client | None = None,
    layer_groups: int = 1,
    **option_overrides: object,
) -> list[Outcome]:
    """Score one model on benchmarks (default: the default set) and save each result.

    ``model`` is a model id (``"efficientnet_lite0"``, ``"timm:resnet18"``, ``"net.py:build"``)
    or a :class:`~brainalign.models.LoadedModel` (e.g. from :func:`brainalign.models.from_module`).
    Options are :class:`ScoringOptions` fields, also accepted as keywords (``seed=1``). A result
    already stored with the same seed, preprocessing and layer policy is reused unless ``force``.
    With a Dask ``client`` each benchmark is scored by a worker (``layer_groups``: see :func:`run`).
    """
    options = _options(options, option_overrides)
    store = _store(results)
    if client is not None or layer_groups != 1:
        from .distributed import score_on_dask

        return score_on_dask(client, [model], resolve_benchmarks(benchmarks), store, options,
                             force=force, layer_groups=layer_groups)
    session = ModelSession(model, options)
    return [_score_one(session, b, store, options, force) for b in resolve_benchmarks(benchmarks)]


def run(
    models: Sequence[ModelSpec] = DEFAULT_MODELS,
    benchmarks: str | Benchmark | Iterable[str | Benchmark] | None = None,
    *,
    results: str | Path | ResultsStore | None = None,
    leaderboard: str | Path | None = None,
    options: ScoringOptions | None = None,
    force: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    client: Client | None = None,
    layer_groups: int = 1,
    **option_overrides: object,
) -> RunReport:
    """Score every model on every benchmark, then build the leaderboard (``leaderboard`` path,
    default ``<results>/leaderboard.html``).

    With a Dask ``client`` (``dask.distributed.Client``) every (model, benchmark) pair is one task
    on the cluster, written into the same results store; ``layer_groups`` > 1 also splits each
    model's layers across workers (see :mod:`brainalign.distributed`). Without one, Dask is not
    even imported.
    """
    options = _options(options, option_overrides)
    store = _store(results)
    chosen = resolve_benchmarks(benchmarks)
    report = RunReport()
    if client is not None or layer_groups != 1:
        from .distributed import score_on_dask

        report.outcomes = score_on_dask(client, models, chosen, store, options, force=force,
                                        layer_groups=layer_groups, on_outcome=on_outcome)
    else:
        for model in models:
            session = ModelSession(model, options)
            for benchmark in chosen:
                outcome = _score_one(session, benchmark, store, options, force)
                report.outcomes.append(outcome)
                if on_outcome is not None:
                    on_outcome(outcome)
            session.release()
    if not store.folder.is_dir():  # nothing was ever stored (every pair skipped): no page to build
        return report
    from .leaderboard.render import build

    out = Path(leaderboard) if leaderboard is not None else store.folder / "leaderboard.html"
    report.leaderboard = build(store.folder, out).path
    return report


class ModelSession:
    """A model by id or object, loaded only when some benchmark actually needs its activations,
    so a resumed run whose results all exist never builds a network."""

    def __init__(self, model: ModelSpec, options: ScoringOptions) -> None:
        self._options = options
        self._loaded = model if isinstance(model, LoadedModel) else None
        self.id = model.id if isinstance(model, LoadedModel) else str(model)

    def get(self) -> LoadedModel:
        o = self._options
        if self._loaded is None:
            self._loaded = load_model(self.id, device=o.device, weights=o.weights,
                                      preprocessing=o.preprocessing, layers=o.layers)
        elif o.layers is not None and self._loaded.layers != self._loaded.select(o.layers):
            self._loaded = self._loaded.with_layers(o.layers)  # a given model, other layers asked for
        return self._loaded

    def card(self) -> ModelCard:
        """The model's card (no model load needed for registered ids)."""
        if self._loaded is not None:
            return self._loaded.card
        try:
            return get_card(self.id)
        except BrainAlignError:  # a file.py:factory or plugin: only loading tells its card
            return self.get().card

    def reuse_key(self) -> dict[str, object]:
        """Provenance fields a stored result must match to be reused (no model load needed for
        registered ids)."""
        card = self.card()
        layers = self._options.layers
        policy = card.layer_policy if layers is None else (layers if isinstance(layers, str) else list(layers))
        preprocessing = card.preprocessing if self._loaded is not None else self._options.preprocessing
        weights = self._options.weights
        key: dict[str, object] = {
            "seed": self._options.seed, "preprocessing": preprocessing, "layer_policy": policy,
            "weights_file_sha256": sha256_file(weights_file_path(weights)) if weights is not None else None,
        }
        if self._loaded is not None:  # e.g. a FILE.py model: its preprocessing code may have changed
            key["preprocess_sha256"] = self._loaded.preprocess_sha256
        return key

    def release(self) -> None:
        self._loaded = None


def score_pair(
    model: str,
    benchmark: str | Benchmark,
    results: str | Path | ResultsStore,
    options: ScoringOptions,
    force: bool = False,
    *,
    prepare_layers: PrepareLayers | None = None,
) -> Outcome:
    """Score one (model id, benchmark) pair into ``results`` from plain, picklable arguments:
    what a Dask worker runs for one task (same checks, files and provenance as :func:`run`)."""
    session = ModelSession(model, options)
    try:
        return _score_one(session, resolve_benchmarks(benchmark)[0], _store(results), options, force,
                          prepare_layers=prepare_layers)
    finally:
        session.release()


def _score_one(
    session: ModelSession,
    benchmark: Benchmark,
    store: ResultsStore,
    options: ScoringOptions,
    force: bool,
    prepare_layers: PrepareLayers | None = None,
) -> Outcome:
    data_dir = resolve_data_dir(options.data_dir)
    availability = benchmark.availability(data_dir)
    if not availability.available:
        message = availability.reason
        if availability.fix and availability.fix not in message:
            message += f"; get it with: {availability.fix}"
        log.debug("skipped %s on %s: %s", session.id, benchmark.identifier, message)
        return Outcome(session.id, benchmark.identifier, "skipped", message=message)
    # what a stored result must match to be reused: how the model was set up, and the exact data
    key = {**session.reuse_key(), "data_checksums": benchmark.provenance(data_dir)}
    stored_id = session.card().id  # a FILE.py:FUNCTION model's results are stored under its card's id
    stored = None if force else store.find(stored_id, benchmark.identifier, **key)
    if stored is not None:
        return Outcome(stored_id, benchmark.identifier, "reused", stored)
    model = session.get()
    started = time.perf_counter()
    stimulus_sets = benchmark.stimulus_sets(data_dir)
    if prepare_layers is not None:
        prepare_layers(model, stimulus_sets)
    layer_rdms = {
        name: extract_layer_rdms(model, stimuli, distance=benchmark.distance,
                                 batch_size=options.batch_size, memory_budget=options.memory_budget,
                                 device=options.device)
        for name, stimuli in stimulus_sets.items()
    }
    extracted = time.perf_counter()
    scored = benchmark.score(layer_rdms, seed=options.seed, data_dir=data_dir)
    finished = time.perf_counter()
    key.pop("seed")
    key["preprocess_sha256"] = model.preprocess_sha256
    result = Result.from_score(
        scored,
        model_card=model.card,
        benchmark=benchmark,
        seed=options.seed,
        stimuli_sha256={name: s.content_hash for name, s in stimulus_sets.items()},
        weights_path=str(model.weights_path) if model.weights_path else None,
        device=str(options.device),
        timings={"extract_s": round(extracted - started, 3), "score_s": round(finished - extracted, 3)},
        **key,
    )
    store.save(result)
    return Outcome(model.id, benchmark.identifier, "scored", result)


def _options(options: ScoringOptions | None, overrides: dict[str, object]) -> ScoringOptions:
    unknown = set(overrides) - set(ScoringOptions.__dataclass_fields__)
    if unknown:
        raise BrainAlignError(f"unknown scoring options {sorted(unknown)}; "
                              f"known: {sorted(ScoringOptions.__dataclass_fields__)}")
    return replace(options or ScoringOptions(), **overrides)  # type: ignore[arg-type]


def _store(results: str | Path | ResultsStore | None) -> ResultsStore:
    if isinstance(results, ResultsStore):
        return results
    return ResultsStore(results if results is not None else default_results_dir())
