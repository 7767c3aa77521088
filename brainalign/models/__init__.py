"""Vision models: cards (data), factories (code), layer policies and layer-RDM extraction.

>>> from brainalign.models import load_model, extract_layer_rdms   # doctest: +SKIP
>>> model = load_model("efficientnet_lite0")                        # doctest: +SKIP
>>> layer_rdms = extract_layer_rdms(model, stimuli)                 # doctest: +SKIP
"""

from .cards import ModelCard
from .extract import DEFAULT_MEMORY_BUDGET, extract_layer_rdms, parse_memory_budget
from .graph import KINDS, OUTPUT, POLICIES, LayerGraph
from .layer_rdm_files import read_layer_rdms, save_layer_rdms
from .loaded import LoadedModel, from_module
from .preprocessing import clip_preprocess
from .weights import WeightsUnavailableError
from .zoo import ENTRY_POINT_GROUP, get_card, list_models, load_model, weights_available

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "ENTRY_POINT_GROUP",
    "KINDS",
    "OUTPUT",
    "POLICIES",
    "LayerGraph",
    "LoadedModel",
    "ModelCard",
    "WeightsUnavailableError",
    "clip_preprocess",
    "extract_layer_rdms",
    "from_module",
    "get_card",
    "list_models",
    "load_model",
    "parse_memory_budget",
    "read_layer_rdms",
    "save_layer_rdms",
    "weights_available",
]
