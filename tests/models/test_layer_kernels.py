"""Layers as kernels: extraction hands the metrics each layer's uncentred float64 Gram matrix
from the same forward pass as its RDM (or, above metrics.kernels.SMALL stimuli, a count sketch),
cached beside the RDM under the same key, so a metric after classical RSA needs no second pass."""

from __future__ import annotations

import numpy as np
import pytest
from models_reference import brute_force_rdm, per_image_features, tiny_net, tiny_preprocess

from brainalign.metrics import sketch
from brainalign.models import extract, extract_layer_rdms, extract_layers, from_module


@pytest.fixture
def tiny():
    return from_module(tiny_net(), tiny_preprocess(32), layers="all", model_id="tiny")


def _count_forward(model) -> list[int]:
    calls = [0]
    model.module.register_forward_pre_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


def test_kernels_are_the_gram_matrices_of_the_layers_and_the_rdms_unchanged(tiny, stimuli) -> None:
    rdms, kernels = extract_layers(tiny, stimuli, distance="correlation", batch_size=2, cache=False)
    assert kernels.names == rdms.layers and kernels.depths == rdms.depths
    assert kernels.stimulus_ids == stimuli.ids and kernels.model_id == "tiny"
    alone = extract_layer_rdms(tiny, stimuli, distance="correlation", batch_size=2, cache=False)
    np.testing.assert_array_equal(rdms.rdms.data, alone.rdms.data)  # the same numbers, bit for bit
    for name, kernel in zip(kernels.names, kernels.kernels):
        layer = tiny.graph[name]
        features = per_image_features(
            tiny.module, tiny.preprocess, stimuli, layer.module, layer.call
        )
        features = features.astype(np.float64)
        assert kernel.gram_matrix is not None
        np.testing.assert_allclose(
            kernel.gram_matrix, features @ features.T, rtol=1e-6
        )  # float32 forward
        np.testing.assert_allclose(
            rdms.rdms.get(name),
            brute_force_rdm(
                tiny.module, tiny.preprocess, stimuli, layer.module, layer.call, "correlation"
            ),
            rtol=1e-6,
            atol=1e-6,
        )


def test_kernels_are_cached_beside_the_rdms_so_a_metric_after_rsa_needs_no_second_pass(
    tiny, stimuli
) -> None:
    calls = _count_forward(tiny)
    first = extract_layer_rdms(tiny, stimuli, batch_size=2)  # what classical RSA extracts
    passes = calls[0]
    assert passes > 0
    rdms, kernels = extract_layers(tiny, stimuli, batch_size=2)  # a metric on kernels, later
    assert calls[0] == passes  # nothing ran again: Gram matrices were cached with the RDMs
    np.testing.assert_array_equal(rdms.rdms.data, first.rdms.data)
    fresh = extract_layers(tiny, stimuli, batch_size=2, cache=False)[1]
    for cached, computed in zip(kernels.kernels, fresh.kernels):
        np.testing.assert_array_equal(cached.gram_matrix, computed.gram_matrix)
    other = extract_layers(tiny, stimuli, distance="euclidean", batch_size=2)[1]  # same kernel key
    assert calls[0] > passes  # the euclidean RDMs had to be computed
    np.testing.assert_array_equal(other.kernels[0].gram_matrix, fresh.kernels[0].gram_matrix)


def test_above_small_a_seeded_count_sketch_stands_for_the_gram_matrix(
    tiny, stimuli, monkeypatch
) -> None:
    monkeypatch.setattr(extract, "SMALL", 2)  # every stimulus set is "large"
    monkeypatch.setattr(extract, "SKETCH_DIMENSIONS", 64)
    _, kernels = extract_layers(tiny, stimuli, batch_size=2, layers=["conv2", "fc"])
    again = extract_layers(tiny, stimuli, batch_size=2, layers=["conv2", "fc"], cache=False)[1]
    for name, kernel, repeat in zip(kernels.names, kernels.kernels, again.kernels):
        assert kernel.gram_matrix is None and kernel.features.shape == (len(stimuli), 64)
        np.testing.assert_array_equal(kernel.features, repeat.features)  # seeded: the same sketch
        layer = tiny.graph[name]
        features = per_image_features(
            tiny.module, tiny.preprocess, stimuli, layer.module, layer.call
        )
        expected = sketch(features.astype(np.float64), 0, 64, extract.sketch_seed("tiny", name))
        np.testing.assert_allclose(
            kernel.features, expected, rtol=1e-5, atol=1e-6
        )  # however blocked


def test_a_kernel_benchmark_refuses_layer_rdms(tiny, stimuli) -> None:
    from brainalign import BrainAlignError
    from brainalign.benchmarks import get

    benchmark = get("algonauts2019.92images.IT.cka")
    assert benchmark.layers_as == "kernels" and benchmark.metric_id == "cka@1"
    rdms = extract_layer_rdms(tiny, stimuli, batch_size=2, cache=False)
    with pytest.raises(BrainAlignError, match="scores layer kernels"):
        benchmark.score({benchmark.stimulus_set_name: rdms})
