"""Classical RSA as a :class:`~brainalign.metrics.base.Metric`: the comparison of a layer's RDM
with each subject's RDM that the human benchmarks have always made (:mod:`brainalign.rsa`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..rsa import LayerRDMs, NoiseCeiling, TargetRDMs, compare
from ..rsa.inference import weighted_comparisons
from .base import MetricScores

_NAMES = {
    "spearman": "Spearman's rho",
    "pearson": "Pearson's r",
    "kendall_tau_a": "Kendall's tau_a",
    "cosine": "the cosine similarity",
}


@dataclass(frozen=True)
class ClassicalRSA:
    """Each layer's RDM against each subject's RDM by ``method`` (:func:`brainalign.rsa.compare`)."""

    name: ClassVar[str] = "rsa"
    version: ClassVar[int] = 1
    layers_as: ClassVar[str] = "rdms"
    method: str = "spearman"

    @property
    def definition(self) -> str:
        return (
            f"Classical RSA: {_NAMES.get(self.method, self.method)} between the layer's RDM and each "
            "subject's RDM over the pairs of stimuli (upper triangle). Ceiling: leave-one-subject-out "
            "(lower: each subject's RDM against the mean RDM of the others; upper: of all)."
        )

    @property
    def resampling(self) -> str:
        return (
            "stimulus resamples weight a pair drawn c_i and c_j times c_i c_j times and drop a "
            "stimulus paired with its own copy"
        )

    def score(self, layers: LayerRDMs, target: TargetRDMs, *, seed: int = 0) -> MetricScores:
        model = layers.rdms.reorder(target.stimulus_ids).data
        subjects = target.rdms.data
        method = self.method

        def resample(counts: np.ndarray) -> np.ndarray:
            return np.stack(list(weighted_comparisons(model, subjects, counts, method)))

        return MetricScores(compare(model, subjects, method), resample)

    def ceiling(self, target: TargetRDMs, *, seed: int = 0) -> NoiseCeiling | None:
        return target.ceiling_for(self.method)
