"""A metric from outside the package: the example under tests/metric_plugin_example (one module,
one entry point in the group ``brainalign.metrics``) is installed with pip into a folder of this
test's own; in subprocesses with that folder on PYTHONPATH a spec file chooses it by name and
`brainalign score` scores with it, and it gives the numbers of the same comparison built in
(classical RSA with Pearson's r), interval included. The registry's refusals are checked here too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from plugin_install import pip_install_copy
from scipy.spatial.distance import pdist, squareform

from brainalign import BrainAlignError
from brainalign.benchmarks import metric_registry

PACKAGE = Path(__file__).resolve().parents[1] / "metric_plugin_example"
N_IMAGES, N_SUBJECTS = 12, 5
#: A benchmark of stimuli + RDMs that chooses the plugin's metric: 8 lines.
SPEC = """\
title = "Toy lab: shape judgements, Pearson RSA"
citation = "@misc{toylab2026, title = {Shape judgements}, year = {2026}}"
stimuli = "images"
metric = "pearson_rsa"
[target]
kind = "behaviour"
format = "npy"
rdms = "judgements.npy"
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = pip_install_copy(PACKAGE, tmp_path_factory.mktemp("metric_plugin"))
    return target


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 images; 5 subjects whose judgements are the pixels' cosine distances plus noise."""
    folder = tmp_path_factory.mktemp("data")
    (folder / "images").mkdir()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (N_IMAGES, 16, 16, 3), dtype=np.uint8)
    for k, image in enumerate(images):
        Image.fromarray(image).save(folder / "images" / f"shape{k + 1:02d}.png")
    pixels = pdist(images.reshape(N_IMAGES, -1).astype(np.float64), "cosine")
    np.save(
        folder / "judgements.npy",
        np.stack(
            [
                squareform(pixels + rng.normal(0, 0.3 * pixels.std(), pixels.size))
                for _ in range(N_SUBJECTS)
            ]
        ),
    )
    (folder / "shapes.toml").write_text(SPEC)
    return folder / "shapes.toml"


def run(site: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
        "BRAINALIGN_QUIET": "1",
    }
    return subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, env=env, check=False
    )


def test_a_spec_file_scores_with_an_installed_metric(
    installed: Path, spec: Path, tmp_path: Path
) -> None:
    assert len(SPEC.splitlines()) <= 10
    results = tmp_path / "results"
    scored = run(
        installed, "-m", "brainalign.cli", "score", "pixels", str(spec), "--results", str(results)
    )
    assert scored.returncode == 0, scored.stdout + scored.stderr
    (stored,) = results.glob("pixels/*.json")
    result = json.loads(stored.read_text())
    assert result["provenance"]["benchmark"]["metric_id"] == "pearson_rsa@1"
    assert (
        "Metric pearson_rsa@1: Pearson's r between" in result["provenance"]["benchmark"]["metric"]
    )
    brain = result["summary"]["brain_similarity"]
    assert (
        brain["value"] > 0.5 and brain["ci_low"] < brain["value"] < brain["ci_high"]
    )  # planted: pixels
    assert (
        run(
            Path("/nonexistent"),
            "-m",
            "brainalign.cli",
            "score",
            "pixels",
            str(spec),
            "--results",
            str(tmp_path / "other"),
        ).returncode
        == 2
    )  # not installed there: one error


def test_the_installed_metric_gives_the_built_in_pearson_numbers(installed: Path) -> None:
    """The plugin's Pearson RSA, scored the way every metric is (bootstrap by re-scoring its
    table on draw counts), equals classical RSA with Pearson's r (rsa.inference's bootstrap)."""
    script = textwrap.dedent("""
        import json
        import numpy as np
        from brainalign.benchmarks.metric_registry import get_metric
        from brainalign.benchmarks.scoring import score_metric, score_target
        from brainalign.rsa import LayerRDMs, RDMs, TargetRDMs

        rng = np.random.default_rng(3)
        ids = [f"s{i:02d}" for i in range(20)]
        shared = rng.random(190)
        target = TargetRDMs.from_subjects("roi", RDMs(np.stack([shared + rng.normal(0, 0.3, 190) for _ in range(6)]),
                                                      [f"p{k}" for k in range(6)], ids), method="pearson")
        layers = LayerRDMs(RDMs(np.stack([shared + rng.normal(0, s, 190) for s in (2, 1, 0.5)]), ["a", "b", "c"],
                                ids), (0.0, 0.5, 1.0))
        plugin = score_metric(layers, target, get_metric("pearson_rsa@1"), n_boot=200, seed=1, n_permutations=50)
        built_in = score_target(layers, target, method="pearson", n_boot=200, seed=1, n_permutations=50)
        print(json.dumps([plugin.summary(), built_in.summary()]))
    """)
    done = run(installed, "-c", script)
    assert done.returncode == 0, done.stderr
    plugin, built_in = json.loads(done.stdout)
    for key in ("value", "ci_low", "ci_high", "subjects_ci_low", "subjects_ci_high", "normalised"):
        assert plugin["brain_similarity"][key] == pytest.approx(
            built_in["brain_similarity"][key], abs=1e-12
        )
    for key in ("lower", "upper"):
        assert plugin["noise_ceiling"][key] == built_in["noise_ceiling"][key]


class Duplicate:
    name, version, layers_as = "twice", 1, "rdms"
    definition = resampling = "a metric two packages register"


def test_a_plugin_never_answers_for_a_built_in_name_and_a_name_claimed_twice_is_refused(
    monkeypatch, caplog
) -> None:
    points = [
        EntryPoint("mine", "brainalign.metrics:ClassicalRSA", metric_registry.ENTRY_POINT_GROUP),
        EntryPoint("one", f"{__name__}:Duplicate", metric_registry.ENTRY_POINT_GROUP),
        EntryPoint("two", f"{__name__}:Duplicate", metric_registry.ENTRY_POINT_GROUP),
        EntryPoint("broken", "no_such_module_anywhere:Metric", metric_registry.ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr(metric_registry, "entry_points", lambda group: points)
    metric_registry.refresh()
    try:
        found = metric_registry.all_metrics()
        assert set(found) == {"rsa", "wrsa", "cka", "encoding"}  # the built-ins, and nothing else
        assert found["rsa"] is metric_registry.METRICS["rsa"]
        text = caplog.text
        assert "a name of brainalign's own: refused" in text and "'twice' is registered by" in text
        assert "no_such_module_anywhere" in text
        with pytest.raises(BrainAlignError, match="unknown metric 'twice'"):
            metric_registry.get_metric("twice")
        with pytest.raises(BrainAlignError, match="has wrsa@1 only"):
            metric_registry.get_metric("wrsa@7")
    finally:
        metric_registry.refresh()
