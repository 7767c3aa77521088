"""Layer RDMs from the Gram matrix agree with scipy/sklearn pairwise distances."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import pdist, squareform
from sklearn.metrics import pairwise_distances

from brainalign import BrainAlignError
from brainalign.rsa import DISTANCES, condense, gram, rdm, rdm_from_gram, to_square, upper_triangle
from brainalign.rsa import dissimilarity as rdm_module

SCIPY_METRIC = {d: d for d in DISTANCES}


@pytest.fixture
def features() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(40, 300)) + 0.5


@pytest.mark.parametrize("distance", DISTANCES)
def test_every_distance_matches_pdist(features: np.ndarray, distance: str) -> None:
    ours = rdm(features, distance)
    assert ours.dtype == np.float64 and ours.shape == (40 * 39 // 2,)
    np.testing.assert_allclose(ours, pdist(features, SCIPY_METRIC[distance]), rtol=0, atol=1e-10)


@pytest.mark.parametrize("distance", DISTANCES)
def test_every_distance_matches_sklearn(features: np.ndarray, distance: str) -> None:
    metric = "euclidean" if distance == "sqeuclidean" else distance
    reference = pairwise_distances(features, metric=metric)
    if distance == "sqeuclidean":
        reference = reference**2
    np.testing.assert_allclose(
        ours := rdm(features, distance), upper_triangle(reference), atol=1e-10
    )
    assert ours.shape == (780,)


@pytest.mark.parametrize("distance", DISTANCES)
def test_float32_chunked_gram_is_exact_in_float64(
    monkeypatch: pytest.MonkeyPatch, distance: str
) -> None:
    """float32 activations go through the chunked float64 Gram; results equal float64 pdist."""
    monkeypatch.setattr(rdm_module, "_CHUNK_ELEMENTS", 512)  # force many column chunks
    x32 = np.random.default_rng(1).normal(size=(25, 700)).astype(np.float32)
    np.testing.assert_allclose(
        rdm(x32, distance), pdist(x32.astype(np.float64), distance), atol=1e-10
    )


def test_torch_tensors_and_feature_maps_are_flattened_per_stimulus() -> None:
    x = torch.randn(12, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    expected = pdist(x.reshape(12, -1).double().numpy(), "cosine")
    np.testing.assert_allclose(rdm(x, "cosine"), expected, atol=1e-10)


def test_rdm_from_gram_centres_a_raw_gram_for_correlation(features: np.ndarray) -> None:
    g = features @ features.T
    ours = rdm_from_gram(g, "correlation", row_sums=features.sum(1), n_features=features.shape[1])
    np.testing.assert_allclose(ours, pdist(features, "correlation"), atol=1e-10)
    with pytest.raises(BrainAlignError, match="n_features"):
        rdm_from_gram(g, "correlation", row_sums=features.sum(1))


@pytest.mark.parametrize("distance", ["cosine", "euclidean", "sqeuclidean"])
def test_rdm_from_gram_equals_rdm(features: np.ndarray, distance: str) -> None:
    np.testing.assert_allclose(
        rdm_from_gram(gram(features), distance), pdist(features, distance), atol=1e-9
    )


def test_near_duplicate_stimuli_keep_euclidean_exact() -> None:
    """Gram arithmetic loses digits for nearly equal rows; those pairs are recomputed directly."""
    rng = np.random.default_rng(2)
    base = rng.normal(size=(1, 5000)) * 1000
    x = np.vstack([base, base + 1e-9 * rng.normal(size=base.shape), rng.normal(size=(3, 5000))])
    ours = rdm(x, "euclidean")
    np.testing.assert_allclose(ours, pdist(x, "euclidean"), rtol=1e-6, atol=1e-12)
    assert 0 < ours[0] < 1e-6


def test_zero_vector_gives_nan_cosine_with_a_warning() -> None:
    x = np.vstack([np.zeros(4), np.arange(4.0), np.arange(4.0)[::-1]])
    with pytest.warns(RuntimeWarning, match="all-zero"):
        ours = rdm(x, "cosine")
    assert np.isnan(ours[:2]).all() and np.isfinite(ours[2])


def test_bad_inputs_are_named() -> None:
    with pytest.raises(BrainAlignError, match="unknown distance 'manhattan'"):
        rdm(np.ones((3, 2)), "manhattan")
    with pytest.raises(BrainAlignError, match="at least 2 stimuli"):
        rdm(np.ones((1, 2)))
    with pytest.raises(BrainAlignError, match=r"shape \(n_stimuli"):
        rdm(np.ones(5))


def test_condense_and_to_square_round_trip() -> None:
    square = squareform(pdist(np.random.default_rng(3).normal(size=(9, 4))))
    condensed = condense(square)
    np.testing.assert_array_equal(condensed, squareform(square, checks=False))
    np.testing.assert_array_equal(to_square(condensed), square)
    stack = np.stack([square, 2 * square])
    np.testing.assert_array_equal(condense(stack)[1], 2 * condensed)


def test_condense_rejects_matrices_that_are_not_rdms() -> None:
    square = squareform(np.arange(1.0, 7.0))
    asymmetric = square.copy()
    asymmetric[0, 1] += 1
    with pytest.raises(BrainAlignError, match="not symmetric"):
        condense(asymmetric)
    diagonal = square + np.eye(4)
    with pytest.raises(BrainAlignError, match="diagonal"):
        condense(diagonal)


finite = st.floats(min_value=-100, max_value=100, allow_nan=False, width=64)


@settings(max_examples=150, deadline=None)
@given(
    x=arrays(np.float64, st.tuples(st.integers(2, 7), st.integers(2, 6)), elements=finite),
    distance=st.sampled_from(DISTANCES),
)
def test_property_matches_pdist_with_ties_and_tiny_n(x: np.ndarray, distance: str) -> None:
    x = np.round(x)  # many ties and repeated rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ours = rdm(x, distance)
        reference = pdist(x, distance)
    rows, cols = np.triu_indices(len(x), 1)
    centred = x - x.mean(1, keepdims=True) if distance == "correlation" else x
    degenerate = ~np.any(centred, axis=1)  # all-zero (centred) rows: cosine/correlation undefined
    undefined = (degenerate[rows] | degenerate[cols]) & (distance in ("cosine", "correlation"))
    assert np.isnan(ours[undefined]).all()
    assert np.isfinite(ours[~undefined]).all()
    np.testing.assert_allclose(ours[~undefined], reference[~undefined], atol=1e-9, rtol=1e-9)
