"""Shared fixtures. Real human data comes from the folder named by BRAINALIGN_DATA (CI sets it in
.ci/run). Tests that need it skip when it is absent, except where
BRAINALIGN_REQUIRE_DATA=1 (CI), where its absence is a failure."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest
from synthetic_data import algonauts78

#: The thread pools of torch (OpenMP), OpenBLAS and MKL: one thread each in a parallel run.
THREAD_SETTINGS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist with several workers (``tox -e tests``: one per core), each worker and
    every process a test starts compute on one thread: a worker's pools sized for every core
    would contend with the other workers' for the same cores, and spin-waiting OpenMP threads
    would spend much of the tier's time waiting. Set in the controlling process before the
    workers start, so that they inherit it; a value the shell already set is kept."""
    workers = getattr(config.option, "numprocesses", None)
    if isinstance(workers, int) and workers > 1 and not os.environ.get("PYTEST_XDIST_WORKER"):
        for name in THREAD_SETTINGS:
            os.environ.setdefault(name, "1")


def _required(flag: str) -> bool:
    return os.environ.get(flag, "") not in ("", "0")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder (holding algonauts2019_92/ and kriegeskorte2008_92/)."""
    folder = os.environ.get("BRAINALIGN_DATA")
    if folder and Path(folder, "algonauts2019_92").is_dir():
        return Path(folder)
    _unavailable(
        "real human data not found: set BRAINALIGN_DATA to a folder laid out as the docs' "
        "Human data page (docs/guide/human-data.md) describes"
    )


def _unavailable(reason: str) -> NoReturn:
    """Skip where real data (the human data, the Tux Paint stamps) cannot be had; fail in CI
    (BRAINALIGN_REQUIRE_DATA), where it must be there."""
    if _required("BRAINALIGN_REQUIRE_DATA"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def real_default_probe(tmp_path_factory: pytest.TempPathFactory):
    """The real default probe, built in a clean cache the way a user's first run builds it (apt-get
    download, or an installed package), and the stamps folder it was built from: ``(ProbeFolder,
    Path)``. Built once per test run, not once per test or per worker: the build takes minutes, so
    under pytest-xdist the first worker to need it builds it into a folder that all workers of the
    run share, behind a file lock, and the others open what it built (reading only)."""
    from filelock import FileLock

    from brainalign.errors import BrainAlignError
    from brainalign.probe import default as default_module
    from brainalign.probe import default_probe

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    cache = shared / "real-default-probe-cache"
    with FileLock(str(shared / "real-default-probe.lock")), pytest.MonkeyPatch.context() as patch:
        patch.setenv("BRAINALIGN_CACHE", str(cache))
        patch.delenv("BRAINALIGN_TUXPAINT_STAMPS", raising=False)
        try:
            stamps = default_module.ensure_tuxpaint_stamps()
        except BrainAlignError as err:
            _unavailable(f"the Tux Paint stamps cannot be had here: {err}")
        return default_probe(), stamps


@pytest.fixture
def synthetic_data(tmp_path: Path) -> Path:
    """A data folder with a synthetic ``algonauts2019_78`` (78 images, 6 subjects, planted
    structure): for tests where the human data is not the point. Its benchmark is
    ``synthetic_data.SYNTHETIC_BENCHMARK``."""
    return algonauts78(tmp_path / "synthetic-data")


@pytest.fixture(autouse=True)
def _isolated(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes outside pytest's temporary folders: the cache is the session's own
    (whatever BRAINALIGN_CACHE the shell had; the default probe and its picture pool are built in
    it once per session; under pytest-xdist each worker has a base folder, so a cache, of its
    own: no two processes ever build into one cache), results default to the test's own folder,
    and the working folder is the test's. Read-only sources stay shared: the human data (BRAINALIGN_DATA) and an unpacked
    stamps folder (BRAINALIGN_TUXPAINT_STAMPS)."""
    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv("BRAINALIGN_RESULTS", str(tmp_path / "results"))
    monkeypatch.chdir(tmp_path)
