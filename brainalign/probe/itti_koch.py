"""Itti–Koch–Niebur saliency maps, as the study computed them with pySaliencyMap (A. Kimura).

The probe's saliency RDM and its "salient distractor" thresholds are built from these maps, so
the aim is agreement with that implementation's static maps on natural photos, not a new model.
Pipeline (Itti, Koch & Niebur 1998, in pySaliencyMap's variant):

1. The RGB image is scaled to [0, 1]; intensity ``I = 0.299 R + 0.587 G + 0.114 B``.
2. Colour double opponency, half-wave rectified: ``RG = max(R − G, 0) / max(R, G, B)`` and
   ``BY = max(B − min(R, G), 0) / max(R, G, B)``.
3. A 9-level Gaussian pyramid (``cv2.pyrDown``) of I, RG and BY; orientation maps are the I
   pyramid filtered with 9×9 Gabor kernels at 0°, 45°, 90°, 135°.
4. Centre–surround differences ``|c − upsample(s)|`` for centres 2, 3, 4 and surrounds 3 and 4
   levels coarser: six feature maps per channel (I, RG, BY and each orientation).
5. Normalisation N(·): scale a map to [0, 1] and multiply it by ``(1 − m̄)²``, m̄ the mean of the
   maxima of the 16×16 cells of a grid laid from the top-left corner (maps with one dominant peak
   have a low m̄ and keep their weight; maps with many similar peaks are damped).
6. Conspicuity maps, at the input size (maps resized bilinearly before summing): intensity
   ``ΣN(I)``; colour ``ΣN(RG) + ΣN(BY)``; orientation ``Σ_θ N(ΣN(O_θ))``.
7. Saliency ``0.3·I + 0.3·C + 0.2·O``, rescaled to [0, 1], smoothed with a bilateral filter
   (diameter 7, σ_colour 3, σ_space 1.55).

Deviations from pySaliencyMap, all deliberate:

- **Channel order**: the input is RGB. (pySaliencyMap expects OpenCV's BGR; the study fed it RGB,
  which swaps the roles of red and blue. Feed pySaliencyMap ``image[..., ::-1]`` to compare.)
- **Gabor kernels** come from ``cv2.getGaborKernel`` (σ = 1.0768149, λ = 3.75, γ = √0.9, ψ = 0)
  instead of pySaliencyMap's hard-coded tables; they equal those tables to 5e-10, except one entry
  of its 45° table that is a typo (0.0039 where symmetry gives 0.00039), and OpenCV's angle
  convention names its 45° and 135° kernels the other way round (the orientation map sums all four,
  so naming does not change the result).
- **Small maps**: pySaliencyMap divides by zero when a side of a map has no full 16-pixel cell
  (16 pixels or fewer: at centre level 4 an image side of 256 pixels or fewer, at level 3 of 128,
  at level 2 of 64), so it cannot run on 224×224 images at all. Here such a side counts as one cell
  spanning it. A map short on both sides is then one cell holding its global maximum: m̄ = 1 and
  weight 0, the limit of the original rule. A map short on one side only is measured by the row
  (or column) of cells spanning that side, and weighs 0 only where every one of those cells
  reaches the map's maximum. So a centre scale is certainly lost only when *both* image sides are
  at or below its limit: square images of 256×256 pixels or fewer lose the coarsest scale and of
  64×64 or fewer every scale (an all-zero map), while a 64×200 image keeps its scales. Images with
  both sides above 256 pixels are computed exactly as pySaliencyMap computes them.
- **Flat maps**: a map whose range is float rounding noise (below 1e-5 of its magnitude) counts as
  flat and becomes 0 instead of being stretched to [0, 1], so a uniform image gives an all-zero map
  rather than amplified rounding noise. Natural photos never come near that tolerance.
- **Motion** (pySaliencyMap's optical-flow channel, weight 0.2) is zero for a single image, as in
  the original; it is left out.
- Arithmetic is float32 throughout (pySaliencyMap mixes in float64 for the final sum); feature maps
  of the same centre level are summed before upsampling (bilinear resizing is linear, so the result
  is the same up to rounding).

Agreement with pySaliencyMap on scikit-image's photos (fed to it as BGR) is tested in
``tests/probe/test_itti_koch.py``.

Kept from the original on purpose: the opponency is half-wave rectified (red over green, blue
over yellow), so a green item among red ones stands out only through intensity and orientation,
not colour; the local-maximum grid is anchored at the top-left corner, so the map is not exactly
mirror-symmetric.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from .. import rsa
from ..errors import BrainAlignError
from ..progress import progress

PYRAMID_LEVELS = 9
CENTRE_LEVELS = (2, 3, 4)
SURROUND_OFFSETS = (3, 4)
GRID_STEP = 16
WEIGHT_INTENSITY = 0.3
WEIGHT_COLOUR = 0.3
WEIGHT_ORIENTATION = 0.2
GABOR_ANGLES_DEG = (0, 45, 90, 135)
GABOR_SIZE = 9
GABOR_SIGMA = 1.0768149
GABOR_WAVELENGTH = 3.75
GABOR_ASPECT = float(np.sqrt(0.9))
BILATERAL_DIAMETER = 7
BILATERAL_SIGMA_COLOUR = 3.0
BILATERAL_SIGMA_SPACE = 1.55
RDM_SIZE = 224

# A map whose range is below this fraction of its magnitude is float rounding noise, i.e. flat.
_FLAT_TOLERANCE = 1e-5


def saliency_map(image: Any) -> np.ndarray:
    """Itti–Koch saliency of an RGB uint8 image ``(H, W, 3)``: float32 ``(H, W)`` in [0, 1].

    A uniform image gives an all-zero map, and so does an image of 64×64 pixels or fewer (no scale
    is left to measure; see the module notes on small maps). Accepts anything ``numpy.asarray``
    turns into such an array (e.g. a PIL image in mode ``"RGB"``).
    """
    rgb = _as_rgb_uint8(image)
    height, width = rgb.shape[:2]
    pixels = rgb.astype(np.float32) * np.float32(1.0 / 255.0)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    intensity = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    red_green, blue_yellow = _colour_opponency(red, green, blue)

    size = (width, height)
    intensity_pyramid = _gaussian_pyramid(intensity)
    intensity_map = _conspicuity(_centre_surround(intensity_pyramid), size)
    colour_map = _conspicuity(_centre_surround(_gaussian_pyramid(red_green)), size)
    colour_map += _conspicuity(_centre_surround(_gaussian_pyramid(blue_yellow)), size)
    orientation_map = np.zeros((height, width), np.float32)
    for kernel in _gabor_kernels():
        filtered = [
            cv2.filter2D(level, cv2.CV_32F, kernel) if index >= CENTRE_LEVELS[0] else level
            for index, level in enumerate(intensity_pyramid)
        ]
        orientation_map += _normalise(_conspicuity(_centre_surround(filtered), size))

    combined = (
        np.float32(WEIGHT_INTENSITY) * intensity_map
        + np.float32(WEIGHT_COLOUR) * colour_map
        + np.float32(WEIGHT_ORIENTATION) * orientation_map
    )
    return cv2.bilateralFilter(
        _rescale(combined), BILATERAL_DIAMETER, BILATERAL_SIGMA_COLOUR, BILATERAL_SIGMA_SPACE
    )


def saliency_maps(images: Iterable[Any], size: int = RDM_SIZE) -> np.ndarray:
    """Saliency maps of several images, each resized to ``size × size``: ``(n, size, size)``.

    Resizing uses area averaging (``cv2.INTER_AREA``), so shrinking a map does not alias.
    """
    return _resized_maps(progress(images, desc="saliency maps", unit="image"), size)


def saliency_rdm(images: Iterable[Any], size: int = RDM_SIZE) -> np.ndarray:
    """Condensed cosine RDM of the images' saliency maps (resized to ``size × size``, flattened).

    Uniform images have all-zero maps, so their distances are undefined: NaN, with a warning.
    """
    return rsa.rdm(saliency_maps(images, size), "cosine")


def saliency_change(image_a: Any, image_b: Any, size: int = RDM_SIZE) -> float:
    """Cosine distance between two images' saliency maps (each resized to ``size × size``).

    The probe's measure of how much a pasted distractor changed the saliency map; it equals the
    corresponding entry of :func:`saliency_rdm`.
    """
    return map_change(rdm_map(image_a, size), rdm_map(image_b, size))


def rdm_map(image: Any, size: int = RDM_SIZE) -> np.ndarray:
    """The image's saliency map resized to ``size × size`` (area averaging), as the saliency RDM
    compares it; compute it once for an image that is compared with many others."""
    if int(size) < 1:
        raise BrainAlignError(f"size must be a positive number of pixels, got {size}")
    return _resize_square(saliency_map(image), int(size))


def map_change(map_a: np.ndarray, map_b: np.ndarray) -> float:
    """Cosine distance of two :func:`rdm_map` maps: :func:`saliency_change` of their images."""
    return float(rsa.rdm(np.stack([map_a, map_b]), "cosine")[0])


def _resized_maps(images: Iterable[Any], size: int) -> np.ndarray:
    maps = [rdm_map(image, size) for image in images]
    if not maps:
        raise BrainAlignError("no images given; pass a sequence of RGB uint8 arrays")
    return np.stack(maps)


def _as_rgb_uint8(image: Any) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3:
        mode = getattr(image, "mode", None)
        hint = (
            f'convert the PIL image with .convert("RGB") (its mode is {mode!r})'
            if mode is not None
            else "pass an RGB image shaped (height, width, 3); for greyscale use "
            "np.repeat(image[..., None], 3, axis=2), for RGBA drop the alpha: image[..., :3]"
        )
        raise BrainAlignError(
            f"saliency_map needs an RGB image (H, W, 3), got shape {array.shape}; {hint}"
        )
    if array.dtype != np.uint8:
        raise BrainAlignError(
            f"saliency_map needs uint8 pixels (0–255), got dtype {array.dtype}; for floats in "
            "[0, 1] pass np.clip(np.round(image * 255), 0, 255).astype(np.uint8)"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise BrainAlignError(f"saliency_map got an empty image of shape {array.shape}")
    return array


def _colour_opponency(
    red: np.ndarray, green: np.ndarray, blue: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Red–green and blue–yellow opponency, half-wave rectified, divided by max(R, G, B)."""
    brightest = np.maximum(np.maximum(red, green), blue)
    brightest[brightest <= 0] = np.float32(1e-4)  # black pixels: both differences are 0 anyway
    red_green = np.maximum((red - green) / brightest, np.float32(0))
    blue_yellow = np.maximum((blue - np.minimum(red, green)) / brightest, np.float32(0))
    return red_green, blue_yellow


