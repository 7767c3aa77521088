"""Metrics by name: brainalign's own (:data:`brainalign.metrics.METRICS`) and those other packages
register in the entry-point group ``brainalign.metrics`` (an entry point names a metric object, or
a class or function returning one; see :class:`brainalign.metrics.Metric`).

A metric id is ``name@version`` (``wrsa@1``); a benchmark declares its metric by name (``"wrsa"``,
the newest version) or by id. A plugin's metric is held at arm's length, as plugin benchmarks are:
it can never answer for a built-in name (refused with a warning naming its package), a name two
packages register is refused for both, a plugin that fails at import is reported and left out,
and whatever its ``score`` or ``ceiling`` raise becomes one error naming the package.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

from ..errors import BrainAlignError
from ..metrics import METRICS, Metric, metric_id
from .plugins import PLUGIN_FAILURES, failure_text, plugin_label

ENTRY_POINT_GROUP = "brainalign.metrics"
#: The metric a benchmark that names none is scored with: classical RSA.
DEFAULT_METRIC = "rsa"
log = logging.getLogger(__name__)
_PLUGINS: dict[str, Metric] | None = None
_Field = TypeVar("_Field", str, int)


@dataclass(frozen=True)
class PluginMetric:
    """A metric of another package: its name, version and texts read once; its calls guarded."""

    inner: Any
    package: str
    entry_point: str
    name: str
    version: int
    layers_as: str
    definition: str
    resampling: str

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except PLUGIN_FAILURES as err:
            raise BrainAlignError(
                f"metric {self.name}@{self.version} ({plugin_label(self.entry_point, self.package)}) failed in "
                f"{what}(): {failure_text(err)}; fix or uninstall {self.package}"
            ) from None

    def score(self, layers: Any, target: Any, *, seed: int = 0) -> Any:
        return self._call("score", lambda: self.inner.score(layers, target, seed=seed))

    def ceiling(self, target: Any, *, seed: int = 0) -> Any:
        return self._call("ceiling", lambda: self.inner.ceiling(target, seed=seed))


def _wrap(found: Any, point: EntryPoint, package: str) -> PluginMetric:
    label = plugin_label(point.name, package)
    metric = (
        found()
        if isinstance(found, type) or (callable(found) and not hasattr(found, "score"))
        else found
    )
    name, version = _field(metric, "name", str, label), _field(metric, "version", int, label)
    layers_as, definition = (
        _field(metric, "layers_as", str, label),
        _field(metric, "definition", str, label),
    )
    resampling = _field(metric, "resampling", str, label)
    if not name or any(c in "@." or c.isspace() for c in name):
        raise BrainAlignError(
            f"{label}: metric name {name!r} must be text without spaces, '@' or '.'"
        )
    if layers_as not in ("rdms", "kernels"):
        raise BrainAlignError(f"{label}: layers_as must be 'rdms' or 'kernels', not {layers_as!r}")
    return PluginMetric(
        metric, package, point.name, name, version, layers_as, definition, resampling
    )


def _field(metric: Any, name: str, kind: type[_Field], label: str) -> _Field:
    """The metric's attribute ``name``, refused unless of type ``kind`` (a bool is no version)."""
    value = getattr(metric, name, None)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BrainAlignError(f"{label}: its metric has no {name} of type {kind.__name__}")
    return value


def _discover() -> dict[str, Metric]:
    found: dict[str, list[PluginMetric]] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        package = point.dist.name if point.dist is not None else point.module
        try:
            metric = _wrap(point.load(), point, package)
        except PLUGIN_FAILURES as err:
            log.warning("%s is left out: %s", plugin_label(point.name, package), failure_text(err))
            continue
        if metric.name in METRICS:
            log.warning(
                "%s registers the metric %r, a name of brainalign's own: refused",
                plugin_label(point.name, package),
                metric.name,
            )
            continue
        found.setdefault(metric.name, []).append(metric)
    plugins: dict[str, Metric] = {}
    for name, claims in found.items():
        if len(claims) > 1:
            log.warning(
                "the metric %r is registered by %s: refused for all",
                name,
                " and ".join(sorted(c.package for c in claims)),
            )
            continue
        plugins[name] = claims[0]
    return plugins


def all_metrics() -> dict[str, Metric]:
    """Every metric by name: the built-ins, then the plugins' (discovered once per process)."""
    global _PLUGINS
    if _PLUGINS is None:
        _PLUGINS = _discover()
    return {**METRICS, **_PLUGINS}


def refresh() -> None:
    """Discover the plugins' metrics again (after installing one into this process)."""
    global _PLUGINS
    _PLUGINS = None


def get_metric(name: str) -> Metric:
    """The metric named ``name`` (``"wrsa"``) or ``name@version`` (``"wrsa@1"``: that version)."""
    base, _, version = str(name).partition("@")
    metrics = all_metrics()
    if base not in metrics:
        raise BrainAlignError(f"unknown metric {name!r}; known: {', '.join(sorted(metrics))}")
    metric = metrics[base]
    if version and version != str(metric.version):
        raise BrainAlignError(f"metric {name!r}: this brainalign has {metric_id(metric)} only")
    return metric
