"""benchmarks.scoring against brute-force loops and planted ground truth."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import spearmanr

from brainalign.benchmarks.base import LAYERWISE_COLUMNS
from brainalign.benchmarks.scoring import cv_over_subjects, score_target, subject_halves
from brainalign.errors import BrainAlignError
from brainalign.rsa import LayerRDMs, RDMs, TargetRDMs

N_STIMULI = 30
PAIRS = N_STIMULI * (N_STIMULI - 1) // 2
IDS = tuple(f"s{i:02d}" for i in range(N_STIMULI))


def synthetic_target(
    rng: np.random.Generator, n_subjects: int = 10, noise: float = 1.5
) -> TargetRDMs:
    truth = rng.random(PAIRS)
    subjects = truth + noise * rng.random((n_subjects, PAIRS)) * truth.std() * 3
    return TargetRDMs.from_subjects(
        "ROI", RDMs(subjects, [f"p{i}" for i in range(n_subjects)], IDS)
    )


def planted_layers(rng: np.random.Generator, target: TargetRDMs, noise_levels) -> LayerRDMs:
    """Layer k = subject-mean RDM + noise whose size falls with k: the last layer is best."""
    mean = target.rdms.data.mean(axis=0)
    data = np.stack([mean + level * mean.std() * rng.normal(size=PAIRS) for level in noise_levels])
    names = [f"layer{k}" for k in range(len(noise_levels))]
    return LayerRDMs(
        RDMs(data, names, IDS, "cosine"), np.linspace(0, 1, len(noise_levels)), "planted"
    )


def test_layerwise_rho_equals_scipy_loop() -> None:
    rng = np.random.default_rng(0)
    target = synthetic_target(rng)
    layers = planted_layers(rng, target, [3.0, 1.0, 0.3])
    result = score_target(layers, target, n_boot=10, seed=0)
    table = result.layerwise()
    assert list(table.columns) == list(LAYERWISE_COLUMNS)
    assert len(table) == 3 * 10
    for row in table.itertuples():
        expected = spearmanr(layers.rdms.get(row.layer), target.rdms.get(row.subject)).statistic
        assert row.value == pytest.approx(expected, abs=1e-12)
        assert row.depth == layers.depths[row.layer_index] and row.target == "ROI"


def _explicit_cross_validation(per_subject: np.ndarray, masks: np.ndarray, sample: np.ndarray):
    """Brute force: each drawn copy of a subject, in each split, is scored at the layer chosen on
    the copies in the other half (the half its original is in decides); splits with an empty half
    are skipped."""
    held_out, picks = [], []
    for mask in masks:
        in_a = mask[sample]
        if in_a.all() or not in_a.any():
            continue
        for choose, test in ((in_a, ~in_a), (~in_a, in_a)):
            layer = int(np.argmax(per_subject[:, sample[choose]].mean(axis=1)))
            picks.append(layer)
            held_out.extend(per_subject[layer, sample[test]])
    return np.mean(held_out), picks


@pytest.mark.parametrize("resampled", [False, True])
def test_cross_validation_equals_explicit_loop(resampled: bool) -> None:
    rng = np.random.default_rng(1)
    per_subject = rng.normal(size=(7, 9))  # 7 layers, 9 subjects
    masks = subject_halves(9, 25, np.random.default_rng(2))
    assert (masks.sum(axis=1) == 4).all()
    sample = np.array([0, 0, 0, 3, 5, 5, 6, 8, 8]) if resampled else np.arange(9)
    expected, picks = _explicit_cross_validation(per_subject, masks, sample)
    value, chosen = cv_over_subjects(per_subject, masks, sample if resampled else None)
    assert value == pytest.approx(expected, abs=1e-12)
    assert sorted(chosen.tolist()) == sorted(picks)


def test_cross_validation_with_even_subjects_is_the_mean_of_both_halves() -> None:
    """With equal halves, the mean over held-out subjects is the mean of the two halves' means
    (the study's wording, and docs/metrics.md's)."""
    rng = np.random.default_rng(5)
    per_subject = rng.normal(size=(6, 10))
    masks = subject_halves(10, 20, np.random.default_rng(6))
    halves = []
    for mask in masks:
        for choose, test in ((mask, ~mask), (~mask, mask)):
            halves.append(
                per_subject[int(np.argmax(per_subject[:, choose].mean(axis=1))), test].mean()
            )
    assert cv_over_subjects(per_subject, masks)[0] == pytest.approx(np.mean(halves), abs=1e-12)


def test_planted_best_layer_is_found_and_normalised_below_one() -> None:
    rng = np.random.default_rng(3)
    target = synthetic_target(rng, n_subjects=12)
    layers = planted_layers(rng, target, [8.0, 4.0, 2.0, 1.0, 0.5, 0.1])
    result = score_target(layers, target, seed=0)
    summary = result.summary()
    assert summary["brain_similarity"]["layer"] == "layer5"
    assert summary["brain_similarity_max"]["layer"] == "layer5"
    assert list(result.layer_means) == sorted(result.layer_means)  # less noise, higher rho
    assert 0.8 < summary["brain_similarity"]["normalised"] <= 1.02
    bs = summary["brain_similarity"]
    assert bs["ci_low"] < bs["value"] < bs["ci_high"]
    assert bs["normalised_ci_low"] == pytest.approx(bs["ci_low"] / target.ceiling.upper)
    ceiling = summary["noise_ceiling"]
    assert (ceiling["lower"], ceiling["upper"]) == (target.ceiling.lower, target.ceiling.upper)
    assert ceiling["reliable"] is True and ceiling["reliability"]["p"] < 0.05


def _null_problem(seed: int) -> tuple[LayerRDMs, TargetRDMs]:
    rng = np.random.default_rng(seed)
    subjects = rng.random((10, PAIRS))
    target = TargetRDMs.from_subjects("ROI", RDMs(subjects, [f"p{i}" for i in range(10)], IDS))
    layers = LayerRDMs(
        RDMs(rng.random((40, PAIRS)), [f"l{i}" for i in range(40)], IDS), np.linspace(0, 1, 40)
    )
    return layers, target


def test_cross_validation_removes_the_selection_bias_of_the_max() -> None:
    """Subjects share no structure, so no layer can predict a new subject (expected rho 0). The
    max over 40 layers is inflated by picking the layer that fits these subjects' noise; the
    cross-validated score, chosen and tested on different subjects, is not."""
    seeds = 12
    results = [score_target(*_null_problem(seed), n_boot=0, seed=seed) for seed in range(seeds)]
    best = np.mean([r.best_value for r in results])
    cv = np.mean([r.cv_value for r in results])
    # rho of unrelated RDMs is about N(0, 1/(PAIRS - 1)); a layer's mean over 10 subjects has sd s,
    # and the largest of 40 such means is expected near 2.25 s
    s = 1 / np.sqrt((PAIRS - 1) * 10)
    expected_max = s * np.max(np.random.default_rng(0).normal(size=(20_000, 40)), axis=1).mean()
    assert best > expected_max - 3 * s / np.sqrt(seeds)
    assert abs(cv) < 3 * s / np.sqrt(seeds)


def test_bootstrap_interval_covers_the_score_without_leaking_copies() -> None:
    """Copies of a resampled subject stay in one half; otherwise a copy would pick the layer
    and its twin test it, and the interval would sit above the score."""
    for seed in range(4):
        result = score_target(*_null_problem(seed), n_boot=300, seed=0)
        low, high = result.cv_ci
        assert low < result.cv_value < high
        assert low < 0 < high


def test_same_seed_same_bits_other_seed_other_intervals() -> None:
    rng = np.random.default_rng(5)
    target = synthetic_target(rng)
    layers = planted_layers(rng, target, [1.0, 1.0, 1.0, 1.0])
    first = score_target(layers, target, n_boot=200, seed=7)
    again = score_target(layers, target, n_boot=200, seed=7)
    other = score_target(layers, target, n_boot=200, seed=8)
    assert first.summary() == again.summary()
    assert first.layerwise().equals(again.layerwise())
    assert first.cv_ci != other.cv_ci


def test_matched_by_stimulus_id_not_position() -> None:
    rng = np.random.default_rng(6)
    target = synthetic_target(rng)
    layers = planted_layers(rng, target, [2.0, 0.5])
    shuffled_ids = list(rng.permutation(IDS))
    shuffled = LayerRDMs(layers.rdms.reorder(shuffled_ids), layers.depths)
    a = score_target(layers, target, n_boot=20, seed=0)
    b = score_target(shuffled, target, n_boot=20, seed=0)
    np.testing.assert_allclose(a.per_subject, b.per_subject, atol=1e-12)
    missing = LayerRDMs(layers.rdms.reorder(IDS[:-1]), layers.depths)
    with pytest.raises(BrainAlignError, match="not in these RDMs"):
        score_target(missing, target)


def test_constant_layer_is_never_chosen() -> None:
    rng = np.random.default_rng(7)
    target = synthetic_target(rng)
    layers = planted_layers(rng, target, [5.0, 0.5])
    data = np.vstack([np.ones(PAIRS), layers.rdms.data])
    with_constant = LayerRDMs(RDMs(data, ["dead", "l0", "l1"], IDS), (0.0, 0.5, 1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = score_target(with_constant, target, n_boot=20, seed=0)
    assert np.isnan(result.per_subject[0]).all()
    assert result.summary()["brain_similarity"]["layer"] == "l1"
    assert np.isfinite(result.cv_value)


def test_single_rdm_cross_validates_over_stimuli() -> None:
    rng = np.random.default_rng(8)
    truth = rng.random(PAIRS)
    target = TargetRDMs.from_subjects("saliency", RDMs(truth[None], ["group"], IDS))
    assert target.ceiling is None
    levels = [4.0, 1.0, 0.2]
    data = np.stack([truth + lv * truth.std() * rng.normal(size=PAIRS) for lv in levels])
    layers = LayerRDMs(RDMs(data, ["a", "b", "c"], IDS), (0.0, 0.5, 1.0))
    result = score_target(layers, target, n_boot=100, seed=0)
    summary = result.summary()
    assert result.resampled == "stimuli"
    assert summary["brain_similarity"]["layer"] == "c"
    assert (
        summary["brain_similarity"]["ci_low"]
        < summary["brain_similarity"]["value"]
        < summary["brain_similarity"]["ci_high"]
    )
    assert np.isnan(summary["brain_similarity"]["normalised"])
    assert summary["noise_ceiling"]["reliable"] is False
    assert "single RDM" in summary["brain_similarity"]["normalised_withheld"]
    full = spearmanr(data[2], truth).statistic
    assert summary["brain_similarity_max"]["value"] == pytest.approx(full, abs=1e-12)


def test_an_undefined_subject_gives_an_undefined_score_and_interval() -> None:
    """One NaN in one subject's RDM: the score is NaN, and so is its interval (not the interval
    of the resamples that happened to leave that subject out)."""
    rng = np.random.default_rng(7)
    target = synthetic_target(rng, n_subjects=6)
    layers = planted_layers(rng, target, [2.0, 0.5])
    data = target.rdms.data.copy()
    data[2, 5] = np.nan
    broken = TargetRDMs("ROI", RDMs(data, target.subjects, IDS), target.ceiling)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = score_target(layers, broken, n_boot=200, seed=0)
    assert np.isnan(result.cv_value) and np.isnan(result.cv_ci).all()


def test_the_ceiling_is_made_with_the_scoring_method() -> None:
    """A target's stored ceiling is Spearman's; scoring with Pearson divides by Pearson's."""
    from brainalign.rsa import noise_ceiling

    rng = np.random.default_rng(8)
    target = synthetic_target(rng, n_subjects=6)
    layers = planted_layers(rng, target, [2.0, 0.5])
    assert score_target(layers, target, n_boot=0).ceiling == target.ceiling
    pearson = score_target(layers, target, method="pearson", n_boot=0).ceiling
    assert pearson == noise_ceiling(target.rdms.data, "pearson") != target.ceiling


