"""The leaderboard: reads results only, and turns them into tables, relations, claims and a page.

``relation(layers, x, y)`` returns at least ``r`` (Pearson), ``p``, ``n`` and ``r_quadratic``
(√R² of a degree-2 fit) for two columns of a table with one row per (model, layer):

>>> from brainalign.results import ResultsStore                    # doctest: +SKIP
>>> from brainalign.leaderboard import layer_table, relation        # doctest: +SKIP
>>> results = ResultsStore("results").load_all().results           # doctest: +SKIP
>>> layers = layer_table(results)                                  # doctest: +SKIP
>>> relation(layers, "semantic", "algonauts2019.92images.IT@2")    # doctest: +SKIP

That pooled relation is the study's analysis, descriptive only. The claims are decided by
``within_model_test`` (:mod:`.decisive`), which takes the same kind of table plus each model's
``lineage`` and ``trained`` flag (``model_metadata``) and tests over architecture lineages.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .relation import layer_relations, layer_table, model_relations, model_table, relation

if TYPE_CHECKING:
    from .decisive import (
        across_lineage_test,
        model_metadata,
        within_model_contrast,
        within_model_test,
    )

#: Imported on first use: the claims need the model cards (and with them torch), which the light
#: submodules (methods, the citations) must not pull in with the package.
_DECISIVE = ("across_lineage_test", "model_metadata", "within_model_contrast", "within_model_test")

__all__ = [
    "across_lineage_test",
    "layer_relations",
    "layer_table",
    "model_metadata",
    "model_relations",
    "model_table",
    "relation",
    "within_model_contrast",
    "within_model_test",
]


def __getattr__(name: str) -> Any:
    if name not in _DECISIVE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(".decisive", __name__), name)
