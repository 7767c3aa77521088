"""Targets as the feature metrics see them: per-subject response patterns, measured (voxels,
neurons) or recovered from an RDM.

An RDM ``D`` enters a feature metric through the patterns it implies. Classical multidimensional
scaling (Torgerson 1952) turns squared Euclidean distances into the Gram matrix of the centred
patterns, ``−½ H D⁽²⁾ H`` (``H = I − 11ᵀ/n``); its eigenvectors scaled by the square roots of its
eigenvalues are the patterns' coordinates, up to rotation and translation (:func:`embedding`).
This is **exact** when the RDM is a Euclidean distance of some patterns, which holds for

* ``sqeuclidean``: ``D`` itself is ``D⁽²⁾``;
* ``euclidean``: ``D⁽²⁾ = D ∘ D``;
* ``correlation`` (``1 − r``): ``1 − r_ij = ‖z_i − z_j‖² / (2p)`` for patterns ``z`` z-scored
  across their ``p`` units (population standard deviation), so ``D⁽²⁾ = D`` up to the factor
  ``2p``;
* ``cosine``: ``1 − cos_ij = ‖u_i − u_j‖² / 2`` for unit-length patterns ``u``.

Every metric here is invariant to a common scale of the patterns, to their rotation and to their
translation, so on such an RDM it gives exactly the number it would give on the patterns
themselves (z-scored per stimulus for a correlation RDM, unit-length for a cosine one). Any other
dissimilarity (similarity judgements, ``unknown``) is treated as a Euclidean distance, the
classical-MDS convention; where it is not one, ``−½ H D⁽²⁾ H`` has negative eigenvalues, which
are dropped (the Gram matrix of the best Euclidean embedding), and :func:`embedding` reports the
share of the spectrum they held.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import BrainAlignError
from ..rsa.comparison import as_rdm_stack
from ..rsa.dissimilarity import as_array, rdm, to_square
from ..rsa.rdms import RDMs, TargetRDMs
from .folds import match_ids
from .kernels import double_centre

#: How a subject's patterns are defined, for the metrics' definitions.
PATTERNS_DEFINITION = (
    "responses averaged over repeats, or an RDM's classical-MDS coordinates (of the RDM for "
    "squared-Euclidean, correlation and cosine distances, else of its square; exact for Euclidean "
    "RDMs, negative eigenvalues dropped)"
)

#: RDM distances that are (proportional to) squared Euclidean distances of some patterns.
SQUARED_EUCLIDEAN: tuple[str, ...] = ("sqeuclidean", "correlation", "cosine")


def squared_distances(rdm: Any, distance: str) -> np.ndarray:
    """The condensed squared Euclidean distances ``D⁽²⁾`` an RDM stands for (see the module
    docstring): the RDM itself for :data:`SQUARED_EUCLIDEAN` distances, else its square."""
    values = as_rdm_stack(rdm, "rdm")
    if np.isnan(values).any():
        raise BrainAlignError(
            "an RDM with missing dissimilarities has no embedding; leave its subject out"
        )
    return values if distance in SQUARED_EUCLIDEAN else values**2


@dataclass(frozen=True)
class Embedding:
    """Classical-MDS coordinates of one RDM: ``coordinates`` ``(n, r)``, one column per positive
    eigenvalue of ``−½ H D⁽²⁾ H``, and the share of its spectrum (sum of absolute eigenvalues)
    that was negative and dropped (0 for a Euclidean RDM, up to rounding)."""

    coordinates: np.ndarray
    negative_share: float

    def gram(self) -> np.ndarray:
        """The centred Gram matrix of the coordinates."""
        return self.coordinates @ self.coordinates.T


def embedding(rdm: Any, distance: str) -> Embedding:
    """The patterns a condensed RDM implies, up to rotation and translation (module docstring)."""
    squared = squared_distances(rdm, distance)
    if squared.shape[0] != 1:
        raise BrainAlignError("embedding takes one RDM")
    gram = -0.5 * double_centre(to_square(squared[0]))
    values, vectors = np.linalg.eigh((gram + gram.T) / 2)
    scale = np.abs(values).max(initial=0.0)
    positive = values > 1e-12 * scale
    negative = values < -1e-12 * scale
    total = np.abs(values[positive | negative]).sum()
    share = float(np.abs(values[negative]).sum() / total) if total > 0 else 0.0
    coordinates = vectors[:, positive][:, ::-1] * np.sqrt(values[positive][::-1])
    return Embedding(coordinates, share)


@dataclass(frozen=True, eq=False)
class TargetResponses:
    """One target's measured responses: per subject, single-trial responses ``(repeats, n_stimuli,
    n_units)`` (units: voxels or neurons; their number may differ between subjects; one repeat
    when only averages exist). Rows follow ``stimulus_ids``; match them by id (:meth:`reorder`)."""

    name: str
    trials: tuple[np.ndarray, ...]
    subjects: tuple[str, ...]
    stimulus_ids: tuple[str, ...]
    kind: str = "fmri"
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        trials = tuple(_as_trials(t, s) for t, s in zip(self.trials, self.subjects))
        subjects = tuple(str(s) for s in self.subjects)
        ids = tuple(str(s) for s in self.stimulus_ids)
        if len(trials) != len(subjects) or not trials:
            raise BrainAlignError(f"{len(trials)} response arrays for {len(subjects)} subjects")
        if len(set(ids)) != len(ids):
            raise BrainAlignError("stimulus ids must be unique")
        for subject, array in zip(subjects, trials):
            if array.shape[1] != len(ids):
                raise BrainAlignError(
                    f"subject {subject}'s responses have {array.shape[1]} stimuli but there are "
                    f"{len(ids)} stimulus ids; one row per stimulus, in the order of the ids"
                )
        object.__setattr__(self, "trials", trials)
        object.__setattr__(self, "subjects", subjects)
        object.__setattr__(self, "stimulus_ids", ids)

    @property
    def n_stimuli(self) -> int:
        return len(self.stimulus_ids)

    def responses(self) -> tuple[np.ndarray, ...]:
        """Each subject's responses averaged over repeats, ``(n_stimuli, n_units)``."""
        return tuple(t.mean(axis=0) for t in self.trials)

    @property
    def units(self) -> dict[str, int]:
        """The number of units (voxels, neurons) of each subject."""
        return {s: int(t.shape[2]) for s, t in zip(self.subjects, self.trials)}

    @property
    def repeats(self) -> dict[str, int]:
        """The number of repeats of each subject (1 where only averages were given)."""
        return {s: int(t.shape[0]) for s, t in zip(self.subjects, self.trials)}

    def as_rdms(self, distance: str = "correlation", method: str = "spearman") -> TargetRDMs:
        """Each subject's RDM of its responses averaged over repeats, by ``distance`` (one of
        :data:`brainalign.rsa.DISTANCES`), as a target whose ceiling compares RDMs by
        ``method``: what classical and feature-reweighted RSA score of measured responses."""
        data = np.stack([rdm(r, distance) for r in self.responses()])
        rdms = RDMs(data, self.subjects, self.stimulus_ids, distance)
        return TargetRDMs.from_subjects(
            self.name,
            rdms,
            kind=self.kind,
            method=method,
            **{**self.metadata, "from_responses": distance},
        )

    def reorder(self, stimulus_ids: Sequence[str]) -> TargetResponses:
        """The responses restricted to, and ordered as, ``stimulus_ids`` (matched by id)."""
        index = match_ids(
            self.stimulus_ids,
            stimulus_ids,
            "{count} stimulus ids have no responses (e.g. {examples})",
        )
        if index is None:
            return self
        ids = tuple(str(s) for s in stimulus_ids)
        return TargetResponses(
            self.name,
            tuple(t[:, index] for t in self.trials),
            self.subjects,
            ids,
            self.kind,
            dict(self.metadata),
        )


