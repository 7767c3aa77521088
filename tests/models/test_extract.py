"""Extraction mechanics: memory budget (one pass with the overflow spilled to disk on the CPU,
several passes where spilling is not allowed, early stop), the layer-RDM cache (hits, keys, resume
after an interruption), distances and arguments."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as TF
from models_reference import brute_force_rdm, tiny_net, tiny_preprocess

from brainalign import BrainAlignError
from brainalign.models import extract, extract_layer_rdms, from_module, parse_memory_budget
from brainalign.models import preprocessing as pp
from brainalign.models.cache import LayerRDMCache
from brainalign.models.extract import activation_bytes, plan_groups
from brainalign.progress import is_quiet, set_quiet


@pytest.fixture
def tiny():
    return from_module(tiny_net(), tiny_preprocess(32), layers="all", model_id="tiny")


def _count_calls(module: torch.nn.Module) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, sub in module.named_children():
        sub.register_forward_hook(
            lambda _m, _i, _o, name=name: counts.__setitem__(name, counts.get(name, 0) + 1)
        )
    return counts


@pytest.mark.parametrize("distance", ["cosine", "correlation", "euclidean", "sqeuclidean"])
def test_every_distance_matches_scipy(tiny, stimuli, distance):
    result = extract_layer_rdms(tiny, stimuli, distance=distance, batch_size=2, cache=False)
    assert result.rdms.distance == distance and result.layers == tiny.layers
    assert result.stimulus_ids == stimuli.ids and result.model_id == "tiny"
    for name in tiny.layers:
        layer = tiny.graph[name]
        reference = brute_force_rdm(
            tiny.module, tiny.preprocess, stimuli, layer.module, layer.call, distance
        )
        np.testing.assert_allclose(result.rdms.get(name), reference, rtol=1e-6, atol=1e-6)


@pytest.fixture
def no_spill(monkeypatch):
    """No room to spill: extraction falls back to one forward pass per group that fits the budget."""
    monkeypatch.setattr(extract, "spill_room", lambda folder=None: 0)


def test_groups_fit_the_budget_and_oversized_layers_are_spilled(tiny, stimuli):
    sizes = activation_bytes(tiny, stimuli)
    assert sizes["conv1"] == len(stimuli) * 8 * 32 * 32 * 4
    budget = sizes["conv2"]  # conv1, bn1 and relu are each twice as big
    groups = plan_groups([tiny.graph[n] for n in tiny.layers], sizes, budget)
    for group in groups:
        in_ram = sum(sizes[layer.name] for layer in group.layers if layer.name not in group.spilled)
        assert in_ram <= budget
    assert {name for group in groups for name in group.spilled} == {"conv1", "bn1", "relu"}
    assert [[layer.name for layer in group.layers] for group in groups] == [
        ["conv1", "bn1", "relu", "conv2"],
        ["relu#2"],
        ["pool", "fc"],
    ]


def test_with_room_to_spill_the_overflow_goes_to_disk_in_the_same_pass(tiny, stimuli):
    sizes = activation_bytes(tiny, stimuli)
    budget = sizes["conv2"]
    layers = [tiny.graph[n] for n in tiny.layers]
    (group,) = plan_groups(layers, sizes, budget, spill_room=sum(sizes.values()))
    assert [layer.name for layer in group.layers] == list(tiny.layers)
    assert sum(sizes[n] for n in tiny.layers if n not in group.spilled) <= budget
    # room for only part of the overflow: the rest waits for a second pass
    groups = plan_groups(layers, sizes, budget, spill_room=sizes["conv2"])
    assert len(groups) == 2
    for group in groups:
        spilled = [sizes[name] for name in group.spilled if sizes[name] <= budget]
        assert sum(spilled) <= sizes["conv2"]


@pytest.mark.parametrize("spilling", [True, False], ids=["one pass, spilled", "several passes"])
def test_results_are_bit_identical_whatever_the_budget(tiny, stimuli, monkeypatch, spilling):
    if not spilling:
        monkeypatch.setattr(extract, "spill_room", lambda folder=None: 0)
    for distance in ("cosine", "euclidean"):
        roomy = extract_layer_rdms(tiny, stimuli, distance=distance, batch_size=2, cache=False)
        tight = extract_layer_rdms(
            tiny, stimuli, distance=distance, batch_size=2, memory_budget=1000, cache=False
        )
        np.testing.assert_array_equal(roomy.rdms.data, tight.rdms.data)


def test_one_pass_spills_what_does_not_fit_and_leaves_nothing_behind(
    stimuli, tmp_path, monkeypatch
):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(extract.tempfile, "tempdir", None)  # re-read TMPDIR
    model = from_module(
        tiny_net(), tiny_preprocess(32), layers=["conv1", "bn1", "fc"], model_id="t"
    )
    sizes = activation_bytes(model, stimuli)
    counts = _count_calls(model.module)
    tight = extract_layer_rdms(
        model, stimuli, batch_size=2, memory_budget=sizes["conv1"], cache=False
    )
    assert counts["conv1"] == 3 + 1  # one pass of 3 batches, plus the probe image
    assert list(tmp_path.iterdir()) == []
    roomy = extract_layer_rdms(model, stimuli, batch_size=2, cache=False)
    np.testing.assert_array_equal(tight.rdms.data, roomy.rdms.data)


def test_each_pass_stops_after_the_deepest_layer_it_needs(stimuli, no_spill):
    model = from_module(
        tiny_net(), tiny_preprocess(32), layers=["conv1", "bn1", "fc"], model_id="t"
    )
    sizes = activation_bytes(model, stimuli)
    counts = _count_calls(model.module)
    extract_layer_rdms(model, stimuli, batch_size=2, memory_budget=sizes["conv1"], cache=False)
    n_batches = 3
    # three passes (conv1 | bn1 | fc) plus one probe image: only the last pass reaches fc
    assert counts["conv1"] == 3 * n_batches + 1
    assert counts["bn1"] == 2 * n_batches + 1
    assert counts["fc"] == n_batches + 1
    counts.clear()
    extract_layer_rdms(model, stimuli, batch_size=2, layers=["conv1", "bn1"], cache=False)
    assert counts == {"conv1": n_batches + 1, "bn1": n_batches + 1}  # one pass, stopped after bn1


def test_cache_hits_skip_the_forward_pass(tiny, stimuli):
    first = extract_layer_rdms(tiny, stimuli, batch_size=2)
    counts = _count_calls(tiny.module)
    second = extract_layer_rdms(tiny, stimuli, batch_size=2)
    assert counts == {}
    np.testing.assert_array_equal(first.rdms.data, second.rdms.data)


def test_cache_files_are_plain_npz(tiny, stimuli):
    extract_layer_rdms(tiny, stimuli, batch_size=2, layers=["fc"])
    path = LayerRDMCache(tiny, stimuli, distance="cosine", batch_size=2).path("fc")
    with np.load(path, allow_pickle=False) as data:
        assert str(data["layer"]) == "fc" and data["rdm"].dtype == np.float64
        assert all(data[key].dtype != object for key in data.files)


def test_cache_key_covers_what_changes_the_rdm(tiny, stimuli):
    base = LayerRDMCache(tiny, stimuli, distance="cosine", batch_size=2)
    assert base.key("fc") != base.key("conv1")
    assert base.key("fc") != LayerRDMCache(tiny, stimuli, distance="euclidean", batch_size=2).key(
        "fc"
    )
    assert base.key("fc") != LayerRDMCache(
        tiny, stimuli.subset(stimuli.ids[:4]), distance="cosine", batch_size=2
    ).key("fc")
    other = from_module(tiny_net(seed=1), tiny_preprocess(32), layers="all", model_id="tiny")
    assert base.key("fc") != LayerRDMCache(other, stimuli, distance="cosine", batch_size=2).key(
        "fc"
    )
    resized = from_module(tiny.module, tiny_preprocess(24), layers="all", model_id="tiny")
    assert base.key("fc") != LayerRDMCache(resized, stimuli, distance="cosine", batch_size=2).key(
        "fc"
    )
    assert base.key("fc") == LayerRDMCache(tiny, stimuli, distance="cosine", batch_size=2).key("fc")


def _to_tensor(image):  # a plain function: its repr holds a memory address
    return TF.to_tensor(image)


def _resize_to_tensor(image, size):
    return TF.to_tensor(image.resize((size, size)))


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda size: T.Compose([T.Resize((size, size)), _to_tensor]), id="compose"),
        pytest.param(lambda size: functools.partial(_resize_to_tensor, size=size), id="partial"),
        pytest.param(lambda size: lambda image: _resize_to_tensor(image, size), id="lambda"),
    ],
)
def test_preprocessing_that_prints_alike_is_not_served_from_the_cache(stimuli, make):
    """Transforms whose text cannot tell 8 px from 32 px still get their own cache entries."""
    small = from_module(tiny_net(), make(8), layers=["conv2", "fc"], model_id="tiny")
    large = from_module(tiny_net(), make(32), layers=["conv2", "fc"], model_id="tiny")
    assert pp.describe(small.preprocess) == pp.describe(large.preprocess)  # the trap
    assert small.preprocess_sha256 != large.preprocess_sha256
    keys = [
        LayerRDMCache(m, stimuli, distance="cosine", batch_size=2).key("fc") for m in (small, large)
    ]
    assert keys[0] != keys[1]
    cached_small = extract_layer_rdms(small, stimuli, batch_size=2)
    cached_large = extract_layer_rdms(large, stimuli, batch_size=2)
    fresh_large = extract_layer_rdms(large, stimuli, batch_size=2, cache=False)
    np.testing.assert_array_equal(cached_large.rdms.data, fresh_large.rdms.data)
    assert not np.allclose(cached_small.rdms.data, cached_large.rdms.data)


def test_resizing_the_short_side_and_both_sides_are_different_preprocessing(stimuli):
    short_side = from_module(
        tiny_net(), T.Compose([T.Resize(8), _to_tensor]), layers="all", model_id="t"
    )
    both_sides = from_module(
        tiny_net(), T.Compose([T.Resize((8, 8)), _to_tensor]), layers="all", model_id="t"
    )
    assert short_side.preprocess_sha256 != both_sides.preprocess_sha256
    assert LayerRDMCache(short_side, stimuli, distance="cosine", batch_size=2).key(
        "fc"
    ) != LayerRDMCache(both_sides, stimuli, distance="cosine", batch_size=2).key("fc")


def test_changed_weights_are_not_served_from_the_cache(tiny, stimuli):
    before = extract_layer_rdms(tiny, stimuli, layers=["fc"], batch_size=2)
    with torch.no_grad():
        tiny.module.fc.weight.mul_(-1).add_(0.3)
    after = extract_layer_rdms(tiny, stimuli, layers=["fc"], batch_size=2)
    assert not np.allclose(before.rdms.data, after.rdms.data)


def test_an_interrupted_extraction_resumes_with_the_finished_layers(tiny, stimuli, no_spill):
    budget = activation_bytes(tiny, stimuli)["conv2"]  # passes: conv1…conv2 | relu#2 | pool, fc
    calls = []

    def interrupt(*_):  # Ctrl-C during the last pass (fc's first call is the probe's)
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt

    handle = tiny.module.fc.register_forward_hook(interrupt)
    with pytest.raises(KeyboardInterrupt):
        extract_layer_rdms(tiny, stimuli, batch_size=2, memory_budget=budget)
    handle.remove()
    store = LayerRDMCache(tiny, stimuli, distance="cosine", batch_size=2)
    done = {name for name in tiny.layers if store.get(name) is not None}
    assert done == {"conv1", "bn1", "relu", "conv2", "relu#2"}  # two passes finished, the third not
    counts = _count_calls(tiny.module)
    resumed = extract_layer_rdms(tiny, stimuli, batch_size=2, memory_budget=budget)
    assert counts["conv1"] == 3 + 1  # one pass (and the probe) for the remaining layers only
    fresh = extract_layer_rdms(tiny, stimuli, batch_size=2, cache=False)
    np.testing.assert_array_equal(resumed.rdms.data, fresh.rdms.data)


@pytest.mark.parametrize(
    "damage",
    [lambda data: b"not an npz", lambda data: data[: len(data) // 2]],
    ids=["foreign", "truncated"],
)
def test_a_corrupt_cache_file_is_recomputed(tiny, stimuli, damage):
    first = extract_layer_rdms(tiny, stimuli, layers=["fc"], batch_size=2)
    path = LayerRDMCache(tiny, stimuli, distance="cosine", batch_size=2).path("fc")
    path.write_bytes(damage(path.read_bytes()))
    again = extract_layer_rdms(tiny, stimuli, layers=["fc"], batch_size=2)
    np.testing.assert_array_equal(first.rdms.data, again.rdms.data)
    with np.load(path, allow_pickle=False) as data:
        np.testing.assert_array_equal(data["rdm"], first.rdms.data[0])


def test_policies_and_layer_lists_select_what_is_extracted(tiny, stimuli):
    result = extract_layer_rdms(tiny, stimuli, layers="fc,conv1", cache=False)
    assert result.layers == ("conv1", "fc")
    assert result.depths == (0.0, 1.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2GB", 2 * 10**9),
        ("512 MiB", 512 * 2**20),
        ("1.5g", 1_500_000_000),
        (4096, 4096),
        ("100", 100),
    ],
)
def test_memory_budget_parsing(text, expected):
    assert parse_memory_budget(text) == expected


@pytest.mark.parametrize("text", ["lots", "-1GB", "0", "2 parsecs", True])
def test_memory_budget_errors(text):
    with pytest.raises(BrainAlignError):
        parse_memory_budget(text)


def test_bad_arguments_are_user_errors(tiny, stimuli):
    with pytest.raises(BrainAlignError, match="distance"):
        extract_layer_rdms(tiny, stimuli, distance="manhattan")
    with pytest.raises(BrainAlignError, match="at least 2 stimuli"):
        extract_layer_rdms(tiny, stimuli.subset(stimuli.ids[:1]))
    with pytest.raises(BrainAlignError, match="batch size"):
        extract_layer_rdms(tiny, stimuli, batch_size=0)


def test_progress_bar_goes_to_stderr_unless_quiet(tiny, stimuli, capsys):
    before = is_quiet()
    try:
        set_quiet(False)
        extract_layer_rdms(tiny, stimuli, batch_size=2, cache=False)
        captured = capsys.readouterr()
        assert "tiny pass 1/1" in captured.err and captured.out == ""
        set_quiet(True)
        extract_layer_rdms(tiny, stimuli, batch_size=2, cache=False)
        assert "pass" not in capsys.readouterr().err
    finally:
        set_quiet(before)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_extraction_matches_cpu(stimuli):
    model = from_module(tiny_net(), tiny_preprocess(32), layers="all", model_id="tiny")
    cpu = extract_layer_rdms(model, stimuli, cache=False)
    gpu = extract_layer_rdms(model, stimuli, device="cuda", cache=False)
    np.testing.assert_allclose(gpu.rdms.data, cpu.rdms.data, atol=1e-5)
    assert next(model.module.parameters()).device.type == "cpu"  # moved back for the caller
