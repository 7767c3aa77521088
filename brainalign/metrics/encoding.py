"""Encoding models: ridge regression from a layer to a subject's responses, cross-validated.

In each outer fold, ridge regression with an unpenalised intercept is fitted on the training
stimuli, its penalty ``λ`` chosen from :data:`ALPHA_GRID` ``× tr(K̃)`` (``K̃``: the training
stimuli's centred kernel, so the choice does not depend on the layer's scale) by the exact
leave-one-out error on the training stimuli; the out-of-fold predictions of all folds are then
scored by Pearson's r against the responses on each test fold, averaged over the folds (a fold's
r does not depend on the fit to its own responses, so with no relation it is 0 on average; the r
of all out-of-fold predictions pooled is negative then). The predictions are scikit-learn's
``cross_val_predict(RidgeCV(alphas, fit_intercept=True), X, Y, cv=folds)`` with those alphas,
computed from the kernel (:class:`~brainalign.metrics.kernels.Split`) in one eigendecomposition
per fold for every penalty and every response at once:

    X̃_train = U diag(√s) Vᵀ,  Ỹ = Uᵀ (Y_train − ȳ),  fⱼ = sⱼ / (sⱼ + λ)
    fitted = U diag(f) Ỹ + ȳ,  hatᵢ = Σⱼ Uᵢⱼ² fⱼ + 1/n_train
    leave-one-out residual = (Y_train − fitted) / (1 − hat)
    prediction = X̃_test X̃_trainᵀ U diag(1 / (s + λ)) Ỹ + ȳ
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import BrainAlignError
from ..rsa import N_PERMUTATIONS, CeilingReliability, NoiseCeiling, TargetRDMs
from .base import MetricScores, mean_others, quiet_nanmean
from .folds import splits, stimulus_folds
from .kernels import Kernel, LayerKernels, Split, blas_threads_for
from .targets import PATTERNS_DEFINITION, TargetResponses, subject_patterns

#: Ridge penalties, as multiples of the trace of the training stimuli's centred kernel:
#: 10⁻⁶ … 10² in half decades (from almost no shrinkage to shrinking every component at least
#: a hundredfold, where Pearson's r no longer changes).
ALPHA_GRID: np.ndarray = 10.0 ** np.arange(-6.0, 2.25, 0.5)


@dataclass(frozen=True, eq=False)
class CrossValidated:
    """Out-of-fold predictions ``(n, q)`` and the penalty chosen in each fold: ``alphas``
    ``(folds, q)`` (every column the same when chosen jointly), as multiples of tr(K̃)."""

    predictions: np.ndarray
    alphas: np.ndarray


def ridge_fold(
    split: Split,
    targets: np.ndarray,
    groups: np.ndarray,
    grid: np.ndarray = ALPHA_GRID,
) -> tuple[np.ndarray, np.ndarray]:
    """Predictions for ``split.test`` ``(n_test, q)`` from ridge fits on ``split.train`` of each
    column of ``targets`` (rows: all stimuli), and the chosen multiples of tr(K̃), ``(q,)``. The
    penalty is chosen by leave-one-out on the training stimuli for each group of columns
    (``groups``: a label ``0 … g−1`` per column), by the mean squared error over the group's
    columns: one group per column is RidgeCV's ``alpha_per_target=True``, one for all its
    default."""
    train_y = targets[split.train]
    mean = train_y.mean(axis=0)
    centred = train_y - mean
    n_train = len(split.train)
    basis, s = split.basis, split.eigenvalues
    if s.size == 0:  # a constant layer predicts the training mean
        return np.broadcast_to(mean, (len(split.test), targets.shape[1])).copy(), np.full(
            targets.shape[1], np.nan
        )
    rotated = basis.T @ centred  # Ỹ, (r, q)
    alphas = grid * s.sum()
    squared_basis = basis * basis
    sizes = np.bincount(groups)
    errors = np.empty((len(grid), len(sizes)))
    for a, alpha in enumerate(alphas):
        shrink = s / (s + alpha)
        residual = centred - basis @ (shrink[:, None] * rotated)
        leverage = squared_basis @ shrink + 1.0 / n_train
        column_errors = np.mean((residual / (1.0 - leverage)[:, None]) ** 2, axis=0)
        errors[a] = np.bincount(groups, weights=column_errors, minlength=len(sizes)) / sizes
    best = np.argmin(errors, axis=0)[groups]  # the first of equals, as RidgeCV
    predictions = np.empty((len(split.test), targets.shape[1]))
    for a in np.unique(best):
        columns = best == a
        predictions[:, columns] = split.test_projection @ (
            rotated[:, columns] / (s + alphas[a])[:, None]
        )
    return predictions + mean, grid[best]


def cross_validated_ridge(
    kernel: Kernel,
    targets: np.ndarray,
    folds: np.ndarray,
    groups: np.ndarray | None = None,
    grid: np.ndarray = ALPHA_GRID,
) -> CrossValidated:
    """Out-of-fold ridge predictions of every column of ``targets`` ``(n, q)`` from ``kernel``
    (module docstring); ``folds`` gives each stimulus's fold, ``groups`` the columns that share a
    penalty (:func:`ridge_fold`; default: each column its own)."""
    targets = np.asarray(targets, dtype=np.float64)
    if targets.ndim != 2 or targets.shape[0] != kernel.n:
        raise BrainAlignError(
            f"targets of shape {targets.shape} do not fit a kernel of {kernel.n} stimuli"
        )
    groups = np.arange(targets.shape[1]) if groups is None else np.asarray(groups, dtype=np.intp)
    predictions = np.empty_like(targets)
    alphas = []
    for train, test in splits(folds):
        predicted, chosen = ridge_fold(kernel.split(train, test), targets, groups, grid)
        predictions[test] = predicted
        alphas.append(chosen)
    return CrossValidated(predictions, np.stack(alphas))


def noise_ceiling_r(trials: np.ndarray) -> np.ndarray:
    """Per unit, the highest Pearson r any model can expect with the trial-averaged responses:
    the correlation of the noise-free signal with the average of ``R`` repeats, estimated from
    ``trials`` ``(R, n_stimuli, n_units)`` as in the NCSNR of Allen et al. (2022):

        σ²_noise = mean over stimuli of the variance across repeats (ddof 1)
        V        = variance across stimuli of the trial averages (ddof 1)
        σ²_signal = max(V − σ²_noise / R, 0);   ceiling = √(σ²_signal / V)

    (NCSNR² = σ²_signal / σ²_noise, and the ceiling is √(NCSNR² / (NCSNR² + 1/R)), the square
    root of the NSD noise ceiling in units of variance). Needs R ≥ 2."""
    trials = np.asarray(trials, dtype=np.float64)
    if trials.ndim != 3 or trials.shape[0] < 2:
        raise BrainAlignError(
            "a noise ceiling from repeats needs at least 2 repeats of every stimulus"
        )
    repeats = trials.shape[0]
    noise = trials.var(axis=0, ddof=1).mean(axis=0)
    averages = trials.mean(axis=0)
    total = averages.var(axis=0, ddof=1)
    signal = np.maximum(total - noise / repeats, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.sqrt(signal / total), np.nan)


#: The definition of :func:`repeats_reliability` (its statistic, null and permutation draws): a
#: stored result of an older version is not reused, so bump it whenever the numbers may change.
REPEATS_RELIABILITY_VERSION = 1


def repeats_reliability(
    trials: Sequence[np.ndarray], *, n_perm: int = N_PERMUTATIONS, seed: int = 0
) -> CeilingReliability:
    """One-sided permutation test that the repeats of measured responses agree more than chance,
    the test behind the NCSNR ceiling (:func:`noise_ceiling_r`) as
    :func:`brainalign.rsa.ceiling_reliability` is the test behind a leave-one-subject-out one.

    Statistic: the NCSNR ceiling averaged over units and subjects. Null: repeats that share no
    stimulus-specific signal, made by relabelling the stimuli of every repeat of every subject with
    its own random permutation (each repeat keeps its values; only which stimulus they belong to
    is lost). ``trials``: per subject ``(repeats, n_stimuli, n_units)``, each with 2 or more
    repeats; permutations drawn from ``seed``."""
    arrays = [np.asarray(t, dtype=np.float64) for t in trials]

    def statistic(per_subject: Sequence[np.ndarray]) -> float:
        return float(np.mean([quiet_nanmean(noise_ceiling_r(t), axis=0) for t in per_subject]))

    observed = statistic(arrays)
    if not np.isfinite(observed):
        return CeilingReliability(observed, math.nan, math.nan, math.nan, n_perm, seed)
    rng = np.random.default_rng(seed)
    null = np.empty(n_perm)
    for k in range(n_perm):
        null[k] = statistic(
            [
                np.take_along_axis(
                    t, rng.permuted(np.indices(t.shape[:2])[1], axis=1)[..., None], 1
                )
                for t in arrays
            ]
        )
    p = float((1 + np.count_nonzero(null >= observed)) / (1 + n_perm))
    return CeilingReliability(observed, p, float(null.mean()), float(null.std()), n_perm, seed)


def stacked(columns: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Several subjects' response matrices side by side, and the subject of each column (one
    ridge solve serves them all)."""
    owner = np.concatenate([np.full(c.shape[1], s) for s, c in enumerate(columns)])
    return np.concatenate(columns, axis=1), owner


