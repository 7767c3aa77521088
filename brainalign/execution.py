"""Scoring (model, benchmark) pairs: the unit of work, and the executors that run many of them.

One pair is scored by :func:`score_pair`: reuse a stored result whose reuse key matches, else
load the model (once per model, shared by its benchmarks), extract its layer RDMs on the
benchmark's stimuli, score them and store the result. An :class:`Executor` decides where pairs
run: :class:`LocalExecutor` here, in order; ``brainalign.distributed.DaskExecutor`` on a Dask
cluster. Both write the same files, so a run may start on one and resume on the other.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from . import phases
from ._files import sha256_file
from .benchmarks import Benchmark, BenchmarkScore
from .benchmarks.plugins import PluginError
from .errors import BrainAlignError
from .models import (
    DEFAULT_MEMORY_BUDGET,
    LoadedModel,
    ModelCard,
    extract_layers,
    get_card,
    load_model,
)
from .models.allocator import reuse_freed_memory
from .models.constant_layers import drop_uncomparable_layers
from .models.weights import weights_file_path
from .models.zoo import file_spec_path, is_file_spec
from .paths import data_dir as resolve_data_dir
from .results import Result, ResultsStore, as_float, default_results_dir, jsonable
from .results.provenance import environment

if TYPE_CHECKING:
    from .stimuli import StimulusSet

log = logging.getLogger(__name__)

Status = Literal["scored", "reused", "skipped"]
ModelSpec = str | LoadedModel
#: Called with the loaded model and the benchmark's stimulus sets just before extraction (the Dask
#: executor fills the layer-RDM cache from several workers there).
PrepareLayers = Callable[[LoadedModel, Mapping[str, "StimulusSet"]], None]
OutcomeCallback = Callable[["Outcome"], None]


@dataclass(frozen=True)
class Outcome:
    """What happened to one (model, benchmark) pair: scored, reused or skipped (and why)."""

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

    def replace(self, overrides: Mapping[str, object]) -> ScoringOptions:
        """These options with ``overrides`` (field names) applied; unknown names are an error."""
        unknown = set(overrides) - set(ScoringOptions.__dataclass_fields__)
        if unknown:
            raise BrainAlignError(
                f"unknown scoring options {sorted(unknown)}; "
                f"known: {sorted(ScoringOptions.__dataclass_fields__)}"
            )
        return replace(self, **overrides)  # type: ignore[arg-type]


def open_store(results: str | Path | ResultsStore | None) -> ResultsStore:
    """A results store from a folder (default ``$BRAINALIGN_RESULTS``, else ``./results``)."""
    if isinstance(results, ResultsStore):
        return results
    return ResultsStore(results if results is not None else default_results_dir())


class ModelSession:
    """A model by id or object, loaded only when some benchmark actually needs its activations,
    so a resumed run whose results all exist never builds a registered network."""

    def __init__(self, model: ModelSpec, options: ScoringOptions) -> None:
        self._options = options
        self._given = model if isinstance(model, LoadedModel) else None
        self._loaded = self._given
        self.id = model.id if isinstance(model, LoadedModel) else str(model)

    def get(self) -> LoadedModel:
        o = self._options
        if self._loaded is None:
            self._loaded = load_model(
                self.id,
                device=o.device,
                weights=o.weights,
                preprocessing=o.preprocessing,
                layers=o.layers,
            )
        elif o.layers is not None and self._loaded.layers != self._loaded.select(o.layers):
            self._loaded = self._loaded.with_layers(
                o.layers
            )  # a given model, other layers asked for
        if self._given is not None and o.preprocessing not in (
            "native",
            self._loaded.preprocessing,
        ):
            raise BrainAlignError(
                f"preprocessing={o.preprocessing!r} applies to models loaded by id; {self.id!r} was "
                "given with its own transform: pass brainalign.models.clip_preprocess() to from_module"
            )
        return self._loaded

    @property
    def identified_by_parameters(self) -> bool:
        """A module given in memory or built by a ``FILE.py`` factory: the same name may stand for
        other weights or code, so only the parameters' sha256 tells which network it is."""
        return self._given is not None or is_file_spec(self.id)

    def card(self) -> ModelCard:
        """The model's card (no model load needed for registered ids)."""
        if self._loaded is not None or is_file_spec(
            self.id
        ):  # a FILE.py factory: only loading tells
            return self.get().card
        return get_card(self.id)

    def reuse_key(self) -> dict[str, object]:
        """What identifies the model and the run's settings for reuse: a stored result is reused
        only if its reuse key equals this one. A registered id is identified by its card and
        options (no model load needed); a module given in memory or built by a ``FILE.py``
        factory by the sha256 of its parameters and of its preprocessing's output, and a
        factory's file by its source's sha256, since the same name may stand for other code."""
        card = self.card()
        layers = self._options.layers
        policy = (
            card.layer_policy
            if layers is None
            else (layers if isinstance(layers, str) else list(layers))
        )
        weights = self._options.weights
        key: dict[str, object] = {
            "seed": self._options.seed,
            "preprocessing": self._options.preprocessing,
            "layer_policy": policy,
            "weights_file_sha256": sha256_file(weights_file_path(weights))
            if weights is not None
            else None,
        }
        if self.identified_by_parameters:
            model = self.get()
            key["preprocessing"] = model.preprocessing  # what it was fed: custom, clip or native
            key["parameters_sha256"] = model.state_sha256()
            key["preprocess_sha256"] = model.preprocess_sha256
        if is_file_spec(self.id):
            key["source_sha256"] = sha256_file(file_spec_path(self.id))
        return key

    def model_file(self) -> dict[str, str] | None:
        """Where a ``FILE.py:FUNCTION`` model's code is and the sha256 of its source (what
        ``brainalign verify`` needs to build the same network again); None for other models."""
        if not is_file_spec(self.id):
            return None
        path = file_spec_path(self.id)
        return {
            "path": str(path.resolve()),
            "function": self.id.rpartition(":")[2],
            "sha256": sha256_file(path),
        }

    def release(self) -> None:
        self._loaded = self._given


