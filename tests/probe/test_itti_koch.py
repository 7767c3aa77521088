"""Itti–Koch saliency: pop-out displays with a known answer, channel order, flat and tiny inputs,
the vectorised pieces against brute-force loops, and the RDM / change measures against scipy."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest
from PIL import Image
from scipy.spatial.distance import pdist
from skimage import data

from brainalign.errors import BrainAlignError
from brainalign.probe import (
    itti_koch,
    saliency_change,
    saliency_map,
    saliency_maps,
    saliency_rdm,
)

SIZES = (224, 320)  # the probe's size, and one large enough for pySaliencyMap's every scale
ODD_CELLS = ((1, 2), (3, 0), (0, 0))
GRID = 4


def _cell_centre(size: int, cell: tuple[int, int]) -> tuple[int, int]:
    row, col = cell
    return int((col + 0.5) * size / GRID), int((row + 0.5) * size / GRID)


def _disc_display(size, odd, odd_colour, other_colour, background=(0, 0, 0)):
    """A 4×4 grid of discs, one of them (``odd``) in another colour; returns image and radius."""
    image = np.empty((size, size, 3), np.uint8)
    image[:] = background
    radius = size // (4 * GRID)
    for row in range(GRID):
        for col in range(GRID):
            colour = odd_colour if (row, col) == odd else other_colour
            cv2.circle(image, _cell_centre(size, (row, col)), radius, colour, -1)
    return image, radius


def _bar_display(size, odd):
    """White bars on black, all horizontal except the vertical one at ``odd``."""
    image = np.zeros((size, size, 3), np.uint8)
    half_length, half_width = size // (3 * GRID), max(1, size // 40)
    for row in range(GRID):
        for col in range(GRID):
            x, y = _cell_centre(size, (row, col))
            dx, dy = (half_width, half_length) if (row, col) == odd else (half_length, half_width)
            image[y - dy : y + dy + 1, x - dx : x + dx + 1] = 255
    return image, half_length


def _peaks(saliency, size, radius):
    """The map's maximum within ``2·radius`` of each item's centre, keyed by grid cell."""
    ys, xs = np.mgrid[: saliency.shape[0], : saliency.shape[1]]
    peaks = {}
    for row in range(GRID):
        for col in range(GRID):
            x, y = _cell_centre(size, (row, col))
            peaks[(row, col)] = saliency[np.hypot(xs - x, ys - y) <= 2 * radius].max()
    return peaks


def _assert_pops_out(saliency, size, odd, radius, margin):
    """The global maximum lies on the odd item, which beats every other item by ``margin``."""
    y, x = np.unravel_index(np.argmax(saliency), saliency.shape)
    cx, cy = _cell_centre(size, odd)
    assert np.hypot(x - cx, y - cy) <= radius, f"maximum at {(x, y)}, odd item at {(cx, cy)}"
    peaks = _peaks(saliency, size, radius)
    best_other = max(value for cell, value in peaks.items() if cell != odd)
    assert peaks[odd] > margin * best_other


# Red (255, 0, 0) and this green have the same luminance (0.299·255 ≈ 0.587·130), so only the
# red–green opponency channel can single the red disc out.
ISOLUMINANT_GREEN = (0, 130, 0)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("odd", ODD_CELLS)
def test_red_disc_among_isoluminant_green_discs_is_the_maximum(size, odd):
    image, radius = _disc_display(size, odd, (255, 0, 0), ISOLUMINANT_GREEN)
    _assert_pops_out(saliency_map(image), size, odd, radius, margin=2.0)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("odd", ODD_CELLS)
def test_vertical_bar_among_horizontal_bars_is_the_maximum(size, odd):
    image, half_length = _bar_display(size, odd)
    _assert_pops_out(saliency_map(image), size, odd, half_length, margin=1.05)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("corner", [(0.3, 0.6), (0.7, 0.25)])
def test_bright_square_on_grey_holds_the_maximum(size, corner):
    image = np.full((size, size, 3), 128, np.uint8)
    side = size // 8
    x0, y0 = int(corner[0] * size), int(corner[1] * size)
    image[y0 : y0 + side, x0 : x0 + side] = 255
    saliency = saliency_map(image)
    y, x = np.unravel_index(np.argmax(saliency), saliency.shape)
    assert x0 - 2 <= x < x0 + side + 2 and y0 - 2 <= y < y0 + side + 2
    # far from the square the map is near its floor
    assert saliency[-(size // 10) :, : size // 10].max() < 0.2 * saliency.max()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("odd", ODD_CELLS)
def test_channel_order_is_rgb(size, odd):
    """Teal (0, 150, 150) among green (0, 226, 0) differs in luminance and blue–yellow opponency
    when read as RGB; read as BGR the two colours have equal luminance and no opponency at all."""
    image, radius = _disc_display(size, odd, (0, 150, 150), (0, 226, 0))
    _assert_pops_out(saliency_map(image), size, odd, radius, margin=2.0)
    # control: what a BGR-reading model would see has no odd item, so nothing pops out
    as_bgr = np.ascontiguousarray(image[..., ::-1])
    peaks = _peaks(saliency_map(as_bgr), size, radius)
    assert peaks[odd] < 1.05 * max(value for cell, value in peaks.items() if cell != odd)


def test_colour_opponency_channels():
    """Red drives only red–green, blue only blue–yellow, yellow and grey neither; black is 0/0."""
    pixels = np.array(
        [[255, 0, 0], [0, 0, 255], [255, 255, 0], [0, 255, 0], [90, 90, 90], [0, 0, 0]]
    )
    rgb = (pixels / 255).astype(np.float32)
    red_green, blue_yellow = itti_koch._colour_opponency(rgb[:, 0], rgb[:, 1], rgb[:, 2])
    np.testing.assert_array_equal(red_green, [1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(blue_yellow, [0, 1, 0, 0, 0, 0])


@pytest.mark.parametrize(
    "colour", [(0, 0, 0), (255, 255, 255), (128, 128, 128), (255, 0, 0), (10, 200, 77)]
)
@pytest.mark.parametrize("shape", [(300, 200), (224, 224), (40, 90)])
def test_uniform_image_gives_a_flat_map(colour, shape):
    image = np.empty((*shape, 3), np.uint8)
    image[:] = colour
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        saliency = saliency_map(image)
    assert saliency.shape == shape
    np.testing.assert_array_equal(saliency, 0.0)


def _photo(name: str, size: int | None = None) -> np.ndarray:
    image = getattr(data, name)()[..., :3]
    if size is not None:
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image)


@pytest.mark.parametrize("name,size", [("chelsea", None), ("coffee", 224), ("astronaut", 97)])
def test_output_shape_range_and_dtype_on_photos(name, size):
    image = _photo(name, size)
    saliency = saliency_map(image)
    assert saliency.shape == image.shape[:2]
    assert saliency.dtype == np.float32
    assert saliency.min() >= 0.0 and saliency.max() <= 1.0
    assert saliency.max() > 0.5 and saliency.std() > 0.02  # a real map, not a flat one


def test_deterministic_and_independent_of_memory_layout():
    image = _photo("rocket", 256)
    first = saliency_map(image)
    np.testing.assert_array_equal(first, saliency_map(image.copy()))
    rgba = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
    np.testing.assert_array_equal(first, saliency_map(rgba[..., :3]))  # a strided view
    np.testing.assert_array_equal(first, saliency_map(Image.fromarray(image)))


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (5, 3), (16, 16), (17, 40), (70, 66)])
def test_tiny_images(shape):
    image = np.random.default_rng(sum(shape)).integers(0, 256, (*shape, 3), dtype=np.uint8)
    with np.errstate(all="raise"):
        saliency = saliency_map(image)
    assert saliency.shape == shape and np.isfinite(saliency).all()
    assert saliency.min() >= 0.0 and saliency.max() <= 1.0


def test_scales_vanish_only_below_the_grid_size():
    """A 64×64 image has no pyramid map with a full 16-pixel cell left, so every map weighs 0;
    a 64×200 one has cells along its long side at every level."""
    assert saliency_map(_photo("chelsea", 64)).max() == 0.0
    assert saliency_map(_photo("chelsea", 65)).max() > 0.5
    wide = cv2.resize(data.chelsea(), (200, 64), interpolation=cv2.INTER_AREA)
    assert saliency_map(wide).max() > 0.5  # one side above the limit: the scales keep a weight


@pytest.mark.parametrize(
    "image,fix",
    [
        (np.zeros((20, 20), np.uint8), "greyscale"),
        (np.zeros((20, 20, 4), np.uint8), "alpha"),
        (np.zeros((20, 20, 3), np.float32), "astype"),
        (np.zeros((20, 20, 3), np.int64), "uint8"),
        (np.zeros((0, 20, 3), np.uint8), "empty"),
        (Image.new("L", (20, 20)), 'convert\\("RGB"\\)'),
    ],
)
def test_bad_input_names_the_fix(image, fix):
    with pytest.raises(BrainAlignError, match=fix):
        saliency_map(image)


def _mean_local_maximum_loop(values: np.ndarray) -> float:
    """pySaliencyMap's rule as a plain loop; a side without a full cell is one whole-side cell."""
    step = itti_koch.GRID_STEP
    height, width = values.shape
    row_starts = list(range(0, height - step, step)) or [None]
    col_starts = list(range(0, width - step, step)) or [None]
    maxima = []
    for y in row_starts:
        for x in col_starts:
            rows = slice(None) if y is None else slice(y, y + step)
            cols = slice(None) if x is None else slice(x, x + step)
            maxima.append(float(values[rows, cols].max()))
    return sum(maxima) / len(maxima)


