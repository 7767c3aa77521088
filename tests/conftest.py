"""Shared fixtures. Real human data comes from the folder named by BRAINALIGN_DATA (CI sets it in
.ci/run). Tests that need it skip when it is absent, except where
BRAINALIGN_REQUIRE_DATA=1 (CI), where its absence is a failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from synthetic_data import algonauts78


def _required(flag: str) -> bool:
    return os.environ.get(flag, "") not in ("", "0")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder (holding algonauts2019_92/ and kriegeskorte2008_92/)."""
    folder = os.environ.get("BRAINALIGN_DATA")
    if folder and Path(folder, "algonauts2019_92").is_dir():
        return Path(folder)
    message = (
        "real human data not found: set BRAINALIGN_DATA to a folder laid out as the docs' "
        "Human data page (docs/guide/human-data.md) describes"
    )
    if _required("BRAINALIGN_REQUIRE_DATA"):
        pytest.fail(message)
    pytest.skip(message)


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
