"""Small synthetic inputs for the probe tests: a fake Tux Paint stamps tree and a bag-of-words
caption embedder (planted semantics: captions sharing words are close)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

#: folder → labels; the folder names also become each stamp's second caption.
PHOTO_STAMPS: dict[str, tuple[str, ...]] = {
    "animals/mammals": ("A cat.", "A dog.", "A lion.", "A tiger.", "A horse."),
    "vehicles/auto": ("A car.", "A bus.", "A truck.", "A van.", "A tractor."),
    "food/fruit": ("A banana.", "An apple.", "A pear.", "A lemon.", "A plum."),
}


class BagOfWordsEmbedder:
    """Each word a fixed random vector (seeded by the word); a caption the sum of its words."""

    name = "bag-of-words-test"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.calls = 0

    def _word(self, word: str) -> np.ndarray:
        return np.random.default_rng(zlib.crc32(word.encode())).normal(size=self.dim)

    def embed(self, captions: Sequence[str]) -> np.ndarray:
        self.calls += 1
        rows = []
        for caption in captions:
            words = [
                w
                for w in caption.lower().replace(".", " ").replace(",", " ").split()
                if w not in ("a", "an", "of", "photo")
            ]
            vector = sum((self._word(w) for w in words), np.zeros(self.dim))
            rows.append(vector / np.linalg.norm(vector))
        return np.array(rows)


def photo_rgba(rng: np.random.Generator, size: int = 80) -> np.ndarray:
    """An opaque ellipse of noisy texture on transparency: many colours, like a photo cut-out."""
    yy, xx = np.mgrid[:size, :size]
    ry, rx = rng.uniform(0.3, 0.48, size=2) * size
    inside = ((yy - size / 2) / ry) ** 2 + ((xx - size / 2) / rx) ** 2 <= 1
    colour = rng.uniform(30, 225, size=3)
    texture = colour + rng.normal(0, 30, size=(size, size, 3))
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[..., :3] = np.clip(texture, 0, 255).astype(np.uint8)
    rgba[..., 3] = np.where(inside, 255, 0)
    return rgba


def drawing_rgba(size: int = 80) -> np.ndarray:
    """A flat two-colour drawing: what the photo filter must drop."""
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[10:70, 10:70] = (255, 0, 0, 255)
    rgba[30:50, 30:50] = (0, 0, 255, 255)
    return rgba


def write_stamp(root: Path, folder: str, name: str, label: str | None, rgba: np.ndarray) -> None:
    path = root / folder / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgba, "RGBA").save(path)
    if label is not None:
        path.with_suffix(".txt").write_text(f"{label}\nfr.utf8=Traduction.\n", encoding="utf-8")


def make_stamps(root: Path, seed: int = 0) -> Path:
    """15 photo stamps in 3 topics, plus a flat drawing, a cartoon-folder photo and an unlabelled
    mirror image, all of which the pool must ignore."""
    rng = np.random.default_rng(seed)
    for folder, labels in PHOTO_STAMPS.items():
        for label in labels:
            name = label.split()[-1].rstrip(".").lower()
            write_stamp(root, folder, name, label, photo_rgba(rng))
    write_stamp(root, "household/tools", "flatbox", "A box.", drawing_rgba())
    write_stamp(root, "animals/mammals/cartoon", "toon", "A cartoon cat.", photo_rgba(rng))
    write_stamp(root, "animals/mammals", "cat_mirror", None, photo_rgba(rng))
    return root


def build_small_probe(root: Path) -> Path:
    """A small probe built from :func:`make_stamps` with :class:`BagOfWordsEmbedder` (seconds to
    build): every condition, a few dozen images."""
    from brainalign.probe import BuildSettings, ThresholdQuantiles, TuxPaintPool, build_probe

    out = root / "probe"
    settings = BuildSettings(
        seed=0,
        image_size=160,
        max_distractors=14,
        thresholds=ThresholdQuantiles(
            semantic_similar=0.15, semantic_dissimilar=0.5, pilot_size=40
        ),
    )
    build_probe(
        TuxPaintPool(make_stamps(root / "stamps")), out, settings, embedder=BagOfWordsEmbedder()
    )
    return out
