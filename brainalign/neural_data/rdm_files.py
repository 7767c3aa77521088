"""RDMs someone else computed: ``.npz`` (one per ROI, Net2Brain style), ``.npy`` + stimulus list,
and rsatoolbox HDF5. Rows and columns follow the stimulus order given; everything is checked
(array headers against the file's size, square, symmetric, zero diagonal, size matching the
stimulus list, then the rules of :func:`~.collection.subject_target`) before it becomes a number.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import BrainAlignError
from ..rsa import RDMs, TargetRDMs, condense
from ..stimuli import natural_key
from .arrays import read_npy, read_npz
from .collection import (
    NeuralData,
    Skip,
    StimuliSpec,
    check_unique_ids,
    resolve_stimuli,
    subject_target,
)

#: Net2Brain names ROI files ``fmri_<ROI>_RDMs.npz``; the ROI is what lies between.
_NET2BRAIN_NAME = re.compile(r"^(?:fmri_|meg_|eeg_)?(?P<roi>.+?)(?:_RDMs?)?$", re.IGNORECASE)


def subject_names(n: int, prefix: str = "sub") -> tuple[str, ...]:
    width = max(2, len(str(n)))
    return tuple(f"{prefix}{i + 1:0{width}d}" for i in range(n))


def rdms_from_array(
    array: np.ndarray,
    stimulus_ids: Sequence[str],
    *,
    source: str,
    names: Sequence[str] | None = None,
    distance: str = "unknown",
) -> RDMs:
    """Square RDM(s) ``(n, n)`` or ``(subjects, n, n)`` → :class:`RDMs`, checked against the ids."""
    if array.ndim not in (2, 3) or array.shape[-1] != array.shape[-2]:
        raise BrainAlignError(
            f"{source} holds an array of shape {array.shape}; expected square RDMs (n, n) or "
            "(subjects, n, n)"
        )
    n = array.shape[-1]
    if n != len(stimulus_ids):
        raise BrainAlignError(
            f"{source} holds RDMs of {n} stimuli but the stimulus list has {len(stimulus_ids)}; "
            "give the stimulus list these RDMs were computed on (same order)"
        )
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise BrainAlignError(f"{source} holds {array.dtype} values; RDMs must be real numbers")
    stack = array if array.ndim == 3 else array[None]
    if names is None:
        names = subject_names(stack.shape[0])
    if len(names) != stack.shape[0]:
        raise BrainAlignError(f"{source}: {stack.shape[0]} RDMs but {len(names)} names")
    return RDMs(
        condense(stack, atol=1e-6, name=source), tuple(names), tuple(stimulus_ids), distance
    )


def read_npz_array(path: Path, key: str | None = None) -> np.ndarray:
    """The array ``key`` (or the only array) of an ``.npz``, loaded without pickles, its header
    checked before anything is allocated (:mod:`.arrays`)."""
    return read_npz(path, key)


def read_npy_array(path: Path) -> np.ndarray:
    """A ``.npy`` array, without pickles, its header checked first (:mod:`.arrays`)."""
    return read_npy(path)


def roi_name(path: Path) -> str:
    """The ROI a Net2Brain-style file describes: ``fmri_EVC_RDMs.npz`` → ``EVC``."""
    match = _NET2BRAIN_NAME.match(path.stem)
    return match.group("roi") if match else path.stem


def load_npz_folder(
    folder: str | os.PathLike[str],
    stimuli: StimuliSpec,
    *,
    key: str | None = None,
    distance: str = "unknown",
    kind: str = "fmri",
    method: str = "spearman",
) -> NeuralData:
    """A Net2Brain-style folder: one ``.npz`` per ROI holding ``(subjects, n, n)`` RDMs.

    ``stimuli`` gives the order of rows (Net2Brain: the image files in sorted order). Each ROI
    becomes a target named after its file (``fmri_IT_RDMs.npz`` → ``IT``).
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise BrainAlignError(f"RDM folder {root} does not exist")
    files = sorted(root.glob("*.npz"), key=lambda p: natural_key(p.name))
    if not files:
        raise BrainAlignError(f"no .npz RDM files in {root}; expected one file per ROI")
    ids, stimulus_set = resolve_stimuli(stimuli)
    targets: dict[str, TargetRDMs] = {}
    skipped: list[Skip] = []
    seen: set[str] = set()
    for path in files:
        name = roi_name(path)
        if name in seen:
            raise BrainAlignError(f"two files in {root} describe ROI {name!r}; keep one")
        seen.add(name)
        target = subject_target(
            name,
            rdms_from_array(read_npz_array(path, key), ids, source=str(path), distance=distance),
            skipped,
            source=str(path),
            kind=kind,
            method=method,
            file=path.name,
        )
        if target is not None:
            targets[name] = target
    return NeuralData(stimulus_set, targets, tuple(skipped))


