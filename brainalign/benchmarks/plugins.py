"""Benchmarks of other packages, held at arm's length: whatever a plugin's code does (an
exception, ``SystemExit``; a ``KeyboardInterrupt`` still stops brainalign), brainalign goes on.

A plugin's benchmark is wrapped in a :class:`PluginBenchmark` when it is loaded: its identity and
its descriptions are read once, then (an id can never change afterwards), and every later call
into its code (:meth:`availability`, :meth:`stimulus_sets`, :meth:`check_data`, :meth:`score`,
:meth:`provenance`) is guarded. The first failure is kept: from then on the benchmark is
unavailable, with that failure as the reason, and is never called again, so it is reported once
(a default run leaves it out; a command that named it exits with status 2 naming it, see
:func:`brainalign.score`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ..errors import BrainAlignError
from ..rsa import LayerRDMs
from ..stimuli import StimulusSet
from .base import Availability, Benchmark, BenchmarkScore, Measure

T = TypeVar("T")
#: What a plugin may do that brainalign survives: every exception and ``SystemExit`` (a
#: ``KeyboardInterrupt`` is the user's, and stops brainalign as always).
PLUGIN_FAILURES: tuple[type[BaseException], ...] = (Exception, SystemExit)
_DESCRIPTIONS = ("title", "description", "metric", "bibtex")


class PluginError(BrainAlignError):
    """A plugin's code failed; the message names the package, its entry point and the fix."""


def failure_text(err: BaseException) -> str:
    """An exception as a person reads it: the plugin's own message for its BrainAlignError,
    ``Type: message`` otherwise (``SystemExit: 3`` for ``sys.exit(3)``)."""
    if isinstance(err, BrainAlignError):
        return str(err)
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def plugin_label(entry_point: str, package: str) -> str:
    """``plugin 'toy' of package toylab``: how every message names a plugin."""
    return f"plugin {entry_point!r} of package {package}"


class PluginBenchmark(Benchmark):
    """A benchmark registered by another package (see the module docstring)."""

    def __init__(self, inner: Benchmark, package: str, entry_point: str) -> None:
        self._inner = inner
        self.package = package
        self.entry_point = entry_point
        self._failure: PluginError | None = None
        label = plugin_label(entry_point, package)
        identifier, version = inner.id, inner.version  # read once: it never changes afterwards
        if (
            not isinstance(identifier, str)
            or not identifier
            or any(c in "@~" or c.isspace() for c in identifier)
        ):
            raise BrainAlignError(
                f"{label} gives the benchmark id {identifier!r}; an id is text without "
                "spaces, '@' or '~' (which marks probe ids)"
            )
        if isinstance(version, bool) or not isinstance(version, int):
            raise BrainAlignError(
                f"{label}: benchmark {identifier} has version {version!r}; a version is an integer"
            )
        self.id, self.version = identifier, version
        for name in _DESCRIPTIONS:
            value = getattr(inner, name)
            if not isinstance(value, str):
                raise BrainAlignError(
                    f"{label}: benchmark {self.identifier} has a {name} of type "
                    f"{type(value).__name__}; it must be text"
                )
            setattr(self, name, value)
        self.datasets = tuple(str(d) for d in getattr(inner, "datasets", ()))
        self.default = bool(getattr(inner, "default", True))
        self.distance = str(getattr(inner, "distance", "cosine"))
        self.layers_as = str(getattr(inner, "layers_as", "rdms"))
        if self.layers_as not in ("rdms", "kernels"):
            raise BrainAlignError(
                f"{label}: benchmark {self.identifier} takes layers as {self.layers_as!r}; "
                "layers_as is 'rdms' or 'kernels'"
            )
        self.measures = tuple(getattr(inner, "measures", ()))
        if not all(isinstance(m, Measure) for m in self.measures):
            raise BrainAlignError(
                f"{label}: benchmark {self.identifier} declares measures that are not "
                "brainalign.benchmarks.base.Measure objects"
            )

    @property
    def inner(self) -> Benchmark:
        """The plugin's own object (calls into it are not guarded)."""
        return self._inner

    @property
    def failure(self) -> PluginError | None:
        """The first failure of the plugin's code in this process, if any."""
        return self._failure

    def _call(self, method: str, call: Callable[[], T]) -> T:
        if self._failure is not None:
            raise self._failure
        try:
            return call()
        except PLUGIN_FAILURES as err:
            self._failure = PluginError(
                f"{self.identifier} ({plugin_label(self.entry_point, self.package)}) failed in {method}(): "
                f"{failure_text(err)}; it is left out: {self._fix}"
            )
            raise self._failure from None

    @property
    def _fix(self) -> str:
        return f"fix or uninstall {self.package}"

    # --- the Benchmark interface, guarded ------------------------------------------------------------
    def availability(self, data_dir: Path | None) -> Availability:
        try:
            found = self._call("availability", lambda: self._inner.availability(data_dir))
            if not isinstance(found, Availability):
                self._call(
                    "availability", lambda: _wrong_type("availability()", found, "an Availability")
                )
        except PluginError as err:
            return Availability(False, str(err), self._fix)  # the reason holds the fix: one message
        return found

    def stimulus_sets(self, data_dir: Path | None) -> dict[str, StimulusSet]:
        found = self._call("stimulus_sets", lambda: self._inner.stimulus_sets(data_dir))
        if not isinstance(found, Mapping) or not all(
            isinstance(s, StimulusSet) for s in found.values()
        ):
            self._call(
                "stimulus_sets",
                lambda: _wrong_type("stimulus_sets()", found, "a dict of StimulusSet"),
            )
        return dict(found)

    def check_data(self, data_dir: Path | None) -> None:
        if type(self._inner).check_data is Benchmark.check_data:
            self.stimulus_sets(data_dir)  # what the default does, named as the plugin wrote it
        else:
            self._call("check_data", lambda: self._inner.check_data(data_dir))

    def score(
        self, layers: Mapping[str, LayerRDMs], *, seed: int = 0, data_dir: Path | None = None
    ) -> BenchmarkScore:
        found = self._call("score", lambda: self._inner.score(layers, seed=seed, data_dir=data_dir))
        if not isinstance(found, BenchmarkScore):
            self._call("score", lambda: _wrong_type("score()", found, "a BenchmarkScore"))
        return found

    def provenance(self, data_dir: Path | None) -> dict[str, Any]:
        found = self._call("provenance", lambda: self._inner.provenance(data_dir))
        if not isinstance(found, Mapping):
            self._call("provenance", lambda: _wrong_type("provenance()", found, "a dict"))
        return dict(found)

    def __getattr__(self, name: str) -> Any:
        """Anything else the plugin's object offers (its own helpers), read from it as it is."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    def __repr__(self) -> str:
        return f"<Benchmark {self.identifier} of {self.package}: {self.title}>"


def _wrong_type(what: str, value: object, wanted: str) -> None:
    raise TypeError(f"{what} returned {type(value).__name__}, not {wanted}")
