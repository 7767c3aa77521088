"""The probe builder: geometry of the paste, the photo filter, the Tux Paint download path, and the
builder's promises on its own output (conditions hold, byte-identical rebuilds, atomic folders)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from probe_synthetic import PHOTO_STAMPS, BagOfWordsEmbedder, drawing_rgba, make_stamps, photo_rgba

from brainalign.errors import BrainAlignError
from brainalign.probe import (
    CONDITIONS,
    BuildSettings,
    CocoPool,
    FolderPool,
    ProbeFolder,
    ThresholdQuantiles,
    Thresholds,
    TuxPaintPool,
    build_probe,
    check_probe,
    saliency_change,
    tuxpaint,
)
from brainalign.probe.builder import in_order
from brainalign.probe.compositing import EDGES, composite, paste_box
from brainalign.stimuli import StimulusSet

SMALL = BuildSettings(
    seed=0,
    image_size=160,
    max_distractors=14,
    thresholds=ThresholdQuantiles(semantic_similar=0.15, semantic_dissimilar=0.5, pilot_size=40),
)


@pytest.fixture(scope="module")
def stamps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_stamps(tmp_path_factory.mktemp("stamps"))


@pytest.fixture(scope="module")
def pool(stamps: Path) -> TuxPaintPool:
    return TuxPaintPool(stamps)


@pytest.fixture(scope="module")
def built(pool: TuxPaintPool, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("built") / "probe"
    report = build_probe(pool, out, SMALL, embedder=BagOfWordsEmbedder())
    return out, report


# --- geometry and rendering ---------------------------------------------------------------------
@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("aspect", [0.2, 0.5, 1.0, 2.5])
@pytest.mark.parametrize("offset", [0.0, 0.37, 1.0])
def test_paste_box_covers_a_tenth_against_the_edge(edge: str, aspect: float, offset: float) -> None:
    box = paste_box(200, 300, aspect, 0.10, edge, offset)
    assert box.width * box.height == pytest.approx(0.10 * 200 * 300, rel=0.02)
    assert 0 <= box.x0 < box.x1 <= 300 and 0 <= box.y0 < box.y1 <= 200
    touching = {
        "top": box.y0 == 0,
        "bottom": box.y1 == 200,
        "left": box.x0 == 0,
        "right": box.x1 == 300,
    }
    assert touching[edge]
    assert 1 / 3 - 0.02 <= box.width / box.height <= 3 + 0.05
    free = (300 - box.width) if edge in ("top", "bottom") else (200 - box.height)
    start = box.x0 if edge in ("top", "bottom") else box.y0
    assert start == round(offset * free)


def test_composite_contrast_one_is_the_plain_alpha_paste() -> None:
    rng = np.random.default_rng(1)
    base = rng.integers(0, 256, size=(40, 40, 3), dtype=np.uint8)
    cut = photo_rgba(rng, 20)
    box = paste_box(40, 40, 1.0, 0.25, "left", 0.5)
    out = composite(base, cut, box, 1.0)
    alpha = cut[..., 3:4] / 255.0
    expected = base.astype(float).copy()
    expected[box.y0 : box.y1, box.x0 : box.x1] = (
        base[box.y0 : box.y1, box.x0 : box.x1] * (1 - alpha) + cut[..., :3] * alpha
    )
    np.testing.assert_array_equal(out, np.rint(expected).astype(np.uint8))
    outside = np.ones((40, 40), bool)
    outside[box.y0 : box.y1, box.x0 : box.x1] = False
    np.testing.assert_array_equal(out[outside], base[outside])


def test_low_contrast_pulls_the_distractor_to_the_local_mean() -> None:
    base = np.full((40, 40, 3), 100, np.uint8)
    cut = photo_rgba(np.random.default_rng(2), 20)
    cut[..., 3] = 255
    box = paste_box(40, 40, 1.0, 0.25, "top", 0.0)
    spread = [
        composite(base, cut, box, c)[box.y0 : box.y1, box.x0 : box.x1].std()
        for c in (0.1, 0.5, 1.0)
    ]
    assert spread[0] < spread[1] < spread[2]
    assert (
        abs(
            composite(base, cut, box, 0.01)[box.y0 : box.y1, box.x0 : box.x1].astype(float) - 100
        ).max()
        <= 2
    )


# --- the Tux Paint pool --------------------------------------------------------------------------
def test_photo_filter_keeps_photos_and_drops_drawings(stamps: Path, pool: TuxPaintPool) -> None:
    found = {s.id: s for s in tuxpaint.scan_stamps(stamps)}
    assert not found["household.tools.flatbox"].photo  # few colours
    assert not found["animals.mammals.cartoon.toon"].photo  # a cartoon folder
    assert "animals.mammals.cat_mirror" not in found  # no description
    assert tuxpaint.count_colours(drawing_rgba()) <= 2
    assert len(pool) == sum(len(v) for v in PHOTO_STAMPS.values())
    cat = pool.item("animals.mammals.cat")
    assert cat.captions == ("A cat.", "A photo of mammals, animals.")


def test_base_image_is_seeded_and_shows_the_stamp(pool: TuxPaintPool) -> None:
    a = pool.base_image("food.fruit.pear", 96, seed=3)
    assert a.shape == (96, 96, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, pool.base_image("food.fruit.pear", 96, seed=3))
    assert not np.array_equal(a, pool.base_image("food.fruit.pear", 96, seed=4))
    # the stamp's noisy texture makes the centre far more varied than the smooth background
    assert a[36:60, 36:60].std() > 3 * a[:8, :8].std()


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb (Debian/Ubuntu)")
def test_stamps_are_extracted_from_a_deb_into_the_cache(
    stamps: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "pkg"
    (package / "DEBIAN").mkdir(parents=True)
    (package / "DEBIAN" / "control").write_text(
        "Package: tuxpaint-stamps-default\nVersion: 1.0\nArchitecture: all\n"
        "Maintainer: test <t@example.org>\nDescription: test\n"
    )
    shutil.copytree(stamps, package / "usr/share/tuxpaint/stamps")
    (package / "usr/share/doc").mkdir(parents=True)
    (package / "usr/share/doc/readme.txt").write_text("not a stamp")
    (package / "usr/share/tuxpaint/stamps/animals/mammals/cat.ogg").write_bytes(b"sound")
    deb = tmp_path / "tuxpaint-stamps-default_1.0_all.deb"
    subprocess.run(
        ["dpkg-deb", "--build", "-Zgzip", str(package), str(deb)], check=True, capture_output=True
    )

    def fake_download(folder: Path) -> Path:
        return Path(shutil.copy(deb, folder))

    monkeypatch.setattr(tuxpaint, "download_deb", fake_download)
    monkeypatch.setattr(tuxpaint, "SYSTEM_STAMPS", tmp_path / "absent")
    monkeypatch.delenv("BRAINALIGN_TUXPAINT_STAMPS", raising=False)
    monkeypatch.setenv(
        "BRAINALIGN_CACHE", str(tmp_path / "cache")
    )  # fake stamps stay out of the session's cache
    with pytest.raises(BrainAlignError, match="not in the cache"):
        tuxpaint.ensure_tuxpaint_stamps(download=False)
    root = tuxpaint.ensure_tuxpaint_stamps()
    assert root == tuxpaint.stamps_cache() / "stamps"
    assert (root / "animals/mammals/cat.png").read_bytes() == (
        stamps / "animals/mammals/cat.png"
    ).read_bytes()
    assert not list(root.rglob("*.ogg")) and not (root.parent / "usr").exists()
    assert tuxpaint.ensure_tuxpaint_stamps(download=False) == root  # cached now
    assert len(TuxPaintPool(root)) == len(TuxPaintPool(stamps))


def test_failed_apt_download_says_how_to_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_apt = tmp_path / "bin" / "apt-get"
    fake_apt.parent.mkdir()
    fake_apt.write_text(
        "#!/bin/sh\necho 'E: Unable to locate package tuxpaint-stamps-default' >&2\nexit 100\n"
    )
    fake_apt.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_apt.parent}")
    with pytest.raises(BrainAlignError, match="apt-get update"):
        tuxpaint.download_deb(tmp_path)


# --- the builder's promises ----------------------------------------------------------------------
def test_build_reports_counts_and_reasons(built) -> None:
    _, report = built
    assert report.n_complete >= 5
    assert report.n_tried == report.n_complete + sum(report.failures.values())
    assert all(reason.split(":")[0] in CONDITIONS for reason in report.failures)
    text = "\n".join(report.lines())
    assert f"complete with all four conditions: {report.n_complete}" in text


def test_conditions_hold_on_the_saved_images(built) -> None:
    out, report = built
    check = check_probe(out, BagOfWordsEmbedder())
    assert check.ok, check.lines()
    assert len(check.rows) == 4 * report.n_complete
    assert check.rows["saliency_error"].max() < 1e-9  # the recorded value is exactly reproduced
    probe = ProbeFolder.open(out)
    metadata = probe.metadata
    thresholds = probe.thresholds
    for condition, group in metadata.groupby("condition"):
        if condition == "Baseline":
            assert group["distractor_id"].eq("").all()
            continue
        similar = condition in ("Control", "Salient")
        salient = condition in ("Salient", "Semantic_Salient")
        assert thresholds.semantic_ok(group["semantic_distance"].to_numpy(), similar).all()
        assert thresholds.saliency_ok(group["saliency_change"].to_numpy(), salient).all()
        assert (group["distractor_id"] != group["base_id"]).all()


def test_check_catches_a_tampered_image(built, tmp_path: Path) -> None:
    out, _ = built
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    victim = copy / "images" / "Salient" / f"{ProbeFolder.open(out).base_ids[0]}.png"
    Image.fromarray(np.asarray(Image.open(copy / "images" / "Baseline" / victim.name))).save(victim)
    with pytest.raises(BrainAlignError, match="sha256 mismatch"):
        ProbeFolder.open(copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    from brainalign._files import sha256_file

    manifest["files"][str(victim.relative_to(copy))] = sha256_file(victim)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BrainAlignError, match="content hash mismatch"):  # the pixels changed
        ProbeFolder.open(copy)
    _record_image(copy, victim)  # a manifest rewritten to match: another probe, checked
    result = check_probe(copy, BagOfWordsEmbedder())
    assert not result.ok
    failing = result.rows[~result.rows["ok"]]
    assert list(failing["condition"]) == ["Salient"]
    assert "misses the salient threshold" in failing["problem"].iloc[0]


def test_same_seed_gives_byte_identical_output(built, pool: TuxPaintPool, tmp_path: Path) -> None:
    out, _ = built
    again = tmp_path / "again"
    build_probe(pool, again, SMALL, embedder=BagOfWordsEmbedder())
    first = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert first == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for relative in first:
        assert (out / relative).read_bytes() == (again / relative).read_bytes(), relative
    other = tmp_path / "other"
    build_probe(
        pool, other, BuildSettings(**{**SMALL.__dict__, "seed": 1}), embedder=BagOfWordsEmbedder()
    )
    shared = set(ProbeFolder.open(other).base_ids) & set(ProbeFolder.open(out).base_ids)
    assert shared
    for base_id in shared:  # another seed, another background behind the same stamp
        name = f"images/Baseline/{base_id}.png"
        assert (other / name).read_bytes() != (out / name).read_bytes()


def _file_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_build_with_several_workers_is_the_sequential_build(
    pool: TuxPaintPool, tmp_path: Path
) -> None:
    """Searches run ahead of the sequential order in worker processes; what the build keeps (base
    images, tries, failures, closest calls, every file) is what one process gives."""
    settings = replace(SMALL, n_bases=4, max_distractors=4)
    sequential = build_probe(
        pool, tmp_path / "one", settings, embedder=BagOfWordsEmbedder(), workers=1
    )
    whole_pool = build_probe(
        pool,
        tmp_path / "all",
        replace(settings, n_bases=None),
        embedder=BagOfWordsEmbedder(),
        workers=1,
    )
    # the build stops before the end of the pool, and searching further would change its report:
    # so a search run ahead and kept, or its closest calls, would show
    assert sequential.n_tried < whole_pool.n_tried == len(pool) and sequential.failures
    assert whole_pool.margins != sequential.margins and whole_pool.failures != sequential.failures
    for workers in (2, 5):
        out = tmp_path / f"workers-{workers}"
        parallel = build_probe(pool, out, settings, embedder=BagOfWordsEmbedder(), workers=workers)
        assert (parallel.n_tried, parallel.n_complete, parallel.failures, parallel.margins) == (
            sequential.n_tried,
            sequential.n_complete,
            sequential.failures,
            sequential.margins,
        )
        assert _file_bytes(out) == _file_bytes(tmp_path / "one")  # manifest.json included


def _build_small(pool: TuxPaintPool, out: Path) -> None:
    build_probe(pool, out, replace(SMALL, n_bases=4), embedder=BagOfWordsEmbedder())


@pytest.mark.skipif(sys.platform != "linux", reason="a daemon process forked from the test")
def test_a_build_in_a_daemon_process_builds_without_children(
    pool: TuxPaintPool, tmp_path: Path
) -> None:
    """A daemon (a Dask worker building the default probe on first use) may not start worker
    processes: it builds the same probe in one process."""
    daemon = get_context("fork").Process(
        target=_build_small, args=(pool, tmp_path / "daemon"), daemon=True
    )
    daemon.start()
    daemon.join(timeout=300)
    assert daemon.exitcode == 0
    _build_small(pool, tmp_path / "here")
    assert _file_bytes(tmp_path / "daemon") == _file_bytes(tmp_path / "here")


def test_work_in_order_yields_in_order_and_raises_only_what_is_reached() -> None:
    def work(item: int) -> int:
        if item == 6:
            raise ValueError("item 6")
        return item * item

    with ThreadPoolExecutor(2) as threads:
        for executor in (None, threads):
            with closing(in_order(work, range(10), executor, ahead=4)) as results:
                # item 6 was computed ahead (and failed), unseen by a caller that stops at 5
                assert [next(results) for _ in range(5)] == [(k, k * k) for k in range(5)]
            with closing(in_order(work, range(10), executor, ahead=4)) as results:
                assert [next(results) for _ in range(6)] == [(k, k * k) for k in range(6)]
                with pytest.raises(ValueError, match="item 6"):
                    next(results)


def _record_image(probe: Path, image: Path) -> None:
    """Rewrite ``probe``'s manifest so that it records ``image`` as it now is."""
    from brainalign._files import sha256_file
    from brainalign.probe.identity import pixels_sha256

    manifest = json.loads((probe / "manifest.json").read_text())
    relative = str(image.relative_to(probe))
    manifest["files"][relative] = sha256_file(image)
    stimulus_id = relative.removeprefix("images/").removesuffix(".png")
    manifest["pixels_sha256"][stimulus_id] = pixels_sha256(
        np.asarray(Image.open(image).convert("RGB"))
    )
    (probe / "manifest.json").write_text(json.dumps(manifest))


