"""A target RDM's patterns (classical MDS): exactly the patterns behind a Euclidean,
squared-Euclidean, correlation or cosine RDM, up to rotation, translation and scale; measured
responses are checked and matched by stimulus id."""

from __future__ import annotations

import numpy as np
import pytest

from brainalign.errors import BrainAlignError
from brainalign.metrics import TargetResponses, double_centre, embedding, subject_patterns
from brainalign.rsa import RDMs, TargetRDMs, rdm


def _patterns(seed: int = 0, n: int = 15, p: int = 9) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, p)) + 2.0


def _normalised(x: np.ndarray, distance: str) -> np.ndarray:
    """The patterns whose squared Euclidean distances the RDM is (module docstring of targets)."""
    if distance == "correlation":  # 1 - r = |z_i - z_j|^2 / (2p), z-scored with ddof 0
        z = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
        return z / np.sqrt(2 * x.shape[1])
    if distance == "cosine":  # 1 - cos = |u_i - u_j|^2 / 2
        return x / np.linalg.norm(x, axis=1, keepdims=True) / np.sqrt(2)
    return x


@pytest.mark.parametrize("distance", ["euclidean", "sqeuclidean", "correlation", "cosine"])
def test_the_embedding_of_a_euclidean_rdm_is_exactly_its_patterns(distance: str) -> None:
    x = _patterns()
    found = embedding(rdm(x, distance), distance)
    y = _normalised(x, distance)
    np.testing.assert_allclose(found.gram(), double_centre(y @ y.T), atol=1e-12)
    assert found.negative_share < 1e-12


def test_a_non_euclidean_rdm_loses_its_negative_part_and_says_how_much() -> None:
    rng = np.random.default_rng(1)
    values = rng.uniform(0.1, 1.0, size=45)  # random dissimilarities: no Euclidean embedding
    found = embedding(values, "judgement")
    assert 0.01 < found.negative_share < 1
    spectrum = np.linalg.eigvalsh(found.gram())
    assert spectrum.min() > -1e-12  # what is left is a Gram matrix


def test_subject_patterns_of_rdms_and_of_responses() -> None:
    x = [_patterns(seed) for seed in range(3)]
    ids = [f"s{i}" for i in range(15)]
    target = TargetRDMs.from_subjects(
        "roi",
        RDMs(np.stack([rdm(p, "sqeuclidean") for p in x]), ["a", "b", "c"], ids, "sqeuclidean"),
    )
    patterns = subject_patterns(target)
    assert patterns.from_rdms and len(patterns.patterns) == 3
    for found, original in zip(patterns.centred_grams(), x):
        np.testing.assert_allclose(found, double_centre(original @ original.T), atol=1e-10)
    responses = TargetResponses("roi", [np.stack([p, p + 1]) for p in x], ["a", "b", "c"], ids)
    measured = subject_patterns(responses)
    assert not measured.from_rdms
    np.testing.assert_allclose(measured.patterns[0], x[0] + 0.5)


def test_responses_are_matched_by_stimulus_id_and_checked() -> None:
    x = _patterns(n=4, p=3)
    responses = TargetResponses("roi", [x], ["a"], ["w", "x", "y", "z"])
    np.testing.assert_array_equal(responses.reorder(["z", "w"]).responses()[0], x[[3, 0]])
    with pytest.raises(BrainAlignError, match="no responses"):
        responses.reorder(["q"])
    with pytest.raises(BrainAlignError, match="4 stimulus ids"):
        TargetResponses("roi", [x[:3]], ["a"], ["w", "x", "y", "z"])
    with pytest.raises(BrainAlignError, match="NaN"):
        TargetResponses("roi", [np.where(x > 2.5, np.nan, x)], ["a"], ["w", "x", "y", "z"])
