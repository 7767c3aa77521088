"""Ridge encoding against scikit-learn (``cross_val_predict`` of ``RidgeCV``), its RDM form against
the patterns behind the RDM, its noise ceiling against a brute-force loop and planted signal and
noise, its resamples against materialised ones, and planted ground truth: responses made as a
linear map of one layer plus noise pick that layer and recover the planted r."""

from __future__ import annotations

import numpy as np
import pytest
from metric_helpers import fold_mean_r
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import PredefinedSplit, cross_val_predict

from brainalign.benchmarks.scoring import cv_over_subjects, subject_halves
from brainalign.metrics import (
    ALPHA_GRID,
    Encoding,
    Kernel,
    LayerKernels,
    TargetResponses,
    cross_validated_ridge,
    fold_pearson,
    noise_ceiling_r,
    pearson,
    stimulus_folds,
)
from brainalign.rsa import RDMs, TargetRDMs, rdm


class ScaledRidgeCV(RegressorMixin, BaseEstimator):
    """scikit-learn's RidgeCV (efficient leave-one-out) with the penalties brainalign uses:
    ALPHA_GRID times the trace of the training features' centred Gram matrix."""

    def __init__(self, alpha_per_target: bool = True) -> None:
        self.alpha_per_target = alpha_per_target

    def fit(self, x: np.ndarray, y: np.ndarray) -> ScaledRidgeCV:
        centred = x - x.mean(axis=0)
        self.trace_ = float(np.sum(centred * centred))
        self.model_ = RidgeCV(
            alphas=ALPHA_GRID * self.trace_,
            fit_intercept=True,
            alpha_per_target=self.alpha_per_target,
        ).fit(x, y)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model_.predict(x)


def _data(seed: int, n: int = 40, d: int = 120, q: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) + 1.5
    y = x[:, :5] @ rng.normal(size=(5, q)) * np.linspace(0.2, 3, q) + rng.normal(size=(n, q)) * 4
    return x, y


@pytest.mark.parametrize("per_target", [True, False])
@pytest.mark.parametrize("form", ["gram", "features"])
def test_out_of_fold_predictions_are_sklearns(per_target: bool, form: str) -> None:
    x, y = _data(0)
    if form == "features":
        x = x[:, :20]  # narrower than the training folds: the features path (thin SVD)
    folds = stimulus_folds([f"s{i}" for i in range(len(x))], 5, seed=3)
    kernel = Kernel.from_gram(x @ x.T) if form == "gram" else Kernel.from_features(x)
    groups = None if per_target else np.zeros(y.shape[1], dtype=int)
    ours = cross_validated_ridge(kernel, y, folds, groups)
    theirs = cross_val_predict(ScaledRidgeCV(per_target), x, y, cv=PredefinedSplit(folds))
    np.testing.assert_allclose(
        ours.predictions, theirs, rtol=1e-7, atol=1e-8 * np.abs(theirs).max()
    )
    for fold in range(5):  # the same penalties were chosen
        model = ScaledRidgeCV(per_target).fit(x[folds != fold], y[folds != fold])
        np.testing.assert_allclose(
            ours.alphas[fold],
            np.broadcast_to(model.model_.alpha_, (y.shape[1],)) / model.trace_,
            rtol=1e-12,
        )


def test_the_rdm_form_scores_the_patterns_behind_the_rdm_whatever_their_rotation() -> None:
    """A squared-Euclidean RDM's score is the pooled r of a ridge fit to the patterns themselves
    (one penalty for all dimensions): its MDS coordinates are those patterns rotated and shifted,
    which neither the fit nor the pooled r sees."""
    x, y = _data(1, q=4)
    ids = tuple(f"s{i}" for i in range(len(x)))
    layers = LayerKernels((Kernel.from_gram(x @ x.T),), ("layer",), (1.0,), ids)
    target = TargetRDMs("t", RDMs(rdm(y, "sqeuclidean")[None], ["sub"], ids, "sqeuclidean"))
    found = Encoding().score(layers, target, seed=2).per_subject[0, 0]
    folds = stimulus_folds(ids, 5, seed=2)
    rotation, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(4, 4)))
    for patterns in (y, y @ rotation + 10):
        direct = cross_validated_ridge(
            Kernel.from_features(x), patterns, folds, np.zeros(4, dtype=int)
        )
        one_group = np.zeros(4, dtype=int)  # one r for the pattern as a whole
        expected = fold_pearson(
            direct.predictions, patterns, np.ones((1, len(x))), folds, groups=one_group
        )[0, 0]
        assert found == pytest.approx(expected, abs=1e-9)


