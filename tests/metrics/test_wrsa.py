"""Feature-reweighted RSA against a brute-force implementation (scikit-learn's PCA on each fold's
training stimuli, one scipy RDM per component, ``scipy.optimize.nnls`` on the explicit pair
design), its moment formulas against that design, its resamples against materialised ones, and
planted ground truth: a target RDM made as a known non-negative mixture of one layer's components
picks that layer and recovers the weights and the planted r."""

from __future__ import annotations

import numpy as np
import pytest
from metric_helpers import fold_mean_r
from scipy.optimize import nnls
from scipy.spatial.distance import pdist
from sklearn.decomposition import PCA

from brainalign.benchmarks.scoring import cv_over_subjects, subject_halves
from brainalign.errors import BrainAlignError
from brainalign.metrics import (
    Kernel,
    LayerKernels,
    ReweightedRSA,
    TargetResponses,
    nonnegative_weights,
    reweighted_groups,
    reweighted_rsa,
    splits,
    stimulus_folds,
)
from brainalign.metrics.wrsa import score_moments
from brainalign.rsa import RDMs, TargetRDMs, to_square


def _design(scores: np.ndarray) -> np.ndarray:
    """The explicit pair design: one column per component, its squared differences over pairs."""
    return np.stack([pdist(scores[:, [k]], "sqeuclidean") for k in range(scores.shape[1])], axis=1)


