"""The overall rank: its stated rule (mean of ceiling-normalised scores, unreliable ceilings left
out, a model needs every benchmark), weights, and its interval checked in simulation for what it
claims: at least 95% coverage of the mean of the true normalised scores over new subjects and new
images, also where benchmarks share images."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom
from synthetic_results import HUMAN, MORE_HUMAN, PROBE, fill_store, make_result

from brainalign.leaderboard.aggregate import build_leaderboard
from brainalign.leaderboard.ranking import Component, combine, correlation_matrix, rank, t_quantile
from brainalign.rsa.inference import TwoFactorSamples, two_factor_interval

IT, HIT, JUDGEMENTS = HUMAN


def _board(results):
    return build_leaderboard(results)


def test_the_overall_score_is_the_mean_of_the_normalised_scores(synthetic_store) -> None:
    results = synthetic_store.load_all().results
    ranking = rank(_board(results))
    normalised = {
        (r.model_id, r.benchmark): r.summary["brain_similarity"]["normalised"]
        for r in results
        if r.benchmark in HUMAN
    }
    for standing in ranking.standings:
        expected = np.mean([normalised[(standing.model, b)] for b in HUMAN])
        assert standing.value == pytest.approx(expected, abs=1e-12)
        assert standing.ci_low < standing.value < standing.ci_high
    values = [s.value for s in ranking.standings]
    assert values == sorted(values, reverse=True) and [s.rank for s in ranking.standings] == [
        1,
        2,
        3,
        4,
    ]
    assert ranking.left_out == {} and "mean over 3 human benchmark(s)" in ranking.rule


def test_a_model_without_every_benchmark_has_no_overall_score_and_comes_last(tmp_path) -> None:
    store = fill_store(tmp_path / "results", models=("clip_rn50", "efficientnet_lite0"))
    store.save(make_result("resnet50", IT))
    ranking = rank(_board(store.load_all().results))
    last = ranking.standings[-1]
    assert last.model == "resnet50" and math.isnan(last.value) and last.rank is None
    assert set(last.missing) == {HIT, JUDGEMENTS}


def test_an_unreliable_ceiling_is_left_out_and_said_so(synthetic_store) -> None:
    results = synthetic_store.load_all().results
    for result in results:
        if result.benchmark == HIT:  # as the ceiling's reliability test records it
            result.summary["noise_ceiling"].update(
                reliable=False, reliability={"test": "permutation", "p": 0.4}
            )
            result.summary["brain_similarity"].update(
                normalised=None,
                normalised_ci_low=None,
                normalised_ci_high=None,
                normalised_withheld="the noise ceiling is not reliable",
            )
        elif result.benchmark == IT:
            result.summary["noise_ceiling"]["reliable"] = True
    board = _board(results)
    assert {b.identifier: b.ceiling_reliable for b in board.human_benchmarks} == {
        IT: True,
        HIT: False,
        JUDGEMENTS: None,
    }
    ranking = rank(board)
    assert ranking.weights[HIT] == 0 and "ceiling was not found reliable" in ranking.left_out[HIT]
    assert HIT in ranking.rule and "mean over 2 human benchmark(s)" in ranking.rule
    by_model = {r.model_id: {} for r in results}
    for r in results:
        if r.benchmark in (IT, JUDGEMENTS):
            by_model[r.model_id][r.benchmark] = r.summary["brain_similarity"]["normalised"]
    for standing in ranking.standings:
        assert standing.value == pytest.approx(
            np.mean(list(by_model[standing.model].values())), abs=1e-12
        )


def test_weights_change_the_mean_and_the_order(synthetic_store) -> None:
    results = synthetic_store.load_all().results
    ranking = rank(_board(results), weights={IT: 3, HIT: 0, JUDGEMENTS: 1})
    for standing in ranking.standings:
        it, judgements = (
            next(r for r in results if r.model_id == standing.model and r.benchmark == b).summary[
                "brain_similarity"
            ]["normalised"]
            for b in (IT, JUDGEMENTS)
        )
        assert standing.value == pytest.approx((3 * it + judgements) / 4, abs=1e-12)


def test_correlations_come_from_resamples_drawn_alike_and_are_otherwise_one() -> None:
    rng = np.random.default_rng(0)
    shared = rng.normal(size=1000)
    se = math.sqrt(2)  # of each: half its variance is shared
    a = Component(0.5, se, 50, shared + rng.normal(size=1000), seed=0, stimuli="92 images")
    b = Component(0.4, se, 50, shared + rng.normal(size=1000), seed=0, stimuli="92 images")
    other_seed = Component(0.4, 1.0, 50, b.samples, seed=1, stimuli="92 images")
    other_files = Component(0.4, 1.0, 50, b.samples, seed=0, stimuli="other files")
    no_samples = Component(0.4, 1.0, 50, None, seed=0, stimuli="92 images")
    rho = correlation_matrix([a, b, other_seed, other_files, no_samples, None])
    expected = float(np.cov(a.samples, b.samples)[0, 1]) / se**2
    assert rho[0, 1] == pytest.approx(expected) and 0.4 < rho[0, 1] < 0.6
    assert rho[0, 2] == rho[0, 3] == rho[0, 4] == 1.0
    assert rho[0, 5] == 0.0 and np.allclose(rho, rho.T)


def test_combine_agrees_with_the_variance_of_a_weighted_sum() -> None:
    parts = [Component(0.3, 0.05, 20), Component(0.5, 0.08, 40), Component(0.2, 0.04, math.inf)]
    rho = np.array([[1, 0.3, 0.1], [0.3, 1, 0.5], [0.1, 0.5, 1]])
    weights = [1.0, 2.0, 0.5]
    mean, low, high = combine(parts, weights, rho)
    w, se = np.array(weights), np.array([p.se for p in parts])
    covariance = rho * np.outer(se, se)
    variance = w @ covariance @ w / w.sum() ** 2
    a = (w * se) ** 2
    dof = a.sum() ** 2 / (a[0] ** 2 / 20 + a[1] ** 2 / 40)
    assert mean == pytest.approx((0.3 + 1.0 + 0.1) / 3.5)
    assert (high - low) / 2 == pytest.approx(t_quantile(dof) * math.sqrt(variance))


def _two_factor(table: np.ndarray, subjects: np.ndarray, stimuli: np.ndarray) -> TwoFactorSamples:
    """Bootstrap samples of the mean of a subject × stimulus table: resampled subjects, stimuli, both
    (``subjects``/``stimuli``: counts per resample, shared draws as the benchmarks make them)."""
    n_subjects, n_stimuli = table.shape
    by_subjects = subjects @ table.mean(axis=1) / n_subjects
    by_stimuli = stimuli @ table.mean(axis=0) / n_stimuli
    both = np.einsum("bs,si,bi->b", subjects, table, stimuli) / (n_subjects * n_stimuli)
    return TwoFactorSamples(by_subjects, by_stimuli, both)


def _counts(rng: np.random.Generator, n_boot: int, n: int) -> np.ndarray:
    return np.stack(
        [np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(n_boot)]
    ).astype(float)


@pytest.mark.parametrize("files", ["two data sets", "one data set"])
def test_the_overall_interval_covers_the_mean_of_the_true_scores(files: str) -> None:
    """Four benchmarks of the default run's shape: 15, 15, 4 and 16 subjects, all on the same 92
    images (a model's luck with an image counts on every benchmark); the first two share their
    subjects (two regions of one data set). Each benchmark's score is the mean of a subject ×
    stimulus table over new subjects and new images, normalised by its ceiling, with its two-factor
    interval as the benchmarks make it. With "two data sets" the last two come from other files
    (their resamples cannot be paired with the first two's: the rule takes ρ = 1 there); with "one
    data set" all four were resampled alike, and ρ is estimated from the resamples."""
    rng = np.random.default_rng(20240607 if files == "two data sets" else 7)
    reps, n_boot, n_stimuli = 300, 200, 92
    subjects = (15, 15, 4, 16)
    means, ceilings, stimulus_weight = (
        np.array([0.2, 0.3, 0.25, 0.35]),
        np.array([0.4, 0.5, 0.6, 0.55]),
        np.array([1.0, 0.8, 1.2, 0.9]),
    )
    truth = float(np.mean(means / ceilings))
    covered = 0
    for _ in range(reps):
        images = rng.normal(0, 0.08, n_stimuli)  # shared by every benchmark
        people = [rng.normal(0, 0.08, 15)] * 2 + [rng.normal(0, 0.08, 4), rng.normal(0, 0.08, 16)]
        stimulus_draws = [_counts(rng, n_boot, n_stimuli)] * (2 if files == "two data sets" else 1)
        subject_draws = _counts(rng, n_boot, 15)
        parts = []
        for k, n_subjects in enumerate(subjects):
            table = (
                means[k]
                + people[k][:, None]
                + stimulus_weight[k] * images[None, :]
                + rng.normal(0, 0.25, (n_subjects, n_stimuli))
            )
            own_subjects = subject_draws if k < 2 else _counts(rng, n_boot, n_subjects)
            draws = stimulus_draws[0 if (k < 2 or files == "one data set") else 1]
            samples = _two_factor(table, own_subjects, draws)
            estimate = float(table.mean())
            low, high, variance = two_factor_interval(estimate, samples, n_subjects, n_stimuli)
            file = "A" if (k < 2 or files == "one data set") else "B"
            parts.append(
                Component(
                    estimate / ceilings[k],
                    (high - low) / 2 / t_quantile(variance.dof) / ceilings[k],
                    variance.dof,
                    samples.both / ceilings[k],
                    seed=0,
                    stimuli=file,
                )
            )
        _, low, high = combine(parts, [1, 1, 1, 1], correlation_matrix(parts))
        covered += low <= truth <= high
    floor = binom.ppf(0.001, reps, 0.95) / reps  # below this, coverage under 95% is all but certain
    assert covered / reps >= floor, f"coverage {covered / reps:.3f} with {files}"


def test_the_probe_and_other_probes_never_enter_the_overall_score(tmp_path) -> None:
    store = fill_store(
        tmp_path / "results",
        models=("clip_rn50", "resnet50"),
        benchmarks=(PROBE, *HUMAN, *MORE_HUMAN),
    )
    ranking = rank(_board(store.load_all().results))
    assert [b.identifier for b in ranking.benchmarks] == sorted([*HUMAN, *MORE_HUMAN])
    assert PROBE not in ranking.weights