def test_two_factor_score_reports_the_subject_only_interval_of_the_same_draws() -> None:
    """Version 2's interval changes nothing else: the same score, and beside its interval the
    subject-only interval that version 1 reports, from the same subject draws."""
    rng = np.random.default_rng(9)
    target = synthetic_target(rng, n_subjects=8)
    layers = planted_layers(rng, target, [3.0, 1.0, 0.5])
    subjects_only = score_target(layers, target, n_boot=200, seed=3, interval="subjects")
    both = score_target(layers, target, n_boot=200, seed=3)
    summary = both.summary()["brain_similarity"]
    assert both.cv_value == subjects_only.cv_value
    assert (summary["subjects_ci_low"], summary["subjects_ci_high"]) == subjects_only.cv_ci
    assert summary["interval"] == both.extra()["interval_resamples"] == "subjects and stimuli"
    assert "interval" not in subjects_only.summary()["brain_similarity"]
    low, high = both.cv_ci
    assert high - both.cv_value == pytest.approx(both.cv_value - low)  # score ± t·√V
    recorded = both.extra()["resamples"]
    assert len(recorded["samples"]["brain_similarity"]["both"]) == 200
    assert recorded["n_subjects"] == 8 and recorded["n_stimuli"] == N_STIMULI
    with pytest.raises(BrainAlignError, match="unknown interval"):
        score_target(layers, target, interval="stimuli")


