"""Layer names, order, depth, policies, and the conventions for repeated calls, in-place ops,
sequence-first outputs and class tokens, checked on small networks against brute force."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from models_reference import brute_force_rdm, per_image_features, tiny_net, tiny_preprocess
from scipy.spatial.distance import pdist
from torch import nn

from brainalign import BrainAlignError
from brainalign.models import extract_layer_rdms, from_module


def test_each_call_of_a_shared_module_is_its_own_layer(stimuli):
    model = from_module(tiny_net(), tiny_preprocess(), layers="all", model_id="tiny")
    assert model.layers == ("conv1", "bn1", "relu", "conv2", "relu#2", "pool", "fc")
    result = extract_layer_rdms(model, stimuli, cache=False)
    for name, call in (("relu", 1), ("relu#2", 2)):
        reference = brute_force_rdm(model.module, model.preprocess, stimuli, "relu", call)
        np.testing.assert_allclose(result.rdms.get(name), reference, atol=1e-6)
    # the two calls really differ: a test that mixed them up would fail
    assert not np.allclose(result.rdms.get("relu"), result.rdms.get("relu#2"))


def test_outputs_changed_in_place_later_are_captured_as_they_were(stimuli):
    """bn1's output is overwritten by the in-place ReLU; its layer must still hold BN values."""
    model = from_module(tiny_net(), tiny_preprocess(), layers=["bn1", "relu"], model_id="tiny")
    result = extract_layer_rdms(model, stimuli, cache=False)
    features = per_image_features(model.module, model.preprocess, stimuli, "conv1")
    bn = model.module.bn1
    with torch.no_grad():
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        shift = (bn.bias - bn.running_mean * scale).double().numpy()
        scale = scale.double().numpy()
    normalised = features.reshape(len(stimuli), 8, -1) * scale[None, :, None] + shift[None, :, None]
    np.testing.assert_allclose(
        result.rdms.get("bn1"), pdist(normalised.reshape(len(stimuli), -1), "cosine"), atol=1e-6
    )
    assert (normalised < 0).any()  # so the ReLU did change the tensor in place
    np.testing.assert_allclose(
        result.rdms.get("relu"),
        pdist(np.maximum(normalised, 0).reshape(len(stimuli), -1), "cosine"),
        atol=1e-6,
    )


def test_depths_follow_leaf_execution_order():
    model = from_module(tiny_net(), tiny_preprocess(), layers="all", model_id="tiny")
    assert model.depths == pytest.approx((0, 1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1))
    orders = [model.graph[name].order for name in model.layers]
    assert orders == sorted(orders)


def test_explicit_layers_are_returned_in_execution_order_and_validated():
    model = from_module(
        tiny_net(), tiny_preprocess(), layers=["fc", "conv1", "relu#2"], model_id="t"
    )
    assert model.layers == ("conv1", "relu#2", "fc")
    with pytest.raises(BrainAlignError, match="did you mean conv1"):
        model.with_layers(["conv_1"])
    with pytest.raises(BrainAlignError, match=r"unknown layer policy|no layer"):
        model.with_layers("everything")


class _Head(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten())
        self.scale = nn.Parameter(torch.tensor(2.0))

    def forward(self, x):
        return self.body(x) * self.scale  # a new tensor made by the network itself


def test_network_output_is_a_layer_or_an_alias_of_the_last_module():
    alias = from_module(tiny_net(), tiny_preprocess(), layers="all", model_id="t")
    assert alias.graph.output == "fc" and "output" not in alias.graph.names
    assert alias.graph["output"].name == "fc"
    own = from_module(_Head(), tiny_preprocess(), layers="all", model_id="h")
    assert own.graph.output == "output" and own.layers[-1] == "output"
    assert own.depths[-1] == 1.0


class _NamedOutput(nn.Module):
    """A head literally named ``output``, returned as it is or scaled by the network."""

    def __init__(self, scale: float | None) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.features = nn.Sequential(
            nn.Conv2d(3, 4, 3, stride=2), nn.AdaptiveAvgPool2d(2), nn.Flatten()
        )
        self.output = nn.Linear(16, 6)
        self.scale = scale

    def forward(self, x):
        y = self.output(self.features(x))
        return y if self.scale is None else torch.tanh(y * self.scale)


