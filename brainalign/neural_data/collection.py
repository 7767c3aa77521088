"""What every loader returns: the stimuli, one target per target name (per-subject RDMs,
:class:`~brainalign.rsa.TargetRDMs`, or per-subject responses,
:class:`~brainalign.metrics.TargetResponses`), and what was skipped; and the rules every loader
applies to per-subject data, in one place (:func:`subject_target` for RDMs,
:func:`subject_responses` for responses), so spec files, the built-in data sets and plugins that
read their data with these loaders (or call these on data of their own) are held to the same rules:

* **Stimulus ids** are unique: a repeated id is an error naming the file and the id
  (:func:`check_unique_ids`).
* **Missing values** (:func:`complete_subjects`): a subject whose RDM lacks any dissimilarity
  (NaN or infinite), or whose responses hold any non-finite value, is left out of that target and
  reported with the number of values it lacks; the other subjects are kept whole. Scores, ceilings and intervals are then those of the complete
  subjects, and ``brainalign.rsa.compare`` never sees a missing value from the data. A target
  none of whose subjects is complete is left out and reported in one line.
* **Negative dissimilarities** are refused (an error naming the file, the subject and a pair),
  unless the target's distance is one that is negative by design (:data:`SIGNED_DISTANCES`, the
  cross-validated estimators): elsewhere a value below zero means the file holds something else
  (similarities, centred or z-scored values).
* **A single subject**: the target is scored (the layer is chosen on halves of the stimuli in
  place of halves of the subjects) with a warning, and has no noise ceiling (a ceiling compares
  subjects), so no normalised score. (The metrics beyond classical RSA, which choose the layer on
  halves of the subjects, refuse it.)
* **Responses** (:func:`responses_from_array`): ``(n_stimuli, n_units)`` or ``(repeats,
  n_stimuli, n_units)`` real numbers per subject, their stimulus axis as long as the stimulus list;
  the number of units may differ between subjects.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..errors import BrainAlignError
from ..metrics import TargetResponses
from ..rsa import RDMs, TargetRDMs
from ..stimuli import StimulusSet, repeats

log = logging.getLogger(__name__)

#: Dissimilarities that may be negative by design (cross-validated distance estimators, as in
#: rsatoolbox): a target declaring one of these may hold values below zero.
SIGNED_DISTANCES: tuple[str, ...] = ("crossnobis", "poisson_cv")
#: Rounding slack below zero (relative to the largest dissimilarity) that is not "negative": a
#: cosine or correlation distance computed in floating point can come out at -1e-16.
NEGATIVE_TOLERANCE = 1e-9

#: How a loader is told the stimulus order: a StimulusSet, a folder of images (ids = file stems in
#: natural order), a text file with one id per line, or the ids themselves.
StimuliSpec = StimulusSet | str | os.PathLike | Sequence[str]
#: One target of a data set: per-subject RDMs or per-subject responses.
Target = TargetRDMs | TargetResponses


class Skip(NamedTuple):
    """One thing a loader left out: a target (ROI, task) of one subject, or of every subject
    (``subject`` empty), and why. ``str()`` gives the line a person reads."""

    target: str
    subject: str
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.subject} {self.target}: {self.reason}"
            if self.subject
            else f"{self.target}: {self.reason}"
        )


class NeuralData(NamedTuple):
    """``stimuli`` (None where a loader was given ids without images), ``targets`` keyed by
    target name (an ROI, a task), each with RDMs or responses labelled by stimulus id, and
    ``skipped``: one :class:`Skip` per thing left out (an empty ROI, a subject), never silently
    filled in."""

    stimuli: StimulusSet | None
    targets: Mapping[str, Target]
    skipped: tuple[Skip, ...] = ()


def resolve_stimuli(stimuli: StimuliSpec) -> tuple[tuple[str, ...], StimulusSet | None]:
    """The ordered stimulus ids (and the StimulusSet, if images were given) of ``stimuli``."""
    if isinstance(stimuli, StimulusSet):
        return stimuli.ids, stimuli
    if isinstance(stimuli, (str, os.PathLike)):
        path = Path(stimuli).expanduser()
        if path.is_dir():
            found = StimulusSet.from_folder(path)
            return found.ids, found
        if path.is_file():
            return read_stimulus_list(path), None
        raise BrainAlignError(
            f"stimulus list {path} does not exist; pass a folder of images, a text file with one "
            "stimulus id per line, or the ids"
        )
    ids = tuple(str(s) for s in stimuli)
    if not ids:
        raise BrainAlignError("the stimulus list is empty")
    check_unique_ids(ids, "the stimulus list given")
    return ids, None


def read_stimulus_list(path: Path) -> tuple[str, ...]:
    """Stimulus ids from a text file: one per line; blank lines and ``#`` comments ignored."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise BrainAlignError(
            f"cannot read stimulus list {path} ({err}); give a UTF-8 text file"
        ) from None
    numbered = [
        (number, s) for number, line in enumerate(lines, 1) if (s := line.split("#", 1)[0].strip())
    ]
    if not numbered:
        raise BrainAlignError(f"stimulus list {path} holds no ids; write one stimulus id per line")
    repeated = repeats((stimulus, number) for number, stimulus in numbered)
    if repeated:
        stimulus, numbers = next(iter(repeated.items()))
        more = f" ({len(repeated) - 1} more id(s) repeated)" if len(repeated) > 1 else ""
        raise BrainAlignError(
            f"stimulus list {path} names stimulus {stimulus!r} more than once (lines "
            f"{', '.join(map(str, numbers))}){more}; each stimulus id must appear once, in the RDMs' row order"
        )
    return tuple(s for _, s in numbered)


