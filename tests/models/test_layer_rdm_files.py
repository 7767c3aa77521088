"""Layer RDMs on disk: save_layer_rdms / read_layer_rdms round trip exactly, the files are the same
bytes whenever they are written, and damaged files are one clear error."""

from __future__ import annotations

import json
import time
import zipfile

import numpy as np
import pytest
from models_reference import tiny_net, tiny_preprocess

from brainalign import BrainAlignError
from brainalign._files import write_npz_atomic
from brainalign.models import extract_layer_rdms, from_module, read_layer_rdms, save_layer_rdms
from brainalign.models.layer_rdm_files import provenance


@pytest.fixture
def saved(tmp_path, stimuli):
    model = from_module(
        tiny_net(), tiny_preprocess(32), layers=["conv1", "relu#2", "fc"], model_id="tiny"
    )
    layer_rdms = extract_layer_rdms(
        model, stimuli, distance="correlation", batch_size=2, cache=False
    )
    record = provenance(model, stimuli, distance="correlation", batch_size=2)
    return (
        save_layer_rdms(tmp_path / "out" / "tiny.npz", layer_rdms, record),
        layer_rdms,
        record,
        model,
    )


def test_read_layer_rdms_returns_what_save_layer_rdms_wrote(saved):
    path, layer_rdms, record, model = saved
    again, read_record = read_layer_rdms(path)
    np.testing.assert_array_equal(again.rdms.data, layer_rdms.rdms.data)
    assert again.rdms.data.dtype == np.float64
    assert again.layers == ("conv1", "relu#2", "fc") and again.depths == layer_rdms.depths
    assert again.stimulus_ids == layer_rdms.stimulus_ids and again.model_id == "tiny"
    assert again.rdms.distance == "correlation"
    assert read_record == json.loads(json.dumps(record, default=str))
    assert read_record["preprocess_sha256"] == model.preprocess_sha256
    assert read_record["module_sha256"] == model.state_sha256()
    with np.load(path, allow_pickle=False) as data:  # plain arrays only
        assert all(data[key].dtype != object for key in data.files)


def test_saved_files_are_the_same_bytes_whenever_written(saved, tmp_path, monkeypatch):
    path, layer_rdms, record, _ = saved
    monkeypatch.setattr(time, "time", lambda: 1.7e9)  # zip entries would carry the write time
    first = save_layer_rdms(tmp_path / "a.npz", layer_rdms, record).read_bytes()
    monkeypatch.setattr(time, "time", lambda: 1.8e9)
    second = save_layer_rdms(tmp_path / "b.npz", layer_rdms, record).read_bytes()
    assert first == second == path.read_bytes()


def test_a_truncated_file_is_a_user_error_naming_the_file(saved):
    path = saved[0]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # an interrupted copy
    with pytest.raises(zipfile.BadZipFile):
        np.load(path, allow_pickle=False)  # what read_layer_rdms must not let through
    with pytest.raises(BrainAlignError) as error:
        read_layer_rdms(path)
    assert str(path) in str(error.value) and "delete it and write it again" in str(error.value)


def test_foreign_and_missing_files_are_user_errors(tmp_path):
    foreign = tmp_path / "foreign.npz"
    write_npz_atomic(foreign, {"rdm": np.zeros(3)})
    with pytest.raises(BrainAlignError, match="not a readable brainalign layer RDM file"):
        read_layer_rdms(foreign)
    with pytest.raises(BrainAlignError, match="does not exist"):
        read_layer_rdms(tmp_path / "missing.npz")


def test_the_npz_writer_refuses_pickles_and_leaves_nothing_behind(tmp_path):
    with pytest.raises(ValueError, match="allow_pickle"):
        write_npz_atomic(
            tmp_path / "x.npz", {"ok": np.arange(3), "bad": np.array([{}], dtype=object)}
        )
    assert list(tmp_path.iterdir()) == []
