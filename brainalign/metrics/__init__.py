"""Alignment metrics beyond classical RSA: feature-reweighted RSA, linear CKA and ridge encoding,
pure and I/O-free like :mod:`brainalign.rsa`, which they build on.

Every metric scores each layer against each subject of one target, a ``(layers, subjects)``
table (:class:`MetricScores`), re-scores it on stimulus resamples given as draw counts, and has
its own noise ceiling; :func:`two_factor_samples` bootstraps any statistic of the table over
subjects and stimuli as the RSA interval does. The feature metrics take a layer as its linear
kernel (:class:`Kernel`: the Gram matrix ``X Xᵀ`` extraction already computes, or reduced
features), a target as RDMs (:class:`brainalign.rsa.TargetRDMs`) or responses
(:class:`TargetResponses`).

>>> import numpy as np
>>> from brainalign import metrics
>>> x = np.random.default_rng(0).normal(size=(20, 50))
>>> round(metrics.cka(metrics.Kernel.from_features(x), metrics.Kernel.from_gram(x @ x.T)), 12)
1.0
"""

from .base import (
    Metric,
    MetricScores,
    fold_pearson,
    metric_id,
    pearson,
    takes_responses,
    two_factor_samples,
    weighted_pearson,
)
from .cka import LinearCKA, cka, cka_resampled, cka_table, hsic
from .classical import ClassicalRSA
from .encoding import (
    ALPHA_GRID,
    REPEATS_RELIABILITY_VERSION,
    CrossValidated,
    Encoding,
    cross_validated_ridge,
    noise_ceiling_r,
    repeats_reliability,
    ridge_fold,
)
from .folds import splits, stimulus_folds
from .kernels import Kernel, LayerKernels, Split, double_centre, sketch
from .targets import (
    SQUARED_EUCLIDEAN,
    Embedding,
    SubjectPatterns,
    TargetResponses,
    embedding,
    subject_patterns,
)
from .wrsa import (
    MAX_COMPONENTS,
    Reweighted,
    ReweightedRSA,
    nonnegative_weights,
    reweighted_groups,
    reweighted_rsa,
)

#: The built-in metrics by name (each one's ``name@version`` is what results carry).
METRICS: dict[str, Metric] = {
    m.name: m for m in (ClassicalRSA(), ReweightedRSA(), LinearCKA(), Encoding())
}

__all__ = [
    "ALPHA_GRID",
    "MAX_COMPONENTS",
    "METRICS",
    "REPEATS_RELIABILITY_VERSION",
    "SQUARED_EUCLIDEAN",
    "ClassicalRSA",
    "CrossValidated",
    "Embedding",
    "Encoding",
    "Kernel",
    "LayerKernels",
    "LinearCKA",
    "Metric",
    "MetricScores",
    "Reweighted",
    "ReweightedRSA",
    "Split",
    "SubjectPatterns",
    "TargetResponses",
    "cka",
    "cka_resampled",
    "cka_table",
    "cross_validated_ridge",
    "double_centre",
    "embedding",
    "fold_pearson",
    "hsic",
    "metric_id",
    "noise_ceiling_r",
    "nonnegative_weights",
    "pearson",
    "repeats_reliability",
    "reweighted_groups",
    "reweighted_rsa",
    "ridge_fold",
    "sketch",
    "splits",
    "stimulus_folds",
    "subject_patterns",
    "takes_responses",
    "two_factor_samples",
    "weighted_pearson",
]