def load_npy(
    path: str | os.PathLike[str],
    stimuli: StimuliSpec,
    *,
    name: str | None = None,
    distance: str = "unknown",
    kind: str = "fmri",
    method: str = "spearman",
) -> NeuralData:
    """One ``.npy`` of square RDMs ``(n, n)`` or ``(subjects, n, n)`` plus the stimulus order."""
    file = Path(path).expanduser()
    ids, stimulus_set = resolve_stimuli(stimuli)
    target = name or file.stem
    skipped: list[Skip] = []
    made = subject_target(
        target,
        rdms_from_array(read_npy_array(file), ids, source=str(file), distance=distance),
        skipped,
        source=str(file),
        kind=kind,
        method=method,
    )
    targets = {target: made} if made is not None else {}
    return NeuralData(stimulus_set, targets, tuple(skipped))


#: Pattern descriptors that may hold the stimulus ids in an rsatoolbox file, in order of preference.
STIMULUS_DESCRIPTORS: tuple[str, ...] = ("stimulus_id", "stimulus", "image", "conds", "index")


def load_rsatoolbox_hdf5(
    path: str | os.PathLike[str],
    *,
    stimuli: StimuliSpec | None = None,
    roi_descriptor: str = "roi",
    subject_descriptor: str = "subject",
    kind: str = "fmri",
    method: str = "spearman",
) -> NeuralData:
    """RDMs saved by ``rsatoolbox.rdm.RDMs.save(..., file_type="hdf5")``.

    RDMs are grouped into targets by the rdm descriptor ``roi_descriptor`` (one target named
    after the file when it is absent) and named by ``subject_descriptor``. Stimulus ids come from
    the first pattern descriptor of :data:`STIMULUS_DESCRIPTORS` present; ``stimuli``, if given,
    must list the same ids (it then also supplies the images).
    """
    from rsatoolbox.rdm import load_rdm

    file = Path(path).expanduser()
    if not file.is_file():
        raise BrainAlignError(f"RDM file {file} does not exist")
    try:
        loaded = load_rdm(str(file), file_type="hdf5")
    except Exception as err:  # h5py raises OSError, KeyError, TypeError… on foreign or broken files
        raise BrainAlignError(
            f"{file} is not an rsatoolbox HDF5 RDM file ({err.__class__.__name__}: {err}); "
            "save RDMs with rsatoolbox's RDMs.save(path, file_type='hdf5')"
        ) from None
    descriptor = next((d for d in STIMULUS_DESCRIPTORS if d in loaded.pattern_descriptors), None)
    file_ids = tuple(str(s) for s in loaded.pattern_descriptors[descriptor]) if descriptor else None
    if file_ids is not None:
        check_unique_ids(file_ids, f"{file} (pattern descriptor {descriptor!r})")
    stimulus_set = None
    if stimuli is not None:
        ids, stimulus_set = resolve_stimuli(stimuli)
        if file_ids is not None and sorted(ids) != sorted(file_ids):
            raise BrainAlignError(
                f"the stimuli given do not match the {len(file_ids)} stimulus ids stored in {file} "
                f"(pattern descriptor {descriptor!r})"
            )
        file_ids = file_ids or ids
    if file_ids is None:
        raise BrainAlignError(
            f"{file} stores no stimulus ids (pattern descriptors {list(loaded.pattern_descriptors)});"
            " pass stimuli= with the ids in the RDMs' order"
        )
    if len(file_ids) != loaded.n_cond:
        raise BrainAlignError(
            f"{file} holds RDMs of {loaded.n_cond} stimuli but {len(file_ids)} stimulus ids"
        )
    vectors = np.asarray(loaded.get_vectors(), dtype=np.float64)
    n = vectors.shape[0]
    rois = loaded.rdm_descriptors.get(roi_descriptor)
    subjects = loaded.rdm_descriptors.get(subject_descriptor)
    rois = [str(r) for r in rois] if rois is not None else [file.stem] * n
    subjects = [str(s) for s in subjects] if subjects is not None else list(subject_names(n))
    distance = loaded.dissimilarity_measure or "unknown"
    targets: dict[str, TargetRDMs] = {}
    skipped: list[Skip] = []
    for roi in dict.fromkeys(rois):
        rows = [i for i, r in enumerate(rois) if r == roi]
        names = [subjects[i] for i in rows]
        if len(set(names)) != len(names):
            raise BrainAlignError(
                f"{file}: ROI {roi!r} has several RDMs for subject(s) "
                f"{sorted({s for s in names if names.count(s) > 1})}; set subject_descriptor"
            )
        rdms = RDMs(vectors[rows], tuple(names), file_ids, distance)
        if stimulus_set is not None:
            rdms = rdms.reorder(stimulus_set.ids)
        target = subject_target(roi, rdms, skipped, source=str(file), kind=kind, method=method)
        if target is not None:
            targets[roi] = target
    return NeuralData(stimulus_set, targets, tuple(skipped))
