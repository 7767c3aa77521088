"""Uncertainty: bootstrap over stimuli or subjects, permutation tests, FDR control.

Every function takes a ``seed``; the same seed gives the same numbers, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import false_discovery_control, norm
from scipy.stats import t as student_t

from ..errors import BrainAlignError
from .compare import as_rdm_stack, compare, compare_units, unit_vectors, warn_undefined
from .dissimilarity import n_stimuli_from_pairs

if TYPE_CHECKING:
    import torch


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
    them, each pair carries its multiplicity ``w`` as a weight: ranks of a weighted multiset come
    from one cumulative sum over the order each RDM was sorted in once, and the correlation is
    the weighted one: the same number (to rounding), several times faster.
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
    import torch  # the inner loop runs in torch (float64): multithreaded gathers and prefix sums

    weighted_a, weighted_b = _WeightedStack(stack_a, method), _WeightedStack(stack_b, method)
    rows, cols = np.triu_indices(n, k=1)
    out = np.empty((n_boot, stack_a.shape[0], stack_b.shape[0]))
    for k in range(n_boot):
        counts = np.bincount(rng.integers(0, n, size=n), minlength=n).astype(np.float64)
        weights = torch.from_numpy(counts[rows] * counts[cols])
        units_a, units_b = weighted_a.units(weights), weighted_b.units(weights)
        out[k] = ((units_a * weights) @ units_b.T).clamp_(-1.0, 1.0).numpy()
    return out


class _WeightedStack:
    """RDMs prepared once for weighted comparisons (as torch float64 tensors): for spearman, each
    row's sort order, its inverse and its tie groups."""

    def __init__(self, stack: np.ndarray, method: str) -> None:
        import torch

        if method not in ("spearman", "pearson", "cosine"):
            raise BrainAlignError(f"unknown comparison {method!r}")
        self.method = method
        has_nan = np.isnan(stack).any(axis=1)
        undefined = has_nan | (
            (stack.max(axis=1) == stack.min(axis=1)) if method != "cosine" else ~stack.any(axis=1)
        )
        warn_undefined(undefined, has_nan, "all-zero" if method == "cosine" else "constant")
        self.undefined = torch.from_numpy(undefined)
        safe = np.where(undefined[:, None], 0.0, stack)
        self.stack = torch.from_numpy(safe)
        if method != "spearman":
            return
        order = np.argsort(safe, axis=1)
        inverse = np.argsort(order, axis=1)  # sorted position of each pair
        ordered = np.take_along_axis(safe, order, axis=1)
        starts = np.ones_like(ordered, dtype=bool)
        starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
        self.order, self.inverse = torch.from_numpy(order), torch.from_numpy(inverse)
        self.tied = not starts.all()
        if self.tied:
            group = np.cumsum(starts.ravel()) - 1  # global tie-group id per sorted element
            ends = np.ones_like(starts)
            ends[:, :-1] = starts[:, 1:]
            self.group_sorted = torch.from_numpy(group)
            self.group_of_pair = torch.from_numpy(
                np.take_along_axis(group.reshape(starts.shape), inverse, axis=1))
            self.group_last = torch.from_numpy(np.flatnonzero(ends.ravel()))  # each group's last element

    def units(self, weights: torch.Tensor) -> torch.Tensor:
        """Rows centred and scaled so that ``(u_a * w) @ u_b.T`` is the weighted similarity."""
        values = self._weighted_ranks(weights) if self.method == "spearman" else self.stack.clone()
        if self.method != "cosine":
            values -= (values @ weights / weights.sum())[:, None]
        norms = ((values * values) @ weights).sqrt_()
        undefined = self.undefined | (norms == 0)
        if self.method == "pearson":  # constant on the drawn pairs: rounding leaves a tiny norm
            drawn = self.stack[:, weights > 0]
            undefined |= drawn.amax(dim=1) == drawn.amin(dim=1)
        norms[undefined] = 1.0
        values /= norms[:, None]
        values[undefined] = float("nan")
        return values

    def _weighted_ranks(self, weights: torch.Tensor) -> torch.Tensor:
        """Average ranks of each row's values in the multiset where value ``j`` occurs ``w_j``
        times: (weight of all smaller values) + (weight of its tie group + 1) / 2."""
        import torch

        sorted_weights = weights[self.order]
        cumulative = torch.cumsum(sorted_weights, dim=1)
        if not self.tied:
            cumulative -= (sorted_weights - 1) / 2
            return torch.gather(cumulative, 1, self.inverse)
        group_weight = torch.bincount(self.group_sorted, weights=sorted_weights.reshape(-1))
        group_rank = cumulative.reshape(-1)[self.group_last] - (group_weight - 1) / 2
        return group_rank[self.group_of_pair]


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
