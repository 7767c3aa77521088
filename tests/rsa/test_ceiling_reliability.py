"""The test that a target's subjects agree more than chance (rsa.ceiling_reliability): checked
against a brute-force loop, for its false-positive rate on planted data sets whose subjects share
nothing, for its power on planted agreeing ones, and on the real 92-image data.

Bands come from the binomial: the permutation test is exact, so with 199 permutations its p-value
falls below 0.05 (p <= 9/200) in exactly 4.5% of data sets without agreement."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io
from scipy.spatial.distance import pdist
from scipy.stats import binom, spearmanr

from brainalign.rsa import ALPHA, ceiling_reliability, condense, noise_ceiling

N_STIMULI, N_SUBJECTS, N_PERM = 20, 8, 199
#: Under the null, P(p < 0.05) with 199 permutations: p is k/200 and k <= 9 happens 9 times in 200.
NULL_RATE = 9 / 200


def _relabelled(rdm: np.ndarray, order: np.ndarray) -> np.ndarray:
    from scipy.spatial.distance import squareform

    square = squareform(rdm)
    return squareform(square[np.ix_(order, order)], checks=False)


def test_p_value_matches_a_brute_force_loop() -> None:
    rng = np.random.default_rng(0)
    subjects = rng.random(45) + 0.3 * rng.random((5, 45))  # 10 stimuli, some agreement
    found = ceiling_reliability(subjects, n_perm=60, seed=3)
    # the same permutations, drawn as the function documents, applied one subject at a time
    draw = np.random.default_rng(3)
    null = []
    for _ in range(60):
        orders = draw.permuted(np.tile(np.arange(10), (5, 1)), axis=1)
        shuffled = np.stack([_relabelled(s, o) for s, o in zip(subjects, orders)])
        null.append(
            np.mean(
                [
                    spearmanr(s, np.delete(shuffled, i, 0).mean(0)).statistic
                    for i, s in enumerate(shuffled)
                ]
            )
        )
    null = np.array(null)
    assert found.lower == pytest.approx(noise_ceiling(subjects).lower, abs=1e-12)
    assert found.p == pytest.approx((1 + np.sum(null >= found.lower - 1e-12)) / 61, abs=1e-12)
    assert found.null_mean == pytest.approx(null.mean(), abs=1e-12)
    assert ceiling_reliability(subjects, n_perm=60, seed=3) == found  # seeded, bit for bit


def _no_agreement(rng: np.random.Generator, structured: bool) -> np.ndarray:
    """Subjects that share nothing: each its own geometry (clustered points of its own, or noise)."""
    rdms = []
    for _ in range(N_SUBJECTS):
        if structured:  # strong individual structure: 3 clusters of its own
            centres = rng.normal(size=(3, 5)) * 3
            points = centres[rng.integers(0, 3, N_STIMULI)] + rng.normal(size=(N_STIMULI, 5))
        else:
            points = rng.normal(size=(N_STIMULI, 5))
        rdms.append(pdist(points))
    return np.stack(rdms)


@pytest.mark.parametrize("structured", [False, True])
def test_false_positive_rate_on_planted_subjects_who_share_nothing(structured: bool) -> None:
    data_sets = 200
    rng = np.random.default_rng(10 + structured)
    flagged = sum(
        not ceiling_reliability(_no_agreement(rng, structured), n_perm=N_PERM, seed=k).reliable
        for k in range(data_sets)
    )
    passed = data_sets - flagged
    # an exact test passes 4.5% of them: a count outside this 99.9% band would mean it does not
    assert (
        binom.ppf(0.0005, data_sets, NULL_RATE) <= passed <= binom.isf(0.0005, data_sets, NULL_RATE)
    ), passed


def test_planted_agreement_passes() -> None:
    """Subjects sharing a geometry plus their own noise (lower ceiling about 0.3, as in fMRI of
    visual cortex): the test finds the agreement nearly every time."""
    data_sets = 60
    rng = np.random.default_rng(20)
    lowers, passed = [], 0
    for k in range(data_sets):
        shared = rng.normal(size=(N_STIMULI, 5))
        subjects = np.stack(
            [pdist(shared + 1.2 * rng.normal(size=shared.shape)) for _ in range(N_SUBJECTS)]
        )
        result = ceiling_reliability(subjects, n_perm=N_PERM, seed=k)
        lowers.append(result.lower)
        passed += result.reliable
    assert 0.2 < np.mean(lowers) < 0.4
    # if the test's power here were 80% or less, passing this often would happen with p < 0.1%
    assert passed > binom.isf(0.001, data_sets, 0.80), passed


def test_a_constant_subject_makes_the_ceiling_untestable() -> None:
    subjects = np.vstack([np.ones(45), np.random.default_rng(0).random((3, 45))])
    with pytest.warns(RuntimeWarning):
        result = ceiling_reliability(subjects, n_perm=20)
    assert np.isnan(result.p) and not result.reliable


def _mat(path: Path, key: str) -> np.ndarray:
    records = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)[key]
    return np.stack([r.RDM for r in np.ravel(records)]).astype(np.float64)


@pytest.mark.slow
def test_the_92_image_targets_pass(shared_data: Path) -> None:
    targets = {
        roi: condense(np.load(shared_data / "algonauts2019_92" / f"fmri_{roi}_RDMs.npz")["Net_RDM"])
        for roi in ("EVC", "IT")
    }
    folder = shared_data / "kriegeskorte2008_92"
    targets["judgements"] = condense(_mat(folder / "92_behavRDMs.mat", "rdms_behav_92"))
    sessions = _mat(folder / "92_brainRDMs.mat", "RDMs").reshape(4, 2, 92, 92)  # subject x session
    targets["hIT"] = condense(sessions.mean(axis=1))
    for name, subjects in targets.items():
        result = ceiling_reliability(subjects, n_perm=N_PERM, seed=0)
        # no shuffle comes near: p is the smallest 199 permutations can give
        assert result.p == pytest.approx(1 / (N_PERM + 1)) and result.reliable, name
        assert result.lower > result.null_mean + 5 * result.null_sd, name
    assert ALPHA == 0.05
