"""A layer's kernel: the training split's principal axes from a Gram matrix or from features
agree with scikit-learn's PCA; kernels are matched by stimulus id; the count sketch is the same
whatever the column blocks and unbiased for the Gram matrix."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.decomposition import PCA

from brainalign.errors import BrainAlignError
from brainalign.metrics import Kernel, LayerKernels, sketch
from brainalign.metrics.kernels import SKETCH_CHUNK


def _features(n: int = 30, d: int = 80, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # a large common mean, as ReLU activations have: centring the Gram matrix must not lose it
    return rng.normal(size=(n, 6)) @ rng.normal(size=(6, d)) + 0.3 * rng.normal(size=(n, d)) + 5.0


@pytest.mark.parametrize("form", ["gram", "features"])
def test_split_scores_are_sklearn_pca_fitted_on_the_training_stimuli(form: str) -> None:
    x = _features()
    train, test = np.arange(0, 30, 3)[::-1], np.setdiff1d(np.arange(30), np.arange(0, 30, 3))
    train, test = test, train  # 20 training stimuli, 10 held out, neither in order
    kernel = Kernel.from_gram(x @ x.T) if form == "gram" else Kernel.from_features(x[:, :12])
    features = x if form == "gram" else x[:, :12]
    split = kernel.split(train, test)
    pca = PCA().fit(features[train])
    k = min(split.rank, 8)
    train_scores, test_scores = split.scores(k)
    expected_train, expected_test = (
        pca.transform(features[train])[:, :k],
        pca.transform(features[test])[:, :k],
    )
    signs = np.sign(np.sum(train_scores * expected_train, axis=0))  # principal axes have no sign
    np.testing.assert_allclose(train_scores * signs, expected_train, atol=1e-9)
    np.testing.assert_allclose(test_scores * signs, expected_test, atol=1e-9)
    np.testing.assert_allclose(
        split.eigenvalues[:k], pca.explained_variance_[:k] * (len(train) - 1), rtol=1e-9
    )


def test_gram_and_features_give_the_same_split() -> None:
    x = _features(d=15)
    train, test = np.arange(20), np.arange(20, 30)
    a, b = Kernel.from_gram(x @ x.T).split(train, test), Kernel.from_features(x).split(train, test)
    assert a.rank == b.rank == 15
    np.testing.assert_allclose(a.eigenvalues, b.eigenvalues, rtol=1e-9)
    # the kernel between test and training stimuli, whatever the basis's signs
    np.testing.assert_allclose(
        a.test_projection @ a.basis.T, b.test_projection @ b.basis.T, atol=1e-8
    )
    np.testing.assert_allclose(
        Kernel.from_gram(x @ x.T).centred_gram(), Kernel.from_features(x).centred_gram(), atol=1e-9
    )


def test_a_constant_layer_has_no_components() -> None:
    split = Kernel.from_features(np.ones((10, 4))).split(np.arange(6), np.arange(6, 10))
    assert split.rank == 0


def test_layer_kernels_are_matched_by_stimulus_id() -> None:
    x = _features(n=6, d=5)
    ids = ("a", "b", "c", "d", "e", "f")
    layers = LayerKernels(
        (Kernel.from_gram(x @ x.T), Kernel.from_features(x)), ("l1", "l2"), (0.0, 1.0), ids
    )
    order = [4, 0, 2]
    reordered = layers.reorder([ids[i] for i in order])
    for kernel in reordered.kernels:
        np.testing.assert_allclose(kernel.gram(), x[order] @ x[order].T, atol=1e-12)
    with pytest.raises(BrainAlignError, match="not in these layers"):
        layers.reorder(["a", "z"])
    with pytest.raises(BrainAlignError, match="cover"):
        LayerKernels((Kernel.from_features(x[:5]),), ("l1",), (0.0,), ids)


def test_bad_kernels_are_refused_with_the_reason() -> None:
    with pytest.raises(BrainAlignError, match="square"):
        Kernel.from_gram(np.ones((3, 4)))
    with pytest.raises(BrainAlignError, match="NaN"):
        Kernel.from_features(np.array([[1.0, np.nan], [0.0, 1.0]]))


def test_the_sketch_does_not_depend_on_how_the_columns_were_blocked() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(7, SKETCH_CHUNK + 300)).astype(np.float32)
    whole = sketch(x, 0, 16, seed=5)
    cuts = [0, 1000, SKETCH_CHUNK - 7, SKETCH_CHUNK + 100, x.shape[1]]
    blocked = sum(sketch(x[:, a:b], a, 16, seed=5) for a, b in itertools.pairwise(cuts))
    np.testing.assert_allclose(blocked, whole, atol=1e-9)
    assert not np.allclose(sketch(x, 0, 16, seed=6), whole)  # the seed matters


def test_the_sketch_is_unbiased_for_the_gram_matrix() -> None:
    """E[Z Zᵀ] = X Xᵀ: the mean over many seeds lies within 5 standard errors of the Gram matrix,
    the error bounded by Var[(Z Zᵀ)ᵢⱼ] ≤ 2‖xᵢ‖²‖xⱼ‖²/k for a count sketch of k dimensions."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(5, 60))
    k, seeds = 8, 400
    mean = np.mean([z @ z.T for z in (sketch(x, 0, k, seed=s) for s in range(seeds))], axis=0)
    norms = np.linalg.norm(x, axis=1)
    bound = 5 * np.sqrt(2 / k / seeds) * np.outer(norms, norms)
    assert np.all(np.abs(mean - x @ x.T) <= bound)