def test_a_sub_module_named_output_never_shadows_the_network_output(stimuli):
    # returned as it is: `output` is both the Linear and the network's output, one layer
    plain = from_module(_NamedOutput(None), tiny_preprocess(16), layers="all", model_id="p")
    assert plain.layers[-1] == "output" and plain.graph.names.count("output") == 1
    result = extract_layer_rdms(plain, stimuli, cache=False)
    np.testing.assert_allclose(
        result.rdms.get("output"),
        brute_force_rdm(plain.module, plain.preprocess, stimuli, "output"),
        atol=1e-6,
    )
    # transformed by the network: two different layers would share the name, so it is refused
    with pytest.raises(BrainAlignError, match=r"sub-module named 'output'.*Sequential"):
        from_module(_NamedOutput(3.0), tiny_preprocess(16), layers="all", model_id="s")
    # and the advice works: wrapped, the Linear and the network output are separate layers
    wrapped = from_module(
        nn.Sequential(_NamedOutput(3.0)), tiny_preprocess(16), layers="all", model_id="w"
    )
    assert wrapped.layers[-2:] == ("0.output", "0") and wrapped.graph.output == "0"
    assert len(set(wrapped.graph.names)) == len(wrapped.graph.names)
    result = extract_layer_rdms(wrapped, stimuli, cache=False)
    for name, module_path in (("0.output", "0.output"), ("0", "")):
        np.testing.assert_allclose(
            result.rdms.get(name),
            brute_force_rdm(wrapped.module, wrapped.preprocess, stimuli, module_path),
            atol=1e-6,
        )
    assert not np.allclose(result.rdms.get("0.output"), result.rdms.get("0"))


def test_output_alias_passes_identities_but_not_in_place_changes():
    through = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(0, 0), nn.Identity())
    assert from_module(through, tiny_preprocess(8), model_id="i").graph.output == "0"
    in_place = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True))
    assert from_module(in_place, tiny_preprocess(8), model_id="r").graph.output == "1"


class _WithConstant(nn.Module):
    """Has a module whose output does not depend on the batch (a positional table)."""

    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Embedding(4, 3)
        self.conv = nn.Conv2d(3, 2, 1)

    def forward(self, x):
        bias = self.table(torch.arange(3))  # (3, 3): no batch axis
        return self.conv(x) + bias.sum()


def test_outputs_without_a_batch_axis_are_not_layers():
    model = from_module(_WithConstant(), tiny_preprocess(8), layers="all", model_id="c")
    assert "table" not in model.graph.names
    assert "conv" in model.graph.names


class _SequenceFirst(nn.Module):
    """Patch tokens, then a sequence-first (tokens, batch, dim) attention and MLP."""

    def __init__(self) -> None:
        super().__init__()
        self.patches = nn.Conv2d(3, 16, 8, stride=8)
        self.attn = nn.MultiheadAttention(16, 2)  # batch_first=False: (L, N, D)
        self.mlp = nn.Linear(16, 16)

    def forward(self, x):
        tokens = self.patches(x).flatten(2).permute(2, 0, 1)  # (L, N, D)
        mixed = self.attn(tokens, tokens, tokens, need_weights=False)[0]
        return self.mlp(mixed).mean(0)


