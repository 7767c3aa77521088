"""Adapters from model zoos (torchvision, timm, open_clip, EfficientNet-Lite, baselines) to a
module + its native preprocessing + the weights file it was loaded from."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..preprocessing import Preprocess


@dataclass(frozen=True)
class Built:
    """What an adapter returns: the module, its native preprocessing, the weights file used."""

    module: nn.Module
    preprocess: Preprocess
    weights_path: Path | None = None


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the initialisation under ``torch.manual_seed(seed)`` without touching the caller's RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@contextmanager
def quiet_root_logger() -> Iterator[None]:
    """open_clip warns on the root logger that a model without weights is random: we know."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)
