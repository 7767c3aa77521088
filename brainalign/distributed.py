"""Scoring on a Dask cluster: one task per (model, benchmark) pair, results in the same store.

Dask distributed is what labs already run on laptops (``LocalCluster``), Slurm/PBS clusters
(dask-jobqueue) and Kubernetes, so the suite uses it rather than a queue of its own. Each task
runs :func:`brainalign.execution.score_model_on` on a worker from plain arguments (model id,
benchmark id, results folder, :class:`~brainalign.execution.ScoringOptions`): the worker loads the model, extracts
its layer RDMs, scores them and writes the result, exactly as a local run would.

Shared state is explicit:

* **results folder**: every worker writes its pair there (atomic: the layerwise table, then the JSON
  that names it), so it must be one path all workers and the client see. The client checks each
  result it receives against its own view of the folder and writes it itself if it is missing
  there (a folder that is not shared costs resumability, never results).
* **layer-RDM cache** (``$BRAINALIGN_CACHE/layer_rdms``, one atomic ``.npz`` per layer): shared,
  a retried or resumed pair reuses the layers already done; per-node, it only costs recomputation.
  Layer groups (below) need it shared.
* **data**: ``$BRAINALIGN_DATA`` (or ``--data-dir``) and model files (``FILE.py:FUNCTION``) must
  be readable by every worker.

Each benchmark is first prepared by one task (its stimuli loaded; the default probe builds itself
there on first use) that its pairs wait for, so workers sharing a cache never build it at once.

No pair is computed twice: a pair's Dask key is a hash of its inputs (:func:`pair_key`), and the
scheduler holds one task per key whichever client submits it. Runs on *separate* schedulers that
share a results folder are serialised per pair by a lock file (``<results>/.locks/…``, an advisory
``flock`` that the kernel releases when its holder dies, so a killed worker leaves no stale lock):
the second waits, then reuses the first's result. Where the file system has no locks, writes stay
atomic and idempotent (same inputs, same bytes), so a race only wastes time.

Failures: a worker that dies mid-task loses only that task; the scheduler reruns it elsewhere (up
to ``distributed.scheduler.allowed-failures`` deaths), and it resumes from the cached layers. An
unexpected exception is retried :data:`RETRIES` times. A user error (:class:`BrainAlignError`:
unknown model, missing weights) is not retried; it is reported, with every other failure, once all
other pairs have finished and been saved.

Very large models: with ``layer_groups=N`` a pair's task splits the model's layers into N
contiguous groups and submits one task per group (from the worker, via ``worker_client``); each
extracts its group's RDMs for every stimulus set of the benchmark into the shared cache, and the
pair's task then scores from the cache. Results are identical (a layer's RDM does not depend on
which other layers share its forward pass).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .benchmarks import Benchmark
from .benchmarks import get as get_benchmark
from .errors import BrainAlignError
from .execution import (
    ModelSession,
    ModelSpec,
    Outcome,
    OutcomeCallback,
    PrepareLayers,
    ScoringOptions,
    score_model_on,
)
from .models import LoadedModel, extract_layer_rdms
from .paths import data_dir as resolve_data_dir
from .progress import progress, set_quiet
from .results import ResultsStore, file_stem
from .stimuli import StimulusSet

try:
    import dask
    from dask.distributed import (
        Client,
        Future,
        KilledWorker,
        LocalCluster,
        WorkerPlugin,
        as_completed,
        worker_client,
    )
except ImportError as _err:  # pragma: no cover - dask is an optional extra
    raise BrainAlignError(
        "scoring on a Dask cluster needs Dask: pip install 'brainalign[dask]' "
        "('brainalign[slurm]' adds dask-jobqueue for Slurm clusters)"
    ) from _err

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, writes stay atomic and idempotent
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: Reruns of a task that raised an unexpected exception (a flaky shared file system, …). A task
#: whose worker died is rescheduled by the scheduler itself, independently of this.
RETRIES = 2

#: Dask settings for brainalign's workers. Dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 in
#: their workers, which also fixes glibc's mmap threshold at 128 KiB: every activation buffer is
#: then mapped and unmapped afresh, and extraction runs markedly slower (docs: Running on a cluster, Worker settings).
#: Local clusters use these; put them in a cluster's Dask config file (docs: Running on a cluster).
WORKER_CONFIG: dict[str, object] = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None
}

#: What a task carries to name its benchmark: the registered id, looked up in each worker's own
#: registry, or an unregistered :class:`Benchmark` object (e.g. the probe on a folder of its own).
BenchmarkRef = str | Benchmark


@contextmanager
def open_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Client]:
    """A Dask client: of the scheduler at ``scheduler`` (``tcp://host:8786``, or the JSON file
    ``dask scheduler --scheduler-file`` writes), or of a new local cluster of ``workers`` processes
    with one thread each (their progress bars silenced). Closed, with that cluster, on exit."""
    if (scheduler is None) == (workers is None):
        raise BrainAlignError(
            "give either a Dask scheduler address (--scheduler) or a number of "
            "local worker processes (--workers)" + (", not both" if workers else "")
        )
    if workers is not None:
        if workers < 1:
            raise BrainAlignError(f"--workers must be at least 1, got {workers}")
        with (
            _dask_logs_at_warning(),
            _environment_restored(),
            dask.config.set(WORKER_CONFIG),
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True) as cluster,
            Client(cluster) as client,
        ):
            client.register_plugin(QuietWorkers())  # their bars would garble the client's
            log.info(
                "local Dask cluster of %d workers; dashboard: %s", workers, client.dashboard_link
            )
            yield client
        return
    assert scheduler is not None
    where = Path(scheduler).expanduser()
    target = {"scheduler_file": str(where)} if where.suffix == ".json" else {"address": scheduler}
    if "scheduler_file" in target and not where.is_file():  # Dask would wait for it forever
        raise BrainAlignError(
            f"scheduler file {where} does not exist; start the scheduler with "
            f"`dask scheduler --scheduler-file {where}` first"
        )
    try:
        client = Client(**target)
    except (OSError, ValueError) as err:
        raise BrainAlignError(
            f"cannot reach the Dask scheduler {scheduler} ({err}); start one with `dask scheduler` "
            "and give --scheduler its tcp:// address or its scheduler file (FILE.json) "
            "(docs: Running on a cluster)"
        ) from None
    with client:
        yield client


class QuietWorkers(WorkerPlugin):
    """Silences brainalign's progress bars on every worker, restarted ones included."""

    def setup(self, worker: object) -> None:
        set_quiet(True)


