"""Representational dissimilarity matrices from features, exactly, via one Gram matrix.

Every distance is a function of the Gram matrix ``X Xᵀ`` (plus, for correlation, row means), so a
layer RDM costs one BLAS ``syrk`` instead of a pairwise loop. The Gram is accumulated in float64
over column chunks, so float32 activations never need a full float64 copy and the result agrees
with ``scipy.spatial.distance.pdist`` to rounding. Where Gram arithmetic would lose digits (two
nearly identical stimuli under a Euclidean distance) those few pairs are recomputed directly.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import BrainAlignError

DISTANCES: tuple[str, ...] = ("cosine", "correlation", "euclidean", "sqeuclidean")

# Columns converted to float64 at a time when building a Gram matrix from float32 activations.
_CHUNK_ELEMENTS = 1 << 24

#: A model's layer RDMs (:func:`brainalign.models.extract_layer_rdms`) set cosine and correlation
#: distances at most this far from zero to zero: far above the rounding of float64 Gram arithmetic
#: on identical stimuli (a few ulps of 1), far below any distance between different images.
#: Identical stimuli then tie exactly, whichever way rounding went, so their order (and every rank
#: statistic) does not depend on how the Gram matrix was summed. :func:`rdm` itself keeps
#: scipy's values.
ZERO_DISTANCE = 2.0**-40


def as_array(values: Any, dtype: type | None = None) -> np.ndarray:
    """A numpy view of ``values``; torch tensors are detached and moved to the CPU."""
    if hasattr(values, "detach") and hasattr(values, "cpu"):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    return array.astype(dtype, copy=False) if dtype is not None else array


def as_features(features: Any) -> np.ndarray:
    """Features as a 2-D array ``(n_stimuli, n_features)``, each stimulus flattened."""
    array = as_array(features)
    if array.ndim < 2:
        raise BrainAlignError(
            f"features must have shape (n_stimuli, ...), got shape {array.shape}; "
            "pass one row per stimulus"
        )
    if array.shape[0] < 2:
        raise BrainAlignError(f"an RDM needs at least 2 stimuli, got {array.shape[0]}")
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    return array.reshape(array.shape[0], -1)


@lru_cache(maxsize=16)
def _triu(n: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.triu_indices(n, k=1)
    rows.flags.writeable = False
    cols.flags.writeable = False
    return rows, cols


def n_pairs(n_stimuli: int) -> int:
    return n_stimuli * (n_stimuli - 1) // 2


def n_stimuli_from_pairs(n_pairs_: int) -> int:
    """Invert ``n(n-1)/2``; raise if ``n_pairs_`` is not a triangular number."""
    n = round(float((1 + np.sqrt(1 + 8 * n_pairs_)) / 2))
    if n * (n - 1) // 2 != n_pairs_:
        raise BrainAlignError(f"{n_pairs_} is not the length of a condensed RDM (n(n-1)/2)")
    return n


def upper_triangle(square: np.ndarray) -> np.ndarray:
    """The condensed upper triangle (row-major, like ``squareform``) of square matrices.

    Works on ``(n, n)`` or a stack ``(k, n, n)``; no symmetry check (see :func:`condense`).
    """
    square = as_array(square)
    rows, cols = _triu(square.shape[-1])
    return np.ascontiguousarray(square[..., rows, cols])


def condense(square: Any, *, atol: float = 1e-8, name: str = "RDM") -> np.ndarray:
    """Condensed float64 upper triangle(s) of square RDM(s), after checking they are RDMs.

    A square RDM must be symmetric with a zero diagonal (within ``atol``); NaN entries are kept
    (a missing dissimilarity) but must be mirrored.
    """
    square = as_array(square, np.float64)
    if square.ndim not in (2, 3) or square.shape[-1] != square.shape[-2]:
        raise BrainAlignError(
            f"{name} must be square (n, n) or a stack (k, n, n), got {square.shape}"
        )
    diagonal = np.diagonal(square, axis1=-2, axis2=-1)
    if np.nanmax(np.abs(diagonal), initial=0.0) > atol:
        raise BrainAlignError(f"{name} has a non-zero diagonal; an RDM's diagonal must be 0")
    mirrored = np.swapaxes(square, -1, -2)
    same = np.isclose(square, mirrored, atol=atol, rtol=1e-6) | (
        np.isnan(square) & np.isnan(mirrored)
    )
    if not same.all():
        raise BrainAlignError(f"{name} is not symmetric; an RDM must equal its transpose")
    return upper_triangle(square)


def to_square(condensed: Any) -> np.ndarray:
    """Square symmetric RDM(s) with a zero diagonal from condensed vector(s)."""
    condensed = as_array(condensed, np.float64)
    n = n_stimuli_from_pairs(condensed.shape[-1])
    rows, cols = _triu(n)
    square = np.zeros((*condensed.shape[:-1], n, n))
    square[..., rows, cols] = condensed
    square[..., cols, rows] = condensed
    return square


def gram(features: Any, *, center: bool = False) -> np.ndarray:
    """``X Xᵀ`` in float64 (rows centred first when ``center``), chunked over columns.

    float64 input takes one ``syrk``; float32 input is converted a column block at a time so the
    memory overhead stays at ``_CHUNK_ELEMENTS`` doubles.
    """
    x = as_features(features)
    n, d = x.shape
    means = x.mean(axis=1, dtype=np.float64, keepdims=True) if center else None
    if x.dtype == np.float64 and d * n <= 4 * _CHUNK_ELEMENTS:
        block = x - means if center else x
        return block @ block.T
    step = max(1, _CHUNK_ELEMENTS // n)
    total = np.zeros((n, n))
    for start in range(0, d, step):
        block = x[:, start : start + step].astype(np.float64)
        if center:
            block -= means
        total += block @ block.T
    return total


def rdm(features: Any, distance: str = "cosine") -> np.ndarray:
    """Condensed RDM (float64, length n(n-1)/2) of features shaped ``(n_stimuli, ...)``.

    ``distance`` is one of :data:`DISTANCES`; definitions follow ``scipy.spatial.distance``.
    """
    _check_distance(distance)
    x = as_features(features)
    g = gram(x, center=distance == "correlation")
    result = rdm_from_gram(g, "cosine" if distance == "correlation" else distance)
    if distance in ("euclidean", "sqeuclidean"):
        _refine_close_pairs(x, g, result, squared=distance == "sqeuclidean")
    return result


def rdm_from_gram(
    gram_matrix: Any,
    distance: str = "cosine",
    *,
    row_sums: Any = None,
    n_features: int | None = None,
) -> np.ndarray:
    """Condensed RDM from a precomputed Gram matrix ``X Xᵀ`` (for streaming extraction).

    For ``correlation`` pass either a Gram of row-centred features, or the raw Gram together
    with ``row_sums`` (``X.sum(1)``) and ``n_features`` so it can be centred here.
    """
    _check_distance(distance)
    g = as_array(gram_matrix, np.float64)
    if g.ndim != 2 or g.shape[0] != g.shape[1]:
        raise BrainAlignError(f"a Gram matrix must be square, got shape {g.shape}")
    if distance == "correlation" and row_sums is not None:
        if n_features is None:
            raise BrainAlignError("centring a Gram matrix needs n_features as well as row_sums")
        sums = as_array(row_sums, np.float64).reshape(-1)
        g = g - np.outer(sums, sums) / n_features
    rows, cols = _triu(g.shape[0])
    diag = np.diagonal(g)
    with np.errstate(invalid="ignore", divide="ignore"):
        if distance in ("cosine", "correlation"):
            norms = np.sqrt(np.maximum(diag, 0.0))
            result = 1.0 - g[rows, cols] / (norms[rows] * norms[cols])
            zero = np.flatnonzero(norms == 0)
            if zero.size:
                warnings.warn(
                    f"{zero.size} stimuli have all-zero {'centred ' if distance == 'correlation' else ''}"
                    f"features (rows {zero[:5].tolist()}{'…' if zero.size > 5 else ''}); their "
                    f"{distance} distances are undefined and set to NaN",
                    RuntimeWarning,
                    stacklevel=2,
                )
        else:
            squared = np.maximum(diag[rows] + diag[cols] - 2.0 * g[rows, cols], 0.0)
            result = squared if distance == "sqeuclidean" else np.sqrt(squared)
    undefined = np.flatnonzero(~np.isfinite(diag))  # stimuli whose features hold NaN or inf
    if undefined.size:
        warnings.warn(
            f"{undefined.size} stimuli have features holding NaN or inf (rows {undefined[:5].tolist()}"
            f"{'…' if undefined.size > 5 else ''}); their distances are undefined and set to NaN",
            RuntimeWarning,
            stacklevel=2,
        )
        result[np.isin(rows, undefined) | np.isin(cols, undefined)] = np.nan
    return result


def close_pairs(g: np.ndarray, result: np.ndarray, *, squared: bool) -> np.ndarray:
    """Condensed indices of the pairs whose Gram-based Euclidean distance in ``result`` lost
    digits to cancellation (squared distance at most 1e-6 of the two squared norms)."""
    rows, cols = _triu(g.shape[0])
    diag = np.diagonal(g)
    sq = result if squared else result**2
    return np.flatnonzero(sq <= 1e-6 * (diag[rows] + diag[cols]))


def pair_stimuli(n_stimuli: int, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two stimuli (row, column) of each pair at condensed indices ``pairs``."""
    rows, cols = _triu(n_stimuli)
    return rows[pairs], cols[pairs]


def _refine_close_pairs(x: np.ndarray, g: np.ndarray, result: np.ndarray, *, squared: bool) -> None:
    """Recompute, from the features, pairs whose Gram-based distance lost digits to cancellation."""
    suspect = close_pairs(g, result, squared=squared)
    rows, cols = pair_stimuli(g.shape[0], suspect)
    for start in range(0, suspect.size, 256):
        chunk = slice(start, start + 256)
        diff = x[rows[chunk]].astype(np.float64) - x[cols[chunk]].astype(np.float64)
        exact = np.einsum("ij,ij->i", diff, diff)
        result[suspect[chunk]] = exact if squared else np.sqrt(exact)


def _check_distance(distance: str) -> None:
    if distance not in DISTANCES:
        raise BrainAlignError(
            f"unknown distance {distance!r}; choose one of {', '.join(DISTANCES)}"
        )
