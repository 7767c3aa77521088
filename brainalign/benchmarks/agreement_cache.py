"""The tests whether a target's subjects (or its repeats) agree, kept on disk: a permutation test
costs seconds per target, and every process that scores a model on the target would pay it again.

One ``.npz`` per test under ``cache_dir()/agreement``, named by the sha256 of everything that
determines its numbers: the test and the version of its definition
(:data:`~brainalign.rsa.CEILING_RELIABILITY_VERSION`,
:data:`~brainalign.metrics.REPEATS_RELIABILITY_VERSION`), the sha256 of the target's data (as the
caller orders it, with shapes and types), the comparison, the number of permutations, the seed, and
the versions of brainalign and numpy (whose generator draws the permutations). The file holds every
field of the :class:`~brainalign.rsa.CeilingReliability` as a 0-d array (floats bit for bit, NaN
included) beside that identity. A file that cannot be read, or holds another identity or other
fields, is ignored, recomputed and replaced. Files are written atomically, so two processes that
compute the same test at once each leave a complete file (of the same numbers); a cache that cannot
be written costs a warning, never the score. The tests a process used last stay in memory in front.
Within :func:`computed_afresh` (``brainalign verify`` without ``--cache``) nothing stored is
trusted: each test is computed once more in the process, and stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import Field, fields
from pathlib import Path

import numpy as np

from .._files import NPZ_READ_ERRORS, write_npz_atomic
from .._version import __version__
from ..errors import BrainAlignError
from ..paths import cache_dir
from ..rsa import CeilingReliability

__all__ = ["FOLDER", "cached_agreement", "computed_afresh", "data_sha256"]

log = logging.getLogger(__name__)

#: The cache's sub-folder of :func:`brainalign.paths.cache_dir`.
FOLDER = "agreement"

# How each field of a CeilingReliability is stored (by its annotation).
_DTYPES = {"float": np.dtype(np.float64), "int": np.dtype(np.int64)}


def _dtype(field: Field[object]) -> np.dtype[np.generic]:
    return _DTYPES[getattr(field.type, "__name__", str(field.type))]


_IN_MEMORY = 64
# Each test this process used: its result, and whether this process computed it.
_MEMORY: dict[str, tuple[CeilingReliability, bool]] = {}
_MEMORY_LOCK = threading.Lock()
_TRUST_STORED: ContextVar[bool] = ContextVar("trust_stored_agreement", default=True)


@contextmanager
def computed_afresh() -> Iterator[None]:
    """Within it, agreement tests are computed, not read from the cache folder nor taken from
    memory unless this process computed them (what a re-check that trusts no cache needs)."""
    token = _TRUST_STORED.set(False)
    try:
        yield
    finally:
        _TRUST_STORED.reset(token)


def data_sha256(arrays: Sequence[np.ndarray]) -> str:
    """The sha256 of ``arrays``' values, shapes and types, in their order."""
    digest = hashlib.sha256()
    for array in arrays:
        contiguous = np.ascontiguousarray(array)
        digest.update(f"{contiguous.dtype.str}{contiguous.shape}".encode())
        digest.update(contiguous.tobytes())
    return digest.hexdigest()


def cached_agreement(
    test: str,
    version: int,
    data: str,
    *,
    method: str,
    n_permutations: int,
    seed: int,
    compute: Callable[[], CeilingReliability],
) -> CeilingReliability:
    """The result of ``compute()``, the agreement test ``test`` (its definition's ``version``) of
    the data whose :func:`data_sha256` is ``data``, from memory, else from the cache folder, else
    computed and stored in both."""
    identity = json.dumps(
        {
            "test": test,
            "version": version,
            "data_sha256": data,
            "method": method,
            "n_permutations": n_permutations,
            "seed": seed,
            "brainalign": __version__,
            "numpy": np.__version__,
        },
        sort_keys=True,
    )
    key = hashlib.sha256(identity.encode()).hexdigest()
    trusted = _TRUST_STORED.get()
    remembered = _MEMORY.get(key)
    if remembered is not None and (trusted or remembered[1]):
        return remembered[0]
    path = cache_dir() / FOLDER / key[:2] / f"{key}.npz"
    found = _read(path, identity) if trusted else None
    computed = found is None
    if found is None:
        found = compute()
        _write(path, identity, found)
    with _MEMORY_LOCK:
        _MEMORY.pop(key, None)
        if len(_MEMORY) >= _IN_MEMORY:
            _MEMORY.pop(next(iter(_MEMORY)))
        _MEMORY[key] = (found, computed)
    return found


def _read(path: Path, identity: str) -> CeilingReliability | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            stored = str(data["identity"])
            arrays = {
                field.name: np.array(data[field.name]) for field in fields(CeilingReliability)
            }
    except FileNotFoundError:  # not computed yet (or removed since)
        return None
    except NPZ_READ_ERRORS as err:  # truncated or foreign file: recompute and overwrite
        log.warning("ignoring unreadable cached agreement test %s (%s)", path, err)
        return None
    expected = {field.name: _dtype(field) for field in fields(CeilingReliability)}
    if stored != identity or any(
        array.shape != () or array.dtype != expected[name] for name, array in arrays.items()
    ):
        log.warning("ignoring cached agreement test %s: it holds another test", path)
        return None
    return CeilingReliability(**{name: array.item() for name, array in arrays.items()})


def _write(path: Path, identity: str, result: CeilingReliability) -> None:
    try:
        arrays = {
            field.name: np.asarray(getattr(result, field.name), _dtype(field))
            for field in fields(result)
        }
        write_npz_atomic(path, {**arrays, "identity": np.str_(identity)})
    except (BrainAlignError, OverflowError) as err:  # unwritable cache; a seed beyond int64
        log.warning("cannot keep the agreement test in the cache (%s); it is not reused", err)
