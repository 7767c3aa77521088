"""Benchmarks: the probe (saliency vs semantics), the human benchmarks, and benchmarks declared as
data + metric (:class:`DeclaredBenchmark`: built-in, spec files and plugins alike)."""

from .base import LAYERWISE_COLUMNS, Availability, Benchmark, BenchmarkScore
from .declared import DeclaredBenchmark
from .registry import all_benchmarks, default_benchmarks, get, register, resolve

__all__ = [
    "LAYERWISE_COLUMNS",
    "Availability",
    "Benchmark",
    "BenchmarkScore",
    "DeclaredBenchmark",
    "all_benchmarks",
    "default_benchmarks",
    "get",
    "register",
    "resolve",
]
