"""A results folder: ``<folder>/<model id>/<benchmark id@version>.json`` plus the layerwise table
that file names. One pair of files per model × benchmark keeps runs resumable and lets concurrent
workers write without coordination (see :mod:`brainalign.results.result` for the write order)."""

from __future__ import annotations

import builtins
import os
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ..errors import BrainAlignError
from .result import Result, jsonable

# --- the store ------------------------------------------------------------------------------------


_SAFE_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_.+=@,")


def file_stem(name: str) -> str:
    """A reversible, portable file name for a model id or benchmark identifier: characters other
    than letters, digits and ``-_.+=@,`` become ``%XX`` (UTF-8), as does a leading dot."""
    encoded = "".join(
        c if c in _SAFE_CHARACTERS else "".join(f"%{b:02X}" for b in c.encode("utf-8"))
        for c in name
    )
    return "%2E" + encoded[1:] if encoded.startswith(".") else encoded


@dataclass(frozen=True)
class ResultFile:
    """Where a result lives, as told by its file name (the file itself is read by ``load``)."""

    model_id: str
    benchmark: str
    path: Path


@dataclass(frozen=True)
class RejectedFile:
    """A result file that could not be used, and why."""

    path: Path
    message: str


@dataclass
class StoreContents:
    """The valid results of a folder (with the file each was read from) and the rejected files."""

    results: list[Result]
    problems: list[RejectedFile]
    paths: list[Path] = field(default_factory=list)  # paths[i] holds results[i]


class ResultsStore:
    """A folder of results: ``<folder>/<model id>/<benchmark id@version>.json`` plus the
    layerwise table it names (``<benchmark id@version>.<sha256 prefix>.csv``).

    >>> store = ResultsStore("results")                       # doctest: +SKIP
    >>> store.save(result)                                     # doctest: +SKIP
    >>> store.has("resnet50:untrained", "kriegeskorte2008.hIT@2")  # doctest: +SKIP
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder).expanduser()

    def path_for(self, model_id: str, benchmark: str) -> Path:
        """The JSON file of ``model_id`` on ``benchmark`` (``id@version``)."""
        if "@" not in benchmark:
            raise BrainAlignError(f"benchmark {benchmark!r} needs a version, like {benchmark}@2")
        return self.folder / file_stem(model_id) / f"{file_stem(benchmark)}.json"

    def save(self, result: Result) -> Path:
        """Write ``result`` atomically (a concurrent reader sees the old result or the new one)."""
        return result.write(self.path_for(result.model_id, result.benchmark))

    def list(self) -> list[ResultFile]:
        """Results in the store by file name, sorted by model id then benchmark."""
        found = [
            ResultFile(unquote(path.parent.name), unquote(path.stem), path)
            for path in self.folder.glob("*/*.json")
            if not path.name.startswith(".")
        ]
        return sorted(found, key=lambda s: (s.model_id, s.benchmark))

    def model_ids(self) -> builtins.list[str]:
        return sorted({stored.model_id for stored in self.list()})

    def load(self, model_id: str, benchmark: str) -> Result:
        """The stored result; ``benchmark`` without ``@version`` means the newest version stored."""
        if "@" not in benchmark:
            versions = [
                s
                for s in self.list()
                if s.model_id == model_id and s.benchmark.partition("@")[0] == benchmark
            ]
            if not versions:
                raise BrainAlignError(
                    f"no result of {model_id!r} on {benchmark!r} in {self.folder}"
                )
            benchmark = max(versions, key=lambda s: _version(s.benchmark)).benchmark
        path = self.path_for(model_id, benchmark)
        if not path.exists():
            raise BrainAlignError(f"no result of {model_id!r} on {benchmark!r} in {self.folder}")
        result = Result.read(path)
        if (result.model_id, result.benchmark) != (model_id, benchmark):
            raise BrainAlignError(
                f"{path} holds {result.model_id!r} on {result.benchmark!r}, not what its name says; "
                f"move it to {self.path_for(result.model_id, result.benchmark)}"
            )
        return result

    def find(
        self, model_id: str, benchmark: str, reuse_key: Mapping[str, Any] | None = None
    ) -> Result | None:
        """The stored result if it is valid and its reuse key equals ``reuse_key`` (any valid
        result when None), else None: what a resumed run may reuse instead of computing."""
        try:
            result = self.load(model_id, benchmark)
        except BrainAlignError:
            return None
        if reuse_key is not None and result.reuse_key != jsonable(dict(reuse_key)):
            return None
        return result

    def has(
        self, model_id: str, benchmark: str, reuse_key: Mapping[str, Any] | None = None
    ) -> bool:
        """Whether :meth:`find` would return a result."""
        return self.find(model_id, benchmark, reuse_key) is not None

    def load_all(self, *, strict: bool = False) -> StoreContents:
        """Every result under the folder (any depth). Unusable files are reported in
        ``problems`` and left out, or raise at once with ``strict``. A second file holding the
        same model × benchmark is a problem too (the first, by path, is kept)."""
        if not self.folder.is_dir():
            raise BrainAlignError(f"results folder {self.folder} does not exist")
        results: list[Result] = []
        paths: list[Path] = []
        problems: list[RejectedFile] = []
        seen: dict[tuple[str, str], Path] = {}
        for path in sorted(p for p in self.folder.rglob("*.json") if not p.name.startswith(".")):
            try:
                result = Result.read(path)
                key = (result.model_id, result.benchmark)
                if key in seen:
                    raise BrainAlignError(
                        f"{path} repeats the result of {key[0]!r} on {key[1]!r} already read from {seen[key]}"
                    )
            except BrainAlignError as err:
                if strict:
                    raise
                problems.append(RejectedFile(path, str(err)))
                continue
            seen[key] = path
            results.append(result)
            paths.append(path)
        return StoreContents(results, problems, paths)


def _version(identifier: str) -> int:
    try:
        return int(identifier.partition("@")[2])
    except ValueError:
        return -1
