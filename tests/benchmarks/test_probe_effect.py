"""The real effect on the default probe: ImageNet training raises semantic encoding.

Slow: runs EfficientNet-Lite0, pretrained and untrained, on the real default probe's 200 Baseline
images (the probe is built once per test run, from Debian's tuxpaint-stamps-default, by the
``real_default_probe`` fixture that tests/probe/test_pinned.py shares).
"""

from __future__ import annotations

import pytest

from brainalign.benchmarks.probe import score_layers
from brainalign.probe import CONDITIONS


@pytest.mark.slow
def test_pretrained_efficientnet_lite0_encodes_semantics_better_than_untrained(
    real_default_probe,
) -> None:
    from brainalign.models import extract_layer_rdms, load_model

    probe, _ = real_default_probe
    assert probe.manifest["pool"]["kind"] == "tuxpaint"  # not the bundled fallback: too small
    baseline = probe.stimulus_set("Baseline")
    targets = probe.targets()
    encoding = {}
    for model_id in ("efficientnet_lite0", "efficientnet_lite0:untrained"):
        layers = extract_layer_rdms(load_model(model_id), baseline)
        # semantic encoding reads the Baseline condition only, so the other conditions may
        # repeat it (their sensitivities are then zero and not looked at)
        score = score_layers(
            {c: layers for c in CONDITIONS}, targets, probe.base_ids, n_boot=300, seed=0
        )
        encoding[model_id] = score.summary["semantic_encoding"]
    trained, untrained = encoding["efficientnet_lite0"], encoding["efficientnet_lite0:untrained"]
    assert trained["ci_low"] > untrained["ci_high"], encoding