def score_pair(
    session: ModelSession,
    benchmark: Benchmark,
    store: ResultsStore,
    options: ScoringOptions,
    force: bool = False,
    *,
    prepare_layers: PrepareLayers | None = None,
) -> Outcome:
    """Score one (model, benchmark) pair into ``store``, or reuse the stored result. A scored
    result's timings hold the pair's seconds per phase (:mod:`brainalign.phases`).

    Absent data, and a plugin whose code fails, give a "skipped" outcome (callers that must not
    skip check first and after, see :func:`brainalign.score`); damaged data, a result whose headline
    numbers could not be computed, and another network under a model id already in ``store``
    are errors."""
    try:
        return _score_pair(session, benchmark, store, options, force, prepare_layers)
    except (
        PluginError
    ) as err:  # a plugin's code failed: it is left out from now on (benchmarks.plugins)
        return Outcome(session.id, benchmark.identifier, "skipped", message=str(err))


def _score_pair(
    session: ModelSession,
    benchmark: Benchmark,
    store: ResultsStore,
    options: ScoringOptions,
    force: bool,
    prepare_layers: PrepareLayers | None,
) -> Outcome:
    before = phases.elapsed()
    data_dir = resolve_data_dir(options.data_dir)
    with phases.phase("data"):
        availability = benchmark.availability(data_dir)
    if availability.damaged:
        raise BrainAlignError(f"{benchmark.identifier} cannot be scored: {availability.message}")
    if not availability.available:
        log.debug("skipped %s on %s: %s", session.id, benchmark.identifier, availability.message)
        return Outcome(session.id, benchmark.identifier, "skipped", message=availability.message)
    # what a stored result must match to be reused: how the model was set up, and the exact data
    with phases.phase("data"):
        data_checksums = benchmark.provenance(data_dir)
    key = {**session.reuse_key(), "data_checksums": data_checksums}
    stored_id = (
        session.card().id
    )  # a FILE.py:FUNCTION model's results are stored under its card's id
    with phases.phase("io"):
        stored = None if force else store.find(stored_id, benchmark.identifier, key)
    if stored is not None:
        return Outcome(stored_id, benchmark.identifier, "reused", stored)
    others = results_of_other_networks(store, stored_id, key)
    if others and not force:
        raise BrainAlignError(
            f"{store.folder} already holds results of another network called {stored_id!r} "
            f"({others[0]}); give this network its own model id, score it into another results "
            "folder (--results), or replace those results with --force (force=True)"
        )
    with phases.phase("load"):
        model = session.get()
    started = time.perf_counter()
    with phases.phase("data"):
        stimulus_sets = benchmark.stimulus_sets(data_dir)
    check_scoring_memory(model, benchmark, stimulus_sets)
    if prepare_layers is not None:
        prepare_layers(model, stimulus_sets)
    as_kernels = getattr(benchmark, "layers_as", "rdms") == "kernels"
    extracted_sets = {
        name: extract_layers(
            model,
            stimuli,
            distance=benchmark.distance,
            batch_size=options.batch_size,
            memory_budget=options.memory_budget,
            device=options.device,
            kernels=as_kernels,
        )
        for name, stimuli in stimulus_sets.items()
    }
    layer_rdms, dropped = drop_uncomparable_layers(
        {n: rdms for n, (rdms, _) in extracted_sets.items()}, model.id
    )
    layers: dict[str, Any] = layer_rdms
    if as_kernels:  # the kernels of the layers whose RDMs can be compared
        layers = {}
        for n, (_, kernels) in extracted_sets.items():
            assert kernels is not None  # extract_layers(kernels=True) always gives them
            layers[n] = kernels.select(layer_rdms[n].layers)
    extracted = time.perf_counter()
    # The benchmark's own bootstraps are charged to "bootstrap". Their scratch arrays, allocated
    # anew for every resample, reuse the heap's freed memory instead of fresh pages, whatever
    # their size (after the block, glibc still maps arrays above 32 MiB afresh: models.allocator).
    with phases.phase("compare"), reuse_freed_memory():
        scored = benchmark.score(layers, seed=options.seed, data_dir=data_dir)
    if dropped:
        scored.extra["dropped_layers"] = dropped
    finished = time.perf_counter()
    timings = {
        "extract_s": round(extracted - started, 3),
        "score_s": round(finished - extracted, 3),
    }
    check_headline(scored, benchmark, model.id)
    card = model.card
    if session.identified_by_parameters and card.weights_sha256 is None:
        card = replace(card, weights_sha256=model.state_sha256())  # what identifies its weights
    result = Result.from_score(
        scored,
        model_card=card,
        benchmark=benchmark,
        seed=options.seed,
        reuse_key=key,
        stimuli_sha256={name: s.content_hash for name, s in stimulus_sets.items()},
        stimulus_ids_sha256={name: s.ids_sha256 for name, s in stimulus_sets.items()},
        data_checksums=data_checksums,
        preprocessing=key["preprocessing"],
        preprocess_sha256=model.preprocess_sha256,
        parameters_sha256=model.state_sha256(),
        layer_policy=key["layer_policy"],
        weights_file_sha256=key["weights_file_sha256"],
        weights_path=str(model.weights_path) if model.weights_path else None,
        model_file=session.model_file(),
        device=str(options.device),
        batch_size=options.batch_size,
        environment=environment(),
        timings={**timings, **phase_timings(phases.since(before))},
    )
    with phases.phase("io"):
        store.save(result)
    remaining = [o for o in others if not o.startswith(benchmark.identifier + ":")]
    if remaining:
        log.warning(
            "%s: results of the network that was called %r before remain in %s (%s); "
            "score them again with --force, or delete them",
            model.id,
            stored_id,
            store.folder,
            "; ".join(remaining),
        )
    return Outcome(model.id, benchmark.identifier, "scored", result)


