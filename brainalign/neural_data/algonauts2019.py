"""Algonauts 2019 fMRI RDMs (Cichy et al. 2014 / 2019): EVC and IT, one RDM per subject.

Folder layout (``algonauts2019_92/`` or ``algonauts2019_78/``)::

    fmri_EVC_RDMs.npz   (subjects, n, n), key ``Net_RDM`` (92 images) or ``arr_0`` (78 images)
    fmri_IT_RDMs.npz
    stimuli/image_01.jpg … image_NN.jpg   image k is row and column k−1

Each target also records the challenge's own noise ceiling (mean squared Spearman ρ with the
group mean RDM), the normaliser of the published scores: 0.1589 (EVC) and 0.3075 (IT) for the
92 images. The data's README calls that correlation Pearson, but Pearson gives 0.1695 and 0.3207;
Spearman reproduces the published values, so Spearman it is.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import BrainAlignError
from ..rsa import TargetRDMs, algonauts2019_noise_ceiling
from ..stimuli import StimulusSet
from . import objects92
from .collection import NeuralData, Skip, subject_target
from .locations import locate
from .rdm_files import rdms_from_array, read_npz_array

ROIS: tuple[str, ...] = ("EVC", "IT")
#: The array key inside the .npz files of each image set.
ARRAY_KEYS: dict[int, str] = {92: "Net_RDM", 78: "arr_0"}


def dataset_name(images: int) -> str:
    if images not in ARRAY_KEYS:
        raise BrainAlignError(f"Algonauts 2019 has image sets of 92 and 78 images, not {images}")
    return f"algonauts2019_{images}"


def stimulus_ids(images: int) -> tuple[str, ...]:
    """``obj01``..``obj92`` (the Kiani objects) or ``test01``..``test78`` (the test images)."""
    return objects92.object_ids() if images == 92 else tuple(f"test{k:02d}" for k in range(1, 79))


def load_algonauts2019(
    images: int = 92, data_dir: str | os.PathLike[str] | None = None
) -> NeuralData:
    """The verified data set from the data folder or cache (see ``brainalign data fetch``)."""
    folder = locate(dataset_name(images), data_dir).folder
    return read_algonauts2019_folder(folder, images)


def read_algonauts2019_folder(folder: str | os.PathLike[str], images: int = 92) -> NeuralData:
    """Parse a folder in the layout above (no checksum checks: :func:`load_algonauts2019` does those)."""
    root = Path(folder)
    name = dataset_name(images)
    ids = stimulus_ids(images)
    paths = [root / "stimuli" / f"image_{k:02d}.jpg" for k in range(1, images + 1)]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise BrainAlignError(
            f"{len(missing)} stimulus images of {name} are missing (e.g. {missing[0]}); "
            f"run `brainalign data fetch {name}`"
        )
    metadata = objects92.categories() if images == 92 else None
    if metadata is not None:
        metadata = metadata.assign(file=[p.name for p in paths])
    stimuli = StimulusSet.from_paths(paths, ids, metadata=metadata, name=name)
    targets: dict[str, TargetRDMs] = {}
    skipped: list[Skip] = []
    for roi in ROIS:
        path = root / f"fmri_{roi}_RDMs.npz"
        array = read_npz_array(path, ARRAY_KEYS[images])
        rdms = rdms_from_array(array, ids, source=str(path), distance="correlation")
        target = subject_target(
            roi, rdms, skipped, source=str(path), kind="fmri", method="spearman", dataset=name
        )
        if target is None:
            continue
        if len(target.rdms) > 1:
            target.metadata["algonauts2019_noise_ceiling"] = algonauts2019_noise_ceiling(
                target.rdms.data
            )
        targets[roi] = target
    return NeuralData(stimuli, targets, tuple(skipped))
