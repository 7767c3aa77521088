"""Planted truth for the feature metrics' two-factor intervals: fresh subjects and fresh stimuli
from one planted population (tests/metrics/metric_population.py), each experiment scored as a
benchmark will score it (layer chosen across subjects, two-factor interval). The population value
is the score's mean over many such experiments.

The check is one-sided: an interval may be conservative (the cross-validated metrics' stimulus
resamples re-score each small test fold, whose resampled correlation varies more than a fresh
fold's), but it must not cover less than it claims. Small sizes keep it cheap (48 stimuli, 10
subjects, 4 layers, 100 resamples, 100 experiments).
"""

from __future__ import annotations

import pytest
from metric_population import FeaturePopulation, coverage, population_value
from scipy.stats import binom

from brainalign.metrics import METRICS

N_SUBJECTS, N_STIMULI, N_BOOT, REPETITIONS = 10, 48, 100, 100


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cka", "encoding", "wrsa"])
def test_the_two_factor_interval_covers_the_population_value(name: str) -> None:
    population = FeaturePopulation()
    truth, error = population_value(
        METRICS[name], population, N_SUBJECTS, N_STIMULI, experiments=200
    )
    assert error < 0.005  # the population value is known far better than the intervals' half-width
    found = coverage(METRICS[name], population, truth, N_SUBJECTS, N_STIMULI, REPETITIONS, N_BOOT)
    hits = round(found["coverage"] * REPETITIONS)
    # if the interval truly covers 90% (the least this design supports for a 95% interval over 10
    # subjects), a count below `low` has probability 0.05%: a sound interval does not fail by
    # chance, one covering 75% almost never passes
    low = binom.ppf(0.0005, REPETITIONS, 0.90)
    assert hits >= low, (name, found)
