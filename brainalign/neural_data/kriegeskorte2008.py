"""Kriegeskorte et al. (2008) human IT and Mur et al. (2013) similarity judgements on the 92 objects.

From rsatoolbox's ``demos/92imageData``:

- ``hIT``: 4 subjects × 2 sessions of IT RDMs (1 − Pearson r). **The two sessions of a subject are
  averaged** into one RDM per subject: sessions are repeated measurements of the same brain, not
  independent subjects, and treating them as 8 subjects would shrink the between-subject variance
  that the noise ceiling and the bootstrap rely on. The ceiling and all scores use these 4 RDMs.
- ``judgements``: similarity judgements (multi-arrangement) of 16 subjects.

Stimuli are the images stored in the supplemental ``.mat`` (175×175 RGB on grey), with ids
``obj01``..``obj92`` shared with the Algonauts 2019 set, and the category labels stored there.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.io

from ..errors import BrainAlignError
from ..rsa import RDMs
from ..stimuli import StimulusSet
from . import objects92
from .collection import NeuralData, Skip, subject_target
from .locations import locate
from .rdm_files import rdms_from_array

DATASET = "kriegeskorte2008_92"
STIMULI_FILE = "Kriegeskorte_Neuron2008_supplementalData.mat"
BRAIN_FILE = "92_brainRDMs.mat"
BEHAVIOUR_FILE = "92_behavRDMs.mat"


def load_kriegeskorte2008(data_dir: str | os.PathLike[str] | None = None) -> NeuralData:
    """Targets ``hIT`` (4 subjects, sessions averaged) and ``judgements`` (16 subjects)."""
    return read_kriegeskorte2008_folder(locate(DATASET, data_dir).folder)


def read_kriegeskorte2008_folder(folder: str | os.PathLike[str]) -> NeuralData:
    root = Path(folder)
    stimuli = read_stimuli(root / STIMULI_FILE)
    ids = stimuli.ids
    skipped: list[Skip] = []
    made = {
        "hIT": subject_target(
            "hIT",
            average_sessions(read_hit_sessions(root / BRAIN_FILE, ids)),
            skipped,
            source=str(root / BRAIN_FILE),
            kind="fmri",
            dataset=DATASET,
            sessions_combined="mean of the 2 sessions per subject",
        ),
        "judgements": subject_target(
            "judgements",
            read_judgements(root / BEHAVIOUR_FILE, ids),
            skipped,
            source=str(root / BEHAVIOUR_FILE),
            kind="behaviour",
            dataset=DATASET,
        ),
    }
    targets = {name: target for name, target in made.items() if target is not None}
    return NeuralData(stimuli, targets, tuple(skipped))


def read_mat(path: Path, *names: str) -> dict[str, Any]:
    """Variables ``names`` of a MATLAB file, or an error naming the file and the fix."""
    if not path.is_file():
        raise BrainAlignError(f"data file {path} is missing; run `brainalign data fetch {DATASET}`")
    try:
        content = scipy.io.loadmat(path, variable_names=names)
    except (
        scipy.io.matlab.MatReadError,
        ValueError,
        OSError,
        EOFError,
        TypeError,
        IndexError,
        struct.error,
        zlib.error,
        NotImplementedError,
    ) as err:
        raise BrainAlignError(
            f"{path} is not a readable MATLAB file ({err.__class__.__name__}: {err}); it is "
            f"corrupt or truncated: delete it and run `brainalign data fetch {DATASET}`"
        ) from None
    absent = [n for n in names if n not in content]
    if absent:
        raise BrainAlignError(f"{path} lacks the variable(s) {absent}; is it the right file?")
    return content


def read_stimuli(path: Path) -> StimulusSet:
    """The 92 images and their category labels from ``stimuli_92objs``."""
    objects = read_mat(path, "stimuli_92objs")["stimuli_92objs"].ravel()
    ids = objects92.object_ids()
    if objects.size != len(ids):
        raise BrainAlignError(f"{path} holds {objects.size} stimuli, expected {len(ids)}")
    images, rows = [], []
    for entry in objects:
        images.append(np.ascontiguousarray(entry["image"], dtype=np.uint8))
        animate, face = _flag(entry, "animal"), _flag(entry, "face")
        rows.append(
            {
                "category": str(np.ravel(entry["category"])[0]),
                "animate": animate,
                "human": _flag(entry, "human"),
                "face": face,
                "body": animate and not face,
                "natural": _flag(entry, "natural"),
            }
        )
    metadata = pd.DataFrame(rows, index=pd.Index(ids, name="stimulus_id"))
    return StimulusSet.from_images(ids, images, metadata=metadata, name=DATASET)


def _flag(entry: Any, field: str) -> bool:
    return bool(np.ravel(entry[field])[0])


def read_hit_sessions(path: Path, ids: tuple[str, ...]) -> RDMs:
    """All 8 subject-session RDMs, named ``<subject>|session<k>``."""
    struct_array = read_mat(path, "RDMs")["RDMs"]
    if struct_array.ndim != 3 or struct_array.shape[0] != 1:
        raise BrainAlignError(
            f"{path}: RDMs has shape {struct_array.shape}, expected (1, subjects, sessions)"
        )
    _, n_subjects, n_sessions = struct_array.shape
    squares, names = [], []
    for s in range(n_subjects):
        for k in range(n_sessions):
            entry = struct_array[0, s, k]
            squares.append(np.asarray(entry["RDM"], dtype=np.float64))
            subject = str(np.ravel(entry["name"])[0]).split("|")[1].strip()
            names.append(f"{subject}|session{k + 1}")
    return rdms_from_array(
        np.stack(squares), ids, source=str(path), names=names, distance="correlation"
    )


def average_sessions(sessions: RDMs) -> RDMs:
    """One RDM per subject: the mean of that subject's session RDMs (names ``subject|sessionK``)."""
    subjects = list(dict.fromkeys(name.split("|")[0] for name in sessions.names))
    data = np.stack(
        [
            sessions.data[[i for i, n in enumerate(sessions.names) if n.split("|")[0] == s]].mean(
                axis=0
            )
            for s in subjects
        ]
    )
    return RDMs(data, tuple(subjects), sessions.stimulus_ids, sessions.distance)


def read_judgements(path: Path, ids: tuple[str, ...]) -> RDMs:
    entries = read_mat(path, "rdms_behav_92")["rdms_behav_92"].ravel()
    squares = [np.asarray(e["RDM"], dtype=np.float64) for e in entries]
    names = [str(np.ravel(e["name"])[0]).split("|")[-1].strip() for e in entries]
    return rdms_from_array(
        np.stack(squares), ids, source=str(path), names=names, distance="judgement"
    )