def test_two_factor_interval_is_wider_where_stimuli_vary_more_than_subjects() -> None:
    """Subjects who all share one RDM up to small noise: who is scanned hardly matters, which
    stimuli are shown does. The subject-only interval is then far too narrow for new images."""
    rng = np.random.default_rng(10)
    truth = rng.random(PAIRS)
    subjects = truth + 0.05 * rng.normal(size=(10, PAIRS))
    target = TargetRDMs.from_subjects("ROI", RDMs(subjects, [f"p{i}" for i in range(10)], IDS))
    layers = LayerRDMs(
        RDMs(np.stack([truth + rng.normal(size=PAIRS) * s for s in (0.3, 0.6)]), ["a", "b"], IDS),
        (0.0, 1.0),
    )
    scored = score_target(layers, target, n_boot=300, seed=0)
    low, high = scored.cv_ci
    subjects_low, subjects_high = scored.two_factor.subjects_ci
    assert high - low > 5 * (subjects_high - subjects_low)
    assert scored.two_factor.variance.stimuli > 10 * scored.two_factor.variance.subjects


def test_models_scored_alike_share_their_resamples_and_others_do_not() -> None:
    """The draws' digest (subjects, stimuli, seed) is what lets `compare` pair two results."""
    rng = np.random.default_rng(11)
    target = synthetic_target(rng, n_subjects=6)
    one, other = planted_layers(rng, target, [2.0, 0.5]), planted_layers(rng, target, [0.3, 4.0])

    def digest(layers, target, seed=0):
        return score_target(layers, target, n_boot=30, seed=seed).extra()["resamples"]["draws"]

    assert digest(one, target) == digest(other, target)
    assert digest(one, target) != digest(one, target, seed=1)
    fewer = TargetRDMs.from_subjects("ROI", target.rdms.select(target.subjects[:5]))
    assert digest(one, target) != digest(one, fewer)
