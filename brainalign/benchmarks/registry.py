"""The benchmark registry: ids like ``algonauts2019.92images.IT``, looked up with or without
``@version``.

Benchmarks come from the entry-point group ``brainalign.benchmarks`` of every installed package,
brainalign's own included (its ``pyproject.toml`` registers the human benchmarks and the probe the
same way a plugin does). An entry point names a :class:`Benchmark`, an iterable of them, or a
callable (a class or a function) returning either. :func:`register` adds one to this process
only (a notebook, a test).
"""

from __future__ import annotations

import difflib
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from ..errors import BrainAlignError
from .base import Benchmark

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "brainalign.benchmarks"

_REGISTRY: dict[str, Benchmark] = {}
_ORIGIN: dict[str, str] = {}  # identifier → the package (or "this process") that registered it
_discovered = False
_lock = threading.RLock()


@dataclass(frozen=True)
class BrokenPlugin:
    """An entry point that could not be turned into benchmarks, and why."""

    name: str
    package: str
    reason: str

    def __str__(self) -> str:
        return f"plugin {self.name!r} of {self.package}: {self.reason}"


_BROKEN: list[BrokenPlugin] = []


def register(benchmark: Benchmark, *, origin: str = "this process") -> Benchmark:
    """Add ``benchmark``; a second registration of the same id and version is an error."""
    with _lock:
        _discover()
        _add(benchmark, origin)
    return benchmark


def _add(benchmark: Benchmark, origin: str) -> None:
    if not isinstance(benchmark, Benchmark):
        raise BrainAlignError(f"{benchmark!r} is not a brainalign Benchmark")
    if benchmark.identifier in _REGISTRY:
        raise BrainAlignError(
            f"benchmark {benchmark.identifier} is already registered (by {_ORIGIN[benchmark.identifier]})"
        )
    _REGISTRY[benchmark.identifier] = benchmark
    _ORIGIN[benchmark.identifier] = origin


def _benchmarks_of(point: EntryPoint) -> list[Benchmark]:
    loaded = point.load()
    if isinstance(loaded, type) or (callable(loaded) and not isinstance(loaded, Benchmark)):
        loaded = loaded()
    items = [loaded] if isinstance(loaded, Benchmark) else list(loaded)
    bad = [item for item in items if not isinstance(item, Benchmark)]
    if bad:
        raise TypeError(f"it gave {type(bad[0]).__name__} objects, not brainalign Benchmarks")
    return items


def _discover() -> None:
    """Load every entry point once per process; a broken plugin is recorded, never fatal."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    points = sorted(entry_points(group=ENTRY_POINT_GROUP),
                    key=lambda p: (p.dist is None or p.dist.name != "brainalign", p.name))
    for point in points:  # brainalign's own first: a plugin cannot take over a built-in id
        package = point.dist.name if point.dist is not None else point.value
        try:
            benchmarks = _benchmarks_of(point)
            for benchmark in benchmarks:
                _add(benchmark, package)
        except Exception as err:  # noqa: BLE001 - other benchmarks must still work
            reason = str(err) if isinstance(err, BrainAlignError) else f"{type(err).__name__}: {err}"
            _BROKEN.append(BrokenPlugin(point.name, package, reason))
            log.warning("benchmark plugin %r of %s cannot be loaded: %s", point.name, package, reason)


def refresh() -> None:
    """Look for entry points again (a package installed into a running process); benchmarks
    registered with :func:`register` stay."""
    global _discovered
    with _lock:
        for identifier in [i for i, where in _ORIGIN.items() if where != "this process"]:
            _REGISTRY.pop(identifier)
            _ORIGIN.pop(identifier)
        _BROKEN.clear()
        _discovered = False
        _discover()


def broken_plugins() -> list[BrokenPlugin]:
    """Entry points of the group that could not be loaded (shown by `brainalign benchmarks`)."""
    with _lock:
        _discover()
        return list(_BROKEN)


def origin(benchmark: Benchmark) -> str:
    """The package that registered ``benchmark`` (``brainalign`` for the built-ins)."""
    return _ORIGIN.get(benchmark.identifier, "this process")


def all_benchmarks() -> list[Benchmark]:
    with _lock:
        _discover()
        return sorted(_REGISTRY.values(), key=lambda b: b.identifier)


def get(benchmark_id: str) -> Benchmark:
    """The benchmark called ``id`` (newest version) or ``id@version``, or the one a spec file
    (``path/to/benchmark.toml``, :mod:`brainalign.benchmarks.spec`) defines."""
    if benchmark_id.endswith(".toml"):
        from .spec import SpecBenchmark  # the data loaders, only when a spec is named

        return SpecBenchmark(benchmark_id)
    with _lock:
        _discover()
        if benchmark_id in _REGISTRY:
            return _REGISTRY[benchmark_id]
        base, _, version = benchmark_id.partition("@")
        # by the names registered (a benchmark's own id may later resolve to a more precise one:
        # the default probe, to the id of the probe it built)
        matches = [b for key, b in _REGISTRY.items() if key.partition("@")[0] == base]
        names = sorted({key.partition("@")[0] for key in _REGISTRY})
    if version:
        matches = [b for b in matches if str(b.version) == version]
    if matches:
        return max(matches, key=lambda b: b.version)
    close = difflib.get_close_matches(base, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    if not names:
        hint = "; no benchmarks are registered at all: is brainalign installed (pip install .)?"
    raise BrainAlignError(
        f"unknown benchmark {benchmark_id!r}{hint} (`brainalign benchmarks` lists them all)"
    )


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