@dataclass(frozen=True)
class Encoding:
    """Cross-validated ridge encoding of each subject from each layer, a :class:`Metric`."""

    name: ClassVar[str] = "encoding"
    version: ClassVar[int] = 1
    layers_as: ClassVar[str] = "kernels"
    takes_responses: ClassVar[bool] = True  # scores TargetResponses as they are, not as RDMs
    n_folds: int = 5

    @property
    def definition(self) -> str:
        return (
            "Ridge regression with an intercept from the layer's flattened activations to each "
            "subject's patterns: " + PATTERNS_DEFINITION + f"; in {self.n_folds} folds of stimuli "
            "(dealt by sorted id and seed), the penalty (10^-6, 10^-5.5, ..., 10^2 times the trace of "
            "the training stimuli's centred Gram matrix) chosen by exact leave-one-out error on the "
            "training stimuli, per unit for responses, per subject for MDS coordinates; score: "
            "Pearson r of predictions and patterns on each test fold, averaged over folds, then over "
            "units (responses) or pooled over the coordinates (RDMs). Ceiling: with repeats, per unit "
            "sqrt(max(V - s2/R, 0) / V) (NCSNR; V: variance of the trial averages, s2: mean variance "
            "over R repeats), averaged over units; else leave-one-subject-out, the mean centred Gram "
            "matrix of the other subjects (lower) or of all (upper) in the layer's place."
        )

    @property
    def resampling(self) -> str:
        return "stimulus resamples re-score the out-of-fold predictions (fits not redone), a stimulus counting as often as drawn"

    def score(
        self, layers: LayerKernels, target: TargetRDMs | TargetResponses, *, seed: int = 0
    ) -> MetricScores:
        layers = layers.reorder(target.stimulus_ids)
        n = len(target.stimulus_ids)
        folds = stimulus_folds(target.stimulus_ids, self.n_folds, seed)
        with blas_threads_for(n):
            patterns = subject_patterns(target)
            columns, owner = stacked(patterns.patterns)
            fits = [
                self._fit(kernel, columns, owner, patterns.from_rdms, folds)
                for kernel in layers.kernels
            ]
            scores = _Scores(
                np.stack([f.predictions for f in fits]), columns, owner, folds, patterns.from_rdms
            )
            per_subject = scores(np.ones((1, n)))[0]

        def resample(counts: np.ndarray) -> np.ndarray:
            with blas_threads_for(n):
                return scores(counts)

        return MetricScores(
            per_subject,
            resample,
            {
                "folds": folds.tolist(),
                "alpha_multiples": [f.alphas.tolist() for f in fits],
                "negative_share": list(patterns.negative_share),
            },
        )

    @staticmethod
    def ceiling_from_repeats(target: TargetRDMs | TargetResponses) -> bool:
        """Whether :meth:`ceiling` is the NCSNR one (responses, every subject with 2+ repeats)."""
        return isinstance(target, TargetResponses) and min(t.shape[0] for t in target.trials) >= 2

    def ceiling(
        self, target: TargetRDMs | TargetResponses, *, seed: int = 0
    ) -> NoiseCeiling | None:
        if isinstance(target, TargetResponses) and self.ceiling_from_repeats(target):
            value = float(np.mean([np.nanmean(noise_ceiling_r(t)) for t in target.trials]))
            return NoiseCeiling(value, value)
        with blas_threads_for(len(target.stimulus_ids)):
            return self._subjects_ceiling(target, seed)

    def _subjects_ceiling(
        self, target: TargetRDMs | TargetResponses, seed: int
    ) -> NoiseCeiling | None:
        patterns = subject_patterns(target)
        if len(patterns.patterns) < 2:
            return None
        folds = stimulus_folds(target.stimulus_ids, self.n_folds, seed)
        others, everyone = mean_others(patterns.centred_grams())

        def score(gram: np.ndarray, subject: int) -> float:
            y = patterns.patterns[subject]
            owner = np.zeros(y.shape[1], dtype=np.intp)
            fit = self._fit(Kernel.from_gram(gram), y, owner, patterns.from_rdms, folds)
            return float(
                _Scores(fit.predictions[None], y, owner, folds, patterns.from_rdms)(
                    np.ones((1, len(y)))
                )[0, 0, 0]
            )

        lower = [score(others[s], s) for s in range(len(others))]
        upper = [score(everyone, s) for s in range(len(others))]
        return NoiseCeiling(float(np.mean(lower)), float(np.mean(upper)))

    @staticmethod
    def _fit(
        kernel: Kernel,
        columns: np.ndarray,
        owner: np.ndarray,
        from_rdms: bool,
        folds: np.ndarray,
    ) -> CrossValidated:
        """Out-of-fold predictions of every subject's patterns side by side (one ridge solve for
        all), one penalty per subject for MDS dimensions, per unit for measured responses."""
        return cross_validated_ridge(kernel, columns, folds, owner if from_rdms else None)