def test_mean_local_maximum_matches_a_loop():
    rng = np.random.default_rng(3)
    for height in (1, 5, 16, 17, 32, 33, 56, 70):
        for width in (1, 16, 17, 28, 49):
            values = rng.random((height, width), dtype=np.float32)
            assert itti_koch._mean_local_maximum(values) == pytest.approx(
                _mean_local_maximum_loop(values), rel=1e-12
            )


def test_planted_peak_keeps_its_weight_and_many_peaks_are_damped():
    single = np.zeros((64, 64), np.float32)
    single[20, 30] = 1.0
    many = np.zeros((64, 64), np.float32)
    many[8::16, 8::16] = 1.0
    # one peak among 9 cells: m̄ = 1/9, weight (8/9)²; a peak in every cell: m̄ = 1, weight 0
    assert itti_koch._normalise(single).max() == pytest.approx((8 / 9) ** 2)
    assert itti_koch._normalise(many).max() == 0.0


def test_grouped_upsampling_equals_upsampling_each_map():
    intensity = cv2.cvtColor(_photo("chelsea").astype(np.float32) / 255, cv2.COLOR_RGB2GRAY)
    feature_maps = itti_koch._centre_surround(itti_koch._gaussian_pyramid(intensity))
    size = intensity.shape[::-1]
    one_by_one = sum(
        cv2.resize(itti_koch._normalise(m), size, interpolation=cv2.INTER_LINEAR)
        for _, m in feature_maps
    )
    np.testing.assert_allclose(itti_koch._conspicuity(feature_maps, size), one_by_one, atol=1e-6)