@contextmanager
def _environment_restored() -> Iterator[None]:
    """A local cluster's nannies live in this process and set their workers' variables
    (``OMP_NUM_THREADS=1``, …) in *this* process's environment, for good: restore it on exit, so
    that processes started later (and their thread counts) are as if no cluster had run."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def _dask_logs_at_warning() -> Iterator[None]:
    """A local cluster's scheduler and nannies live in this process: keep their start-up and
    shutdown chatter out of the command's output (unless brainalign logs at debug level)."""
    dask_log = logging.getLogger("distributed")
    level = dask_log.level
    if not log.isEnabledFor(logging.DEBUG):
        dask_log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        dask_log.setLevel(level)


def pair_key(
    model_id: str,
    benchmark: str,
    results_folder: str | Path,
    options: ScoringOptions,
    force: bool = False,
) -> str:
    """The Dask key of one pair. The same inputs give the same key in every client, so the
    scheduler runs a pair once however many clients (or repeated models) ask for it."""
    return _key("brainalign-pair", model_id, benchmark, str(results_folder), options, force)


def split_layers(layers: Sequence[str], n_groups: int) -> list[tuple[str, ...]]:
    """``layers`` (execution order) in at most ``n_groups`` contiguous, nearly equal groups: a
    group's forward pass stops after its deepest layer, so contiguous groups waste the least."""
    n = max(1, min(n_groups, len(layers)))
    bounds = [round(i * len(layers) / n) for i in range(n + 1)]
    return [tuple(layers[a:b]) for a, b in itertools.pairwise(bounds)]


@contextmanager
def pair_lock(results_folder: str | Path, model_id: str, benchmark: str) -> Iterator[None]:
    """Hold the pair's lock file ``<results>/.locks/<model>/<benchmark>.lock`` (blocking). The
    lock is an advisory ``flock``: released on close and by the kernel when the holder dies."""
    path = Path(results_folder) / ".locks" / file_stem(model_id) / f"{file_stem(benchmark)}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            except OSError as err:  # e.g. NFS without lockd: atomic, idempotent writes remain
                log.warning(
                    "cannot lock %s (%s); two schedulers may compute this pair twice", path, err
                )
        yield


