"""glibc's malloc, told to keep freed memory for the next batch while layer RDMs are extracted.

torch's CPU allocator does not cache: every tensor of a forward pass is a fresh ``malloc`` and
``free``. glibc serves blocks above its mmap threshold (at most 32 MB) with a new ``mmap`` and
gives them back with ``munmap``, and trims the top of its heap whenever more than the trim
threshold is free, so a forward pass over a batch of 32 images touches gigabytes of fresh pages
that the kernel must fault in and zero, batch after batch. Inside :func:`reuse_freed_memory`
nothing is mapped or trimmed (``mallopt``: ``M_MMAP_MAX`` 0, ``M_TRIM_THRESHOLD`` 2 GiB), so
the next batch reuses the previous batch's memory. On the way out ``malloc_trim(0)`` returns
every free page to the operating system, and the thresholds are left where glibc's own
adaptation takes them in a process that frees large blocks (mmap threshold 32 MiB, its ceiling
on 64-bit; trim threshold twice that), not at their start values: once a threshold is set, glibc
no longer adapts it, and at 128 KB every later array of a bootstrap or a permutation test would
be a fresh mapping, faulted in page by page. Numbers: the docs, "Measured speed".

Left alone where glibc is not the C library, and where the user tuned malloc through the
environment (``MALLOC_*_`` variables, ``GLIBC_TUNABLES``): their choice wins.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

log = logging.getLogger(__name__)

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -3, -4
_KEEP = {_M_MMAP_MAX: 0, _M_TRIM_THRESHOLD: 2**31 - 1}
#: After the block: mapping allowed again (glibc's default count), at the thresholds glibc's
#: dynamic adaptation reaches (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit, trim at twice it).
_ADAPTED = {_M_MMAP_MAX: 65536, _M_MMAP_THRESHOLD: 32 * 2**20, _M_TRIM_THRESHOLD: 64 * 2**20}
_USER_SETTINGS = (
    "MALLOC_MMAP_MAX_",
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "GLIBC_TUNABLES",
)

_lock = threading.Lock()
_active = 0


@lru_cache(maxsize=1)
def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 (raises AttributeError off glibc)
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):
        return None
    return libc


def tunable() -> bool:
    """Whether :func:`reuse_freed_memory` changes anything in this process."""
    return _glibc() is not None and not any(name in os.environ for name in _USER_SETTINGS)


@contextmanager
def reuse_freed_memory() -> Iterator[None]:
    """Keep freed memory in the heap (no mmap, no trim) for the duration of the block.

    Nested and concurrent blocks share one setting: the last one out trims and leaves the
    thresholds adapted (see the module's docstring)."""
    global _active
    libc = _glibc() if tunable() else None
    if libc is None:
        yield
        return
    with _lock:
        _active += 1
        if _active == 1:
            _set(libc, _KEEP)
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                _set(libc, _ADAPTED)
                libc.malloc_trim(0)


def _set(libc: ctypes.CDLL, settings: dict[int, int]) -> None:
    for parameter, value in settings.items():
        if libc.mallopt(parameter, value) != 1:
            log.debug("mallopt(%d, %d) was refused", parameter, value)
