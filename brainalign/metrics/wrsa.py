"""Feature-reweighted RSA (after Kaniuth & Hebart 2022): a layer's RDM as a non-negative mixture of
its feature groups' RDMs, the weights fitted on training stimuli and tested on held-out ones.

A layer's feature groups are its principal components, fitted on each fold's training stimuli
(:meth:`~brainalign.metrics.kernels.Kernel.split`): component ``k``'s RDM holds the squared
differences of the stimuli's scores, ``aₖ(i, j) = (zᵢₖ − zⱼₖ)²``; with every weight 1 their sum
is the squared Euclidean RDM of the features (projected on the training stimuli's span). At most
``n_train − 2`` components are used: ``n`` centred points span ``n − 1`` components whose
whitened scores lie on a regular simplex, so ``Σₖ aₖ(i, j) / eigenvalueₖ`` is the same for every
pair, a constant the intercept absorbs: with all of them the weights are not unique, and the
held-out predictions would depend on which solution the fit found. For each
subject, weights ``w ≥ 0`` and a free intercept ``b`` minimise

    Σ over pairs of training stimuli (dᵢⱼ − b − Σₖ wₖ aₖ(i, j))²

(non-negative least squares, after centring both sides over the pairs, which absorbs ``b``).
The normal equations come from moments of the scores, ``O(n·k²)``, never from the ``n²/2 × k``
design: with ``u``, ``v`` two columns of scores over ``n`` training stimuli,

    Σᵢ<ⱼ (uᵢ−uⱼ)²(vᵢ−vⱼ)² = n Σu²v² + Σu² Σv² − 2 Σv Σu²v − 2 Σu Σuv² + 2 (Σuv)²
    Σᵢ<ⱼ (uᵢ−uⱼ)² dᵢⱼ   = Σᵢ uᵢ² (D1)ᵢ − uᵀ D u
    Σᵢ<ⱼ (uᵢ−uⱼ)²       = n Σu² − (Σu)²

The fitted mixture predicts the pairs of held-out stimuli; the score is Pearson's r between the
predicted and the subject's dissimilarities over each test fold's pairs, averaged over the folds
(each fold has its own fit: pooled, the folds' different intercepts would count as signal or
noise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.optimize import nnls

from ..errors import BrainAlignError
from ..rsa import NoiseCeiling, TargetRDMs
from ..rsa.dissimilarity import n_stimuli_from_pairs, to_square
from ..rsa.inference import pair_index
from .base import MetricScores, fold_pearson, mean_others, pair_weights
from .folds import splits, stimulus_folds
from .kernels import Kernel, LayerKernels, blas_threads_for

#: At most this many principal components are reweighted (all of a 92-image set's folds have
#: fewer); it bounds the normal equations at a few thousand stimuli.
MAX_COMPONENTS = 100


@dataclass(frozen=True, eq=False)
class Reweighted:
    """Held-out predictions of the subjects' dissimilarities: ``predictions`` ``(subjects,
    pairs)`` on the pairs of distinct stimuli ``(rows[p], cols[p])`` in the same test fold (every
    fold's pairs, in fold order), and each fold's fitted ``weights`` ``(folds, subjects, groups)``
    (components beyond a fold's rank get 0) and ``intercepts`` ``(folds, subjects)``."""

    rows: np.ndarray
    cols: np.ndarray
    predictions: np.ndarray
    weights: np.ndarray
    intercepts: np.ndarray


def nonnegative_weights(normal: np.ndarray, moments: np.ndarray) -> np.ndarray:
    """``argmin_{w ≥ 0} ‖A w − d‖²`` for each column of ``moments`` = ``Aᵀd``, from the normal
    matrix ``AᵀA`` alone: with ``AᵀA = V Λ Vᵀ``, ``‖Aw − d‖² = ‖Λ^½ Vᵀ w − Λ^-½ Vᵀ Aᵀd‖² + const``
    (``Aᵀd`` lies in the range of ``AᵀA``), a ``k × k`` problem for ``scipy.optimize.nnls``."""
    values, vectors = np.linalg.eigh((normal + normal.T) / 2)
    keep = values > 1e-12 * max(values.max(initial=0.0), 0.0)
    root = np.sqrt(values[keep])
    reduced = root[:, None] * vectors[:, keep].T
    rotated = (vectors[:, keep].T @ moments) / root[:, None]
    return np.stack(
        [
            nnls(reduced, rotated[:, j], maxiter=50 * normal.shape[0])[0]
            for j in range(moments.shape[1])
        ],
        axis=1,
    )


def score_moments(
    scores: np.ndarray, dissimilarities: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The centred normal equations of the pair regression (module docstring) from component
    ``scores`` ``(n, k)`` and square dissimilarities ``(S, n, n)``: ``(AᵀA, Aᵀd, column means of
    A, means of d)``, centred over the ``n(n−1)/2`` pairs."""
    n = scores.shape[0]
    pairs = n * (n - 1) / 2
    squared = scores * scores
    sums, square_sums = scores.sum(axis=0), squared.sum(axis=0)
    mixed = squared.T @ scores  # Σ u² v
    normal = (
        n * (squared.T @ squared)
        + np.outer(square_sums, square_sums)
        - 2 * mixed * sums[None, :]
        - 2 * sums[:, None] * mixed.T
        + 2 * (scores.T @ scores) ** 2
    )
    column_sums = n * square_sums - sums**2
    row_sums = dissimilarities.sum(axis=2)  # (S, n): D1
    cross = squared.T @ row_sums.T - np.einsum("ik,sik->ks", scores, dissimilarities @ scores)
    d_sums = row_sums.sum(axis=1) / 2
    column_means, d_means = column_sums / pairs, d_sums / pairs
    normal_c = normal - pairs * np.outer(column_means, column_means)
    cross_c = cross - pairs * np.outer(column_means, d_means)
    return normal_c, cross_c, column_means, d_means


def reweighted_rsa(
    kernel: Kernel, rdms: np.ndarray, folds: np.ndarray, components: int = MAX_COMPONENTS
) -> Reweighted:
    """Fit and predict as the module docstring says, for condensed subject ``rdms`` ``(S, P)`` on
    the kernel's stimuli, with each stimulus's fold in ``folds``."""
    squares = to_square(np.atleast_2d(rdms))
    rows, cols, predictions, weights, intercepts = [], [], [], [], []
    for train, test in splits(folds):
        train_scores, test_scores = kernel.split(train, test).scores(
            min(components, len(train) - 2)
        )
        normal, cross, column_means, d_means = score_moments(
            train_scores, squares[:, train][:, :, train]
        )
        w = nonnegative_weights(normal, cross)  # (k, S)
        b = d_means - column_means @ w
        i, j = np.triu_indices(len(test), k=1)
        differences = (test_scores[i] - test_scores[j]) ** 2  # (test pairs, k)
        predictions.append((differences @ w + b).T)
        rows.append(test[i])
        cols.append(test[j])
        padded = np.zeros((components, w.shape[1]))
        padded[: w.shape[0]] = w
        weights.append(padded.T)
        intercepts.append(b)
    return Reweighted(
        np.concatenate(rows),
        np.concatenate(cols),
        np.concatenate(predictions, axis=1),
        np.stack(weights),
        np.stack(intercepts),
    )


def reweighted_groups(groups: np.ndarray, rdms: np.ndarray, folds: np.ndarray) -> Reweighted:
    """The same with feature groups given as their condensed RDMs ``(k, P)`` (e.g. channels, or
    one group: another RDM), each fold's normal equations from the explicit pair design."""
    groups, rdms = np.atleast_2d(groups), np.atleast_2d(rdms)
    n = n_stimuli_from_pairs(groups.shape[1])
    rows, cols, predictions, weights, intercepts = [], [], [], [], []
    for train, test in splits(folds):
        i, j = np.triu_indices(len(train), k=1)
        train_pairs = pair_index(train[i], train[j], n)
        design, target = groups[:, train_pairs].T, rdms[:, train_pairs].T
        column_means, d_means = design.mean(axis=0), target.mean(axis=0)
        design_c = design - column_means
        w = nonnegative_weights(design_c.T @ design_c, design_c.T @ (target - d_means))
        b = d_means - column_means @ w
        i, j = np.triu_indices(len(test), k=1)
        test_pairs = pair_index(test[i], test[j], n)
        predictions.append((groups[:, test_pairs].T @ w + b).T)
        rows.append(test[i])
        cols.append(test[j])
        weights.append(w.T)
        intercepts.append(b)
    return Reweighted(
        np.concatenate(rows),
        np.concatenate(cols),
        np.concatenate(predictions, axis=1),
        np.stack(weights),
        np.stack(intercepts),
    )


@dataclass(frozen=True)
class ReweightedRSA:
    """Feature-reweighted RSA of each layer with each subject's RDM, a :class:`Metric`."""

    name: ClassVar[str] = "wrsa"
    version: ClassVar[int] = 1
    layers_as: ClassVar[str] = "kernels"
    n_folds: int = 5
    components: int = MAX_COMPONENTS

    @property
    def definition(self) -> str:
        return (
            f"Feature-reweighted RSA (after Kaniuth & Hebart 2022): in {self.n_folds} folds of stimuli "
            "(dealt by sorted id and seed), per subject, non-negative weights of the squared-score-"
            "difference RDMs of the layer's principal components on the training stimuli (at most "
            f"{self.components} and the number of training stimuli minus 2) and an intercept, fitted "
            "by least squares to the subject's dissimilarities among training stimuli; score: Pearson "
            "r of fitted and observed dissimilarities among each fold's test stimuli, averaged over "
            "folds. Ceiling: the same with the mean RDM of the other subjects (lower) or of all "
            "(upper) as the only group."
        )

    @property
    def resampling(self) -> str:
        return (
            "stimulus resamples re-score the held-out predictions (fits not redone), a pair drawn "
            "c_i and c_j times counting c_i c_j times, a stimulus paired with its own copy dropped"
        )

    def score(self, layers: LayerKernels, target: TargetRDMs, *, seed: int = 0) -> MetricScores:
        rdms = _rdms_of(target)
        layers = layers.reorder(target.stimulus_ids)
        n = len(target.stimulus_ids)
        folds = stimulus_folds(target.stimulus_ids, self.n_folds, seed)
        with blas_threads_for(n):
            fits = [
                reweighted_rsa(kernel, rdms, folds, self.components) for kernel in layers.kernels
            ]
            rows, cols = fits[0].rows, fits[0].cols
            observed = np.tile(
                to_square(rdms)[:, rows, cols].T, (1, len(fits))
            )  # (pairs, layers·subjects)
            predicted = np.concatenate([fit.predictions.T for fit in fits], axis=1)
            pair_folds = folds[rows]
            shape = (len(fits), len(rdms))
            per_subject = fold_pearson(predicted, observed, np.ones((1, len(rows))), pair_folds)[
                0
            ].reshape(shape)

        def resample(counts: np.ndarray) -> np.ndarray:
            weights = pair_weights(counts, rows, cols)
            with blas_threads_for(n):
                return fold_pearson(predicted, observed, weights, pair_folds).reshape(
                    len(weights), *shape
                )

        return MetricScores(
            per_subject,
            resample,
            {
                "folds": folds.tolist(),
                "mean_weights": [fit.weights.mean(axis=(0, 1)).tolist() for fit in fits],
            },
        )

    def ceiling(self, target: TargetRDMs, *, seed: int = 0) -> NoiseCeiling | None:
        rdms = _rdms_of(target)
        if len(rdms) < 2:
            return None
        folds = stimulus_folds(target.stimulus_ids, self.n_folds, seed)
        others, everyone = mean_others(rdms)

        def score(group: np.ndarray, subject: int) -> float:
            fit = reweighted_groups(group, rdms[subject], folds)
            observed = rdms[subject][pair_index(fit.rows, fit.cols, len(folds))]
            return float(
                fold_pearson(
                    fit.predictions[0], observed, np.ones((1, len(observed))), folds[fit.rows]
                )[0, 0]
            )

        with blas_threads_for(len(folds)):
            lower = [score(others[s], s) for s in range(len(rdms))]
            upper = [score(everyone, s) for s in range(len(rdms))]
        return NoiseCeiling(float(np.mean(lower)), float(np.mean(upper)))


def _rdms_of(target: TargetRDMs) -> np.ndarray:
    if not isinstance(target, TargetRDMs):
        raise BrainAlignError(
            "feature-reweighted RSA scores RDMs: make each subject's RDM from its responses first "
            f"(brainalign.rsa.rdm), not a {type(target).__name__}"
        )
    if np.isnan(target.rdms.data).any():
        raise BrainAlignError(
            f"{target.name}: an RDM with missing dissimilarities cannot be reweighted; leave its subject out"
        )
    return target.rdms.data
