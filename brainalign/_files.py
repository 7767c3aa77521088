"""Files handled safely: atomic writes (readers see the old file or the complete new one, never
half of one), what a killed write or run leaves behind, scratch folders, and sha256 checksums.

A write the environment refuses (a full disk, a read-only or unwritable folder) raises
:class:`~brainalign.errors.BrainAlignError` naming the path, the system's reason and errno, with
nothing left behind: ``cannot write PATH: No space left on device (errno 28)``.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .errors import BrainAlignError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def _process_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp creates files readable by their owner only; results, pages and caches are meant to be
# shared (a lab's results folder, a web server), so finished files get the usual umask mode.
_FILE_MODE = 0o666 & ~_process_umask()


_NO_PERMISSION = "you may not write there; choose a folder you own or fix its permissions"
#: Failures the machine causes, not brainalign, and what to do about each (by errno).
_ENVIRONMENT_FIXES = {
    errno.ENOSPC: "free some space or write somewhere else",
    getattr(
        errno, "EDQUOT", errno.ENOSPC
    ): "free some space within your quota or write somewhere else",
    errno.EROFS: "the file system is read-only; choose a writable folder",
    errno.EACCES: _NO_PERMISSION,
    errno.EPERM: _NO_PERMISSION,
    errno.EFBIG: "the file is larger than this system allows (see `ulimit -f`)",
}


def write_error(path: str | os.PathLike[str], err: OSError) -> BrainAlignError:
    """``cannot write PATH: <the system's reason> (errno N); <what to do>``."""
    return BrainAlignError(f"cannot write {path}: {_explain(err)}")


def environment_error(err: OSError) -> BrainAlignError | None:
    """An :class:`OSError` the machine caused (a full disk, a read-only file system, no
    permission) as one readable error naming its file; None for other errors (bugs)."""
    if err.errno not in _ENVIRONMENT_FIXES:
        return None
    return BrainAlignError(f"{err.filename or 'a file'}: {_explain(err)}")


def _explain(err: OSError) -> str:
    reason = err.strerror or type(err).__name__
    code = f" (errno {err.errno})" if err.errno else ""
    fix = _ENVIRONMENT_FIXES.get(err.errno or 0)
    return f"{reason}{code}" + (f"; {fix}" if fix else "")


#: Who writes a temporary file (this machine, this process), in its name: a process killed
#: mid-write (SIGKILL skips every cleanup) leaves it behind, and :func:`remove_orphaned_writes`
#: of a later run removes it once that process is gone.
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_ORPHAN = re.compile(r"^\..+\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)\.[^.]+\.tmp$")


def remove_orphaned_writes(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove, under ``folder``, the temporary files of atomic writes whose process (on this
    machine) has died; return them. Files of live processes and of other machines are kept."""
    removed = []
    for path in Path(folder).rglob(".*.tmp"):
        match = _ORPHAN.match(path.name)
        if match is None or match["host"] != _HOST or _alive(int(match["pid"])):
            continue
        with suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.
    Creating and renaming it, and writing it where the machine refuses (a full disk, a read-only
    file system, no permission: :func:`environment_error`'s cases), raise a
    :class:`BrainAlignError` naming ``path``; other errors of the caller's code pass through."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        prefix = f".{target.name}.{_HOST}-{os.getpid()}."
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=target.parent)
        os.close(fd)
    except OSError as err:
        raise write_error(target, err) from err
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
        except OSError as err:
            if err.errno not in _ENVIRONMENT_FIXES:
                raise
            raise write_error(target, err) from err
        try:
            os.chmod(tmp_path, _FILE_MODE)
            os.replace(tmp_path, target)
        except OSError as err:
            raise write_error(target, err) from err
    finally:
        with suppress(OSError):
            tmp_path.unlink(missing_ok=True)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, allow_nan=True) + "\n")


def write_npz_atomic(path: str | os.PathLike[str], arrays: Mapping[str, Any]) -> None:
    """Write ``arrays`` as an uncompressed ``.npz`` (``np.load`` reads it) with fixed zip
    timestamps, so equal arrays give equal bytes; object arrays are refused (no pickles)."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
        for name, value in arrays.items():
            array = np.asarray(value)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.file_size = array.nbytes  # zipfile switches to zip64 only for members near 4 GiB
            with archive.open(info, "w") as handle:
                np.lib.format.write_array(handle, array, allow_pickle=False)


def allocate(path: str | os.PathLike[str], nbytes: int) -> None:
    """Create (or truncate) ``path`` with ``nbytes`` reserved on disk, so a full disk fails here
    with an error naming it, not later with SIGBUS when a memory map of the file is written."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(fd, 0, max(nbytes, 1))
            else:  # pragma: no cover - macOS, Windows: a sparse file, as np.memmap makes
                os.ftruncate(fd, nbytes)
        finally:
            os.close(fd)
    except OSError as err:
        raise write_error(path, err) from err


# --- scratch folders: temporary files that a killed process cannot leave behind for long -------

SCRATCH_PREFIX = "brainalign-"
OWNER_FILE = ".owner"  # the lock file in every scratch folder (see ScratchFolder)


class ScratchFolder:
    """A fresh folder ``ROOT/brainalign-<kind>-XXXXXXXX`` (``ROOT``: ``$TMPDIR`` unless given) for
    temporary files, removed by :meth:`remove` or handed over by :meth:`release`. SIGKILL skips
    every cleanup, so the folder holds an ``.owner`` file locked (``flock``) while its process
    lives: the kernel drops the lock when the process dies, and :func:`remove_stale_scratch`
    (called by every new scratch folder in the same ``ROOT`` and every run) then removes the
    folder. Where ``flock`` is missing, folders are removed by their own process only."""

    def __init__(self, kind: str, root: str | os.PathLike[str] | None = None) -> None:
        root = Path(root) if root is not None else Path(tempfile.gettempdir())
        remove_stale_scratch(root)
        self.path: Path | None = None
        self._lock: BinaryIO | None = None
        try:
            self.path = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{kind}-", dir=root))
            if (
                fcntl is not None
            ):  # lock first, then name it .owner: a sweeper never sees it unlocked
                pending = self.path / f"{OWNER_FILE}.{os.getpid()}"
                self._lock = open(pending, "wb")  # noqa: SIM115 - held open (and locked) until remove()
                fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._lock.write(f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
                self._lock.flush()
                os.replace(pending, self.path / OWNER_FILE)
        except OSError as err:
            self.remove()
            raise write_error(root, err) from err

    def release(self) -> Path:
        """The folder, no longer a scratch folder (its owner file gone: sweepers leave it alone),
        for its creator to rename into place."""
        assert self.path is not None
        (self.path / OWNER_FILE).unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        return self.path

    def remove(self) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def remove_stale_scratch(root: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove the scratch folders under ``root`` (default ``$TMPDIR``) whose owner has died;
    return them."""
    if fcntl is None:  # pragma: no cover - Windows
        return []
    removed = []
    for folder in Path(root or tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        try:
            with open(folder / OWNER_FILE, "rb") as owner:
                fcntl.flock(owner.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(folder, ignore_errors=True)  # the lock was free: its owner is gone
                removed.append(folder)
        except OSError:  # no owner file (not ours, or being created), another user's, or alive
            continue
    return removed


# What ``np.load`` of a truncated, corrupt or foreign ``.npz`` raises (a missing key: KeyError).
NPZ_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError, OSError)


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        _update(digest, handle, chunk)
    return digest.hexdigest()


def _update(digest: hashlib._Hash, handle: BinaryIO, chunk: int) -> None:
    while block := handle.read(chunk):
        digest.update(block)
