"""The two-factor bootstrap (subjects and stimuli): its samples against materialised resamples, its
variance correction against planted truth and against rsatoolbox's formula, its interval."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr
from scipy.stats import t as student_t

from brainalign.errors import BrainAlignError
from brainalign.rsa import bootstrap_subjects, compare
from brainalign.rsa.inference import (
    TwoFactorDraws,
    TwoFactorSamples,
    bootstrap_two_factor,
    resampled_pairs,
    two_factor_interval,
    two_factor_variance,
)


def _rdms(
    rng: np.random.Generator, n: int, rows: int, noise: float, ties: bool = False
) -> np.ndarray:
    x = rng.normal(size=(n, 5))
    stack = np.stack([pdist(x + noise * rng.normal(size=x.shape)) for _ in range(rows)])
    return np.round(stack, 1) if ties else stack


def _layer_means(rho: np.ndarray, sample: np.ndarray | None) -> np.ndarray:
    return (rho if sample is None else rho[:, sample]).mean(axis=1)


@pytest.mark.parametrize("ties", [False, True])
def test_samples_equal_comparisons_of_materialised_resamples(ties: bool) -> None:
    """Each resample by hand: the drawn stimuli's pairs copied (self-pairs dropped), every layer
    compared with every subject by scipy-checked ``compare``, then the drawn subjects' columns."""
    rng = np.random.default_rng(0)
    n, n_subjects = 14, 5
    model, subjects = _rdms(rng, n, 3, 0.5, ties), _rdms(rng, n, n_subjects, 1.0, ties)
    draws = TwoFactorDraws.draw(n_subjects, n, 6, subject_seed=1, stimulus_seed=2)
    samples = bootstrap_two_factor(model, subjects, _layer_means, draws)
    full = compare(model, subjects)
    for k in range(draws.n_boot):
        stimuli = np.repeat(np.arange(n), draws.stimulus_counts[k])
        pairs = resampled_pairs(stimuli, n)
        rho = compare(model[:, pairs], subjects[:, pairs])
        drawn = draws.subjects[k]
        np.testing.assert_allclose(samples.stimuli[k], rho.mean(axis=1), atol=1e-12)
        np.testing.assert_allclose(samples.both[k], rho[:, drawn].mean(axis=1), atol=1e-12)
        np.testing.assert_allclose(samples.subjects[k], full[:, drawn].mean(axis=1), atol=1e-12)


def test_subject_draws_are_those_of_the_subject_bootstrap() -> None:
    """So a two-factor score can report the subject-only interval of the same draws unchanged."""
    rng = np.random.default_rng(1)
    model, subjects = _rdms(rng, 12, 2, 0.5), _rdms(rng, 12, 6, 1.0)
    draws = TwoFactorDraws.draw(6, 12, 50, subject_seed=9, stimulus_seed=3)
    samples = bootstrap_two_factor(model, subjects, _layer_means, draws)
    np.testing.assert_array_equal(
        samples.subjects, bootstrap_subjects(compare(model, subjects), n_boot=50, seed=9)
    )
    assert draws.stimulus_counts.sum(axis=1).tolist() == [12] * 50


def test_draws_digest_identifies_the_draws() -> None:
    same = TwoFactorDraws.draw(5, 20, 30, 1, 2).digest()
    assert same == TwoFactorDraws.draw(5, 20, 30, 1, 2).digest()
    assert same != TwoFactorDraws.draw(5, 20, 30, 1, 3).digest()
    assert same != TwoFactorDraws.draw(6, 20, 30, 1, 2).digest()


def test_draws_must_fit_the_rdms() -> None:
    rng = np.random.default_rng(2)
    model, subjects = _rdms(rng, 10, 2, 0.5), _rdms(rng, 10, 4, 1.0)
    with pytest.raises(BrainAlignError, match="do not fit"):
        bootstrap_two_factor(model, subjects, _layer_means, TwoFactorDraws.draw(4, 11, 3, 0, 0))


