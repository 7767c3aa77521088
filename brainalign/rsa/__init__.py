"""Representational similarity analysis on arrays: exact, vectorised, no I/O.

>>> import numpy as np
>>> from brainalign import rsa
>>> features = np.random.default_rng(0).normal(size=(10, 50))
>>> model = rsa.rdm(features, "cosine")            # condensed, length 45
>>> rsa.compare(model, model, "spearman")[0, 0]
1.0
"""

from .ceiling import (
    CEILING_RELIABILITY_VERSION,
    CeilingReliability,
    NoiseCeiling,
    algonauts2019_noise_ceiling,
    ceiling_reliability,
    noise_ceiling,
)
from .comparison import METHODS, compare, compare_units, kendall_tau_a, rank_rows, unit_vectors
from .dissimilarity import (
    DISTANCES,
    ZERO_DISTANCE,
    condense,
    gram,
    rdm,
    rdm_from_gram,
    to_square,
    upper_triangle,
)
from .inference import (
    ALPHA,
    LEVEL,
    N_BOOT,
    N_PERMUTATIONS,
    TwoFactorDraws,
    TwoFactorSamples,
    TwoFactorVariance,
    bootstrap_stimuli,
    bootstrap_subjects,
    bootstrap_two_factor,
    corrected_variance,
    expanded_percentile_interval,
    fdr_bh,
    percentile_interval,
    permutation_test,
    two_factor_interval,
    two_factor_variance,
)
from .rdms import LayerRDMs, RDMs, TargetRDMs

__all__ = [
    "ALPHA",
    "CEILING_RELIABILITY_VERSION",
    "DISTANCES",
    "LEVEL",
    "METHODS",
    "N_BOOT",
    "N_PERMUTATIONS",
    "ZERO_DISTANCE",
    "CeilingReliability",
    "LayerRDMs",
    "NoiseCeiling",
    "RDMs",
    "TargetRDMs",
    "TwoFactorDraws",
    "TwoFactorSamples",
    "TwoFactorVariance",
    "algonauts2019_noise_ceiling",
    "bootstrap_stimuli",
    "bootstrap_subjects",
    "bootstrap_two_factor",
    "ceiling_reliability",
    "compare",
    "compare_units",
    "condense",
    "corrected_variance",
    "expanded_percentile_interval",
    "fdr_bh",
    "gram",
    "kendall_tau_a",
    "noise_ceiling",
    "percentile_interval",
    "permutation_test",
    "rank_rows",
    "rdm",
    "rdm_from_gram",
    "to_square",
    "two_factor_interval",
    "two_factor_variance",
    "unit_vectors",
    "upper_triangle",
]
