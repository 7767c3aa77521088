"""Linear centred kernel alignment (Kornblith, Norouzi, Lee & Hinton 2019).

For features ``X`` (a layer) and ``Y`` (a subject's patterns) on the same ``n`` stimuli, with
``K = X Xᵀ``, ``L = Y Yᵀ`` and ``H = I − 11ᵀ/n``::

    HSIC(K, L) = tr(K H L H)                  (the biased estimator, up to 1/(n−1)²)
    CKA(K, L)  = HSIC(K, L) / √(HSIC(K, K) · HSIC(L, L))
               = ‖Ỹᵀ X̃‖²_F / (‖X̃ᵀ X̃‖_F · ‖Ỹᵀ Ỹ‖_F)   (X̃, Ỹ centred over stimuli)

It is a function of the two Gram matrices alone, invariant to rotations and isotropic scaling of
either side, in [0, 1]: the cosine of the centred Gram matrices ``K̃ = HKH`` and ``L̃ = HLH``
taken as vectors over all ``(i, j)``. A stimulus resample with draw counts ``c`` weighs those
entries as classical RSA's stimulus bootstrap weighs pairs: a pair of distinct stimuli ``cᵢcⱼ``
times, a stimulus's own entry ``cᵢ`` times (once per copy), and a stimulus paired with its own
copy not at all (a copy is no new stimulus: counted, it would pull every resample towards 1),
with the full data's centring::

    CKA_c = Σᵢⱼ wᵢⱼ K̃ᵢⱼ L̃ᵢⱼ / √(Σᵢⱼ wᵢⱼ K̃ᵢⱼ² · Σᵢⱼ wᵢⱼ L̃ᵢⱼ²),   wᵢⱼ = cᵢcⱼ (i ≠ j), wᵢᵢ = cᵢ
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..rsa import NoiseCeiling, TargetRDMs
from .base import MetricScores, mean_others
from .kernels import Kernel, LayerKernels, blas_threads_for, double_centre
from .targets import PATTERNS_DEFINITION, TargetResponses, subject_patterns


def hsic(a: np.ndarray, b: np.ndarray) -> float:
    """``tr(K H L H)`` of two Gram matrices."""
    return float(np.einsum("ij,ij->", double_centre(a), double_centre(b)))


def cka(a: Kernel | np.ndarray, b: Kernel | np.ndarray) -> float:
    """Linear CKA of two kernels (or Gram matrices) on the same stimuli; NaN where a side is
    constant (its centred Gram matrix is zero)."""
    ka = (
        a.centred_gram()
        if isinstance(a, Kernel)
        else double_centre(np.asarray(a, dtype=np.float64))
    )
    kb = (
        b.centred_gram()
        if isinstance(b, Kernel)
        else double_centre(np.asarray(b, dtype=np.float64))
    )
    return float(cka_table([ka], [kb])[0, 0])


def cka_table(layers: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> np.ndarray:
    """``(len(layers), len(targets))`` CKA of centred Gram matrices."""
    a = np.stack([np.ravel(k) for k in layers])
    b = np.stack([np.ravel(k) for k in targets])
    norms_a, norms_b = np.sqrt(np.einsum("ij,ij->i", a, a)), np.sqrt(np.einsum("ij,ij->i", b, b))
    with np.errstate(invalid="ignore", divide="ignore"):
        table = (a @ b.T) / np.outer(norms_a, norms_b)
    table[~np.isfinite(table)] = np.nan
    return np.clip(table, -1.0, 1.0)


def cka_resampled(
    layers: Sequence[np.ndarray], targets: Sequence[np.ndarray], counts: np.ndarray
) -> np.ndarray:
    """``(B, len(layers), len(targets))`` CKA of centred Gram matrices on each stimulus resample
    given by its draw ``counts`` ``(B, n)``: the cosine of the two centred Gram matrices over the
    drawn pairs, as classical RSA's stimulus bootstrap weights them (module docstring)."""
    return ResampledCKA(layers, targets)(counts)