class DaskExecutor:
    """Pairs run as tasks on the Dask cluster behind ``client``, one task per pair, written into
    the same store as a local run. ``layer_groups`` > 1 also splits each model's layers across
    workers (very large models); ``retries`` reruns a task that raised an unexpected exception.

    A progress bar counts finished pairs. Failed pairs are raised together after all others have
    finished and been saved.
    """

    def __init__(self, client: Client, *, layer_groups: int = 1, retries: int = RETRIES) -> None:
        if layer_groups < 1:
            raise BrainAlignError(f"layer groups must be at least 1, got {layer_groups}")
        self.client = client
        self.layer_groups = layer_groups
        self.retries = retries

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
        client, retries = self.client, self.retries
        folder = store.folder.expanduser().resolve()
        given_ids = [
            _given_id(model) for model in models
        ]  # refuse a loaded model before submitting
        pairs: list[tuple[str, str, str]] = []  # key, the model as given, benchmark identifier
        tasks: dict[str, Future] = {}
        portable_ids: dict[str, str] = {}
        prepared = {
            b.identifier: client.submit(
                _prepare_task,
                _ref(b),
                options.data_dir,
                retries=retries,
                key=_key("brainalign-prepare", b.identifier, options.data_dir),
            )
            for b in benchmarks
        }
        for given in given_ids:
            portable = portable_ids.setdefault(given, _portable_id(given))
            for benchmark in benchmarks:
                key = pair_key(portable, benchmark.identifier, folder, options, force)
                pairs.append((key, given, benchmark.identifier))
                if key not in tasks:
                    tasks[key] = client.submit(
                        _score_task,
                        portable,
                        _ref(benchmark),
                        str(folder),
                        options,
                        force,
                        self.layer_groups,
                        prepared[benchmark.identifier],
                        key=key,
                        retries=retries,
                    )
        outcomes = _gather(tasks, pairs, portable_ids, store, on_outcome)
        return [outcomes[key] for key, _, _ in pairs]


def _gather(
    tasks: dict[str, Future],
    pairs: list[tuple[str, str, str]],
    portable_ids: dict[str, str],
    store: ResultsStore,
    on_outcome: OutcomeCallback | None,
) -> dict[str, Outcome]:
    """Collect the pairs' outcomes as they finish; raise every failure once all have finished."""
    labels = {key: f"{given} on {benchmark}" for key, given, benchmark in pairs}
    given_of = {portable: given for given, portable in portable_ids.items()}
    outcomes: dict[str, Outcome] = {}
    failures: list[str] = []
    unexpected: list[BaseException] = []
    bar = progress(total=len(tasks), unit="pair", desc="pairs on Dask")
    try:
        for future in as_completed(list(tasks.values())):
            key = future.key
            try:
                value = future.result()
            except KilledWorker:
                failures.append(
                    f"{labels[key]}: its worker died every time it ran it (out of memory? "
                    "lower --memory-budget or --batch-size, or give workers more memory)"
                )
            except Exception as err:  # reported once every other pair is done
                unexpected.append(err)
                failures.append(f"{labels[key]}: {type(err).__name__}: {err}")
            else:
                if isinstance(value, _Failure):
                    failures.append(f"{labels[key]}: {value.message}")
                else:
                    if (
                        value.model_id in given_of
                    ):  # a FILE.py:FUNCTION id made absolute for workers
                        value = dataclasses.replace(value, model_id=given_of[value.model_id])
                    _ensure_stored(store, value)
                    outcomes[key] = value
                    if on_outcome is not None:
                        on_outcome(value)
            future.release()
            bar.update(1)
    finally:
        bar.close()
    if failures:
        for line in failures:
            log.error("failed: %s", line)
        if unexpected:
            raise unexpected[0]
        raise BrainAlignError(
            f"{len(failures)} of {len(tasks)} pairs failed (the others are saved "
            f"in {store.folder}): " + "; ".join(failures)
        )
    return outcomes


# --- what runs on the workers ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Failure:
    """A user error on a worker, returned rather than raised so Dask does not retry it."""

    message: str


def _prepare_task(benchmark: BenchmarkRef, data_dir: Path | None) -> None:
    """Get a benchmark's stimuli ready once, before its pairs start, so that workers sharing a
    cache do not all build the same thing at once (the default probe builds itself on first use).
    A user error is left for the pairs to report."""
    data = resolve_data_dir(data_dir)
    try:
        bench = _benchmark(benchmark)
        if bench.availability(data).available:
            bench.stimulus_sets(data)
    except BrainAlignError as err:
        log.warning("preparing %s failed: %s", getattr(benchmark, "identifier", benchmark), err)


