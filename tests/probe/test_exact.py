"""The probe's library-independent pixel arithmetic (brainalign.probe.exact), checked against Pillow
and against independent float references."""

from __future__ import annotations

import math

import numpy as np
import PIL
import pytest
from PIL import Image
from scipy import ndimage

from brainalign.errors import BrainAlignError
from brainalign.probe.exact import (
    binomial_kernel,
    premultiply,
    resize_rgba,
    smooth_field,
    unpremultiply,
)

PILLOW_MAJOR = int(PIL.__version__.split(".")[0])
#: (source height, width) → (target width, height): down and up, shrinking one axis much more than
#: the other (where Pillow 13 changed its pass order), unchanged axes, 1-pixel results.
SIZES = [
    ((120, 90), (47, 61)),
    ((300, 257), (224, 224)),
    ((257, 300), (224, 224)),
    ((40, 50), (130, 170)),
    ((500, 60), (60, 70)),
    ((64, 64), (64, 20)),
    ((33, 700), (1, 9)),
    ((80, 80), (80, 80)),
]


def _rgba(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Random colours with transparent, opaque and partly transparent regions."""
    rgba = rng.integers(0, 256, size=(height, width, 4), dtype=np.uint8)
    alpha = rgba[..., 3]
    alpha[alpha < 70] = 0
    alpha[alpha > 200] = 255
    return rgba


def _pillow_axis_by_axis(rgba: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pillow's Lanczos, one axis per call, horizontal first: each call is a single 8-bit pass,
    the same in every Pillow version, so the pair is the order Pillow 10–12 use in one call."""
    image = Image.fromarray(rgba).convert("RGBa")
    image = image.resize((width, image.height), Image.Resampling.LANCZOS)
    image = image.resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(image.convert("RGBA"))


@pytest.mark.parametrize(("source", "target"), SIZES)
def test_resize_equals_pillow_pass_by_pass(source, target) -> None:
    rgba = _rgba(np.random.default_rng(sum(source) + sum(target)), *source)
    np.testing.assert_array_equal(resize_rgba(rgba, *target), _pillow_axis_by_axis(rgba, *target))


@pytest.mark.skipif(PILLOW_MAJOR >= 13, reason="Pillow 13 runs some resizes vertical pass first")
@pytest.mark.parametrize(("source", "target"), SIZES)
def test_resize_equals_pillow_10_to_12_in_one_call(source, target) -> None:
    rgba = _rgba(np.random.default_rng(7), *source)
    pillow = Image.fromarray(rgba).convert("RGBa").resize(target, Image.Resampling.LANCZOS)
    np.testing.assert_array_equal(resize_rgba(rgba, *target), np.asarray(pillow.convert("RGBA")))


def test_premultiplying_equals_pillow_for_every_colour_and_alpha() -> None:
    values = np.arange(256, dtype=np.uint8)
    rgba = np.stack(
        np.broadcast_arrays(values[:, None], values[None, :], values[None, ::-1], values[:, None]),
        axis=-1,
    ).astype(np.uint8)
    premultiplied = premultiply(rgba)
    np.testing.assert_array_equal(premultiplied, np.asarray(Image.fromarray(rgba).convert("RGBa")))
    np.testing.assert_array_equal(
        unpremultiply(premultiplied),
        np.asarray(Image.frombytes("RGBa", (256, 256), premultiplied.tobytes()).convert("RGBA")),
    )


def test_resizing_keeps_a_uniform_opaque_image_uniform_and_rejects_empty_sizes() -> None:
    flat = np.full((37, 91, 4), (200, 30, 90, 255), np.uint8)
    np.testing.assert_array_equal(
        resize_rgba(flat, 13, 150), np.full((150, 13, 4), (200, 30, 90, 255))
    )
    with pytest.raises(BrainAlignError, match="at least 1"):
        resize_rgba(flat, 0, 5)


def _field_reference(grid: np.ndarray, size: int) -> np.ndarray:
    """The same field in float64, from independent parts: OpenCV-style bilinear positions with
    ``np.interp`` (edges held), and the binomial weights as exact fractions, correlated with
    mirrored borders by scipy."""
    cells = grid.shape[0]
    positions = np.clip((np.arange(size) + 0.5) * cells / size - 0.5, 0, cells - 1)
    along = np.arange(cells)
    rows = np.stack(
        [
            [np.interp(positions, along, grid[:, j, c]) for j in range(cells)]
            for c in range(grid.shape[2])
        ],
        axis=-1,
    ).transpose(1, 0, 2)  # (size, cells, c)
    field = np.stack(
        [
            [np.interp(positions, along, rows[i, :, c]) for i in range(size)]
            for c in range(grid.shape[2])
        ],
        axis=-1,
    )  # (size, size, c)
    m = (size * size + 25) // 50
    radius = (4 * size + 5) // 10
    weights = np.array([math.comb(2 * m, m + k) / 2 ** (2 * m) for k in range(-radius, radius + 1)])
    weights /= weights.sum()
    for axis in (0, 1):
        field = ndimage.correlate1d(field, weights, axis=axis, mode="mirror")
    return field


@pytest.mark.parametrize("size", [128, 224])
def test_smooth_field_equals_a_float_reference(size: int) -> None:
    grid = np.random.default_rng(size).integers(20, 236, size=(4, 4, 3))
    field = smooth_field(grid, size)
    reference = _field_reference(grid.astype(float), size)
    difference = np.abs(field.astype(float) - np.rint(reference))
    assert difference.max() <= 1  # only where the value lies within rounding error of a half
    near_half = np.abs(reference - np.floor(reference) - 0.5) < 1e-3
    assert not difference[~near_half].any()


def test_smooth_field_of_a_constant_is_that_constant() -> None:
    for value in (0, 137, 255):
        np.testing.assert_array_equal(
            smooth_field(np.full((4, 4, 3), value), 224), np.full((224, 224, 3), value)
        )
    with pytest.raises(BrainAlignError, match="0–255"):
        smooth_field(np.full((4, 4, 3), 256), 224)


@pytest.mark.parametrize("size", [128, 224, 512])
def test_binomial_kernel_is_a_gaussian_of_a_tenth_of_the_size(size: int) -> None:
    kernel = np.array(binomial_kernel(size), dtype=float)
    offsets = np.arange(len(kernel)) - len(kernel) // 2
    assert kernel.tolist() == kernel[::-1].tolist()
    assert abs(kernel.sum() - 2**20) <= len(kernel)
    sigma = math.sqrt((kernel * offsets**2).sum() / kernel.sum())
    assert sigma == pytest.approx(size / 10, rel=0.01)
