"""Benchmarks: the probe (saliency vs semantics) and the human RSA benchmarks."""

from .base import LAYERWISE_COLUMNS, Availability, Benchmark, BenchmarkScore
from .registry import all_benchmarks, default_benchmarks, get, register, resolve

__all__ = [
    "LAYERWISE_COLUMNS", "Availability", "Benchmark", "BenchmarkScore", "all_benchmarks",
    "default_benchmarks", "get", "register", "resolve",
]
