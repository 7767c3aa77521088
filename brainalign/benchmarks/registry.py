"""The benchmark registry: ids like ``algonauts2019.92images.IT``, looked up with or without
``@version``.

Benchmarks come from the entry-point group ``brainalign.benchmarks`` of every installed package,
brainalign's own included (its ``pyproject.toml`` registers the human benchmarks and the probe the
same way a plugin does). An entry point names a :class:`Benchmark`, an iterable of them, or a
callable (a class or a function) returning either. :func:`register` adds one to this process
only (a notebook, a test).

Another package's benchmarks are held at arm's length (:mod:`.plugins`): an entry point that
fails to load (an exception, ``SystemExit``) is reported once, by package and entry point, and
left out; a plugin can never answer for an id of brainalign's own benchmarks, at any version;
and an id two packages claim is refused for both, with a warning naming them. Probe ids
(``probe.saliency_semantic~<hash>``) name probe folders known on this machine
(:mod:`.probe_index`).
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
from .plugins import PLUGIN_FAILURES, PluginBenchmark, failure_text, plugin_label

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "brainalign.benchmarks"
#: The distribution whose entry points are brainalign's own built-ins.
DISTRIBUTION = "brainalign"
THIS_PROCESS = "this process"
#: What sets a probe's id apart: ``probe.saliency_semantic~<hash>`` (no other id holds it).
PROBE_HASH_MARK = "~"

_REGISTRY: dict[str, Benchmark] = {}
_ORIGIN: dict[str, str] = {}  # identifier → the package (or "this process") that registered it
_discovered = False
_lock = threading.RLock()


@dataclass(frozen=True)
class BrokenPlugin:
    """An entry point whose benchmarks are left out, and why."""

    name: str
    package: str
    reason: str

    def __str__(self) -> str:
        return f"{plugin_label(self.name, self.package)}: {self.reason}"


_BROKEN: list[BrokenPlugin] = []


def _base(identifier: str) -> str:
    return identifier.partition("@")[0]


def _builtin_ids() -> set[str]:
    return {_base(i) for i, where in _ORIGIN.items() if where == DISTRIBUTION}


def register(benchmark: Benchmark, *, origin: str = THIS_PROCESS) -> Benchmark:
    """Add ``benchmark``; a second registration of the same id and version is an error, and so
    is any version of an id of brainalign's own benchmarks."""
    with _lock:
        _discover()
        if origin != DISTRIBUTION and _base(benchmark.identifier) in _builtin_ids():
            raise BrainAlignError(
                f"{benchmark.id} is the id of one of brainalign's own benchmarks; give "
                "yours an id of its own"
            )
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


def _package(point: EntryPoint) -> str:
    return point.dist.name if point.dist is not None else point.value


def _leave_out(point: EntryPoint, reason: str) -> None:
    """Record and report (once, here) an entry point whose benchmarks are left out."""
    broken = BrokenPlugin(point.name, _package(point), reason)
    _BROKEN.append(broken)
    log.warning("benchmark %s; its benchmarks are left out", broken)


