"""brainalign: score vision models layer by layer against human brain and behaviour RDMs.

The public API (``brainalign.score``, ``brainalign.load_model``, …) lives in
:mod:`brainalign.api`; it is imported on first use, so ``import brainalign`` stays light for the
command line.
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import BrainAlignError

if TYPE_CHECKING:  # what the lazy __getattr__ below gives, spelled out for type checkers and IDEs
    from .api import (
        DEFAULT_MODELS,
        Benchmark,
        BenchmarkSpec,
        LoadedModel,
        ModelCard,
        Outcome,
        Result,
        ResultsStore,
        RunReport,
        ScoringOptions,
        StimulusSet,
        build_leaderboard,
        extract_layer_rdms,
        from_module,
        list_benchmarks,
        list_models,
        load_benchmark,
        load_model,
        run,
        score,
        verify,
    )

__all__ = [
    "DEFAULT_MODELS",
    "Benchmark",
    "BenchmarkSpec",
    "BrainAlignError",
    "LoadedModel",
    "ModelCard",
    "Outcome",
    "Result",
    "ResultsStore",
    "RunReport",
    "ScoringOptions",
    "StimulusSet",
    "__version__",
    "build_leaderboard",
    "extract_layer_rdms",
    "from_module",
    "list_benchmarks",
    "list_models",
    "load_benchmark",
    "load_model",
    "run",
    "score",
    "verify",
]

#: The names imported from :mod:`brainalign.api` on first use.
_LAZY = frozenset(__all__) - {"BrainAlignError", "__version__"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'brainalign' has no attribute {name!r}")
