"""The data catalogue is complete, pinned and matches the real files; lookup order and error messages."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io

from brainalign._files import sha256_file
from brainalign.errors import BrainAlignError
from brainalign.neural_data import datasets, get_dataset, locate, locations, objects92
from brainalign.neural_data.catalogue import DataFile, bibtex_entry

RAW_COMMIT_URL = re.compile(
    r"^https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/\S+$"
)


def test_every_file_has_a_commit_pinned_url_and_checksums_where_pinned() -> None:
    for dataset in datasets():
        assert dataset.title and dataset.description and dataset.licence and dataset.citations
        for key in dataset.citations:
            assert bibtex_entry(key).startswith("@")
        if not dataset.fetchable:
            assert dataset.obtain, dataset.name
        for entry in dataset.files:
            assert RAW_COMMIT_URL.match(entry.url), entry.url
            if entry.pinned:
                assert re.fullmatch(r"[0-9a-f]{64}", entry.sha256 or "")
                assert entry.size and entry.size > 0


def test_only_the_78_image_set_is_unpinned() -> None:
    unpinned = {d.name for d in datasets() if any(not f.pinned for f in d.files)}
    assert unpinned == {"algonauts2019_78"}
    assert "NOT pinned" in get_dataset("algonauts2019_78").description


def test_catalogue_matches_the_readme_checksums(shared_data: Path) -> None:
    readme = (shared_data / "README.md").read_text()
    documented = dict(
        re.findall(r"^\| (\S+\.(?:npz|mat)) \|.*\| ([0-9a-f]{64}) \|$", readme, re.MULTILINE)
    )
    registered = {
        f.path: f.sha256
        for name in ("algonauts2019_92", "kriegeskorte2008_92")
        for f in get_dataset(name).files
        if not f.path.startswith("stimuli/")
    }
    assert documented == registered


@pytest.mark.parametrize("name", ["algonauts2019_92", "kriegeskorte2008_92"])
def test_real_files_verify(shared_data: Path, name: str) -> None:
    dataset = get_dataset(name)
    for entry in dataset.files:  # independent of the store's memoised hashing
        path = shared_data / name / entry.path
        assert sha256_file(path) == entry.sha256
        assert path.stat().st_size == entry.size
    location = locate(name, shared_data)
    assert location.origin == "data-dir" and location.ok
    assert location.checksums() == {f.path: f.sha256 for f in dataset.files}


def test_shipped_categories_equal_the_mat_file(shared_data: Path) -> None:
    mat = scipy.io.loadmat(
        shared_data / "kriegeskorte2008_92" / "Kriegeskorte_Neuron2008_supplementalData.mat"
    )
    vectors = pd.DataFrame(
        mat["categoryVectors"], columns=[str(label[0]) for label in mat["categoryLabels"][0]]
    )
    table = objects92.categories()
    assert list(table.index) == list(objects92.object_ids())
    np.testing.assert_array_equal(table["animate"], vectors["animate"] == 1)
    np.testing.assert_array_equal(table["face"], vectors["face"] == 1)
    np.testing.assert_array_equal(table["body"], vectors["body"] == 1)
    np.testing.assert_array_equal(table["human"], vectors["human"] == 1)
    # the README's block structure: 12 human bodies, 12 faces, 12 animal bodies, 12 faces, 23, 21
    blocks = table["category"].tolist()
    assert blocks == (
        ["human bodypart"] * 12
        + ["human face"] * 12
        + ["nonhuman bodypart"] * 12
        + ["nonhuman face"] * 12
        + ["natural inanimate"] * 23
        + ["artificial inanimate"] * 21
    )


# --- lookup order and messages, on a small fake data set ------------------------------------------
@pytest.fixture
def toy(register_dataset, tmp_path: Path, monkeypatch):
    body = b"hello RDM"
    import hashlib

    digest = hashlib.sha256(body).hexdigest()
    register_dataset(
        "toy", [DataFile("rdm.npz", "https://example.invalid/rdm.npz", digest, len(body))]
    )
    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("BRAINALIGN_DATA", raising=False)
    local = tmp_path / "local"
    cached = tmp_path / "cache" / "data"
    for root in (local, cached):
        (root / "toy").mkdir(parents=True)
        (root / "toy" / "rdm.npz").write_bytes(body)
    return local, cached, digest


def test_data_dir_is_used_before_the_cache(toy) -> None:
    local, cached, _ = toy
    assert locate("toy", local).folder == local / "toy"
    assert locate("toy").folder == cached / "toy"


def test_environment_variable_names_the_data_dir(toy, monkeypatch) -> None:
    local, _, _ = toy
    monkeypatch.setenv("BRAINALIGN_DATA", str(local))
    assert locate("toy").origin == "data-dir"


def test_data_dir_without_the_dataset_falls_back_to_cache(toy, tmp_path: Path) -> None:
    _, cached, _ = toy
    (tmp_path / "elsewhere").mkdir()
    assert locate("toy", tmp_path / "elsewhere").folder == cached / "toy"


def test_corrupt_local_file_is_an_error_not_a_fallback(toy) -> None:
    local, _, digest = toy
    (local / "toy" / "rdm.npz").write_bytes(b"hello RDN")  # same size, different bytes
    with pytest.raises(BrainAlignError) as err:
        locate("toy", local)
    message = str(err.value)
    assert str(local / "toy" / "rdm.npz") in message and digest in message
    assert "https://example.invalid/rdm.npz" in message


def test_missing_file_names_file_checksum_and_fetch(toy) -> None:
    _, cached, digest = toy
    (cached / "toy" / "rdm.npz").unlink()
    with pytest.raises(
        BrainAlignError, match=rf"rdm\.npz is missing \(expected sha256 {digest}\).*data fetch toy"
    ):
        locate("toy")


def test_absent_dataset_says_where_it_looked_and_how_to_fetch(toy, tmp_path: Path) -> None:
    _, cached, _ = toy
    shutil.rmtree(cached / "toy")
    with pytest.raises(BrainAlignError, match=r"not found.*brainalign data fetch toy"):
        locate("toy")


def test_unknown_dataset_suggests_close_names() -> None:
    with pytest.raises(BrainAlignError, match="did you mean algonauts2019_92"):
        get_dataset("algonauts2019_93")


def test_truncated_file_is_reported_by_size(toy) -> None:
    local, _, _ = toy
    (local / "toy" / "rdm.npz").write_bytes(b"hello")
    checks = locations.find("toy", local).checks
    assert [c.status for c in checks] == ["size"]
    with pytest.raises(BrainAlignError, match="has 5 bytes, expected 9"):
        locate("toy", local)
