"""The real effect on the default probe: ImageNet training raises semantic encoding.

Slow: builds the default probe (downloads Debian's tuxpaint-stamps-default, about 160 MB, once
per cache) and runs EfficientNet-Lite0, pretrained and untrained, on its 200 Baseline images.
"""

from __future__ import annotations

import os

import pytest

from brainalign.benchmarks.probe import score_layers
from brainalign.errors import BrainAlignError
from brainalign.probe import CONDITIONS, default_probe


def unavailable(reason: str) -> None:
    """Skip where the stamps cannot be had; fail in CI (BRAINALIGN_REQUIRE_DATA), where apt works."""
    if os.environ.get("BRAINALIGN_REQUIRE_DATA", "") not in ("", "0"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.mark.slow
def test_pretrained_efficientnet_lite0_encodes_semantics_better_than_untrained() -> None:
    from brainalign.models import extract_layer_rdms, load_model

    try:
        probe = default_probe()
    except BrainAlignError as err:  # no apt-get and no bundled photos: nothing to build from
        unavailable(f"default probe cannot be built here: {err}")
    if probe.manifest["pool"]["kind"] != "tuxpaint":
        unavailable("the Tux Paint stamps are not available; the bundled fallback is too small")
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
