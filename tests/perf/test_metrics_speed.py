"""Speed of the feature metrics at the main job's scale: 92 stimuli, 20 layers × 20,000 features
(float32, as a network gives them), 15 subjects' RDMs (the 92-image fMRI targets). Each metric
from the Gram matrices extraction already computes, against the obvious pipeline on the features:

(a) encoding: scikit-learn's ``cross_val_predict(RidgeCV(alphas))`` per layer and subject, on
    the subject's MDS coordinates (a fixed sample of the 300 layer × subject fits is timed and
    extrapolated);
(b) feature-reweighted RSA: scikit-learn's PCA per fold, the explicit pair design (one scipy
    RDM per component), ``scipy.optimize.nnls`` per subject (sampled likewise);
(c) linear CKA with 1000 stimulus resamples: the textbook formula (explicit centring matrices)
    on each materialised resample (sampled likewise).

Each check also asserts that the numbers agree with brainalign's.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.optimize import nnls
from scipy.spatial.distance import pdist
from sklearn.decomposition import PCA
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import PredefinedSplit, cross_val_predict

from brainalign import rsa
from brainalign.metrics import (
    ALPHA_GRID,
    Encoding,
    Kernel,
    LayerKernels,
    LinearCKA,
    ReweightedRSA,
    embedding,
    splits,
    stimulus_folds,
)

N_STIMULI, N_LAYERS, N_FEATURES, N_SUBJECTS, N_BOOT = 92, 20, 20_000, 15, 1000
SAMPLED = 3
GROUP = "metrics 92 stim/20×20k/15 subjects"


@pytest.fixture(scope="module")
def data() -> tuple[list[np.ndarray], LayerKernels, rsa.TargetRDMs]:
    rng = np.random.default_rng(2000)
    latent = rng.normal(size=(N_STIMULI, 40))
    features = [
        np.abs(
            latent @ rng.normal(size=(40, N_FEATURES)) + rng.normal(size=(N_STIMULI, N_FEATURES))
        ).astype(np.float32)
        for _ in range(N_LAYERS)
    ]
    ids = tuple(f"obj{k:02d}" for k in range(1, N_STIMULI + 1))
    layers = LayerKernels(
        tuple(Kernel.from_gram(rsa.gram(x)) for x in features),
        tuple(f"layer{k}" for k in range(N_LAYERS)),
        tuple(np.linspace(0, 1, N_LAYERS)),
        ids,
    )
    patterns = [
        latent[:, :10] @ rng.normal(size=(10, 200)) + 3 * rng.normal(size=(N_STIMULI, 200))
        for _ in range(N_SUBJECTS)
    ]
    target = rsa.TargetRDMs.from_subjects(
        "roi",
        rsa.RDMs(
            np.stack([rsa.rdm(p, "correlation") for p in patterns]),
            [f"s{k}" for k in range(N_SUBJECTS)],
            ids,
            "correlation",
        ),
    )
    return features, layers, target


def _timed(function):
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def test_encoding_from_gram_matrices_vs_sklearn(data, perf_record) -> None:
    features, layers, target = data
    scores, seconds = _timed(lambda: Encoding().score(layers, target, seed=0))
    perf_record(GROUP + "/encoding", "brainalign", seconds)
    folds = stimulus_folds(target.stimulus_ids, 5, 0)
    coordinates = [embedding(r, "correlation").coordinates for r in target.rdms.data]

    class Scaled(RidgeCV):  # RidgeCV with brainalign's penalties: ALPHA_GRID × tr(centred Gram)
        def fit(self, x, y, **kwargs):
            centred = x - x.mean(axis=0, dtype=np.float64)
            self.alphas = ALPHA_GRID * float(np.sum(centred.astype(np.float64) ** 2))
            return super().fit(x.astype(np.float64), y, **kwargs)

    rng = np.random.default_rng(0)
    sample = [(int(rng.integers(N_LAYERS)), int(rng.integers(N_SUBJECTS))) for _ in range(SAMPLED)]
    started = time.perf_counter()
    for layer, subject in sample:
        predicted = cross_val_predict(
            Scaled(alpha_per_target=False),
            features[layer],
            coordinates[subject],
            cv=PredefinedSplit(folds),
        )
        r = np.mean(
            [
                np.sum((p - p.mean(0)) * (y - y.mean(0)))
                / np.sqrt(np.sum((p - p.mean(0)) ** 2) * np.sum((y - y.mean(0)) ** 2))
                for p, y in (
                    (predicted[folds == f], coordinates[subject][folds == f]) for f in range(5)
                )
            ]
        )
        assert r == pytest.approx(scores.per_subject[layer, subject], abs=1e-6)
    elapsed = (time.perf_counter() - started) * N_LAYERS * N_SUBJECTS / SAMPLED
    perf_record(
        GROUP + "/encoding",
        "sklearn cross_val_predict(RidgeCV)",
        elapsed,
        f"{SAMPLED} of {N_LAYERS * N_SUBJECTS} layer × subject fits timed, extrapolated",
    )


def test_reweighted_rsa_vs_pca_design_and_nnls(data, perf_record) -> None:
    features, layers, target = data
    metric = ReweightedRSA()
    scores, seconds = _timed(lambda: metric.score(layers, target, seed=0))
    perf_record(GROUP + "/wrsa", "brainalign", seconds)
    folds = stimulus_folds(target.stimulus_ids, 5, 0)
    rng = np.random.default_rng(1)
    sample = [(int(rng.integers(N_LAYERS)), int(rng.integers(N_SUBJECTS))) for _ in range(SAMPLED)]
    started = time.perf_counter()
    squares = rsa.to_square(target.rdms.data)
    for layer, subject in sample:
        per_fold = []
        for train, test in splits(folds):
            components = min(metric.components, len(train) - 2)
            pca = PCA(n_components=components).fit(features[layer][train].astype(np.float64))
            a_train = _design(pca.transform(features[layer][train].astype(np.float64)))
            a_test = _design(pca.transform(features[layer][test].astype(np.float64)))
            d_train = rsa.upper_triangle(squares[subject][np.ix_(train, train)])
            w = nnls(a_train - a_train.mean(0), d_train - d_train.mean())[0]
            per_fold.append(
                np.corrcoef(a_test @ w, rsa.upper_triangle(squares[subject][np.ix_(test, test)]))[
                    0, 1
                ]
            )
        assert np.mean(per_fold) == pytest.approx(scores.per_subject[layer, subject], abs=1e-6)
    elapsed = (time.perf_counter() - started) * N_LAYERS * N_SUBJECTS / SAMPLED
    perf_record(
        GROUP + "/wrsa",
        "sklearn PCA + pair design + scipy nnls",
        elapsed,
        f"{SAMPLED} of {N_LAYERS * N_SUBJECTS} layer × subject fits timed, extrapolated",
    )


def _design(scores: np.ndarray) -> np.ndarray:
    """One column per component: the squared differences of its scores over pairs of stimuli."""
    return np.stack([pdist(scores[:, [k]], "sqeuclidean") for k in range(scores.shape[1])], axis=1)


def test_cka_resamples_vs_the_textbook_formula(data, perf_record) -> None:
    _, layers, target = data
    counts = np.stack(
        [
            np.bincount(
                np.random.default_rng(k).integers(0, N_STIMULI, N_STIMULI), minlength=N_STIMULI
            )
            for k in range(N_BOOT)
        ]
    )
    scores = LinearCKA().score(layers, target)
    resampled, seconds = _timed(
        lambda: np.concatenate(
            [scores.resample(counts[k : k + 128]) for k in range(0, N_BOOT, 128)]
        )
    )
    perf_record(GROUP + "/cka 1000 resamples", "brainalign", seconds)
    grams = [k.centred_gram() for k in layers.kernels]
    targets = [embedding(r, "correlation").gram() for r in target.rdms.data]
    started = time.perf_counter()
    for b in range(SAMPLED):
        origin = np.repeat(np.arange(N_STIMULI), counts[b])
        i, j = np.meshgrid(origin, origin, indexing="ij")
        keep = (np.arange(len(origin))[:, None] == np.arange(len(origin))[None, :]) | (i != j)
        for layer in range(N_LAYERS):
            for subject in range(N_SUBJECTS):
                k, t = grams[layer][i, j][keep], targets[subject][i, j][keep]
                expected = np.sum(k * t) / np.sqrt(np.sum(k * k) * np.sum(t * t))
                assert expected == pytest.approx(resampled[b, layer, subject], abs=1e-9)
    elapsed = (time.perf_counter() - started) * N_BOOT / SAMPLED
    perf_record(
        GROUP + "/cka 1000 resamples",
        "materialised resamples",
        elapsed,
        f"{SAMPLED} of {N_BOOT} resamples timed, extrapolated",
    )
