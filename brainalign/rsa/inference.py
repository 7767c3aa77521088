"""Uncertainty: bootstrap over stimuli or subjects, permutation tests, FDR control.

Every function takes a ``seed``; the same seed gives the same numbers, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.stats import false_discovery_control

from ..errors import BrainAlignError
from .compare import as_rdm_stack, compare, compare_units, unit_vectors
from .dissimilarity import n_stimuli_from_pairs


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
    stimulus paired with its own copy (its dissimilarity is undefined), as rsatoolbox does; pairs
    drawn twice count twice.
    """
    stack_a, stack_b = as_rdm_stack(a, "a"), as_rdm_stack(b, "b")
    n = n_stimuli_from_pairs(stack_a.shape[1])
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, stack_a.shape[0], stack_b.shape[0]))
    for k in range(n_boot):
        pairs = resampled_pairs(rng.integers(0, n, size=n), n)
        out[k] = compare(stack_a[:, pairs], stack_b[:, pairs], method)
    return out


def resampled_pairs(sample: np.ndarray, n: int) -> np.ndarray:
    """Condensed-vector indices of every pair in a stimulus resample, minus self-pairs."""
    p, q = np.triu_indices(sample.size, k=1)
    i, j = sample[p], sample[q]
    keep = i != j
    lo, hi = np.minimum(i[keep], j[keep]), np.maximum(i[keep], j[keep])
    return n * lo - lo * (lo + 1) // 2 + hi - lo - 1


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
    return p_values, null


def _permuted_pairs(perm: np.ndarray, rows: np.ndarray, cols: np.ndarray, n: int) -> np.ndarray:
    """Index into a condensed RDM that relabels its stimuli by ``perm``."""
    i, j = perm[rows], perm[cols]
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    return n * lo - lo * (lo + 1) // 2 + hi - lo - 1


def fdr_bh(p_values: Any, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini–Hochberg: ``(reject, q_values)``, same shape as ``p_values``."""
    p = np.asarray(p_values, dtype=np.float64)
    q = false_discovery_control(p.ravel(), method="bh").reshape(p.shape)
    return q <= alpha, q


def percentile_interval(samples: Any, level: float = 0.95, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile confidence interval of bootstrap ``samples`` along ``axis`` (NaNs ignored)."""
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(np.asarray(samples, dtype=np.float64), [tail, 100 - tail], axis=axis)
    return low, high
