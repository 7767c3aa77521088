"""torchvision classification models: weight enums, torch-hub cache, weight transforms."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import torch
import torchvision
from torchvision.models import WeightsEnum

from ...errors import BrainAlignError
from ...progress import is_quiet
from ..cards import ModelCard
from ..preprocessing import Preprocess
from ..weights import load_into, read_state_dict, unavailable
from . import Built, seeded


def architectures() -> list[str]:
    return sorted(torchvision.models.list_models(module=torchvision.models))


def check_architecture(arch: str) -> None:
    if arch not in architectures():
        raise BrainAlignError(
            f"torchvision has no classification model {arch!r}; see "
            "torchvision.models.list_models(module=torchvision.models)"
        )


def weights_enum(arch: str, name: str = "DEFAULT") -> WeightsEnum:
    """The weights enum member ``name`` of ``arch`` (``DEFAULT`` resolves to the recommended one)."""
    check_architecture(arch)
    enum = torchvision.models.get_model_weights(arch)
    try:
        return enum[name]
    except KeyError:
        raise BrainAlignError(
            f"torchvision {arch} has no weights {name!r}; choose one of "
            f"{', '.join(member.name for member in enum)}"
        ) from None


def cache_path(weights: WeightsEnum) -> Path:
    """Where torch hub keeps this checkpoint (``$TORCH_HOME/hub/checkpoints/<file>``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(weights.url).path)


def is_cached(weights: WeightsEnum) -> bool:
    return cache_path(weights).is_file()


def hash_prefix(weights: WeightsEnum) -> str | None:
    match = torch.hub.HASH_REGEX.search(os.path.basename(urlparse(weights.url).path))
    return match.group(1) if match else None


def native_preprocess(arch: str, weights_name: str | None) -> Preprocess:
    """The weights' own transform; an untrained twin uses its trained twin's."""
    try:
        return weights_enum(arch, weights_name or "DEFAULT").transforms()
    except BrainAlignError:
        return torchvision.models.ResNet50_Weights.IMAGENET1K_V1.transforms()


def _architecture_kwargs(arch: str, weights: WeightsEnum) -> dict[str, object]:
    """The constructor arguments torchvision's builder sets from the weights' metadata."""
    kwargs: dict[str, object] = {}
    if "categories" in weights.meta:
        kwargs["num_classes"] = len(weights.meta["categories"])
    if arch.startswith("vit_") and "min_size" in weights.meta:
        kwargs["image_size"] = weights.meta["min_size"][0]
    return kwargs


def weights_file(card: ModelCard, weights: WeightsEnum) -> Path:
    """The checkpoint from torch hub's cache, downloaded there first when absent."""
    target = cache_path(weights)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(
            weights.url, str(target), hash_prefix=hash_prefix(weights), progress=not is_quiet()
        )
    except Exception as err:  # offline (URLError), refused, hash mismatch …
        raise unavailable(card, [target], f"{type(err).__name__}: {err}") from None
    return target


def build_pretrained(card: ModelCard, arch: str, weights_name: str, weights: Path | None) -> Built:
    member = weights_enum(arch, weights_name)
    path = weights if weights is not None else weights_file(card, member)
    state = read_state_dict(path)
    module = torchvision.models.get_model(arch, weights=None, **_architecture_kwargs(arch, member))
    load_into(module, state, path)
    return Built(module, member.transforms(), Path(path))


def build_untrained(arch: str, weights_name: str | None, seed: int) -> Built:
    check_architecture(arch)
    with seeded(seed):
        module = torchvision.models.get_model(arch, weights=None)
    return Built(module, native_preprocess(arch, weights_name))
