"""The examples' stand-in for a lab's data: coloured discs, and how made-up people judge them.

Real data comes from your lab; this makes a small data set whose answer is known, so that the
examples run anywhere, offline, in seconds. Each disc has a hue and a size. Each subject judges
two discs as dissimilar as their hues (around the colour circle) and sizes differ, plus noise of
their own; an "fMRI" target sees the same discs through size more than hue.
"""

from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy.spatial.distance import pdist, squareform

SPEC = '''\
id = "toylab.{target}"
title = "Toy lab: {target} of {n} coloured discs"
description = "How well a model's layers match the {target} of {subjects} people seeing {n} coloured discs."
citation = """@misc{{toylab2026, title = {{Disc judgements}}, author = {{{{Toy Lab}}}}, year = {{2026}}}}"""
stimuli = "images"

[target]
name = "{target}"
kind = "{kind}"
format = "npy"
rdms = "{target}.npy"
stimulus_list = "stimuli.txt"
distance = "{distance}"
'''


def draw_discs(folder: Path, n: int = 24) -> np.ndarray:
    """Draw ``n`` discs of different hues and sizes into ``folder`` (``disc00.png`` …); return
    each disc's features: its hue as a point on the colour circle, and its size."""
    folder.mkdir(parents=True, exist_ok=True)
    features = []
    for i in range(n):
        hue, radius = i / n, 14 + 10 * (i % 3)
        colour = tuple(int(255 * c) for c in colorsys.hsv_to_rgb(hue, 0.8, 0.9))
        image = Image.new("RGB", (96, 96), (128, 128, 128))
        ImageDraw.Draw(image).ellipse(
            [48 - radius, 48 - radius, 48 + radius, 48 + radius], fill=colour
        )
        image.save(folder / f"disc{i:02d}.png")
        features.append([np.cos(2 * np.pi * hue), np.sin(2 * np.pi * hue), radius / 10])
    return np.array(features)


def judgements(
    features: np.ndarray,
    subjects: int = 6,
    noise: float = 0.8,
    seed: int = 0,
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> np.ndarray:
    """``(subjects, n, n)`` dissimilarities: the Euclidean distance of the weighted features, plus
    symmetric noise of each subject's own (kept non-negative, zero on the diagonal)."""
    rng = np.random.default_rng(seed)
    truth = squareform(pdist(features * np.asarray(weights)))
    rdms = []
    for _ in range(subjects):
        noisy = rng.normal(0.0, noise, truth.shape)
        rdm = np.clip(truth + (noisy + noisy.T) / 2, 0.0, None)
        np.fill_diagonal(rdm, 0.0)
        rdms.append(rdm)
    return np.stack(rdms)


def write_benchmark(
    folder: Path,
    *,
    n: int = 24,
    subjects: int = 6,
    seed: int = 0,
    target: str = "judgements",
    kind: str = "behaviour",
    distance: str = "judgement",
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> Path:
    """Write a complete benchmark folder (images, RDMs, stimulus list and the spec file) and
    return the spec file's path."""
    folder = Path(folder)
    features = draw_discs(folder / "images", n)
    np.save(folder / f"{target}.npy", judgements(features, subjects, seed=seed, weights=weights))
    (folder / "stimuli.txt").write_text(
        "".join(f"disc{i:02d}\n" for i in range(n)), encoding="utf-8"
    )
    spec = folder / "benchmark.toml"
    spec.write_text(
        SPEC.format(n=n, subjects=subjects, target=target, kind=kind, distance=distance),
        encoding="utf-8",
    )
    return spec