def _score_task(
    model_id: str,
    benchmark: BenchmarkRef,
    results_folder: str,
    options: ScoringOptions,
    force: bool,
    layer_groups: int,
    prepared: None = None,
) -> Outcome | _Failure:
    """One pair on a worker: under the pair's lock, score it into the results folder (or reuse it).
    ``prepared`` is the benchmark's preparation task, passed only so that Dask runs that first."""
    try:
        resolved = _benchmark(benchmark)
        prepare = (
            _layer_group_tasks(model_id, benchmark, options, layer_groups)
            if layer_groups > 1
            else None
        )
        with pair_lock(results_folder, model_id, resolved.identifier):
            return score_model_on(
                model_id, resolved, results_folder, options, force, prepare_layers=prepare
            )
    except BrainAlignError as err:
        return _Failure(str(err))


def _layer_group_tasks(
    model_id: str, benchmark: BenchmarkRef, options: ScoringOptions, n_groups: int
) -> PrepareLayers:
    """A hook for :func:`~brainalign.execution.score_pair` that has other workers fill the shared layer-RDM cache, one
    task per group of layers, and waits for them (the waiting task gives up its worker thread)."""

    def prepare(model: LoadedModel, stimulus_sets: Mapping[str, StimulusSet]) -> None:
        groups = split_layers(model.layers, n_groups)
        if len(groups) < 2:
            return
        identifier = _benchmark(benchmark).identifier
        with worker_client() as client:
            futures = [
                client.submit(
                    _extract_group_task,
                    model_id,
                    benchmark,
                    group,
                    options,
                    retries=RETRIES,
                    key=_key("brainalign-layers", model_id, identifier, list(group), options),
                )
                for group in groups
            ]
            client.gather(futures)

    return prepare


def _extract_group_task(
    model_id: str, benchmark: BenchmarkRef, layers: tuple[str, ...], options: ScoringOptions
) -> int:
    """Cache the RDMs of ``layers`` on every stimulus set of the benchmark; the number of layers."""
    bench = _benchmark(benchmark)
    data_dir = resolve_data_dir(options.data_dir)
    model = ModelSession(model_id, options).get()
    for stimuli in bench.stimulus_sets(data_dir).values():
        extract_layer_rdms(
            model,
            stimuli,
            distance=bench.distance,
            batch_size=options.batch_size,
            memory_budget=options.memory_budget,
            device=options.device,
            layers=list(layers),
        )
    return len(layers)


# --- helpers --------------------------------------------------------------------------------------


def _key(prefix: str, *parts: object) -> str:
    text = json.dumps(
        [dataclasses.asdict(p) if isinstance(p, ScoringOptions) else p for p in parts],
        sort_keys=True,
        default=str,
    )
    return f"{prefix}-{hashlib.sha256(text.encode('utf-8')).hexdigest()}"


def _given_id(model: ModelSpec) -> str:
    if isinstance(model, LoadedModel):
        raise BrainAlignError(
            f"model {model.id!r} was given as a loaded object; a Dask worker needs an id it can load "
            "itself, e.g. a registered id or my_net.py:build (a file every worker can read)"
        )
    return str(model)


def _portable_id(model_id: str) -> str:
    """``FILE.py:FUNCTION`` with a relative FILE made absolute (workers have other working
    folders); every other id as it is."""
    path, colon, attr = model_id.rpartition(":")
    if colon and path.endswith(".py") and not Path(path).expanduser().is_absolute():
        local = Path(path).expanduser()
        if local.is_file():
            return f"{local.resolve()}:{attr}"
    return model_id


def _ref(benchmark: Benchmark) -> BenchmarkRef:
    try:
        registered = get_benchmark(benchmark.identifier)
    except BrainAlignError:
        return benchmark
    return benchmark.identifier if registered is benchmark else benchmark


def _benchmark(ref: BenchmarkRef) -> Benchmark:
    return ref if isinstance(ref, Benchmark) else get_benchmark(ref)


def _ensure_stored(store: ResultsStore, outcome: Outcome) -> None:
    """Make the client's view of the results folder hold the worker's result: nothing to do when
    the folder is shared (as it should be), a copy when the workers wrote somewhere else."""
    result = outcome.result
    if result is None:
        return
    try:
        present = store.load(result.model_id, result.benchmark).content_id() == result.content_id()
    except BrainAlignError:
        present = False
    if not present:
        log.warning(
            "the result of %s on %s is not in %s as seen from the client (is the results "
            "folder shared with the workers?); saving it here",
            result.model_id,
            result.benchmark,
            store.folder,
        )
        store.save(result)
