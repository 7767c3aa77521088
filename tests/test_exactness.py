"""The exactness contract, at the level users see (docs/guide/rsa.md; docs/metrics.md).

Every reported score (comparison ρ, ceilings, brain similarity, probe measures, the bounds of
every interval) is within :data:`~brainalign.results.agreement.TOLERANCE` (1e-6) of a float64
reference computed from the same activations, and every layer-RDM entry within
:func:`rdm_bound` of ``scipy.spatial.distance.pdist`` on those activations in float64 (with the
metric's one rounding rule: distances within ``rsa.ZERO_DISTANCE`` of zero are zero).

The activations are the very ones extraction sees: forward hooks registered before extraction
copy every layer output to float64. The reference RDMs are scipy's; both sets of RDMs then go
through the same benchmark scoring, so any difference in a reported number comes from the RDMs.
Real models: EfficientNet-Lite0 with its ImageNet weights, untrained torchvision ResNet-18 and an
untrained timm ViT (every token, class token included), on a human benchmark (92 images: ceiling,
brain similarity, bootstrap interval) and a small built probe. Near-ties, where a float32 Gram
matrix reorders RDM entries and moves ρ past the tolerance, are planted separately.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from probe_synthetic import build_small_probe
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

from brainalign import rsa
from brainalign.benchmarks import get
from brainalign.benchmarks.probe import SaliencySemanticProbe
from brainalign.models import LoadedModel, extract_layer_rdms, load_model
from brainalign.models.extract import layer_rdm
from brainalign.models.graph import first_tensor, layer_name
from brainalign.results.agreement import TOLERANCE
from brainalign.rsa import LayerRDMs, RDMs

MODELS = (
    "efficientnet_lite0",
    "torchvision:resnet18:untrained",
    "timm:vit_tiny_patch16_224:untrained",
)
HUMAN = "kriegeskorte2008.hIT"


def reference_rdm(features: np.ndarray) -> np.ndarray:
    """scipy's cosine distances of float64 features, distances within rounding of zero zero."""
    with np.errstate(invalid="ignore", divide="ignore"):
        distances = pdist(features.astype(np.float64), "cosine")
    distances[np.abs(distances) <= rsa.ZERO_DISTANCE] = 0.0
    return distances


def rdm_bound(n_features: int) -> float:
    """How far a cosine-distance entry may be from scipy's: two float64 dot products of length
    ``n_features`` (ours from a blocked Gram matrix, scipy's directly) each carry at most
    ``(n_features + 2)·2⁻⁵³`` relative error (the worst-case bound of a recursive sum), and a
    cosine distance is ``1 − x·y/(|x||y|)``."""
    return 2 * (n_features + 2) * 2.0**-53


@contextmanager
def activations(
    model: LoadedModel, names: tuple[str, ...]
) -> Iterator[dict[str, list[np.ndarray]]]:
    """Float64 copies of the named layers' outputs in every forward pass while open (batch
    rows appended in call order, batch axis first, flattened per stimulus)."""
    wanted = {layer.name: layer for layer in model.graph.layers if layer.name in names}
    seen: dict[str, list[np.ndarray]] = defaultdict(list)
    calls: dict[str, int] = {}
    modules = dict(model.module.named_modules())

    def hook(path: str):
        def take(_module, _inputs, output) -> None:
            calls[path] = calls.get(path, 0) + 1
            layer = wanted.get(layer_name(path, calls[path]))
            if layer is not None:
                tensor = first_tensor(output).detach().movedim(layer.batch_axis, 0)
                seen[layer.name].append(tensor.reshape(tensor.shape[0], -1).double().cpu().numpy())

        return take

    handles = [model.module.register_forward_pre_hook(lambda *_: calls.clear())]
    handles += [
        modules[path].register_forward_hook(hook(path))
        for path in dict.fromkeys(layer.module for layer in wanted.values())
    ]
    try:
        yield seen
    finally:
        for handle in handles:
            handle.remove()


def extracted_and_reference(
    model: LoadedModel, stimuli
) -> tuple[LayerRDMs, LayerRDMs, dict[str, int]]:
    """Extraction's layer RDMs, scipy's float64 ones from the same activations (the last pass
    over all stimuli), and each layer's feature count."""
    names = model.select()
    with activations(model, names) as seen:
        ours = extract_layer_rdms(model, stimuli, batch_size=16, cache=False)
    n = len(stimuli)
    features = {name: np.concatenate(seen[name])[-n:] for name in names}
    reference = np.stack([reference_rdm(features[name]) for name in names])
    theirs = LayerRDMs(RDMs(reference, names, stimuli.ids, "cosine"), ours.depths, model.id)
    return ours, theirs, {name: features[name].shape[1] for name in names}


