"""Noise ceilings: how well the best possible model could match a target's subjects, and whether
the subjects agree with each other at all."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..errors import BrainAlignError
from .comparison import as_rdm_stack, compare, unit_vectors
from .dissimilarity import n_stimuli_from_pairs
from .inference import ALPHA, N_PERMUTATIONS, TIE_TOLERANCE, pair_index
from .parallel import share_out

# Below this many dissimilarities in all, permutations run in this thread.
_THREADED_MIN_ITEMS = 1 << 14


class NoiseCeiling(NamedTuple):
    """Lower and upper bound on the mean per-subject similarity any model can reach."""

    lower: float
    upper: float


def noise_ceiling(subject_rdms: Any, method: str = "spearman") -> NoiseCeiling:
    """Leave-one-subject-out noise ceiling of per-subject condensed RDMs ``(n_subjects, P)``.

    lower = mean over subjects of ``method``-similarity with the mean RDM of the *other* subjects;
    upper = mean over subjects of the similarity with the mean RDM of *all* subjects.
    """
    stack = _subjects(subject_rdms)
    n = stack.shape[0]
    total = stack.sum(axis=0)
    group_mean = total / n
    others = (total[None, :] - stack) / (n - 1)
    upper = _paired(stack, group_mean[None, :].repeat(n, axis=0), method)
    lower = _paired(stack, others, method)
    return NoiseCeiling(float(np.mean(lower)), float(np.mean(upper)))


#: The definition of :func:`ceiling_reliability` (its statistic, null and permutation draws): a
#: stored result of an older version is not reused, so bump it whenever the numbers may change.
CEILING_RELIABILITY_VERSION = 1


@dataclass(frozen=True)
class CeilingReliability:
    """Whether subjects agree more than chance: the lower noise ceiling against its values with
    every subject's stimulus labels shuffled independently (:func:`ceiling_reliability`)."""

    lower: float  # the observed lower ceiling
    p: float  # (1 + #(null >= lower)) / (1 + n_permutations); NaN where the ceiling is undefined
    null_mean: float
    null_sd: float
    n_permutations: int
    seed: int

    @property
    def reliable(self) -> bool:
        return bool(self.p < ALPHA)  # NaN compares False: undefined is not reliable


def ceiling_reliability(
    subject_rdms: Any, method: str = "spearman", *, n_perm: int = N_PERMUTATIONS, seed: int = 0
) -> CeilingReliability:
    """One-sided permutation test that the subjects' RDMs ``(n_subjects, P)`` agree more than
    chance.

    Statistic: the lower noise ceiling (each subject against the mean of the others,
    :func:`noise_ceiling`). Null: subjects that share no stimulus-specific structure, made by
    relabelling each subject's stimuli with its own random permutation (a Mantel test for many
    RDMs), which keeps every subject's own geometry (its spread of dissimilarities, its clusters)
    and destroys only the correspondence between subjects. The upper ceiling is not tested: with
    no agreement at all it still comes out near 1/√S, so it cannot tell agreement from noise.
    Each permutation reranks only the means of the others; a subject's own ranks are relabelled,
    since ranking commutes with relabelling. Permutations are drawn up front from ``seed`` and
    computed in threads (large RDMs): the numbers do not depend on the thread count.
    """
    stack = _subjects(subject_rdms)
    n_subjects, n_pairs = stack.shape
    observed = noise_ceiling(stack, method).lower
    if not math.isfinite(observed):
        return CeilingReliability(observed, math.nan, math.nan, math.nan, n_perm, seed)
    n = n_stimuli_from_pairs(n_pairs)
    rng = np.random.default_rng(seed)
    permutations = (
        np.stack(
            [rng.permuted(np.tile(np.arange(n), (n_subjects, 1)), axis=1) for _ in range(n_perm)]
        )
        if n_perm
        else np.zeros((0, n_subjects, n), int)
    )
    rows, cols = np.triu_indices(n, k=1)
    own = unit_vectors(stack, method) if method != "kendall_tau_a" else None
    null = np.empty(n_perm)

    def permuted(k: int) -> None:
        pairs = pair_index(permutations[k][:, rows], permutations[k][:, cols], n)  # (S, P)
        shuffled = np.take_along_axis(stack, pairs, axis=1)
        others = (shuffled.sum(axis=0)[None, :] - shuffled) / (n_subjects - 1)
        if own is None:
            null[k] = float(np.mean(_paired(shuffled, others, method)))
        else:
            mine = np.take_along_axis(own, pairs, axis=1)
            null[k] = float(np.mean(np.einsum("ij,ij->i", mine, unit_vectors(others, method))))

    if stack.size >= _THREADED_MIN_ITEMS:
        share_out(permuted, n_perm)
    else:  # small RDMs: starting threads would cost more than the permutations
        for k in range(n_perm):
            permuted(k)
    p = (1 + np.sum(null >= observed - TIE_TOLERANCE)) / (1 + n_perm)
    spread = float(np.std(null, ddof=1)) if n_perm > 1 else math.nan
    return CeilingReliability(
        observed, float(p), float(np.mean(null)) if n_perm else math.nan, spread, n_perm, seed
    )


def algonauts2019_noise_ceiling(subject_rdms: Any, method: str = "spearman") -> float:
    """The Algonauts 2019 challenge's noise ceiling: mean over subjects of the *squared*
    correlation between each subject's RDM and the group mean RDM *including* that subject.

    It is the normaliser of the challenge's published scores. The challenge correlated with
    Spearman's ρ: that reproduces its 92-image ceilings (EVC 0.1589, IT 0.3075) exactly, while
    Pearson gives 0.1695 and 0.3207. A squared correlation, not comparable to
    :func:`noise_ceiling`.
    """
    stack = _subjects(subject_rdms)
    r = compare(stack, stack.mean(axis=0), method=method)[:, 0]
    return float(np.mean(r**2))


def _paired(rows: np.ndarray, partners: np.ndarray, method: str) -> np.ndarray:
    """Row-wise similarity of ``rows[i]`` with ``partners[i]``."""
    if method == "kendall_tau_a":
        return np.array([compare(r, p, method)[0, 0] for r, p in zip(rows, partners)])
    return np.einsum("ij,ij->i", unit_vectors(rows, method), unit_vectors(partners, method))


def _subjects(subject_rdms: Any) -> np.ndarray:
    stack = as_rdm_stack(subject_rdms, "subject_rdms")
    if stack.shape[0] < 2:
        raise BrainAlignError(
            f"a noise ceiling needs RDMs of at least 2 subjects, got {stack.shape[0]}"
        )
    return stack
