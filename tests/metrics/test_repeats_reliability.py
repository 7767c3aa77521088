"""The permutation test behind the NCSNR ceiling (metrics.repeats_reliability): under the null
(repeats that share no stimulus-specific signal) it calls data reliable at most at its nominal
rate, checked in simulation with a binomial band; with a shared signal it calls it reliable."""

from __future__ import annotations

import numpy as np
from scipy.stats import binom

from brainalign.metrics import noise_ceiling_r, repeats_reliability
from brainalign.rsa import ALPHA

EXPERIMENTS = 200
PERMUTATIONS = 99  # p = (1 + k) / 100 < 0.05 for k <= 3: a nominal rate of 4%


def experiment(rng: np.random.Generator, signal: float) -> list[np.ndarray]:
    """Three subjects, 2 repeats of 20 stimuli, 6 units; ``signal``: sd of the shared part."""
    return [signal * rng.normal(size=(1, 20, 6)) + rng.normal(size=(2, 20, 6)) for _ in range(3)]


def test_under_the_null_it_is_reliable_no_more_often_than_its_level() -> None:
    rng = np.random.default_rng(2026)
    hits = sum(
        repeats_reliability(experiment(rng, 0.0), n_perm=PERMUTATIONS, seed=k).reliable
        for k in range(EXPERIMENTS)
    )
    nominal = np.ceil(ALPHA * (PERMUTATIONS + 1) - 1) / (PERMUTATIONS + 1)  # P(p < ALPHA) under H0
    assert hits <= binom.ppf(0.999, EXPERIMENTS, nominal), hits


def test_a_shared_signal_is_reliable_and_its_statistic_is_the_ncsnr_ceiling() -> None:
    trials = experiment(np.random.default_rng(7), 1.0)
    test = repeats_reliability(trials, n_perm=PERMUTATIONS, seed=0)
    assert test.reliable and test.p == 1 / (PERMUTATIONS + 1)
    assert test.lower == np.mean([np.nanmean(noise_ceiling_r(t)) for t in trials])
    assert test.null_mean < test.lower
    again = repeats_reliability(trials, n_perm=PERMUTATIONS, seed=0)
    assert (again.p, again.null_mean) == (test.p, test.null_mean)  # seeded
