"""Generic loaders: NIfTI betas + mask/atlas + stimulus table; Net2Brain .npz folders; .npy with a
stimulus list; rsatoolbox HDF5. Each against a brute-force recomputation or the written values."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy.spatial.distance import pdist, squareform

from brainalign.errors import BrainAlignError
from brainalign.neural_data import load_nifti_betas, load_npy, load_npz_folder, load_rsatoolbox_hdf5
from brainalign.neural_data.collection import Skip

SHAPE = (5, 6, 4)
AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])
STIMULI = ["cat", "dog", "car", "tree", "cup", "face"]


@pytest.fixture
def betas(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray], np.ndarray]:
    """Two subjects' 3-D beta images, an atlas with labels 1, 2 and an absent 3, a CSV table."""
    rng = np.random.default_rng(0)
    atlas = np.zeros(SHAPE, dtype=np.int16)
    atlas[:2, :, :] = 1
    atlas[3:, :3, :] = 2
    nib.save(nib.Nifti1Image(atlas, AFFINE), tmp_path / "atlas.nii.gz")
    volumes: dict[str, np.ndarray] = {}
    rows = []
    for subject in ("s1", "s2"):
        volumes[subject] = rng.normal(size=(len(STIMULI), *SHAPE))
        for k, stimulus in enumerate(STIMULI):
            name = f"{subject}_{stimulus}.nii.gz"
            nib.save(
                nib.Nifti1Image(volumes[subject][k].astype(np.float32), AFFINE), tmp_path / name
            )
            rows.append(
                {
                    "subject": subject,
                    "stimulus_id": stimulus,
                    "beta": name,
                    "image": f"{stimulus}.png",
                }
            )
    for stimulus in STIMULI:
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / f"{stimulus}.png")
    pd.DataFrame(rows).sample(frac=1, random_state=1).to_csv(tmp_path / "betas.csv", index=False)
    return tmp_path, volumes, atlas


def test_atlas_rois_match_brute_force(betas) -> None:
    folder, volumes, atlas = betas
    data = load_nifti_betas(
        folder / "betas.csv",
        atlas=folder / "atlas.nii.gz",
        labels={1: "left", 2: "corner", 3: "nowhere"},
    )
    assert set(data.targets) == {"left", "corner"}
    assert sorted(data.skipped) == [
        Skip("nowhere", "s1", "the ROI has no voxels"),
        Skip("nowhere", "s2", "the ROI has no voxels"),
    ]
    assert str(data.skipped[0]) == "s1 nowhere: the ROI has no voxels"
    assert sorted(data.stimuli.ids) == sorted(STIMULI)
    for name, label in (("left", 1), ("corner", 2)):
        target = data.targets[name]
        assert target.subjects == ("s1", "s2")
        order = [STIMULI.index(s) for s in target.stimulus_ids]
        for i, subject in enumerate(("s1", "s2")):
            patterns = volumes[subject][order][:, atlas == label]
            expected = pdist(patterns.astype(np.float32).astype(np.float64), "correlation")
            np.testing.assert_allclose(target.rdms.data[i], expected, rtol=1e-6, atol=1e-9)


def test_mask_gives_one_roi_and_4d_volumes_work(betas, tmp_path: Path) -> None:
    folder, volumes, atlas = betas
    nib.save(nib.Nifti1Image((atlas == 2).astype(np.uint8), AFFINE), folder / "roi.nii.gz")
    stack = np.moveaxis(volumes["s1"], 0, -1).astype(np.float32)  # (x, y, z, stimuli)
    nib.save(nib.Nifti1Image(stack, AFFINE), folder / "all.nii.gz")
    table = pd.DataFrame(
        {
            "subject": "s1",
            "stimulus_id": STIMULI,
            "beta": str(folder / "all.nii.gz"),
            "volume": range(len(STIMULI)),
        }
    )
    data = load_nifti_betas(table, mask=folder / "roi.nii.gz", distance="euclidean")
    assert list(data.targets) == ["roi"] and data.stimuli is None
    expected = pdist(
        volumes["s1"][:, atlas == 2].astype(np.float32).astype(np.float64), "euclidean"
    )
    np.testing.assert_allclose(data.targets["roi"].rdms.data[0], expected, rtol=1e-6)
    assert data.targets["roi"].ceiling is None  # one subject: no ceiling


