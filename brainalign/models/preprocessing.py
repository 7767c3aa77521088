"""Image preprocessing: the framework's own ("native") or CLIP's, as the study fed every model.

Native preprocessing comes from whoever owns the weights (torchvision's weight transforms, timm's
data config, open_clip's preprocess). ``"clip"`` replaces it with OpenAI CLIP's: bicubic resize
of the short side to 224, centre crop 224, CLIP's mean and std.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image

from ..errors import BrainAlignError

Preprocess = Callable[[Image.Image], torch.Tensor]
MODES = ("native", "clip")
CLIP_IMAGE_SIZE = 224


def clip_preprocess(image_size: int = CLIP_IMAGE_SIZE) -> Preprocess:
    """OpenAI CLIP's evaluation transform, built by open_clip."""
    import open_clip

    return open_clip.image_transform(
        image_size,
        is_train=False,
        mean=open_clip.OPENAI_DATASET_MEAN,
        std=open_clip.OPENAI_DATASET_STD,
    )


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise BrainAlignError(f"unknown preprocessing {mode!r}; choose one of {', '.join(MODES)}")
    return mode


def describe(preprocess: Preprocess) -> str:
    """A stable, readable text for provenance: the transform's repr, or its qualified name when
    the repr would hold a memory address (a plain function or lambda). Different transforms may
    share a text; :func:`fingerprint` tells them apart."""
    text = repr(preprocess)
    if " at 0x" in text:
        target = getattr(preprocess, "__wrapped__", preprocess)
        module = getattr(target, "__module__", type(target).__module__)
        name = getattr(target, "__qualname__", type(target).__qualname__)
        return f"{module}.{name}"
    return text


def example_image(height: int = 256, width: int = 320) -> Image.Image:
    """A fixed noise image: the input of the tracing forward pass and of :func:`fingerprint`.
    Not square, so that resizing the short side (``Resize(s)``) and both (``Resize((s, s))``)
    give different tensors."""
    pixels = np.random.default_rng(0).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def fingerprint(tensor: torch.Tensor) -> str:
    """sha256 of a preprocessed example (dtype, shape, bytes): what the preprocessing really does,
    whatever its repr says (a partial, a lambda, an edited function in a model file)."""
    tensor = tensor.detach().to("cpu").contiguous()
    digest = hashlib.sha256(f"{tensor.dtype}|{tuple(tensor.shape)}\0".encode())
    digest.update(tensor.reshape(-1).view(torch.uint8).numpy().data)
    return digest.hexdigest()


def apply(preprocess: Preprocess, image: Image.Image) -> torch.Tensor:
    """``preprocess(image)`` checked to be one ``(C, H, W)`` float tensor."""
    tensor = preprocess(image)
    if not isinstance(tensor, torch.Tensor) or tensor.ndim != 3:
        shape = getattr(tensor, "shape", type(tensor).__name__)
        raise BrainAlignError(
            f"preprocess must turn a PIL RGB image into a (C, H, W) tensor, it returned {shape}"
        )
    return tensor if tensor.is_floating_point() else tensor.float()
