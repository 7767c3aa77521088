"""A user's own network: from_module (Python), FILE.py:FUNCTION (CLI --model-file) and the
``brainalign.models`` entry-point group (installable plugins)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from models_reference import brute_force_rdm, tiny_net, tiny_preprocess

from brainalign import BrainAlignError
from brainalign.models import (
    ModelCard,
    extract_layer_rdms,
    from_module,
    get_card,
    list_models,
    load_model,
    weights_available,
)

MODEL_FILE = textwrap.dedent('''
    """A user's model file: build() returns brainalign.models.from_module(...)."""
    import torch
    import torchvision.transforms as T
    from brainalign.models import ModelCard, from_module

    CARD = ModelCard(id="toy_net", source="plugin", architecture="ToyNet", family="CNN",
                     objective="untrained", preprocessing="custom")


    class ToyNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = torch.nn.Sequential(
                torch.nn.Conv2d(3, 6, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(3))
            self.classifier = torch.nn.Linear(54, 4)

        def forward(self, x):
            return self.classifier(self.features(x).flatten(1))


    def build(weights=None):
        torch.manual_seed(0)
        net = ToyNet()
        if weights is not None:
            net.load_state_dict(torch.load(weights, weights_only=True))
        preprocess = T.Compose([T.Resize((24, 24)), T.ToTensor()])
        return from_module(net, preprocess, layers="all", card=CARD)


    build.card = CARD


    def build_without_options():
        return build()


    def not_a_model():
        return ToyNet()
''')


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "toy_model.py"
    path.write_text(MODEL_FILE)
    return path


def test_from_module_wraps_any_network_with_its_preprocessing(stimuli):
    model = from_module(tiny_net(), tiny_preprocess(), layers=["conv2", "fc"], model_id="mine")
    assert model.card.id == "mine" and model.card.source == "custom"
    assert model.card.preprocessing == "custom" and model.card.layer_policy == "conv2,fc"
    assert model.card.n_parameters == sum(p.numel() for p in model.module.parameters())
    assert not model.module.training
    result = extract_layer_rdms(model, stimuli, cache=False)
    np.testing.assert_allclose(
        result.rdms.get("fc"),
        brute_force_rdm(model.module, model.preprocess, stimuli, "fc"),
        atol=1e-6,
    )
    assert weights_available(model.card)


@pytest.mark.parametrize(("layers", "policy"), [("all", "all"), (["fc", "conv2"], "fc,conv2")])
def test_from_module_records_the_layers_asked_for_in_a_given_card(layers, policy):
    card = ModelCard(id="mine", source="custom", architecture="TinyNet")
    assert card.layer_policy == "blocks"
    model = from_module(tiny_net(), tiny_preprocess(), layers=layers, card=card)
    assert model.card.layer_policy == policy and model.card.to_dict()["layer_policy"] == policy
    assert model.layers == model.graph.select(policy)


def test_from_module_docstring_example():
    import torchvision.transforms as T

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten())
    model = from_module(
        net, T.Compose([T.Resize((32, 32)), T.ToTensor()]), layers="all", model_id="tiny"
    )
    assert model.layers == ("0", "1", "2")


def test_from_module_needs_a_name_and_a_real_module():
    with pytest.raises(BrainAlignError, match="model_id"):
        from_module(tiny_net(), tiny_preprocess())
    with pytest.raises(BrainAlignError, match=r"torch.nn.Module"):
        from_module(lambda x: x, tiny_preprocess(), model_id="f")  # type: ignore[arg-type]
    with pytest.raises(BrainAlignError, match=r"differs from card.id"):
        from_module(
            tiny_net(),
            tiny_preprocess(),
            model_id="a",
            card=ModelCard(id="b", source="custom", architecture="x"),
        )

    def bad_preprocess(image):
        return np.asarray(image)

    with pytest.raises(BrainAlignError, match=r"\(C, H, W\) tensor"):
        from_module(tiny_net(), bad_preprocess, model_id="p")


def test_model_file_factory(model_file, stimuli, tmp_path):
    model = load_model(f"{model_file}:build")
    assert model.card.id == "toy_net" and model.layers[0] == "features.0"
    assert extract_layer_rdms(model, stimuli, cache=False).rdms.data.shape == (
        len(model.layers),
        10,
    )
    # weights= reaches factories that take it
    torch.manual_seed(4)
    other = {k: torch.randn_like(v) for k, v in model.module.state_dict().items()}
    torch.save(other, tmp_path / "toy.pth")
    reloaded = load_model(f"{model_file}:build", weights=tmp_path / "toy.pth")
    assert torch.equal(reloaded.module.classifier.weight, other["classifier.weight"])
    # options a factory does not take are applied by brainalign
    clip = load_model(
        f"{model_file}:build_without_options", preprocessing="clip", layers=["classifier"]
    )
    assert clip.preprocessing == "clip" and clip.layers == ("classifier",)
    assert tuple(clip.preprocess(stimuli.load(stimuli.ids[0])).shape) == (3, 224, 224)


EDITABLE_MODEL_FILE = textwrap.dedent("""
    import torch
    import torchvision.transforms.functional as TF
    from brainalign.models import from_module


    def preprocess(image):
        return TF.to_tensor(image.resize((SIZE, SIZE)))


    def build():
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(2),
                                  torch.nn.Flatten(), torch.nn.Linear(16, 3))
        return from_module(net, preprocess, layers="all", model_id="edited")
""")


def test_an_edited_preprocessing_function_in_a_model_file_is_not_served_from_the_cache(
    tmp_path, stimuli
):
    path = tmp_path / "edited.py"
    results = {}
    for size in (8, 32):  # the user edits SIZE between two runs; the function keeps its name
        path.write_text(EDITABLE_MODEL_FILE.replace("SIZE", str(size)))
        model = load_model(f"{path}:build")
        results[size] = extract_layer_rdms(model, stimuli, batch_size=2)  # cached
        fresh = extract_layer_rdms(model, stimuli, batch_size=2, cache=False)
        np.testing.assert_array_equal(results[size].rdms.data, fresh.rdms.data)
    assert not np.allclose(results[8].rdms.data, results[32].rdms.data)


def test_a_model_file_edited_within_the_same_second_runs_its_new_code(tmp_path, monkeypatch):
    """Python's bytecode cache trusts a file's size and whole-second mtime: an edit that keeps both
    (here 16 → 24 channels) must still run the edited code, since the source's hash is recorded."""
    import os
    import sys

    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # as on a machine that writes .pyc files
    path = tmp_path / "same_size.py"
    source = EDITABLE_MODEL_FILE.replace("SIZE", "8").replace("Conv2d(3, 4, 3)", "Conv2d(3, N, 3)")
    widths = []
    for channels in ("16", "24"):
        path.write_text(
            source.replace(", N,", f", {channels},").replace(
                "Linear(16,", f"Linear({4 * int(channels)},"
            )
        )
        os.utime(path, (1_700_000_000, 1_700_000_000))  # the same mtime for both versions
        widths.append(load_model(f"{path}:build").module[0].out_channels)
    assert widths == [16, 24]


def test_model_file_factory_errors(model_file, tmp_path):
    with pytest.raises(BrainAlignError, match="does not exist"):
        load_model(f"{tmp_path / 'absent.py'}:build")
    with pytest.raises(BrainAlignError, match="defines no 'nothing'"):
        load_model(f"{model_file}:nothing")
    with pytest.raises(BrainAlignError, match="must return"):
        load_model(f"{model_file}:not_a_model")
    with pytest.raises(BrainAlignError, match="takes no weights"):
        load_model(f"{model_file}:build_without_options", weights=model_file)


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real installed distribution (dist-info on sys.path) registering `toy_net`."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "brainalign_toy_plugin.py").write_text(MODEL_FILE)
    info = site / "brainalign_toy_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: brainalign-toy-plugin\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(
        "[brainalign.models]\ntoy_net = brainalign_toy_plugin:build\n"
    )
    monkeypatch.syspath_prepend(str(site))
    return "toy_net"


def test_entry_point_plugins_are_listed_and_load(installed_plugin, stimuli):
    cards = {card.id: card for card in list_models()}
    assert cards[installed_plugin].architecture == "ToyNet"
    assert get_card(installed_plugin).family == "CNN"
    assert weights_available(installed_plugin)
    model = load_model(installed_plugin)
    assert model.card.id == installed_plugin and model.layers[-1] == "classifier"
    assert extract_layer_rdms(model, stimuli, cache=False).layers == model.layers