def test_per_subject_masks_give_one_target(betas) -> None:
    folder, volumes, atlas = betas
    masks = {"s1": atlas == 1, "s2": atlas == 2}  # each subject's own ROI, in files of other names
    for subject, mask in masks.items():
        nib.save(nib.Nifti1Image(mask.astype(np.uint8), AFFINE), folder / f"{subject}_roi.nii.gz")
    files = {subject: folder / f"{subject}_roi.nii.gz" for subject in masks}
    data = load_nifti_betas(folder / "betas.csv", mask=files)
    assert list(data.targets) == ["mask"]
    target = data.targets["mask"]
    assert target.subjects == ("s1", "s2")
    order = [STIMULI.index(s) for s in target.stimulus_ids]
    for i, (subject, mask) in enumerate(masks.items()):
        expected = pdist(
            volumes[subject][order][:, mask].astype(np.float32).astype(np.float64), "correlation"
        )
        np.testing.assert_allclose(target.rdms.data[i], expected, rtol=1e-6, atol=1e-9)
    assert list(load_nifti_betas(folder / "betas.csv", mask=files, name="face-area").targets) == [
        "face-area"
    ]
    with pytest.raises(BrainAlignError, match="labels="):
        load_nifti_betas(folder / "betas.csv", atlas=folder / "atlas.nii.gz", name="x")


def test_betas_on_other_grids_or_a_flat_mask_name_subject_and_file(betas) -> None:
    folder, volumes, _ = betas
    nib.save(nib.Nifti1Image(np.ones(SHAPE[:2], np.uint8), AFFINE), folder / "flat.nii.gz")
    with pytest.raises(
        BrainAlignError, match=r"subject 's1', ROI flat of .*flat\.nii\.gz: cannot read"
    ):
        load_nifti_betas(folder / "betas.csv", mask=folder / "flat.nii.gz")
    shifted = np.diag([3.0, 2.0, 2.0, 1.0])
    nib.save(
        nib.Nifti1Image(volumes["s2"][1].astype(np.float32), shifted), folder / "s2_dog.nii.gz"
    )
    with pytest.raises(
        BrainAlignError, match=r"subject 's2': beta image s2_dog\.nii\.gz lies on another grid"
    ):
        load_nifti_betas(folder / "betas.csv", atlas=folder / "atlas.nii.gz")


def test_bad_tables_are_clear_errors(betas) -> None:
    folder, _, _ = betas
    table = pd.read_csv(folder / "betas.csv")
    with pytest.raises(BrainAlignError, match="exactly one of mask"):
        load_nifti_betas(table)
    with pytest.raises(BrainAlignError, match=r"lacks column\(s\) \['beta'\]"):
        load_nifti_betas(table.drop(columns="beta"), atlas=folder / "atlas.nii.gz")
    uneven = table[~((table.subject == "s2") & (table.stimulus_id == "cup"))]
    with pytest.raises(
        BrainAlignError, match=r"subject 's2' has no beta image for stimuli \['cup'\]"
    ):
        load_nifti_betas(
            uneven.assign(beta=[str(folder / b) for b in uneven.beta]),
            atlas=folder / "atlas.nii.gz",
        )
    (folder / "s1_cat.nii.gz").write_bytes(b"not a nifti")
    with pytest.raises(BrainAlignError, match=r"cannot read beta image of cat .*s1_cat\.nii\.gz"):
        load_nifti_betas(folder / "betas.csv", atlas=folder / "atlas.nii.gz")


# --- RDM files --------------------------------------------------------------------------------------
def _squares(rng: np.random.Generator, subjects: int, n: int) -> np.ndarray:
    return np.array([squareform(pdist(rng.normal(size=(n, 4)))) for _ in range(subjects)])