def test_the_content_hash_is_the_pixels_and_table_not_the_file_bytes(built, tmp_path: Path) -> None:
    """Another PNG encoder (here: another compression level) writes other bytes for the same
    pixels: the probe stays the same probe. A changed pixel or table entry makes another one."""
    out, _ = built
    original = ProbeFolder.open(out).content_hash
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    for path in sorted((copy / "images").rglob("*.png")):
        with Image.open(path) as image:
            pixels = np.asarray(image)
        Image.fromarray(pixels).save(path, compress_level=1)
        _record_image(copy, path)
    reencoded = ProbeFolder.open(copy)  # verified: every file, and every image's pixels
    assert reencoded.manifest_sha256 != ProbeFolder.open(out).manifest_sha256
    assert reencoded.content_hash == original

    table = pd.read_csv(copy / "metadata.csv", dtype=str, keep_default_na=False)
    row = table.index[table["condition"] == "Control"][0]
    # a measured number's last bits (another OpenCV): the same probe
    table.loc[row, "saliency_change"] = repr(float(table.loc[row, "saliency_change"]) * (1 + 1e-9))
    table.to_csv(copy / "metadata.csv", index=False, lineterminator="\n")
    assert ProbeFolder.open(copy, verify=False).content_hash == original
    # another contrast for a distractor: another probe
    table.loc[row, "contrast"] = "0.6" if table.loc[row, "contrast"] != "0.6" else "0.3"
    table.to_csv(copy / "metadata.csv", index=False, lineterminator="\n")
    assert ProbeFolder.open(copy, verify=False).content_hash != original
    shutil.copy(out / "metadata.csv", copy / "metadata.csv")

    victim = (
        copy / "images" / "Control" / f"{table.loc[row, 'base_id']}.png"
    )  # one pixel: another probe
    changed = np.asarray(Image.open(victim)).copy()
    changed[0, 0, 0] ^= 1
    Image.fromarray(changed).save(victim)
    _record_image(copy, victim)
    assert ProbeFolder.open(copy).content_hash != original


