"""Probe folders as a careless user hands them over: a damaged one (an image deleted, replaced by
random bytes, the folder emptied) stops the run before any result is stored, even one of another
benchmark named first; two images with one stem are named; a probe is scored on its own, by
folder with no human data here, or by its id wherever a benchmark is named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from fault_helpers import spec_data, spec_file
from PIL import Image
from probe_synthetic import BagOfWordsEmbedder, make_stamps

from brainalign.benchmarks.probe import SaliencySemanticProbe
from brainalign.probe import BuildSettings, ThresholdQuantiles, TuxPaintPool, build_probe
from brainalign.results import ResultsStore


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small probe (synthetic stamps, a bag-of-words embedder), copied by each test that damages it."""
    out = tmp_path_factory.mktemp("probe") / "probe"
    settings = BuildSettings(
        seed=0,
        image_size=128,
        max_distractors=14,
        thresholds=ThresholdQuantiles(
            semantic_similar=0.15, semantic_dissimilar=0.5, pilot_size=40
        ),
    )
    build_probe(
        TuxPaintPool(make_stamps(tmp_path_factory.mktemp("stamps"))),
        out,
        settings,
        embedder=BagOfWordsEmbedder(),
    )
    return out


@pytest.fixture
def probe(built: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(built, tmp_path / "probe"))


def _an_image(probe: Path) -> Path:
    return next(p for p in sorted(probe.rglob("*.png")))


DAMAGE = {
    "deleted": lambda probe: _an_image(probe).unlink(),
    "random bytes": lambda probe: _an_image(probe).write_bytes(bytes(range(256)) * 8),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_probe_stops_the_run_before_any_result_is_stored(
    cli, probe, tmp_path, damage
) -> None:
    spec_data(tmp_path / "spec")
    image = _an_image(probe)
    DAMAGE[damage](probe)
    for command in (
        ["score", "pixels", spec_file(tmp_path / "spec"), "--probe", probe],
        ["run", "-m", "pixels", "-b", spec_file(tmp_path / "spec"), "--probe", probe],
    ):
        ran = cli("-q", *command, "--results", tmp_path / "results")
        assert ran.code == 2, ran
        assert ran.error_line.startswith("error: probe.saliency_semantic~")
        assert f"probe file {image}" in ran.error_line and "rebuild the probe" in ran.error_line
        assert not (
            tmp_path / "results"
        ).exists()  # the spec benchmark named first was not scored either


def test_an_emptied_probe_folder_is_refused_before_anything_runs(cli, tmp_path) -> None:
    empty = tmp_path / "emptied"
    empty.mkdir()
    ran = cli("-q", "score", "pixels", "--probe", empty, "--results", tmp_path / "results")
    assert ran.code == 2, ran
    assert ran.error_line == (
        f"error: {empty} is not a built probe (no manifest.json); build one with "
        "`brainalign probe build`"
    )
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        (
            "metadata.csv",
            None,
            "probe file {path} cannot be read (FileNotFoundError); rebuild the probe",
        ),
        (
            "manifest.json",
            b"[1, 2]",
            "{path} is not a brainalign probe manifest; rebuild the probe",
        ),
        ("manifest.json", b"\x89PNG garbage", "{path} is corrupt"),
    ],
)
def test_a_probe_whose_own_files_are_damaged_is_refused_naming_them(
    cli, probe, tmp_path, file, content, message
) -> None:
    path = probe / file
    if content is None:
        path.unlink()
    else:
        path.write_bytes(content)
    ran = cli("-q", "score", "pixels", "--probe", probe, "--results", tmp_path / "results")
    assert ran.code == 2, ran
    assert message.format(path=path) in ran.error_line and "Traceback" not in ran.err
    assert not (tmp_path / "results").exists()


def test_a_probe_is_scored_on_its_own_and_by_its_id(cli, probe, tmp_path, monkeypatch) -> None:
    no_data = tmp_path / "no-data"
    no_data.mkdir()
    monkeypatch.setenv("BRAINALIGN_DATA", str(no_data))  # no human data anywhere
    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path / "cache"))
    identifier = SaliencySemanticProbe(probe).identifier
    ran = cli("-q", "score", "pixels", "--probe", probe, "--results", tmp_path / "alone")
    assert ran.code == 0, ran
    assert [e.benchmark for e in ResultsStore(tmp_path / "alone").list()] == [identifier]
    assert (
        "skipped kriegeskorte2008.hIT@2 for pixels: data set kriegeskorte2008_92 not found"
        in ran.err
    )

    base = identifier.partition("@")[0]
    by_id = cli(
        "-q", "score", "pixels", base, "--results", tmp_path / "by-id"
    )  # remembered from --probe
    assert by_id.code == 0, by_id
    assert (
        ResultsStore(tmp_path / "by-id").load("pixels", identifier).summary
        == ResultsStore(tmp_path / "alone").load("pixels", identifier).summary
    )
    run = cli("-q", "run", "-m", "pixels", "-b", identifier, "--results", tmp_path / "by-id")
    assert run.code == 0 and f"pixels  {identifier}  reused" in run.out, run
    cited = cli("cite", identifier)
    assert cited.code == 0 and "opielka2024saliency" in cited.out, cited
    verified = cli("-q", "verify", tmp_path / "by-id")
    assert verified.code == 0 and "1 verified" in verified.out, verified

    unknown = cli(
        "-q", "score", "pixels", "probe.saliency_semantic~0123456789ab", "--results", tmp_path / "x"
    )
    assert unknown.code == 2, unknown
    assert (
        unknown.error_line.startswith(
            "error: no probe folder with id probe.saliency_semantic~0123456789ab is known here"
        )
        and "--probe DIR" in unknown.error_line
    )


def test_two_pool_images_with_one_stem_are_named(cli, tmp_path) -> None:
    images = tmp_path / "photos"
    images.mkdir()
    for name in ("image_01.jpg", "image_01.png", "image_02.jpg"):
        Image.new("RGB", (32, 32), (200, 10, 10)).save(images / name)
    rows = [
        (name, f"a photo of {name}") for name in ("image_01.jpg", "image_01.png", "image_02.jpg")
    ]
    pd.DataFrame(rows, columns=["image", "caption"]).to_csv(tmp_path / "captions.csv", index=False)
    ran = cli(
        "probe",
        "build",
        "--pool",
        "folder",
        "--images",
        images,
        "--captions",
        tmp_path / "captions.csv",
        "--out",
        tmp_path / "probe",
    )
    assert ran.code == 2, ran
    assert (
        f"{images / 'image_01.jpg'} and {images / 'image_01.png'} would both be image 'image_01'"
        in ran.error_line
    )
    assert not (tmp_path / "probe").exists()