def test_measured_responses_score_the_mean_over_units_of_each_units_r() -> None:
    """Each unit's r of sklearn's out-of-fold predictions on each test fold, averaged over folds;
    a stimulus resample re-scores those predictions on the materialised resample."""
    x, y = _data(2, q=5)
    ids = tuple(f"s{i}" for i in range(len(x)))
    layers = LayerKernels((Kernel.from_features(x),), ("layer",), (1.0,), ids)
    scores = Encoding().score(layers, TargetResponses("t", [y], ["sub"], ids), seed=0)
    folds = stimulus_folds(ids, 5, 0)
    predicted = cross_val_predict(ScaledRidgeCV(True), x, y, cv=PredefinedSplit(folds))
    expected = np.mean([fold_mean_r(predicted[:, v], y[:, v], folds) for v in range(5)])
    assert scores.per_subject[0, 0] == pytest.approx(expected, abs=1e-9)
    counts = np.bincount(np.random.default_rng(3).integers(0, len(x), len(x)), minlength=len(x))
    copies = np.repeat(np.arange(len(x)), counts)
    resampled = np.mean(
        [fold_mean_r(predicted[copies, v], y[copies, v], folds[copies]) for v in range(5)]
    )
    assert scores.resample(counts[None])[0, 0, 0] == pytest.approx(resampled, abs=1e-9)


def test_an_unrelated_layer_scores_about_zero_not_below() -> None:
    """A fold's r does not depend on its own responses' fit, so with responses unrelated to the
    features it is 0 on average (flip the fold's responses' signs: its predictions stay, its r
    flips). The r of all out-of-fold predictions pooled is negative on average."""
    rng = np.random.default_rng(9)
    n, ids = 60, tuple(f"s{i}" for i in range(60))
    found, pooled = [], []
    for _ in range(40):
        x, y = rng.normal(size=(n, 30)), rng.normal(size=(n, 10))
        layers = LayerKernels((Kernel.from_features(x),), ("layer",), (1.0,), ids)
        found.append(
            Encoding().score(layers, TargetResponses("t", [y], ["s"], ids)).per_subject[0, 0]
        )
        predicted = cross_validated_ridge(
            Kernel.from_features(x), y, stimulus_folds(ids, 5, 0)
        ).predictions
        pooled.append(np.mean(pearson(predicted, y)))
    # each experiment's score is the mean of 10 units' r, each the mean of 5 folds' r on 12
    # stimuli (sd about 0.3): about 0.04 to 0.06 from experiment to experiment, so the mean of 40
    # lies within 0.04 of 0 (4 standard errors) unless the score is biased
    assert abs(np.mean(found)) < 0.04
    assert np.mean(pooled) < -0.1


def test_the_noise_ceiling_is_the_ncsnr_formula_unit_by_unit() -> None:
    rng = np.random.default_rng(4)
    trials = rng.normal(size=(3, 30, 4)) + rng.normal(size=(1, 30, 4)) * np.array([0.1, 1, 2, 0])
    found = noise_ceiling_r(trials)
    for v in range(4):
        noise = np.mean([np.var(trials[:, i, v], ddof=1) for i in range(30)])
        total = np.var(trials[:, :, v].mean(axis=0), ddof=1)
        assert found[v] == pytest.approx(np.sqrt(max(total - noise / 3, 0) / total), abs=1e-12)


