"""Results: one model scored on one benchmark, its files, its content id, and a folder of them.

>>> from brainalign.results import ResultsStore                  # doctest: +SKIP
>>> store = ResultsStore("results")                               # doctest: +SKIP
>>> result = store.load("efficientnet_lite0", "mur2013.judgements")  # doctest: +SKIP
>>> result.summary["brain_similarity"], result.content_id()       # doctest: +SKIP
"""

from ..paths import default_results_dir
from .result import FORMAT_VERSION, Result, as_float, jsonable
from .store import (
    RejectedFile,
    ResultFile,
    ResultsStore,
    StoreContents,
    file_stem,
)

__all__ = [
    "FORMAT_VERSION",
    "RejectedFile",
    "Result",
    "ResultFile",
    "ResultsStore",
    "StoreContents",
    "as_float",
    "default_results_dir",
    "file_stem",
    "jsonable",
]