def _additive_table_bootstraps(
    rng: np.random.Generator,
    sd: tuple[float, float, float],
    n_subjects: int,
    n_stimuli: int,
    n_boot: int,
) -> tuple[float, TwoFactorSamples]:
    """x_si = a_s + b_i + e_si; the statistic is the table's mean; the three bootstraps by hand."""
    sd_a, sd_b, sd_e = sd
    table = (
        sd_a * rng.normal(size=(n_subjects, 1))
        + sd_b * rng.normal(size=(1, n_stimuli))
        + sd_e * rng.normal(size=(n_subjects, n_stimuli))
    )
    rows = rng.integers(0, n_subjects, size=(n_boot, n_subjects))
    cols = rng.integers(0, n_stimuli, size=(n_boot, n_stimuli))
    by_rows = table[rows].mean(axis=(1, 2))
    by_cols = table[:, cols].mean(axis=(0, 2))
    both = np.array([table[np.ix_(r, c)].mean() for r, c in zip(rows, cols)])
    return table.mean(), TwoFactorSamples(by_rows, by_cols, both)


def test_corrected_variance_is_unbiased_where_the_naive_one_is_not() -> None:
    """Planted truth: the mean of an additive subject × stimulus table has variance
    σa²/S + σb²/n + σe²/(S n). Averaged over many tables, the corrected (raw) variance hits it;
    the two-factor bootstrap's own variance overstates it by about σe²/(S n) and the subject-only
    one misses the stimuli's share."""
    rng = np.random.default_rng(3)
    sd, n_subjects, n_stimuli, tables = (1.0, 1.0, 4.0), 5, 8, 400
    truth = sd[0] ** 2 / n_subjects + sd[1] ** 2 / n_stimuli + sd[2] ** 2 / (n_subjects * n_stimuli)
    found = [
        two_factor_variance(
            _additive_table_bootstraps(rng, sd, n_subjects, n_stimuli, 400)[1],
            n_subjects,
            n_stimuli,
        )
        for _ in range(tables)
    ]
    raw = np.array([v.raw for v in found])
    both = np.array([v.both for v in found])
    subjects = np.array([v.subjects for v in found])
    error = raw.std(ddof=1) / np.sqrt(tables)  # Monte Carlo error of the mean over tables
    assert abs(raw.mean() - truth) < 4 * error
    excess = sd[2] ** 2 / (n_subjects * n_stimuli)
    assert both.mean() > truth + excess / 2
    assert n_subjects / (n_subjects - 1) * subjects.mean() < truth - sd[1] ** 2 / n_stimuli / 2


def _variance_of(
    v_subjects: float, v_stimuli: float, v_both: float, n_subjects: int, n_stimuli: int
):
    """two_factor_variance on samples whose variances are exactly the given ones."""

    def with_variance(v: float) -> np.ndarray:
        return np.array([-1.0, 1.0]) * math.sqrt(v / 2)  # two values: sample variance = v

    return two_factor_variance(
        TwoFactorSamples(*(with_variance(v) for v in (v_subjects, v_stimuli, v_both))),
        n_subjects,
        n_stimuli,
    )


def test_the_correction_is_rsatoolboxs_formula() -> None:
    from rsatoolbox.util.inference_util import _dual_bootstrap

    S, n = 8, 40
    for v_s, v_p, v_b in ((1e-4, 3e-4, 4.2e-4), (2e-4, 1e-4, 3.2e-4), (5e-5, 4e-4, 4.6e-4)):
        ours = _variance_of(v_s, v_p, v_b, S, n)
        theirs = float(_dual_bootstrap(np.array([[v_b], [v_s], [v_p]]), n_rdm=S, n_pattern=n)[0])
        assert ours.bound == "" and ours.raw == pytest.approx(ours.variance)
        assert ours.variance == pytest.approx(theirs, rel=1e-12)


def test_bounds_and_what_happens_to_a_negative_variance() -> None:
    S, n = 4, 92
    f_s = S / (S - 1)
    negative = _variance_of(1e-4, 1e-3, 3e-3, S, n)  # both-factor variance far above the parts
    assert negative.raw < 0 and negative.bound == "subjects"
    assert negative.variance == pytest.approx(f_s * 1e-4)
    above = _variance_of(1e-4, 1e-3, 1.0e-3, S, n)  # raw above the two-factor variance
    assert (
        above.raw > above.both and above.bound == "both" and above.variance == pytest.approx(1e-3)
    )
    crossed = _variance_of(1e-4, 1e-7, 1.01e-4, S, n)  # f_s·V_s above V_b: the lower bound holds
    assert crossed.variance == pytest.approx(f_s * 1e-4) and crossed.bound == "subjects"