def check_unique_ids(ids: Sequence[str], source: str) -> None:
    """A repeated stimulus id is an error naming ``source`` (the file or table that lists them)
    and the id: RDM rows are matched by id, so a repeated one could be either."""
    repeated = repeats((stimulus, position) for position, stimulus in enumerate(ids))
    if repeated:
        more = f" ({len(repeated) - 1} more id(s) repeated)" if len(repeated) > 1 else ""
        raise BrainAlignError(
            f"{source} names stimulus {next(iter(repeated))!r} more than once{more}; each stimulus id "
            "must appear once"
        )


def report_skip(skipped: list[Skip], target: str, subject: str, reason: str) -> None:
    """Record and log something a loader leaves out (``subject`` "" when every subject is)."""
    skip = Skip(target, subject, reason)
    log.warning("skipped: %s", skip)
    skipped.append(skip)


def subject_target(
    name: str,
    rdms: RDMs,
    skipped: list[Skip],
    *,
    source: str = "",
    kind: str = "fmri",
    method: str = "spearman",
    **metadata: Any,
) -> TargetRDMs | None:
    """Target ``name`` from per-subject ``rdms`` read from ``source``, with this module's rules
    applied: negative dissimilarities refused, subjects with missing values left out (recorded in
    ``skipped``; None when none is complete), a single subject warned about (no noise ceiling).
    ``metadata`` is kept with the target (e.g. ``dataset=``)."""
    check_dissimilarities(name, rdms, source)
    complete = complete_subjects(name, rdms, skipped, source=source)
    if complete is None:
        return None
    if len(complete) == 1:
        _warn_single(name, source, complete.names[0], len(rdms))
    return TargetRDMs.from_subjects(name, complete, kind=kind, method=method, **metadata)


def _warn_single(name: str, source: str, subject: str, given: int) -> None:
    where = f" ({source})" if source else ""
    log.warning(
        "%s%s has a single subject%s: it is scored with the layer chosen on halves of the "
        "stimuli, and it has no noise ceiling (a ceiling compares subjects), so no normalised "
        "score",
        name,
        where,
        "" if given == 1 else f" with complete values ({subject})",
    )


def responses_from_array(
    array: np.ndarray, stimulus_ids: Sequence[str], *, source: str
) -> np.ndarray:
    """One subject's responses ``(n_stimuli, n_units)`` or ``(repeats, n_stimuli, n_units)`` read
    from ``source``, checked against the stimulus list, as ``(repeats, n_stimuli, n_units)``
    float64 (non-finite values kept: :func:`subject_responses` leaves such a subject out)."""
    if array.ndim not in (2, 3) or 0 in array.shape:
        raise BrainAlignError(
            f"{source} holds an array of shape {array.shape}; expected responses (n_stimuli, n_units) "
            "or (repeats, n_stimuli, n_units), one row per stimulus"
        )
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise BrainAlignError(
            f"{source} holds {array.dtype} values; responses must be real numbers"
        )
    n = array.shape[-2]
    if n != len(stimulus_ids):
        raise BrainAlignError(
            f"{source} holds responses to {n} stimuli (shape {array.shape}) but the stimulus list has "
            f"{len(stimulus_ids)}; give the stimulus list these responses follow (one id per row, same "
            "order), or save the array as (n_stimuli, n_units) / (repeats, n_stimuli, n_units)"
        )
    trials = np.asarray(array, dtype=np.float64)
    return trials if trials.ndim == 3 else trials[None]


