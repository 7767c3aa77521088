"""LoadedModel: a network ready for extraction (card, eval-mode module, preprocessing, layers).

Built-in and generic ids come from :func:`brainalign.models.load_model`; a user's own network
comes from :func:`from_module`, which gives it exactly the same treatment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import BrainAlignError
from . import preprocessing as pp
from .cards import ModelCard
from .graph import LayerGraph, trace
from .weights import state_sha256

Layers = str | Sequence[str]


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model ready for layer-RDM extraction.

    ``layers`` are the chosen layer names in execution order (the card's policy unless another
    was asked for) and ``depths`` their relative depths in [0, 1] within the whole forward pass;
    ``graph`` knows every layer the network has. ``preprocess_sha256`` is the sha256 of
    ``preprocess``'s output on :func:`~brainalign.models.preprocessing.example_image`: the
    preprocessing's identity in cache keys and provenance.
    """

    card: ModelCard
    module: nn.Module
    preprocess: pp.Preprocess
    layers: tuple[str, ...]
    depths: tuple[float, ...]
    graph: LayerGraph
    device: torch.device
    preprocess_sha256: str
    weights_path: Path | None = None

    @property
    def id(self) -> str:
        return self.card.id

    @property
    def preprocessing(self) -> str:
        """Which preprocessing feeds the network: ``native``, ``clip`` or ``custom``."""
        return self.card.preprocessing

    def select(self, layers: Layers | None = None) -> tuple[str, ...]:
        """Layer names for a policy (``all``, ``blocks``) or a list; default: :attr:`layers`."""
        return self.layers if layers is None else self.graph.select(layers)

    def with_layers(self, layers: Layers) -> LoadedModel:
        names = self.graph.select(layers)
        return dataclasses.replace(self, layers=names, depths=self.graph.depths(names))

    def to(self, device: str | torch.device) -> LoadedModel:
        """Move the module (in place) and return the model that knows it is on ``device``."""
        device = torch.device(device)
        self.module.to(device)
        return dataclasses.replace(self, device=device)

    def state_sha256(self) -> str:
        """sha256 of the module's current parameters and buffers (part of every cache key)."""
        return state_sha256(self.module)

    def provenance(self) -> dict[str, object]:
        """What a result must carry to say which model produced it."""
        return {
            "model": self.card.to_dict(),
            "preprocess": pp.describe(self.preprocess),
            "preprocess_sha256": self.preprocess_sha256,
            "weights_path": str(self.weights_path) if self.weights_path else None,
        }


def assemble(
    card: ModelCard,
    module: nn.Module,
    preprocess: pp.Preprocess,
    *,
    layers: Layers | None = None,
    device: str | torch.device = "cpu",
    weights_path: Path | None = None,
) -> LoadedModel:
    """Put a module in eval mode on ``device``, trace its layers and pick the layer policy."""
    if not isinstance(module, nn.Module):
        raise BrainAlignError(f"a model must be a torch.nn.Module, got {type(module).__name__}")
    if not callable(preprocess):
        raise BrainAlignError("preprocess must be a callable turning a PIL RGB image into a tensor")
    device = torch.device(device)
    module = module.eval().to(device)
    example = pp.apply(preprocess, pp.example_image())
    graph = trace(module, example.to(device))
    policy = card.layer_policy if layers is None else layers
    names = graph.select(policy)
    if card.n_parameters is None:
        card = dataclasses.replace(card, n_parameters=sum(p.numel() for p in module.parameters()))
    return LoadedModel(
        card,
        module,
        preprocess,
        names,
        graph.depths(names),
        graph,
        device,
        pp.fingerprint(example),
        weights_path,
    )


def from_module(
    module: nn.Module,
    preprocess: pp.Preprocess,
    *,
    layers: Layers = "blocks",
    card: ModelCard | None = None,
    model_id: str | None = None,
    device: str | torch.device = "cpu",
) -> LoadedModel:
    """Wrap your own network: ``preprocess`` maps a PIL RGB image to a ``(C, H, W)`` tensor,
    ``layers`` is a policy (``blocks``, ``all``) or a list of module paths, and ``card`` (or
    just ``model_id``) says what the model is, for the results.

    The card records the preprocessing as ``custom`` (your transform), or ``clip`` where the card
    says so and the transform's output equals CLIP's: brainalign cannot know what "native" would
    be for your weights, so a card's other claim is not kept.

    >>> import torch, torchvision.transforms as T
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten())
    >>> model = from_module(net, T.Compose([T.Resize((32, 32)), T.ToTensor()]),
    ...                     layers="all", model_id="tiny")
    >>> model.layers
    ('0', '1', '2')
    """
    if card is None:
        if not model_id:
            raise BrainAlignError("from_module needs a card= or a model_id= to name the model")
        card = ModelCard(
            id=model_id, source="custom", architecture=type(module).__name__, preprocessing="custom"
        )
    elif model_id and model_id != card.id:
        raise BrainAlignError(f"model_id {model_id!r} differs from card.id {card.id!r}; give one")
    policy = layers if isinstance(layers, str) else ",".join(layers)
    claims_clip = card.preprocessing == "clip"
    card = dataclasses.replace(card, layer_policy=policy, preprocessing="custom")
    model = assemble(card, module, preprocess, layers=layers, device=device)
    clip = (
        pp.fingerprint(pp.apply(pp.clip_preprocess(), pp.example_image())) if claims_clip else None
    )
    if model.preprocess_sha256 == clip:
        model = dataclasses.replace(model, card=dataclasses.replace(card, preprocessing="clip"))
    return model
