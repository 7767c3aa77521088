"""Fixtures for the model tests: a few small, varied images and cached untrained models."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from brainalign.models import LoadedModel, load_model
from brainalign.stimuli import StimulusSet

_PHOTOS = ("chelsea", "astronaut", "coffee", "rocket", "immunohistochemistry")


def photos(n: int = 5) -> StimulusSet:
    """Real photographs of different content and aspect ratios (scikit-image), plus noise."""
    images = [getattr(skimage.data, name)() for name in _PHOTOS]
    rng = np.random.default_rng(3)
    while len(images) < n:
        images.append(rng.integers(0, 256, size=(90, 120, 3), dtype=np.uint8))
    ids = [f"img{i}" for i in range(n)]
    return StimulusSet.from_images(ids, images[:n], name="photos")


@pytest.fixture(autouse=True)
def _fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each model test starts with an empty layer-RDM cache (and torch hub / HF caches of its own)."""
    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path / "brainalign-cache"))


@pytest.fixture(scope="session")
def stimuli() -> StimulusSet:
    return photos(5)


@pytest.fixture
def stimuli_dir(tmp_path: Path, stimuli: StimulusSet) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for stimulus_id in stimuli.ids:
        stimuli.load(stimulus_id).resize((96, 72)).save(folder / f"{stimulus_id}.png")
    return folder


@pytest.fixture(scope="session")
def cached_model() -> Callable[[str], LoadedModel]:
    """Load a mid-sized model once per session (the big ones are loaded where used)."""
    loaded: dict[str, LoadedModel] = {}

    def get(model_id: str) -> LoadedModel:
        if model_id not in loaded:
            loaded[model_id] = load_model(model_id)
        return loaded[model_id]

    return get
