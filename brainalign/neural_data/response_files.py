"""Per-subject responses (voxel or neuron patterns) from NumPy files: one ``.npy`` (or ``.npz``
member) per subject, shaped ``(n_stimuli, n_units)`` or ``(repeats, n_stimuli, n_units)``, rows in
the stimulus order given. A subject is named after its file (``sub-01.npy`` → ``sub-01``). Arrays
are read without pickles, their headers checked first (:mod:`.arrays`), then held to the rules of
:func:`~.collection.subject_responses`; the result is a target of
:class:`~brainalign.metrics.TargetResponses`, which the encoding and CKA metrics score directly.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import BrainAlignError
from ..stimuli import natural_key
from .arrays import read_npy, read_npz
from .collection import (
    NeuralData,
    Skip,
    StimuliSpec,
    resolve_stimuli,
    responses_from_array,
    subject_responses,
)

#: The file types a subject's responses may come in.
RESPONSE_SUFFIXES: tuple[str, ...] = (".npy", ".npz")


def response_files(files: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The files ``files`` names, in natural order: a glob pattern (``"sub-*.npy"``), a folder
    (its ``.npy`` and ``.npz`` files), one file, or a list of files. No file is an error."""
    if isinstance(files, (str, os.PathLike)):
        given = Path(files).expanduser()
        if given.is_dir():
            found = [p for p in given.iterdir() if p.suffix in RESPONSE_SUFFIXES and p.is_file()]
        elif glob.has_magic(str(given)):
            found = [Path(p) for p in glob.glob(str(given)) if Path(p).is_file()]
        else:
            found = [given]
        where = str(given)
    else:
        found = [Path(f).expanduser() for f in files]
        where = "the list of response files"
    if not found:
        raise BrainAlignError(
            f"no response files match {where}; give one .npy or .npz file per subject "
            '(e.g. responses = "sub-*.npy")'
        )
    for path in found:
        if path.suffix not in RESPONSE_SUFFIXES:
            raise BrainAlignError(
                f"response file {path} is neither .npy nor .npz; save each subject's responses "
                "with np.save"
            )
        if not path.is_file():
            raise BrainAlignError(f"response file {path} does not exist")
    return sorted(found, key=lambda p: natural_key(p.name))


def load_responses(
    files: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    stimuli: StimuliSpec,
    *,
    name: str = "responses",
    key: str | None = None,
    kind: str = "fmri",
) -> NeuralData:
    """One target ``name`` of per-subject responses (module docstring). ``files``: see
    :func:`response_files`; ``stimuli``: the rows' stimulus order (a StimulusSet, a folder of
    images, a text file with one id per line, or the ids); ``key``: the array of each ``.npz``
    (default: its only one)."""
    paths = response_files(files)
    names = [p.stem for p in paths]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise BrainAlignError(
            f"two response files name subject {doubled[0]!r} (a subject is its file's name "
            "without suffix); keep one file per subject"
        )
    ids, stimulus_set = resolve_stimuli(stimuli)
    responses = [
        (
            path.stem,
            responses_from_array(
                read_npz(path, key) if path.suffix == ".npz" else read_npy(path),
                ids,
                source=str(path),
            ),
        )
        for path in paths
    ]
    skipped: list[Skip] = []
    source = str(paths[0].parent) if len(paths) > 1 else str(paths[0])
    target = subject_responses(
        name,
        responses,
        ids,
        skipped,
        source=source,
        sources={p.stem: str(p) for p in paths},
        kind=kind,
        files={p.stem: p.name for p in paths},
    )
    targets = {name: target} if target is not None else {}
    return NeuralData(stimulus_set, targets, tuple(skipped))
