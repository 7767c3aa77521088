"""Benchmarks: the probe (saliency vs semantics) and the human RSA benchmarks."""

from .base import LAYERWISE_COLUMNS, Availability, Benchmark, BenchmarkScore
from .registry import all_benchmarks, get, register

__all__ = [
    "LAYERWISE_COLUMNS", "Availability", "Benchmark", "BenchmarkScore", "all_benchmarks", "get",
    "register",
]
