"""A layer as the feature metrics see it: its linear kernel ``K = X Xᵀ`` on the stimuli.

Linear CKA, ridge regression with an intercept and PCA are all functions of the linear kernel of
the (centred) features, so a layer enters these metrics as one of

* its **Gram matrix** ``X Xᵀ`` (float64, ``n × n``), exactly as extraction computes it for the
  layer's RDM: nothing else is needed however wide the layer is (the exact path, for
  ``n_stimuli`` up to a few thousand);
* **features** ``Z`` (``n × k``), standing for the kernel ``Z Zᵀ``: the layer's own activations
  when they are narrow, or a seeded :func:`sketch` of them (an unbiased random projection, for
  ``n_stimuli`` in the tens of thousands, where ``n × n`` matrices no longer fit).

:meth:`Kernel.split` fits the principal axes of a training split and projects held-out stimuli on
them, from either form: the one piece of linear algebra the cross-validated metrics share.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.sparse import csr_matrix
from threadpoolctl import ThreadpoolController

from ..errors import BrainAlignError
from ..rsa.dissimilarity import as_array
from .folds import match_ids

#: Eigenvalues of a training split's centred kernel at most this fraction of the largest are
#: treated as zero: far above the rounding of centring a float64 Gram matrix, far below any
#: component that carries signal.
RANK_TOLERANCE = 1e-10


#: Up to this many stimuli every matrix a metric decomposes is small, and one BLAS thread is
#: fastest: several threads gain little at this size and stall at their barriers on a busy
#: machine (as :mod:`brainalign.rsa.parallel` explains).
SMALL = 2048


@lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


@contextmanager
def blas_threads_for(n_stimuli: int) -> Iterator[None]:
    """One BLAS thread for the linear algebra of up to :data:`SMALL` stimuli; else as configured."""
    with _controller().limit(limits=1, user_api="blas") if n_stimuli <= SMALL else nullcontext():
        yield


@dataclass(frozen=True, eq=False)
class Kernel:
    """The linear kernel of one layer on ``n`` stimuli, as a Gram matrix or as features.

    Build it with :meth:`from_gram` or :meth:`from_features`; rows follow the stimuli of the
    target it is scored against (match them by id first).
    """

    gram_matrix: np.ndarray | None = None
    features: np.ndarray | None = None

    def __post_init__(self) -> None:
        if (self.gram_matrix is None) == (self.features is None):
            raise BrainAlignError(
                "a kernel is given by its Gram matrix or by features, exactly one of them"
            )

    @classmethod
    def from_gram(cls, gram: object) -> Kernel:
        """The kernel of features ``X`` from their Gram matrix ``X Xᵀ`` (uncentred, float64)."""
        matrix = as_array(gram, np.float64)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise BrainAlignError(f"a Gram matrix must be square, got shape {matrix.shape}")
        if not np.isfinite(matrix).all():
            raise BrainAlignError(
                "the Gram matrix holds NaN or inf: the layer's activations are not finite"
            )
        return cls(gram_matrix=matrix)

    @classmethod
    def from_features(cls, features: object) -> Kernel:
        """The kernel ``Z Zᵀ`` of features ``(n_stimuli, ...)`` (each stimulus flattened)."""
        array = as_array(features)
        if array.ndim < 2:
            raise BrainAlignError(f"features must have shape (n_stimuli, ...), got {array.shape}")
        array = array.reshape(array.shape[0], -1).astype(np.float64, copy=False)
        if not np.isfinite(array).all():
            raise BrainAlignError("the features hold NaN or inf")
        return cls(features=array)

    @property
    def n(self) -> int:
        """The number of stimuli."""
        source = self.gram_matrix if self.gram_matrix is not None else self.features
        assert source is not None
        return int(source.shape[0])

    @property
    def width(self) -> int | None:
        """Features per stimulus when given as features, else None."""
        return None if self.features is None else int(self.features.shape[1])

    def gram(self) -> np.ndarray:
        """``X Xᵀ`` (computed from the features when given as features)."""
        if self.gram_matrix is not None:
            return self.gram_matrix
        assert self.features is not None
        return self.features @ self.features.T

    def centred_gram(self) -> np.ndarray:
        """``H K H`` with ``H = I − 11ᵀ/n``: the Gram matrix of the features centred over stimuli."""
        if self.features is not None:
            centred = self.features - self.features.mean(axis=0)
            return centred @ centred.T
        return double_centre(self.gram())

    def select(self, rows: Sequence[int] | np.ndarray) -> Kernel:
        """The kernel on a subset (or reordering) of the stimuli."""
        index = np.asarray(rows, dtype=np.intp)
        if self.features is not None:
            return Kernel(features=self.features[index])
        assert self.gram_matrix is not None
        return Kernel(gram_matrix=self.gram_matrix[np.ix_(index, index)])

    def split(self, train: np.ndarray, test: np.ndarray) -> Split:
        """Principal axes of the ``train`` stimuli (features centred on the training mean) and the
        ``test`` stimuli's projections on them; see :class:`Split`."""
        train, test = np.asarray(train, dtype=np.intp), np.asarray(test, dtype=np.intp)
        if train.size < 2:
            raise BrainAlignError("a training split needs at least 2 stimuli")
        with blas_threads_for(train.size):
            if self.features is not None and self.features.shape[1] < train.size:
                return _split_from_features(self.features, train, test)
            return _split_from_gram(self.gram(), train, test)


