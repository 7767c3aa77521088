"""RDM comparisons agree with scipy, a brute-force τ_a and rsatoolbox."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import rsatoolbox
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import kendalltau, pearsonr, spearmanr

from brainalign import BrainAlignError
from brainalign.rsa import compare, compare_units, kendall_tau_a, unit_vectors


def brute_force_tau_a(x: np.ndarray, y: np.ndarray) -> float:
    n = len(x)
    total = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            total += np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])
    return total / (n * (n - 1) / 2)


@pytest.fixture
def stacks() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 190))
    b = np.vstack([a[0] + rng.normal(size=190), rng.normal(size=(2, 190))])
    b[2] = np.round(b[2])  # ties
    return a, b


def test_spearman_matches_scipy_with_ties(stacks: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = stacks
    ours = compare(a, b, "spearman")
    assert ours.shape == (4, 3)
    for i in range(4):
        for j in range(3):
            assert abs(ours[i, j] - spearmanr(a[i], b[j]).statistic) <= 1e-10


def test_pearson_matches_scipy(stacks: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = stacks
    ours = compare(a, b, "pearson")
    reference = [[pearsonr(x, y).statistic for y in b] for x in a]
    np.testing.assert_allclose(ours, reference, atol=1e-10)


def test_cosine_is_uncentred(stacks: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = stacks
    reference = [[x @ y / np.linalg.norm(x) / np.linalg.norm(y) for y in b] for x in a]
    np.testing.assert_allclose(compare(a, b, "cosine"), reference, atol=1e-10)


def test_kendall_tau_a_matches_brute_force_with_ties() -> None:
    rng = np.random.default_rng(1)
    x, y = np.round(rng.normal(size=60)), np.round(rng.normal(size=60) * 2)
    assert abs(kendall_tau_a(x, y) - brute_force_tau_a(x, y)) <= 1e-10
    assert abs(compare(x, y, "kendall_tau_a")[0, 0] - brute_force_tau_a(x, y)) <= 1e-10


def test_kendall_tau_a_equals_scipy_tau_b_without_ties() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=500), rng.normal(size=500)
    assert abs(kendall_tau_a(x, y) - kendalltau(x, y).statistic) <= 1e-10


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("spearman", "spearman"),
        ("pearson", "corr"),
        ("cosine", "cosine"),
        ("kendall_tau_a", "tau-a"),
    ],
)
def test_matches_rsatoolbox(stacks: tuple[np.ndarray, np.ndarray], ours: str, theirs: str) -> None:
    a, b = stacks
    reference = rsatoolbox.rdm.compare(
        rsatoolbox.rdm.RDMs(a), rsatoolbox.rdm.RDMs(b), method=theirs
    )
    np.testing.assert_allclose(compare(a, b, ours), reference, atol=1e-10)


def test_undefined_rdms_give_nan_for_their_pairs_only() -> None:
    rng = np.random.default_rng(3)
    good = rng.normal(size=45)
    with_nan = good.copy()
    with_nan[3] = np.nan
    for method in ("spearman", "pearson", "cosine", "kendall_tau_a"):
        degenerate = np.zeros(45) if method == "cosine" else np.full(45, 0.1)
        with pytest.warns(RuntimeWarning, match="comparisons are NaN"):
            result = compare(np.vstack([good, with_nan, degenerate]), good, method)
        assert np.isfinite(result[0, 0]) and np.isnan(result[1:, 0]).all(), method


def test_a_constant_rdm_has_a_defined_cosine() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = compare(np.ones(6), np.arange(1.0, 7.0), "cosine")[0, 0]
    assert value == pytest.approx(21 / np.sqrt(6 * 91))


def test_unit_vectors_reuse_equals_direct_compare(stacks: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = stacks
    reused = compare_units(unit_vectors(a, "spearman"), unit_vectors(b, "spearman"))
    np.testing.assert_array_equal(reused, compare(a, b, "spearman"))


def test_mismatched_lengths_and_unknown_methods_are_named() -> None:
    with pytest.raises(BrainAlignError, match="different lengths"):
        compare(np.ones(10), np.ones(15))
    with pytest.raises(BrainAlignError, match="unknown comparison 'tau'"):
        compare(np.arange(3.0), np.arange(3.0), "tau")


@settings(max_examples=100, deadline=None)
@given(
    pair=st.integers(3, 30).flatmap(
        lambda n: st.tuples(
            arrays(np.float64, n, elements=st.integers(-3, 3).map(float)),
            arrays(np.float64, n, elements=st.integers(-3, 3).map(float)),
        )
    ),
)
def test_property_heavy_ties_match_references(pair: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = pair
    constant = x.min() == x.max() or y.min() == y.max()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = {m: compare(x, y, m)[0, 0] for m in ("spearman", "pearson", "kendall_tau_a")}
    if constant:
        assert all(np.isnan(v) for v in ours.values())
        return
    assert abs(ours["spearman"] - spearmanr(x, y).statistic) <= 1e-10
    assert abs(ours["pearson"] - pearsonr(x, y).statistic) <= 1e-10
    assert abs(ours["kendall_tau_a"] - brute_force_tau_a(x, y)) <= 1e-10


@settings(max_examples=100, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 4), st.integers(1, 40)),
        elements=st.integers(-4, 4).map(float),
    )
)
def test_rank_rows_equals_scipy_rankdata(stack: np.ndarray) -> None:
    from scipy.stats import rankdata

    from brainalign.rsa import rank_rows

    np.testing.assert_array_equal(rank_rows(stack), rankdata(stack, axis=1))


def test_a_large_stack_is_ranked_row_by_row_on_threads_with_the_same_result(monkeypatch) -> None:
    from scipy.stats import rankdata

    from brainalign.rsa import parallel, rank_rows

    rng = np.random.default_rng(8)
    stack = np.round(rng.random((6, 200_000)), 3)  # above the threading threshold, with ties
    stack[4, 7] = np.nan
    monkeypatch.setattr(parallel, "cores", lambda: 2)
    threaded = rank_rows(stack)
    expected = rankdata(stack, axis=1)
    expected[4] = np.nan
    np.testing.assert_array_equal(threaded, expected)


def test_an_rdms_spearman_units_do_not_depend_on_the_other_rdms_of_its_stack(monkeypatch) -> None:
    """The same RDM gives the same unit vector, bit for bit, alone or in any stack (threaded or
    not), so a layer's ρ cannot change with what else was compared in the same call; and the
    units are scipy's standardised average ranks."""
    from scipy.stats import rankdata

    from brainalign.rsa import parallel

    rng = np.random.default_rng(9)
    stack = np.round(rng.random((5, 220_000)), 3)  # above the threading threshold, with ties
    stack[2] = 0.5  # constant: undefined
    monkeypatch.setattr(parallel, "cores", lambda: 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        together = unit_vectors(stack)
        alone = [unit_vectors(row) for row in stack]
        shuffled = unit_vectors(stack[::-1])[::-1]
    for row, own, reordered in zip(together, alone, shuffled):
        np.testing.assert_array_equal(row, own[0])
        np.testing.assert_array_equal(row, reordered)
    assert np.isnan(together[2]).all()
    ranks = rankdata(stack[0]) - rankdata(stack[0]).mean()
    np.testing.assert_allclose(together[0], ranks / np.linalg.norm(ranks), rtol=0, atol=1e-15)