class _Scores:
    """Each subject's score from every layer's out-of-fold predictions, under stimulus weights:
    per fold, one r per unit or, for MDS dimensions, one per subject (covariances and variances
    summed over its columns); averaged over folds, then over a subject's units.

    Weighted moments are sums over a fold's stimuli: per unit, one matrix product per fold for all
    layers and units; pooled over a subject's columns, quadratic forms ``wᵀ M w`` of the fold's
    ``m × m`` inner-product matrices (``Σ_q x_iq y_jq``), prepared once, so a resample costs
    ``m²`` per layer and subject however many columns the subject has."""

    def __init__(
        self,
        predicted: np.ndarray,
        observed: np.ndarray,
        owner: np.ndarray,
        folds: np.ndarray,
        pooled: bool,
    ) -> None:
        self.folds, self.pooled = folds, pooled
        # a subject's columns are contiguous (``stacked``): sums over them are one reduceat
        self.starts = np.flatnonzero(np.r_[True, np.diff(owner) != 0])
        self.rows: list[np.ndarray] = []
        self.centred: list[
            tuple[np.ndarray, np.ndarray]
        ] = []  # per fold: predictions, observations
        self.products: list[np.ndarray] = []  # per fold, when pooled: _inner_products
        for fold in np.unique(folds):
            rows = folds == fold
            x, y = predicted[:, rows], observed[rows]  # (layers, m, q), (m, q)
            x = x - x.mean(axis=1, keepdims=True)  # centred first: the one-pass moments stay exact
            y = y - y.mean(axis=0)
            self.rows.append(rows)
            if pooled:
                self.products.append(self._inner_products(x, y, owner))
            else:
                self.centred.append((x, y))

    def _inner_products(self, x: np.ndarray, y: np.ndarray, owner: np.ndarray) -> np.ndarray:
        """``(m², 3, layers, subjects)``: ``Σ_q x_iq y_jq``, ``Σ_q x_iq x_jq``, ``Σ_q y_iq y_jq`` over
        each subject's columns, for every pair of stimuli ``(i, j)`` of the fold."""
        n_layers, m, _ = x.shape
        subjects = [owner == s for s in range(int(owner.max()) + 1)]
        xy = np.stack(
            [[xl[:, c] @ y[:, c].T for c in subjects] for xl in x]
        )  # (layers, subjects, m, m)
        xx = np.stack([[xl[:, c] @ xl[:, c].T for c in subjects] for xl in x])
        yy = np.broadcast_to(np.stack([y[:, c] @ y[:, c].T for c in subjects]), xy.shape)
        return (
            np.stack([xy, xx, yy]).reshape(3, n_layers, len(subjects), m * m).transpose(3, 0, 1, 2)
        )

    def __call__(self, weights: np.ndarray) -> np.ndarray:
        """``(B, layers, subjects)`` for stimulus weights ``(B, n)``."""
        weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        if self.pooled:
            per_fold = [
                self._pooled(weights[:, rows], part) for rows, part in zip(self.rows, self.products)
            ]
        else:
            per_fold = [
                self._per_unit(weights[:, rows], part)
                for rows, part in zip(self.rows, self.centred)
            ]
        return quiet_nanmean(np.stack(per_fold), axis=0)

    @staticmethod
    def _pooled(w: np.ndarray, products: np.ndarray) -> np.ndarray:
        m = w.shape[1]
        diagonal = products[:: m + 1]  # (m, 3, layers, subjects): Σ_q x_iq y_iq and the like
        total = w.sum(axis=1)[:, None, None]
        firsts = np.einsum("bi,ikls->bkls", w, diagonal)
        quadratic = np.einsum(
            "be,ekls->bkls", (w[:, :, None] * w[:, None, :]).reshape(len(w), -1), products
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            cov, var_x, var_y = (firsts[:, k] - quadratic[:, k] / total for k in range(3))
            defined = (var_x > 1e-13 * firsts[:, 1]) & (var_y > 1e-13 * firsts[:, 2])
            return np.clip(np.where(defined, cov / np.sqrt(var_x * var_y), np.nan), -1.0, 1.0)

    def _per_unit(self, w: np.ndarray, part: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        x, y = part
        n_layers, m, q = x.shape
        flat_x = x.transpose(1, 0, 2).reshape(m, -1)
        total = w.sum(axis=1)[:, None, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            sum_x = (w @ flat_x).reshape(-1, n_layers, q)
            second_x = (w @ (flat_x * flat_x)).reshape(-1, n_layers, q)
            cross = (w @ (x * y).transpose(1, 0, 2).reshape(m, -1)).reshape(-1, n_layers, q)
            sum_y, second_y = (w @ y)[:, None, :], (w @ (y * y))[:, None, :]
            cov = cross - sum_x * sum_y / total
            var_x = second_x - sum_x**2 / total
            var_y = second_y - sum_y**2 / total
            defined = (var_x > 1e-13 * second_x) & (var_y > 1e-13 * second_y)
            r = np.clip(np.where(defined, cov / np.sqrt(var_x * var_y), np.nan), -1.0, 1.0)
        present = ~np.isnan(r)
        sums = np.add.reduceat(np.where(present, r, 0.0), self.starts, axis=2)
        counts = np.add.reduceat(present.astype(np.float64), self.starts, axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums / counts, np.nan)