#: Reuse-key fields that say which network a result is of (the same name can stand for other
#: weights): other values under one model id mean another network, not other settings.
NETWORK_IDENTITY = ("parameters_sha256", "weights_file_sha256")


#: Environment variable holding the most memory scoring may need (a size such as ``24GB``);
#: default: the machine's physical memory.
SCORING_MEMORY_ENV = "BRAINALIGN_SCORING_MEMORY"


def scoring_memory_budget() -> int:
    """Bytes that scoring one pair may hold: :data:`SCORING_MEMORY_ENV`, else physical memory."""
    from .models import parse_memory_budget

    budget = os.environ.get(SCORING_MEMORY_ENV, "").strip()
    if budget:
        return parse_memory_budget(budget)
    import psutil

    return int(psutil.virtual_memory().total)


def check_scoring_memory(
    model: LoadedModel, benchmark: Benchmark, stimulus_sets: Mapping[str, StimulusSet]
) -> None:
    """Refuse, before any forward pass, a pair whose layer RDMs would not fit the scoring budget
    (:func:`brainalign.rsa.inference.scoring_memory`, without the benchmark's own data), naming
    the budget that would do."""
    from .rsa.inference import scoring_memory

    budget = scoring_memory_budget()
    for stimuli in stimulus_sets.values():
        need = scoring_memory(len(stimuli), len(model.layers))
        if need > budget:
            raise BrainAlignError(
                f"scoring {model.id} on {benchmark.identifier} needs about {need / 1e9:.1f} GB for "
                f"{len(stimuli)} stimuli x {len(model.layers)} layers, more than the scoring memory "
                f"budget of {budget / 1e9:.1f} GB; set {SCORING_MEMORY_ENV}={math.ceil(need / 1e9)}GB "
                "(or more) on a machine with that much memory, or score fewer layers (--layers)"
            )


