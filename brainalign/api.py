"""The Python API in one place: load models and benchmarks, score, run, publish.

>>> import brainalign
>>> model = brainalign.load_model("efficientnet_lite0")                     # doctest: +SKIP
>>> brainalign.score(model, ["kriegeskorte2008.hIT", "probe.saliency_semantic"])  # doctest: +SKIP
>>> brainalign.build_leaderboard("results", "leaderboard.html")             # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from . import _API

from .benchmarks import Benchmark, all_benchmarks
from .benchmarks import get as load_benchmark
from .leaderboard.render import build as _build
from .leaderboard.store import Result, ResultsStore
from .models import LoadedModel, ModelCard, extract_layer_rdms, from_module, list_models, load_model
from .runner import DEFAULT_MODELS, Outcome, RunReport, ScoringOptions, run, score
from .stimuli import StimulusSet


def list_benchmarks() -> list[Benchmark]:
    """Every registered benchmark (``benchmark.default`` marks those `run` scores by default)."""
    return all_benchmarks()


def build_leaderboard(results: str | Path, out: str | Path = "leaderboard.html") -> Path:
    """Write the static HTML leaderboard of every valid result under ``results``."""
    return _build(Path(results), Path(out)).path


__all__ = list(_API)  # one list, kept in brainalign/__init__.py (its lazy attributes)
