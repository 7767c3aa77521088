"""Noise ceilings: brute-force leave-one-out reference, and published values on real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io
from scipy.stats import spearmanr

from brainalign import BrainAlignError
from brainalign.rsa import algonauts2019_noise_ceiling, compare, condense, noise_ceiling


def test_leave_one_out_matches_a_loop() -> None:
    rng = np.random.default_rng(0)
    truth = rng.normal(size=300)
    subjects = truth + rng.normal(size=(6, 300)) * np.linspace(0.5, 2, 6)[:, None]
    lower = np.mean(
        [spearmanr(s, np.delete(subjects, i, 0).mean(0)).statistic for i, s in enumerate(subjects)]
    )
    upper = np.mean([spearmanr(s, subjects.mean(0)).statistic for s in subjects])
    ceiling = noise_ceiling(subjects)
    assert abs(ceiling.lower - lower) < 1e-12 and abs(ceiling.upper - upper) < 1e-12
    lo, up = ceiling  # unpacks as (lower, upper)
    assert lo < up


def test_identical_subjects_reach_one() -> None:
    subjects = np.tile(np.arange(10.0), (3, 1))
    assert noise_ceiling(subjects) == (pytest.approx(1.0), pytest.approx(1.0))


def test_needs_two_subjects() -> None:
    with pytest.raises(BrainAlignError, match="at least 2 subjects"):
        noise_ceiling(np.arange(10.0))


@pytest.mark.parametrize(("roi", "official"), [("EVC", 0.1589), ("IT", 0.3075)])
def test_official_algonauts2019_ceilings(shared_data: Path, roi: str, official: float) -> None:
    squares = np.load(shared_data / "algonauts2019_92" / f"fmri_{roi}_RDMs.npz")["Net_RDM"]
    assert round(algonauts2019_noise_ceiling(condense(squares)), 4) == official


def _mat_rdms(path: Path, key: str) -> np.ndarray:
    records = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)[key]
    return condense(np.stack([r.RDM for r in np.ravel(records)]).astype(np.float64))


def test_mean_inter_subject_agreement_on_real_data(shared_data: Path) -> None:
    folder = shared_data / "kriegeskorte2008_92"
    judgements = _mat_rdms(folder / "92_behavRDMs.mat", "rdms_behav_92")
    it = _mat_rdms(folder / "92_brainRDMs.mat", "RDMs")
    assert judgements.shape == (16, 4186) and it.shape == (8, 4186)
    pairs = compare(judgements, judgements)[np.triu_indices(16, 1)]
    assert pairs.mean() == pytest.approx(0.34, abs=0.01)
    assert compare(it, it)[np.triu_indices(8, 1)].mean() == pytest.approx(0.18, abs=0.01)
