"""The standard probe, pinned: the stamp files the default probe is built from, and the hash of the
folder they build.

Debian drops old package versions from its archive and an installed ``/usr/share/tuxpaint/stamps``
may be another version, so "the default probe" cannot mean whatever ``tuxpaint-stamps-default``
a machine happens to get. It means the probe built with the default settings from exactly the
stamp files listed in ``default_probe.json`` (path and sha256 of each photo stamp and of its
description, from ``tuxpaint-stamps-default`` 2022.06.04-1), however they were obtained: ``apt-get
download``, an installed package, or a folder. ``probe.saliency_semantic@1`` names the folder that
build gives, by the sha256 of its manifest, which covers every file in it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .._io import sha256_file
from .folder import ProbeFolder
from .tuxpaint import files_digest

PIN_FILE = "default_probe.json"
_STAMP_SUFFIXES = (".png", ".txt")


@dataclass(frozen=True)
class Pin:
    """What ``default_probe.json`` records: the package the stamp files came from, the files
    (relative path → sha256) and the sha256 of the manifest of the probe they build."""

    package: str
    version: str
    deb_sha256: str
    files: Mapping[str, str]
    probe_manifest_sha256: str

    @property
    def source(self) -> str:
        return f"{self.package} {self.version}"

    @property
    def stamps(self) -> tuple[str, ...]:
        """The stamp PNGs of the default probe's pool."""
        return tuple(name for name in self.files if name.endswith(".png"))


@lru_cache(maxsize=1)
def pin() -> Pin:
    raw = json.loads(resources.files(__package__).joinpath(PIN_FILE).read_text("utf-8"))
    return Pin(raw["package"], raw["version"], raw["deb_sha256"], dict(raw["files"]),
               raw["probe_manifest_sha256"])


@dataclass(frozen=True)
class StampsCheck:
    """How a stamps folder compares with the pinned list: files missing, files changed."""

    root: Path
    missing: tuple[str, ...]
    changed: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.changed

    def summary(self) -> str:
        total = len(pin().files)
        parts = [f"{len(names)} of the {total} pinned files {what} (e.g. {', '.join(names[:3])})"
                 for names, what in ((self.missing, "are missing"), (self.changed, "differ"))
                 if names]
        return "; ".join(parts) if parts else f"all {total} pinned files match"


def check_stamps(root: Path) -> StampsCheck:
    """Compare the stamps folder ``root`` with the pinned files (reads each listed file once)."""
    missing, changed = [], []
    for name, digest in pin().files.items():
        path = root / name
        if not path.is_file():
            missing.append(name)
        elif sha256_file(path) != digest:
            changed.append(name)
    return StampsCheck(root, tuple(missing), tuple(changed))


def folder_digest(root: Path) -> str:
    """One hash of every stamp file (PNG and description) under ``root``: what a default probe
    built from a folder that does not match the pin is cached under."""
    names = [str(p.relative_to(root)) for p in root.rglob("*") if p.suffix in _STAMP_SUFFIXES and p.is_file()]
    return files_digest(root, names)


def is_pinned(probe: ProbeFolder) -> bool:
    """Whether ``probe`` is exactly the pinned default probe (same manifest, hence same files)."""
    return probe.content_hash == pin().probe_manifest_sha256
