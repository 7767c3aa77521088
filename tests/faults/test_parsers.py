"""Every parser names the file it failed on, whatever the damage: empty or cut in half."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from fault_helpers import algonauts78

from brainalign.errors import BrainAlignError
from brainalign.models.layer_rdm_files import read_layer_rdms
from brainalign.models.weights import read_state_dict
from brainalign.neural_data import (
    load_nifti_betas,
    load_npy,
    load_npz_folder,
    load_rsatoolbox_hdf5,
    read_algonauts2019_folder,
    read_kriegeskorte2008_folder,
)
from brainalign.neural_data.collection import read_stimulus_list
from brainalign.probe.pools import FolderPool
from brainalign.results import Result
from brainalign.stimuli import StimulusSet

Case = Callable[[Path], tuple[Path, Callable[[], object]]]


def _algonauts(folder: Path):
    data = algonauts78(folder / "data", n_subjects=3)
    root = data / "algonauts2019_78"
    return root / "fmri_EVC_RDMs.npz", lambda: read_algonauts2019_folder(root, 78)


def _npy(folder: Path):
    np.save(folder / "rdms.npy", np.zeros((2, 3, 3)))
    return folder / "rdms.npy", lambda: load_npy(folder / "rdms.npy", ["a", "b", "c"])


def _npz_folder(folder: Path):
    (folder / "rois").mkdir()
    np.savez(folder / "rois" / "fmri_V1_RDMs.npz", np.zeros((2, 3, 3)))
    return folder / "rois" / "fmri_V1_RDMs.npz", lambda: load_npz_folder(
        folder / "rois", ["a", "b", "c"]
    )


def _hdf5(folder: Path):
    from rsatoolbox.rdm import RDMs

    RDMs(
        np.random.default_rng(0).uniform(size=(2, 3)),
        pattern_descriptors={"stimulus_id": ["a", "b", "c"]},
    ).save(str(folder / "rdms.h5"), file_type="hdf5")
    return folder / "rdms.h5", lambda: load_rsatoolbox_hdf5(folder / "rdms.h5")


def _nifti(folder: Path):
    import nibabel

    affine = np.eye(4)
    nibabel.save(nibabel.Nifti1Image(np.ones((4, 4, 4), np.uint8), affine), folder / "mask.nii.gz")
    for k in range(3):
        nibabel.save(
            nibabel.Nifti1Image(np.random.default_rng(k).normal(size=(4, 4, 4)), affine),
            folder / f"beta{k}.nii.gz",
        )
    pd.DataFrame(
        {
            "subject": ["s1"] * 3,
            "stimulus_id": list("abc"),
            "beta": [f"beta{k}.nii.gz" for k in range(3)],
        }
    ).to_csv(folder / "betas.csv", index=False)
    return folder / "beta1.nii.gz", lambda: load_nifti_betas(
        folder / "betas.csv", mask=folder / "mask.nii.gz"
    )


def _captions(folder: Path):
    (folder / "images").mkdir()
    shutil.copy(
        Path(__file__).with_name("fault_models.py"), folder / "images" / "x.png"
    )  # never read
    pd.DataFrame({"image": ["x.png"], "caption": ["a thing"]}).to_csv(
        folder / "captions.csv", index=False
    )
    return folder / "captions.csv", lambda: FolderPool(folder / "images", folder / "captions.csv")


def _image(folder: Path):
    from PIL import Image

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "a.png")
    Image.fromarray(np.ones((8, 8, 3), np.uint8)).save(folder / "b.png")
    return folder / "a.png", lambda: StimulusSet.from_folder(folder).load("a")


def _stimulus_list(folder: Path):
    (folder / "ids.txt").write_text("a\nb\nc\n")
    return folder / "ids.txt", lambda: read_stimulus_list(folder / "ids.txt")


def _weights(suffix: str):
    def case(folder: Path):
        path = folder / f"weights{suffix}"
        state = torch.nn.Linear(3, 2).state_dict()
        if suffix == ".safetensors":
            from safetensors.torch import save_file

            save_file(state, path)
        else:
            torch.save(state, path)
        return path, lambda: read_state_dict(path)

    return case


def _layer_rdms(folder: Path):
    import torchvision.transforms as T

    from brainalign.models import extract_layer_rdms, from_module
    from brainalign.models.layer_rdm_files import save_layer_rdms

    stimuli = StimulusSet.from_images(
        list("abc"), [np.full((8, 8, 3), k * 60, np.uint8) for k in range(3)]
    )
    model = from_module(
        torch.nn.Sequential(torch.nn.Flatten()), T.ToTensor(), layers="all", model_id="m"
    )
    save_layer_rdms(
        folder / "rdms.npz",
        extract_layer_rdms(model, stimuli, cache=False, distance="euclidean"),
        model.provenance(),
    )
    return folder / "rdms.npz", lambda: read_layer_rdms(folder / "rdms.npz")


def _result(folder: Path):
    from synthetic_results import make_result  # the results tests' own synthetic result

    json_path = make_result("efficientnet_lite0", "kriegeskorte2008.hIT@1").write(
        folder / "result.json"
    )
    return json_path, lambda: Result.read(json_path)


CASES: dict[str, Case] = {
    "algonauts2019 .npz": _algonauts,
    ".npy RDMs": _npy,
    ".npz RDM folder": _npz_folder,
    "rsatoolbox .h5": _hdf5,
    "NIfTI beta": _nifti,
    "captions .csv": _captions,
    "stimulus image": _image,
    "stimulus list": _stimulus_list,
    "weights .pth": _weights(".pth"),
    "weights .safetensors": _weights(".safetensors"),
    "layer RDMs .npz": _layer_rdms,
    "result .json": _result,
}


#: Half a list of ids is a shorter list, not a damaged one: it is caught where it meets the RDMs.
DAMAGES = [
    (case, damage)
    for case in sorted(CASES)
    for damage in ("empty", "half")
    if (case, damage) != ("stimulus list", "half")
]


@pytest.mark.parametrize(("case", "damage"), DAMAGES)
def test_a_damaged_file_is_named(tmp_path, case, damage) -> None:
    path, read = CASES[case](tmp_path)
    read()  # intact, it reads
    data = path.read_bytes()
    path.write_bytes(b"" if damage == "empty" else data[: len(data) // 2])
    with pytest.raises(BrainAlignError) as error:
        read()
    assert str(path) in str(error.value) or path.name in str(error.value), str(error.value)


@pytest.mark.parametrize("damage", ["empty", "half"])
@pytest.mark.parametrize(
    "name", ["Kriegeskorte_Neuron2008_supplementalData.mat", "92_brainRDMs.mat", "92_behavRDMs.mat"]
)
def test_a_damaged_matlab_file_is_named(data_copy, name, damage) -> None:
    folder = data_copy / "kriegeskorte2008_92"
    path = folder / name
    data = path.read_bytes()
    path.write_bytes(b"" if damage == "empty" else data[: len(data) // 2])
    with pytest.raises(BrainAlignError, match=f"{path} is not a readable MATLAB file"):
        read_kriegeskorte2008_folder(folder)
