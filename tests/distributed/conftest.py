"""Fixtures for the Dask tests: a local cluster of two worker processes with a layer-RDM cache of
their own, tiny models every worker can import, a small built probe, and local reference runs."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from brainalign.benchmarks.probe import SaliencySemanticProbe
from brainalign.execution import ScoringOptions
from brainalign.probe import BuildSettings, ThresholdQuantiles, TuxPaintPool, build_probe


def _probe_synthetic():
    """The probe tests' synthetic stamps and embedder (tests/probe_synthetic.py)."""
    path = Path(__file__).parents[1] / "probe_synthetic.py"
    spec = importlib.util.spec_from_file_location("probe_synthetic_for_dask_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Cluster:
    client: object  # dask.distributed.Client
    scheduler_address: str
    cache: Path  # the workers' BRAINALIGN_CACHE

    def worker_pids(self) -> set[int]:
        import os

        return set(self.client.run(os.getpid).values())


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two worker processes, one thread each, with their own layer-RDM cache (so a local run in
    this process shares nothing with them but the files the test compares)."""
    import dask
    from dask.distributed import Client, LocalCluster

    from brainalign.distributed import WORKER_CONFIG, QuietWorkers, _environment_restored

    cache = tmp_path_factory.mktemp("worker-cache")
    # restored: the nannies would leave OMP_NUM_THREADS=1 behind for every later subprocess
    with (
        _environment_restored(),
        dask.config.set(WORKER_CONFIG),
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            env={"BRAINALIGN_CACHE": str(cache)},
        ) as local,
        Client(local) as client,
    ):
        client.register_plugin(QuietWorkers())
        yield Cluster(client, local.scheduler_address, cache)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of tiny_models.py in a folder of its own (its marker files live beside it)."""
    folder = tmp_path_factory.mktemp("models")
    shutil.copy(Path(__file__).with_name("tiny_models.py"), folder / "tiny_models.py")
    return folder


@pytest.fixture(scope="session")
def small_probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    synthetic = _probe_synthetic()
    stamps = synthetic.make_stamps(tmp_path_factory.mktemp("stamps"))
    out = tmp_path_factory.mktemp("probe") / "probe"
    settings = BuildSettings(
        seed=0,
        image_size=160,
        max_distractors=14,
        thresholds=ThresholdQuantiles(
            semantic_similar=0.15, semantic_dissimilar=0.5, pilot_size=40
        ),
    )
    build_probe(TuxPaintPool(stamps), out, settings, embedder=synthetic.BagOfWordsEmbedder())
    return out


@pytest.fixture(scope="session")
def probe_benchmark(small_probe: Path) -> SaliencySemanticProbe:
    """The probe benchmark on the small probe: not the registered default, so tasks carry it."""
    return SaliencySemanticProbe(small_probe, n_boot=50)


@pytest.fixture
def options(shared_data: Path) -> ScoringOptions:
    return ScoringOptions(data_dir=shared_data, batch_size=16)
