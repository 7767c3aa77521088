"""Stores that merge: the results of several folders (several labs) as one set, every result
knowing where it came from and whether it was verified, and no number silently overwritten.

Results of the same model and benchmark computed with the same settings (their reuse key: seed,
preprocessing, layer policy, weights, data checksums) are one entry when their numbers agree
(:func:`~brainalign.results.agreement.compare_numbers`), wherever they were found; when their
numbers differ they are a :class:`Conflict`, shown as such and left out of every number on the
page. A result with other settings than the one shown is named in a note.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BrainAlignError
from ..results import RejectedFile, Result, ResultsStore
from ..results.agreement import Difference, compare_numbers
from ..results.verification_record import VerificationRecord, read_record
from .setups import Note


@dataclass(frozen=True)
class Origin:
    """Where a result was found: the results folder as given, the file, and the verification
    recorded beside it (None unless it stands for exactly this result)."""

    folder: str
    path: Path
    verification: VerificationRecord | None = None

    @property
    def file(self) -> str:
        """The file's path inside its results folder (``MODEL/BENCHMARK.json``): the same on
        every machine, unlike :attr:`path`."""
        folder = Path(self.folder).expanduser()
        try:
            return Path(self.path).relative_to(folder).as_posix()
        except ValueError:
            return Path(os.path.relpath(self.path, folder)).as_posix()


@dataclass(frozen=True)
class Conflict:
    """Results of one model, benchmark and settings whose numbers differ: each distinct version
    with where it was found, and how the first two differ."""

    model_id: str
    benchmark: str
    settings: dict[str, Any]
    versions: tuple[tuple[Result, tuple[Origin, ...]], ...]
    differences: tuple[Difference, ...]

    def __str__(self) -> str:
        where = " vs ".join(", ".join(o.folder for o in origins) for _, origins in self.versions)
        first = f"; {self.differences[0]}" if self.differences else ""
        return (
            f"{self.model_id} on {self.benchmark}: {len(self.versions)} results with the same settings "
            f"and different numbers ({where}){first}"
        )


@dataclass
class Merged:
    """The merged results (one per model × benchmark), where each came from, the conflicts, the
    files that could not be read and notes for the page."""

    results: list[Result]
    origins: dict[str, tuple[Origin, ...]]  # result content id → where it was found
    conflicts: list[Conflict] = field(default_factory=list)
    problems: list[RejectedFile] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    _ids: dict[int, str] = field(default_factory=dict, repr=False)

    def id_of(self, result: Result) -> str:
        """The result's content id, computed once (a page asks for it many times)."""
        if id(result) not in self._ids:
            self._ids[id(result)] = result.content_id()
        return self._ids[id(result)]

    def origins_of(self, result: Result) -> tuple[Origin, ...]:
        return self.origins.get(self.id_of(result), ())

    def verification_of(self, result: Result) -> VerificationRecord | None:
        """A record that verified exactly this result, from any folder it was found in."""
        return next(
            (o.verification for o in self.origins_of(result) if o.verification is not None), None
        )


def merge_stores(folders: Sequence[str | os.PathLike[str]], *, strict: bool = False) -> Merged:
    """Read every result under each of ``folders`` and merge them (see the module docstring).
    With ``strict`` an unreadable file or a conflict raises :class:`BrainAlignError`."""
    merged = Merged([], {})
    found: list[tuple[Result, Origin]] = []
    for folder in folders:
        contents = ResultsStore(folder).load_all(strict=strict)
        merged.problems.extend(contents.problems)
        for result, path in zip(contents.results, contents.paths):
            record = read_record(path)  # it counts only if it verified exactly these numbers
            stands = (
                record is not None
                and record.status == "verified"
                and record.result_id == merged.id_of(result)
            )
            found.append((result, Origin(str(folder), path, record if stands else None)))
    groups: dict[tuple[str, str], dict[str, list[tuple[Result, Origin]]]] = {}
    for result, origin in found:
        settings = json.dumps(result.reuse_key, sort_keys=True)
        groups.setdefault((result.model_id, result.benchmark), {}).setdefault(settings, []).append(
            (result, origin)
        )
    for (model_id, benchmark), by_settings in groups.items():
        (shown, *others) = by_settings.values()
        versions = _versions(shown, merged.id_of)
        for result, origins in versions:
            merged.origins[merged.id_of(result)] = origins
        if len(versions) == 1:
            merged.results.append(versions[0][0])
        else:
            merged.conflicts.append(
                Conflict(
                    model_id,
                    benchmark,
                    shown[0][0].reuse_key,
                    tuple(versions),
                    compare_numbers(versions[0][0], versions[1][0]).differences,
                )
            )
        for other in others:
            merged.notes.append(_other_settings_note(shown[0], other))
    if strict and merged.conflicts:
        raise BrainAlignError(
            "results conflict (same model, benchmark and settings, different numbers): "
            + "; ".join(map(str, merged.conflicts))
        )
    return merged


def _versions(
    group: list[tuple[Result, Origin]], id_of: Callable[[Result], str]
) -> list[tuple[Result, tuple[Origin, ...]]]:
    """The distinct versions in a group of results with the same settings: results whose numbers
    agree are one version (the first found stands for it; every place it was found is kept)."""
    versions: list[tuple[Result, list[Origin]]] = []
    for result, origin in group:
        for kept, origins in versions:
            if id_of(kept) == id_of(result) or compare_numbers(kept, result).agree:
                origins.append(origin)
                break
        else:
            versions.append((result, [origin]))
    return [(result, tuple(origins)) for result, origins in versions]


def _other_settings_note(shown: tuple[Result, Origin], other: list[tuple[Result, Origin]]) -> Note:
    result, origin = shown
    alternative, where = other[0]
    keys = sorted(
        k
        for k in set(result.reuse_key) | set(alternative.reuse_key)
        if result.reuse_key.get(k) != alternative.reuse_key.get(k)
    )
    differing = ", ".join(
        f"{k} {_brief(alternative.reuse_key.get(k))} there, {_brief(result.reuse_key.get(k))} here"
        for k in keys
    )
    return Note(
        f"{result.model_id} on {result.benchmark}: {where.folder} also holds a result with other settings "
        f"({differing}); the one from {origin.folder} is shown",
        model=result.model_id,
        benchmark=result.benchmark,
    )


def _brief(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 40 else text[:37] + "…"
