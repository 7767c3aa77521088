"""What every metric shares: the shape of its scores, their bootstrap over subjects and stimuli,
and the weighted correlations that stimulus resamples are scored with.

A metric scores every layer against every subject of one target: ``per_subject`` ``(layers,
subjects)``, the same table classical RSA makes, so the layer cross-validation over subjects and
the two-factor interval of :mod:`brainalign.rsa.inference` apply unchanged. A stimulus resample
is a vector of **draw counts** (how often each stimulus was drawn): a metric scores it as the
materialised resample would be scored (copies of a stimulus count as often as drawn), without
materialising it, and, for the cross-validated metrics, with every copy kept in its stimulus's
fold, so no stimulus is ever both fitted and tested.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..rsa import NoiseCeiling
from ..rsa.inference import SubjectStatistic, TwoFactorDraws, TwoFactorSamples

#: Stimulus resamples scored at once (bounds the memory of a batch: the CKA of 1000 resamples of
#: 92 stimuli would otherwise hold a 1000 × 92² matrix per layer).
RESAMPLE_BATCH = 128


@dataclass(frozen=True, eq=False)
class MetricScores:
    """One metric's scores of a model's layers against one target's subjects.

    ``per_subject``: ``(layers, subjects)``. ``resample(counts)``: the same table for each of a
    batch of stimulus resamples, ``counts`` ``(B, n_stimuli)`` → ``(B, layers, subjects)``.
    ``detail``: what a reader may want to see of the fit (chosen regularisation, weights …).
    """

    per_subject: np.ndarray
    resample: Callable[[np.ndarray], np.ndarray]
    detail: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Metric(Protocol):
    """A way to score a model's layers against a target, with a name and a version (results
    say ``name@version``), an exact one-paragraph definition, and its own noise ceiling."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def layers_as(self) -> str:
        """What the metric takes of each layer: ``"rdms"`` (:class:`brainalign.rsa.LayerRDMs`)
        or ``"kernels"`` (:class:`brainalign.metrics.LayerKernels`)."""

    @property
    def definition(self) -> str:
        """What the score is, exactly, in a few sentences (results carry it; no measured numbers)."""

    @property
    def resampling(self) -> str:
        """How a stimulus resample is scored (for the text of an interval)."""

    def score(self, layers: Any, target: Any, *, seed: int = 0) -> MetricScores: ...

    def ceiling(self, target: Any, *, seed: int = 0) -> NoiseCeiling | None: ...


def takes_responses(metric: Metric) -> bool:
    """Whether ``metric`` scores a target's measured responses (:class:`TargetResponses`) as they
    are (its optional attribute ``takes_responses``); a metric that does not say takes RDMs, and a
    benchmark hands it each subject's RDM of its responses."""
    return bool(getattr(metric, "takes_responses", False))


def metric_id(metric: Metric) -> str:
    """``name@version``, as benchmark ids carry it."""
    return f"{metric.name}@{metric.version}"


def two_factor_samples(
    scores: MetricScores,
    statistic: SubjectStatistic,
    draws: TwoFactorDraws,
    *,
    batch: int = RESAMPLE_BATCH,
) -> TwoFactorSamples:
    """A statistic of the ``(layers, subjects)`` scores bootstrapped over subjects, over stimuli
    and over both, from one set of ``draws``: as :func:`brainalign.rsa.inference.bootstrap_two_factor`
    does for classical RSA, for any metric (``statistic(per_subject, sample)`` as there)."""
    by_subjects = [statistic(scores.per_subject, sample) for sample in draws.subjects]
    by_stimuli, by_both = [], []
    for start in range(0, draws.n_boot, batch):
        stop = min(start + batch, draws.n_boot)
        resampled = scores.resample(draws.stimulus_counts[start:stop])
        for table, sample in zip(resampled, draws.subjects[start:stop]):
            by_stimuli.append(statistic(table, None))
            by_both.append(statistic(table, sample))
    return TwoFactorSamples(
        *(np.asarray(s, dtype=np.float64) for s in (by_subjects, by_stimuli, by_both))
    )