def _gaussian_pyramid(image: np.ndarray) -> list[np.ndarray]:
    levels = [image]
    for _ in range(PYRAMID_LEVELS - 1):
        levels.append(cv2.pyrDown(levels[-1]))
    return levels


def _centre_surround(levels: list[np.ndarray]) -> list[tuple[int, np.ndarray]]:
    """``(centre level, |centre − surround upsampled to the centre|)`` for each scale pair."""
    maps = []
    for centre in CENTRE_LEVELS:
        height, width = levels[centre].shape
        for offset in SURROUND_OFFSETS:
            surround = cv2.resize(
                levels[centre + offset], (width, height), interpolation=cv2.INTER_LINEAR
            )
            maps.append((centre, cv2.absdiff(levels[centre], surround)))
    return maps


def _conspicuity(feature_maps: list[tuple[int, np.ndarray]], size: tuple[int, int]) -> np.ndarray:
    """Sum of the normalised feature maps, each upsampled to ``size`` (width, height).

    Maps of one centre level share a size, so they are summed before the (linear) upsampling.
    """
    total = np.zeros((size[1], size[0]), np.float32)
    for centre in CENTRE_LEVELS:
        same_level = np.sum([_normalise(m) for level, m in feature_maps if level == centre], axis=0)
        total += cv2.resize(same_level, size, interpolation=cv2.INTER_LINEAR)
    return total


