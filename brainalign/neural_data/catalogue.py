"""The data catalogue: every data set described as data (catalogue.json and datasets.bib).

A data set is a folder of files, each known by its download URL (pinned to a commit), sha256 and
size; plus a licence, citations and a description. Code only reads these descriptions, so adding
a data set means editing the JSON, not the code.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ..bibtex import parse_bibtex
from ..errors import BrainAlignError


@dataclass(frozen=True)
class DataFile:
    """One file of a data set, at ``path`` relative to the data set's folder."""

    path: str
    url: str
    sha256: str | None  # None: not pinned (see the data set's description)
    size: int | None
    content: str = ""

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None


@dataclass(frozen=True)
class Dataset:
    """A registered data set; ``name`` is also its folder name under a data directory."""

    name: str
    title: str
    description: str
    licence: str
    citations: tuple[str, ...]
    source: str
    fetchable: bool
    files: tuple[DataFile, ...]
    obtain: str = ""  # how to get it where it cannot be fetched
    layout: str = ""  # the expected folder layout where files are not listed

    @property
    def size(self) -> int | None:
        sizes = [f.size for f in self.files]
        return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)

    @property
    def pinned(self) -> bool:
        return bool(self.files) and all(f.pinned for f in self.files)

    def file(self, path: str) -> DataFile:
        for entry in self.files:
            if entry.path == path:
                return entry
        raise BrainAlignError(f"data set {self.name} has no file {path!r}")

    @property
    def bibtex(self) -> str:
        return "\n\n".join(bibtex_entry(key) for key in self.citations)


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, Dataset]:
    raw = json.loads(resources.files(__package__).joinpath("catalogue.json").read_text("utf-8"))
    out: dict[str, Dataset] = {}
    for name, spec in raw["datasets"].items():
        files = tuple(DataFile(**entry) for entry in spec.pop("files"))
        out[name] = Dataset(name=name, files=files, citations=tuple(spec.pop("citations")), **spec)
    return out


def datasets() -> list[Dataset]:
    """Every registered data set, sorted by name."""
    return [d for _, d in sorted(_catalogue().items())]


def get_dataset(name: str) -> Dataset:
    """The data set called ``name``; an unknown name lists the close ones."""
    catalogue = _catalogue()
    if name in catalogue:
        return catalogue[name]
    close = difflib.get_close_matches(name, list(catalogue), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise BrainAlignError(
        f"unknown data set {name!r}{hint} (`brainalign data list` shows them all)"
    )


@lru_cache(maxsize=1)
def _bibtex() -> dict[str, str]:
    text = resources.files(__package__).joinpath("datasets.bib").read_text("utf-8")
    return parse_bibtex(text)


def bibtex_entry(key: str) -> str:
    """The BibTeX entry ``key`` of datasets.bib."""
    try:
        return _bibtex()[key]
    except KeyError:
        raise BrainAlignError(f"no BibTeX entry {key!r} in brainalign's datasets.bib") from None
