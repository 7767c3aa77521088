"""Algonauts 2019 loaders: the published ceilings from the real data; the 78-image set from a
generated folder in its exact layout."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.spatial.distance import squareform
from scipy.stats import spearmanr

from brainalign.errors import BrainAlignError
from brainalign.neural_data import load_algonauts2019, read_algonauts2019_folder


def loo_ceiling_reference(squares: np.ndarray) -> tuple[float, float]:
    """Leave-one-subject-out Spearman ceiling by an explicit loop over subjects (scipy)."""
    vectors = np.array([squareform(s, checks=False) for s in squares])
    lower, upper = [], []
    for i, subject in enumerate(vectors):
        others = np.delete(vectors, i, axis=0).mean(axis=0)
        lower.append(spearmanr(subject, others).statistic)
        upper.append(spearmanr(subject, vectors.mean(axis=0)).statistic)
    return float(np.mean(lower)), float(np.mean(upper))


@pytest.mark.parametrize(("roi", "official"), [("EVC", 0.1589), ("IT", 0.3075)])
def test_official_algonauts_ceilings(shared_data: Path, roi: str, official: float) -> None:
    target = load_algonauts2019(92, shared_data).targets[roi]
    assert round(target.metadata["algonauts2019_noise_ceiling"], 4) == official


@pytest.mark.parametrize("roi", ["EVC", "IT"])
def test_leave_one_out_ceiling_matches_loop(shared_data: Path, roi: str) -> None:
    squares = np.load(shared_data / "algonauts2019_92" / f"fmri_{roi}_RDMs.npz")["Net_RDM"]
    target = load_algonauts2019(92, shared_data).targets[roi]
    lower, upper = loo_ceiling_reference(squares)
    assert target.ceiling.lower == pytest.approx(lower, abs=1e-12)
    assert target.ceiling.upper == pytest.approx(upper, abs=1e-12)
    assert len(target.subjects) == 15


def test_real_92_stimuli_are_ids_with_categories(shared_data: Path) -> None:
    data = load_algonauts2019(92, shared_data)
    assert data.stimuli.ids[0] == "obj01" and data.stimuli.ids[-1] == "obj92"
    assert data.stimuli.sources["obj05"].name == "image_05.jpg"
    assert data.stimuli.metadata.loc["obj13", "category"] == "human face"
    assert data.stimuli.load("obj01").getpixel((0, 0)) == (255, 255, 255)  # white background
    for target in data.targets.values():
        assert target.stimulus_ids == data.stimuli.ids


def _write_78_folder(root: Path, rdms: dict[str, np.ndarray]) -> Path:
    folder = root / "algonauts2019_78"
    (folder / "stimuli").mkdir(parents=True)
    rng = np.random.default_rng(1)
    for k in range(1, 79):
        pixels = rng.integers(0, 255, size=(8, 8, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / "stimuli" / f"image_{k:02d}.jpg")
    for roi, array in rdms.items():
        np.savez(folder / f"fmri_{roi}_RDMs.npz", array)  # positional: key arr_0, as released
    return folder


def _random_rdms(rng: np.random.Generator, subjects: int, n: int) -> np.ndarray:
    out = []
    for _ in range(subjects):
        x = rng.normal(size=(n, 5))
        square = 1 - np.corrcoef(x)
        out.append((square + square.T) / 2)
    out = np.array(out)
    for square in out:
        np.fill_diagonal(square, 0.0)
    return out


def test_78_image_folder_in_release_layout(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = {"EVC": _random_rdms(rng, 4, 78), "IT": _random_rdms(rng, 4, 78)}
    folder = _write_78_folder(tmp_path, arrays)
    data = read_algonauts2019_folder(folder, 78)
    assert data.stimuli.ids[:2] == ("test01", "test02") and len(data.stimuli) == 78
    for roi, squares in arrays.items():
        target = data.targets[roi]
        assert target.subjects == ("sub01", "sub02", "sub03", "sub04")
        np.testing.assert_array_equal(target.rdms.square(), squares)
        # image k ↔ row k−1: the pair (image 3, image 7) is entry [2, 6]
        assert target.rdms.reorder(["test03", "test07"]).data[1, 0] == squares[1, 2, 6]
        assert target.ceiling == pytest.approx(loo_ceiling_reference(squares))


def test_78_image_rdms_of_wrong_size_are_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    folder = _write_78_folder(
        tmp_path, {"EVC": _random_rdms(rng, 3, 77), "IT": _random_rdms(rng, 3, 78)}
    )
    with pytest.raises(
        BrainAlignError,
        match=r"fmri_EVC_RDMs\.npz holds RDMs of 77 stimuli but the stimulus list has 78",
    ):
        read_algonauts2019_folder(folder, 78)


def test_92_key_is_required_for_92_images(tmp_path: Path, shared_data: Path) -> None:
    folder = tmp_path / "algonauts2019_92"
    shutil.copytree(shared_data / "algonauts2019_92", folder)
    squares = np.load(folder / "fmri_IT_RDMs.npz")["Net_RDM"]
    np.savez(folder / "fmri_IT_RDMs.npz", squares)  # arr_0 instead of Net_RDM
    with pytest.raises(BrainAlignError, match=r"fmri_IT_RDMs\.npz has no array 'Net_RDM'"):
        read_algonauts2019_folder(folder, 92)


def test_corrupt_npz_names_the_file(tmp_path: Path, shared_data: Path) -> None:
    folder = tmp_path / "algonauts2019_92"
    shutil.copytree(shared_data / "algonauts2019_92", folder)
    path = folder / "fmri_EVC_RDMs.npz"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(BrainAlignError, match=rf"{path}.*(corrupt|truncated)"):
        read_algonauts2019_folder(folder, 92)
    with pytest.raises(
        BrainAlignError, match=r"fmri_EVC_RDMs\.npz has 5000 bytes, expected 1015948"
    ):
        load_algonauts2019(92, tmp_path)


def test_unknown_image_set() -> None:
    with pytest.raises(BrainAlignError, match="92 and 78"):
        load_algonauts2019(118)
