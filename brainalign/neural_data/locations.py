"""Where data sets live on this machine: find them, check them, fetch them.

Each data set is a folder named like the data set, under a *root*. Roots are searched in order:
the local data folder (``--data-dir`` or ``BRAINALIGN_DATA``), then the per-user cache
(``cache_dir()/data``), where ``fetch`` downloads to. The first root holding the data set's
folder is used; a missing or corrupt file there is an error naming the file, the expected
checksum and the fix, never a silent fall-through to other data.

Files without a pinned checksum are checked against the checksums recorded when they were
fetched (``.fetched.json`` beside them), where such a record exists.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .._files import sha256_file, write_json_atomic
from ..errors import BrainAlignError
from ..paths import cache_dir
from ..paths import data_dir as local_data_dir
from .catalogue import DataFile, Dataset, get_dataset
from .download import download

FETCH_RECORD = ".fetched.json"

_hashes: dict[tuple[str, int, int], str] = {}


@dataclass(frozen=True)
class FileCheck:
    """The state of one data file: ``ok``, ``unpinned`` (present, no checksum to compare with),
    ``missing``, ``size`` or ``checksum`` (present but not the registered file)."""

    path: str
    status: str
    expected: str | None = None
    actual: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "unpinned")


@dataclass(frozen=True)
class Location:
    """A data set's folder on this machine and where it was found (``data-dir`` or ``cache``)."""

    dataset: str
    folder: Path
    origin: str
    checks: tuple[FileCheck, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def checksums(self) -> dict[str, str]:
        """sha256 of every checked file (pinned or not): what a result's provenance records."""
        return {c.path: c.actual for c in self.checks if c.actual is not None}


def roots(data_dir: str | os.PathLike[str] | None = None) -> list[tuple[str, Path]]:
    """The folders searched for data sets, in order, each with its origin label."""
    found: list[tuple[str, Path]] = []
    local = local_data_dir(data_dir)
    if local is not None:
        found.append(("data-dir", local))
    found.append(("cache", cache_root()))
    return found


def cache_root() -> Path:
    return cache_dir() / "data"


def file_sha256(path: Path) -> str:
    """sha256 of ``path``, memoised by (path, size, mtime) so repeated loads hash once."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _hashes:
        _hashes[key] = sha256_file(path)
    return _hashes[key]


def check_file(folder: Path, entry: DataFile, recorded: dict[str, str]) -> FileCheck:
    path = folder / entry.path
    expected = entry.sha256 or recorded.get(entry.path)
    if not path.is_file():
        return FileCheck(entry.path, "missing", expected)
    if entry.size is not None and path.stat().st_size != entry.size:
        return FileCheck(entry.path, "size", expected, file_sha256(path))
    actual = file_sha256(path)
    if expected is None:
        return FileCheck(entry.path, "unpinned", None, actual)
    return FileCheck(entry.path, "ok" if actual == expected else "checksum", expected, actual)


def check_folder(dataset: Dataset, folder: Path) -> tuple[FileCheck, ...]:
    recorded = _read_record(folder)
    return tuple(check_file(folder, entry, recorded) for entry in dataset.files)


def find(name: str, data_dir: str | os.PathLike[str] | None = None) -> Location | None:
    """The first root holding ``name``'s folder, with every file checked; None if none does."""
    dataset = get_dataset(name)
    for origin, root in roots(data_dir):
        folder = root / name
        if folder.is_dir():
            return Location(name, folder, origin, check_folder(dataset, folder))
    return None


def locate(name: str, data_dir: str | os.PathLike[str] | None = None) -> Location:
    """Where ``name`` is, verified; raises with the fix when it is absent or a file is bad."""
    location = find(name, data_dir)
    if location is None:
        raise BrainAlignError(not_found_message(get_dataset(name), data_dir))
    return _verified(location)


def not_found_message(dataset: Dataset, data_dir: str | os.PathLike[str] | None = None) -> str:
    looked = " and ".join(str(root / dataset.name) for _, root in roots(data_dir))
    if dataset.fetchable:
        size = f" ({dataset.size / 1e6:.1f} MB)" if dataset.size else ""
        fix = (
            f"run `brainalign data fetch {dataset.name}`{size}, or pass --data-dir DIR "
            f"(or set BRAINALIGN_DATA) where DIR/{dataset.name}/ holds its files"
        )
    else:
        fix = dataset.obtain
    return f"data set {dataset.name} not found (looked in {looked}); {fix}"


def bad_file_message(dataset: Dataset, location: Location, bad: list[FileCheck]) -> str:
    first = bad[0]
    path = location.folder / first.path
    entry = dataset.file(first.path)
    if first.status == "missing":
        problem = f"data file {path} is missing"
    elif first.status == "size":
        problem = f"data file {path} has {path.stat().st_size} bytes, expected {entry.size}"
    else:
        problem = f"data file {path} has sha256 {first.actual}"
    expected = f" (expected sha256 {first.expected})" if first.expected else ""
    if location.origin == "cache":
        fix = f"run `brainalign data fetch {dataset.name}` to download it again"
    else:
        fix = (
            f"copy the original from {entry.url}, or remove {location.folder} so "
            f"`brainalign data fetch {dataset.name}` can fetch it into the cache"
        )
    more = f" ({len(bad) - 1} more file(s) have problems)" if len(bad) > 1 else ""
    return f"{problem}{expected}{more}; {fix}"


def fetch(
    name: str, *, data_dir: str | os.PathLike[str] | None = None, force: bool = False
) -> Location:
    """Make ``name`` available: return a verified local copy, else download it into the cache.

    Files already in the cache and intact are kept unless ``force``; each download is verified
    before it lands. Checksums of unpinned files are recorded for later ``brainalign data check`` runs.
    """
    dataset = get_dataset(name)
    if not dataset.fetchable:
        raise BrainAlignError(
            f"data set {name} cannot be downloaded automatically; {dataset.obtain}"
        )
    if not force:
        existing = find(name, data_dir)
        if existing is not None and existing.ok and existing.origin == "data-dir":
            return existing
    folder = cache_root() / name
    recorded = _read_record(folder)
    try:
        for entry in dataset.files:
            check = check_file(folder, entry, recorded)
            if check.ok and not force:
                continue
            digest = download(
                entry.url,
                folder / entry.path,
                sha256=entry.sha256,
                size=entry.size,
                label=f"{name}/{entry.path}",
            )
            if not entry.pinned:
                recorded[entry.path] = digest
                write_json_atomic(folder / FETCH_RECORD, recorded)
    except BrainAlignError:
        _remove_empty_folders(folder)  # a failed first fetch leaves no empty data set behind
        raise
    return locate_in(dataset, folder, "cache")


def _remove_empty_folders(folder: Path) -> None:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    if not any(folder.iterdir()):
        folder.rmdir()


def locate_in(dataset: Dataset, folder: Path, origin: str) -> Location:
    return _verified(Location(dataset.name, folder, origin, check_folder(dataset, folder)))


def _verified(location: Location) -> Location:
    bad = [c for c in location.checks if not c.ok]
    if bad:
        raise BrainAlignError(bad_file_message(get_dataset(location.dataset), location, bad))
    return location


def _read_record(folder: Path) -> dict[str, str]:
    path = folder / FETCH_RECORD
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        raise BrainAlignError(
            f"{path} is unreadable; delete it and run `brainalign data fetch` again"
        ) from None
    return {str(k): str(v) for k, v in record.items()}