def _discover() -> None:
    """Load every entry point once per process: brainalign's own first, then the plugins, each
    guarded (:mod:`.plugins`); see the module docstring for what is refused."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    points = sorted(
        entry_points(group=ENTRY_POINT_GROUP),
        key=lambda p: (_package(p) != DISTRIBUTION, _package(p), p.name),
    )
    accepted: list[tuple[EntryPoint, list[PluginBenchmark]]] = []
    for point in points:
        package = _package(point)
        try:
            benchmarks = _benchmarks_of(point)
            if package == DISTRIBUTION:
                for benchmark in benchmarks:
                    _add(benchmark, package)
                continue
            wrapped = [PluginBenchmark(b, package, point.name) for b in benchmarks]
        except PLUGIN_FAILURES as err:
            _leave_out(point, f"cannot be loaded: {failure_text(err)}")
            continue
        builtin = sorted({b.identifier for b in wrapped if b.id in _builtin_ids()})
        if builtin:
            _leave_out(
                point,
                f"registers {', '.join(builtin)}, an id of brainalign's own benchmarks, which "
                "a plugin never answers for (at any version): refused",
            )
            continue
        accepted.append((point, wrapped))
    claimants: dict[str, dict[str, str]] = {}  # id → {package: its entry point}
    for point, wrapped in accepted:
        for benchmark in wrapped:
            claimants.setdefault(benchmark.id, {}).setdefault(benchmark.package, point.name)
    for point, wrapped in accepted:
        contested = sorted(b.id for b in wrapped if len(claimants[b.id]) > 1)
        if contested:
            owners = claimants[contested[0]]
            named = " and ".join(
                plugin_label(name, package) for package, name in sorted(owners.items())
            )
            _leave_out(
                point,
                f"benchmark id {contested[0]} is claimed by {named}: refused for both, so "
                "that neither answers for the other; uninstall one of them",
            )
            continue
        clash = next((b.identifier for b in wrapped if b.identifier in _REGISTRY), None)
        if clash is not None:  # the same id@version twice within one package
            _leave_out(point, f"registers {clash}, which its package registered already")
            continue
        for benchmark in wrapped:
            _add(benchmark, benchmark.package)


def refresh() -> None:
    """Look for entry points again, when next asked (a package installed into a running
    process); benchmarks registered with :func:`register` stay."""
    global _discovered
    with _lock:
        for identifier in [i for i, where in _ORIGIN.items() if where != THIS_PROCESS]:
            _REGISTRY.pop(identifier)
            _ORIGIN.pop(identifier)
        _BROKEN.clear()
        _discovered = False


def broken_plugins() -> list[BrokenPlugin]:
    """Entry points of the group whose benchmarks are left out (reported once, when found)."""
    with _lock:
        _discover()
        return list(_BROKEN)


def origin(benchmark: Benchmark) -> str:
    """The package that registered ``benchmark`` (``brainalign`` for the built-ins)."""
    return _ORIGIN.get(benchmark.identifier, THIS_PROCESS)


def all_benchmarks() -> list[Benchmark]:
    with _lock:
        _discover()
        return sorted(_REGISTRY.values(), key=lambda b: b.identifier)


def get(benchmark_id: str) -> Benchmark:
    """The benchmark called ``id`` (newest version) or ``id@version``, the one a spec file
    (``path/to/benchmark.toml``, :mod:`brainalign.benchmarks.spec`) defines, or the probe a probe id
    (``probe.saliency_semantic~<hash>``) names (:mod:`.probe_index`)."""
    if benchmark_id.endswith(".toml"):
        from .spec import SpecBenchmark  # the data loaders, only when a spec is named

        return SpecBenchmark(benchmark_id)
    base, _, version = benchmark_id.partition("@")
    if PROBE_HASH_MARK in base:
        from .probe_index import probe_for_id  # the probe code, only when a probe is named

        return probe_for_id(base, version)
    with _lock:
        _discover()
        if benchmark_id in _REGISTRY:
            return _REGISTRY[benchmark_id]
        # by the names registered (a benchmark's own id may later resolve to a more precise one:
        # the default probe, to the id of the probe it built)
        matches = [b for key, b in _REGISTRY.items() if _base(key) == base]
        names = sorted({_base(key) for key in _REGISTRY})
    if version:
        matches = [b for b in matches if str(b.version) == version]
    if matches:
        return max(matches, key=lambda b: b.version)
    raise BrainAlignError(f"unknown benchmark {benchmark_id!r}{_hint(base, version, names)}")


def _hint(base: str, version: str, names: list[str]) -> str:
    """What an unknown name may have meant: the versions there are, the ids it begins, or close
    spellings; a plugin that was left out and would have had it."""
    if base in names:
        versions = sorted(b.version for key, b in _REGISTRY.items() if _base(key) == base)
        return f": {base} has version(s) {', '.join(map(str, versions))}, not {version}"
    if not names:
        return "; no benchmarks are registered at all: is brainalign installed (pip install .)?"
    fits = candidates(base)
    if len(fits) == 1:
        return f"; did you mean {fits[0].id}?"
    if fits:
        return (
            f": it names no one benchmark but matches {len(fits)}: {', '.join(b.id for b in fits)}; "
            "name one of them"
        )
    close = difflib.get_close_matches(base, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    broken = [str(b) for b in broken_plugins()]
    if broken:  # it may be one of theirs
        hint += f"; left out, with their benchmarks: {'; '.join(broken)}"
    return hint + " (`brainalign benchmarks` lists them all)"


def candidates(name: str) -> list[Benchmark]:
    """Registered benchmarks a partial name may mean, the newest version of each id, sorted by
    id: those whose dotted parts begin with ``name``'s (``algonauts2019.92images`` →
    ``algonauts2019.92images.EVC`` and ``.IT``; a whole id, itself), failing that those holding
    ``name``'s parts as a consecutive run (``92images`` → the same two); [] when none fits."""
    parts = [p for p in _base(name).split(".") if p]
    if not parts:
        return []
    newest: dict[str, Benchmark] = {}
    for benchmark in all_benchmarks():
        kept = newest.get(benchmark.id)
        if kept is None or benchmark.version > kept.version:
            newest[benchmark.id] = benchmark

    def runs(identifier: str) -> list[int]:
        """Where ``parts`` occur as a consecutive run of ``identifier``'s dotted parts."""
        split = identifier.split(".")
        return [i for i in range(len(split) - len(parts) + 1) if split[i : i + len(parts)] == parts]

    prefixed = [b for i, b in sorted(newest.items()) if 0 in runs(i)]
    return prefixed or [b for i, b in sorted(newest.items()) if runs(i)]


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
