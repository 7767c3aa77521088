"""What every metric shares: the two-factor bootstrap (for classical RSA, bit for bit the one the
human benchmarks make), weighted correlations against materialised resamples, folds assigned
by stimulus id, and the registry of built-in metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from brainalign.benchmarks.scoring import cv_over_subjects, subject_halves
from brainalign.metrics import (
    METRICS,
    ClassicalRSA,
    Encoding,
    Kernel,
    LayerKernels,
    LinearCKA,
    Metric,
    ReweightedRSA,
    fold_pearson,
    metric_id,
    stimulus_folds,
    two_factor_samples,
    weighted_pearson,
)
from brainalign.rsa import LayerRDMs, RDMs, TargetRDMs, rdm
from brainalign.rsa.inference import TwoFactorDraws, bootstrap_two_factor, two_factor_interval


def _planted(
    seed: int, n: int = 30, subjects: int = 6
) -> tuple[LayerKernels, LayerRDMs, TargetRDMs]:
    """Three layers, subjects whose patterns are a noisy linear map of layer 1."""
    rng = np.random.default_rng(seed)
    ids = tuple(f"img{k:02d}" for k in range(n))
    features = [rng.normal(size=(n, 12)) for _ in range(3)]
    patterns = [
        features[1] @ rng.normal(size=(12, 8)) + 2.0 * rng.normal(size=(n, 8))
        for _ in range(subjects)
    ]
    names, depths = ("l0", "l1", "l2"), (0.0, 0.5, 1.0)
    kernels = LayerKernels(tuple(Kernel.from_features(f) for f in features), names, depths, ids)
    layer_rdms = LayerRDMs(
        RDMs(np.stack([rdm(f, "correlation") for f in features]), names, ids, "correlation"), depths
    )
    target = TargetRDMs.from_subjects(
        "roi",
        RDMs(
            np.stack([rdm(p, "correlation") for p in patterns]),
            [f"s{k}" for k in range(subjects)],
            ids,
            "correlation",
        ),
    )
    return kernels, layer_rdms, target


def _statistic(masks: np.ndarray):
    return lambda table, sample: cv_over_subjects(table, masks, sample)[0]


def test_classical_rsa_bootstraps_exactly_as_the_human_benchmarks_do() -> None:
    _, layer_rdms, target = _planted(0)
    masks = subject_halves(6, 10, np.random.default_rng(1))
    draws = TwoFactorDraws.draw(6, 30, 40, subject_seed=2, stimulus_seed=3)
    ours = two_factor_samples(
        ClassicalRSA().score(layer_rdms, target), _statistic(masks), draws, batch=7
    )
    theirs = bootstrap_two_factor(layer_rdms.rdms.data, target.rdms.data, _statistic(masks), draws)
    for mine, reference in (
        (ours.subjects, theirs.subjects),
        (ours.stimuli, theirs.stimuli),
        (ours.both, theirs.both),
    ):
        np.testing.assert_array_equal(mine, reference)


@pytest.mark.parametrize(
    "metric", [ReweightedRSA(n_folds=3), LinearCKA(), Encoding(n_folds=3)], ids=lambda m: m.name
)
def test_every_feature_metric_gets_a_two_factor_interval_around_its_score(metric: Metric) -> None:
    kernels, _, target = _planted(4)
    scores = metric.score(kernels, target, seed=0)
    masks = subject_halves(6, 10, np.random.default_rng(1))
    value, choices = cv_over_subjects(scores.per_subject, masks)
    assert set(choices.tolist()) == {1}  # the planted layer
    draws = TwoFactorDraws.draw(6, 30, 60, subject_seed=2, stimulus_seed=3)
    samples = two_factor_samples(scores, _statistic(masks), draws)
    low, high, variance = two_factor_interval(value, samples, 6, 30)
    assert low < value < high and math.isfinite(variance.variance)
    # the stimulus resamples do move the score, and resample 0 of a draw of every stimulus once is the score
    assert np.nanstd(samples.stimuli) > 0
    once = scores.resample(np.ones((1, 30)))[0]
    np.testing.assert_allclose(once, scores.per_subject, atol=1e-12)


def test_the_ceilings_lie_between_zero_and_one_with_the_lower_below_the_upper() -> None:
    _, _, target = _planted(5)
    for metric in (ReweightedRSA(n_folds=3), LinearCKA(), Encoding(n_folds=3)):
        ceiling = metric.ceiling(target, seed=0)
        assert 0 < ceiling.lower < ceiling.upper < 1, (metric.name, ceiling)


def test_weighted_pearson_is_numpys_on_the_materialised_copies() -> None:
    rng = np.random.default_rng(6)
    x, y = (
        rng.normal(size=(15, 3)) + 100,
        rng.normal(size=(15, 3)) - 50,
    )  # far from 0: no cancellation
    counts = np.stack([np.bincount(rng.integers(0, 15, 15), minlength=15) for _ in range(4)])
    found = weighted_pearson(x, y, counts)
    pooled = weighted_pearson(x, y, counts, groups=np.zeros(3, dtype=int))[:, 0]
    for b, drawn in enumerate(counts):
        copies = np.repeat(np.arange(15), drawn)
        for q in range(3):
            assert found[b, q] == pytest.approx(
                np.corrcoef(x[copies, q], y[copies, q])[0, 1], abs=1e-12
            )
        xc, yc = x[copies] - x[copies].mean(0), y[copies] - y[copies].mean(0)
        assert pooled[b] == pytest.approx(
            np.sum(xc * yc) / np.sqrt(np.sum(xc**2) * np.sum(yc**2)), abs=1e-12
        )
    assert np.isnan(weighted_pearson(x, np.ones((15, 3)), counts)).all()  # a constant side has no r
    one = np.zeros((1, 15))
    one[0, 3] = 2
    assert np.isnan(weighted_pearson(x, y, one)).all()  # one stimulus drawn twice: no r


def test_fold_pearson_averages_the_folds_where_r_is_defined() -> None:
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=12), rng.normal(size=12)
    folds = np.repeat([0, 1, 2], 4)
    weights = np.ones((1, 12))
    weights[0, 8:11] = 0  # fold 2 keeps one stimulus: no r there
    expected = np.mean(
        [np.corrcoef(x[f * 4 : f * 4 + 4], y[f * 4 : f * 4 + 4])[0, 1] for f in (0, 1)]
    )
    assert fold_pearson(x, y, weights, folds)[0, 0] == pytest.approx(expected, abs=1e-12)


def test_folds_follow_the_stimulus_ids_not_the_row_order() -> None:
    ids = [f"stim{k:03d}" for k in range(23)]
    folds = stimulus_folds(ids, 5, seed=4)
    assert sorted(np.bincount(folds).tolist()) == [4, 4, 5, 5, 5]
    order = np.random.default_rng(0).permutation(23)
    shuffled = stimulus_folds([ids[i] for i in order], 5, seed=4)
    np.testing.assert_array_equal(shuffled, folds[order])
    assert not np.array_equal(stimulus_folds(ids, 5, seed=5), folds)


def test_the_feature_metrics_match_layers_and_target_by_stimulus_id() -> None:
    kernels, _, target = _planted(8)
    order = np.random.default_rng(1).permutation(30)
    shuffled = LayerKernels(
        tuple(k.select(order) for k in kernels.kernels),
        kernels.names,
        kernels.depths,
        tuple(kernels.stimulus_ids[i] for i in order),
    )
    for metric in (ReweightedRSA(n_folds=3), LinearCKA(), Encoding(n_folds=3)):
        np.testing.assert_allclose(
            metric.score(shuffled, target).per_subject,
            metric.score(kernels, target).per_subject,
            atol=1e-9,
        )


def test_the_built_in_metrics_are_named_versioned_and_defined() -> None:
    assert set(METRICS) == {"rsa", "wrsa", "cka", "encoding"}
    for name, metric in METRICS.items():
        assert isinstance(metric, Metric) and metric.name == name
        assert metric_id(metric) == f"{name}@{metric.version}"
        assert metric.layers_as in ("rdms", "kernels")
        assert len(metric.definition) > 100 and metric.definition == type(metric)().definition
        assert "resample" in metric.resampling
