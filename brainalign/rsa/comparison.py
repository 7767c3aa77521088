"""Compare stacks of condensed RDMs: many-vs-many as one matrix product.

Spearman, Pearson and cosine are all inner products of per-RDM unit vectors (standardised ranks,
centred values, raw values). :func:`unit_vectors` computes those once per RDM, so a benchmark can
rank its targets once and reuse them for every model layer; :func:`compare` is then a single
``A @ Bᵀ``. Kendall's τ_a uses scipy's O(P log P) algorithm per pair.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.stats import kendalltau

from ..errors import BrainAlignError
from .dissimilarity import as_array
from .parallel import share_out

METHODS: tuple[str, ...] = ("spearman", "pearson", "kendall_tau_a", "cosine")
# Below this many values a stack is ranked in this thread: starting threads would cost more.
_THREADED_RANKING_MIN_ITEMS = 1 << 20


def as_rdm_stack(rdms: Any, name: str = "rdms") -> np.ndarray:
    """A float64 ``(k, n_pairs)`` stack from one condensed RDM, a stack, or an ``RDMs`` object."""
    data = getattr(rdms, "data", rdms)
    stack = as_array(data, np.float64)
    if stack.ndim == 1:
        stack = stack[None, :]
    if stack.ndim != 2:
        raise BrainAlignError(
            f"{name} must be condensed RDMs of shape (n_pairs,) or (n_rdms, n_pairs), got "
            f"{stack.shape}; convert square RDMs with brainalign.rsa.condense"
        )
    return stack


def rank_rows(stack: np.ndarray) -> np.ndarray:
    """Average ranks (1-based; ties share their mean rank) of each row; rows with NaN → all NaN.

    Equal to ``scipy.stats.rankdata(stack, axis=1)``, but built on numpy's SIMD ``argsort``
    (several times faster on RDM-sized rows), since ranking dominates Spearman comparisons;
    large stacks are ranked a row per thread.
    """
    stack = np.atleast_2d(np.asarray(stack, dtype=np.float64))
    ranks = np.empty_like(stack)

    def rank(i: int) -> None:
        if np.isnan(stack[i]).any():
            ranks[i] = np.nan
        else:
            _average_ranks(stack[i], ranks[i])

    _each_row(rank, stack)
    return ranks


def _average_ranks(row: np.ndarray, out: np.ndarray) -> None:
    """The average ranks of ``row`` (no NaN) into ``out``."""
    n = row.shape[0]
    order = np.argsort(row)
    ordered = row[order]
    starts_group = np.empty(n, dtype=bool)
    starts_group[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts_group[1:])
    if starts_group.all():
        out[order] = np.arange(1, n + 1, dtype=np.float64)
        return
    starts = np.flatnonzero(starts_group)
    ends = np.append(starts[1:], n)
    mean_rank = (starts + ends + 1) / 2.0
    out[order] = mean_rank[np.cumsum(starts_group) - 1]


def _each_row(work: Callable[[int], None], stack: np.ndarray) -> None:
    """``work(i)`` for every row: a row per thread for large stacks."""
    if stack.size >= _THREADED_RANKING_MIN_ITEMS:
        share_out(work, stack.shape[0])
    else:
        for i in range(stack.shape[0]):
            work(i)


def _spearman_units(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's average ranks, centred and scaled to unit length, with the norm they were
    scaled by (NaN for a row holding NaN; 0 for a constant row, left unscaled). Ranked, centred
    and scaled a row at a time, while the row is in a core's cache, and a row per thread, rather
    than in five passes over the whole stack afterwards; a row's numbers do not depend on the
    other rows of the stack. Average ranks of ``n`` values always have the mean ``(n + 1) / 2``."""
    units = np.empty_like(stack)
    norms = np.empty(stack.shape[0])
    centre = (stack.shape[1] + 1) / 2

    def unit(i: int) -> None:
        out = units[i]
        if np.isnan(stack[i]).any():
            out[:] = np.nan
            norms[i] = np.nan
            return
        _average_ranks(stack[i], out)
        out -= centre
        norms[i] = np.sqrt(np.einsum("i,i->", out, out))  # numpy's own sum: no BLAS threads
        if norms[i] > 0:
            out /= norms[i]

    _each_row(unit, stack)
    return units, norms


