"""brainalign: score vision models layer by layer against human brain and behaviour RDMs.

The public API (``brainalign.score``, ``brainalign.load_model``, …) lives in
:mod:`brainalign.api`; it is imported on first use, so ``import brainalign`` stays light for the
command line.
"""

from typing import Any

from ._version import __version__
from .errors import BrainAlignError

_API = (
    "DEFAULT_MODELS", "Benchmark", "LoadedModel", "ModelCard", "Outcome", "Result", "ResultsStore",
    "RunReport", "ScoringOptions", "StimulusSet", "build_leaderboard", "extract_layer_rdms",
    "from_module", "list_benchmarks", "list_models", "load_benchmark", "load_model", "run", "score",
    "verify",
)

__all__ = ["BrainAlignError", "__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'brainalign' has no attribute {name!r}")
