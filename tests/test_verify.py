"""Submissions that verify themselves: `brainalign verify` re-scores results from their provenance.

On real data with a small network given as FILE.py:FUNCTION: an untouched store verifies; a copy
with one number edited by hand is caught, and so is one where the number and every checksum in the
file were changed to fit; what is missing is named. The number comparison itself is checked
against planted differences."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_run import run_cli
from synthetic_results import make_result

from brainalign.cli import main
from brainalign.results import Result, ResultsStore
from brainalign.results.agreement import TOLERANCE, compare_numbers
from brainalign.results.verification_record import read_record, record_path

BENCH = "mur2013.judgements@2"

NET = """import torch, torchvision.transforms as T
from brainalign.models import from_module


def build():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 5, stride=4), torch.nn.ReLU(),
                              torch.nn.Conv2d(8, 8, 3, stride=2), torch.nn.ReLU(), torch.nn.Flatten())
    return from_module(net, T.Compose([T.Resize(48), T.ToTensor()]), layers="all", model_id="tiny")
"""


def run(argv: list[str], capsys) -> tuple[int, str]:
    code, out, err = run_cli(argv, capsys)
    return code, " ".join((out + err).split())  # messages are wrapped for the terminal


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> tuple[Path, Path]:
    """A results folder with the tiny network (a FILE.py model) and the pixel baseline scored on
    the similarity judgements (and the pixels on its version 1): scored once, copied by each test that changes it."""
    folder = tmp_path_factory.mktemp("verify")
    (folder / "tiny.py").write_text(NET)
    results = folder / "results"
    for model in (f"{folder / 'tiny.py'}:build", "pixels"):
        main(
            [
                "-q",
                "score",
                model,
                "mur2013.judgements",
                "--results",
                str(results),
                "--data-dir",
                str(shared_data),
            ]
        )
    # version 1 (the subject-only interval) stays computable, and verifiable
    main(
        [
            "-q",
            "score",
            "pixels",
            "mur2013.judgements@1",
            "--results",
            str(results),
            "--data-dir",
            str(shared_data),
        ]
    )
    return folder, results


@pytest.fixture
def store(scored, tmp_path: Path) -> Path:
    """A copy of the scored results (no verification records yet)."""
    copy = tmp_path / "copy"
    shutil.copytree(scored[1], copy, ignore=shutil.ignore_patterns("*.verification"))
    return copy


def test_provenance_records_what_bit_identity_depends_on(scored) -> None:
    folder, results = scored
    provenance = ResultsStore(results).load("tiny", BENCH).provenance
    assert provenance["model_file"]["path"] == str((folder / "tiny.py").resolve())
    assert (
        provenance["model_file"]["function"] == "build"
        and len(provenance["model_file"]["sha256"]) == 64
    )
    assert len(provenance["parameters_sha256"]) == len(provenance["preprocess_sha256"]) == 64
    assert (
        provenance["environment"]["libraries"]["torch"]
        and provenance["environment"]["torch_threads"] >= 1
    )
    assert (
        provenance["batch_size"] == 32
        and provenance["seed"] == 0
        and provenance["layer_policy"] == "all"
    )


def test_an_untouched_store_verifies_and_records_it_without_changing_the_results(
    store, shared_data, capsys
) -> None:
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    code, out = run(["-q", "verify", str(store), "--data-dir", str(shared_data)], capsys)
    assert code == 0, out
    assert "3 verified" in out and "differs" not in out
    assert {p: p.read_bytes() for p in before} == before  # the results' files are untouched
    for path in before:
        if path.suffix == ".json":
            record, result = read_record(path), Result.read(path)
            assert record is not None and record.stands_for(result)
            assert record.n_checked > 4 * len(
                result.layerwise
            )  # every number of every row, and the summary
            assert record.max_difference <= TOLERANCE
            assert record.versions["libraries"]["torch"] and record.verified_at.endswith("Z")


def test_a_number_edited_by_hand_is_caught(store, shared_data, capsys) -> None:
    path = store / "tiny" / f"{BENCH}.json"
    document = json.loads(path.read_text())
    document["summary"]["brain_similarity"]["value"] += 0.05
    path.write_text(json.dumps(document))
    code, out = run(["-q", "verify", str(store), "--data-dir", str(shared_data)], capsys)
    assert code == 1, out
    assert "2 verified, 1 differs" in out
    assert (
        "does not match its content id" in out and "summary.brain_similarity.value: recorded" in out
    )
    assert read_record(path).status == "differs"


def test_a_number_changed_with_every_checksum_made_to_fit_is_caught(
    store, shared_data, capsys
) -> None:
    path = store / "tiny" / f"{BENCH}.json"
    forged = Result.read(path)
    forged.summary["brain_similarity"]["value"] += 0.05
    forged.layerwise.loc[3, "value"] += 0.01
    forged.write(path)  # a well-formed file: new table sha256, new content id
    assert Result.read(path).content_id() == json.loads(path.read_text())["id"]
    code, out = run(["-q", "verify", str(path), "--data-dir", str(shared_data)], capsys)
    assert code == 1 and "differs" in out and "content id" not in out
    assert "summary.brain_similarity.value: recorded" in out and "(off by 0.05)" in out
    assert (
        ".value: recorded" in out.split("summary.brain_similarity.value")[1]
    )  # the layerwise row too


def test_what_is_missing_is_named_and_can_be_supplied(
    store, scored, shared_data, tmp_path: Path, capsys
) -> None:
    _folder, _ = scored
    moved = tmp_path / "elsewhere.py"
    moved.write_text(NET)
    json_path = store / "tiny" / f"{BENCH}.json"
    result = Result.read(json_path)
    result.provenance["model_file"]["path"] = str(tmp_path / "gone.py")
    result.write(json_path)
    code, out = run(["-q", "verify", str(json_path), "--data-dir", str(shared_data)], capsys)
    assert code == 1 and "cannot verify" in out
    assert "gone.py" in out and "--model-file FILE.py:FUNCTION" in out
    assert not record_path(json_path).exists()  # nothing was checked, nothing is recorded
    code, out = run(
        [
            "-q",
            "verify",
            str(json_path),
            "--data-dir",
            str(shared_data),
            "--model-file",
            f"{moved}:build",
        ],
        capsys,
    )
    assert code == 0, out
    moved.write_text(
        NET.replace("Conv2d(8, 8, 3", "Conv2d(8, 8, 5")
    )  # other code under the same id
    code, out = run(
        [
            "-q",
            "verify",
            str(json_path),
            "--data-dir",
            str(shared_data),
            "--model-file",
            f"{moved}:build",
        ],
        capsys,
    )
    assert code == 1 and "the model built here is not the one scored: its parameters sha256" in out


def test_a_model_given_as_a_python_object_needs_its_code(
    shared_data, tmp_path: Path, capsys
) -> None:
    import importlib.util

    import brainalign

    (tmp_path / "net.py").write_text(NET)
    spec = importlib.util.spec_from_file_location("net_for_verify", tmp_path / "net.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    brainalign.score(
        module.build(), ["mur2013.judgements"], results=tmp_path / "results", data_dir=shared_data
    )
    code, out = run(
        ["-q", "verify", str(tmp_path / "results"), "--data-dir", str(shared_data)], capsys
    )
    assert code == 1 and "given as a Python object (from_module)" in out
    code, out = run(
        [
            "-q",
            "verify",
            str(tmp_path / "results"),
            "--data-dir",
            str(shared_data),
            "--model-file",
            f"{tmp_path / 'net.py'}:build",
        ],
        capsys,
    )
    assert code == 0, out


def test_missing_data_and_unknown_benchmarks_cannot_be_verified(
    store, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.delenv("BRAINALIGN_DATA", raising=False)
    code, out = run(["-q", "verify", str(store / "pixels"), "--data-dir", str(tmp_path)], capsys)
    assert (
        code == 1
        and "its data is not here" in out
        and "brainalign data fetch kriegeskorte2008_92" in out
    )
    result = make_result("some_model", "kriegeskorte2008.hIT@1")
    result.provenance["benchmark"]["id"] = "otherlab.benchmark"
    path = ResultsStore(tmp_path / "other").save(
        Result(
            result.model_id,
            "otherlab.benchmark@1",
            result.summary,
            result.layerwise,
            result.provenance,
        )
    )
    code, out = run(["-q", "verify", str(path)], capsys)
    assert (
        code == 1 and "benchmark otherlab.benchmark@1 is not known here" in out and "--spec" in out
    )


# --- the comparison of numbers, against planted differences ----------------------------------------


def test_compare_numbers_finds_exactly_the_planted_differences() -> None:
    a = make_result("efficientnet_lite0", BENCH)
    assert compare_numbers(a, make_result("efficientnet_lite0", BENCH)).agree
    b = make_result("efficientnet_lite0", BENCH)
    b.summary["brain_similarity"]["ci_low"] += TOLERANCE / 2  # within the contract
    b.summary["noise_ceiling"]["upper"] += 3 * TOLERANCE  # outside it
    b.layerwise.loc[5, "value"] -= 0.25
    b.summary["brain_similarity_max"]["layer"] = "blocks.0"
    comparison = compare_numbers(a, b)
    found = {d.where: d for d in comparison.differences}
    row = a.layerwise.loc[5]
    cell = f"layerwise[{row.layer}, {row.layer_index}, {row.target}, {row.subject}, ].value"
    assert set(found) == {"summary.noise_ceiling.upper", cell, "summary.brain_similarity_max.layer"}
    assert found[cell].size == pytest.approx(0.25) and found[
        "summary.noise_ceiling.upper"
    ].size == pytest.approx(3e-6)
    assert (
        comparison.differences[0].where == "summary.brain_similarity_max.layer"
    )  # texts first, then by size
    assert comparison.max_difference == pytest.approx(TOLERANCE / 2)
    c = make_result("efficientnet_lite0", BENCH)
    c.layerwise = c.layerwise.drop(index=7).reset_index(drop=True)
    assert any(d.recomputed == "absent" for d in compare_numbers(a, c).differences)


def test_fields_a_newer_version_adds_are_not_differences_but_lost_numbers_are() -> None:
    recorded = make_result("efficientnet_lite0", BENCH)
    newer = make_result("efficientnet_lite0", BENCH)
    newer.summary["noise_ceiling"]["reliable"] = True  # reported beside the recorded numbers
    newer.extra["dropped_layers"] = [{"layer": "head", "reason": "constant RDM"}]
    assert compare_numbers(recorded, newer).agree
    assert not compare_numbers(newer, recorded).agree  # a recorded number the recomputation lacks
    # a recorded row of NaN only (a layer whose RDM could not be compared) may be dropped since
    recorded.layerwise.loc[7, ["value", "ci_low", "ci_high"]] = float("nan")
    recorded.extra["layer_means"] = {"blocks.0": 0.25, "head": None}
    dropped = make_result("efficientnet_lite0", BENCH)
    dropped.layerwise = dropped.layerwise.drop(index=7).reset_index(drop=True)
    dropped.extra["layer_means"] = {"blocks.0": 0.25}
    assert compare_numbers(recorded, dropped).agree
