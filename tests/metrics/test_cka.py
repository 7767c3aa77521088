"""Linear CKA against the textbook HSIC formula, rsatoolbox's whitened RDM cosine (equal to linear
CKA on squared-Euclidean RDMs: Diedrichsen et al. 2021), materialised stimulus resamples, and
planted ground truth (a target made from one layer picks that layer)."""

from __future__ import annotations

import numpy as np
import pytest
import rsatoolbox
from scipy.spatial.distance import pdist

from brainalign.benchmarks.scoring import cv_over_subjects, subject_halves
from brainalign.metrics import (
    Kernel,
    LayerKernels,
    LinearCKA,
    TargetResponses,
    cka,
    cka_resampled,
    cka_table,
)
from brainalign.rsa import RDMs, TargetRDMs, rdm


def textbook_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Kornblith et al.'s HSIC with explicit centring matrices, on the features themselves."""
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, m = x @ x.T, y @ y.T

    def hsic(a: np.ndarray, b: np.ndarray) -> float:
        return np.trace(a @ h @ b @ h)

    return hsic(k, m) / np.sqrt(hsic(k, k) * hsic(m, m))


def _pair(seed: int, n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 40)) + 3.0
    y = x[:, :10] @ rng.normal(size=(10, 7)) + 2.0 * rng.normal(size=(n, 7))
    return x, y


def test_cka_is_the_textbook_formula_from_gram_matrices_or_features() -> None:
    x, y = _pair(0)
    expected = textbook_cka(x, y)
    assert cka(Kernel.from_gram(x @ x.T), Kernel.from_features(y)) == pytest.approx(
        expected, abs=1e-12
    )
    assert cka(x @ x.T, y @ y.T) == pytest.approx(expected, abs=1e-12)
    # the features form: ‖Ỹᵀ X̃‖² / (‖X̃ᵀ X̃‖ ‖Ỹᵀ Ỹ‖)
    xc, yc = x - x.mean(0), y - y.mean(0)
    assert expected == pytest.approx(
        np.linalg.norm(yc.T @ xc) ** 2 / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc)),
        abs=1e-12,
    )


def test_cka_equals_rsatoolboxs_whitened_cosine_of_squared_euclidean_rdms() -> None:
    x, y = _pair(1, n=20)
    theirs = rsatoolbox.rdm.compare(
        rsatoolbox.rdm.RDMs(pdist(x, "sqeuclidean")[None]),
        rsatoolbox.rdm.RDMs(pdist(y, "sqeuclidean")[None]),
        method="cosine_cov",
    )
    layers = LayerKernels(
        (Kernel.from_gram(x @ x.T),), ("layer",), (1.0,), tuple(map(str, range(20)))
    )
    target = TargetRDMs(
        "t", RDMs(rdm(y, "sqeuclidean")[None], ["s"], layers.stimulus_ids, "sqeuclidean")
    )
    assert LinearCKA().score(layers, target).per_subject[0, 0] == pytest.approx(
        theirs[0, 0], abs=1e-10
    )


def test_cka_is_invariant_to_rotation_scale_and_translation() -> None:
    x, y = _pair(2)
    rotation, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(40, 40)))
    assert cka(x @ x.T, y @ y.T) == pytest.approx(
        cka((7 * x @ rotation + 1) @ (7 * x @ rotation + 1).T, y @ y.T), abs=1e-12
    )
    assert cka(x @ x.T, x @ x.T) == pytest.approx(1.0, abs=1e-14)


def test_a_correlation_rdm_target_gives_the_cka_of_its_z_scored_patterns() -> None:
    """The RDM alone gives exactly the number the voxel patterns would (z-scored per stimulus,
    which is what a correlation distance sees)."""
    x, y = _pair(4, n=25)
    ids = tuple(f"i{k}" for k in range(25))
    layers = LayerKernels((Kernel.from_gram(x @ x.T),), ("layer",), (1.0,), ids)
    target = TargetRDMs("t", RDMs(rdm(y, "correlation")[None], ["s"], ids, "correlation"))
    z = (y - y.mean(axis=1, keepdims=True)) / y.std(axis=1, keepdims=True)
    assert LinearCKA().score(layers, target).per_subject[0, 0] == pytest.approx(
        textbook_cka(x, z), abs=1e-12
    )


