"""The default model set: what the leaderboard's claims need from it, whatever models it names."""

from __future__ import annotations

import torch

from brainalign import DEFAULT_MODELS
from brainalign.models import load_model
from brainalign.models.cards import architecture_lineage
from brainalign.models.zoo import get_card


def _untrained() -> list[str]:
    """Untrained models of the default set with no trained twin in it: the set's untrained architectures."""
    return [
        m
        for m in DEFAULT_MODELS
        if m.endswith(":untrained") and m.split(":")[0] not in DEFAULT_MODELS
    ]


def test_the_default_set_has_an_untrained_resnet_and_an_untrained_vit_that_build_offline() -> None:
    """The claims compare ResNets with ViTs: an untrained model of each design is always there
    (no weights to fetch), besides the pixel baseline."""
    lineages = {architecture_lineage(get_card(m).architecture): m for m in _untrained()}
    assert {"resnet", "vit"} <= set(lineages), lineages
    assert "pixels" in DEFAULT_MODELS


def test_the_default_untrained_vit_tells_images_apart_at_its_last_layer() -> None:
    """A control whose output head is all zeros says nothing at its last layer: the default
    untrained ViT's head output differs between two images."""
    vit = next(m for m in _untrained() if architecture_lineage(get_card(m).architecture) == "vit")
    model = load_model(vit)
    images = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        out = model.module(images)
    assert out.abs().max() > 0 and not torch.allclose(out[0], out[1])


def test_the_claims_calibration_simulates_the_default_set() -> None:
    """The simulated "default" leaderboard behind the claims' false-positive table
    (tools/simulate_claims.py) is made of the models `brainalign run` scores, no more, no fewer,
    and calls trained exactly those the leaderboard calls trained."""
    from brainalign.leaderboard import simulation
    from brainalign.leaderboard.aggregate import Entry, is_trained

    simulated = {m.model: m.trained for m in simulation.default_layout()}
    assert set(simulated) == set(DEFAULT_MODELS)
    assert simulated == {m: is_trained(Entry(m, get_card(m).to_dict(), {})) for m in DEFAULT_MODELS}
