"""Uncertainty: bootstrap over stimuli or subjects, permutation tests, FDR control.

Every function takes a ``seed``; the same seed gives the same numbers, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.stats import false_discovery_control, norm
from scipy.stats import t as student_t

from ..errors import BrainAlignError
from ..phases import phase
from .compare import as_rdm_stack, compare, compare_units, unit_vectors, warn_undefined
from .dissimilarity import n_stimuli_from_pairs
from .parallel import share_out


def bootstrap_stimuli(
    a: Any,
    b: Any,
    *,
    method: str = "spearman",
    n_boot: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """Bootstrap distribution of ``compare(a, b, method)`` over stimuli: ``(n_boot, len(a), len(b))``.

    Each sample draws the stimuli with replacement and keeps every pair of drawn stimuli except a
    stimulus paired with its own copy (its dissimilarity is undefined), as rsatoolbox does; a pair
    drawn ``w`` times counts ``w`` times. Rather than materialising those copies and re-ranking
    them, each pair carries its multiplicity ``w`` as a weight and the correlation is the weighted
    one: the same number (to rounding), many times faster. For Spearman the stack with more RDMs
    is never re-ranked in place: each of its RDMs is walked in the order it was sorted once, where
    a weighted rank is a cumulative sum, and reduced there against the few other RDMs' weighted
    units (:class:`_SortedStack`). Resamples are shared out among threads, each resample computed
    by one thread alone: the numbers do not depend on the thread count.
    """
    stack_a, stack_b = as_rdm_stack(a, "a"), as_rdm_stack(b, "b")
    n = n_stimuli_from_pairs(stack_a.shape[1])
    rng = np.random.default_rng(seed)
    if method == "kendall_tau_a":
        out = np.empty((n_boot, stack_a.shape[0], stack_b.shape[0]))
        for k in range(n_boot):
            pairs = resampled_pairs(rng.integers(0, n, size=n), n)
            out[k] = compare(stack_a[:, pairs], stack_b[:, pairs], method)
        return out
    with phase("bootstrap"):
        counts = np.stack([np.bincount(rng.integers(0, n, size=n), minlength=n) for _ in range(n_boot)]
                          ) if n_boot else np.zeros((0, n), dtype=np.int64)
        swap = stack_a.shape[0] < stack_b.shape[0]  # reduce the larger stack in sorted order
        many, few = (stack_b, stack_a) if swap else (stack_a, stack_b)
        few_stack = _WeightedStack(few, method)
        many_stack = _SortedStack(many) if method == "spearman" else _WeightedStack(many, method)
        rows, cols = np.triu_indices(n, k=1)
        out = np.empty((n_boot, many.shape[0], few.shape[0]))

        def resample(k: int) -> None:
            weights = (counts[k][rows] * counts[k][cols]).astype(np.float64)
            units = few_stack.units(weights)
            if isinstance(many_stack, _SortedStack):
                out[k] = many_stack.similarities(weights, units)
            else:
                out[k] = (many_stack.units(weights) * weights) @ units.T
            np.clip(out[k], -1.0, 1.0, out=out[k])

        share_out(resample, n_boot)
    return out.transpose(0, 2, 1) if swap else out


def _undefined_rows(stack: np.ndarray, method: str) -> np.ndarray:
    """RDMs without a defined similarity (holding NaN; constant, or all-zero for cosine), warned about."""
    has_nan = np.isnan(stack).any(axis=1)
    undefined = has_nan | (
        (stack.max(axis=1) == stack.min(axis=1)) if method != "cosine" else ~stack.any(axis=1)
    )
    warn_undefined(undefined, has_nan, "all-zero" if method == "cosine" else "constant")
    return undefined


class _Ranking:
    """Each RDM's sort order and tie groups, computed once: a weighted average rank of a sorted
    position is (weight of all smaller values) + (weight of its tie group + 1) / 2."""

    def __init__(self, stack: np.ndarray) -> None:
        self.order = np.argsort(stack, axis=1)
        ordered = np.take_along_axis(stack, self.order, axis=1)
        starts = np.ones_like(ordered, dtype=bool)
        starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
        self.tied = not starts.all()
        if self.tied:
            ends = np.ones_like(starts)
            ends[:, :-1] = starts[:, 1:]
            self.group = np.cumsum(starts.ravel()) - 1  # tie-group id of each sorted position
            self.group_last = np.flatnonzero(ends.ravel())  # each group's last sorted position
            self.group_row = self.group_last // stack.shape[1]  # the RDM each group belongs to

    def sorted_ranks(self, sorted_weights: np.ndarray) -> np.ndarray:
        """Weighted average ranks in sorted order, from the weights in sorted order."""
        cumulative = np.cumsum(sorted_weights, axis=1)
        if not self.tied:
            cumulative -= (sorted_weights - 1) / 2
            return cumulative
        group_weight = np.bincount(self.group, weights=sorted_weights.ravel())
        group_rank = cumulative.ravel()[self.group_last] - (group_weight - 1) / 2
        return group_rank[self.group].reshape(sorted_weights.shape)


class _WeightedStack:
    """RDMs prepared once for weighted comparisons: :meth:`units` gives per-RDM vectors whose
    weighted inner products are the similarities."""

    def __init__(self, stack: np.ndarray, method: str) -> None:
        if method not in ("spearman", "pearson", "cosine"):
            raise BrainAlignError(f"unknown comparison {method!r}")
        self.method = method
        self.undefined = _undefined_rows(stack, method)
        self.stack = np.where(self.undefined[:, None], 0.0, stack)
        self.ranking = _Ranking(self.stack) if method == "spearman" else None

    def units(self, weights: np.ndarray) -> np.ndarray:
        """Rows centred and scaled so that ``(u_a * w) @ u_b.T`` is the weighted similarity."""
        if self.ranking is not None:
            order = self.ranking.order
            values = np.empty_like(self.stack)
            np.put_along_axis(values, order, self.ranking.sorted_ranks(weights[order]), axis=1)
        else:
            values = self.stack.copy()
        if self.method != "cosine":
            values -= (values @ weights / weights.sum())[:, None]
        norms = np.sqrt((values * values) @ weights)
        undefined = self.undefined | (norms == 0)
        if self.method == "pearson":  # constant on the drawn pairs: rounding leaves a tiny norm
            drawn = self.stack[:, weights > 0]
            undefined |= drawn.max(axis=1) == drawn.min(axis=1)
        norms[undefined] = 1.0
        values /= norms[:, None]
        values[undefined] = np.nan
        return values


class _SortedStack:
    """Many RDMs compared by weighted Spearman correlation with a few others, without ranking
    them anew for every resample. With ``u`` the others' weighted units (centred, so the ranks'
    mean drops out), ``ρ = Σ w·r·u / ‖r − mean‖_w``:

    * the numerator is a sum along each RDM's own sorted order, where a weighted rank is a
      cumulative sum of the weights minus ``(w − 1) / 2``, and the latter's share
      ``Σ (w − 1)/2 · w·u`` does not depend on the order at all;
    * the denominator does not depend on the order either: weighted average ranks of a multiset
      of total weight ``W`` whose tie groups weigh ``W_g`` have ``Σ w (r − mean)² =
      (W³ − W)/12 − Σ_g (W_g³ − W_g)/12`` (each pair its own group where the RDM has no ties),
      a sum of integers, exact in float64.
    """

    ROWS_PER_CHUNK = 8  # keeps a chunk's gathered weights in cache

    def __init__(self, stack: np.ndarray) -> None:
        self.undefined = _undefined_rows(stack, "spearman")
        safe = np.where(self.undefined[:, None], 0.0, stack)
        self.chunks = [_Ranking(safe[start : start + self.ROWS_PER_CHUNK])
                       for start in range(0, safe.shape[0], self.ROWS_PER_CHUNK)]

    def similarities(self, weights: np.ndarray, units: np.ndarray) -> np.ndarray:
        """``(len(stack), len(units))`` weighted Spearman correlations with ``units``
        (:meth:`_WeightedStack.units` of the other RDMs under the same ``weights``)."""
        total = weights.sum()
        weighted_units = units * weights  # (others, pairs)
        offsets = weighted_units @ ((weights - 1) / 2)  # Σ (w − 1)/2 · w·u, whatever the order
        untied_spread = (total**3 - total) / 12 - np.sum(weights**3 - weights) / 12
        out = []
        for ranking in self.chunks:
            sorted_weights = np.take(weights, ranking.order)
            if ranking.tied:
                ranks = ranking.sorted_ranks(sorted_weights)
                group_weight = np.bincount(ranking.group, weights=sorted_weights.ravel())
                spread = (total**3 - total) / 12 - np.bincount(
                    ranking.group_row, weights=(group_weight**3 - group_weight) / 12,
                    minlength=len(ranking.order))
                numerators = np.stack([np.einsum("rp,rp->r", ranks, np.take(u, ranking.order))
                                       for u in weighted_units], axis=1)
            else:
                cumulative = np.cumsum(sorted_weights, axis=1)
                spread = np.full(len(ranking.order), untied_spread)
                numerators = np.stack([np.einsum("rp,rp->r", cumulative, np.take(u, ranking.order))
                                       for u in weighted_units], axis=1) - offsets
            norms = np.sqrt(np.maximum(spread, 0.0))
            norms[norms == 0] = np.nan  # every drawn pair tied: no correlation
            out.append(numerators / norms[:, None])
        similarities = np.concatenate(out)
        similarities[self.undefined] = np.nan
        return similarities


def pair_index(i: np.ndarray, j: np.ndarray, n: int) -> np.ndarray:
    """Position of the pair of stimuli ``(i, j)`` (``i != j``, either order) in a condensed RDM
    of ``n`` stimuli (row-major upper triangle, as ``squareform``)."""
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    return n * lo - lo * (lo + 1) // 2 + hi - lo - 1


def resampled_pairs(sample: np.ndarray, n: int) -> np.ndarray:
    """Condensed-vector indices of every pair in a stimulus resample, minus self-pairs."""
    p, q = np.triu_indices(sample.size, k=1)
    i, j = sample[p], sample[q]
    keep = i != j
    return pair_index(i[keep], j[keep], n)


def bootstrap_subjects(
    per_subject: Any,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    statistic: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Bootstrap over subjects of scores shaped ``(..., n_subjects)``: ``(n_boot, ...)``.

    ``statistic`` maps a resampled ``(..., n_subjects)`` array to the reported value; default
    the mean over subjects.
    """
    scores = np.asarray(per_subject, dtype=np.float64)
    n = scores.shape[-1]
    if n < 2:
        raise BrainAlignError("a bootstrap over subjects needs at least 2 subjects")
    stat = statistic or (lambda x: x.mean(axis=-1))
    rng = np.random.default_rng(seed)
    return np.stack([stat(scores[..., rng.integers(0, n, size=n)]) for _ in range(n_boot)])


