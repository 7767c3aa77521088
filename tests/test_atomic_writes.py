"""Atomic writes: all or nothing, and finished files readable as the umask allows."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from brainalign import _files


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    _files.write_text_atomic(target, "old")

    with pytest.raises(RuntimeError), _files.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_finished_files_get_the_umask_mode_not_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "leaderboard.html"
    _files.write_text_atomic(target, "<html></html>")
    assert (
        stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_files._process_umask()
    )  # mkstemp gives 0o600