def test_gabor_kernels_match_pysaliencymap_tables():
    """Spot values of pySaliencyMap's 0° table (its 90° table is the transpose) and symmetry."""
    k0, k45, k90, k135 = (k.astype(np.float64) for k in itti_koch._gabor_kernels())
    assert k0.shape == (9, 9) and k0[4, 4] == pytest.approx(1.0)
    np.testing.assert_allclose(k0[4, 5:7], [-0.067914552, -0.174308068], atol=1e-8)
    np.testing.assert_allclose(k0[5:7, 4], [0.678352526, 0.211749204], atol=1e-8)
    np.testing.assert_allclose(k0[3, 6], -0.118242318, atol=1e-8)
    np.testing.assert_allclose(k90, k0.T, atol=1e-12)
    np.testing.assert_allclose(k135, k45[:, ::-1], atol=1e-12)
    np.testing.assert_allclose(k45, k45[::-1, ::-1], atol=1e-12)  # even: correlation = convolution


def test_saliency_rdm_matches_scipy_on_resized_maps():
    images = [_photo("chelsea"), _photo("coffee", 224), _photo("astronaut", 300), _photo("rocket")]
    expected_maps = [
        cv2.resize(saliency_map(i), (224, 224), interpolation=cv2.INTER_AREA) for i in images
    ]
    expected = pdist(np.stack(expected_maps).reshape(len(images), -1).astype(np.float64), "cosine")
    np.testing.assert_allclose(saliency_rdm(images), expected, atol=1e-9)
    assert saliency_maps(images, size=32).shape == (4, 32, 32)
    assert saliency_change(images[0], images[3]) == pytest.approx(expected[2], abs=1e-9)


def test_saliency_change_grows_with_a_salient_paste():
    """A saturated blue disc against the left edge of a warm photo changes the map far more than
    smoothing the same region (which only removes a little local contrast)."""
    base = _photo("coffee", 224)
    assert saliency_change(base, base) == pytest.approx(0.0, abs=1e-7)
    y0, side = 150, 60  # about 7% of the image
    salient, smoothed = base.copy(), base.copy()
    cv2.circle(salient, (side // 2, y0 + side // 2), side // 2, (0, 0, 255), -1)
    smoothed[y0 : y0 + side, :side] = cv2.GaussianBlur(base, (0, 0), 3)[y0 : y0 + side, :side]
    assert saliency_change(base, salient) > 0.1
    assert saliency_change(base, salient) > 20 * saliency_change(base, smoothed)
    assert saliency_change(base, salient) == pytest.approx(
        saliency_change(salient, base), abs=1e-12
    )


def test_uniform_images_have_undefined_distances():
    flat = np.full((64, 64, 3), 90, np.uint8)
    with pytest.warns(RuntimeWarning, match="all-zero"):
        assert np.isnan(saliency_change(flat, _photo("chelsea", 64)))


def test_bad_rdm_arguments():
    with pytest.raises(BrainAlignError, match="no images"):
        saliency_maps([])
    with pytest.raises(BrainAlignError, match="size"):
        saliency_maps([_photo("chelsea", 64)], size=0)