def test_net2brain_folder(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    brain, stimuli = tmp_path / "brain_data", tmp_path / "stimuli_data"
    brain.mkdir(), stimuli.mkdir()
    for k in (1, 2, 10, 11, 3):  # natural order: image_1, 2, 3, 10, 11
        Image.fromarray(np.zeros((3, 3, 3), np.uint8)).save(stimuli / f"image_{k}.jpg")
    arrays = {"V1": _squares(rng, 3, 5), "IT": _squares(rng, 3, 5)}
    np.savez(brain / "fmri_V1_RDMs.npz", Net_RDM=arrays["V1"])
    np.savez(brain / "fmri_IT_RDMs.npz", arrays["IT"])
    data = load_npz_folder(brain, stimuli)
    assert data.stimuli.ids == ("image_1", "image_2", "image_3", "image_10", "image_11")
    for roi, squares in arrays.items():
        np.testing.assert_array_equal(data.targets[roi].rdms.square(), squares)
        assert data.targets[roi].stimulus_ids == data.stimuli.ids


def test_npy_with_stimulus_list(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    squares = _squares(rng, 2, 4)
    np.save(tmp_path / "behaviour.npy", squares)
    (tmp_path / "ids.txt").write_text("# stimulus order\nb\na\n\nd\nc  # last\n")
    data = load_npy(tmp_path / "behaviour.npy", tmp_path / "ids.txt", kind="behaviour")
    target = data.targets["behaviour"]
    assert target.stimulus_ids == ("b", "a", "d", "c") and target.kind == "behaviour"
    reordered = target.rdms.reorder(["a", "b", "c", "d"])
    np.testing.assert_array_equal(reordered.square()[0], squares[0][[1, 0, 3, 2]][:, [1, 0, 3, 2]])


def test_stimulus_list_not_matching_rdm_size(tmp_path: Path) -> None:
    np.save(tmp_path / "r.npy", _squares(np.random.default_rng(0), 1, 5)[0])
    with pytest.raises(
        BrainAlignError, match=r"r\.npy holds RDMs of 5 stimuli but the stimulus list has 4"
    ):
        load_npy(tmp_path / "r.npy", ["a", "b", "c", "d"])


def test_not_an_rdm(tmp_path: Path) -> None:
    square = _squares(np.random.default_rng(0), 1, 4)[0]
    square[0, 1] += 1.0
    np.save(tmp_path / "asym.npy", square)
    with pytest.raises(BrainAlignError, match="not symmetric"):
        load_npy(tmp_path / "asym.npy", list("abcd"))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(BrainAlignError, match=r"objects\.npy is not a readable \.npy file"):
        load_npy(tmp_path / "objects.npy", list("abcd"))


def test_corrupt_npz_in_folder(tmp_path: Path) -> None:
    (tmp_path / "fmri_V1_RDMs.npz").write_bytes(b"PK\x03\x04 broken zip")
    with pytest.raises(BrainAlignError, match=r"fmri_V1_RDMs\.npz is not a readable \.npz"):
        load_npz_folder(tmp_path, list("abcd"))


def test_rsatoolbox_hdf5_round_trip(tmp_path: Path) -> None:
    from rsatoolbox.rdm import RDMs as ToolboxRDMs

    rng = np.random.default_rng(5)
    vectors = rng.random(size=(4, 10))  # 4 RDMs over 5 stimuli
    toolbox = ToolboxRDMs(
        dissimilarities=vectors,
        dissimilarity_measure="correlation",
        rdm_descriptors={"roi": ["V1", "V1", "IT", "IT"], "subject": ["a", "b", "a", "b"]},
        pattern_descriptors={"stimulus_id": ["s1", "s2", "s3", "s4", "s5"]},
    )
    toolbox.save(str(tmp_path / "rdms.hdf5"), file_type="hdf5")
    data = load_rsatoolbox_hdf5(tmp_path / "rdms.hdf5")
    assert set(data.targets) == {"V1", "IT"}
    np.testing.assert_array_equal(data.targets["V1"].rdms.data, vectors[:2])
    np.testing.assert_array_equal(data.targets["IT"].rdms.data, vectors[2:])
    assert data.targets["IT"].subjects == ("a", "b")
    assert data.targets["IT"].stimulus_ids == ("s1", "s2", "s3", "s4", "s5")
    assert data.targets["IT"].rdms.distance == "correlation"
    with pytest.raises(BrainAlignError, match="do not match"):
        load_rsatoolbox_hdf5(tmp_path / "rdms.hdf5", stimuli=["x1", "x2", "x3", "x4", "x5"])
    (tmp_path / "broken.hdf5").write_bytes(b"\x89HDF\r\n")
    with pytest.raises(BrainAlignError, match=r"broken\.hdf5 is not an rsatoolbox HDF5"):
        load_rsatoolbox_hdf5(tmp_path / "broken.hdf5")


def test_nifti_betas_as_responses_are_the_voxel_patterns(betas) -> None:
    """``responses=True``: each subject's voxels inside the ROI, rows by stimulus id, in place of
    their RDM (the RDM of those responses is the RDM the default gives)."""
    from brainalign.metrics import TargetResponses

    folder, volumes, atlas = betas
    table = folder / "betas.csv"
    data = load_nifti_betas(
        table, atlas=folder / "atlas.nii.gz", labels={1: "left"}, responses=True
    )
    target = data.targets["left"]
    assert isinstance(target, TargetResponses) and target.subjects == ("s1", "s2")
    order = [STIMULI.index(s) for s in target.stimulus_ids]
    for i, subject in enumerate(("s1", "s2")):
        expected = volumes[subject][order][:, atlas == 1].astype(np.float32).astype(np.float64)
        np.testing.assert_allclose(target.trials[i][0], expected, rtol=1e-6)
    assert target.repeats == {"s1": 1, "s2": 1} and target.units["s1"] == int((atlas == 1).sum())
    rdms = load_nifti_betas(table, atlas=folder / "atlas.nii.gz", labels={1: "left"})
    np.testing.assert_allclose(
        target.as_rdms("correlation").rdms.data, rdms.targets["left"].rdms.data, atol=1e-9
    )