def test_the_noise_ceiling_is_what_the_true_signal_reaches() -> None:
    """With many stimuli the ceiling is the population correlation of signal and trial average,
    sqrt(s / (s + n / R)), and a model that predicts the signal exactly reaches it."""
    rng = np.random.default_rng(5)
    signal_sd, noise_sd, repeats = np.array([0.5, 1.0, 2.0]), 1.5, 2
    signal = rng.normal(size=(20000, 3)) * signal_sd
    trials = signal[None] + noise_sd * rng.normal(size=(repeats, 20000, 3))
    truth = np.sqrt(signal_sd**2 / (signal_sd**2 + noise_sd**2 / repeats))
    np.testing.assert_allclose(noise_ceiling_r(trials), truth, atol=0.02)
    np.testing.assert_allclose(pearson(signal, trials.mean(axis=0)), truth, atol=0.02)


def test_the_ceiling_without_repeats_predicts_each_subject_from_the_others() -> None:
    x, _ = _data(6, n=30)
    shared = x[:, :4]
    rng = np.random.default_rng(6)
    ids = tuple(f"s{i}" for i in range(30))
    subjects = [shared @ rng.normal(size=(4, 3)) + rng.normal(size=(30, 3)) for _ in range(3)]
    target = TargetResponses("t", subjects, ["a", "b", "c"], ids)
    ceiling = Encoding().ceiling(target, seed=1)
    folds = stimulus_folds(ids, 5, seed=1)
    centred = [(s - s.mean(0)) @ (s - s.mean(0)).T for s in subjects]

    def score(gram: np.ndarray, y: np.ndarray) -> float:
        predicted = cross_validated_ridge(Kernel.from_gram(gram), y, folds).predictions
        return float(
            np.mean([fold_mean_r(predicted[:, v], y[:, v], folds) for v in range(y.shape[1])])
        )

    lower = np.mean([score((sum(centred) - centred[s]) / 2, subjects[s]) for s in range(3)])
    upper = np.mean([score(sum(centred) / 3, subjects[s]) for s in range(3)])
    assert (ceiling.lower, ceiling.upper) == pytest.approx((lower, upper), abs=1e-12)
    assert ceiling.lower < ceiling.upper


def test_responses_made_from_one_layer_pick_it_and_recover_the_planted_r() -> None:
    """Each voxel is a random linear map of layer 2's 8 features plus trial noise (2 repeats):
    layer 2 wins every split, and its r is the planted correlation of signal and trial average.
    A little below it: the map is estimated from 320 stimuli, which costs about p/n·(1 − r²) of
    r² (8/320 · 0.5, so about 0.01 of r); the mean over 120 voxels of r on 400 stimuli varies by
    about 0.01 more. Divided by the noise ceiling it is about 1."""
    rng = np.random.default_rng(8)
    n, voxels, repeats, noise_sd = 400, 20, 2, 1.0
    ids = tuple(f"img{k:03d}" for k in range(n))
    features = [rng.normal(size=(n, 40)) for _ in range(4)]
    features[2] = rng.normal(size=(n, 8))  # the planted layer: 8 features
    features[3] = features[2] @ rng.normal(size=(8, 40)) + 3 * rng.normal(
        size=(n, 40)
    )  # partly related
    layers = LayerKernels(
        tuple(Kernel.from_gram(f @ f.T) for f in features),
        ("l0", "l1", "l2", "l3"),
        (0.0, 0.3, 0.6, 1.0),
        ids,
    )
    trials, planted = [], []
    for _ in range(6):
        weights = rng.normal(size=(8, voxels)) * rng.uniform(0.1, 0.5, size=voxels)
        signal = features[2] @ weights
        trials.append(signal[None] + noise_sd * rng.normal(size=(repeats, n, voxels)))
        signal_var = np.sum(weights**2, axis=0)  # the features are unit-variance and independent
        planted.append(np.mean(np.sqrt(signal_var / (signal_var + noise_sd**2 / repeats))))
    target = TargetResponses("roi", trials, [f"s{k}" for k in range(6)], ids)
    metric = Encoding()
    scores = metric.score(layers, target, seed=0).per_subject
    value, choices = cv_over_subjects(scores, subject_halves(6, 20, np.random.default_rng(0)))
    assert set(choices.tolist()) == {2}
    assert np.mean(planted) - 0.04 < value < np.mean(planted) + 0.02
    ceiling = metric.ceiling(target)
    assert value / ceiling.upper == pytest.approx(1.0, abs=0.05)
