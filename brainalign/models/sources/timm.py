"""timm models: ``timm.create_model`` with weights from a file or the Hugging Face cache, and
timm's data config for preprocessing."""

from __future__ import annotations

from pathlib import Path

import timm
import timm.data
from torch import nn

from ...errors import BrainAlignError
from ..cards import ModelCard
from ..preprocessing import Preprocess
from ..weights import hf_cache_location, hf_cached_file, unavailable
from . import Built, seeded

HF_FILENAMES = ("model.safetensors", "pytorch_model.bin")


def check_architecture(name: str) -> None:
    if not timm.is_model(name.split(".")[0]):
        raise BrainAlignError(f"timm has no model {name!r}; see timm.list_models()")


def native_preprocess(module: nn.Module) -> Preprocess:
    config = timm.data.resolve_data_config({}, model=module)
    return timm.data.create_transform(**config, is_training=False)


def _hf_hub_id(name: str) -> str | None:
    config = timm.models.get_pretrained_cfg(name)
    return config.hf_hub_id if config is not None and config.hf_hub_id else None


def is_cached(name: str) -> bool:
    hub_id = _hf_hub_id(name)
    return hub_id is not None and hf_cached_file(hub_id, HF_FILENAMES) is not None


def build_pretrained(card: ModelCard, name: str, weights: Path | None) -> Built:
    check_architecture(name)
    config = timm.models.get_pretrained_cfg(name)
    if weights is None and (config is None or not (config.hf_hub_id or config.url or config.file)):
        # timm would warn and hand back a random initialisation: refuse instead
        raise BrainAlignError(
            f"timm publishes no pretrained weights for {name!r}; pass --weights FILE or use "
            f"timm:{name}:untrained"
        )
    hub_id = _hf_hub_id(name)
    path = weights
    if path is None and hub_id is not None:
        path = hf_cached_file(hub_id, HF_FILENAMES)
    try:
        if path is not None:
            module = timm.create_model(
                name, pretrained=True, pretrained_cfg_overlay={"file": str(path)}
            )
        else:  # timm's own download
            module = timm.create_model(name, pretrained=True)
    except Exception as err:
        if path is not None:
            raise BrainAlignError(f"cannot load {path} into timm {name} ({err})") from None
        searched = [hf_cache_location(hub_id)] if hub_id else ["(timm has no download for it)"]
        raise unavailable(card, searched, f"{type(err).__name__}: {err}") from None
    return Built(module, native_preprocess(module), Path(path) if path is not None else None)


def build_untrained(name: str, seed: int) -> Built:
    check_architecture(name)
    with seeded(seed):
        module = timm.create_model(name, pretrained=False)
    return Built(module, native_preprocess(module))