def unit_vectors(rdms: Any, method: str = "spearman") -> np.ndarray:
    """Per-RDM unit vectors whose inner products are the ``method`` similarities.

    RDMs with no defined similarity (holding NaN; constant for spearman/pearson; all-zero for
    cosine) come back as NaN rows, with a warning naming them, so only their pairs are NaN and
    the rest of a batch is unaffected. Works in place on one copy: RDM stacks are large.
    """
    _check_method(method, allow_kendall=False)
    stack = as_rdm_stack(rdms)
    if method == "spearman":
        units, norms = _spearman_units(stack)  # scaled already, a row at a time
        has_nan, degenerate = np.isnan(norms), norms == 0
    else:
        has_nan = np.isnan(stack).any(axis=1)
        units = stack.copy()
        if method == "pearson":
            units -= units.mean(axis=1, keepdims=True)
        norms = np.sqrt(np.einsum("ij,ij->i", units, units))
        degenerate = norms == 0
        if method == "pearson":  # centring a constant row can leave rounding residue, not zeros
            degenerate |= stack.max(axis=1) == stack.min(axis=1)
        units /= np.where(has_nan | degenerate, 1.0, norms)[:, None]
    undefined = has_nan | degenerate
    warn_undefined(undefined, has_nan, "all-zero" if method == "cosine" else "constant")
    units[undefined] = np.nan
    return units


def compare(a: Any, b: Any, method: str = "spearman") -> np.ndarray:
    """Similarity of every RDM in ``a`` with every RDM in ``b``, shape ``(len(a), len(b))``.

    ``method``: ``spearman`` (average ranks for ties), ``pearson``, ``kendall_tau_a`` or
    ``cosine`` (uncentred). 1-D input is one RDM. Pairs involving a constant or NaN-holding RDM
    are NaN, with a warning.
    """
    _check_method(method, allow_kendall=True)
    stack_a, stack_b = as_rdm_stack(a, "a"), as_rdm_stack(b, "b")
    if stack_a.shape[1] != stack_b.shape[1]:
        raise BrainAlignError(
            f"RDMs to compare have different lengths ({stack_a.shape[1]} vs {stack_b.shape[1]} "
            "pairs): they describe different numbers of stimuli; match them by stimulus id first"
        )
    if method == "kendall_tau_a":
        return _kendall_tau_a(stack_a, stack_b)
    return compare_units(unit_vectors(stack_a, method), unit_vectors(stack_b, method))


def compare_units(units_a: np.ndarray, units_b: np.ndarray) -> np.ndarray:
    """Inner products of precomputed :func:`unit_vectors`, clipped to [-1, 1]."""
    with np.errstate(invalid="ignore"):
        return np.clip(units_a @ units_b.T, -1.0, 1.0)


def kendall_tau_a(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's τ_a of two vectors: (concordant − discordant) / (n(n−1)/2), ties count 0.

    scipy's O(n log n) τ_b gives ``C − D`` once multiplied back by its tie-corrected
    denominator; dividing by the number of pairs instead yields τ_a.
    """
    n = x.shape[0]
    n0 = n * (n - 1) / 2
    ties_x, ties_y = _tied_pairs(x), _tied_pairs(y)
    if ties_x == n0 or ties_y == n0:
        return float("nan")
    tau_b = kendalltau(x, y, variant="b").statistic
    return float(tau_b * np.sqrt((n0 - ties_x) * (n0 - ties_y)) / n0)


def _kendall_tau_a(stack_a: np.ndarray, stack_b: np.ndarray) -> np.ndarray:
    bad_a, bad_b = _constant_or_nan(stack_a), _constant_or_nan(stack_b)
    out = np.full((stack_a.shape[0], stack_b.shape[0]), np.nan)
    for i in np.flatnonzero(~bad_a):
        for j in np.flatnonzero(~bad_b):
            out[i, j] = kendall_tau_a(stack_a[i], stack_b[j])
    return out


def _tied_pairs(values: np.ndarray) -> float:
    _, counts = np.unique(values, return_counts=True)
    return float(np.sum(counts * (counts - 1) / 2))


def _constant_or_nan(stack: np.ndarray) -> np.ndarray:
    has_nan = np.isnan(stack).any(axis=1)
    undefined = has_nan | (
        np.nanmax(stack, axis=1, initial=-np.inf) == np.nanmin(stack, axis=1, initial=np.inf)
    )
    warn_undefined(undefined, has_nan, "constant")
    return undefined


def warn_undefined(undefined: np.ndarray, has_nan: np.ndarray, degenerate: str) -> None:
    if not undefined.any():
        return
    rows = np.flatnonzero(undefined)
    kinds = [
        k
        for k, present in (
            ("hold NaN", has_nan.any()),
            (f"are {degenerate}", (undefined & ~has_nan).any()),
        )
        if present
    ]
    warnings.warn(
        f"{rows.size} RDM(s) {' or '.join(kinds)} (rows {rows[:5].tolist()}"
        f"{'…' if rows.size > 5 else ''}); their comparisons are NaN",
        RuntimeWarning,
        stacklevel=4,
    )


def _check_method(method: str, *, allow_kendall: bool) -> None:
    allowed = METHODS if allow_kendall else tuple(m for m in METHODS if m != "kendall_tau_a")
    if method not in allowed:
        raise BrainAlignError(f"unknown comparison {method!r}; choose one of {', '.join(allowed)}")
