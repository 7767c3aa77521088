"""Stimuli by id: rows matched by id, and the folds of the cross-validated metrics."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from ..errors import BrainAlignError


def match_ids(have: Sequence[str], want: Sequence[str], missing_message: str) -> np.ndarray | None:
    """The rows of ``have`` that hold ``want``'s ids, in ``want``'s order (None: already so);
    ids of ``want`` not in ``have`` raise ``missing_message`` (formatted with ``count`` and
    ``examples``)."""
    ids = tuple(str(s) for s in want)
    if ids == tuple(have):
        return None
    position = {s: i for i, s in enumerate(have)}
    missing = [s for s in ids if s not in position]
    if missing:
        raise BrainAlignError(missing_message.format(count=len(missing), examples=missing[:3]))
    return np.array([position[s] for s in ids], dtype=np.intp)


def stimulus_folds(stimulus_ids: Sequence[str], n_folds: int, seed: int) -> np.ndarray:
    """The fold (``0 … n_folds−1``) of each stimulus, in the order given: the ids are sorted, put
    in a seeded random order and dealt out in turn, so fold sizes differ by at most one and a
    stimulus's fold depends on its id, never on the order of the rows it came in."""
    ids = [str(s) for s in stimulus_ids]
    if len(set(ids)) != len(ids):
        raise BrainAlignError("stimulus ids must be unique")
    if not 2 <= n_folds <= len(ids):
        raise BrainAlignError(f"{n_folds} folds cannot be made from {len(ids)} stimuli")
    by_id = np.argsort(np.asarray(ids, dtype=str), kind="stable")
    dealt = np.random.default_rng(seed).permutation(len(ids))
    folds = np.empty(len(ids), dtype=np.intp)
    folds[by_id[dealt]] = np.arange(len(ids)) % n_folds
    return folds


def splits(folds: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(train, test)`` stimulus indices of each fold, in fold order."""
    for fold in np.unique(folds):
        yield np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
