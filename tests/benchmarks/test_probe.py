"""probe.saliency_semantic@2: scores checked against scipy on planted layer RDMs, the summaries'
definitions, determinism, and the benchmark end to end on a small built probe."""

from __future__ import annotations

import dataclasses
import importlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from probe_synthetic import BagOfWordsEmbedder, make_stamps
from scipy.stats import spearmanr

from brainalign import rsa
from brainalign.benchmarks import LAYERWISE_COLUMNS, get
from brainalign.benchmarks.probe import SaliencySemanticProbe, score_layers
from brainalign.errors import BrainAlignError
from brainalign.probe import (
    CONDITIONS,
    BuildSettings,
    ProbeFolder,
    ThresholdQuantiles,
    TuxPaintPool,
    build_probe,
    default_probe,
)
from brainalign.rsa import RDMs

default_module = importlib.import_module("brainalign.probe.default")

N = 14
IDS = tuple(f"s{i:02d}" for i in range(N))
LAYERS = ("conv1", "block2", "block5", "head")
DEPTHS = (0.1, 0.3, 0.7, 1.0)


def _planted():
    """Targets, and layers whose RDMs are known mixtures of them plus noise, per condition.

    Baseline: conv1 = saliency, block2 = saliency + noise, block5 = semantic + noise,
    head = semantic. Distractor conditions add condition-specific noise to every layer, most to
    the salient ones, so ΔRSA is negative and largest in magnitude for Semantic_Salient."""
    rng = np.random.default_rng(7)
    pairs = N * (N - 1) // 2
    saliency, semantic = rng.random(pairs), rng.random(pairs)
    base = np.stack(
        [saliency, saliency + 0.5 * rng.random(pairs), semantic + 0.5 * rng.random(pairs), semantic]
    )
    amounts = {
        "Baseline": 0.0,
        "Control": 0.2,
        "Salient": 1.0,
        "Semantic": 0.4,
        "Semantic_Salient": 2.0,
    }
    layers = {}
    for condition, amount in amounts.items():
        data = base + amount * rng.random(base.shape)
        layers[condition] = rsa.LayerRDMs(RDMs(data, LAYERS, IDS, "cosine"), DEPTHS, "planted")
    return {"saliency": saliency, "semantic": semantic}, layers


def test_layerwise_rho_and_delta_match_scipy() -> None:
    targets, layers = _planted()
    score = score_layers(layers, targets, IDS, n_boot=50, seed=1)
    table = score.layerwise
    assert tuple(table.columns) == LAYERWISE_COLUMNS
    assert len(table) == len(LAYERS) * 2 * (len(CONDITIONS) + 4)
    assert set(table["subject"]) == {""}
    for condition in CONDITIONS:
        for target in ("saliency", "semantic"):
            for index, layer in enumerate(LAYERS):
                row = table[
                    (table.condition == condition)
                    & (table.target == target)
                    & (table.layer == layer)
                ]
                expected = spearmanr(layers[condition].rdms.data[index], targets[target]).statistic
                assert row["value"].item() == pytest.approx(expected, abs=1e-12)
                assert row["depth"].item() == DEPTHS[index] and row["layer_index"].item() == index
                if condition != "Baseline":
                    base = spearmanr(layers["Baseline"].rdms.data[index], targets[target]).statistic
                    delta = table[
                        (table.condition == f"delta.{condition}")
                        & (table.target == target)
                        & (table.layer == layer)
                    ]
                    assert delta["value"].item() == pytest.approx(expected - base, abs=1e-12)
    assert (table["ci_low"] <= table["value"] + 1e-12).all() and (
        table["value"] <= table["ci_high"] + 1e-12
    ).all()


