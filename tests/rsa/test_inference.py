"""Bootstrap, permutation and FDR: brute-force references, determinism, planted effects."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform
from scipy.stats import spearmanr

from brainalign.rsa import (
    bootstrap_stimuli,
    bootstrap_subjects,
    compare,
    expanded_percentile_interval,
    fdr_bh,
    percentile_interval,
    permutation_test,
    rdm,
)
from brainalign.rsa.inference import _SortedStack, expanded_level, resampled_pairs


@pytest.fixture
def related() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 8))
    return rdm(x, "euclidean"), rdm(x + rng.normal(size=x.shape), "euclidean")


def test_resampled_pairs_match_a_brute_force_resample() -> None:
    n = 7
    square = squareform(np.arange(1.0, n * (n - 1) // 2 + 1))
    sample = np.array([3, 3, 0, 6, 1, 1, 1])
    expected = [
        square[sample[p], sample[q]]
        for p in range(n)
        for q in range(p + 1, n)
        if sample[p] != sample[q]
    ]
    condensed = squareform(square)
    np.testing.assert_array_equal(condensed[resampled_pairs(sample, n)], expected)


def test_bootstrap_stimuli_reproduces_one_sample_by_hand(
    related: tuple[np.ndarray, np.ndarray],
) -> None:
    a, b = related
    boot = bootstrap_stimuli(a, b, n_boot=3, seed=11)
    rng = np.random.default_rng(11)
    sample = rng.integers(0, 30, size=30)
    sa, sb = squareform(a), squareform(b)
    pairs = [
        (sample[p], sample[q])
        for p in range(30)
        for q in range(p + 1, 30)
        if sample[p] != sample[q]
    ]
    x = [sa[i, j] for i, j in pairs]
    y = [sb[i, j] for i, j in pairs]
    assert boot.shape == (3, 1, 1)
    assert abs(boot[0, 0, 0] - spearmanr(x, y).statistic) < 1e-12


def test_bootstrap_is_deterministic_and_covers_the_estimate(
    related: tuple[np.ndarray, np.ndarray],
) -> None:
    a, b = related
    first = bootstrap_stimuli(a, b, n_boot=200, seed=5)
    np.testing.assert_array_equal(first, bootstrap_stimuli(a, b, n_boot=200, seed=5))
    assert not np.array_equal(first, bootstrap_stimuli(a, b, n_boot=200, seed=6))
    low, high = percentile_interval(first[:, 0, 0])
    assert low < compare(a, b)[0, 0] < high


def test_bootstrap_subjects_resamples_the_subject_axis() -> None:
    scores = np.array([[0.1, 0.2, 0.3, 0.4], [1.0, 1.0, 1.0, 1.0]])
    boot = bootstrap_subjects(scores, n_boot=500, seed=0)
    assert boot.shape == (500, 2)
    np.testing.assert_allclose(boot[:, 1], 1.0)  # no spread without between-subject variation
    rng = np.random.default_rng(0)
    first = scores[..., rng.integers(0, 4, size=4)].mean(-1)
    np.testing.assert_array_equal(boot[0], first)
    assert boot[:, 0].min() >= 0.1 and boot[:, 0].max() <= 0.4


@pytest.mark.parametrize("method", ["spearman", "kendall_tau_a"])
def test_permutation_detects_a_planted_relation_and_not_a_null(method: str) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 5))
    a = pdist(x)
    related_rdm = pdist(x + 0.3 * rng.normal(size=x.shape))
    unrelated = pdist(rng.normal(size=(20, 5)))
    n_perm = 199 if method == "spearman" else 49
    p, null = permutation_test(
        a, np.vstack([related_rdm, unrelated]), method=method, n_perm=n_perm, seed=0
    )
    assert p.shape == (1, 2) and null.shape == (n_perm, 1, 2)
    assert p[0, 0] == pytest.approx(1 / (n_perm + 1))
    assert p[0, 1] > 0.05


def test_permutation_null_equals_brute_force_relabelling() -> None:
    rng = np.random.default_rng(2)
    a, b = pdist(rng.normal(size=(9, 3))), pdist(rng.normal(size=(9, 3)))
    _, null = permutation_test(a, b, n_perm=5, seed=3)
    perms = np.random.default_rng(3)
    square = squareform(a)
    for k in range(5):
        perm = perms.permutation(9)
        relabelled = squareform(square[np.ix_(perm, perm)])
        assert abs(null[k, 0, 0] - spearmanr(relabelled, b).statistic) < 1e-12


def test_fdr_bh_matches_the_step_up_procedure() -> None:
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216])
    m = len(p)
    order = np.argsort(p)
    passed = [k for k in range(m) if p[order[k]] <= (k + 1) / m * 0.05]
    expected = np.zeros(m, bool)
    if passed:
        expected[order[: max(passed) + 1]] = True
    reject, q = fdr_bh(p, 0.05)
    np.testing.assert_array_equal(reject, expected)
    assert reject.sum() == 2 and np.all(q >= p)


@pytest.mark.parametrize("method", ["spearman", "pearson", "cosine"])
def test_weighted_bootstrap_equals_materialised_copies(method: str) -> None:
    """The fast weighted path gives what duplicating the drawn pairs and comparing gives."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(25, 6))
    a = np.vstack(
        [pdist(x), np.round(pdist(x + rng.normal(size=x.shape)), 1), np.ones(300)]
    )  # ties
    b = np.vstack(
        [pdist(x + 0.5 * rng.normal(size=x.shape)), np.round(pdist(rng.normal(size=x.shape)))]
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fast = bootstrap_stimuli(a, b, method=method, n_boot=20, seed=9)
    assert any("constant" in str(w.message) for w in caught) == (method != "cosine")
    draws = np.random.default_rng(9)
    for k in range(20):
        pairs = resampled_pairs(draws.integers(0, 25, size=25), 25)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            slow = compare(a[:, pairs], b[:, pairs], method)
        np.testing.assert_allclose(fast[k], slow, atol=1e-12, equal_nan=True)
    assert np.isnan(fast[:, 2]).all() == (method != "cosine")


@pytest.mark.parametrize("swap", [False, True], ids=["many vs few", "few vs many"])
def test_weighted_spearman_bootstrap_of_many_rdms_equals_materialised_copies(swap: bool) -> None:
    """Many RDMs (more than one chunk of them, some with ties) against a few, either way round:
    the sorted-order reduction gives what comparing duplicated pairs gives."""
    rng = np.random.default_rng(6)
    x = rng.normal(size=(22, 5))
    many = np.vstack([pdist(x + s * rng.normal(size=x.shape)) for s in np.linspace(0.1, 2, 11)])
    many[[2, 9]] = np.round(many[[2, 9]], 1)  # ties in both chunks
    few = np.vstack([pdist(x), np.round(pdist(x + rng.normal(size=x.shape)))])
    a, b = (few, many) if swap else (many, few)
    fast = bootstrap_stimuli(a, b, n_boot=15, seed=2)
    assert fast.shape == (15, len(a), len(b))
    draws = np.random.default_rng(2)
    for k in range(15):
        pairs = resampled_pairs(draws.integers(0, 22, size=22), 22)
        np.testing.assert_allclose(fast[k], compare(a[:, pairs], b[:, pairs]), atol=1e-12)


@pytest.mark.parametrize("n_others", [2, 7], ids=["few others", "many others"])
def test_weighted_spearman_in_chunks_equals_scipy_on_materialised_copies(
    n_others: int, monkeypatch
) -> None:
    """Both reductions (the others gathered in each RDM's sorted order; each RDM's ranks moved
    into the others' common order), over several chunks and blocks of RDMs, with ties on both
    sides: scipy's Spearman ρ of the resample's duplicated pairs, to 1e-12."""
    monkeypatch.setattr(_SortedStack, "CHUNK_ITEMS", 600)  # 2 RDMs of 276 pairs per chunk
    monkeypatch.setattr(_SortedStack, "BLOCK_ITEMS", 1500)
    rng = np.random.default_rng(12)
    n = 24
    x = rng.normal(size=(n, 5))
    many = np.vstack([pdist(x + s * rng.normal(size=x.shape)) for s in np.linspace(0.1, 2, 9)])
    many[[1, 6]] = np.round(many[[1, 6]], 1)
    others = np.vstack([pdist(x + rng.normal(size=x.shape)) for _ in range(n_others)])
    others[0] = np.round(others[0])
    fast = bootstrap_stimuli(many, others, n_boot=12, seed=5)
    draws = np.random.default_rng(5)
    for k in range(12):
        pairs = resampled_pairs(draws.integers(0, n, size=n), n)
        rho = spearmanr(many[:, pairs], others[:, pairs], axis=1)[0][: len(many), len(many) :]
        np.testing.assert_allclose(fast[k], rho, atol=1e-12)


@pytest.mark.parametrize("n_others", [2, 7], ids=["few others", "many others"])
def test_rdms_that_rank_alike_get_the_same_bootstrap_bit_for_bit(n_others: int) -> None:
    """A layer repeated (or rescaled) at another place in the stack gets the very same numbers
    in every resample, so a tie between such layers is broken by position alone."""
    rng = np.random.default_rng(13)
    x = rng.normal(size=(30, 4))
    base = np.vstack([pdist(x + s * rng.normal(size=x.shape)) for s in np.linspace(0.2, 2, 6)])
    many = np.vstack([base, base[1], 3 * base[4] + 1])
    others = np.vstack([pdist(x + rng.normal(size=x.shape)) for _ in range(n_others)])
    boot = bootstrap_stimuli(many, others, n_boot=25, seed=2)
    np.testing.assert_array_equal(boot[:, 6], boot[:, 1])
    np.testing.assert_array_equal(boot[:, 7], boot[:, 4])


@pytest.mark.parametrize("n_others", [1, 7], ids=["few others", "many others"])
def test_the_bootstrap_does_not_depend_on_the_thread_count(
    related, monkeypatch, n_others: int
) -> None:
    from brainalign.rsa import parallel

    a, b = related
    stack = np.vstack([a + k * b for k in range(6)])
    others = np.vstack([b + k * a for k in range(n_others)])  # 7: both sides past a few
    monkeypatch.setattr(parallel, "cores", lambda: 2)
    threaded = bootstrap_stimuli(stack, others, n_boot=50, seed=1)
    monkeypatch.setattr(parallel, "cores", lambda: 1)
    np.testing.assert_array_equal(bootstrap_stimuli(stack, others, n_boot=50, seed=1), threaded)


def test_undefined_comparisons_get_no_p_value_and_are_never_rejected() -> None:
    rng = np.random.default_rng(5)
    a = pdist(rng.normal(size=(12, 3)))
    constant = np.ones_like(a)
    with pytest.warns(RuntimeWarning):
        p, _ = permutation_test(np.vstack([a, constant]), a, n_perm=49, seed=0)
    assert p[0, 0] == pytest.approx(1 / 50) and np.isnan(p[1, 0])
    reject, q = fdr_bh([0.001, np.nan, 0.5])
    assert reject.tolist() == [True, False, False] and np.isnan(q[1])
    np.testing.assert_allclose(q[[0, 2]], fdr_bh([0.001, 0.5])[1])


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_a_resample_on_which_an_rdm_is_constant_gives_nan(method: str) -> None:
    """Only stimulus 0 differs from the rest: resamples that miss it leave the RDM constant on
    the drawn pairs, so its correlation is undefined there (NaN, as with materialised copies),
    never the 0 that rounding in the weighted centring would give."""
    n = 12
    square = np.full((n, n), 0.3)
    square[0, :] = square[:, 0] = 0.7
    np.fill_diagonal(square, 0)
    a, b = squareform(square), np.random.default_rng(1).random(n * (n - 1) // 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = bootstrap_stimuli(a, b, method=method, n_boot=200, seed=0)[:, 0, 0]
    draws = np.random.default_rng(0)
    missed = np.array([0 not in draws.integers(0, n, size=n) for _ in range(200)])
    assert missed.sum() > 20
    assert np.isnan(fast[missed]).all() and not np.isnan(fast[~missed]).any()


def test_expanded_level_follows_its_formula() -> None:
    from scipy.stats import norm, t

    for n in (3, 4, 15, 200):
        expected = 2 * norm.cdf(np.sqrt(n / (n - 1)) * t.ppf(0.975, n - 1)) - 1
        assert expanded_level(0.95, n) == pytest.approx(expected, abs=1e-15)
    assert expanded_level(0.95, 4) > expanded_level(0.95, 15) > expanded_level(0.95, 10_000) > 0.95
    assert expanded_level(0.95, 10_000) == pytest.approx(0.95, abs=1e-3)


def test_expanded_interval_restores_coverage_with_few_units() -> None:
    """Planted truth: the mean of 5 standard normal draws has population mean 0. Bootstrapping
    the mean of 5 values, the plain percentile interval misses 0 far more often than 5% of the
    time (83%); the expanded one comes close to 95% (90%)."""
    rng = np.random.default_rng(0)
    n, reps, n_boot = 5, 600, 1000
    plain = expanded = 0
    for _ in range(reps):
        values = rng.normal(size=n)
        means = values[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
        low, high = percentile_interval(means)
        plain += low <= 0 <= high
        low, high = expanded_percentile_interval(means, n)
        expanded += low <= 0 <= high
    se = np.sqrt(0.95 * 0.05 / reps)  # binomial standard error of a coverage near 95%
    assert plain / reps < 0.95 - 5 * se  # far below its nominal level
    assert expanded / reps > plain / reps + 5 * se  # and the expansion recovers much of it