@dataclass(frozen=True, eq=False)
class Split:
    """A training split's spectrum: with ``X̃`` the features centred on the training mean,
    ``X̃_train = U diag(√s2) Vᵀ`` (thin SVD, components with eigenvalue below
    :data:`RANK_TOLERANCE` of the largest dropped) and ``test_projection = X̃_test X̃_trainᵀ U``
    (``= X̃_test V diag(√s2)``). Principal-component scores are ``U √s2`` on the training
    stimuli and ``test_projection / √s2`` on the test stimuli."""

    train: np.ndarray
    test: np.ndarray
    basis: np.ndarray  # U, (n_train, r)
    eigenvalues: np.ndarray  # s2, (r,), descending
    test_projection: np.ndarray  # (n_test, r)

    @property
    def rank(self) -> int:
        return int(self.eigenvalues.size)

    def scores(self, components: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Principal-component scores ``(train, test)`` of the first ``components`` axes."""
        k = self.rank if components is None else min(components, self.rank)
        root = np.sqrt(self.eigenvalues[:k])
        return self.basis[:, :k] * root, self.test_projection[:, :k] / root


@dataclass(frozen=True, eq=False)
class LayerKernels:
    """A model's layers on one stimulus set as kernels: ``names`` in execution order, each
    layer's relative ``depths`` in [0, 1], the ``stimulus_ids`` the kernels' rows follow."""

    kernels: tuple[Kernel, ...]
    names: tuple[str, ...]
    depths: tuple[float, ...]
    stimulus_ids: tuple[str, ...]
    model_id: str = ""

    def __post_init__(self) -> None:
        kernels, names = tuple(self.kernels), tuple(str(n) for n in self.names)
        depths, ids = tuple(float(d) for d in self.depths), tuple(str(s) for s in self.stimulus_ids)
        if not len(kernels) == len(names) == len(depths):
            raise BrainAlignError(
                f"{len(kernels)} kernels, {len(names)} layer names and {len(depths)} depths"
            )
        if any(not 0.0 <= d <= 1.0 for d in depths):
            raise BrainAlignError("relative layer depths must lie in [0, 1]")
        if any(k.n != len(ids) for k in kernels):
            raise BrainAlignError(
                f"every kernel must cover the {len(ids)} stimuli of the stimulus ids"
            )
        if len(set(ids)) != len(ids):
            raise BrainAlignError("stimulus ids must be unique")
        object.__setattr__(self, "kernels", kernels)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "depths", depths)
        object.__setattr__(self, "stimulus_ids", ids)

    def select(self, names: Sequence[str]) -> LayerKernels:
        """The layers ``names`` (in this order), e.g. those whose RDMs can be compared."""
        missing = [n for n in names if n not in self.names]
        if missing:
            raise BrainAlignError(f"no layer kernels named {', '.join(map(str, missing[:5]))}")
        index = [self.names.index(n) for n in names]
        return LayerKernels(
            tuple(self.kernels[i] for i in index),
            tuple(names),
            tuple(self.depths[i] for i in index),
            self.stimulus_ids,
            self.model_id,
        )

    def reorder(self, stimulus_ids: Sequence[str]) -> LayerKernels:
        """The kernels restricted to, and ordered as, ``stimulus_ids`` (matched by id)."""
        index = match_ids(
            self.stimulus_ids,
            stimulus_ids,
            "{count} stimulus ids are not in these layers (e.g. {examples}); the model and the "
            "target were computed on different stimuli",
        )
        if index is None:
            return self
        ids = tuple(str(s) for s in stimulus_ids)
        return LayerKernels(
            tuple(k.select(index) for k in self.kernels),
            self.names,
            self.depths,
            ids,
            self.model_id,
        )


def double_centre(matrix: np.ndarray) -> np.ndarray:
    """``H M H``: rows and columns centred (``H = I − 11ᵀ/n``)."""
    row_means = matrix.mean(axis=1, keepdims=True)
    return matrix - row_means - row_means.T + row_means.mean()


def _spectrum(centred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and eigenvectors of a symmetric PSD matrix, numerically-zero
    components dropped."""
    values, vectors = np.linalg.eigh((centred + centred.T) / 2)
    values, vectors = values[::-1], vectors[:, ::-1]
    keep = values > RANK_TOLERANCE * max(values[0], 0.0) if values.size else values > 0
    return values[keep], vectors[:, keep]


def _split_from_gram(gram: np.ndarray, train: np.ndarray, test: np.ndarray) -> Split:
    k_train = gram[np.ix_(train, train)]
    k_test = gram[np.ix_(test, train)]
    column_means = k_train.mean(axis=0)  # ⟨x̄, x_t⟩ over the training stimuli t
    grand = column_means.mean()  # ⟨x̄, x̄⟩
    centred = k_train - column_means[:, None] - column_means[None, :] + grand
    cross = k_test - k_test.mean(axis=1, keepdims=True) - column_means[None, :] + grand
    eigenvalues, basis = _spectrum(centred)
    return Split(train, test, basis, eigenvalues, cross @ basis)


def _split_from_features(features: np.ndarray, train: np.ndarray, test: np.ndarray) -> Split:
    mean = features[train].mean(axis=0)
    centred = features[train] - mean
    left, singular, right_t = np.linalg.svd(centred, full_matrices=False)
    eigenvalues = singular**2
    keep = (
        eigenvalues > RANK_TOLERANCE * eigenvalues[0]
        if eigenvalues.size and eigenvalues[0] > 0
        else np.zeros(eigenvalues.size, dtype=bool)
    )
    basis, eigenvalues, right_t, singular = (
        left[:, keep],
        eigenvalues[keep],
        right_t[keep],
        singular[keep],
    )
    projection = ((features[test] - mean) @ right_t.T) * singular
    return Split(train, test, basis, eigenvalues, projection)


# --- reduced features for many stimuli ------------------------------------------------------------

#: Columns whose sketch coordinates come from one seeded draw: the sketch of a column depends only
#: on the seed and the column's index, never on how the columns were split into blocks.
SKETCH_CHUNK = 1 << 16


def sketch(block: object, start: int, dimensions: int, seed: int) -> np.ndarray:
    """The ``(n, dimensions)`` float64 contribution of feature columns ``start, start+1, …`` of
    ``block`` (``n × c``) to a seeded **count sketch** of a layer (Charikar et al. 2004; a sparse
    random projection): column ``j`` is added, with a random sign ``σ_j``, to coordinate ``h_j``,
    both drawn from ``(seed, j // SKETCH_CHUNK)``. Summed over all column blocks, ``Z`` satisfies
    ``E[Z Zᵀ] = X Xᵀ``, whatever the blocks; it costs one pass over the activations (``O(n·d)``)
    and no fitting, so nothing of any stimulus split leaks into it."""
    values = as_array(block)
    if values.ndim != 2:
        raise BrainAlignError(
            f"a block of features must be 2-D (n_stimuli, columns), got {values.shape}"
        )
    if dimensions < 1:
        raise BrainAlignError("a sketch needs at least one dimension")
    n, columns = values.shape
    out = np.zeros((n, dimensions))
    stop = start + columns
    for chunk in range(start // SKETCH_CHUNK, (stop - 1) // SKETCH_CHUNK + 1 if columns else 0):
        rng = np.random.default_rng([seed, chunk])
        buckets = rng.integers(0, dimensions, size=SKETCH_CHUNK)
        signs = rng.integers(0, 2, size=SKETCH_CHUNK) * 2.0 - 1.0
        lo, hi = max(start, chunk * SKETCH_CHUNK), min(stop, (chunk + 1) * SKETCH_CHUNK)
        local = slice(lo - chunk * SKETCH_CHUNK, hi - chunk * SKETCH_CHUNK)
        width = hi - lo
        spread = csr_matrix(
            (signs[local], (np.arange(width), buckets[local])), shape=(width, dimensions)
        )
        out += np.asarray(values[:, lo - start : hi - start].astype(np.float64) @ spread)
    return out