def test_targets_match_the_baseline_images(built) -> None:
    out, _ = built
    from brainalign.probe import saliency_rdm

    probe = ProbeFolder.open(out)
    targets = probe.targets()
    images = [probe.image("Baseline", b) for b in probe.base_ids]
    np.testing.assert_allclose(targets["saliency"], saliency_rdm(images), atol=1e-12)
    first, second = images[0], images[1]
    assert targets["saliency"][0] == pytest.approx(saliency_change(first, second), abs=1e-12)


def test_stimulus_sets_share_base_ids_and_are_built_once(
    built, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, _ = built
    probe = ProbeFolder.open(out)
    built_sets = []
    from_paths = StimulusSet.from_paths
    monkeypatch.setattr(
        StimulusSet,
        "from_paths",
        lambda *args, **kwargs: built_sets.append(kwargs["name"]) or from_paths(*args, **kwargs),
    )
    sets = probe.stimulus_sets()
    assert list(sets) == list(CONDITIONS)
    assert all(s.ids == probe.base_ids for s in sets.values())
    assert sets["Control"].metadata.loc[probe.base_ids[0], "condition"] == "Control"
    for condition in CONDITIONS:  # check_probe loads every image of every condition
        for base_id in probe.base_ids:
            probe.image(condition, base_id)
    assert sorted(built_sets) == sorted(f"probe.saliency_semantic/{c}" for c in CONDITIONS)


def test_impossible_thresholds_fail_with_reasons_and_leave_nothing(
    pool: TuxPaintPool, tmp_path: Path
) -> None:
    settings = BuildSettings(
        seed=0,
        image_size=160,
        max_distractors=2,
        thresholds=Thresholds(0.0001, 0.9999, 0.0, 0.9999),
    )
    out = tmp_path / "nothing"
    with pytest.raises(BrainAlignError, match="no semantically similar distractor"):
        build_probe(pool, out, settings, embedder=BagOfWordsEmbedder())
    assert not out.exists() and not any(tmp_path.iterdir())


def test_a_build_killed_halfway_leaves_nothing_after_the_next_build(
    pool: TuxPaintPool, tmp_path: Path
) -> None:
    """SIGKILL skips every cleanup: a dead build's staging folder stays until the next build into
    the same folder removes it (its owner's lock died with it); a live build's is kept."""
    import signal
    import sys

    from brainalign._files import OWNER_FILE, ScratchFolder

    out = tmp_path / "probe"
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import os, signal, sys; from brainalign._files import ScratchFolder; "
                f"s = ScratchFolder('probe.building', root={str(tmp_path)!r}); "
                "(s.path / 'images').mkdir(); (s.path / 'images' / 'half.png').write_bytes(b'half'); "
                "os.kill(os.getpid(), signal.SIGKILL)"
            ),
        ]
    )
    assert killed.returncode == -signal.SIGKILL
    (left,) = tmp_path.iterdir()  # what the killed build left
    alive = ScratchFolder("probe.building", root=tmp_path)  # another build, still running
    build_probe(pool, out, SMALL, embedder=BagOfWordsEmbedder())
    assert not left.exists() and alive.path is not None and alive.path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["probe", alive.path.name])
    manifest = json.loads((out / "manifest.json").read_text())
    assert not (out / OWNER_FILE).exists() and OWNER_FILE not in manifest["files"]
    alive.remove()


