"""Noise ceilings: how well the best possible model could match a target's subjects."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..errors import BrainAlignError
from .compare import as_rdm_stack, compare, unit_vectors


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