def test_resampled_cka_weighs_the_drawn_pairs_as_the_rsa_bootstrap_does() -> None:
    """Each resample by hand: every ordered pair of drawn copies, except a stimulus with its own
    copy (a copy with itself stays), over the full data's centred Gram matrices; and a resample
    of every stimulus once is the CKA itself."""
    rng = np.random.default_rng(5)
    layers = [rng.normal(size=(12, 20)) for _ in range(3)]
    targets = [layers[0][:, :5] + rng.normal(size=(12, 5)) for _ in range(2)]
    counts = np.stack([np.bincount(rng.integers(0, 12, 12), minlength=12) for _ in range(6)])
    counts[0] = 1
    centred_layers = [Kernel.from_features(f).centred_gram() for f in layers]
    centred_targets = [Kernel.from_features(f).centred_gram() for f in targets]
    found = cka_resampled(centred_layers, centred_targets, counts)
    for b, drawn in enumerate(counts):
        origin = np.repeat(np.arange(12), drawn)
        a_index, b_index = np.meshgrid(
            np.arange(origin.size), np.arange(origin.size), indexing="ij"
        )
        kept = (a_index == b_index) | (origin[a_index] != origin[b_index])
        i, j = origin[a_index[kept]], origin[b_index[kept]]
        for li, k in enumerate(centred_layers):
            for ti, t in enumerate(centred_targets):
                expected = np.sum(k[i, j] * t[i, j]) / np.sqrt(
                    np.sum(k[i, j] ** 2) * np.sum(t[i, j] ** 2)
                )
                assert found[b, li, ti] == pytest.approx(expected, abs=1e-12)
    np.testing.assert_allclose(found[0], cka_table(centred_layers, centred_targets), atol=1e-12)


def test_the_ceiling_is_leave_one_subject_out_on_the_subjects_gram_matrices() -> None:
    rng = np.random.default_rng(6)
    shared = rng.normal(size=(14, 6))
    subjects = [shared + rng.normal(size=(14, 6)) for _ in range(4)]
    target = TargetResponses("t", subjects, ["a", "b", "c", "d"], tuple(map(str, range(14))))
    grams = [(s - s.mean(0)) @ (s - s.mean(0)).T for s in subjects]
    lower = np.mean(
        [
            cka(g, np.mean([o for j, o in enumerate(grams) if j != i], axis=0))
            for i, g in enumerate(grams)
        ]
    )
    upper = np.mean([cka(g, np.mean(grams, axis=0)) for g in grams])
    ceiling = LinearCKA().ceiling(target)
    assert ceiling.lower == pytest.approx(lower, abs=1e-12) and ceiling.upper == pytest.approx(
        upper, abs=1e-12
    )
    assert 0 < ceiling.lower < ceiling.upper < 1


@pytest.mark.parametrize("noise", [0.0, 1.0])
def test_a_target_made_from_one_layer_picks_that_layer(noise: float) -> None:
    """Subjects' patterns are a rotation and scaling of layer 2's features, plus noise: layer 2
    is chosen on every split; without noise its CKA is exactly 1, with noise it is the CKA of the
    layer with the noisy patterns."""
    rng = np.random.default_rng(7)
    n, ids = 50, tuple(f"img{k:02d}" for k in range(50))
    features = [rng.normal(size=(n, 30)) for _ in range(4)]
    features[3] = features[2] @ rng.normal(size=(30, 30)) * 0.3 + rng.normal(
        size=(n, 30)
    )  # a related layer
    layers = LayerKernels(
        tuple(Kernel.from_features(f) for f in features),
        ("l0", "l1", "l2", "l3"),
        (0.0, 0.3, 0.6, 1.0),
        ids,
    )
    patterns = []
    for _ in range(6):
        rotation, _ = np.linalg.qr(rng.normal(size=(30, 30)))
        patterns.append(2.5 * features[2] @ rotation + noise * rng.normal(size=(n, 30)))
    target = TargetRDMs.from_subjects(
        "roi",
        RDMs(
            np.stack([rdm(p, "euclidean") for p in patterns]),
            [f"s{k}" for k in range(6)],
            ids,
            "euclidean",
        ),
    )
    scores = LinearCKA().score(layers, target).per_subject
    value, choices = cv_over_subjects(scores, subject_halves(6, 20, np.random.default_rng(0)))
    assert set(choices.tolist()) == {2}
    expected = np.mean([textbook_cka(features[2], p) for p in patterns])
    assert value == pytest.approx(expected, abs=1e-10)
    if noise == 0:
        assert value == pytest.approx(1.0, abs=1e-10)