def test_existing_output_is_not_overwritten_without_consent(
    pool: TuxPaintPool, tmp_path: Path
) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(BrainAlignError, match="--overwrite"):
        build_probe(pool, out, SMALL, embedder=BagOfWordsEmbedder())
    assert (out / "precious.txt").read_text() == "keep me"


def test_threshold_parameters_are_validated() -> None:
    with pytest.raises(BrainAlignError, match="overlap"):
        Thresholds(0.9, 0.3, 0.01, 0.2)
    with pytest.raises(BrainAlignError, match="quantile"):
        ThresholdQuantiles(semantic_similar=1.5)
    with pytest.raises(BrainAlignError, match=r"include 1.0"):
        BuildSettings(contrasts=(0.5, 2.0))
    with pytest.raises(BrainAlignError, match="too small"):
        BuildSettings(image_size=64)


# --- photo pools ---------------------------------------------------------------------------------
def _photos(folder: Path, n: int = 4) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        array = np.random.default_rng(i).integers(0, 256, size=(60, 90, 3), dtype=np.uint8)
        name = f"img{i}.jpg"
        Image.fromarray(array).save(folder / name)
        names.append(name)
    return names


def test_folder_pool_groups_several_captions(tmp_path: Path) -> None:
    names = _photos(tmp_path / "images")
    rows = [(n, f"caption {k} of {n}") for n in names for k in range(2)]
    pd.DataFrame(rows, columns=["image", "caption"]).to_csv(tmp_path / "captions.csv", index=False)
    pool = FolderPool(tmp_path / "images", tmp_path / "captions.csv")
    assert [i.id for i in pool.items] == ["img0", "img1", "img2", "img3"]
    assert pool.item("img2").captions == ("caption 0 of img2.jpg", "caption 1 of img2.jpg")
    assert pool.base_image("img0", 48, 0).shape == (48, 48, 3)
    assert pool.cutout("img0").shape == (60, 90, 4) and (pool.cutout("img0")[..., 3] == 255).all()

    pd.DataFrame([("missing.jpg", "x")], columns=["image", "caption"]).to_csv(
        tmp_path / "bad.csv", index=False
    )
    with pytest.raises(BrainAlignError, match="not in"):
        FolderPool(tmp_path / "images", tmp_path / "bad.csv")
    pd.DataFrame([("img0.jpg",)], columns=["file"]).to_csv(tmp_path / "cols.csv", index=False)
    with pytest.raises(BrainAlignError, match="columns 'image' and 'caption'"):
        FolderPool(tmp_path / "images", tmp_path / "cols.csv")


