"""Layers a benchmark cannot score: their RDM is constant or undefined, so it says nothing about
the stimuli and every comparison with it is undefined.

**The rule.** A layer is dropped from a benchmark's scoring when, on any of the stimulus sets the
benchmark uses, its RDM

- has every dissimilarity equal (*constant*): every stimulus gives the layer the same activations
  (or equally distant ones), so no stimulus pair is more alike than another; or
- holds an undefined dissimilarity: a stimulus whose activations are all zero (cosine distance)
  or constant (correlation distance), or hold NaN or inf. An untrained ViT's zero-initialised
  output head is the common case: all zero for every stimulus.

Such a layer's comparisons would all be NaN (never a number), so dropping it changes no score;
it is dropped from every stimulus set of the benchmark alike, recorded in the result as
``extra["dropped_layers"]`` (a list of ``{"layer", "reason"}``), and reported once per model and
layer in a process, instead of once per stimulus set, benchmark and comparison.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from ..errors import BrainAlignError
from ..rsa import LayerRDMs

log = logging.getLogger(__name__)

#: (model id, layer) pairs already reported in this process.
_REPORTED: set[tuple[str, str]] = set()


def uncomparable_layers(layers: LayerRDMs) -> dict[str, str]:
    """``{layer: reason}`` for every layer whose RDM the rule above drops, in layer order."""
    found: dict[str, str] = {}
    n = layers.rdms.n_stimuli
    for name, row in zip(layers.layers, layers.rdms.data):
        undefined = np.isnan(row)
        if undefined.all():
            found[name] = (
                "no dissimilarity is defined: every stimulus gives the layer all-zero or "
                "non-finite activations"
            )
        elif undefined.any():
            rows, cols = np.triu_indices(n, k=1)
            stimuli = np.unique(np.concatenate([rows[undefined], cols[undefined]]))
            # a stimulus is undefined when all its pairs are; else only pairs of undefined ones are
            bad = [s for s in stimuli if undefined[(rows == s) | (cols == s)].all()] or list(
                stimuli
            )
            found[name] = (
                f"dissimilarities undefined for {len(bad)} of {n} stimuli (all-zero, "
                "constant or non-finite activations)"
            )
        elif row.max() == row.min():
            found[name] = (
                "constant RDM: every pair of stimuli is equally dissimilar (the same "
                "activations for every stimulus)"
            )
    return found


def drop_uncomparable_layers(
    layer_sets: Mapping[str, LayerRDMs], model_id: str = ""
) -> tuple[dict[str, LayerRDMs], list[dict[str, str]]]:
    """``layer_sets`` (a benchmark's layer RDMs per stimulus set) without the layers the rule drops
    on any set, and the record of what was dropped (``[{"layer", "reason"}]``, stimulus set named
    where there are several). Reports each newly dropped layer of ``model_id`` once (logging).
    Raises where no layer is left: nothing could be scored."""
    reasons: dict[str, str] = {}
    for set_name, layers in layer_sets.items():
        for layer, reason in uncomparable_layers(layers).items():
            where = f" (on {set_name})" if len(layer_sets) > 1 else ""
            reasons.setdefault(layer, reason + where)
    if not reasons:
        return dict(layer_sets), []
    kept: dict[str, LayerRDMs] = {}
    for set_name, layers in layer_sets.items():
        keep = [i for i, name in enumerate(layers.layers) if name not in reasons]
        if not keep:
            raise BrainAlignError(
                f"{model_id or 'the model'}: every layer's RDM on {set_name} is constant or undefined "
                f"({next(iter(reasons.values()))}); nothing was scored or stored"
            )
        kept[set_name] = LayerRDMs(
            layers.rdms.select([layers.layers[i] for i in keep]),
            tuple(layers.depths[i] for i in keep),
            layers.model_id,
        )
    dropped = [{"layer": layer, "reason": reason} for layer, reason in reasons.items()]
    new = [d for d in dropped if (model_id, d["layer"]) not in _REPORTED]
    if new:
        _REPORTED.update((model_id, d["layer"]) for d in new)
        log.warning(
            "%s: %d layer(s) dropped, their RDMs cannot be compared: %s (recorded in each "
            "result as extra.dropped_layers)",
            model_id or "model",
            len(new),
            "; ".join(f"{d['layer']}: {d['reason']}" for d in new),
        )
    return kept, dropped
