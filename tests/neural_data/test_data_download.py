"""Downloads through a real local HTTP server: verified files land, anything else never does."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import urllib.error
from pathlib import Path

import pytest

from brainalign.errors import BrainAlignError
from brainalign.neural_data import download as download_module
from brainalign.neural_data import locations
from brainalign.neural_data.catalogue import DataFile
from brainalign.neural_data.download import download

PAYLOAD = b"RDM bytes " * 5000  # 50 kB: several read blocks


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _only_file(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_download_lands_verified_file(file_server, tmp_path: Path) -> None:
    file_server.files["a.npz"] = PAYLOAD
    target = tmp_path / "sub" / "a.npz"
    digest = download(file_server.url("a.npz"), target, sha256=sha256(PAYLOAD), size=len(PAYLOAD))
    assert target.read_bytes() == PAYLOAD
    assert digest == sha256(PAYLOAD)
    assert _only_file(target.parent) == ["a.npz"]  # no temporary file left behind


def test_corrupt_payload_never_lands(file_server, tmp_path: Path) -> None:
    corrupt = bytearray(PAYLOAD)
    corrupt[100] ^= 0xFF  # same size, one flipped byte
    file_server.files["a.npz"] = bytes(corrupt)
    target = tmp_path / "a.npz"
    with pytest.raises(BrainAlignError, match="expected " + sha256(PAYLOAD)):
        download(file_server.url("a.npz"), target, sha256=sha256(PAYLOAD), size=len(PAYLOAD))
    assert _only_file(tmp_path) == []


def test_corrupt_payload_keeps_the_old_intact_file(file_server, tmp_path: Path) -> None:
    target = tmp_path / "a.npz"
    target.write_bytes(PAYLOAD)
    file_server.files["a.npz"] = b"x" * len(PAYLOAD)
    with pytest.raises(BrainAlignError, match="corrupt"):
        download(file_server.url("a.npz"), target, sha256=sha256(PAYLOAD))
    assert target.read_bytes() == PAYLOAD
    assert _only_file(tmp_path) == ["a.npz"]


def test_truncated_stream_never_lands(file_server, tmp_path: Path) -> None:
    file_server.files["a.npz"] = PAYLOAD[:1000]
    file_server.announce["a.npz"] = len(PAYLOAD)  # the server promises more than it sends
    with pytest.raises(BrainAlignError, match="stopped"):
        download(file_server.url("a.npz"), tmp_path / "a.npz", sha256=None)
    assert _only_file(tmp_path) == []


def test_wrong_size_is_rejected_even_without_checksum(file_server, tmp_path: Path) -> None:
    file_server.files["a.npz"] = PAYLOAD[:-1]
    with pytest.raises(BrainAlignError, match=f"expected {len(PAYLOAD)}"):
        download(file_server.url("a.npz"), tmp_path / "a.npz", sha256=None, size=len(PAYLOAD))
    assert _only_file(tmp_path) == []


def test_http_error_names_url_and_fix(file_server, tmp_path: Path) -> None:
    with pytest.raises(BrainAlignError, match=r"HTTP 404.*--data-dir") as err:
        download(file_server.url("absent.npz"), tmp_path / "a.npz", sha256=None)
    assert file_server.url("absent.npz") in str(err.value)
    assert _only_file(tmp_path) == []


def test_network_failure_at_the_boundary(monkeypatch, tmp_path: Path) -> None:
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(download_module, "urlopen", offline)
    with pytest.raises(BrainAlignError, match=r"no route to host.*BRAINALIGN_DATA"):
        download("https://example.org/x.npz", tmp_path / "x.npz", sha256=None)
    assert _only_file(tmp_path) == []


def test_disk_full_mid_stream_never_lands(file_server, monkeypatch, tmp_path: Path) -> None:
    file_server.files["a.npz"] = PAYLOAD

    class FullDisk(io.FileIO):  # room for half the payload
        def write(self, block):
            if self.tell() + len(block) > len(PAYLOAD) // 2:
                super().write(bytes(block)[: len(PAYLOAD) // 2 - self.tell()])
                raise OSError(errno.ENOSPC, "No space left on device")
            return super().write(block)

    monkeypatch.setattr(
        download_module, "open", lambda path, mode: FullDisk(path, mode), raising=False
    )
    with pytest.raises(
        BrainAlignError, match=r"cannot write .*a\.npz: No space left on device \(errno 28\)"
    ):
        download(file_server.url("a.npz"), tmp_path / "a.npz", sha256=None)
    assert _only_file(tmp_path) == []


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch, no_local_data) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("BRAINALIGN_CACHE", str(cache))
    return cache


def test_fetch_downloads_into_cache_layout_and_skips_intact_files(
    file_server, register_dataset, own_cache: Path
) -> None:
    files = {"fmri_X_RDMs.npz": PAYLOAD, "stimuli/image_01.jpg": b"jpeg" * 10}
    for name, body in files.items():
        file_server.files[name] = body
    register_dataset(
        "toy",
        [
            DataFile(name, file_server.url(name), sha256(body), len(body))
            for name, body in files.items()
        ],
    )
    location = locations.fetch("toy")
    assert location.folder == own_cache / "data" / "toy"
    assert location.origin == "cache"
    for name, body in files.items():
        assert (location.folder / name).read_bytes() == body
    assert locations.fetch("toy").ok
    assert file_server.requests == {
        name: 1 for name in files
    }  # the second fetch downloaded nothing
    locations.fetch("toy", force=True)
    assert file_server.requests == {name: 2 for name in files}


def test_fetch_replaces_a_corrupt_cached_file(
    file_server, register_dataset, own_cache: Path
) -> None:
    file_server.files["a.npz"] = PAYLOAD
    register_dataset(
        "toy", [DataFile("a.npz", file_server.url("a.npz"), sha256(PAYLOAD), len(PAYLOAD))]
    )
    folder = locations.fetch("toy").folder
    (folder / "a.npz").write_bytes(b"y" * len(PAYLOAD))
    with pytest.raises(BrainAlignError, match="sha256"):
        locations.locate("toy")
    assert locations.fetch("toy").ok
    assert (folder / "a.npz").read_bytes() == PAYLOAD


def test_failed_fetch_leaves_no_file(file_server, register_dataset, own_cache: Path) -> None:
    file_server.files["a.npz"] = PAYLOAD
    register_dataset(
        "toy", [DataFile("sub/a.npz", file_server.url("a.npz"), "0" * 64, len(PAYLOAD))]
    )
    with pytest.raises(BrainAlignError, match="expected 0000"):
        locations.fetch("toy")
    assert not (own_cache / "data" / "toy").exists()  # no empty data set folder either


def test_unpinned_files_are_recorded_and_then_checked(
    file_server, register_dataset, own_cache: Path
) -> None:
    file_server.files["a.npz"] = PAYLOAD
    register_dataset("toy", [DataFile("a.npz", file_server.url("a.npz"), None, None)])
    location = locations.fetch("toy")
    record = json.loads((location.folder / locations.FETCH_RECORD).read_text())
    assert record == {"a.npz": sha256(PAYLOAD)}
    assert [c.status for c in locations.locate("toy").checks] == ["ok"]
    (location.folder / "a.npz").write_bytes(b"changed")
    with pytest.raises(BrainAlignError, match=f"expected sha256 {sha256(PAYLOAD)}"):
        locations.locate("toy")


def test_not_fetchable_dataset_says_how_to_obtain(register_dataset, own_cache: Path) -> None:
    register_dataset("closed", [], fetchable=False, obtain="ask the authors for it")
    with pytest.raises(BrainAlignError, match="ask the authors"):
        locations.fetch("closed")