def results_of_other_networks(
    store: ResultsStore, model_id: str, key: Mapping[str, object]
) -> list[str]:
    """``"benchmark: field a… there, b… now"`` for every stored result of ``model_id`` whose
    network identity differs from ``key``'s (so one model id never names two networks)."""
    wanted = jsonable({name: key.get(name) for name in NETWORK_IDENTITY})
    found = []
    for entry in store.list():
        if entry.model_id != model_id:
            continue
        result = store.find(entry.model_id, entry.benchmark)
        if result is None:
            continue
        for name in NETWORK_IDENTITY:
            there, now = result.reuse_key.get(name), wanted[name]
            if there != now:
                found.append(f"{entry.benchmark}: {name} {_short(there)} there, {_short(now)} now")
                break
    return found


def _short(digest: object) -> str:
    return f"{digest[:12]}…" if isinstance(digest, str) else str(digest)


def check_headline(scored: BenchmarkScore, benchmark: Benchmark, model_id: str) -> None:
    """A score none of whose headline numbers could be computed (all NaN) is an error, never a
    stored result: it would stand on the leaderboard as if the model had been scored."""
    headline = [m.name for m in benchmark.measures if m.headline]
    values = [as_float(scored.summary.get(name, {}).get("value")) for name in headline]
    if not headline or not all(math.isnan(v) for v in values):
        return
    rows = scored.layerwise["value"].to_numpy(dtype=float)
    why = (
        "every layer's comparison with the target is undefined (constant or NaN RDMs: see the "
        "warnings above)"
        if rows.size and np.isnan(rows).all()
        else "see the warnings above"
    )
    raise BrainAlignError(
        f"{model_id} on {benchmark.identifier}: {', '.join(headline)} could not be computed ({why}); "
        "nothing was stored"
    )


def phase_totals(outcomes: Iterable[Outcome]) -> dict[str, float]:
    """Seconds per phase (:data:`brainalign.phases.PHASES`) summed over the pairs these outcomes
    scored, from their results' timings: the same wherever the pairs ran."""
    totals = dict.fromkeys(phases.PHASES, 0.0)
    for outcome in outcomes:
        if outcome.status == "scored" and outcome.result is not None:
            timings = outcome.result.provenance.get("timings") or {}
            for name in phases.PHASES:
                totals[name] += timings.get(f"{name}_s") or 0.0
    return totals


def phase_timings(seconds: Mapping[str, float]) -> dict[str, float]:
    """Seconds per phase as result timings: ``{"forward_s": …, …}`` (phases with time only)."""
    return {f"{name}_s": round(value, 3) for name, value in seconds.items() if value >= 0.0005}


def score_model_on(
    model_id: str,
    benchmark: Benchmark,
    results: str | Path | ResultsStore,
    options: ScoringOptions,
    force: bool = False,
    *,
    prepare_layers: PrepareLayers | None = None,
) -> Outcome:
    """:func:`score_pair` from plain, picklable arguments: what a remote worker runs for one pair."""
    session = ModelSession(model_id, options)
    try:
        return score_pair(
            session, benchmark, open_store(results), options, force, prepare_layers=prepare_layers
        )
    finally:
        session.release()


class Executor(Protocol):
    """Runs the pairs of models × benchmarks and returns their outcomes in (model, benchmark)
    order, calling ``on_outcome`` as each pair finishes."""

    def score(
        self,
        models: Sequence[ModelSpec],
        benchmarks: Sequence[Benchmark],
        store: ResultsStore,
        options: ScoringOptions,
        *,
        force: bool = False,
        on_outcome: OutcomeCallback | None = None,
    ) -> list[Outcome]: ...


class LocalExecutor:
    """Pairs run here, one after another; each model is loaded once for all its benchmarks."""

    def score(
        self,
        models: Sequence[ModelSpec],
        benchmarks: Sequence[Benchmark],
        store: ResultsStore,
        options: ScoringOptions,
        *,
        force: bool = False,
        on_outcome: OutcomeCallback | None = None,
    ) -> list[Outcome]:
        outcomes = []
        for model in models:
            session = ModelSession(model, options)
            try:
                for benchmark in benchmarks:
                    outcome = score_pair(session, benchmark, store, options, force)
                    outcomes.append(outcome)
                    if on_outcome is not None:
                        on_outcome(outcome)
            finally:
                session.release()
        return outcomes
