"""Algonauts 2023 (Natural Scenes Dataset) ROI RDMs, as in Opiełka, Loke & Scholte (2024).

Layout under ``algonauts2023/`` (the challenge release, unchanged)::

    subjXX/training_split/training_fmri/{lh,rh}_training_fmri.npy   (images, vertices)
    subjXX/training_split/training_images/train-NNNN_nsd-IIIII.png   row NNNN−1 of the fMRI
    subjXX/roi_masks/{lh,rh}.<class>_challenge_space.npy             a label per vertex
    subjXX/roi_masks/mapping_<class>.npy                              {label: ROI name}, 0 = none

What is computed, per subject: the images shared by every chosen subject (872 for subjects 1–6
and 8, the study's choice), for every ROI of :data:`ROI_CLASSES` plus all vertices, a cosine RDM
of each hemisphere's vertex responses, averaged over the two hemispheres. An ROI with no vertex
in a hemisphere of a subject is skipped for that subject and reported (the study's code reused
the previous ROI's RDM there); an ROI no subject has is left out. Stimulus ids are ``nsd-IIIII``.

``mapping_<class>.npy`` files are pickled dicts; they are read with an unpickler that admits
only the numpy array machinery, so a tampered file cannot run code.
"""

from __future__ import annotations

import io
import os
import pickle
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.lib.format as npy_format
import pandas as pd

from ..errors import BrainAlignError
from ..progress import progress
from ..rsa import RDMs, TargetRDMs, rdm
from ..stimuli import StimulusSet
from .arrays import read_npy
from .collection import NeuralData, Skip, report_skip, subject_target
from .locations import locate

DATASET = "algonauts2023"
ROI_CLASSES: tuple[str, ...] = (
    "prf-visualrois",
    "floc-bodies",
    "floc-faces",
    "floc-places",
    "floc-words",
    "streams",
)
ALL_VERTICES = "all-vertices"
HEMISPHERES: tuple[str, ...] = ("lh", "rh")
#: The subjects of the study (subject 7 left out there).
STUDY_SUBJECTS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8)
#: The study's ROIs: every ROI of the challenge's six classes, in the challenge's order, and all
#: vertices (names as in the mapping files of the release).
STUDY_ROIS: tuple[str, ...] = (
    "V1v",
    "V1d",
    "V2v",
    "V2d",
    "V3v",
    "V3d",
    "hV4",
    "EBA",
    "FBA-1",
    "FBA-2",
    "mTL-bodies",
    "OFA",
    "FFA-1",
    "FFA-2",
    "mTL-faces",
    "aTL-faces",
    "OPA",
    "PPA",
    "RSC",
    "OWFA",
    "VWFA-1",
    "VWFA-2",
    "mfs-words",
    "mTL-words",
    "early",
    "midventral",
    "midlateral",
    "midparietal",
    "ventral",
    "lateral",
    "parietal",
    ALL_VERTICES,
)

_IMAGE_NAME = re.compile(r"^train-(\d+)_nsd-(\d+)\.png$")


@dataclass(frozen=True)
class RoiMask:
    """Where an ROI's vertices are in one subject: a boolean mask per hemisphere."""

    name: str
    roi_class: str
    masks: dict[str, np.ndarray]


def subject_folder(root: Path, subject: int) -> Path:
    return root / f"subj{subject:02d}"


def load_algonauts2023(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    subjects: Sequence[int] = STUDY_SUBJECTS,
    rois: Iterable[str] | None = None,
    distance: str = "cosine",
) -> NeuralData:
    """ROI targets from ``DATA_DIR/algonauts2023`` (see the module docstring)."""
    return read_algonauts2023_folder(
        locate(DATASET, data_dir).folder, subjects=subjects, rois=rois, distance=distance
    )


def read_algonauts2023_folder(
    folder: str | os.PathLike[str],
    *,
    subjects: Sequence[int] = STUDY_SUBJECTS,
    rois: Iterable[str] | None = None,
    distance: str = "cosine",
) -> NeuralData:
    root = Path(folder)
    if not subjects:
        raise BrainAlignError("choose at least one Algonauts 2023 subject")
    images = {s: training_images(subject_folder(root, s)) for s in subjects}
    shared = sorted(set.intersection(*(set(found) for found in images.values())))
    if not shared:
        raise BrainAlignError(
            f"subjects {list(subjects)} share no training image in {root}; choose other subjects"
        )
    ids = tuple(f"nsd-{nsd:05d}" for nsd in shared)
    first = images[subjects[0]]
    stimuli = StimulusSet.from_paths(
        [first[nsd][1] for nsd in shared],
        ids,
        metadata=pd.DataFrame({"nsd_id": shared}, index=pd.Index(ids, name="stimulus_id")),
        name=f"{DATASET}_shared{len(ids)}",
    )
    wanted = None if rois is None else list(dict.fromkeys(rois))
    skipped: list[Skip] = []
    per_roi: dict[str, list[tuple[str, np.ndarray]]] = {}
    seen: set[str] = set()
    for subject in progress(subjects, desc="Algonauts 2023 subjects"):
        folder_s = subject_folder(root, subject)
        rows = [images[subject][nsd][0] for nsd in shared]
        responses = {h: fmri_rows(folder_s, h, rows) for h in HEMISPHERES}
        masks = roi_masks(folder_s, {h: responses[h].shape[1] for h in HEMISPHERES})
        seen.update(m.name for m in masks)
        for mask in masks:
            if wanted is not None and mask.name not in wanted:
                continue
            counts = {h: int(mask.masks[h].sum()) for h in HEMISPHERES}
            empty = [h for h in HEMISPHERES if counts[h] == 0]
            if empty:
                report_skip(
                    skipped, mask.name, f"subj{subject:02d}", f"no vertices in {', '.join(empty)}"
                )
                continue
            patterns = {h: responses[h][:, mask.masks[h]] for h in HEMISPHERES}
            if not all(np.isfinite(p).all() for p in patterns.values()):
                report_skip(skipped, mask.name, f"subj{subject:02d}", "non-finite fMRI responses")
                continue
            subject_rdm = (rdm(patterns["lh"], distance) + rdm(patterns["rh"], distance)) / 2
            per_roi.setdefault(mask.name, []).append((f"subj{subject:02d}", subject_rdm))
    if wanted is not None:
        unknown = [r for r in wanted if r not in seen]
        if unknown:
            raise BrainAlignError(
                f"no ROI named {unknown} in the Algonauts 2023 masks; available: {sorted(seen)}"
            )
    targets: dict[str, TargetRDMs] = {}
    for name in wanted if wanted is not None else [m for m in _ordered(seen)]:
        entries = per_roi.get(name, [])
        if not entries:
            report_skip(skipped, name, "", "no subject has vertices in both hemispheres")
            continue
        target = subject_target(
            name,
            RDMs(np.stack([r for _, r in entries]), tuple(s for s, _ in entries), ids, distance),
            skipped,
            kind="fmri",
            dataset=DATASET,
            hemispheres="RDM per hemisphere, averaged",
        )
        if target is not None:
            targets[name] = target
    return NeuralData(stimuli, targets, tuple(skipped))