def test_the_moment_formulas_are_the_explicit_pair_design() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(13, 4)) + rng.normal(size=4)  # not centred: the general formulas
    rdms = np.stack([pdist(rng.normal(size=(13, 3))) for _ in range(2)])
    normal, cross, column_means, d_means = score_moments(scores, to_square(rdms))
    design = _design(scores)
    centred = design - design.mean(axis=0)
    np.testing.assert_allclose(normal, centred.T @ centred, rtol=1e-10)
    np.testing.assert_allclose(
        cross, centred.T @ (rdms - rdms.mean(axis=1, keepdims=True)).T, rtol=1e-10
    )
    np.testing.assert_allclose(column_means, design.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(d_means, rdms.mean(axis=1), rtol=1e-12)


@pytest.mark.parametrize("rank_deficient", [False, True])
def test_nonnegative_weights_from_the_normal_equations_are_scipys_nnls(
    rank_deficient: bool,
) -> None:
    rng = np.random.default_rng(1)
    design = rng.normal(size=(60, 5))
    if rank_deficient:
        design[:, 4] = design[:, 0] + design[:, 1]  # a unique solution still: a's weights are ≥ 0
    target = design @ np.array([1.0, 0.0, 2.0, 0.5, 0.0]) - design[:, 1] + rng.normal(size=60)
    found = nonnegative_weights(design.T @ design, (design.T @ target)[:, None])[:, 0]
    expected = nnls(design, target)[0]
    assert np.sum((design @ found - target) ** 2) == pytest.approx(
        np.sum((design @ expected - target) ** 2), rel=1e-10
    )
    if not rank_deficient:
        np.testing.assert_allclose(found, expected, atol=1e-9)
    assert (found >= 0).all()


def brute_force(
    features: np.ndarray, rdms: np.ndarray, folds: np.ndarray, components: int
) -> np.ndarray:
    """Every fold by hand: PCA fitted on the training stimuli, the explicit design of their pairs,
    scipy's NNLS with a free intercept (both sides centred), predictions for the test pairs."""
    predictions = []
    for train, test in splits(folds):
        pca = PCA(n_components=min(components, len(train) - 2)).fit(features[train])
        design_train, design_test = (
            _design(pca.transform(features[train])),
            _design(pca.transform(features[test])),
        )
        observed = np.stack([r[pdist_index(train, len(folds))] for r in rdms])
        out = []
        for d in observed:
            w = nnls(design_train - design_train.mean(axis=0), d - d.mean())[0]
            out.append(design_test @ w + d.mean() - design_train.mean(axis=0) @ w)
        predictions.append(np.stack(out))
    return np.concatenate(predictions, axis=1)


def pdist_index(stimuli: np.ndarray, n: int) -> np.ndarray:
    """Condensed indices of the pairs of ``stimuli`` (sorted), in pdist's order."""
    i, j = np.triu_indices(len(stimuli), k=1)
    lo, hi = np.minimum(stimuli[i], stimuli[j]), np.maximum(stimuli[i], stimuli[j])
    return n * lo - lo * (lo + 1) // 2 + hi - lo - 1


@pytest.mark.parametrize("form", ["gram", "features"])
def test_reweighted_predictions_are_the_brute_force_ones(form: str) -> None:
    rng = np.random.default_rng(2)
    features = rng.normal(size=(30, 50)) @ np.diag(np.linspace(2, 0.1, 50)) + 1.0
    if form == "features":
        features = features[:, :15]
    rdms = np.stack(
        [
            pdist(features[:, :5] @ rng.normal(size=(5, 4)) + rng.normal(size=(30, 4)))
            for _ in range(3)
        ]
    )
    folds = stimulus_folds([f"s{i}" for i in range(30)], 4, seed=0)
    kernel = (
        Kernel.from_gram(features @ features.T)
        if form == "gram"
        else Kernel.from_features(features)
    )
    found = reweighted_rsa(kernel, rdms, folds, components=6)
    np.testing.assert_allclose(
        found.predictions, brute_force(features, rdms, folds, 6), rtol=1e-8, atol=1e-10
    )
    expected_pairs = np.concatenate([pdist_index(test, 30) for _, test in splits(folds)])
    lo, hi = np.minimum(found.rows, found.cols), np.maximum(found.rows, found.cols)
    np.testing.assert_array_equal(30 * lo - lo * (lo + 1) // 2 + hi - lo - 1, expected_pairs)


def test_wide_layers_use_all_but_one_component_and_match_the_brute_force() -> None:
    """With all n − 1 components of n training stimuli, their RDMs divided by their eigenvalues
    sum to the same value for every pair (whitened scores lie on a regular simplex): a constant
    the intercept absorbs, so the weights would not be unique. One fewer, and they are."""
    rng = np.random.default_rng(12)
    features = np.abs(
        rng.normal(size=(25, 300)) + rng.normal(size=(25, 3)) @ rng.normal(size=(3, 300))
    )
    train = np.arange(20)
    split = Kernel.from_features(features).split(train, np.arange(20, 25))
    assert split.rank == 19
    scores = split.scores()[0]
    whitened_sum = _design(scores) @ (1 / split.eigenvalues)
    np.testing.assert_allclose(whitened_sum, whitened_sum[0], rtol=1e-9)  # the constant
    rdms = np.stack([pdist(features[:, :4] + rng.normal(size=(25, 4)))])
    folds = stimulus_folds([f"s{i}" for i in range(25)], 5, seed=0)
    found = reweighted_rsa(Kernel.from_gram(features @ features.T), rdms, folds)
    np.testing.assert_allclose(
        found.predictions, brute_force(features, rdms, folds, 100), rtol=1e-7, atol=1e-9
    )
    assert np.count_nonzero(found.weights[:, :, 18:]) == 0  # 20 training stimuli: 18 components


def test_groups_given_as_rdms_fit_the_same_way() -> None:
    """One group, another RDM (the ceiling's case): its weight and intercept are the least-squares
    line of the training pairs, clipped at a non-negative slope."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(20, 4))
    group, target = pdist(x), 2.0 * pdist(x) + 0.3 + 0.1 * rng.normal(size=190)
    folds = stimulus_folds([f"s{i}" for i in range(20)], 4, seed=1)
    found = reweighted_groups(group, target, folds)
    for f, (train, _) in enumerate(splits(folds)):
        pairs = pdist_index(train, 20)
        slope, intercept = np.polyfit(group[pairs], target[pairs], 1)
        assert found.weights[f, 0, 0] == pytest.approx(slope, rel=1e-9)
        assert found.intercepts[f, 0] == pytest.approx(intercept, rel=1e-9)
    flipped = reweighted_groups(group, -target, folds)
    assert np.all(flipped.weights == 0)  # a negative relation gets no weight, only an intercept


def test_resampled_scores_are_those_of_the_materialised_resample() -> None:
    rng = np.random.default_rng(4)
    ids = tuple(f"s{i}" for i in range(24))
    features = rng.normal(size=(24, 10))
    layers = LayerKernels((Kernel.from_features(features),), ("l",), (1.0,), ids)
    rdms = np.stack([pdist(features[:, :3] + rng.normal(size=(24, 3))) for _ in range(2)])
    target = TargetRDMs("t", RDMs(rdms, ["a", "b"], ids, "euclidean"))
    scores = ReweightedRSA(n_folds=3).score(layers, target, seed=0)
    folds = stimulus_folds(ids, 3, 0)
    fit = reweighted_rsa(Kernel.from_features(features), rdms, folds)
    counts = np.bincount(rng.integers(0, 24, 24), minlength=24)
    resampled = scores.resample(counts[None])[0, 0]
    pair_folds = folds[fit.rows]
    for s in range(2):
        observed = to_square(rdms[s])[fit.rows, fit.cols]
        copies = np.repeat(np.arange(len(fit.rows)), counts[fit.rows] * counts[fit.cols])
        expected = fold_mean_r(fit.predictions[s, copies], observed[copies], pair_folds[copies])
        assert resampled[s] == pytest.approx(expected, abs=1e-12)
        assert scores.per_subject[0, s] == pytest.approx(
            fold_mean_r(fit.predictions[s], observed, pair_folds), abs=1e-12
        )


def test_an_rdm_made_from_one_layers_components_picks_it_and_recovers_weights_and_r() -> None:
    """Subjects' RDMs are a planted non-negative mixture of layer 1's axes' squared differences
    (axes of clearly different variance, so PCA finds them), plus noise: layer 1 wins every split,
    the weights come back, and the score is the planted r (the correlation of the noise-free and
    the noisy dissimilarities on the held-out pairs), a little below it: each fold's axes are
    estimated from 120 stimuli, and a slightly rotated axis predicts a little worse."""
    rng = np.random.default_rng(5)
    n, ids = 150, tuple(f"img{k:03d}" for k in range(150))
    axes = rng.normal(size=(n, 4)) * np.array([3.0, 2.0, 1.2, 0.6])
    features = [
        rng.normal(size=(n, 20)),
        axes @ np.linalg.qr(rng.normal(size=(4, 4)))[0],
        np.hstack([axes[:, :1], rng.normal(size=(n, 10))]),
    ]
    layers = LayerKernels(
        tuple(Kernel.from_gram(f @ f.T) for f in features), ("l0", "l1", "l2"), (0.0, 0.5, 1.0), ids
    )
    planted = np.array([0.2, 1.0, 0.0, 3.0])
    clean = sum(w * pdist(axes[:, [k]], "sqeuclidean") for k, w in enumerate(planted))
    noisy = [clean + rng.normal(scale=clean.std() * 0.7, size=clean.shape) for _ in range(6)]
    target = TargetRDMs.from_subjects(
        "roi", RDMs(np.stack(noisy), [f"s{k}" for k in range(6)], ids, "unknown")
    )
    metric = ReweightedRSA(components=4)
    scores = metric.score(layers, target, seed=0)
    value, choices = cv_over_subjects(
        scores.per_subject, subject_halves(6, 20, np.random.default_rng(0))
    )
    assert set(choices.tolist()) == {1}
    fit = reweighted_rsa(
        layers.kernels[1], np.stack(noisy), stimulus_folds(ids, 5, 0), components=4
    )
    # PCA orders the axes by variance, so the weights come in that order: 0.2, 1.0, 0.0, 3.0
    np.testing.assert_allclose(fit.weights.mean(axis=(0, 1)), planted, atol=0.1)
    held_out, blocks = to_square(clean)[fit.rows, fit.cols], stimulus_folds(ids, 5, 0)[fit.rows]
    planted_r = np.mean(
        [fold_mean_r(held_out, to_square(d)[fit.rows, fit.cols], blocks) for d in noisy]
    )
    assert planted_r - 0.03 < value < planted_r + 0.01


def test_the_ceiling_is_the_metric_with_the_other_subjects_mean_rdm_as_the_only_group() -> None:
    rng = np.random.default_rng(6)
    ids = tuple(f"s{i}" for i in range(18))
    shared = rng.normal(size=(18, 3))
    rdms = np.stack([pdist(shared + rng.normal(size=(18, 3))) for _ in range(4)])
    target = TargetRDMs.from_subjects("t", RDMs(rdms, list("abcd"), ids, "euclidean"))
    ceiling = ReweightedRSA(n_folds=3).ceiling(target, seed=2)
    folds = stimulus_folds(ids, 3, 2)

    def score(group: np.ndarray, d: np.ndarray) -> float:
        fit = reweighted_groups(group, d, folds)
        return fold_mean_r(fit.predictions[0], to_square(d)[fit.rows, fit.cols], folds[fit.rows])

    lower = np.mean([score(np.delete(rdms, s, axis=0).mean(axis=0), rdms[s]) for s in range(4)])
    upper = np.mean([score(rdms.mean(axis=0), rdms[s]) for s in range(4)])
    assert (ceiling.lower, ceiling.upper) == pytest.approx((lower, upper), abs=1e-12)
    assert 0 < ceiling.lower < ceiling.upper < 1


def test_responses_must_become_rdms_first() -> None:
    ids = ("a", "b", "c")
    layers = LayerKernels((Kernel.from_features(np.eye(3)),), ("l",), (1.0,), ids)
    with pytest.raises(BrainAlignError, match="make each subject's RDM"):
        ReweightedRSA().score(layers, TargetResponses("t", [np.eye(3)], ["s"], ids))