def _normalise(feature_map: np.ndarray) -> np.ndarray:
    """Itti's N(·) as in pySaliencyMap: scale to [0, 1], multiply by (1 − mean local maximum)²."""
    scaled = _rescale(feature_map)
    return scaled * np.float32((1.0 - _mean_local_maximum(scaled)) ** 2)


def _rescale(values: np.ndarray) -> np.ndarray:
    """Min–max scale to [0, 1]; a flat map (range at rounding level) becomes all zeros."""
    low, high = float(values.min()), float(values.max())
    span = high - low
    if span <= _FLAT_TOLERANCE * max(1.0, abs(low), abs(high)):
        return np.zeros_like(values, dtype=np.float32)
    return ((values - np.float32(low)) * np.float32(1.0 / span)).astype(np.float32, copy=False)


def _mean_local_maximum(values: np.ndarray) -> float:
    """Mean of the maxima of 16×16 cells starting at 0, 16, … while a cell fits before the edge.

    pySaliencyMap starts cells at ``range(0, side - 16, 16)``; a side with no such start is taken
    as one cell spanning that side (pySaliencyMap would divide by zero there).
    """
    height, width = values.shape
    rows = _cell_count(height)
    cols = _cell_count(width)
    row_step = GRID_STEP if rows else height
    col_step = GRID_STEP if cols else width
    rows, cols = max(rows, 1), max(cols, 1)
    cells = values[: rows * row_step, : cols * col_step].reshape(rows, row_step, cols, col_step)
    return float(cells.max(axis=(1, 3)).astype(np.float64).mean())


def _cell_count(side: int) -> int:
    return len(range(0, side - GRID_STEP, GRID_STEP))


@lru_cache(maxsize=1)
def _gabor_kernels() -> tuple[np.ndarray, ...]:
    kernels = []
    for angle in GABOR_ANGLES_DEG:
        kernel = cv2.getGaborKernel(
            (GABOR_SIZE, GABOR_SIZE),
            GABOR_SIGMA,
            np.deg2rad(angle),
            GABOR_WAVELENGTH,
            GABOR_ASPECT,
            0.0,
            ktype=cv2.CV_64F,
        )
        kernel.flags.writeable = False
        kernels.append(kernel)
    return tuple(kernels)


def _resize_square(saliency: np.ndarray, size: int) -> np.ndarray:
    if saliency.shape == (size, size):
        return saliency
    return cv2.resize(saliency, (size, size), interpolation=cv2.INTER_AREA)
