"""Where the time goes: a per-phase account of wall-clock time, kept per thread.

Work is wrapped in ``with phase("forward"):`` blocks. Time is charged *exclusively*: a phase
nested inside another (a layer-RDM cache read inside an extraction) is charged to the inner
phase only, so the phases of one thread add up to at most its wall time. Each thread keeps its
own account (a pair scored on a Dask worker thread is accounted there); :func:`elapsed` reads the
calling thread's totals and :func:`since` the difference to an earlier reading. Results record
each pair's account in their timings, and ``brainalign run`` prints the sum at the end.

Memory is accounted per phase too, for the whole process: inside :func:`track_memory`, a sampling
thread reads the resident set size every few milliseconds and charges it to every phase some
thread is in, and the kernel's high-water mark (``getrusage``) catches peaks between samples: a
new high reached while a phase ran is charged to it. A phase's peak is the most memory the
process held while it ran (what was held before counts too: that is what the machine must have).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from time import perf_counter

import psutil

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
_active: dict[str, int] = dict.fromkeys(PHASES, 0)  # threads whose innermost phase is each
_lock = threading.Lock()
_trackers: list[MemoryPeaks] = []


class MemoryPeaks:
    """Peak resident memory in bytes per phase, while :func:`track_memory` runs: :attr:`peaks`
    holds the phases that ran (a phase that did not run has no entry)."""

    def __init__(self) -> None:
        self.peaks: dict[str, int] = {}
        self._high_water = _high_water()
        self._process = psutil.Process()  # once: building one reads /proc every time

    def _charge(self, names: list[str], rss: int) -> None:
        for name in names:
            if rss > self.peaks.get(name, 0):
                self.peaks[name] = rss

    def _sample(self, exiting: str | None = None) -> None:
        """Charge the current resident size to the running phases, and a new high-water mark to
        the phase that is ending (or, from the sampler, to the running ones). Holds ``_lock``."""
        running = [name for name, count in _active.items() if count > 0]
        if exiting is not None:
            running.append(exiting)
        rss = self._process.memory_info().rss
        high = _high_water()
        if high > self._high_water:
            self._high_water = high
            self._charge([exiting] if exiting is not None else running, high)
        self._charge(running, rss)


def _high_water() -> int:
    """The process's peak resident size so far, in bytes (0 where the platform does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, KiB on Linux


@contextmanager
def track_memory(interval: float = 0.005) -> Iterator[MemoryPeaks]:
    """Record each phase's peak resident memory (this process) while the block runs."""
    peaks = MemoryPeaks()
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(interval):
            with _lock:
                peaks._sample()

    with _lock:
        _trackers.append(peaks)
    sampler = threading.Thread(target=sample, name="brainalign-memory", daemon=True)
    sampler.start()
    try:
        yield peaks
    finally:
        stop.set()
        sampler.join()
        with _lock:
            _trackers.remove(peaks)


def _enter(outer: str | None, inner: str) -> None:
    with _lock:
        if outer is not None:
            _active[outer] -= 1
        _active[inner] += 1


def _leave(inner: str, outer: str | None) -> None:
    with _lock:
        _active[inner] -= 1
        for tracker in _trackers:
            tracker._sample(exiting=inner)
        if outer is not None:
            _active[outer] += 1


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Charge the wall time of the block to ``name`` (one of :data:`PHASES`), minus the time
    of phases nested in it."""
    if name not in PHASES:
        raise ValueError(f"unknown phase {name!r}; known: {', '.join(PHASES)}")
    account = _account
    now = perf_counter()
    outer = account.stack[-1] if account.stack else None
    if outer is not None:
        account.totals[outer] += now - account.mark
    account.stack.append(name)
    account.mark = now
    _enter(outer, name)
    try:
        yield
    finally:
        now = perf_counter()
        account.totals[account.stack.pop()] += now - account.mark
        account.mark = now
        _leave(name, outer)


def elapsed() -> dict[str, float]:
    """Seconds charged to each phase in this thread so far."""
    totals = dict(_account.totals)
    if _account.stack:  # the phase still running, up to now
        totals[_account.stack[-1]] += perf_counter() - _account.mark
    return totals


def since(before: Mapping[str, float]) -> dict[str, float]:
    """Seconds charged to each phase in this thread since the reading ``before``."""
    return {name: seconds - before.get(name, 0.0) for name, seconds in elapsed().items()}
