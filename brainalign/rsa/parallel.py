"""Independent pieces of array work shared out among threads, one BLAS thread each.

Coarse tasks (a whole RDM to rank, a whole bootstrap resample) keep both cores busy without the
fine-grained barriers of multithreaded library calls, which a busy machine stalls: a thread
waiting at a barrier for a partner the scheduler has parked spins instead of working. Each
piece is computed by one thread alone, so results do not depend on the number of threads.
numpy releases the GIL in the sorts, gathers, ufuncs and BLAS calls these pieces are made of.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import threadpool_limits


def cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def share_out(work: Callable[[int], None], n: int) -> None:
    """Call ``work(k)`` for every ``k < n``, on as many threads as there are cores."""
    threads = min(n, cores())
    if threads <= 1:
        for k in range(n):
            work(k)
        return
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(work, range(n), chunksize=max(1, n // (4 * threads))):
            pass
