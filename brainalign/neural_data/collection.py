"""What every loader returns: the stimuli, one TargetRDMs per target, and what was skipped.

**Missing values** follow one rule in every loader (:func:`complete_subjects`): a subject whose
RDM lacks any dissimilarity (NaN or infinite) is left out of that target and reported with the
number of pairs it lacks; the other subjects are kept whole. Scores, ceilings and intervals are
then those of the complete subjects, and ``brainalign.rsa.compare`` never sees a missing value
from the data. A target none of whose subjects is complete is left out and reported.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple, Union

import numpy as np

from ..errors import BrainAlignError
from ..rsa import RDMs, TargetRDMs
from ..stimuli import StimulusSet

log = logging.getLogger(__name__)

#: How a loader is told the stimulus order: a StimulusSet, a folder of images (ids = file stems in
#: natural order), a text file with one id per line, or the ids themselves.
StimuliSpec = Union[StimulusSet, str, os.PathLike, Sequence[str]]


class Skip(NamedTuple):
    """One thing a loader left out: a target (ROI, task) of one subject, or of every subject
    (``subject`` empty), and why. ``str()`` gives the line a person reads."""

    target: str
    subject: str
    reason: str

    def __str__(self) -> str:
        return f"{self.subject} {self.target}: {self.reason}" if self.subject else f"{self.target}: {self.reason}"


class NeuralData(NamedTuple):
    """``stimuli`` (None where a loader was given ids without images), ``targets`` keyed by
    target name (an ROI, a task), each with RDMs labelled by stimulus id, and ``skipped``: one
    :class:`Skip` per thing left out (an empty ROI, a subject), never silently filled in."""

    stimuli: StimulusSet | None
    targets: dict[str, TargetRDMs]
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
    return ids, None


def read_stimulus_list(path: Path) -> tuple[str, ...]:
    """Stimulus ids from a text file: one per line; blank lines and ``#`` comments ignored."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise BrainAlignError(f"cannot read stimulus list {path} ({err}); give a UTF-8 text file") from None
    ids = tuple(s for line in lines if (s := line.split("#", 1)[0].strip()))
    if not ids:
        raise BrainAlignError(f"stimulus list {path} holds no ids; write one stimulus id per line")
    return ids


def report_skip(skipped: list[Skip], target: str, subject: str, reason: str) -> None:
    """Record and log something a loader leaves out (``subject`` "" when every subject is)."""
    skip = Skip(target, subject, reason)
    log.warning("skipped: %s", skip)
    skipped.append(skip)


def complete_subjects(name: str, rdms: RDMs, skipped: list[Skip], *, source: str = "") -> RDMs | None:
    """The RDMs of the subjects that lack no dissimilarity (this module's rule for missing
    values); each subject left out of target ``name`` is recorded in ``skipped``. None (reported
    too) when no subject is complete."""
    missing = ~np.isfinite(rdms.data)
    counts = missing.sum(axis=1)
    where = f" in {source}" if source else ""
    for subject, count, row in zip(rdms.names, counts, missing):
        if count:
            first = int(np.flatnonzero(row)[0])
            report_skip(skipped, name, subject,
                        f"{count} of {row.size} dissimilarities missing (NaN or infinite){where}, e.g. "
                        f"{_pair(rdms.stimulus_ids, first)}; a subject with missing values is left out")
    complete = [n for n, count in zip(rdms.names, counts) if not count]
    if not complete:
        report_skip(skipped, name, "", f"every subject's RDM{where} has missing values")
        return None
    return rdms if len(complete) == len(rdms.names) else rdms.select(complete)


def _pair(ids: Sequence[str], index: int) -> str:
    """The stimulus pair at position ``index`` of a condensed RDM over ``ids``."""
    rows, cols = np.triu_indices(len(ids), k=1)
    return f"{ids[rows[index]]}–{ids[cols[index]]}"