def subject_responses(
    name: str,
    responses: Sequence[tuple[str, np.ndarray]],
    stimulus_ids: Sequence[str],
    skipped: list[Skip],
    *,
    source: str = "",
    sources: Mapping[str, str] | None = None,
    kind: str = "fmri",
    **metadata: Any,
) -> TargetResponses | None:
    """Target ``name`` from per-subject ``(subject, trials)`` (:func:`responses_from_array`) read
    from ``source``, with this module's rules applied: ids unique, subjects with a non-finite value
    left out (recorded in ``skipped``; None when none is left), a single subject warned about.
    ``sources``: each subject's own file, where they differ; ``metadata`` is kept with the target."""
    check_unique_ids(stimulus_ids, source or f"the stimulus list of {name}")
    subjects = [str(s) for s, _ in responses]
    repeated = repeats((s, i) for i, s in enumerate(subjects))
    if repeated:
        raise BrainAlignError(
            f"{source or name}: subject {next(iter(repeated))!r} has several response arrays; "
            "give one per subject"
        )
    where = f" in {source}" if source else ""
    kept = []
    for subject, trials in responses:
        missing = int((~np.isfinite(trials)).sum())
        if missing:
            own = (sources or {}).get(str(subject))
            report_skip(
                skipped,
                name,
                str(subject),
                f"{missing} of {trials.size} response values missing (NaN or infinite)"
                f"{f' in {own}' if own else where}; "
                "a subject with missing values is left out (or drop those units first)",
            )
        else:
            kept.append((str(subject), trials))
    if not kept:
        report_skip(
            skipped,
            name,
            "",
            f"every subject's responses{where} have missing values (NaN or infinite), "
            "so no subject is left to score",
        )
        return None
    if len(kept) == 1:
        _warn_single(name, source, kept[0][0], len(responses))
    return TargetResponses(
        name,
        tuple(t for _, t in kept),
        tuple(s for s, _ in kept),
        tuple(str(i) for i in stimulus_ids),
        kind,
        dict(metadata),
    )


def check_dissimilarities(name: str, rdms: RDMs, source: str = "") -> None:
    """Refuse negative dissimilarities (beyond rounding) unless ``rdms.distance`` is one of
    :data:`SIGNED_DISTANCES`; the error names the source, the subject and a pair."""
    if rdms.distance in SIGNED_DISTANCES or rdms.data.size == 0:
        return
    with np.errstate(invalid="ignore"):
        finite = np.where(np.isfinite(rdms.data), rdms.data, 0.0)
    scale = max(float(np.abs(finite).max()), 1.0)
    negative = finite < -NEGATIVE_TOLERANCE * scale
    if not negative.any():
        return
    row = int(np.flatnonzero(negative.any(axis=1))[0])
    column = int(np.flatnonzero(negative[row])[0])
    where = f"{source}: " if source else ""
    raise BrainAlignError(
        f"{where}{name} of subject {rdms.names[row]} holds negative dissimilarities ({int(negative.sum())} "
        f"in all, e.g. {finite[row, column]:.4g} for {_pair(rdms.stimulus_ids, column)}); dissimilarities "
        "are distances (>= 0): give dissimilarities, not similarities or centred values, or declare a "
        f"distance that can be negative ({', '.join(SIGNED_DISTANCES)})"
    )


def complete_subjects(
    name: str, rdms: RDMs, skipped: list[Skip], *, source: str = ""
) -> RDMs | None:
    """The RDMs of the subjects that lack no dissimilarity (this module's rule for missing
    values); each subject left out of target ``name`` is recorded in ``skipped``. None (reported
    too) when no subject is complete."""
    missing = ~np.isfinite(rdms.data)
    counts = missing.sum(axis=1)
    where = f" in {source}" if source else ""
    for subject, count, row in zip(rdms.names, counts, missing):
        if count:
            first = int(np.flatnonzero(row)[0])
            report_skip(
                skipped,
                name,
                subject,
                f"{count} of {row.size} dissimilarities missing (NaN or infinite){where}, e.g. "
                f"{_pair(rdms.stimulus_ids, first)}; a subject with missing values is left out",
            )
    complete = [n for n, count in zip(rdms.names, counts) if not count]
    if not complete:
        report_skip(
            skipped,
            name,
            "",
            f"every subject's RDM{where} has missing values (NaN or infinite), "
            "so no subject is left to score",
        )
        return None
    return rdms if len(complete) == len(rdms.names) else rdms.select(complete)


def _pair(ids: Sequence[str], index: int) -> str:
    """The stimulus pair at position ``index`` of a condensed RDM over ``ids``."""
    rows, cols = np.triu_indices(len(ids), k=1)
    return f"{ids[rows[index]]}–{ids[cols[index]]}"
