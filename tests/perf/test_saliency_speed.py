"""Saliency-map speed per 224×224 image, against the straightforward port of pySaliencyMap's
structure on the same images: the local-maximum grid walked cell by cell with ``cv2.minMaxLoc``
and every feature map upsampled on its own (brainalign takes all cell maxima in one reduction and
upsamples the summed maps of each centre level once). Both give the same maps (checked ≤ 1e-6).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from brainalign.probe import itti_koch, saliency_map

GROUP = "saliency map 224×224, 8 photos"
PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
    "colorwheel",
)


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    return [
        cv2.resize(
            np.ascontiguousarray(getattr(data, name)()[..., :3]),
            (224, 224),
            interpolation=cv2.INTER_AREA,
        )
        for name in PHOTOS
    ]


def _cell_by_cell_mean_maximum(values: np.ndarray) -> float:
    step = itti_koch.GRID_STEP
    height, width = values.shape
    maxima = [
        cv2.minMaxLoc(values[y : y + step, x : x + step])[1]
        for y in range(0, height - step, step)
        for x in range(0, width - step, step)
    ]
    return sum(maxima) / len(maxima) if maxima else float(values.max())


def _map_by_map_conspicuity(feature_maps, size):
    total = np.zeros((size[1], size[0]), np.float32)
    for _, feature_map in feature_maps:
        total += cv2.resize(itti_koch._normalise(feature_map), size, interpolation=cv2.INTER_LINEAR)
    return total


@pytest.fixture(scope="module")
def ours(images) -> list[np.ndarray]:
    return [saliency_map(image) for image in images]


def test_brainalign(benchmark, images, ours, perf_record) -> None:
    benchmark.group = GROUP
    maps = benchmark(lambda: [saliency_map(image) for image in images])
    for mine, expected in zip(maps, ours):
        np.testing.assert_array_equal(mine, expected)
    seconds = benchmark.stats.stats.mean
    benchmark.extra_info["ms_per_image"] = 1e3 * seconds / len(images)
    perf_record(GROUP, "brainalign", seconds, f"{1e3 * seconds / len(images):.2f} ms per image")


def test_pysaliencymap_structure(benchmark, images, ours, perf_record, monkeypatch) -> None:
    benchmark.group = GROUP
    monkeypatch.setattr(itti_koch, "_mean_local_maximum", _cell_by_cell_mean_maximum)
    monkeypatch.setattr(itti_koch, "_conspicuity", _map_by_map_conspicuity)
    maps = benchmark(lambda: [saliency_map(image) for image in images])
    for theirs, expected in zip(maps, ours):
        np.testing.assert_allclose(theirs, expected, atol=1e-6)
    perf_record(
        GROUP, "pySaliencyMap structure (cell loop, per-map resize)", benchmark.stats.stats.mean
    )
