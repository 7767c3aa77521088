"""Pasting a distractor into a base image: where, how big, and how conspicuous.

The study pasted a distractor image covering 10 % of the base image's area against a random
edge. Here the paste box has that area and the distractor's own aspect ratio (clamped to
[1/3, 3]), touches the chosen edge, and sits at a seeded random offset along it.

How salient a distractor is depends on more than its content, so each distractor can be rendered
at several **contrasts**: its colours are pulled towards (contrast < 1) or pushed away from
(contrast > 1) the mean colour of the base image under the box, ``c' = m + k (c − m)``, before
alpha compositing. A low-contrast distractor is still there (its shape, its hue, its meaning)
but barely changes the Itti–Koch map; a high-contrast one dominates it. The builder measures the
saliency change of each rendering and keeps one that meets the condition's threshold. Contrast 1
is the plain paste of the study.

Resizing is :func:`.exact.resize_rgba` and compositing is float32 arithmetic one element at a
time with the region's mean taken from an exact integer sum, so a paste has the same pixels with
any Pillow or NumPy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import BrainAlignError
from .exact import resize_rgba

EDGES: tuple[str, ...] = ("top", "bottom", "left", "right")
ASPECT_LIMITS = (1 / 3, 3.0)


@dataclass(frozen=True)
class PasteBox:
    """Pixel box ``[x0, x1) × [y0, y1)`` of a pasted image, and the edge it touches ("" when it
    is placed freely, like a stamp on its background)."""

    x0: int
    y0: int
    x1: int
    y1: int
    edge: str = ""

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


def paste_box(
    height: int, width: int, aspect: float, area_fraction: float, edge: str, offset: float
) -> PasteBox:
    """A box of ``area_fraction`` of the image, aspect ``aspect`` (w/h), against ``edge``,
    ``offset`` ∈ [0, 1] along it (0 = top/left end)."""
    if edge not in EDGES:
        raise BrainAlignError(f"edge must be one of {', '.join(EDGES)}, got {edge!r}")
    if not 0 < area_fraction < 1:
        raise BrainAlignError(
            f"the distractor's area fraction must lie in (0, 1), got {area_fraction}"
        )
    aspect = min(max(aspect, ASPECT_LIMITS[0]), ASPECT_LIMITS[1])
    area = area_fraction * height * width
    box_w = min(width, max(1, round(math.sqrt(area * aspect))))
    box_h = min(height, max(1, round(area / box_w)))
    if edge in ("top", "bottom"):
        x0 = round(offset * (width - box_w))
        y0 = 0 if edge == "top" else height - box_h
    else:
        y0 = round(offset * (height - box_h))
        x0 = 0 if edge == "left" else width - box_w
    return PasteBox(x0, y0, x0 + box_w, y0 + box_h, edge)


def fit_cutout(cutout: np.ndarray, box: PasteBox) -> np.ndarray:
    """The cut-out resized to exactly fill ``box``."""
    return resize_rgba(cutout, box.width, box.height)


def composite(
    base: np.ndarray, fitted: np.ndarray, box: PasteBox, contrast: float = 1.0
) -> np.ndarray:
    """``base`` with ``fitted`` (RGBA, the size of ``box``) alpha-composited at ``box`` at
    ``contrast`` (1: the plain paste); a new uint8 array."""
    out = base.astype(np.float32)
    region = out[box.y0 : box.y1, box.x0 : box.x1]
    colour = fitted[..., :3].astype(np.float32)
    if contrast != 1.0:
        # the mean colour under the box: an exact integer sum, divided once in float32
        pixels = base[box.y0 : box.y1, box.x0 : box.x1].reshape(-1, 3)
        sums = pixels.sum(axis=0, dtype=np.int64)
        mean = sums.astype(np.float32) / np.float32(len(pixels))
        colour = mean + np.float32(contrast) * (colour - mean)
    alpha = fitted[..., 3:4].astype(np.float32) / 255.0
    region[:] = region * (1.0 - alpha) + np.clip(colour, 0, 255) * alpha
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def crop_to_alpha(rgba: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(rgba[..., 3].max(axis=1) > 0)
    cols = np.flatnonzero(rgba[..., 3].max(axis=0) > 0)
    if rows.size == 0:
        return rgba
    return rgba[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
