"""Where the time goes: a per-phase account of wall-clock time, kept per thread.

Work is wrapped in ``with phase("forward"):`` blocks. Time is charged *exclusively*: a phase
nested inside another (a layer-RDM cache read inside an extraction) is charged to the inner
phase only, so the phases of one thread add up to at most its wall time. Each thread keeps its
own account (a pair scored on a Dask worker thread is accounted there); :func:`elapsed` reads the
calling thread's totals and :func:`since` the difference to an earlier reading. Results record
each pair's account in their timings, and ``brainalign run`` prints the sum at the end.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from time import perf_counter

#: Every phase, in data-flow order, with its label in ``brainalign run``'s account.
PHASES: dict[str, str] = {
    "load": "loading models",  # weights, layer tracing
    "data": "data and stimuli",  # data sets, stimulus sets; the default probe's first build
    "preprocess": "image preprocessing",  # decoding and transforms not hidden behind the model
    "forward": "forward passes",
    "gram": "Gram matrices, RDMs",
    "compare": "ranking, comparison",  # rho, noise ceilings, cross-validation
    "bootstrap": "bootstrap",
    "io": "files",  # layer-RDM cache, spilled activations, results
    "page": "leaderboard page",
}


class _Account(threading.local):
    def __init__(self) -> None:
        self.totals: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self.stack: list[str] = []
        self.mark = 0.0


_account = _Account()


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Charge the wall time of the block to ``name`` (one of :data:`PHASES`), minus the time
    of phases nested in it."""
    if name not in PHASES:
        raise ValueError(f"unknown phase {name!r}; known: {', '.join(PHASES)}")
    account = _account
    now = perf_counter()
    if account.stack:
        account.totals[account.stack[-1]] += now - account.mark
    account.stack.append(name)
    account.mark = now
    try:
        yield
    finally:
        now = perf_counter()
        account.totals[account.stack.pop()] += now - account.mark
        account.mark = now


def elapsed() -> dict[str, float]:
    """Seconds charged to each phase in this thread so far."""
    totals = dict(_account.totals)
    if _account.stack:  # the phase still running, up to now
        totals[_account.stack[-1]] += perf_counter() - _account.mark
    return totals


def since(before: Mapping[str, float]) -> dict[str, float]:
    """Seconds charged to each phase in this thread since the reading ``before``."""
    return {name: seconds - before.get(name, 0.0) for name, seconds in elapsed().items()}
