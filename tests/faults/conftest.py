"""Fixtures of the fault suite: the CLI run in this process (so faults can be injected with
monkeypatch), a TMPDIR and model files of the test's own, and data folders to damage."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_run import run_cli
from fault_helpers import FAULT_MODELS, Ran


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """Run ``brainalign ARGS`` in this process (so faults can be injected with monkeypatch)."""

    def run(*args: object) -> Ran:
        capsys.readouterr()  # what earlier steps printed is not this run's
        return Ran(*run_cli(args, capsys))

    return run


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A TMPDIR of the test's own (for this process and the commands it starts)."""
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
    return folder


@pytest.fixture
def model_file(tmp_path: Path) -> Callable[[str], str]:
    """``FILE.py:FUNCTION`` of a copy of ``fault_models.py`` in the test's folder."""
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(FAULT_MODELS, folder / FAULT_MODELS.name)
    return lambda function: f"{folder / FAULT_MODELS.name}:{function}"


@pytest.fixture
def data_copy(shared_data: Path, tmp_path: Path) -> Path:
    """A writable copy of the real Kriegeskorte data set (5 MB), to be damaged by the test."""
    folder = tmp_path / "data"
    shutil.copytree(shared_data / "kriegeskorte2008_92", folder / "kriegeskorte2008_92")
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder
