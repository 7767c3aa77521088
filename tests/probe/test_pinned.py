"""The pinned standard probe: which stamp files build it, which probe they build, and the one id
rule that tells it from every other probe.

The fast tests pin a synthetic stamps folder (the real pin is replaced, nothing else); the slow
ones build the real default probe from Debian's package, as CI does."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from probe_synthetic import BagOfWordsEmbedder, make_stamps, photo_rgba

from brainalign.benchmarks.probe import PROBE_ID, SaliencySemanticProbe, probe_id
from brainalign.probe import BuildSettings, ThresholdQuantiles, Thresholds, default_probe, pinned
from brainalign.probe import default as default_module
from brainalign.probe.tuxpaint import TuxPaintPool, stamp_files

SMALL = BuildSettings(
    seed=0,
    n_bases=4,
    image_size=160,
    max_distractors=14,
    thresholds=ThresholdQuantiles(semantic_similar=0.2, semantic_dissimilar=0.5, pilot_size=30),
)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _pin_of(stamps: Path, probe_sha256: str = "0" * 64) -> pinned.Pin:
    """A pin of the photo stamps in ``stamps``, as tools/pin_default_probe.py writes one."""
    from brainalign._files import sha256_file

    pool = TuxPaintPool(stamps)
    files = {name: sha256_file(stamps / name) for name in stamp_files(pool.stamps.values(), stamps)}
    return pinned.Pin(
        "tuxpaint-stamps-default",
        "test-1",
        "ab" * 32,
        files,
        Thresholds(0.3, 0.6, 0.01, 0.2),
        probe_sha256,
    )


@pytest.fixture
def synthetic_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Synthetic stamps as the pinned ones, small default settings, a bag-of-words embedder; returns
    a function that builds the default probe in a fresh cache from a given stamps folder."""
    stamps = make_stamps(tmp_path / "stamps")
    synthetic = _pin_of(stamps)
    monkeypatch.setattr(pinned, "pin", lambda: synthetic)
    monkeypatch.setattr(default_module, "DEFAULT_SETTINGS", SMALL)
    real_build = default_module.build_probe
    monkeypatch.setattr(
        default_module,
        "build_probe",
        lambda *a, **k: real_build(*a, **k, embedder=BagOfWordsEmbedder()),
    )

    def build(folder: Path, cache: str):
        monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path / cache))
        monkeypatch.setenv("BRAINALIGN_TUXPAINT_STAMPS", str(folder))
        return default_probe()

    return stamps, build


def test_pinned_stamps_build_the_standard_probe_and_extra_files_change_nothing(
    synthetic_default, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    stamps, build = synthetic_default
    with caplog.at_level(logging.WARNING):
        first = build(stamps, "cache-a")
    assert first.root == default_module.default_probe_dir()
    assert (
        "differs from the pinned probe" in caplog.text
    )  # the pin's probe hash is a placeholder here
    assert probe_id(first) == f"{PROBE_ID}~{first.content_hash[:12]}"
    pinned_probe = _pin_of(stamps, first.content_hash)
    monkeypatch.setattr(pinned, "pin", lambda: pinned_probe)
    assert probe_id(first) == PROBE_ID

    # a newer package: every pinned file unchanged, plus a stamp the pin does not list
    newer = tmp_path / "newer"
    shutil.copytree(stamps, newer)
    Image.fromarray(photo_rgba(np.random.default_rng(9)), "RGBA").save(
        newer / "animals/mammals/zebra.png"
    )
    (newer / "animals/mammals/zebra.txt").write_text("A zebra.\n", encoding="utf-8")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        second = build(newer, "cache-b")
    assert "not the pinned" not in caplog.text and "differs" not in caplog.text
    assert _files(second.root) == _files(first.root)
    assert probe_id(second) == PROBE_ID


@pytest.mark.parametrize("damage", ["changed", "missing"])
def test_stamps_that_differ_from_the_pin_build_a_probe_with_an_id_of_its_own(
    synthetic_default, tmp_path: Path, caplog, damage: str
) -> None:
    stamps, build = synthetic_default
    standard = build(stamps, "cache-a")
    other = tmp_path / "other"
    shutil.copytree(stamps, other)
    victim = other / "food/fruit/apple.png"
    if damage == "changed":
        rgba = np.asarray(Image.open(victim)).copy()
        rgba[40, 40, :3] ^= 1  # one pixel, one bit per channel
        Image.fromarray(rgba, "RGBA").save(victim)
    else:
        victim.unlink()
    with caplog.at_level(logging.WARNING):
        probe = build(other, "cache-b")
    assert (
        "food/fruit/apple.png" in caplog.text
        and "not the pinned tuxpaint-stamps-default test-1" in caplog.text
    )
    assert (
        probe.root != default_module.default_probe_dir()
        and probe.root.parent == default_module.default_probe_dir().parent
    )
    assert probe_id(probe) == f"{PROBE_ID}~{probe.content_hash[:12]}" != probe_id(standard)
    assert (
        SaliencySemanticProbe(probe.root).identifier == f"{probe_id(probe)}@2"
    )  # its results say so
    assert build(other, "cache-b").root == probe.root  # cached apart, found again


def test_check_stamps_names_missing_and_changed_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stamps = make_stamps(tmp_path / "stamps")
    synthetic = _pin_of(stamps)
    monkeypatch.setattr(pinned, "pin", lambda: synthetic)
    assert pinned.check_stamps(stamps).ok
    (stamps / "vehicles/auto/bus.txt").write_text("A coach.\n", encoding="utf-8")
    (stamps / "animals/mammals/cat.png").unlink()
    check = pinned.check_stamps(stamps)
    assert check.changed == ("vehicles/auto/bus.txt",) and check.missing == (
        "animals/mammals/cat.png",
    )
    assert check.summary() == (
        "1 of the 30 pinned files are missing (e.g. animals/mammals/cat.png); "
        "1 of the 30 pinned files differ (e.g. vehicles/auto/bus.txt)"
    )


def test_the_real_pin_lists_photo_stamps_with_their_descriptions() -> None:
    pin = pinned.pin()
    assert pin.source == "tuxpaint-stamps-default 2022.06.04-1" and len(pin.stamps) == 305
    assert {Path(name).with_suffix(".txt").as_posix() for name in pin.stamps} | set(
        pin.stamps
    ) == set(pin.files)
    assert all(len(digest) == 64 for digest in (*pin.files.values(), pin.probe_content_sha256))
    assert 0 < pin.thresholds.semantic_similar < pin.thresholds.semantic_dissimilar < 1
    assert 0 < pin.thresholds.saliency_non_salient < pin.thresholds.saliency_salient < 1
    assert default_module.DEFAULT_SETTINGS.thresholds == pin.thresholds


def test_a_gap_cut_lies_in_the_middle_of_the_widest_nearby_gap() -> None:
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 1, 20_000)
    quantile = np.quantile(values, 0.3)
    low, high = quantile - 0.0005, quantile + 0.0005  # a planted gap at the 30 % quantile
    values = values[(values < low) | (values > high)]
    cut = pinned.gap_cut(values, 0.30, window=0.002)
    assert low + 0.001 / 3 <= cut <= high - 0.001 / 3
    assert np.min(np.abs(values - cut)) >= 0.001 / 3
    assert len(repr(cut)) <= len("0.3088")  # written short: 4 decimals fit the gap's middle third
    free = rng.uniform(0, 1, 50_000)  # no planted gap: still within the window of the quantile
    for quantile in (0.05, 0.6):
        cut = pinned.gap_cut(free, quantile, window=0.001)
        assert abs(np.mean(free < cut) - quantile) <= 0.001 + 2 / len(free)
        gaps = np.diff(np.sort(free))
        assert np.min(np.abs(free - cut)) > 2 * np.median(gaps)  # far wider than a typical gap


# --- the real default probe (Debian's package; apt-get works in CI) ------------------------------------


@pytest.mark.slow
def test_the_default_probe_is_the_pinned_probe(real_default_probe) -> None:
    """What `tox -e probe-oldest` and `tox -e probe-newest` run: with the oldest and the newest
    Pillow, OpenCV, NumPy and scikit-image pyproject.toml allows, the first build is the standard
    probe, and no decision came near enough to its threshold to tip elsewhere."""
    first, _ = real_default_probe
    assert pinned.is_pinned(first) and probe_id(first) == PROBE_ID
    assert SaliencySemanticProbe(first.root).identifier == "probe.saliency_semantic@2"
    assert first.manifest["n_bases"] == 200 and first.manifest["pool"]["kind"] == "tuxpaint"
    margins = first.manifest["decision_margins"]
    assert margins["saliency"] > 1e-7 and margins["semantic"] > 1e-5


@pytest.mark.slow
def test_a_second_clean_cache_builds_the_same_files(
    real_default_probe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, stamps = real_default_probe
    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path / "clean-cache-2"))
    monkeypatch.setenv("BRAINALIGN_TUXPAINT_STAMPS", str(stamps))  # the stamps obtained another way
    second = default_probe()
    assert second.root != first.root and _files(second.root) == _files(
        first.root
    )  # one machine: same bytes
    assert probe_id(second) == PROBE_ID