def test_sequence_first_outputs_are_moved_to_batch_first(stimuli):
    torch.manual_seed(0)
    model = from_module(_SequenceFirst(), tiny_preprocess(32), layers=["attn", "mlp"], model_id="s")
    assert model.graph["attn"].batch_axis == 1 and model.graph["mlp"].batch_axis == 1
    result = extract_layer_rdms(model, stimuli, batch_size=3, cache=False)
    for name in ("attn", "mlp"):
        reference = brute_force_rdm(model.module, model.preprocess, stimuli, name)
        np.testing.assert_allclose(result.rdms.get(name), reference, atol=1e-6)
        # flattening (L, N, D) as if N came first mixes stimuli: the reference must catch that
        with torch.no_grad():
            batch = torch.stack([model.preprocess(stimuli.load(i)) for i in stimuli.ids])
            seen = []
            handle = dict(model.module.named_modules())[name].register_forward_hook(
                lambda _m, _i, o, seen=seen: seen.append(
                    (o[0] if isinstance(o, tuple) else o).clone()
                )
            )
            model.module(batch)
            handle.remove()
        wrong = seen[0].reshape(len(stimuli), -1).double().numpy()
        assert not np.allclose(pdist(wrong, "cosine"), reference, atol=1e-3)


def _open_clip_vit(batch_first: bool, state: dict | None = None):
    from open_clip.transformer import Transformer, VisionTransformer

    torch.manual_seed(1)
    vit = VisionTransformer(
        image_size=32, patch_size=8, width=32, layers=2, heads=4, mlp_ratio=2.0, output_dim=16
    )
    vit.transformer = Transformer(32, 2, 4, 2.0, batch_first=batch_first)
    if state is not None:
        vit.load_state_dict(state)
    return vit.eval()


def test_open_clip_sequence_first_transformer_gives_the_batch_first_rdms(stimuli):
    """open_clip runs its transformer (tokens, batch, dim) when batch_first=False: the layer RDMs
    must equal those of the same weights run batch-first, and the per-image brute force."""
    batch_first = _open_clip_vit(True)
    sequence_first = _open_clip_vit(False, batch_first.state_dict())
    layers = ["transformer.resblocks.0.attn", "transformer.resblocks.1", "output"]
    results = {}
    for label, module in (("batch_first", batch_first), ("sequence_first", sequence_first)):
        model = from_module(module, tiny_preprocess(32), layers=layers, model_id=label)
        results[label] = extract_layer_rdms(model, stimuli, batch_size=2, cache=False)
        axis = model.graph["transformer.resblocks.1"].batch_axis
        assert axis == (0 if label == "batch_first" else 1)
    for name in layers:
        reference = brute_force_rdm(
            batch_first, tiny_preprocess(32), stimuli, name.replace("output", "")
        )
        np.testing.assert_allclose(results["batch_first"].rdms.get(name), reference, atol=1e-6)
        np.testing.assert_allclose(results["sequence_first"].rdms.get(name), reference, atol=1e-6)


def test_transformer_layers_keep_every_token_class_token_included(stimuli):
    vit = _open_clip_vit(True)
    model = from_module(vit, tiny_preprocess(32), layers=["transformer.resblocks.1"], model_id="v")
    result = extract_layer_rdms(model, stimuli, cache=False).rdms.get("transformer.resblocks.1")
    tokens = per_image_features(vit, tiny_preprocess(32), stimuli, "transformer.resblocks.1")
    tokens = tokens.reshape(len(stimuli), 4 * 4 + 1, 32)  # 16 patches + the class token
    np.testing.assert_allclose(result, pdist(tokens.reshape(len(stimuli), -1), "cosine"), atol=1e-6)
    assert not np.allclose(
        result, pdist(tokens[:, 1:].reshape(len(stimuli), -1), "cosine"), atol=1e-6
    )


def test_all_policy_keeps_leaf_calls_of_the_studied_kinds():
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3),
        nn.GroupNorm(2, 4),
        nn.GELU(),
        nn.Dropout(0.1),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Identity(),
        nn.Linear(4 * 7 * 7, 5),
    )
    model = from_module(net, tiny_preprocess(16), layers="all", model_id="kinds")
    assert model.layers == ("0", "1", "2", "4", "7")  # dropout, flatten, identity are not kinds
    assert [model.graph[n].kind for n in model.layers] == [
        "convolution",
        "normalisation",
        "activation",
        "pooling",
        "linear",
    ]


def test_blocks_policy_without_blocks_falls_back_to_all():
    model = from_module(tiny_net(), tiny_preprocess(), layers="blocks", model_id="t")
    assert model.layers == model.graph.policy("all")
