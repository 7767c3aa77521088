"""Baselines that are not networks: the pixels themselves."""

from __future__ import annotations

import torch
import torchvision.transforms as T
from torch import nn

from . import Built

PIXEL_SIZE = 224


class Pixels(nn.Module):
    """The image as the model sees it: one layer, ``pixels``, of the resized RGB values in [0, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.pixels = nn.Identity()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.pixels(images)


def build_pixels() -> Built:
    preprocess = T.Compose(
        [
            T.Resize(PIXEL_SIZE, interpolation=T.InterpolationMode.BICUBIC),
            T.CenterCrop(PIXEL_SIZE),
            T.ToTensor(),
        ]
    )
    return Built(Pixels(), preprocess)