def _as_trials(values: Any, subject: str) -> np.ndarray:
    array = as_array(values, np.float64)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise BrainAlignError(
            f"subject {subject}'s responses must be (n_stimuli, n_units) or (repeats, n_stimuli, "
            f"n_units), got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise BrainAlignError(
            f"subject {subject}'s responses hold NaN or inf; drop those units first"
        )
    return array


@dataclass(frozen=True)
class SubjectPatterns:
    """Each subject's patterns ``(n_stimuli, units)`` as the feature metrics use them, and whether
    they stand for an RDM (``from_rdms``: classical-MDS coordinates, whose single dimensions mean
    nothing apart, so they are scored together) or are measured units (each scored alone)."""

    patterns: tuple[np.ndarray, ...]
    from_rdms: bool
    negative_share: tuple[float, ...] = ()

    def centred_grams(self) -> list[np.ndarray]:
        """Each subject's Gram matrix of patterns centred over stimuli."""
        return [(p - p.mean(axis=0)) @ (p - p.mean(axis=0)).T for p in self.patterns]


def subject_patterns(target: TargetRDMs | TargetResponses) -> SubjectPatterns:
    """The patterns of a target's subjects: measured responses averaged over repeats, or the
    classical-MDS coordinates of each subject's RDM (module docstring)."""
    if isinstance(target, TargetResponses):
        return SubjectPatterns(target.responses(), from_rdms=False)
    if isinstance(target, TargetRDMs):
        embeddings = [embedding(row, target.rdms.distance) for row in target.rdms.data]
        return SubjectPatterns(
            tuple(e.coordinates for e in embeddings),
            True,
            tuple(e.negative_share for e in embeddings),
        )
    raise BrainAlignError(f"a feature metric scores RDMs or responses, not {type(target).__name__}")
