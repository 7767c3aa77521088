"""The standard probe, pinned: the stamp files the default probe is built from, and the content
hash of the probe they build.

Debian drops old package versions from its archive and an installed ``/usr/share/tuxpaint/stamps``
may be another version, so "the default probe" cannot mean whatever ``tuxpaint-stamps-default``
a machine happens to get. It means the probe built with the default settings from exactly the
stamp files listed in ``default_probe.json`` (path and sha256 of each photo stamp and of its
description, from ``tuxpaint-stamps-default`` 2022.06.04-1), however they were obtained: ``apt-get
download``, an installed package, or a folder. ``probe.saliency_semantic@2`` names the probe that
build gives, by its content hash (:mod:`.identity`: decoded pixels, condition table, defining
settings), which is the same with any library versions the package allows: the images are
rendered by :mod:`.exact`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from .._files import sha256_file
from .builder import Thresholds
from .folder import ProbeFolder
from .tuxpaint import files_digest

PIN_FILE = "default_probe.json"
_STAMP_SUFFIXES = (".png", ".txt")
#: How far (a fraction of all caption pairs, either side) a pinned semantic threshold may move from
#: its quantile to sit in the middle of a wide gap between the pool's caption distances.
GAP_WINDOW = 0.001


@dataclass(frozen=True)
class Pin:
    """What ``default_probe.json`` records: the package the stamp files came from, the files
    (relative path → sha256), the default probe's thresholds (resolved once from the quantile
    rule, then fixed) and the content hash of the probe they build."""

    package: str
    version: str
    deb_sha256: str
    files: Mapping[str, str]
    thresholds: Thresholds
    probe_content_sha256: str

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
    return Pin(
        raw["package"],
        raw["version"],
        raw["deb_sha256"],
        dict(raw["files"]),
        Thresholds(**raw["thresholds"]),
        raw["probe_content_sha256"],
    )


def gap_cut(values: np.ndarray, quantile: float, window: float = GAP_WINDOW) -> float:
    """A threshold for ``values`` near their ``quantile`` that none of them lies close to: the
    middle of the widest gap between neighbouring sorted values within ``window`` (a fraction of
    them) of the quantile, written with the fewest decimals that stay in the gap's middle third.

    The default probe compares caption distances from a sentence model with its semantic
    thresholds; those distances differ in their last bits between PyTorch builds (about 1e-7).
    A threshold taken from the same distances by a quantile lies as close to its neighbours as
    they lie to each other (here about 1e-6 apart); in the middle of the widest nearby gap it is
    half that gap from every distance, so no build's last bits can move a pair across it.
    """
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    n = len(ordered)
    centre = int(quantile * (n - 1))
    half = max(1, round(window * n))
    segment = ordered[max(0, centre - half) : min(n, centre + half + 2)]
    gaps = np.diff(segment)
    widest = int(np.argmax(gaps))
    low, high = float(segment[widest]), float(segment[widest + 1])
    middle, third = (low + high) / 2, (high - low) / 6
    for digits in range(1, 17):
        rounded = round(middle, digits)
        if abs(rounded - middle) <= third:
            return rounded
    return middle


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
        parts = [
            f"{len(names)} of the {total} pinned files {what} (e.g. {', '.join(names[:3])})"
            for names, what in ((self.missing, "are missing"), (self.changed, "differ"))
            if names
        ]
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
    names = [
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.suffix in _STAMP_SUFFIXES and p.is_file()
    ]
    return files_digest(root, names)


def is_pinned(probe: ProbeFolder) -> bool:
    """Whether ``probe`` is the pinned default probe (the same images, table and settings)."""
    return probe.content_hash == pin().probe_content_sha256
