"""Synthetic human data: a data folder that brainalign reads like the real one, for the tests
where the human data is not the point (a newcomer's clone has none)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

#: A built-in benchmark whose data set (algonauts2019_78) has no pinned checksums, so
#: :func:`algonauts78` can stand in for it.
SYNTHETIC_BENCHMARK = "algonauts2019.78images.IT"


def algonauts78(
    folder: Path,
    n_subjects: int = 6,
    seed: int = 0,
    damage: Callable[[dict[str, np.ndarray]], None] | None = None,
) -> Path:
    """A data folder holding a synthetic ``algonauts2019_78`` (whose checksums brainalign does
    not pin): 78 small images and per-subject RDMs of EVC and IT with a planted structure (each
    subject: the absolute value of the images' true dissimilarity plus noise). ``damage`` may edit the arrays first."""
    root = folder / "algonauts2019_78"
    (root / "stimuli").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    colours = rng.uniform(0, 255, size=(78, 3))
    for k, colour in enumerate(colours, 1):
        pixels = np.clip(colour + rng.normal(0, 20, size=(32, 32, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / "stimuli" / f"image_{k:02d}.jpg")
    truth = np.linalg.norm(colours[:, None] - colours[None], axis=-1)
    arrays = {}
    for roi in ("EVC", "IT"):
        noise = rng.normal(0, truth.std(), size=(n_subjects, 78, 78))
        subjects = np.abs(
            truth[None] + noise + np.swapaxes(noise, 1, 2)
        )  # dissimilarities are >= 0
        for s in subjects:
            np.fill_diagonal(s, 0.0)
        arrays[roi] = subjects
    if damage is not None:
        damage(arrays)
    for roi, subjects in arrays.items():
        np.savez(root / f"fmri_{roi}_RDMs.npz", arr_0=subjects)
    return folder


def score_args(
    model: object, results: object, data: object, benchmark: str = SYNTHETIC_BENCHMARK
) -> list[object]:
    """The arguments of ``brainalign -q score MODEL BENCHMARK --results RESULTS --data-dir DATA``:
    one model scored on one benchmark of a synthetic data folder (:func:`algonauts78`)."""
    return ["-q", "score", model, benchmark, "--results", results, "--data-dir", data]