def test_summaries_follow_their_definitions() -> None:
    targets, layers = _planted()
    summary = score_layers(layers, targets, IDS, n_boot=50, seed=1).summary
    rho = {
        c: np.array(
            [
                [
                    spearmanr(layers[c].rdms.data[i], targets[t]).statistic
                    for t in ("saliency", "semantic")
                ]
                for i in range(len(LAYERS))
            ]
        )
        for c in CONDITIONS
    }
    assert summary["semantic_encoding"]["layer"] == "head"
    assert summary["semantic_encoding"]["value"] == pytest.approx(1.0)
    early = [i for i, d in enumerate(DEPTHS) if d <= 1 / 3]
    assert early == [0, 1]
    assert summary["saliency_suppression"]["value"] == pytest.approx(
        -rho["Baseline"][early, 0].mean()
    )
    assert summary["saliency_suppression"]["value"] < 0  # planted: early layers follow saliency
    for condition in CONDITIONS[1:]:
        for t, target in enumerate(("saliency", "semantic")):
            entry = summary[f"sensitivity.{condition}.{target}"]
            assert entry["value"] == pytest.approx(
                (rho[condition][:, t] - rho["Baseline"][:, t]).mean()
            )
            assert entry["ci_low"] <= entry["value"] <= entry["ci_high"]
    assert (
        summary["sensitivity.Semantic_Salient.semantic"]["value"]
        < summary["sensitivity.Control.semantic"]["value"]
        < 0
    )


def test_scores_are_deterministic_and_match_stimuli_by_id() -> None:
    targets, layers = _planted()
    first = score_layers(layers, targets, IDS, n_boot=40, seed=3)
    again = score_layers(layers, targets, IDS, n_boot=40, seed=3)
    assert first.summary == again.summary
    assert first.layerwise.equals(again.layerwise)
    other = score_layers(layers, targets, IDS, n_boot=40, seed=4)
    assert other.summary != first.summary  # another seed draws other resamples, so other intervals
    # the same layer RDMs with their stimuli listed in another order score the same
    order = list(np.random.default_rng(0).permutation(N))
    shuffled_ids = tuple(IDS[i] for i in order)
    shuffled = {
        c: rsa.LayerRDMs(rdms.rdms.reorder(shuffled_ids), rdms.depths) for c, rdms in layers.items()
    }
    assert score_layers(shuffled, targets, IDS, n_boot=40, seed=3).summary == first.summary


def test_bootstrap_interval_is_the_percentile_of_the_shared_resamples() -> None:
    targets, layers = _planted()
    score = score_layers(layers, targets, IDS, n_boot=60, seed=9)
    boots = rsa.bootstrap_stimuli(
        layers["Baseline"].rdms.data[3], targets["semantic"], n_boot=60, seed=9
    )
    # resamples depend only on the seed and N, so the head layer's Baseline interval is reproduced
    low, high = rsa.percentile_interval(boots[:, 0, 0])
    assert score.summary["semantic_encoding"]["ci_low"] == pytest.approx(float(low))
    assert score.summary["semantic_encoding"]["ci_high"] == pytest.approx(float(high))


def test_without_bootstrap_the_intervals_are_nan() -> None:
    targets, layers = _planted()
    bare = score_layers(layers, targets, IDS, n_boot=0)
    full = score_layers(layers, targets, IDS, n_boot=20)
    assert bare.layerwise["value"].equals(full.layerwise["value"])
    assert bare.layerwise[["ci_low", "ci_high"]].isna().all().all()
    assert set(bare.summary) == set(full.summary)
    for name, entry in bare.summary.items():
        assert entry["value"] == full.summary[name]["value"]
        assert np.isnan(entry["ci_low"]) and np.isnan(entry["ci_high"])


def test_bad_inputs_are_refused() -> None:
    targets, layers = _planted()
    with pytest.raises(BrainAlignError, match="missing Semantic_Salient"):
        score_layers({k: v for k, v in layers.items() if k != "Semantic_Salient"}, targets, IDS)
    renamed = dict(layers)
    renamed["Control"] = rsa.LayerRDMs(
        RDMs(layers["Control"].rdms.data, ("a", "b", "c", "d"), IDS), DEPTHS
    )
    with pytest.raises(BrainAlignError, match="other layers"):
        score_layers(renamed, targets, IDS)


