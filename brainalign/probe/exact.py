"""Image arithmetic whose pixels do not depend on which Pillow, OpenCV or NumPy is installed.

The standard probe is defined by its pixels, so every step that makes them must give the same
bytes with any library version the package allows, on any platform. Libraries do not promise
that: Pillow 13 runs its two Lanczos passes in the other order for some sizes (other pixels, up
to ±6 grey levels), and OpenCV's float32 filters round differently with and without fused
multiply-adds. So the steps that make probe pixels are written here in integer arithmetic,
which every NumPy computes identically.

- :func:`resize_rgba` is Pillow's Lanczos resampling (as Pillow 10–12 compute it) in
  premultiplied alpha, to the last bit: the same filter weights rounded to 22-bit fixed point,
  the horizontal pass first, 8-bit rounding in between, Pillow's premultiply formulas.
- :func:`smooth_field` upsamples a small grid of colours bilinearly and blurs it with a binomial
  kernel (the integer form of a Gaussian), with every weight an integer and one exact rounding
  at the end of each axis.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..errors import BrainAlignError

#: Pillow's fixed-point precision for 8-bit resampling (``32 - 8 - 2`` bits).
PRECISION_BITS = 22
LANCZOS_SUPPORT = 3.0
#: Fixed-point fraction bits between the two axes of :func:`smooth_field`.
FIELD_FRACTION_BITS = 16
#: The blur weights of :func:`smooth_field` sum to about 2 to this power.
KERNEL_BITS = 20
#: Largest image side :func:`smooth_field` computes within int64.
MAX_FIELD_SIZE = 4096


# --- Lanczos resampling, bit for bit as Pillow 10-12 --------------------------------------------
def _sinc(x: float) -> float:
    if x == 0.0:
        return 1.0
    x = x * math.pi
    return math.sin(x) / x


def _lanczos(x: float) -> float:
    return _sinc(x) * _sinc(x / 3) if -3.0 <= x < 3.0 else 0.0


@lru_cache(maxsize=1024)
def _lanczos_weights(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pillow's ``precompute_coeffs`` and ``normalize_coeffs_8bpc`` for a whole-image resize: for
    each output pixel the input indices it reads and their fixed-point weights, ``(out, taps)``.

    Each weight is a float64 expression evaluated as Pillow's C code does (``math.sin`` is the C
    library's ``sin``); rounding it to 22 bits makes a last-bit difference of ``sin`` between C
    libraries irrelevant unless a weight lies within 1e-9 of a rounding boundary.
    """
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = LANCZOS_SUPPORT * filterscale
    taps = math.ceil(support) * 2 + 1
    inverse = 1.0 / filterscale
    indices = np.zeros((out_size, taps), np.intp)
    weights = np.zeros((out_size, taps), np.int64)
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        count = min(int(center + support + 0.5), in_size) - xmin
        values = [_lanczos((x + xmin - center + 0.5) * inverse) for x in range(count)]
        total = 0.0
        for value in values:  # in order, as Pillow sums them
            total += value
        for x, value in enumerate(values):
            scaled = (value / total if total != 0.0 else value) * (1 << PRECISION_BITS)
            weights[xx, x] = int(scaled - 0.5) if scaled < 0 else int(scaled + 0.5)  # C truncation
        indices[xx, :count] = np.arange(xmin, xmin + count)
        indices[xx, count:] = xmin  # weight 0
    return indices, weights


def _resample_axis(pixels: np.ndarray, out_size: int, axis: int) -> np.ndarray:
    """One 8-bit pass along ``axis`` (0: rows, 1: columns): exact integer sums, then Pillow's
    rounding (add a half, shift, clip to 0–255)."""
    indices, weights = _lanczos_weights(pixels.shape[axis], out_size)
    wide = pixels.astype(np.int64)
    shape = list(pixels.shape)
    shape[axis] = out_size
    total = np.full(shape, 1 << (PRECISION_BITS - 1), np.int64)
    broadcast = [1] * pixels.ndim
    broadcast[axis] = out_size
    for tap in range(indices.shape[1]):
        total += np.take(wide, indices[:, tap], axis=axis) * weights[:, tap].reshape(broadcast)
    return np.clip(total >> PRECISION_BITS, 0, 255).astype(np.uint8)


def premultiply(rgba: np.ndarray) -> np.ndarray:
    """Pillow's RGBA → RGBa: colour × alpha / 255, rounded as ``(t + (t >> 8)) >> 8``, ``t = c·a + 128``."""
    wide = rgba.astype(np.int64)
    product = wide[..., :3] * wide[..., 3:4] + 128
    out = rgba.copy()
    out[..., :3] = ((product >> 8) + product) >> 8
    return out


