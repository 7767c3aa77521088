"""Uncertainty: bootstrap over stimuli, subjects or both, permutation tests, FDR control.

Every function takes a ``seed``; the same seed gives the same numbers, bit for bit.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import false_discovery_control, norm
from scipy.stats import t as student_t
from threadpoolctl import threadpool_limits

from ..errors import BrainAlignError
from ..phases import phase
from .comparison import as_rdm_stack, compare, compare_units, unit_vectors, warn_undefined
from .dissimilarity import n_stimuli_from_pairs
from .parallel import share_out

#: The suite's statistical settings, each with one home: bootstrap resamples and permutations of
#: a reported number, the coverage of every interval, the significance level of every test, and
#: how close a permuted value must come to the observed one to count as reaching it.
N_BOOT = 1000
N_PERMUTATIONS = 1000
LEVEL = 0.95
ALPHA = 0.05
TIE_TOLERANCE = 1e-12


def bootstrap_stimuli(
    a: Any,
    b: Any,
    *,
    method: str = "spearman",
    n_boot: int = N_BOOT,
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
    counts = np.array([np.bincount(rng.integers(0, n, size=n), minlength=n) for _ in range(n_boot)])
    return resampled_comparisons(stack_a, stack_b, counts.reshape(n_boot, n), method)


def resampled_comparisons(
    stack_a: np.ndarray, stack_b: np.ndarray, counts: np.ndarray, method: str = "spearman"
) -> np.ndarray:
    """:func:`weighted_comparisons` of every resample in ``counts`` ``(n_boot, n)`` at once:
    ``(n_boot, len(a), len(b))``, the resamples shared out among threads (each computed by one
    thread alone, so the numbers do not depend on the thread count)."""
    # one BLAS thread whatever the thread count: a product split among threads could round
    # differently
    with phase("bootstrap"), threadpool_limits(limits=1, user_api="blas"):
        resampled = _Resampled(stack_a, stack_b, method)
        out = np.empty((len(counts), stack_a.shape[0], stack_b.shape[0]))

        def resample(k: int) -> None:
            out[k] = resampled.compare(counts[k])

        share_out(resample, len(counts))
    return out


def weighted_comparisons(
    stack_a: np.ndarray,
    stack_b: np.ndarray,
    counts: Iterable[np.ndarray],
    method: str = "spearman",
) -> Iterator[np.ndarray]:
    """``compare(a, b, method)`` on each stimulus resample given by its draw ``counts`` (how often
    each stimulus was drawn): ``(len(a), len(b))`` per resample, the pairs weighted by their
    multiplicity and self-pairs dropped, as :func:`bootstrap_stimuli` describes. Not for
    ``kendall_tau_a``."""
    resampled = _Resampled(stack_a, stack_b, method)
    for drawn in counts:
        yield resampled.compare(drawn)


class _Resampled:
    """Two stacks prepared once for weighted comparisons under many resamples: the stack with
    more RDMs is reduced in its sorted order (Spearman), the other gets weighted units."""

    def __init__(self, stack_a: np.ndarray, stack_b: np.ndarray, method: str) -> None:
        self.swap = stack_a.shape[0] < stack_b.shape[0]
        many, few = (stack_b, stack_a) if self.swap else (stack_a, stack_b)
        self.few = _WeightedStack(few, method)
        self.many = (
            _SortedStack(many, few) if method == "spearman" else _WeightedStack(many, method)
        )
        self.rows, self.cols = np.triu_indices(n_stimuli_from_pairs(stack_a.shape[1]), k=1)

    def compare(self, drawn: np.ndarray) -> np.ndarray:
        """``(len(a), len(b))`` similarities with each pair weighted by its multiplicity."""
        counts = _whole_counts(drawn)
        # Integer weights: their cumulative sums (the weighted ranks) are exact, and an integer
        # cumulative sum vectorises where a float one cannot (its additions must stay in order);
        # int32 where the total fits (half the memory traffic, and int32 → float64 vectorises).
        pair_counts = counts[self.rows] * counts[self.cols]
        weights = pair_counts.astype(np.float64)
        if weights.sum() < 2**31:
            pair_counts = pair_counts.astype(np.int32)
        units = self.few.units(weights, pair_counts)
        if isinstance(self.many, _SortedStack):
            out = self.many.similarities(weights, pair_counts, units)
        else:
            out = (self.many.units(weights, pair_counts) * weights) @ units.T
        np.clip(out, -1.0, 1.0, out=out)
        return out.T if self.swap else out


def _whole_counts(drawn: np.ndarray) -> np.ndarray:
    """How often each stimulus was drawn, as integers small enough that the total weight of the
    pairs (at most the squared number of draws) fits an int64."""
    values = np.asarray(drawn)
    counts = values.astype(np.int64)
    if not np.array_equal(counts, values) or (counts < 0).any():
        raise BrainAlignError("stimulus resample counts must be whole numbers of draws, ≥ 0")
    return counts


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
        # intp, not a narrower index: np.take converts any other index type on every call
        self.order = np.argsort(stack, axis=1)
        ordered = np.take_along_axis(stack, self.order, axis=1)
        starts = np.ones_like(ordered, dtype=bool)
        starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
        del ordered
        self.tied = not starts.all()
        if self.tied:
            ends = np.ones_like(starts)
            ends[:, :-1] = starts[:, 1:]
            self.group = np.cumsum(starts.ravel()) - 1  # tie-group id of each sorted position
            self.group_last = np.flatnonzero(ends.ravel())  # each group's last sorted position
            self.group_row = self.group_last // stack.shape[1]  # the RDM each group belongs to
            self.row_first = self.group[:: stack.shape[1]]  # each RDM's first group

    def sorted_ranks(
        self, sorted_counts: np.ndarray, cumulative: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Weighted average ranks in sorted order from the integer pair weights in sorted order
        (and their cumulative sums along each row, where already computed), with the weight of
        every tie group (None without ties)."""
        if cumulative is None:
            cumulative = np.cumsum(sorted_counts, axis=1)
        if not self.tied:
            return cumulative - (sorted_counts - 1) / 2, None
        ends = cumulative.ravel()[self.group_last]  # cumulative weight up to each group's end
        group_weight = np.empty(len(ends))
        group_weight[0] = ends[0]
        np.subtract(ends[1:], ends[:-1], out=group_weight[1:])
        group_weight[self.row_first] = ends[self.row_first]
        group_rank = ends - (group_weight - 1) / 2
        return group_rank[self.group].reshape(sorted_counts.shape), group_weight

    def unsort(self, sorted_values: np.ndarray) -> np.ndarray:
        """Values given in each RDM's sorted order, put back in the RDMs' own pair order."""
        values = np.empty_like(sorted_values)
        for row, order in enumerate(self.order):  # a 1-d scatter per RDM: numpy's fast path
            values[row, order] = sorted_values[row]
        return values


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

    def units(self, weights: np.ndarray, pair_counts: np.ndarray) -> np.ndarray:
        """Rows centred and scaled so that ``(u_a * w) @ u_b.T`` is the weighted similarity
        (``weights``: the integer ``pair_counts`` as floats)."""
        if self.ranking is not None:
            ranks, _ = self.ranking.sorted_ranks(np.take(pair_counts, self.ranking.order))
            values = self.ranking.unsort(ranks)
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
      cumulative sum of the (integer) weights minus ``(w − 1) / 2``, and the latter's share
      ``Σ (w − 1)/2 · w·u`` does not depend on the order at all. Summing in the sorted order
      (not in pair order) keeps the result the same, bit for bit, whatever order the stimuli's
      rows came in, so a tie between layers is broken alike for every file format;
    * the denominator does not depend on the order either: weighted average ranks of a multiset
      of total weight ``W`` whose tie groups weigh ``W_g`` have ``Σ w (r − mean)² =
      (W³ − W)/12 − Σ_g (W_g³ − W_g)/12`` (each pair its own group where the RDM has no ties),
      a sum of integers, exact in float64.

    Per resample and RDM that is one gather of the integer weights in the sorted order, their
    cumulative sum, and one product with the others' weighted units: against a few others,
    those are gathered into the RDM's sorted order (a row of them per pair); against many,
    the RDM's ranks are moved into one common order instead (see :meth:`__init__`), so the
    cost no longer grows with the others times the pairs. A few passes over the pairs, none
    of them a sort. RDMs that rank their pairs alike get the same numbers, bit for bit.
    """

    CHUNK_ITEMS = 2**17  # pairs × RDMs per chunk: working arrays that stay in a core's cache
    BLOCK_ITEMS = 2**18  # pairs × RDMs × others gathered at once: 2 MB per thread
    #: Up to this many others, their weighted units are gathered together, a row of them per
    #: pair (numpy's take copies rows of up to 32 bytes fast, longer ones one by one).
    GATHER_ROWS = 4

    def __init__(self, stack: np.ndarray, others: np.ndarray) -> None:
        self.undefined = _undefined_rows(stack, "spearman")
        rows = max(1, self.CHUNK_ITEMS // max(stack.shape[1], 1))
        self.chunks = []
        for start in range(0, stack.shape[0], rows):
            chunk = stack[start : start + rows]
            undefined = self.undefined[start : start + rows]
            self.chunks.append(
                _Ranking(np.where(undefined[:, None], 0.0, chunk) if undefined.any() else chunk)
            )
        # Against many others, each RDM's ranks are moved from its own sorted order into one
        # common order (the others' joint sorted order: the same pairs in the same sequence
        # whatever the order of the stimuli) and reduced against all others by one product.
        self.common: np.ndarray | None = None
        self.moves: list[np.ndarray] = []
        if len(others) > self.GATHER_ROWS:
            self.common = np.lexsort(others[::-1])
            for ranking in self.chunks:
                position = np.empty_like(ranking.order)
                np.put_along_axis(
                    position, ranking.order, np.arange(stack.shape[1])[None, :], axis=1
                )
                flat = position[:, self.common]
                flat += np.arange(len(flat))[:, None] * stack.shape[1]
                self.moves.append(flat)

    def similarities(
        self, weights: np.ndarray, pair_counts: np.ndarray, units: np.ndarray
    ) -> np.ndarray:
        """``(len(stack), len(units))`` weighted Spearman correlations with ``units``
        (:meth:`_WeightedStack.units` of the other RDMs under the same weights: the integer
        ``pair_counts``, and as floats ``weights``)."""
        total = weights.sum()
        weighted_units = units * weights  # (others, pairs)
        offsets = weighted_units @ ((weights - 1) / 2)  # Σ (w − 1)/2 · w·u, whatever the order
        untied_spread = (total**3 - total) / 12 - np.sum(weights**3 - weights) / 12
        others = np.ascontiguousarray(weighted_units.T)  # (pairs, others): one row per pair
        block = max(1, self.BLOCK_ITEMS // max(others.size, 1))
        common_units = None if self.common is None else np.ascontiguousarray(others[self.common])
        out = []
        for index, ranking in enumerate(self.chunks):
            sorted_counts = np.take(pair_counts, ranking.order)
            cumulative = np.cumsum(sorted_counts, axis=1, dtype=sorted_counts.dtype)
            if ranking.tied:
                ranks, group_weight = ranking.sorted_ranks(sorted_counts, cumulative)
                assert group_weight is not None
                spread = (total**3 - total) / 12 - np.bincount(
                    ranking.group_row,
                    weights=(group_weight**3 - group_weight) / 12,
                    minlength=len(ranking.order),
                )
                shift = np.zeros(len(units))
            else:
                # the weighted rank's −(w − 1)/2 is left to the order-free offsets
                ranks = cumulative.astype(np.float64)
                spread = np.full(len(ranking.order), untied_spread)
                shift = offsets
            if common_units is not None:
                # ranks in the common order, times every other's weighted units in that order:
                # one (1 × pairs) @ (pairs × others) product per RDM, alike for every RDM
                common_ranks = np.take(ranks, self.moves[index])
                numerators = np.matmul(common_ranks[:, None, :], common_units)[:, 0, :]
            else:
                numerators = np.empty((len(ranks), len(units)))
                for start in range(0, len(ranks), block):
                    # each RDM's ranks times the others' weighted units gathered in its sorted
                    # order: one (1 × pairs) @ (pairs × others) product per RDM
                    rows = slice(start, start + block)
                    gathered = np.take(others, ranking.order[rows], axis=0)
                    numerators[rows] = np.matmul(ranks[rows, None, :], gathered)[:, 0, :]
            numerators -= shift
            norms = np.sqrt(np.maximum(spread, 0.0))
            norms[norms == 0] = np.nan  # every drawn pair tied: no correlation
            out.append(numerators / norms[:, None])
        similarities = np.concatenate(out)
        similarities[self.undefined] = np.nan
        return similarities


def scoring_memory(n_stimuli: int, n_layers: int, n_subjects: int = 0) -> int:
    """Bytes that scoring ``n_layers`` layer RDMs of ``n_stimuli`` stimuli against ``n_subjects``
    subject RDMs holds at its peak, roughly: per pair of stimuli, a layer's RDM, the copy matched
    to the target's stimulus order, its Spearman units, its sort order and where its ranks go
    in the subjects' common order (40 bytes); a subject's RDM as read (square), condensed, its
    units, its copy and sort order for the bootstrap (56 bytes); and each thread's resample
    buffers (96 bytes in all). Checked against measured peaks in tests/perf/test_scale.py."""
    pairs = n_stimuli * (n_stimuli - 1) // 2
    return pairs * (40 * n_layers + 56 * n_subjects + 96)


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
    n_boot: int = N_BOOT,
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
    null = np.empty((n_perm, *observed.shape))
    if method == "kendall_tau_a":
        for k in range(n_perm):
            null[k] = compare(
                stack_a[:, _permuted_pairs(rng.permutation(n), rows, cols, n)], stack_b, method
            )
    else:
        units_a, units_b = unit_vectors(stack_a, method), unit_vectors(stack_b, method)
        for k in range(n_perm):
            null[k] = compare_units(
                units_a[:, _permuted_pairs(rng.permutation(n), rows, cols, n)], units_b
            )
    p_values = (1 + np.sum(null >= observed[None] - TIE_TOLERANCE, axis=0)) / (1 + n_perm)
    p_values[np.isnan(observed)] = (
        np.nan
    )  # an undefined comparison has no p-value, not the smallest
    return p_values, null


def _permuted_pairs(perm: np.ndarray, rows: np.ndarray, cols: np.ndarray, n: int) -> np.ndarray:
    """Index into a condensed RDM that relabels its stimuli by ``perm``."""
    return pair_index(perm[rows], perm[cols], n)


def fdr_bh(p_values: Any, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini–Hochberg: ``(reject, q_values)``, same shape as ``p_values``. NaN p-values
    (undefined tests) are left out of the family and get NaN q-values, never a rejection."""
    p = np.asarray(p_values, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    finite = ~np.isnan(p)
    if finite.any():
        q[finite] = false_discovery_control(p[finite], method="bh")
    with np.errstate(invalid="ignore"):
        return q <= alpha, q


def percentile_interval(
    samples: Any, level: float = LEVEL, axis: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile confidence interval of bootstrap ``samples`` along ``axis`` (NaNs ignored)."""
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(
        np.asarray(samples, dtype=np.float64), [tail, 100 - tail], axis=axis
    )
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
    samples: Any, n_units: int, level: float = LEVEL, axis: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`percentile_interval` at :func:`expanded_level`: for bootstraps over few units
    (subjects), where the plain percentile interval covers far less than ``level``."""
    return percentile_interval(samples, expanded_level(level, n_units), axis=axis)


# --- two factors: subjects and stimuli ------------------------------------------------------------
#
# A score averaged over subjects and stimulus pairs behaves like the mean of a subject × stimulus
# table x_si = μ + a_s + b_i + e_si. Its sampling variance is σa²/S + σb²/n + σe²/(S n). A bootstrap
# over subjects alone sees σa²/S and σe²/(S n); one over stimuli alone sees σb²/n and σe²/(S n);
# resampling both at once (with the same draws) sees σe²/(S n) a third time, so it overstates the
# variance, most where subjects or stimuli are few. Schütt, Kipnis, Diedrichsen & Kriegeskorte
# (2023, "Statistical inference on representational geometries", eLife 12:e82566) solve the three
# bootstrap variances for the true one; :func:`two_factor_variance` does that, bounded as
# :data:`VARIANCE_RULE` says (rsatoolbox's ``eval_dual_bootstrap`` bounds it otherwise).

#: What :func:`corrected_variance` is, in one line (results record it beside the variance).
VARIANCE_RULE = (
    "two-factor bootstrap variance floored at the subjects' share: Schuett et al.'s (2023) "
    "combination of the subject, stimulus and both-factor bootstrap variances, bounded to "
    "[S/(S-1) V_s, V_b]; not floored at the stimuli's share n/(n-1) V_p as rsatoolbox's "
    "eval_dual_bootstrap is"
)


@dataclass(frozen=True, eq=False)
class TwoFactorDraws:
    """One set of bootstrap draws shared by the three bootstraps of :func:`bootstrap_two_factor`:
    ``subjects`` ``(n_boot, S)`` drawn subject indices and ``stimulus_counts`` ``(n_boot, n)`` how
    often each stimulus was drawn in the same resample."""

    subjects: np.ndarray
    stimulus_counts: np.ndarray

    @classmethod
    def draw(
        cls,
        n_subjects: int,
        n_stimuli: int,
        n_boot: int,
        subject_seed: Any,
        stimulus_seed: Any,
    ) -> TwoFactorDraws:
        """Subjects from ``subject_seed`` (resample ``k`` is the ``k``-th draw of
        ``default_rng(subject_seed).integers(0, S, size=S)``, as :func:`bootstrap_subjects`
        draws them), stimuli from ``stimulus_seed``: each factor's draws do not depend on the
        other's size."""
        subject_rng = np.random.default_rng(subject_seed)
        stimulus_rng = np.random.default_rng(stimulus_seed)
        subjects = np.array(
            [subject_rng.integers(0, n_subjects, size=n_subjects) for _ in range(n_boot)],
            dtype=np.int64,
        ).reshape(n_boot, n_subjects)
        counts = np.array(
            [
                np.bincount(
                    stimulus_rng.integers(0, n_stimuli, size=n_stimuli), minlength=n_stimuli
                )
                for _ in range(n_boot)
            ],
            dtype=np.int64,
        ).reshape(n_boot, n_stimuli)
        return cls(subjects, counts)

    @property
    def n_boot(self) -> int:
        return int(self.subjects.shape[0])

    def digest(self) -> str:
        """sha256 of the draws: two scores whose draws have the same digest were resampled alike."""
        hasher = hashlib.sha256()
        for array in (self.subjects, self.stimulus_counts):
            hasher.update(repr(array.shape).encode())
            hasher.update(np.ascontiguousarray(array, dtype="<i8").tobytes())
        return hasher.hexdigest()


@dataclass(frozen=True, eq=False)
class TwoFactorSamples:
    """Bootstrap samples of one statistic from the same draws, ``(n_boot, ...)`` each: subjects
    resampled with the stimuli fixed, stimuli resampled with the subjects fixed, and both."""

    subjects: np.ndarray
    stimuli: np.ndarray
    both: np.ndarray

    def __sub__(self, other: TwoFactorSamples) -> TwoFactorSamples:
        """Resample-wise differences: the samples of a paired difference."""
        return TwoFactorSamples(
            self.subjects - other.subjects, self.stimuli - other.stimuli, self.both - other.both
        )

    def __truediv__(self, divisor: float) -> TwoFactorSamples:
        return TwoFactorSamples(
            self.subjects / divisor, self.stimuli / divisor, self.both / divisor
        )


#: ``statistic(per_subject, sample)``: the reported value from the ``(layers, subjects)``
#: comparisons; ``sample`` is the drawn subject indices (columns of ``per_subject``), None for the
#: original subjects.
SubjectStatistic = Callable[[np.ndarray, "np.ndarray | None"], Any]


def bootstrap_two_factor(
    model_rdms: Any,
    subject_rdms: Any,
    statistic: SubjectStatistic,
    draws: TwoFactorDraws,
    *,
    method: str = "spearman",
) -> TwoFactorSamples:
    """Bootstrap a statistic of the ``(layers, subjects)`` comparisons over subjects, over
    stimuli, and over both, from one set of ``draws``.

    A stimulus resample weights each pair by its multiplicity and drops self-pairs
    (:func:`bootstrap_stimuli`); a subject resample hands ``statistic`` the drawn indices, so it
    can keep track of copies (a cross-validation must keep a subject's copies on one side).
    """
    model, subjects = (
        as_rdm_stack(model_rdms, "model_rdms"),
        as_rdm_stack(subject_rdms, "subject_rdms"),
    )
    n_stimuli = n_stimuli_from_pairs(model.shape[1])
    if draws.stimulus_counts.shape[1] != n_stimuli or draws.subjects.shape[1] != subjects.shape[0]:
        raise BrainAlignError(
            f"draws for {draws.subjects.shape[1]} subjects and {draws.stimulus_counts.shape[1]} stimuli "
            f"do not fit {subjects.shape[0]} subject RDMs of {n_stimuli} stimuli"
        )
    per_subject = compare(model, subjects, method)
    by_subjects = [statistic(per_subject, sample) for sample in draws.subjects]
    by_stimuli, by_both = [], []
    for compared, sample in zip(
        resampled_comparisons(model, subjects, draws.stimulus_counts, method), draws.subjects
    ):
        by_stimuli.append(statistic(compared, None))
        by_both.append(statistic(compared, sample))
    return TwoFactorSamples(
        *(np.asarray(s, dtype=np.float64) for s in (by_subjects, by_stimuli, by_both))
    )


@dataclass(frozen=True)
class TwoFactorVariance:
    """The three bootstrap variances, the corrected variance and how it was bounded.

    ``raw`` is Schütt et al.'s combination before bounds (it can be negative); ``variance`` is raw
    bounded to [S/(S−1)·V_subjects, V_both]; ``bound`` says which bound applied (``""``,
    ``"subjects"`` or ``"both"``); ``dof`` the Welch–Satterthwaite degrees of freedom of the t
    quantile.
    """

    subjects: float
    stimuli: float
    both: float
    raw: float
    variance: float
    bound: str
    dof: float


def two_factor_variance(
    samples: TwoFactorSamples, n_subjects: int, n_stimuli: int
) -> TwoFactorVariance:
    """Sampling variance of a statistic over new subjects *and* new stimuli (:data:`VARIANCE_RULE`),
    from its three bootstrap distributions (:func:`corrected_variance`). Resamples where the
    statistic is undefined (NaN) are left out."""

    def variance(x: np.ndarray) -> float:
        return float(np.nanvar(x, ddof=1)) if np.isfinite(x).sum() > 1 else math.nan

    return corrected_variance(
        variance(samples.subjects),
        variance(samples.stimuli),
        variance(samples.both),
        n_subjects,
        n_stimuli,
    )


def corrected_variance(
    v_subjects: float, v_stimuli: float, v_both: float, n_subjects: int, n_stimuli: int
) -> TwoFactorVariance:
    """The two-factor bootstrap variance floored at the subjects' share (:data:`VARIANCE_RULE`):
    Schütt et al.'s combination of the bootstrap variances over subjects (V_s), over stimuli
    (V_p) and over both (V_b). With f_s = S/(S−1) and f_p = n/(n−1):

        raw = f_s·V_s + f_p·V_p − f_s·f_p·(V_b − V_s − V_p)

    (about 2(V_s + V_p) − V_b for many subjects and stimuli). Noise makes ``raw`` small or even
    negative, so it is bounded: above by V_b (resampling both factors overcounts, never
    undercounts), below by f_s·V_s (the subjects' share alone, which needs no correction). Unlike
    rsatoolbox's ``eval_dual_bootstrap`` there is no floor at f_p·V_p: a pair of stimuli drawn
    ``c_i`` and ``c_j`` times weighs ``c_i·c_j``, whose variance is 3, not 1, so the stimulus
    bootstrap of an RDM comparison overstates its own share, most where pair-specific noise
    dominates. On such noisy data the floor binds and widens the interval well beyond its level;
    without it the interval keeps its level (docs/metrics.md: simulated coverage in the noisy
    regime). Where the bounds cross, the lower one holds. Degrees of freedom: Welch–Satterthwaite with f_s·V_s on S − 1 and the rest on n − 1,
    within [S − 1, n − 1].
    """
    if n_subjects < 2 or n_stimuli < 2:
        raise BrainAlignError("a two-factor bootstrap needs at least 2 subjects and 2 stimuli")
    f_s, f_p = n_subjects / (n_subjects - 1), n_stimuli / (n_stimuli - 1)
    raw = f_s * v_subjects + f_p * v_stimuli - f_s * f_p * (v_both - v_subjects - v_stimuli)
    floor = f_s * v_subjects
    variance, bound = raw, ""
    if raw > v_both:
        variance, bound = v_both, "both"
    if variance < floor:
        variance, bound = floor, "subjects"
    if math.isnan(variance):
        return TwoFactorVariance(v_subjects, v_stimuli, v_both, raw, math.nan, "", math.nan)
    rest = max(variance - floor, 0.0)
    denominator = floor**2 / (n_subjects - 1) + rest**2 / (n_stimuli - 1)
    dof = variance**2 / denominator if denominator > 0 else float(n_subjects - 1)
    dof = min(max(dof, n_subjects - 1.0), n_stimuli - 1.0)
    return TwoFactorVariance(v_subjects, v_stimuli, v_both, raw, variance, bound, dof)


def two_factor_interval(
    estimate: float,
    samples: TwoFactorSamples,
    n_subjects: int,
    n_stimuli: int,
    level: float = LEVEL,
) -> tuple[float, float, TwoFactorVariance]:
    """``estimate ± t·√V`` with V and t's degrees of freedom from :func:`two_factor_variance`,
    centred on the full-data estimate (not the bootstrap mean). Returns ``(low, high, variance)``;
    NaN ends where the estimate or the variance is undefined."""
    variance = two_factor_variance(samples, n_subjects, n_stimuli)
    if not (math.isfinite(estimate) and math.isfinite(variance.variance)):
        return math.nan, math.nan, variance
    half = float(student_t.ppf((1 + level) / 2, variance.dof)) * math.sqrt(variance.variance)
    return estimate - half, estimate + half, variance
