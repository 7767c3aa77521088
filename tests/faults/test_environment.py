"""Failures of the machine (a full disk, a read-only or unwritable folder) end in one line naming
the path, the system's reason and errno, with exit status 2; nothing is half-written and what
was stored before stays intact.

CI runs as root, where permissions stop no write: the errors are injected where files are
created (in this process), made real by dropping root's permission override
(CAP_DAC_OVERRIDE) for a separate process, and made real mid-write by a file-size limit."""

from __future__ import annotations

import builtins
import errno
import io
import os
import resource
import shutil
import signal
from pathlib import Path

import pytest
from fault_helpers import brainalign_process, files_under, finish, leftovers, process_env
from synthetic_data import SYNTHETIC_BENCHMARK as BENCHMARK
from synthetic_data import score_args

from brainalign.results import ResultsStore

REASONS = {
    errno.ENOSPC: "No space left on device",
    errno.EROFS: "Read-only file system",
    errno.EACCES: "Permission denied",
}


def refuse_writes(monkeypatch: pytest.MonkeyPatch, folder: Path, code: int) -> None:
    """Every attempt of this process to create or write a file or folder under ``folder`` fails
    with ``code``, as the kernel would on a full, read-only or unwritable file system."""
    root = str(folder.absolute())
    real_open, real_mkdir, real_builtin_open = os.open, os.mkdir, builtins.open

    def inside(path: object) -> bool:
        return isinstance(path, (str, bytes, os.PathLike)) and os.path.abspath(
            os.fsdecode(path)
        ).startswith(root)

    def fail(path: object) -> None:
        raise OSError(code, os.strerror(code), os.fsdecode(path))

    def open_(path, flags, mode=0o777, *, dir_fd=None):
        if inside(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            fail(path)
        return real_open(path, flags, mode, dir_fd=dir_fd)

    def mkdir(path, mode=0o777, *, dir_fd=None):
        if inside(path):
            fail(path)
        return real_mkdir(path, mode, dir_fd=dir_fd)

    def builtin_open(file, mode="r", *args, **kwargs):
        if inside(file) and any(c in mode for c in "wax+"):
            fail(file)
        return real_builtin_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(builtins, "open", builtin_open)
    monkeypatch.setattr(io, "open", builtin_open)


@pytest.mark.parametrize("code", sorted(REASONS))
def test_a_refused_results_folder_is_one_line_and_keeps_what_was_stored(
    cli, model_file, synthetic_data, tmp_path, monkeypatch, code
) -> None:
    results = tmp_path / "results"
    assert (
        cli(
            *score_args(model_file("tiny"), results, synthetic_data, "algonauts2019.78images.EVC")
        ).code
        == 0
    )
    before = files_under(results)
    with monkeypatch.context() as patch:
        refuse_writes(patch, results, code)
        ran = cli(*score_args(model_file("tiny"), results, synthetic_data))
    assert ran.code == 2, ran
    assert ran.error_line.startswith(f"error: cannot write {results / 'fault-tiny' / BENCHMARK}@2.")
    assert f": {REASONS[code]} (errno {code}); " in ran.error_line and "Traceback" not in ran.err
    assert (
        files_under(results) == before
    )  # nothing new, nothing half-written, the old result intact
    assert len(ResultsStore(results).load_all(strict=True).results) == 1
    again = cli(*score_args(model_file("tiny"), results, synthetic_data))
    assert again.code == 0 and "scored" in again.out  # the layer RDMs computed before are reused


@pytest.mark.parametrize("code", [errno.EROFS])
def test_a_refused_cache_is_one_line(
    cli, model_file, synthetic_data, tmp_path, monkeypatch, code
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("BRAINALIGN_CACHE", str(cache))
    with monkeypatch.context() as patch:
        refuse_writes(patch, cache, code)
        ran = cli(*score_args(model_file("tiny"), tmp_path / "results", synthetic_data))
    assert ran.code == 2, ran
    assert ran.error_line.startswith(f"error: cannot write {cache / 'layer_rdms'}")
    assert f": {REASONS[code]} (errno {code})" in ran.error_line
    assert not cache.exists() and not (tmp_path / "results").exists()


@pytest.mark.parametrize("code", [errno.EACCES])
def test_a_refused_leaderboard_page_keeps_the_old_page(
    cli, model_file, synthetic_data, tmp_path, monkeypatch, code
) -> None:
    results, site = tmp_path / "results", tmp_path / "site"
    assert cli(*score_args(model_file("tiny"), results, synthetic_data)).code == 0
    assert cli("leaderboard", "build", results, "--out", site / "index.html").code == 0
    before = files_under(site)
    with monkeypatch.context() as patch:
        refuse_writes(patch, site, code)
        ran = cli("leaderboard", "build", results, "--out", site / "index.html")
    assert ran.code == 2, ran
    assert ran.error_line.startswith(
        f"error: cannot write {site / 'index.html'}: {REASONS[code]} (errno {code})"
    )
    assert files_under(site) == before


def _without_permission_override() -> list[str]:
    """A prefix that makes a root process obey file permissions (drops CAP_DAC_OVERRIDE)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv (util-linux): permissions cannot be made real")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]


@pytest.mark.slow
def test_a_read_only_results_folder_for_real(model_file, synthetic_data, tmp_path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        ran = finish(
            brainalign_process(
                score_args(model_file("tiny"), locked / "results", synthetic_data),
                process_env(tmp_path),
                prefix=_without_permission_override(),
            )
        )
    finally:
        locked.chmod(0o755)
    assert ran.code == 2, ran.err
    assert ran.error_line.startswith(f"error: cannot write {locked / 'results'}")
    assert ran.error_line.endswith(
        "Permission denied (errno 13); you may not write there; choose a folder you "
        "own or fix its permissions"
    )
    assert "Traceback" not in ran.err
    assert list(locked.iterdir()) == []
    assert leftovers(tmp_path / "cache", tmp_path / "tmpdir") == []


def _file_size_limit(limit: int):
    def apply() -> None:
        signal.signal(
            signal.SIGXFSZ, signal.SIG_IGN
        )  # the write fails with EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.slow
def test_a_write_cut_short_by_the_kernel_leaves_nothing_half_written(
    model_file, synthetic_data, tmp_path
) -> None:
    """A file-size limit makes the kernel refuse a write halfway, as a full disk does."""
    env = process_env(tmp_path)
    process = brainalign_process(
        score_args(model_file("tiny"), tmp_path / "results", synthetic_data),
        env,
        preexec_fn=_file_size_limit(16_000),
    )
    ran = finish(process)
    assert ran.code == 2, ran.err
    assert ran.error_line.startswith(f"error: cannot write {tmp_path / 'cache' / 'layer_rdms'}")
    assert ran.error_line.endswith(
        "File too large (errno 27); the file is larger than this system allows (see `ulimit -f`)"
    )
    assert not list(
        (tmp_path / "cache").rglob("*.npz")
    )  # the layer RDM that did not fit is not there
    assert leftovers(tmp_path / "cache", tmp_path / "tmpdir", tmp_path / "results") == []
