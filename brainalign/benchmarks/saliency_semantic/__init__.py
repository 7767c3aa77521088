"""Deprecated: the probe moved to :mod:`brainalign.probe` (stimuli, saliency, semantics, the
builder) and :mod:`brainalign.benchmarks.probe` (the benchmark that scores a probe folder)."""

from __future__ import annotations

import warnings
from typing import Any

warnings.warn(
    "brainalign.benchmarks.saliency_semantic is deprecated: import the probe from brainalign.probe "
    "and its benchmark (SaliencySemanticProbe, score_layers) from brainalign.benchmarks.probe",
    DeprecationWarning, stacklevel=2,
)

#: Old names that now live elsewhere.
_RENAMED = {"BuildReport": "ProbeBuild"}
_BENCHMARK = ("SaliencySemanticProbe", "score_layers")


def __getattr__(name: str) -> Any:
    if name in _BENCHMARK:
        from .. import probe as module
    else:
        from ... import probe as module
    try:
        return getattr(module, _RENAMED.get(name, name))
    except AttributeError:
        raise AttributeError(f"module 'brainalign.benchmarks.saliency_semantic' has no attribute {name!r}") from None