def test_distractors_without_transparency_are_announced_as_rectangles(
    stamps: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Photos have no alpha channel: they are pasted whole, as rectangles with their backgrounds,
    and the build says so (report, log, manifest) instead of passing them off as cut-outs."""
    rows = []
    for stamp in tuxpaint.scan_stamps(stamps):
        if stamp.photo:  # the synthetic photo stamps, flattened onto grey as JPEG photos
            rgba = np.asarray(Image.open(stamp.path).convert("RGBA")).astype(float)
            flat = rgba[..., :3] * rgba[..., 3:] / 255 + 128 * (1 - rgba[..., 3:] / 255)
            Image.fromarray(flat.astype(np.uint8)).save(tmp_path / f"{stamp.id}.jpg")
            rows += [(f"{stamp.id}.jpg", caption) for caption in tuxpaint.stamp_captions(stamp)]
    pd.DataFrame(rows, columns=["image", "caption"]).to_csv(tmp_path / "captions.csv", index=False)
    with caplog.at_level("WARNING"):
        report = build_probe(
            FolderPool(tmp_path, tmp_path / "captions.csv"),
            tmp_path / "probe",
            SMALL,
            embedder=BagOfWordsEmbedder(),
        )
    assert report.shapes == {"rectangle": 4 * report.n_complete}
    assert ProbeFolder.open(tmp_path / "probe").manifest["distractor_shapes"] == report.shapes
    warnings = report.warnings()
    assert any(
        f"{4 * report.n_complete} of {4 * report.n_complete} distractors are whole images pasted as "
        "opaque rectangles" in w
        for w in warnings
    )
    assert any(f"only {report.n_complete} base images" in w for w in warnings)
    assert all(w in caplog.text for w in warnings)


def test_cut_outs_are_counted_as_such(built) -> None:
    _out, report = built
    assert report.shapes == {"cut-out": 4 * report.n_complete}
    assert not [w for w in report.warnings() if "rectangles" in w]


def test_coco_pool_reads_captions_and_applies_the_nsd_crop(tmp_path: Path) -> None:
    names = _photos(tmp_path / "coco" / "val2017", 3)
    coco = {
        "images": [{"id": 100 + i, "file_name": n} for i, n in enumerate(names)],
        "annotations": [
            {"image_id": 100 + i, "caption": f"A scene {i}, take {k}."}
            for i in range(3)
            for k in range(5)
        ],
    }
    (tmp_path / "captions_val2017.json").write_text(json.dumps(coco))
    pool = CocoPool(tmp_path / "coco", [tmp_path / "captions_val2017.json"])
    assert len(pool) == 3 and len(pool.item("coco101").captions) == 5
    pd.DataFrame({"cocoId": [100, 102], "cropBox": ["(0, 0, 0.1, 0.2)", "(0.5, 0, 0, 0)"]}).to_csv(
        tmp_path / "nsd.csv", index=False
    )
    nsd = CocoPool(tmp_path / "coco", [tmp_path / "captions_val2017.json"], tmp_path / "nsd.csv")
    assert [i.id for i in nsd.items] == ["coco100", "coco102"]
    assert nsd.cutout("coco100").shape[:2] == (60, 63)  # 90 px wide minus 10 % left, 20 % right
    assert nsd.cutout("coco102").shape[:2] == (30, 90)  # top half removed
    original = np.asarray(Image.open(tmp_path / "coco" / "val2017" / names[0]).convert("RGB"))
    np.testing.assert_array_equal(nsd.cutout("coco100")[..., :3], original[:, 9:72])
    broken = {
        "ragged.csv": 'cocoId,cropBox\n100,"(0, 0, 0, 0)"\n102,1,2,3\n',
        "unparsable.csv": 'cocoId,cropBox\n100,"(0, 0, 0.1"\n',
        "words.csv": 'cocoId,cropBox\n100,"(top, 0, 0, 0)"\n',
    }
    for name, text in broken.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(
            BrainAlignError, match=rf"{name}.*(not a readable CSV|is not 4 numbers)"
        ):
            CocoPool(tmp_path / "coco", [tmp_path / "captions_val2017.json"], tmp_path / name)


def test_cli_builds_and_checks_a_probe(stamps: Path, tmp_path: Path) -> None:
    """End to end through the CLI with the real offline embedder and absolute thresholds."""
    from click.testing import CliRunner

    from brainalign.cli import cli

    runner = CliRunner()
    args = [
        "-q",
        "probe",
        "build",
        "--stamps",
        str(stamps),
        "--out",
        str(tmp_path / "probe"),
        "--size",
        "160",
        "--max-distractors",
        "14",
        "--seed",
        "3",
        "--semantic-similar",
        "0.45",
        "--semantic-dissimilar",
        "0.5",
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "complete with all four conditions" in result.stdout
    built = ProbeFolder.open(tmp_path / "probe")
    assert (
        f"id: probe.saliency_semantic~{built.content_hash[:12]}@2 (not the pinned standard probe"
        in result.stdout
    )
    assert (
        f"warning: only {len(built.base_ids)} base images" in result.stderr
    )  # a handful: said loudly
    assert "rectangles" not in result.stderr  # Tux Paint stamps are cut-outs
    manifest = json.loads((tmp_path / "probe" / "manifest.json").read_text())
    assert manifest["embedder"] == "all-MiniLM-L6-v2"
    assert manifest["thresholds"]["semantic_similar"] == 0.45
    checked = runner.invoke(cli, ["-q", "probe", "check", str(tmp_path / "probe")])
    assert checked.exit_code == 0, checked.output
    assert " 0 fail" in checked.output
    again = runner.invoke(cli, args)
    assert again.exit_code != 0 and "--overwrite" in str(again.exception)
