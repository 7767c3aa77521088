"""StimulusSet: ordered stimulus ids, how to load each image, a metadata table, a content hash.

Scores are always matched by stimulus id, never by file order. The content hash covers the ids
and the image bytes, so a cache keyed by it is invalidated by any change to the stimuli.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from .errors import BrainAlignError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

Source = Path | np.ndarray | Image.Image


def natural_key(text: str) -> list[Any]:
    """Sort key that orders ``image_2`` before ``image_10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


@dataclass(frozen=True, eq=False)
class StimulusSet:
    """An ordered set of images, each with a unique id, plus a metadata table indexed by id."""

    ids: tuple[str, ...]
    sources: Mapping[str, Source]
    metadata: pd.DataFrame = field(default_factory=pd.DataFrame)
    name: str = "stimuli"

    def __post_init__(self) -> None:
        ids = tuple(str(i) for i in self.ids)
        if len(set(ids)) != len(ids):
            dupes = sorted({i for i in ids if ids.count(i) > 1})[:5]
            raise BrainAlignError(f"stimulus ids must be unique; repeated: {dupes}")
        missing = [i for i in ids if i not in self.sources]
        if missing:
            raise BrainAlignError(f"no image given for stimulus ids {missing[:5]}")
        metadata = self.metadata
        if metadata.empty:
            metadata = pd.DataFrame(index=pd.Index(ids, name="stimulus_id"))
        else:
            metadata = metadata.copy()
            metadata.index = metadata.index.astype(str)
            absent = [i for i in ids if i not in metadata.index]
            if absent:
                raise BrainAlignError(f"metadata has no row for stimulus ids {absent[:5]}")
            metadata = metadata.loc[list(ids)]
            metadata.index.name = "stimulus_id"
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "metadata", metadata)

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def from_folder(
        cls,
        folder: str | Path,
        *,
        metadata: pd.DataFrame | None = None,
        name: str | None = None,
    ) -> StimulusSet:
        """Every image in ``folder`` (not recursive), id = file stem, in natural sort order."""
        root = Path(folder).expanduser()
        if not root.is_dir():
            raise BrainAlignError(f"stimulus folder {root} does not exist or is not a folder")
        paths = sorted(
            (p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
            key=lambda p: natural_key(p.name),
        )
        if not paths:
            raise BrainAlignError(
                f"no images ({', '.join(IMAGE_SUFFIXES)}) in {root}; point --stimuli at a folder of images"
            )
        check_stems(paths, root)
        return cls.from_paths(paths, metadata=metadata, name=name or root.name)

    @classmethod
    def from_paths(
        cls,
        paths: Sequence[str | Path],
        ids: Sequence[str] | None = None,
        *,
        metadata: pd.DataFrame | None = None,
        name: str = "stimuli",
    ) -> StimulusSet:
        files = [Path(p) for p in paths]
        names = [str(i) for i in ids] if ids is not None else [p.stem for p in files]
        if len(names) != len(files):
            raise BrainAlignError(f"{len(names)} stimulus ids for {len(files)} image files")
        return cls(tuple(names), dict(zip(names, files)), _or_empty(metadata), name)

    @classmethod
    def from_images(
        cls,
        ids: Sequence[str],
        images: Sequence[np.ndarray | Image.Image],
        *,
        metadata: pd.DataFrame | None = None,
        name: str = "stimuli",
    ) -> StimulusSet:
        """From in-memory images (RGB uint8 arrays ``(H, W, 3)`` or PIL images)."""
        ids = [str(i) for i in ids]
        if len(ids) != len(images):
            raise BrainAlignError(f"{len(ids)} stimulus ids for {len(images)} images")
        return cls(tuple(ids), dict(zip(ids, images)), _or_empty(metadata), name)

    # --- access -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def load(self, stimulus_id: str) -> Image.Image:
        """The stimulus as an RGB PIL image."""
        source = self.sources[stimulus_id]
        if isinstance(source, Image.Image):
            return source.convert("RGB")
        if isinstance(source, np.ndarray):
            return Image.fromarray(_as_uint8_rgb(source, stimulus_id))
        try:
            with Image.open(source) as image:
                rgb: Image.Image = image.convert("RGB")
                return rgb
        except FileNotFoundError:
            raise BrainAlignError(f"stimulus image {source} is missing") from None
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as err:
            raise BrainAlignError(
                f"stimulus image {source} cannot be read ({err}); replace or remove the file"
            ) from None

    def subset(self, ids: Sequence[str], name: str | None = None) -> StimulusSet:
        ids = tuple(str(i) for i in ids)
        unknown = [i for i in ids if i not in self.sources]
        if unknown:
            raise BrainAlignError(f"stimulus ids {unknown[:5]} are not in {self.name}")
        return StimulusSet(
            ids, {i: self.sources[i] for i in ids}, self.metadata.loc[list(ids)], name or self.name
        )

    @cached_property
    def ids_sha256(self) -> str:
        """sha256 of the sorted stimulus ids: which stimuli, whatever their pixels. Two sets of the
        same objects rendered differently (the 92 objects on white and on grey) share it, so
        results on them are known not to be independent evidence."""
        return hashlib.sha256("\n".join(sorted(self.ids)).encode()).hexdigest()

    @cached_property
    def content_hash(self) -> str:
        """sha256 over ids and image content, in order: the stimuli's identity for caches."""
        digest = hashlib.sha256()
        for stimulus_id in self.ids:
            digest.update(stimulus_id.encode() + b"\0")
            source = self.sources[stimulus_id]
            if isinstance(source, Path):
                try:
                    digest.update(source.read_bytes())
                except FileNotFoundError:
                    raise BrainAlignError(f"stimulus image {source} is missing") from None
            else:
                array = np.asarray(
                    source if isinstance(source, np.ndarray) else source.convert("RGB")
                )
                digest.update(str(array.shape).encode() + array.astype(np.uint8).tobytes())
        return digest.hexdigest()


def repeats(pairs: Iterable[tuple[str, Any]]) -> dict[str, list[Any]]:
    """The keys of ``(key, value)`` pairs that occur more than once, each with all its values, in
    order of first occurrence: what an error about a repeated stimulus id names."""
    grouped: dict[str, list[Any]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return {key: values for key, values in grouped.items() if len(values) > 1}


def check_stems(paths: Sequence[Path], folder: Path) -> None:
    """Files whose names differ only in their suffix (``image_01.jpg``, ``image_01.png``) would be
    one stimulus id: an error naming both."""
    clashes = repeats((path.stem, path.name) for path in paths)
    if clashes:
        stem, names = next(iter(clashes.items()))
        more = f" ({len(clashes) - 1} more such stem(s))" if len(clashes) > 1 else ""
        raise BrainAlignError(
            f"{folder} holds {' and '.join(names)}, which would both be stimulus {stem!r}{more}: a "
            "stimulus id is the file name without its suffix; keep one of them, or rename the other"
        )


def _or_empty(metadata: pd.DataFrame | None) -> pd.DataFrame:
    return pd.DataFrame() if metadata is None else metadata


def _as_uint8_rgb(array: np.ndarray, stimulus_id: str) -> np.ndarray:
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise BrainAlignError(
            f"stimulus {stimulus_id!r} has shape {array.shape}; images must be (H, W, 3) RGB"
        )
    if array.dtype != np.uint8:
        raise BrainAlignError(
            f"stimulus {stimulus_id!r} has dtype {array.dtype}; pass uint8 RGB images in 0..255"
        )
    return np.ascontiguousarray(array[..., :3])
