"""ROI RDMs from fMRI beta images (NIfTI), a mask or an atlas, and a stimulus table.

The table (CSV or DataFrame) has one row per subject × stimulus:

=========== ================================================================================
subject     subject name
stimulus_id the stimulus this beta image belongs to
beta        path to a NIfTI image (relative paths: relative to the table's folder)
volume      optional: index into ``beta`` when it is 4-D
image       optional: path to the stimulus image (then a StimulusSet is returned)
=========== ================================================================================

Voxels are read with nilearn's ``NiftiMasker`` (which resamples the betas to the mask's grid).
With ``mask``, one ROI (named by ``name``); with ``atlas``, one ROI per non-zero label (named by
``labels``). Every beta image of a subject must lie on one grid (shape and affine). Per
subject and ROI, the RDM of the voxel patterns uses ``distance`` (default correlation, as in
most fMRI RSA); with ``responses=True`` the voxel patterns themselves are the target
(:class:`~brainalign.metrics.TargetResponses`, one repeat: what the encoding and CKA metrics score).
An ROI without voxels is reported and skipped, never given a number.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import BrainAlignError
from ..rsa import RDMs, rdm
from ..stimuli import StimulusSet
from .collection import (
    NeuralData,
    Skip,
    Target,
    report_skip,
    responses_from_array,
    subject_responses,
    subject_target,
)

ImageSpec = str | os.PathLike | Any  # a path or a nibabel image
REQUIRED_COLUMNS: tuple[str, ...] = ("subject", "stimulus_id", "beta")


def load_nifti_betas(
    table: str | os.PathLike[str] | pd.DataFrame,
    *,
    mask: ImageSpec | Mapping[str, ImageSpec] | None = None,
    atlas: ImageSpec | Mapping[str, ImageSpec] | None = None,
    labels: Mapping[int, str] | None = None,
    name: str | None = None,
    distance: str = "correlation",
    kind: str = "fmri",
    method: str = "spearman",
    responses: bool = False,
) -> NeuralData:
    """Targets (one per ROI) with one RDM per subject (``responses``: the voxel patterns per
    subject); see the module docstring.

    ``mask`` / ``atlas``: one image for every subject, or ``{subject: image}``. ``name``: the
    mask's target name (default: the mask file's name; ``"mask"`` for per-subject masks or images).
    """
    if (mask is None) == (atlas is None):
        raise BrainAlignError("give exactly one of mask= (one ROI) or atlas= (one ROI per label)")
    if name is not None and atlas is not None:
        raise BrainAlignError("name= names the ROI of mask=; name an atlas's ROIs with labels=")
    mask_name = name or _mask_name(mask)
    frame, base = _read_table(table)
    subjects = list(dict.fromkeys(frame["subject"]))
    ids = _common_stimuli(frame, subjects)
    stimuli = _stimulus_set(frame, ids, base)
    skipped: list[Skip] = []
    per_roi: dict[str, list[tuple[str, np.ndarray]]] = {}
    for subject in subjects:
        rows = frame[frame["subject"] == subject].set_index("stimulus_id").loc[list(ids)]
        betas = _concat_betas(rows, base, subject)
        roi_spec = _for_subject(mask if mask is not None else atlas, subject)
        rois = _roi_images(roi_spec, atlas is not None, labels, base, mask_name)
        for roi, roi_img in rois.items():
            patterns = _masked(
                betas, roi_img, f"subject {subject!r}, ROI {roi} of {_describe(roi_spec)}"
            )
            if patterns is None:
                report_skip(skipped, roi, subject, "the ROI has no voxels")
                continue
            if not np.isfinite(patterns).all():
                report_skip(skipped, roi, subject, "non-finite beta values in the ROI")
                continue
            made = patterns if responses else rdm(patterns, distance)
            per_roi.setdefault(roi, []).append((str(subject), made))
    targets: dict[str, Target] = {}
    for roi, entries in per_roi.items():
        if responses:
            found = subject_responses(
                roi,
                [
                    (s, responses_from_array(p, ids, source=f"subject {s}, ROI {roi}"))
                    for s, p in entries
                ],
                ids,
                skipped,
                kind=kind,
            )
            if found is not None:
                targets[roi] = found
            continue
        target = subject_target(
            roi,
            RDMs(np.stack([r for _, r in entries]), tuple(s for s, _ in entries), ids, distance),
            skipped,
            kind=kind,
            method=method,
        )
        if target is not None:
            targets[roi] = target
    return NeuralData(stimuli, targets, tuple(skipped))


def _read_table(table: str | os.PathLike[str] | pd.DataFrame) -> tuple[pd.DataFrame, Path]:
    where = "the stimulus table"
    if isinstance(table, pd.DataFrame):
        frame, base = table.copy(), Path.cwd()
    else:
        path = Path(table).expanduser()
        try:
            frame = pd.read_csv(path, dtype={"subject": str, "stimulus_id": str})
        except FileNotFoundError:
            raise BrainAlignError(f"stimulus table {path} does not exist") from None
        except (ValueError, pd.errors.ParserError) as err:
            raise BrainAlignError(f"stimulus table {path} is not a readable CSV ({err})") from None
        base, where = path.parent, f"stimulus table {path}"
    absent = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if absent:
        raise BrainAlignError(
            f"the stimulus table lacks column(s) {absent}; it needs {', '.join(REQUIRED_COLUMNS)} "
            "(and optionally volume, image)"
        )
    frame["subject"] = frame["subject"].astype(str)
    frame["stimulus_id"] = frame["stimulus_id"].astype(str)
    duplicated = frame.duplicated(["subject", "stimulus_id"])
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        raise BrainAlignError(
            f"{where} lists stimulus {first['stimulus_id']!r} twice for subject "
            f"{first['subject']!r}; give one beta image per subject and stimulus"
        )
    return frame, base


def _common_stimuli(frame: pd.DataFrame, subjects: list[str]) -> tuple[str, ...]:
    order = list(dict.fromkeys(frame["stimulus_id"]))
    for subject in subjects:
        have = set(frame.loc[frame["subject"] == subject, "stimulus_id"])
        if have != set(order):
            missing = sorted(set(order) - have)[:3]
            raise BrainAlignError(
                f"subject {subject!r} has no beta image for stimuli {missing}; every subject "
                "needs one per stimulus"
            )
    if len(order) < 3:
        raise BrainAlignError(f"an RDM needs at least 3 stimuli, the table has {len(order)}")
    return tuple(order)


def _stimulus_set(frame: pd.DataFrame, ids: tuple[str, ...], base: Path) -> StimulusSet | None:
    if "image" not in frame.columns:
        return None
    first = frame.drop_duplicates("stimulus_id").set_index("stimulus_id")["image"]
    return StimulusSet.from_paths(
        [_resolve(first[i], base) for i in ids], ids, name="nifti_stimuli"
    )


def _resolve(path: Any, base: Path) -> Path:
    candidate = Path(str(path)).expanduser()
    return candidate if candidate.is_absolute() else base / candidate


def _for_subject(spec: Any, subject: str) -> Any:
    if isinstance(spec, Mapping):
        if subject not in spec:
            raise BrainAlignError(f"no mask/atlas given for subject {subject!r}")
        return spec[subject]
    return spec


def _mask_name(mask: Any) -> str:
    return Path(str(mask)).name.split(".")[0] if isinstance(mask, (str, os.PathLike)) else "mask"


def _describe(spec: Any) -> str:
    return str(spec) if isinstance(spec, (str, os.PathLike)) else "the given image"


def _load(image: ImageSpec, base: Path, what: str) -> Any:
    from nilearn.image import load_img

    source = _resolve(image, base) if isinstance(image, (str, os.PathLike)) else image
    try:
        return load_img(source)
    except Exception as err:  # nibabel raises ImageFileError, OSError, EOFError, ValueError…
        raise BrainAlignError(
            f"cannot read {what} {source} ({err.__class__.__name__}: {err}); give a NIfTI image"
        ) from None


def _concat_betas(rows: pd.DataFrame, base: Path, subject: str) -> Any:
    from nilearn.image import concat_imgs, index_img

    volumes = []
    for stimulus_id, row in rows.iterrows():
        image = _load(row["beta"], base, f"beta image of {stimulus_id}")
        if "volume" in rows.columns and pd.notna(row["volume"]):
            image = index_img(image, int(row["volume"]))
        elif image.ndim == 4 and image.shape[3] == 1:
            image = index_img(image, 0)
        elif image.ndim != 3:
            raise BrainAlignError(
                f"beta image {row['beta']} of {stimulus_id} is {image.ndim}-D; add a volume column"
            )
        volumes.append(image)
    try:
        return concat_imgs(volumes)
    except ValueError as err:  # nilearn: "Field of view of image #k is different …"
        first = volumes[0]
        odd = next(
            (
                row
                for row, image in zip(rows["beta"], volumes)
                if image.shape[:3] != first.shape[:3] or not np.allclose(image.affine, first.affine)
            ),
            None,
        )
        what = (
            f"beta image {odd} lies on another grid (shape or affine) than {rows['beta'].iloc[0]}"
            if odd is not None
            else f"its beta images do not stack ({str(err).splitlines()[0]})"
        )
        raise BrainAlignError(
            f"subject {subject!r}: {what}; resample every beta image of a subject to one grid "
            "(e.g. nilearn.image.resample_to_img)"
        ) from None


def _roi_images(
    spec: ImageSpec, is_atlas: bool, labels: Mapping[int, str] | None, base: Path, mask_name: str
) -> dict[str, Any]:
    from nilearn.image import new_img_like

    image = _load(spec, base, "atlas" if is_atlas else "mask")
    data = np.asarray(image.get_fdata())
    if not is_atlas:
        return {mask_name: new_img_like(image, (data != 0).astype(np.int8))}
    values = (
        labels.keys() if labels is not None else sorted(int(v) for v in np.unique(data) if v != 0)
    )
    names = dict(labels) if labels is not None else {v: f"label{v}" for v in values}
    return {names[v]: new_img_like(image, (data == v).astype(np.int8)) for v in values if v != 0}


def _masked(betas: Any, roi_img: Any, where: str) -> np.ndarray | None:
    """``(stimuli, voxels)`` of ``betas`` inside ``roi_img``; None when the ROI has no voxel."""
    from nilearn.maskers import NiftiMasker

    if not np.asarray(roi_img.dataobj).any():
        return None
    try:
        return NiftiMasker(mask_img=roi_img, standardize=None).fit_transform(betas)
    except (ValueError, TypeError) as err:  # nilearn's DimensionError is a TypeError
        raise BrainAlignError(
            f"{where}: cannot read the beta values inside the mask ({str(err).splitlines()[0]}); "
            "give a 3-D mask or atlas in the betas' space"
        ) from None
