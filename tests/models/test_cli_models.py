"""`brainalign models`, `brainalign extract` and the offline-weights line of `brainalign info`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_run import run_cli
from test_factories import MODEL_FILE

from brainalign.models import (
    extract_layer_rdms,
    list_models,
    load_model,
    read_layer_rdms,
    weights_available,
)
from brainalign.stimuli import StimulusSet


def run(args: list[str], capsys) -> tuple[int, str, str]:
    return run_cli(["--quiet", *args], capsys)


def test_models_table_marks_weights_on_this_machine(capsys):
    code, out, _ = run(["models"], capsys)
    assert code == 0
    rows = {
        line.split()[0]: line.split()
        for line in out.splitlines()[2:]
        if line.strip() and " " in line
    }
    assert rows["efficientnet_lite0"][-1] == "yes"
    assert rows["resnet50:untrained"][-1] == "n/a"
    assert set(rows) >= {"resnet50", "clip_vit_l_14", "pixels", "efficientnet_lite2:untrained"}


def test_models_json(capsys):
    code, out, _ = run(["models", "--json"], capsys)
    cards = {card["id"]: card for card in json.loads(out)}
    assert code == 0 and cards["efficientnet_lite1"]["weights_available"] is True
    assert cards["clip_rn50"]["objective"] == "CLIP" and "citation" in cards["clip_rn50"]


def test_models_lists_the_layers_of_a_model(capsys):
    code, out, _ = run(["models", "--layers", "efficientnet_lite0:untrained"], capsys)
    assert code == 0
    lines = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    assert lines["blocks.3.1"][1:] == ["block", lines["blocks.3.1"][2], "blocks"]
    assert lines["conv_stem"][1] == "convolution" and lines["conv_stem"][3] == "all"
    assert lines["classifier"][3] == "blocks,all"


def test_extract_writes_layer_rdms_without_pickles(stimuli_dir, tmp_path, capsys):
    out_file = tmp_path / "lite0.npz"
    code, out, err = run(
        [
            "extract",
            "efficientnet_lite0",
            "--stimuli",
            str(stimuli_dir),
            "--layers",
            "blocks.2.0,classifier",
            "--distance",
            "correlation",
            "--batch-size",
            "2",
            "--memory-budget",
            "50MB",
            "--device",
            "cpu",
            "--out",
            str(out_file),
        ],
        capsys,
    )
    assert code == 0, err
    assert "wrote 2 layer RDMs of efficientnet_lite0 on 5 stimuli" in out
    with np.load(out_file, allow_pickle=False) as data:
        assert list(data["layers"]) == ["blocks.2.0", "classifier"]
        assert str(data["distance"]) == "correlation" and len(data["stimulus_ids"]) == 5
        provenance = json.loads(str(data["provenance"]))
    assert provenance["model"]["weights_sha256"].startswith("57934424")
    assert provenance["stimuli"]["n"] == 5 and provenance["memory_budget"] == "50MB"
    saved, _ = read_layer_rdms(out_file)
    expected = extract_layer_rdms(
        load_model("efficientnet_lite0"),
        StimulusSet.from_folder(stimuli_dir),
        layers=["blocks.2.0", "classifier"],
        distance="correlation",
        batch_size=2,
        cache=False,
    )
    np.testing.assert_array_equal(saved.rdms.data, expected.rdms.data)
    assert saved.depths == expected.depths and saved.stimulus_ids == expected.stimulus_ids


def test_extract_a_model_file(stimuli_dir, tmp_path, capsys):
    model_file = tmp_path / "toy_model.py"
    model_file.write_text(MODEL_FILE)
    out_file = tmp_path / "toy.npz"
    code, _, err = run(
        [
            "extract",
            "--model-file",
            f"{model_file}:build",
            "--stimuli",
            str(stimuli_dir),
            "--preprocessing",
            "clip",
            "--out",
            str(out_file),
        ],
        capsys,
    )
    assert code == 0, err
    saved, provenance = read_layer_rdms(out_file)
    assert saved.model_id == "toy_net" and provenance["model"]["preprocessing"] == "clip"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["resnet50"], "--weights FILE"),
        (["nope"], "unknown model 'nope'"),
        ([], "exactly one"),
        (["pixels", "--memory-budget", "lots"], "is not a size"),
        (["pixels", "--layers", "pixelz"], "did you mean pixels"),
    ],
)
def test_extract_user_errors_are_one_line_with_status_2(
    args, message, stimuli_dir, tmp_path, capsys, monkeypatch
):
    from urllib.error import URLError

    import torch

    def offline(*_args, **_kwargs):
        raise URLError("offline")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    code, _, err = run(
        ["extract", *args, "--stimuli", str(stimuli_dir), "--out", str(tmp_path / "x.npz")], capsys
    )
    assert code == 2
    assert message in err and err.startswith("error: ") and err.count("\n") == 1
    assert not (tmp_path / "x.npz").exists()


def test_info_names_the_offline_weights(capsys):
    code, out, _ = run(["info"], capsys)
    line = next(line for line in out.splitlines() if line.startswith("offline weights"))
    listed = set(line.removeprefix("offline weights").strip().split(", "))
    expected = {
        c.id for c in list_models() if not c.untrained and c.weights_id and weights_available(c)
    }
    assert code == 0 and listed == expected and "efficientnet_lite0" in listed