class ResampledCKA:
    """:func:`cka_resampled` with the products of every layer's and target's entries prepared
    once, so that each batch of resamples is one matrix product."""

    def __init__(self, layers: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> None:
        n = np.asarray(layers[0]).shape[0]
        self.rows, self.cols = np.triu_indices(n)
        self.diagonal = self.rows == self.cols
        a = np.stack([np.asarray(k)[self.rows, self.cols] for k in layers])  # (layers, entries)
        b = np.stack([np.asarray(k)[self.rows, self.cols] for k in targets])
        self.shape = (len(a), len(b))
        self.products = np.concatenate(
            [(a[:, None, :] * b[None, :, :]).reshape(-1, a.shape[1]), a * a, b * b]
        ).T

    def __call__(self, counts: np.ndarray) -> np.ndarray:
        counts = np.atleast_2d(np.asarray(counts, dtype=np.float64))
        # a pair of distinct stimuli stands for (i, j) and (j, i): 2·cᵢcⱼ; a stimulus's own entry: cᵢ
        weights = np.where(
            self.diagonal, counts[:, self.rows], 2.0 * counts[:, self.rows] * counts[:, self.cols]
        )
        sums = weights @ self.products
        n_layers, n_targets = self.shape
        cross = sums[:, : n_layers * n_targets].reshape(-1, n_layers, n_targets)
        norms_a = np.sqrt(sums[:, n_layers * n_targets : n_layers * (n_targets + 1)])
        norms_b = np.sqrt(sums[:, n_layers * (n_targets + 1) :])
        with np.errstate(invalid="ignore", divide="ignore"):
            table = cross / (norms_a[:, :, None] * norms_b[:, None, :])
        table[~np.isfinite(table)] = np.nan
        return np.clip(table, -1.0, 1.0)


@dataclass(frozen=True)
class LinearCKA:
    """Linear CKA of each layer with each subject (:func:`cka_table`), a :class:`Metric`."""

    name: ClassVar[str] = "cka"
    version: ClassVar[int] = 1
    layers_as: ClassVar[str] = "kernels"
    takes_responses: ClassVar[bool] = True  # scores TargetResponses as they are, not as RDMs

    @property
    def definition(self) -> str:
        return (
            "Linear CKA (Kornblith et al. 2019) of the layer's flattened activations with each "
            "subject's patterns: " + PATTERNS_DEFINITION + "; HSIC(K, L) / sqrt(HSIC(K, K) "
            "HSIC(L, L)), HSIC(K, L) = tr(K H L H), H = I - 11'/n. Ceiling: leave-one-subject-out "
            "on the subjects' centred Gram matrices (lower: against the mean of the others; upper: "
            "of all)."
        )

    @property
    def resampling(self) -> str:
        return (
            "stimulus resamples weight the entries of the centred Gram matrices as the RSA "
            "bootstrap weights pairs: c_i c_j for a pair drawn c_i and c_j times, c_i for a "
            "stimulus's own entry, a stimulus paired with its own copy dropped"
        )

    def score(
        self, layers: LayerKernels, target: TargetRDMs | TargetResponses, *, seed: int = 0
    ) -> MetricScores:
        layers = layers.reorder(target.stimulus_ids)
        n = len(target.stimulus_ids)
        with blas_threads_for(n):
            patterns = subject_patterns(target)
            grams = [kernel.centred_gram() for kernel in layers.kernels]
            targets = patterns.centred_grams()
            table = cka_table(grams, targets)

        resampled = ResampledCKA(grams, targets)

        def resample(counts: np.ndarray) -> np.ndarray:
            with blas_threads_for(n):
                return resampled(counts)

        return MetricScores(table, resample, {"negative_share": list(patterns.negative_share)})

    def ceiling(
        self, target: TargetRDMs | TargetResponses, *, seed: int = 0
    ) -> NoiseCeiling | None:
        with blas_threads_for(len(target.stimulus_ids)):
            targets = subject_patterns(target).centred_grams()
            if len(targets) < 2:
                return None
            others, everyone = mean_others(targets)
            lower = [cka_table([t], [o])[0, 0] for t, o in zip(targets, others)]
            upper = cka_table(targets, [everyone])[:, 0]
        return NoiseCeiling(float(np.mean(lower)), float(np.mean(upper)))