def weighted_pearson(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray, *, groups: np.ndarray | None = None
) -> np.ndarray:
    """Pearson's r of the columns of ``x`` and ``y`` (``(m, q)`` each, or ``(m,)``) with the ``m``
    observations weighted by each row of ``weights`` ``(B, m)``: ``(B, q)``; or, with ``groups``
    (a label ``0 … g−1`` per column), ``(B, g)``: one r per group of columns, their covariances and
    variances summed before dividing, as for one vector-valued variable. Undefined (a constant
    side, or fewer than two observations with weight) → NaN."""
    x2 = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y2 = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    x2 = x2 - x2.mean(axis=0)  # centring first keeps the one-pass moments free of cancellation
    y2 = y2 - y2.mean(axis=0)
    total = w.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        sum_x, sum_y = w @ x2, w @ y2
        second_x, second_y = w @ (x2 * x2), w @ (y2 * y2)
        cov = w @ (x2 * y2) - sum_x * sum_y / total
        var_x, var_y = second_x - sum_x**2 / total, second_y - sum_y**2 / total
        if groups is not None:
            cov, var_x, var_y, second_x, second_y = (
                _group_sums(v, groups) for v in (cov, var_x, var_y, second_x, second_y)
            )
        flat = ~((var_x > 1e-13 * second_x) & (var_y > 1e-13 * second_y))
        r = cov / np.sqrt(var_x * var_y)
    return np.clip(np.where(flat, np.nan, r), -1.0, 1.0)


def _group_sums(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Column sums of ``values`` ``(B, q)`` within each group (labels ``0 … g−1``, each present)."""
    order = np.argsort(groups, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(np.asarray(groups)[order]) != 0])
    return np.add.reduceat(values[:, order], starts, axis=1)


def fold_pearson(
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    folds: np.ndarray,
    *,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`weighted_pearson` within each fold (``folds``: the fold of each observation),
    averaged over the folds where it is defined. Each fold's predictions come from their own fit,
    so each fold is correlated on its own; and a fold's r does not depend on the fit to its own
    observations, so with no relation its mean is 0 (the r of all out-of-fold predictions pooled
    is negative on average, even centred within folds)."""
    per_fold = np.stack(
        [
            weighted_pearson(x[folds == f], y[folds == f], weights[:, folds == f], groups=groups)
            for f in np.unique(folds)
        ]
    )
    return quiet_nanmean(per_fold, axis=0)


def quiet_nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    """``np.nanmean`` without its warning where nothing is defined (the mean is NaN then)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nothing defined: NaN, as it should be
        return np.nanmean(values, axis=axis)


def pearson(x: np.ndarray, y: np.ndarray, *, groups: np.ndarray | None = None) -> np.ndarray:
    """Unweighted :func:`weighted_pearson`: ``(q,)``, or ``(g,)`` with ``groups``."""
    return weighted_pearson(x, y, np.ones((1, len(x))), groups=groups)[0]


def pair_weights(counts: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Weights ``c_i·c_j`` of the pairs ``(rows, cols)`` of distinct stimuli under stimulus draw
    counts ``(B, n)``: a pair drawn ``c_i`` and ``c_j`` times counts ``c_i·c_j`` times, and a
    stimulus paired with its own copy is dropped, as in the RSA bootstrap."""
    counts = np.asarray(counts, dtype=np.float64)
    return counts[:, rows] * counts[:, cols]


def mean_others(stack: Sequence[np.ndarray] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(others, everyone)``: for each subject the mean of the other subjects' arrays, and the
    mean of all (the two sides of a leave-one-subject-out ceiling)."""
    arrays = np.asarray(stack, dtype=np.float64)
    total = arrays.sum(axis=0)
    return (total[None] - arrays) / (len(arrays) - 1), total / len(arrays)