def test_no_floor_at_the_stimulus_bootstrap_unlike_rsatoolbox() -> None:
    """The stimulus bootstrap of an RDM comparison overstates its own share (a pair's weight
    c_i·c_j has variance 3), so its variance is no lower bound; rsatoolbox uses it as one."""
    from rsatoolbox.util.inference_util import _dual_bootstrap

    S, n = 15, 92
    ours = _variance_of(1e-4, 4e-4, 6.2e-4, S, n)
    theirs = float(_dual_bootstrap(np.array([[6.2e-4], [1e-4], [4e-4]]), n_rdm=S, n_pattern=n)[0])
    assert ours.bound == "" and ours.variance < n / (n - 1) * 4e-4 == pytest.approx(theirs)


def test_interval_is_estimate_plus_minus_t_with_satterthwaite_degrees_of_freedom() -> None:
    S, n = 6, 50
    rng = np.random.default_rng(4)
    samples = TwoFactorSamples(
        rng.normal(0, 0.01, 500), rng.normal(0, 0.02, 500), rng.normal(0, 0.024, 500)
    )
    low, high, variance = two_factor_interval(0.3, samples, S, n)
    part = S / (S - 1) * variance.subjects
    rest = variance.variance - part
    dof = variance.variance**2 / (part**2 / (S - 1) + rest**2 / (n - 1))
    assert S - 1 <= variance.dof <= n - 1 and variance.dof == pytest.approx(
        min(max(dof, S - 1), n - 1)
    )
    half = student_t.ppf(0.975, variance.dof) * math.sqrt(variance.variance)
    assert (low, high) == pytest.approx((0.3 - half, 0.3 + half))
    assert all(math.isnan(x) for x in two_factor_interval(math.nan, samples, S, n)[:2])


def test_samples_equal_those_recorded_before_the_engine_changed() -> None:
    """20 layers (three with ties, in several chunks) against 8 subjects (two with ties): the
    samples equal those the previous implementation gave on the same draws (recorded once)."""
    recorded = np.load(Path(__file__).parents[1] / "fixtures" / "rsa" / "two_factor_reference.npz")
    draws = TwoFactorDraws(recorded["draw_subjects"], recorded["stimulus_counts"])
    samples = bootstrap_two_factor(recorded["model"], recorded["subjects"], _columns, draws)
    for name, mine in (
        ("by_subjects", samples.subjects),
        ("by_stimuli", samples.stimuli),
        ("by_both", samples.both),
    ):
        np.testing.assert_allclose(mine, recorded[name], rtol=0, atol=1e-12, err_msg=name)


def test_stimulus_resamples_equal_scipy_spearman_on_the_copied_pairs() -> None:
    """Each stimulus resample against scipy's Spearman of the materialised, copied pairs."""
    recorded = np.load(Path(__file__).parents[1] / "fixtures" / "rsa" / "two_factor_reference.npz")
    model, subjects = recorded["model"], recorded["subjects"]
    draws = TwoFactorDraws(recorded["draw_subjects"][:4], recorded["stimulus_counts"][:4])
    samples = bootstrap_two_factor(model, subjects, _columns, draws)
    n = draws.stimulus_counts.shape[1]
    for k in range(draws.n_boot):
        pairs = resampled_pairs(np.repeat(np.arange(n), draws.stimulus_counts[k]), n)
        rho = spearmanr(model[:, pairs], subjects[:, pairs], axis=1)[0][: len(model), len(model) :]
        np.testing.assert_allclose(samples.stimuli[k], rho, rtol=0, atol=1e-12)


def _columns(rho: np.ndarray, sample: np.ndarray | None) -> np.ndarray:
    return rho if sample is None else rho[:, sample]
