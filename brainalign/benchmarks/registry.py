"""The benchmark registry: ids like ``algonauts2019.92images.IT``, looked up with or without
``@version``."""

from __future__ import annotations

import difflib
import importlib
import threading
from collections.abc import Iterable

from ..errors import BrainAlignError
from .base import Benchmark

_REGISTRY: dict[str, Benchmark] = {}
# Modules whose import registers the built-in benchmarks.
_BUILTIN_MODULES: tuple[str, ...] = ("brainalign.benchmarks.probe", "brainalign.benchmarks.human")
_builtins_loaded = False
_builtins_lock = threading.RLock()


def register(benchmark: Benchmark) -> Benchmark:
    """Add ``benchmark``; a second registration of the same id and version is an error."""
    if benchmark.identifier in _REGISTRY:
        raise BrainAlignError(f"benchmark {benchmark.identifier} is already registered")
    _REGISTRY[benchmark.identifier] = benchmark
    return benchmark


def all_benchmarks() -> list[Benchmark]:
    _load_builtins()
    return sorted(_REGISTRY.values(), key=lambda b: b.identifier)


def get(benchmark_id: str) -> Benchmark:
    """The benchmark called ``id`` (newest version) or ``id@version``."""
    _load_builtins()
    if benchmark_id in _REGISTRY:
        return _REGISTRY[benchmark_id]
    base, _, version = benchmark_id.partition("@")
    matches = [b for b in _REGISTRY.values() if b.id == base]
    if version:
        matches = [b for b in matches if str(b.version) == version]
    if matches:
        return max(matches, key=lambda b: b.version)
    names = sorted({b.id for b in _REGISTRY.values()})
    close = difflib.get_close_matches(base, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise BrainAlignError(
        f"unknown benchmark {benchmark_id!r}{hint} (`brainalign benchmarks` lists them all)"
    )


def _load_builtins() -> None:
    global _builtins_loaded
    with _builtins_lock:  # threads (a Dask worker's) must not see the registry half-filled
        if not _builtins_loaded:
            _builtins_loaded = True
            for module in _BUILTIN_MODULES:
                importlib.import_module(module)


def default_benchmarks() -> list[Benchmark]:
    """The benchmarks `brainalign run` scores when none are named."""
    return [b for b in all_benchmarks() if b.default]


def resolve(benchmarks: str | Benchmark | Iterable[str | Benchmark] | None) -> list[Benchmark]:
    """Benchmarks from ids, objects or a mix; None means :func:`default_benchmarks`."""
    if benchmarks is None:
        return default_benchmarks()
    if isinstance(benchmarks, (str, Benchmark)):
        benchmarks = [benchmarks]
    return [b if isinstance(b, Benchmark) else get(b) for b in benchmarks]
