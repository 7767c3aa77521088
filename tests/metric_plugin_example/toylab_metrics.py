"""A brainalign metric plugin: RSA with Pearson's r between a layer's RDM and each subject's."""

import numpy as np

from brainalign.metrics import MetricScores
from brainalign.rsa import compare
from brainalign.rsa.inference import weighted_comparisons


class PearsonRSA:
    name, version, layers_as = "pearson_rsa", 1, "rdms"
    definition = (
        "Pearson's r between the layer's RDM and each subject's RDM over the pairs of stimuli."
    )
    resampling = "a pair drawn c_i and c_j times counts c_i c_j times; a stimulus paired with its own copy is dropped"

    def score(self, layers, target, *, seed=0):
        model, subjects = layers.rdms.reorder(target.stimulus_ids).data, target.rdms.data
        return MetricScores(
            compare(model, subjects, "pearson"),
            lambda counts: np.stack(list(weighted_comparisons(model, subjects, counts, "pearson"))),
        )

    def ceiling(self, target, *, seed=0):
        return target.ceiling_for("pearson")
