"""Data a spec file names, as a careless or hostile user may hand it over, meets the same rules as
every loader's data (brainalign.neural_data.collection), checked before any model runs: a repeated
stimulus id or two images with one stem are named (file and id), missing values leave a subject
out (none complete: one line saying so), negative dissimilarities are refused (unless the distance
is signed by design), a single subject is scored with a warning and no ceiling, and an array header
that declares more than its file holds is one error naming the file, never a MemoryError."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest
from fault_helpers import IDS, spec_data, spec_file, write_rdms
from PIL import Image
from scipy.spatial.distance import squareform

from brainalign.results import ResultsStore


@pytest.fixture
def run(cli, caplog, tmp_path):
    """``brainalign -q score pixels SPEC...`` into the test's results; warnings (logged) and stderr
    together in ``err``."""

    def score(*specs: Path):
        caplog.clear()
        ran = cli("-q", "score", "pixels", *specs, "--results", tmp_path / "results")
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        return ran, warnings

    return score


def _stored(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "results").rglob("*.json"))


def test_a_repeated_stimulus_id_is_named_with_its_file(run, tmp_path) -> None:
    squares = spec_data(tmp_path)
    write_rdms(tmp_path, squares, [*IDS[:6], "img03", *IDS[7:]])
    ran, _ = run(spec_file(tmp_path))
    assert ran.code == 2, ran
    assert ran.error_line.startswith("error: toylab.bench.") and ran.error_line.endswith(
        f"cannot be scored: stimulus list {tmp_path / 'stimuli.txt'} names stimulus 'img03' more than once "
        "(lines 3, 7); each stimulus id must appear once, in the RDMs' row order"
    )
    assert not _stored(tmp_path)


def test_a_repeated_stimulus_id_in_an_rsatoolbox_file_is_named(run, tmp_path) -> None:
    import rsatoolbox

    squares = spec_data(tmp_path)
    stored = rsatoolbox.rdm.RDMs(
        np.stack([squareform(s) for s in squares]),
        dissimilarity_measure="judgement",
        pattern_descriptors={"stimulus_id": [*IDS[:-1], "img01"]},
    )
    stored.save(str(tmp_path / "rdms.hdf5"), file_type="hdf5")
    ran, _ = run(spec_file(tmp_path, fmt="rsatoolbox", rdms="rdms.hdf5"))
    assert ran.code == 2, ran
    assert (
        f"{tmp_path / 'rdms.hdf5'} (pattern descriptor 'stimulus_id') names stimulus 'img01' more than once"
        in ran.error_line
    )


def test_two_images_with_one_stem_are_named(run, tmp_path) -> None:
    spec_data(tmp_path)
    Image.new("RGB", (8, 8)).save(tmp_path / "images" / "img04.jpg")
    ran, _ = run(spec_file(tmp_path))
    assert ran.code == 2, ran
    assert (
        f"{tmp_path / 'images'} holds img04.jpg and img04.png, which would both be stimulus 'img04'"
        in ran.error_line
    )


@pytest.mark.parametrize("value", [np.inf, np.nan])
def test_missing_values_in_every_subject_are_one_line_saying_so(run, tmp_path, value) -> None:
    squares = spec_data(tmp_path)
    squares[:, 2, 5] = squares[:, 5, 2] = value
    write_rdms(tmp_path, squares)
    ran, _ = run(spec_file(tmp_path))
    assert ran.code == 2, ran
    assert ran.error_line.startswith("error: toylab.bench.")
    assert (
        f"target shapes: every subject's RDM in {tmp_path / 'judgements.npy'} has missing values (NaN or "
        "infinite), so no subject is left to score"
    ) in ran.error_line
    assert "target.roi" not in ran.err and not _stored(tmp_path)


def test_missing_values_in_one_subject_leave_it_out_and_say_so(run, tmp_path) -> None:
    squares = spec_data(tmp_path)
    squares[1, 2, 5] = squares[1, 5, 2] = np.inf
    write_rdms(tmp_path, squares)
    ran, warnings = run(spec_file(tmp_path))
    assert ran.code == 0, ran
    (result,) = ResultsStore(tmp_path / "results").load_all(strict=True).results
    assert result.extra["n_subjects"] == 3
    assert result.extra["left_out"] == [
        (
            f"sub02 shapes: 1 of 45 dissimilarities missing (NaN or infinite) in "
            f"{tmp_path / 'judgements.npy'}, e.g. img03–img06; a subject with missing "
            "values is left out"
        )
    ]
    assert any("sub02 shapes: 1 of 45" in w for w in warnings)


def test_negative_dissimilarities_are_refused_naming_the_subject_and_a_pair(run, tmp_path) -> None:
    squares = spec_data(tmp_path)
    squares[2] -= 1.5  # similarities, or centred values: not distances
    np.fill_diagonal(squares[2], 0.0)
    write_rdms(tmp_path, squares)
    ran, _ = run(spec_file(tmp_path))
    assert ran.code == 2, ran
    assert (
        f"{tmp_path / 'judgements.npy'}: shapes of subject sub03 holds negative dissimilarities"
        in ran.error_line
        and "e.g. " in ran.error_line
        and "img01–img" in ran.error_line
    )
    assert "crossnobis" in ran.error_line and not _stored(tmp_path)
    # a distance that is negative by design (cross-validated) is scored as it is
    signed = spec_file(
        tmp_path,
        name="signed",
        rdms="judgements.npy",
        stimulus_list="stimuli.txt",
        distance="crossnobis",
    )
    ran, _ = run(signed)
    assert ran.code == 0, ran


def test_a_single_subject_is_scored_with_a_warning_and_no_ceiling(run, tmp_path) -> None:
    spec_data(tmp_path, n_subjects=1)
    ran, warnings = run(spec_file(tmp_path))
    assert ran.code == 0, ran
    assert any(
        "has a single subject" in w and "no noise ceiling" in w and "judgements.npy" in w
        for w in warnings
    )
    (result,) = ResultsStore(tmp_path / "results").load_all(strict=True).results
    assert result.extra["n_subjects"] == 1
    assert result.summary["brain_similarity"]["value"] is not None
    assert result.summary["brain_similarity"]["normalised"] is None
    assert result.summary["noise_ceiling"]["upper"] is None


def _huge_header(shape: tuple[int, ...] = (10**8, 10**8)) -> bytes:
    """A .npy header declaring a float64 array of 80 petabytes, followed by a few bytes."""
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue() + b"\0" * 64


def test_an_npy_header_declaring_more_than_the_file_holds_is_named(run, tmp_path) -> None:
    spec_data(tmp_path)
    (tmp_path / "judgements.npy").write_bytes(_huge_header())
    ran, _ = run(spec_file(tmp_path))
    assert ran.code == 2, ran
    assert (
        f"{tmp_path / 'judgements.npy'} is not a readable .npy file: it declares shape (100000000, 100000000) "
        "(float64, 80,000,000,000,000,000 bytes) but holds 64 bytes of data"
    ) in ran.error_line
    assert "MemoryError" not in ran.err and "Traceback" not in ran.err


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_an_npz_member_header_declaring_more_than_it_holds_is_named(
    run, tmp_path, compression
) -> None:
    spec_data(tmp_path)
    (tmp_path / "net2brain").mkdir()
    npz = tmp_path / "net2brain" / "fmri_shapes_RDMs.npz"
    with zipfile.ZipFile(npz, "w", compression) as archive:
        archive.writestr("rdm.npy", _huge_header())
    ran, _ = run(spec_file(tmp_path, fmt="npz", rdms="net2brain"))
    assert ran.code == 2, ran
    assert (
        f"{npz} is not a readable .npz file: its array 'rdm' declares shape (100000000, 100000000)"
        in ran.error_line
    )
    assert "MemoryError" not in ran.err and "Traceback" not in ran.err


@pytest.mark.parametrize("damage", ["random bytes", "decompression bomb"])
def test_an_image_that_cannot_be_read_stops_the_run_before_any_model_runs(
    run, tmp_path, damage
) -> None:
    spec_data(tmp_path)
    image = tmp_path / "images" / "img05.png"
    if damage == "random bytes":
        image.write_bytes(bytes(range(256)) * 4)
    else:  # a few kilobytes that would decode to 196 million pixels (over PIL's limit)
        Image.new("1", (14_000, 14_000)).save(image)
    ran, _ = run(spec_file(tmp_path))
    assert ran.code == 2, ran
    assert f"stimulus image {image} cannot be read" in ran.error_line and "Traceback" not in ran.err
    assert not (tmp_path / "results").exists()


def test_bad_data_stops_the_run_before_any_result_is_stored(run, tmp_path) -> None:
    good, bad = tmp_path / "good", tmp_path / "bad"
    spec_data(good)
    squares = spec_data(bad)
    squares[0] = -squares[0]
    write_rdms(bad, squares)
    ran, _ = run(spec_file(good), spec_file(bad))
    assert ran.code == 2, ran
    assert "negative dissimilarities" in ran.error_line
    assert not (tmp_path / "results").exists()
