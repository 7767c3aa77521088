"""Labelled photo cut-outs from Debian's ``tuxpaint-stamps-default``: the probe's offline pool.

Tux Paint's stamps are PNGs with an alpha channel, each beside a ``.txt`` whose first line is its
English description ("A lion."). About 300 of them are photographs (animals, fruit, vehicles,
tools…); the rest are flat clip-art, dropped here by two facts: Tux Paint files its drawings
under ``cartoon/`` folders and ``symbols/``, and a drawing needs few colours (fewer than
:data:`MIN_PHOTO_COLOURS` quantised colours cover 90 % of its opaque pixels; photos need
hundreds).

Getting them changes nothing outside the cache: ``apt-get download`` fetches the ``.deb`` into a
temporary folder and ``dpkg-deb --fsys-tarfile`` streams its files, of which only the stamp PNGs
and texts are kept, under ``cache_dir()/pools/tuxpaint-stamps-default``. An installed copy
(``/usr/share/tuxpaint/stamps``) or ``BRAINALIGN_TUXPAINT_STAMPS=FOLDER`` is used instead.

A base image is one stamp composited on a generated background: a smooth field of a few random
colours (a 4×4 grid upsampled and blurred), seeded per stamp; smooth, so it compresses well
and leaves the stamp as the salient object. Both the field and the stamp's resizing are computed
by :mod:`.exact`, so a base image has the same pixels with any Pillow, OpenCV or NumPy.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .._files import sha256_file
from ..errors import BrainAlignError
from ..paths import cache_dir
from .compositing import PasteBox, composite, crop_to_alpha
from .exact import resize_rgba, smooth_field
from .pools import ImagePool, PoolItem, item_rng

log = logging.getLogger(__name__)

PACKAGE = "tuxpaint-stamps-default"
SYSTEM_STAMPS = Path("/usr/share/tuxpaint/stamps")
_DEB_STAMPS = "usr/share/tuxpaint/stamps/"
_COMPLETE = ".complete"

#: A stamp is a photo when at least this many 5-bit-per-channel colours are needed to cover
#: 90 % of its opaque pixels (drawings need a handful to a few dozen).
MIN_PHOTO_COLOURS = 60
#: Stamps smaller than this (longest side, pixels) are too coarse to scale up.
MIN_STAMP_SIDE = 64
#: Longest side of the stamp in a base image, as a fraction of the image side (range, seeded).
OBJECT_SCALE = (0.55, 0.7)

TUXPAINT_BIBTEX = """@misc{tuxpaint_stamps,
  title = {Tux Paint Stamps (Debian package tuxpaint-stamps-default)},
  author = {Kendrick, Bill and {the Tux Paint developers}},
  year = {2022},
  note = {Version 2022.06.04; photographs and drawings with English descriptions, GPL-2.0 and other free licences},
  url = {https://tuxpaint.org/download/stamps/}
}"""


def stamps_cache() -> Path:
    return cache_dir() / "pools" / PACKAGE


def ensure_tuxpaint_stamps(*, download: bool = True) -> Path:
    """A folder of Tux Paint stamps: ``BRAINALIGN_TUXPAINT_STAMPS``, the cache, an installed copy,
    or (``download``) a fresh ``apt-get download`` extracted into the cache."""
    explicit = os.environ.get("BRAINALIGN_TUXPAINT_STAMPS")
    if explicit:
        folder = Path(explicit).expanduser()
        if not folder.is_dir():
            raise BrainAlignError(f"BRAINALIGN_TUXPAINT_STAMPS={folder} is not a folder")
        return folder
    cached = stamps_cache() / "stamps"
    if (stamps_cache() / _COMPLETE).is_file() and cached.is_dir():
        return cached
    if SYSTEM_STAMPS.is_dir() and any(SYSTEM_STAMPS.rglob("*.png")):
        return SYSTEM_STAMPS
    if not download:
        raise BrainAlignError(
            f"Tux Paint stamps are not in the cache ({stamps_cache()}); run `brainalign probe build` "
            "with network access to Debian's archive, or install tuxpaint-stamps-default"
        )
    with tempfile.TemporaryDirectory(prefix="brainalign-tuxpaint-") as tmp:
        deb = download_deb(Path(tmp))
        extract_stamps(deb, stamps_cache())
    return cached


def download_deb(folder: Path) -> Path:
    """``apt-get download tuxpaint-stamps-default`` into ``folder`` (no root needed)."""
    log.info("downloading %s with apt-get (about 160 MB, once)", PACKAGE)
    try:
        done = subprocess.run(
            ["apt-get", "download", PACKAGE],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise BrainAlignError(
            f"apt-get is not available, so the Tux Paint stamps ({PACKAGE}) cannot be fetched; on "
            "other systems download the package's .deb or the stamps from tuxpaint.org and set "
            "BRAINALIGN_TUXPAINT_STAMPS to the stamps folder, or build from your own images "
            "(--pool folder)"
        ) from None
    debs = sorted(folder.glob(f"{PACKAGE}_*.deb"))
    if done.returncode != 0 or not debs:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BrainAlignError(
            f"`apt-get download {PACKAGE}` failed ({detail[-1] if detail else 'no output'}); "
            "if the package is unknown, refresh the package lists with `apt-get update` (as root) "
            "and try again"
        )
    return debs[0]


def extract_stamps(deb: Path, destination: Path) -> Path:
    """Keep the stamp PNGs and texts of a ``.deb`` in ``destination/stamps`` (atomically)."""
    destination.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".stamps-", dir=destination))
    try:
        try:
            proc = subprocess.Popen(
                ["dpkg-deb", "--fsys-tarfile", str(deb)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except FileNotFoundError:
            raise BrainAlignError(
                "dpkg-deb is not available to unpack the Tux Paint package; set "
                "BRAINALIGN_TUXPAINT_STAMPS to an unpacked stamps folder instead"
            ) from None
        count = 0
        assert proc.stdout is not None
        with tarfile.open(fileobj=proc.stdout, mode="r|*") as archive:
            for member in archive:
                name = member.name.lstrip("./")
                if not (
                    member.isfile()
                    and name.startswith(_DEB_STAMPS)
                    and name.endswith((".png", ".txt"))
                ):
                    continue
                relative = Path(name[len(_DEB_STAMPS) :])
                if ".." in relative.parts:
                    continue
                target = staging / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                assert source is not None
                target.write_bytes(source.read())
                count += 1
        stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.wait() != 0 or count == 0:
            raise BrainAlignError(
                f"{deb} could not be unpacked as {PACKAGE} ({stderr.strip() or 'no stamps in it'}); "
                "delete it and download again"
            )
        final = destination / "stamps"
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
        (destination / _COMPLETE).write_text(f"{deb.name}\n{count} files\n")
        log.info("extracted %d Tux Paint stamp files into %s", count, final)
        return final
    finally:
        if staging.exists():
            shutil.rmtree(staging)


@dataclass(frozen=True)
class Stamp:
    id: str
    path: Path
    label: str
    categories: tuple[str, ...]
    colours: int
    photo: bool


def count_colours(rgba: np.ndarray, coverage: float = 0.9) -> int:
    """How many 5-bit-per-channel colours cover ``coverage`` of the opaque pixels."""
    pixels = rgba[..., :3][rgba[..., 3] > 128] >> 3
    if pixels.size == 0:
        return 0
    codes = (
        (pixels[:, 0].astype(np.int32) << 10) | (pixels[:, 1].astype(np.int32) << 5) | pixels[:, 2]
    )
    counts = np.sort(np.bincount(codes))[::-1]
    counts = counts[counts > 0]
    covered = np.cumsum(counts) / counts.sum()
    return int(np.searchsorted(covered, coverage) + 1)


def scan_stamps(root: Path, only: Collection[str] | None = None) -> list[Stamp]:
    """Every stamp PNG under ``root`` with an English description, photo or not, sorted by id;
    with ``only`` (paths relative to ``root``), just those."""
    stamps = []
    paths = root.rglob("*.png") if only is None else (root / name for name in only)
    for path in sorted(paths):
        text = path.with_suffix(".txt")
        if not text.is_file():
            continue  # mirrored/back variants and helper images have no description
        label = text.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        if not label or not label[0].strip():
            continue
        relative = path.relative_to(root)
        categories = tuple(relative.parts[:-1])
        with Image.open(path) as image:
            rgba = np.asarray(image.convert("RGBA"))
        colours = count_colours(rgba)
        photo = (
            "cartoon" not in categories
            and (not categories or categories[0] != "symbols")
            and colours >= MIN_PHOTO_COLOURS
            and max(rgba.shape[:2]) >= MIN_STAMP_SIDE
        )
        stamp_id = ".".join(relative.with_suffix("").parts)
        stamps.append(Stamp(stamp_id, path, label[0].strip(), categories, colours, photo))
    return stamps


def stamp_captions(stamp: Stamp) -> tuple[str, ...]:
    """The stamp's own description and a sentence naming its Tux Paint folders.

    The second caption gives one-word descriptions their context ("A pecan." is food, not a
    bird), as the several captions of a COCO image describe a scene.
    """
    folders = [c for c in reversed(stamp.categories) if c not in ("cartoon",)]
    context = ", ".join(folders) if folders else "objects"
    return (stamp.label, f"A photo of {context}.")


def background(size: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth random colour field, ``(size, size, 3)`` uint8: a 4×4 grid of whole grey levels
    around a random colour, upsampled and blurred (:func:`.exact.smooth_field`)."""
    base = rng.uniform(70, 200, size=3)
    grid = np.rint(np.clip(base + rng.normal(0, 25, size=(4, 4, 3)), 0, 255))
    return smooth_field(grid.astype(np.int64), size)


def stamp_files(stamps: Iterable[Stamp], root: Path) -> list[str]:
    """The files a pool of ``stamps`` reads (each PNG and its description), relative to ``root``."""
    return sorted(
        str(p.relative_to(root)) for s in stamps for p in (s.path, s.path.with_suffix(".txt"))
    )


def files_digest(root: Path, files: Iterable[str]) -> str:
    """sha256 over the sorted ``path<TAB>sha256`` lines of ``files`` (relative to ``root``): one
    hash for a set of files, independent of where the folder is."""
    lines = "".join(f"{name}\t{sha256_file(root / name)}\n" for name in sorted(files))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


class TuxPaintPool(ImagePool):
    """Photo stamps as base images (stamp on a generated background) and as cut-outs.

    ``stamps`` restricts the pool to those stamp PNGs (paths relative to the stamps folder): the
    default probe is built from a pinned list, whatever else the folder holds."""

    kind = "tuxpaint"
    bibtex = TUXPAINT_BIBTEX

    def __init__(
        self, root: str | os.PathLike[str] | None = None, *, stamps: Collection[str] | None = None
    ) -> None:
        self.root = Path(root) if root is not None else ensure_tuxpaint_stamps()
        found = scan_stamps(self.root, stamps)
        self.stamps = {s.id: s for s in found if s.photo}
        self.n_drawings = len(found) - len(self.stamps)
        if len(self.stamps) < 10:
            raise BrainAlignError(
                f"only {len(self.stamps)} photo stamps found in {self.root}; "
                "the folder is not a Tux Paint stamps folder"
            )
        items = [
            PoolItem(s.id, stamp_captions(s), str(s.path.relative_to(self.root)))
            for s in self.stamps.values()
        ]
        super().__init__(items)
        self.files_sha256 = files_digest(self.root, stamp_files(self.stamps.values(), self.root))
        self._cutouts: dict[str, np.ndarray] = {}

    def cutout(self, item_id: str) -> np.ndarray:
        if item_id not in self._cutouts:
            with Image.open(self.stamps[item_id].path) as image:
                self._cutouts[item_id] = crop_to_alpha(np.asarray(image.convert("RGBA")))
        return self._cutouts[item_id]

    def base_image(self, item_id: str, size: int, seed: int) -> np.ndarray:
        rng = item_rng(seed, item_id)
        canvas = background(size, rng)
        stamp = self.cutout(item_id)
        longest = rng.uniform(*OBJECT_SCALE) * size
        scale = longest / max(stamp.shape[:2])
        width = max(1, round(stamp.shape[1] * scale))
        height = max(1, round(stamp.shape[0] * scale))
        scaled = resize_rgba(stamp, width, height)
        x0 = round((size - width) / 2 + rng.uniform(-0.05, 0.05) * size)
        y0 = round((size - height) / 2 + rng.uniform(-0.05, 0.05) * size)
        x0 = min(max(x0, 0), size - width)
        y0 = min(max(y0, 0), size - height)
        return composite(canvas, scaled, PasteBox(x0, y0, x0 + width, y0 + height))

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "package": PACKAGE,
            "photo_stamps": len(self.stamps),
            "drawings_dropped": self.n_drawings,
            "min_photo_colours": MIN_PHOTO_COLOURS,
            "stamps_sha256": self.files_sha256,
        }