def permutation_test(
    a: Any,
    b: Any,
    *,
    method: str = "spearman",
    n_perm: int = 10000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """One-sided test that ``a`` relates to ``b`` more than chance, by permuting stimulus labels
    of ``a``. Returns ``(p_values, null)`` with shapes ``(len(a), len(b))`` and
    ``(n_perm, len(a), len(b))``; ``p = (1 + #(null ≥ observed)) / (1 + n_perm)``.

    Ranking commutes with relabelling, so each permutation only gathers precomputed unit vectors.
    """
    stack_a, stack_b = as_rdm_stack(a, "a"), as_rdm_stack(b, "b")
    n = n_stimuli_from_pairs(stack_a.shape[1])
    observed = compare(stack_a, stack_b, method)
    rng = np.random.default_rng(seed)
    rows, cols = np.triu_indices(n, k=1)
    null = np.empty((n_perm,) + observed.shape)
    if method == "kendall_tau_a":
        for k in range(n_perm):
            null[k] = compare(stack_a[:, _permuted_pairs(rng.permutation(n), rows, cols, n)],
                              stack_b, method)
    else:
        units_a, units_b = unit_vectors(stack_a, method), unit_vectors(stack_b, method)
        for k in range(n_perm):
            null[k] = compare_units(units_a[:, _permuted_pairs(rng.permutation(n), rows, cols, n)],
                                    units_b)
    p_values = (1 + np.sum(null >= observed[None] - 1e-12, axis=0)) / (1 + n_perm)
    p_values[np.isnan(observed)] = np.nan  # an undefined comparison has no p-value, not the smallest
    return p_values, null


def _permuted_pairs(perm: np.ndarray, rows: np.ndarray, cols: np.ndarray, n: int) -> np.ndarray:
    """Index into a condensed RDM that relabels its stimuli by ``perm``."""
    return pair_index(perm[rows], perm[cols], n)


def fdr_bh(p_values: Any, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini–Hochberg: ``(reject, q_values)``, same shape as ``p_values``. NaN p-values
    (undefined tests) are left out of the family and get NaN q-values, never a rejection."""
    p = np.asarray(p_values, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    finite = ~np.isnan(p)
    if finite.any():
        q[finite] = false_discovery_control(p[finite], method="bh")
    with np.errstate(invalid="ignore"):
        return q <= alpha, q


def percentile_interval(samples: Any, level: float = 0.95, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile confidence interval of bootstrap ``samples`` along ``axis`` (NaNs ignored)."""
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(np.asarray(samples, dtype=np.float64), [tail, 100 - tail], axis=axis)
    return low, high


def expanded_level(level: float, n_units: int) -> float:
    """The percentile level that corrects a bootstrap over ``n_units`` resampled units for its
    narrowness (Hesterberg 2015, "expanded percentile interval"): the bootstrap spread of a mean
    is √((n−1)/n) of the true one, and a t quantile with n − 1 degrees of freedom, not a normal
    one, suits few units. The level becomes 2·Φ(√(n/(n−1))·t_{n−1}) − 1: for 15 subjects 0.974,
    for 4 subjects 0.9998 (about the whole bootstrap range); it tends to ``level`` as n grows."""
    if n_units < 2:
        return level
    quantile = math.sqrt(n_units / (n_units - 1)) * student_t.ppf((1 + level) / 2, n_units - 1)
    return float(2 * norm.cdf(quantile) - 1)


def expanded_percentile_interval(
    samples: Any, n_units: int, level: float = 0.95, axis: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`percentile_interval` at :func:`expanded_level`: for bootstraps over few units
    (subjects), where the plain percentile interval covers far less than ``level``."""
    return percentile_interval(samples, expanded_level(level, n_units), axis=axis)
