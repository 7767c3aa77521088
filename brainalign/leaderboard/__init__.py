"""Results store, relation analyses and the static HTML leaderboard.

``relation(layers, x, y)`` returns at least ``r`` (Pearson), ``p``, ``n`` and ``r_quadratic``
(√R² of a degree-2 fit) for two columns of a table with one row per (model, layer):

>>> from brainalign.leaderboard import ResultsStore, layer_table, relation  # doctest: +SKIP
>>> store = ResultsStore("results")                                # doctest: +SKIP
>>> results = store.load_all().results                             # doctest: +SKIP
>>> layers = layer_table(results)                                  # doctest: +SKIP
>>> relation(layers, "semantic", "algonauts2019.92images.IT@1")    # doctest: +SKIP
"""

from .relation import layer_relations, layer_table, model_relations, model_table, relation
from .store import Problem, Result, ResultsStore

__all__ = [
    "Problem",
    "Result",
    "ResultsStore",
    "layer_relations",
    "layer_table",
    "model_relations",
    "model_table",
    "relation",
]
