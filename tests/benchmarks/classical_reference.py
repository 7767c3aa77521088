"""The classical-RSA numbers of the human benchmarks, recorded so that a change of how benchmarks
are built can be checked against what the code gave before it (to 1e-12).

``python -m tests.benchmarks.classical_reference`` (with BRAINALIGN_DATA set) extracts the layer
RDMs of six layers of efficientnet_lite0 on the two 92-image stimulus sets, stores them in
``tests/fixtures/classical_rsa/layers.npz`` and the scores of every version of the 92-image human
benchmarks (and of a one-subject target, scored over stimulus halves) in ``scores.json``.
The test (test_classical_reference.py) scores the stored layer RDMs again and compares."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.benchmarks import get
from brainalign.benchmarks.base import BenchmarkScore
from brainalign.rsa import LayerRDMs, RDMs

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "classical_rsa"
BENCHMARKS = tuple(
    f"{base}@{version}"
    for base in (
        "algonauts2019.92images.EVC",
        "algonauts2019.92images.IT",
        "kriegeskorte2008.hIT",
        "mur2013.judgements",
    )
    for version in (1, 2)
)
#: The one-subject case: the first subject of this benchmark's target, scored on its own.
SINGLE_SUBJECT = "mur2013.judgements@2"
LAYERS = 6
SAMPLES_KEPT = (
    25  # bootstrap samples recorded per factor (the first ones; their sum covers the rest)
)


def _plain(value: Any) -> Any:
    return value.tolist() if isinstance(value, np.ndarray) else float(value)


def record(score: BenchmarkScore) -> dict[str, Any]:
    """What a result holds of a score, as JSON (bootstrap samples cut to their start and sum)."""
    extra = json.loads(json.dumps(score.extra, default=_plain))
    samples = extra.get("resamples", {}).get("samples", {})
    for measure, factors in samples.items():
        samples[measure] = {
            k: {"first": v[:SAMPLES_KEPT], "sum": float(np.sum(v))} for k, v in factors.items()
        }
    frame = score.layerwise
    return {
        "benchmark": score.benchmark,
        "summary": json.loads(json.dumps(score.summary, default=_plain)),
        "extra": extra,
        "layerwise": {
            "layer": frame["layer"].tolist(),
            "subject": frame["subject"].tolist(),
            "value": frame["value"].tolist(),
        },
    }


def load_layers() -> dict[str, LayerRDMs]:
    stored = np.load(FIXTURE / "layers.npz")
    meta = json.loads((FIXTURE / "layers.json").read_text())
    return {
        name: LayerRDMs(
            RDMs(stored[name], tuple(m["layers"]), tuple(m["stimulus_ids"]), m["distance"]),
            tuple(m["depths"]),
            m["model_id"],
        )
        for name, m in meta.items()
    }


def main() -> None:  # pragma: no cover - run by hand, once, with the code the fixture records
    import os

    from brainalign.models import extract_layer_rdms, load_model

    data = Path(os.environ["BRAINALIGN_DATA"])
    if (FIXTURE / "layers.npz").is_file():
        scores = score_all(load_layers(), data)
        (FIXTURE / "scores.json").write_text(json.dumps(scores, indent=1, sort_keys=True))
        return
    model = load_model("efficientnet_lite0")
    layers: dict[str, LayerRDMs] = {}
    for identifier in BENCHMARKS:
        ((name, stimuli),) = get(identifier).stimulus_sets(data).items()
        if name not in layers:
            full = extract_layer_rdms(model, stimuli, batch_size=23, cache=False)
            keep = np.linspace(0, len(full.layers) - 1, LAYERS).round().astype(int)
            layers[name] = LayerRDMs(
                full.rdms.select([full.layers[i] for i in keep]),
                tuple(full.depths[i] for i in keep),
                full.model_id,
            )
    FIXTURE.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        FIXTURE / "layers.npz", **{n: layer.rdms.data for n, layer in layers.items()}
    )
    (FIXTURE / "layers.json").write_text(
        json.dumps(
            {
                n: {
                    "layers": list(layer.layers),
                    "depths": list(layer.depths),
                    "stimulus_ids": list(layer.rdms.stimulus_ids),
                    "distance": layer.rdms.distance,
                    "model_id": layer.model_id,
                }
                for n, layer in layers.items()
            },
            indent=1,
        )
    )
    scores = score_all(load_layers(), data)
    (FIXTURE / "scores.json").write_text(json.dumps(scores, indent=1, sort_keys=True))


def score_all(layers: dict[str, LayerRDMs], data: Path) -> dict[str, Any]:
    from brainalign.benchmarks.scoring import benchmark_score, score_target
    from brainalign.rsa import TargetRDMs

    scores = {
        identifier: record(get(identifier).score(layers, seed=0, data_dir=data))
        for identifier in BENCHMARKS
    }
    benchmark = get(SINGLE_SUBJECT)
    target = benchmark.target_rdms(data)
    one = TargetRDMs.from_subjects(target.name, target.rdms.select([target.subjects[0]]))
    (name,) = benchmark.stimulus_sets(data)
    scores["single-subject"] = record(
        benchmark_score("single", score_target(layers[name], one, seed=0))
    )
    return scores


if __name__ == "__main__":
    main()