def assert_rdms_within_bound(
    ours: LayerRDMs, theirs: LayerRDMs, n_features: Mapping[str, int]
) -> None:
    for index, name in enumerate(ours.layers):
        a, b = ours.rdms.data[index], theirs.rdms.data[index]
        assert np.array_equal(np.isnan(a), np.isnan(b)), name
        gap = np.nanmax(np.abs(a - b), initial=0.0)
        assert gap <= rdm_bound(n_features[name]), (
            f"{name}: {gap:.3g} > {rdm_bound(n_features[name]):.3g}"
        )


def assert_same_report(ours, theirs, where: str = "") -> None:
    """Every number within TOLERANCE (NaN where the other is NaN), every text equal."""
    if isinstance(ours, pd.DataFrame):
        assert list(ours.columns) == list(theirs.columns) and len(ours) == len(theirs)
        for column in ours.columns:
            assert_same_report(ours[column].tolist(), theirs[column].tolist(), f"{where}.{column}")
    elif isinstance(ours, Mapping):
        assert set(ours) == set(theirs), where
        for key in ours:
            assert_same_report(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs), where
        for index, (a, b) in enumerate(zip(ours, theirs)):
            assert_same_report(a, b, f"{where}[{index}]")
    elif isinstance(ours, float) or isinstance(theirs, float):
        if math.isnan(ours) or math.isnan(theirs):
            assert math.isnan(ours) and math.isnan(theirs), where
        else:
            assert abs(ours - theirs) <= TOLERANCE, f"{where}: {ours!r} vs {theirs!r}"
    else:
        assert ours == theirs, where


@pytest.fixture(scope="module")
def small_probe(tmp_path_factory: pytest.TempPathFactory) -> SaliencySemanticProbe:
    return SaliencySemanticProbe(build_small_probe(tmp_path_factory.mktemp("probe")), n_boot=200)


@pytest.mark.slow
@pytest.mark.parametrize("model_id", MODELS)
def test_reported_scores_equal_a_float64_reference_from_the_same_activations(
    model_id: str, shared_data: Path, small_probe: SaliencySemanticProbe
) -> None:
    model = load_model(model_id)
    human = get(HUMAN)
    references: dict[str, dict[str, LayerRDMs]] = {}
    for benchmark in (human, small_probe):
        ours, theirs = {}, references.setdefault(benchmark.identifier, {})
        for name, stimuli in benchmark.stimulus_sets(shared_data).items():
            ours[name], theirs[name], n_features = extracted_and_reference(model, stimuli)
            assert_rdms_within_bound(ours[name], theirs[name], n_features)
        ours_score = benchmark.score(ours, seed=3, data_dir=shared_data)
        theirs_score = benchmark.score(theirs, seed=3, data_dir=shared_data)
        assert ours_score.summary and len(ours_score.layerwise) > 0
        assert_same_report(
            ours_score.summary, theirs_score.summary, f"{benchmark.identifier} summary"
        )
        assert_same_report(
            ours_score.layerwise, theirs_score.layerwise, f"{benchmark.identifier} layerwise"
        )
    # and the reference itself is scipy's Spearman of scipy's RDMs
    reference = references[human.identifier][human.stimulus_set_name]
    target = (
        human.target_rdms(shared_data).rdms.reorder(reference.rdms.stimulus_ids).data.mean(axis=0)
    )
    layer = reference.rdms.data[len(reference.layers) // 2]
    assert rsa.compare(layer, target, "spearman")[0, 0] == pytest.approx(
        spearmanr(layer, target).statistic, abs=1e-12
    )


def near_tied_features(n_pairs_of_twins: int = 20, n_features: int = 4096) -> np.ndarray:
    """float32 activations where many cosine distances tie to within float32 rounding: each
    stimulus has a twin that is the same vector scaled by 1 + 2⁻¹⁰ (rounded to float32), so its
    distances to every other stimulus equal the original's up to ~1e-8."""
    rng = np.random.default_rng(11)
    base = np.abs(rng.normal(size=(n_pairs_of_twins, n_features))).astype(np.float32)
    twins = (base * np.float32(1 + 2**-10)).astype(np.float32)
    return np.concatenate([base, twins])


def test_near_ties_keep_the_contract_where_a_float32_gram_breaks_it() -> None:
    features = near_tied_features()
    target = np.random.default_rng(5).random(len(features) * (len(features) - 1) // 2)
    reference = reference_rdm(features)
    expected = spearmanr(reference, target).statistic

    ours = layer_rdm(features, "cosine")
    assert np.abs(ours - reference).max() <= rdm_bound(features.shape[1])
    assert abs(rsa.compare(ours, target, "spearman")[0, 0] - expected) <= TOLERANCE

    # the planted case is one the contract is about: float32 arithmetic moves ρ past the tolerance
    gram32 = torch.from_numpy(features) @ torch.from_numpy(features).T
    float32_rdm = rsa.rdm_from_gram(gram32.numpy(), "cosine")
    assert abs(spearmanr(float32_rdm, target).statistic - expected) > TOLERANCE