def _ordered(names: set[str]) -> list[str]:
    known = [r for r in STUDY_ROIS if r in names]
    return known + sorted(names - set(known))


def training_images(folder: Path) -> dict[int, tuple[int, Path]]:
    """``{nsd_id: (fMRI row, image path)}`` of a subject's training images."""
    directory = folder / "training_split" / "training_images"
    if not directory.is_dir():
        raise BrainAlignError(
            f"{directory} does not exist; is {folder.parent} the unpacked Algonauts 2023 data?"
        )
    found: dict[int, tuple[int, Path]] = {}
    for path in directory.iterdir():
        match = _IMAGE_NAME.match(path.name)
        if match:
            found[int(match.group(2))] = (int(match.group(1)) - 1, path)
    if not found:
        raise BrainAlignError(f"no train-NNNN_nsd-IIIII.png images in {directory}")
    return found


def fmri_rows(folder: Path, hemisphere: str, rows: list[int]) -> np.ndarray:
    """Rows ``rows`` of a hemisphere's training fMRI, read through a memory map."""
    path = folder / "training_split" / "training_fmri" / f"{hemisphere}_training_fmri.npy"
    if not path.is_file():
        raise BrainAlignError(f"fMRI file {path} is missing")
    data = read_npy(path, mmap=True)
    if data.ndim != 2:
        raise BrainAlignError(f"{path} has shape {data.shape}; expected (images, vertices)")
    if rows and max(rows) >= data.shape[0]:
        raise BrainAlignError(
            f"{path} has {data.shape[0]} rows but the image names need row {max(rows) + 1}; "
            "the images and the fMRI file do not belong together"
        )
    return np.asarray(data[rows])


def roi_masks(folder: Path, n_vertices: dict[str, int]) -> list[RoiMask]:
    """Every ROI of :data:`ROI_CLASSES` plus all vertices, as boolean masks per hemisphere."""
    directory = folder / "roi_masks"
    masks: list[RoiMask] = []
    for roi_class in ROI_CLASSES:
        mapping = read_mapping(directory / f"mapping_{roi_class}.npy")
        labels = {}
        for h in HEMISPHERES:
            path = directory / f"{h}.{roi_class}_challenge_space.npy"
            if not path.is_file():
                raise BrainAlignError(f"ROI mask {path} is missing")
            labels[h] = read_npy(path)
            if labels[h].shape != (n_vertices[h],):
                raise BrainAlignError(
                    f"ROI mask {path} has shape {labels[h].shape} but the {h} fMRI has "
                    f"{n_vertices[h]} vertices; the masks belong to another subject or space"
                )
        for label, name in sorted(mapping.items()):
            if label != 0:
                masks.append(RoiMask(name, roi_class, {h: labels[h] == label for h in HEMISPHERES}))
    masks.append(
        RoiMask(ALL_VERTICES, "all", {h: np.ones(n_vertices[h], bool) for h in HEMISPHERES})
    )
    return masks


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Admits the globals numpy needs to rebuild an object array, nothing else."""

    _ALLOWED = frozenset(
        {
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
        }
    )

    def find_class(self, module: str, name: str) -> object:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def read_mapping(path: Path) -> dict[int, str]:
    """``{label: ROI name}`` from a pickled-dict ``.npy`` mapping file, loaded safely."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BrainAlignError(f"ROI mapping {path} is missing") from None
    try:
        stream = io.BytesIO(raw)
        version = npy_format.read_magic(stream)
        _, _, dtype = (
            npy_format.read_array_header_1_0
            if version == (1, 0)
            else npy_format.read_array_header_2_0
        )(stream)
        if dtype != np.dtype(object):
            raise ValueError(f"dtype {dtype}, expected a pickled dict")
        value = _ArrayOnlyUnpickler(stream).load()
        mapping = value.item() if isinstance(value, np.ndarray) else value
        if not isinstance(mapping, dict):
            raise ValueError(f"holds a {type(mapping).__name__}, expected a dict")
        return {int(k): str(v) for k, v in mapping.items()}
    except (ValueError, TypeError, EOFError, pickle.UnpicklingError, AttributeError) as err:
        raise BrainAlignError(
            f"ROI mapping {path} is not a label→name dict as released by Algonauts 2023 ({err}); "
            "replace it with the original file"
        ) from None