# --- the benchmark on a built probe ------------------------------------------------------------
@pytest.fixture(scope="module")
def small_probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    stamps = make_stamps(tmp_path_factory.mktemp("stamps"))
    out = tmp_path_factory.mktemp("probe") / "probe"
    settings = BuildSettings(
        seed=0,
        image_size=160,
        max_distractors=14,
        thresholds=ThresholdQuantiles(
            semantic_similar=0.15, semantic_dissimilar=0.5, pilot_size=40
        ),
    )
    build_probe(TuxPaintPool(stamps), out, settings, embedder=BagOfWordsEmbedder())
    return out


def _pixel_layers(sets) -> dict[str, rsa.LayerRDMs]:
    """A two-'layer' model: raw pixels and a 4× downsampled copy."""
    out = {}
    for condition, stimuli in sets.items():
        images = np.stack([np.asarray(stimuli.load(i), dtype=np.float64) for i in stimuli.ids])
        coarse = images.reshape(len(images), 40, 4, 40, 4, 3).mean(axis=(2, 4))
        data = np.stack([rsa.rdm(images, "cosine"), rsa.rdm(coarse, "cosine")])
        out[condition] = rsa.LayerRDMs(
            RDMs(data, ("pixels", "coarse"), stimuli.ids, "cosine"), (0.0, 1.0)
        )
    return out


def test_benchmark_scores_a_built_probe(small_probe: Path) -> None:
    bench = SaliencySemanticProbe(small_probe, n_boot=30)
    assert bench.availability(None).available
    sets = bench.stimulus_sets(None)
    assert list(sets) == list(CONDITIONS)
    score = bench.score(_pixel_layers(sets), seed=0)
    # a probe other than the pinned standard one: its id carries the start of its manifest's sha256
    assert (
        score.benchmark
        == bench.identifier
        == f"probe.saliency_semantic~{ProbeFolder.open(small_probe).content_hash[:12]}@2"
    )
    keys = {"semantic_encoding", "saliency_suppression"} | {
        f"sensitivity.{c}.{t}" for c in CONDITIONS[1:] for t in ("saliency", "semantic")
    }
    assert set(score.summary) == keys
    assert all(np.isfinite(v["value"]) for v in score.summary.values())
    assert score.summary["saliency_suppression"]["n_layers"] == 1
    provenance = bench.provenance(None)
    assert provenance["probe_pool"] == "tuxpaint" and len(provenance["probe_content_sha256"]) == 64
    assert "Tux Paint" in bench.bibtex and "2404.18772" in bench.bibtex


def test_registered_and_describes_how_it_becomes_available(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bench = get("probe.saliency_semantic")
    assert (
        isinstance(bench, SaliencySemanticProbe) and bench.identifier == "probe.saliency_semantic@2"
    )
    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path / "empty-cache"))
    status = SaliencySemanticProbe().availability(None)
    assert status.available and "apt-get download" in status.reason
    with pytest.raises(BrainAlignError, match=r"is not a built probe .*`brainalign probe build`"):
        SaliencySemanticProbe(tmp_path / "nowhere")


def test_default_probe_is_built_once_then_reused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stamps = make_stamps(tmp_path / "stamps")
    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("BRAINALIGN_TUXPAINT_STAMPS", str(stamps))
    monkeypatch.setattr(
        default_module,
        "DEFAULT_SETTINGS",
        BuildSettings(
            seed=0,
            n_bases=4,
            image_size=160,
            max_distractors=14,
            thresholds=ThresholdQuantiles(
                semantic_similar=0.2, semantic_dissimilar=0.5, pilot_size=30
            ),
        ),
    )
    builds = []
    real_build = default_module.build_probe

    def counting_build(*args, **kwargs):
        builds.append(args[1])
        return real_build(*args, **kwargs, embedder=BagOfWordsEmbedder())

    monkeypatch.setattr(default_module, "build_probe", counting_build)
    with pytest.raises(BrainAlignError, match="not built yet"):
        default_probe(build=False)
    first = default_probe()
    assert first.root.is_relative_to(tmp_path / "cache") and len(first.base_ids) == 4
    second = default_probe()
    assert len(builds) == 1 and second.root == first.root
    assert second.content_hash == first.content_hash