def unpremultiply(rgba: np.ndarray) -> np.ndarray:
    """Pillow's RGBa → RGBA: colour × 255 // alpha (at most 255); unchanged where alpha is 0 or 255."""
    wide = rgba.astype(np.int64)
    alpha = wide[..., 3:4]
    partial = (alpha > 0) & (alpha < 255)
    divided = np.minimum(255 * wide[..., :3] // np.where(partial, alpha, 1), 255)
    out = rgba.copy()
    out[..., :3] = np.where(partial, divided, wide[..., :3])
    return out


def resize_rgba(rgba: np.ndarray, width: int, height: int) -> np.ndarray:
    """Lanczos resize of an RGBA uint8 image in premultiplied alpha, so that transparent pixels
    do not bleed colour: what Pillow 10–12 give for ``Image.fromarray(rgba).convert("RGBa")
    .resize((width, height), Image.LANCZOS).convert("RGBA")``, bit for bit, with any Pillow."""
    if width < 1 or height < 1:
        raise BrainAlignError(
            f"cannot resize to {width}×{height} pixels; both sides must be at least 1"
        )
    pixels = premultiply(np.ascontiguousarray(rgba, dtype=np.uint8))
    if width != pixels.shape[1]:
        pixels = _resample_axis(pixels, width, axis=1)
    if height != pixels.shape[0]:
        pixels = _resample_axis(pixels, height, axis=0)
    return unpremultiply(pixels)


# --- a smooth colour field ------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _field_weights(cells: int, size: int) -> np.ndarray:
    """Integer matrix ``(size, cells)``: bilinear upsampling of ``cells`` values to ``size``
    pixels (pixel centres aligned, edges held), then a binomial blur with reflected borders.
    Each row sums to ``2 · size · sum(binomial_kernel(size))``."""
    # bilinear: output pixel i reads position (2i + 1)·cells / (2·size) − 1/2, in units of 1/(2·size)
    unit = 2 * size
    upsample = np.zeros((size, cells), np.int64)
    for i in range(size):
        position = (2 * i + 1) * cells - size  # × unit⁻¹
        first, fraction = divmod(position, unit)
        if position < 0:
            first, fraction = 0, 0
        if first >= cells - 1:
            first, fraction = cells - 1, 0
        upsample[i, first] += unit - fraction
        upsample[i, min(first + 1, cells - 1)] += fraction
    kernel = binomial_kernel(size)
    radius = len(kernel) // 2
    if radius >= size:
        raise BrainAlignError(f"image size {size} is too small for a smooth field")
    blur = np.zeros((size, size), np.int64)
    for i in range(size):
        for k, weight in enumerate(kernel):
            j = abs(i + k - radius)
            blur[i, 2 * (size - 1) - j if j > size - 1 else j] += weight  # reflected, edge once
    return blur @ upsample


@lru_cache(maxsize=16)
def binomial_kernel(size: int) -> tuple[int, ...]:
    """Blur weights for a ``size``-pixel image: the binomial distribution B(2m, ½) with
    m = round(size² / 50), i.e. a Gaussian of σ ≈ size / 10, over ±round(0.4·size) pixels,
    scaled to sum to about 2²⁰ and rounded to integers (exactly, in integer arithmetic)."""
    m = (size * size + 25) // 50
    radius = (4 * size + 5) // 10
    scale = 1 << KERNEL_BITS
    total = 1 << (2 * m)
    return tuple(
        (2 * math.comb(2 * m, m + k) * scale + total) // (2 * total)
        for k in range(-radius, radius + 1)
    )


def smooth_field(grid: np.ndarray, size: int) -> np.ndarray:
    """A ``(size, size, channels)`` uint8 field from a small ``(cells, cells, channels)`` grid of
    integer colour values: bilinear upsampling, then a blur of σ ≈ size/10, computed in integers
    (each axis rounded once, the first to 1/65536 of a grey level) so that it is the same
    everywhere."""
    values = np.asarray(grid, dtype=np.int64)
    if not 0 < size <= MAX_FIELD_SIZE or values.min() < 0 or values.max() > 255:
        raise BrainAlignError(
            f"a smooth field needs grid values in 0–255 and a size in 1–{MAX_FIELD_SIZE}"
        )
    cells = values.shape[0]
    if values.shape[1] != cells or values.ndim != 3:
        raise BrainAlignError(
            f"the grid must be square (cells, cells, channels), got {values.shape}"
        )
    weights = _field_weights(cells, size)
    denominator = 2 * size * sum(binomial_kernel(size))  # every row of ``weights`` sums to it
    # rows: (size, cells, channels), in fixed point with FIELD_FRACTION_BITS fraction bits
    rows = np.einsum("ia,abc->ibc", weights, values)
    rows = _round_div(rows << FIELD_FRACTION_BITS, denominator)
    field = np.einsum("jb,ibc->ijc", weights, rows)
    return np.clip(_round_div(field, denominator << FIELD_FRACTION_BITS), 0, 255).astype(np.uint8)


def _round_div(numerator: np.ndarray, denominator: int) -> np.ndarray:
    """Exact ``round(numerator / denominator)`` of non-negative integers, halves up."""
    return (2 * numerator + denominator) // (2 * denominator)
