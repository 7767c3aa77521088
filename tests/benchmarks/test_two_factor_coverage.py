"""Planted truth for both factors: does the two-factor interval of brain similarity contain the
population value about 95% of the time with 15 subjects, and does the subject-only interval not?

Each repetition draws fresh subjects *and* fresh stimuli from one planted population
(tests/planted.py) and scores them as a human benchmark does (``score_target``). The population
value is the score's mean over many such experiments. The experiment is smaller than a real
benchmark (60 stimuli, 4 layers, 100 resamples, 20 splits) to keep the test cheap; the coverage
table in docs/metrics.md is measured at the real benchmarks' size (92 stimuli, 1000 resamples).
"""

from __future__ import annotations

import pytest
from planted import NOISY, Population, coverage, population_value
from scipy.stats import binom

N_SUBJECTS, N_STIMULI, N_BOOT, N_SPLITS, REPETITIONS = 15, 60, 100, 20, 300
#: Subjects agree enough that which stimuli were drawn matters as much as who was scanned: the
#: case the subject-only interval misses.
POPULATION = Population(
    n_layers=4,
    peak=2,
    width=1.0,
    idiosyncrasy=0.3,
    noise=1.5,
    heterogeneity=0.0,
    category_spread=1.5,
)


@pytest.mark.slow
def test_two_factor_interval_covers_about_95_percent_with_15_subjects() -> None:
    # 2000 experiments put the population value within about ±0.001 (2 standard errors): a
    # twentieth of the intervals' half-width, too little to move their coverage measurably
    truth, error = population_value(POPULATION, N_SUBJECTS, N_STIMULI, experiments=2000)
    assert error < 0.0006
    found = coverage(
        POPULATION, truth, N_SUBJECTS, N_STIMULI, REPETITIONS, N_BOOT, n_splits=N_SPLITS
    )
    hits = round(found["coverage"] * REPETITIONS)
    # The tolerance: if the interval's true coverage lies anywhere in 93-97%, a count of
    # REPETITIONS falls outside [low, high] with probability at most 0.05% on either side, so a
    # sound interval does not fail by chance (with any seeds), while one covering 87% or 99.9%
    # would almost never pass.
    low = binom.ppf(0.0005, REPETITIONS, 0.93)
    high = binom.isf(0.0005, REPETITIONS, 0.97)
    assert low <= hits <= high, (hits, low, high, found["width"])
    # The negative control, which shows the test can fail: the interval over subjects alone holds
    # the stimuli fixed and misses the stimuli's share of the variance; it stays below the band.
    subject_hits = round(found["coverage_subjects"] * REPETITIONS)
    assert subject_hits < low, subject_hits


@pytest.mark.slow
def test_in_the_noisy_regime_the_interval_excludes_zero_at_most_5_percent_of_the_time() -> None:
    """fMRI-like subjects who share nothing (tests/planted.py, population N0: correlation-distance
    RDMs of pure noise), so every score's population value is 0: an interval that excludes 0 is
    a false positive. Without rsatoolbox's floor at the stimuli's share the interval is narrower
    than rsatoolbox's here (that floor binds in nearly every experiment), yet it must still hold
    its level; the floored interval, wider still, is the reference that shows the difference."""
    repetitions = 300
    found = coverage(NOISY["N0"], 0.0, N_SUBJECTS, 40, repetitions, N_BOOT, n_splits=10)
    false_positives = round(found["excludes_zero"]["two-factor"] * repetitions)
    # a sound 95% interval excludes the truth at most 5% of the time: a count above this band
    # would happen with probability below 0.1% if it did
    assert false_positives <= binom.isf(0.001, repetitions, 0.05), false_positives
    assert found["width_stimulus_floor"] > found["width"]  # rsatoolbox's floor binds here