def test_default_probe_falls_back_to_bundled_photos_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from brainalign.probe import tuxpaint

    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("BRAINALIGN_TUXPAINT_STAMPS", raising=False)
    monkeypatch.setattr(tuxpaint, "SYSTEM_STAMPS", tmp_path / "absent")

    def no_apt(folder: Path) -> Path:
        raise BrainAlignError("apt-get is not available")

    monkeypatch.setattr(tuxpaint, "download_deb", no_apt)
    monkeypatch.setattr(
        default_module,
        "FALLBACK_SETTINGS",
        BuildSettings(
            seed=0,
            max_distractors=16,
            thresholds=ThresholdQuantiles(
                semantic_similar=0.3,
                semantic_dissimilar=0.5,
                saliency_non_salient=0.4,
                saliency_salient=0.6,
                pilot_size=40,
            ),
        ),
    )
    real_build = default_module.build_probe
    monkeypatch.setattr(
        default_module,
        "build_probe",
        lambda *a, **k: real_build(*a, **k, embedder=BagOfWordsEmbedder()),
    )
    with caplog.at_level("WARNING"):
        probe = default_probe()
    assert probe.manifest["pool"]["kind"] == "bundled"
    assert 3 <= len(probe.base_ids) <= 17
    assert "far too few" in caplog.text and "apt-get is not available" in caplog.text


def test_default_probe_refuses_a_stamp_folder_that_completes_too_few_bases(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A damaged or foreign stamp folder must not quietly become a 5-image default probe."""
    stamps = make_stamps(tmp_path / "stamps")
    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("BRAINALIGN_TUXPAINT_STAMPS", str(stamps))
    monkeypatch.setattr(
        default_module,
        "DEFAULT_SETTINGS",
        BuildSettings(
            seed=0,
            n_bases=200,
            image_size=160,
            max_distractors=14,
            thresholds=ThresholdQuantiles(
                semantic_similar=0.2, semantic_dissimilar=0.5, pilot_size=30
            ),
        ),
    )
    real_build = default_module.build_probe
    monkeypatch.setattr(
        default_module,
        "build_probe",
        lambda *a, **k: real_build(*a, **k, embedder=BagOfWordsEmbedder()),
    )
    with pytest.raises(BrainAlignError, match=r"completed only \d+ of 200 base images"):
        default_probe()
    assert not default_module.default_probe_dir().exists()


def test_the_id_rule_is_one_for_every_probe(
    small_probe: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the pinned probe is probe.saliency_semantic@2, wherever its folder lies; a copy of any
    other probe keeps its hashed id, and one changed byte gives another."""
    from brainalign.probe import pinned

    copy = tmp_path / "copy"
    shutil.copytree(small_probe, copy)
    hashed = SaliencySemanticProbe(small_probe).identifier
    assert SaliencySemanticProbe(copy).identifier == hashed != "probe.saliency_semantic@2"
    standard = dataclasses.replace(
        pinned.pin(), probe_content_sha256=ProbeFolder.open(small_probe).content_hash
    )
    monkeypatch.setattr(pinned, "pin", lambda: standard)
    assert SaliencySemanticProbe(copy).identifier == "probe.saliency_semantic@2"
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["settings"]["seed"] = 1
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert SaliencySemanticProbe(copy).identifier.startswith("probe.saliency_semantic~")


def test_the_default_probe_is_found_by_its_registered_name_after_resolving_to_another_id(
    small_probe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the default probe builds as something other than the pinned one (here: any probe),
    its results carry that probe's id, and the name it is registered under still finds it."""
    registered = get("probe.saliency_semantic")
    monkeypatch.setattr(registered, "_probe", ProbeFolder.open(small_probe))
    assert registered.identifier.startswith("probe.saliency_semantic~")
    assert get("probe.saliency_semantic") is registered is get("probe.saliency_semantic@2")
