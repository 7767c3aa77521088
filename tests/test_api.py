"""The API's scoring runs: results saved and reused, skipped benchmarks explained, the CLI (that
killed runs resume is tests/faults/test_killed_runs.py's)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch
import torchvision.transforms as T
from synthetic_data import SYNTHETIC_BENCHMARK

from brainalign import BrainAlignError, api, execution
from brainalign.benchmarks import Availability, Benchmark, BenchmarkScore
from brainalign.benchmarks import get as get_benchmark
from brainalign.cli import main
from brainalign.models import from_module
from brainalign.results import ResultsStore
from brainalign.stimuli import StimulusSet

HUMAN = "kriegeskorte2008.hIT"


def tiny_model(model_id: str = "tiny"):
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 5, stride=4), torch.nn.Tanh(), torch.nn.Flatten()
    )
    return from_module(
        net, T.Compose([T.Resize((32, 32)), T.ToTensor()]), layers="all", model_id=model_id
    )


def test_score_saves_then_reuses_without_loading_the_model(
    shared_data, tmp_path, monkeypatch
) -> None:
    first = api.score("pixels", HUMAN, results=tmp_path, data_dir=shared_data)
    assert [o.status for o in first] == ["scored"]
    stored = ResultsStore(tmp_path).load("pixels", f"{HUMAN}@2")
    assert stored.content_id() == first[0].result.content_id()
    assert (
        stored.provenance["seed"] == 0 and stored.provenance["layer_policy"] == "all"
    )  # the pixel baseline's policy
    assert set(stored.provenance["stimuli_sha256"]) == {"kriegeskorte2008_92"}
    assert set(stored.provenance["stimulus_ids_sha256"]) == {
        "kriegeskorte2008_92"
    }  # which stimuli, not pixels
    assert stored.provenance["data_checksums"]

    def no_loading(*args, **kwargs):
        raise AssertionError("a reused result must not load the model")

    monkeypatch.setattr(execution, "load_model", no_loading)
    again = api.score("pixels", HUMAN, results=tmp_path, data_dir=shared_data)
    assert [o.status for o in again] == ["reused"]
    assert again[0].result.content_id() == stored.content_id()


def test_a_different_seed_is_not_reused(shared_data, tmp_path) -> None:
    model = tiny_model()
    api.score(model, HUMAN, results=tmp_path, data_dir=shared_data, seed=0)
    outcome = api.score(model, HUMAN, results=tmp_path, data_dir=shared_data, seed=1)[0]
    assert outcome.status == "scored"
    assert ResultsStore(tmp_path).load("tiny", HUMAN).provenance["seed"] == 1


def test_force_recomputes_identical_numbers(shared_data, tmp_path) -> None:
    model = tiny_model()
    first = api.score(model, HUMAN, results=tmp_path, data_dir=shared_data)[0]
    forced = api.score(model, HUMAN, results=tmp_path, data_dir=shared_data, force=True)[0]
    assert forced.status == "scored"
    assert forced.result.content_id() == first.result.content_id()


def test_missing_data_of_a_named_benchmark_is_an_error_with_the_fix_and_skipped_on_request(
    tmp_path,
) -> None:
    empty = tmp_path / "no-data"
    empty.mkdir()
    with pytest.raises(
        BrainAlignError,
        match=r"algonauts2019.78images.IT@2 cannot be scored: data set "
        "algonauts2019_78 not found.*brainalign data fetch algonauts2019_78",
    ):
        api.score(tiny_model(), "algonauts2019.78images.IT", results=tmp_path / "r", data_dir=empty)
    outcome = api.score(
        tiny_model(),
        "algonauts2019.78images.IT",
        results=tmp_path / "r",
        data_dir=empty,
        skip_absent=True,
    )[0]
    assert outcome.status == "skipped" and outcome.result is None
    assert "brainalign data fetch algonauts2019_78" in outcome.message
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").rglob("*.json"))


def test_unknown_options_and_benchmarks_are_named(tmp_path) -> None:
    with pytest.raises(BrainAlignError, match="unknown scoring options"):
        api.score("pixels", HUMAN, results=tmp_path, sed=1)
    with pytest.raises(BrainAlignError, match="unknown benchmark"):
        api.score("pixels", "kriegeskorte2008.hITT", results=tmp_path)


def test_cli_score_prints_a_table_and_errors_without_traceback(
    shared_data, tmp_path, capsys
) -> None:
    main(
        ["score", "pixels", HUMAN, "--results", str(tmp_path), "--data-dir", str(shared_data), "-q"]
    )
    assert logging.getLogger("brainalign").level == logging.WARNING  # -q silences the INFO logs too
    out = capsys.readouterr().out
    assert "pixels" in out and "scored" in out and "brain_similarity" in out
    with pytest.raises(SystemExit) as exit_info:
        main(["score", "no_such_model", HUMAN, "--results", str(tmp_path)])
    captured = capsys.readouterr()
    assert exit_info.value.code == 2
    assert captured.err.startswith("error: ") and "Traceback" not in captured.err


def test_a_missing_weights_file_is_a_one_line_error_before_anything_runs(
    tmp_path, synthetic_data, capsys
) -> None:
    with pytest.raises(
        SystemExit
    ) as exit_info:  # readable data, so the weights are what is missing
        main(
            [
                "score",
                "pixels",
                SYNTHETIC_BENCHMARK,
                "--data-dir",
                str(synthetic_data),
                "--results",
                str(tmp_path),
                "--weights",
                str(tmp_path / "nope.pth"),
            ]
        )
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err
    assert (
        err.strip()
        == f"error: weights file {tmp_path / 'nope.pth'} does not exist; check the --weights path"
    )


def test_missing_data_is_reported_once_per_benchmark_and_a_wrong_data_dir_is_an_error(
    tmp_path, capsys, monkeypatch
) -> None:
    empty = tmp_path / "data"
    empty.mkdir()
    monkeypatch.setattr(
        "brainalign.benchmarks.registry.default_benchmarks",
        lambda: [get_benchmark("algonauts2019.78images.IT")],
    )
    with pytest.raises(SystemExit) as exit_info:  # the default set: absent data is skipped
        main(
            [
                "-q",
                "run",
                "--results",
                str(tmp_path / "results"),
                "--data-dir",
                str(empty),
                "-m",
                "pixels",
                "-m",
                "efficientnet_lite0:untrained",
            ]
        )
    err = capsys.readouterr().err
    assert (
        exit_info.value.code == 2 and "error: nothing was scored" in err and "Traceback" not in err
    )
    assert err.count("skipped algonauts2019") == 1, err
    assert (
        "skipped algonauts2019.78images.IT@2 for 2 models: data set algonauts2019_78 not found"
        in err
    )
    assert "brainalign data fetch algonauts2019_78" in err
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "score",
                "pixels",
                HUMAN,
                "--results",
                str(tmp_path),
                "--data-dir",
                str(tmp_path / "typo"),
            ]
        )
    assert exit_info.value.code == 2 and "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("device", "message"), [("cuda:7", "not available here"), ("foo", "unknown device")]
)
def test_a_device_this_machine_lacks_is_a_one_line_error(tmp_path, capsys, device, message) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["score", "pixels", HUMAN, "--results", str(tmp_path), "--device", device])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and "Traceback" not in err


class TaggedBenchmark(Benchmark):
    """A tiny benchmark whose data is named by ``tag`` (what its provenance records)."""

    id, version, title, description, metric, bibtex = "test.tagged", 1, "t", "d", "m", ""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def availability(self, data_dir):
        return Availability(True)

    def stimulus_sets(self, data_dir):
        rng = np.random.default_rng(0)
        images = [rng.integers(0, 255, (16, 16, 3), dtype=np.uint8) for _ in range(6)]
        return {"s": StimulusSet.from_images([f"i{k}" for k in range(6)], images)}

    def score(self, layers, *, seed=0, data_dir=None):
        (rdms,) = layers.values()
        table = pd.DataFrame(
            {
                "layer": list(rdms.layers),
                "layer_index": range(len(rdms.layers)),
                "depth": list(rdms.depths),
                "target": "t",
                "subject": "",
                "condition": "",
                "value": rdms.rdms.data.mean(axis=1),
                "ci_low": np.nan,
                "ci_high": np.nan,
            }
        )
        return BenchmarkScore(self.identifier, table, {"brain_similarity": {"value": 0.0}})

    def provenance(self, data_dir):
        return {"data": self.tag}


def test_other_data_under_the_same_benchmark_id_is_not_reused(tmp_path) -> None:
    model = tiny_model()
    assert api.score(model, TaggedBenchmark("a"), results=tmp_path)[0].status == "scored"
    assert api.score(model, TaggedBenchmark("a"), results=tmp_path)[0].status == "reused"
    assert api.score(model, TaggedBenchmark("b"), results=tmp_path)[0].status == "scored"


def test_a_given_model_scored_with_other_layers_is_not_reused(tmp_path) -> None:
    model = tiny_model()  # layers="all": 0, 1, 2 (+ output)
    first = api.score(model, TaggedBenchmark("a"), results=tmp_path)[0]
    only_conv = api.score(model, TaggedBenchmark("a"), results=tmp_path, layers=["0"])[0]
    assert only_conv.status == "scored"
    assert (
        list(only_conv.result.layerwise["layer"]) == ["0"] != list(first.result.layerwise["layer"])
    )


def test_another_weights_file_is_not_reused(tmp_path) -> None:
    factory = tmp_path / "net.py"
    factory.write_text(
        "import torch, torchvision.transforms as T\n"
        "from brainalign.models import from_module\n"
        "def build(weights=None):\n"
        "    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Tanh(), torch.nn.Flatten())\n"
        "    if weights is not None:\n"
        "        net.load_state_dict(torch.load(weights, weights_only=True))\n"
        "    return from_module(net, T.Compose([T.Resize((16, 16)), T.ToTensor()]), layers='all', model_id='net')\n",
        encoding="utf-8",
    )
    for name, seed in (("a.pt", 1), ("b.pt", 2)):
        torch.manual_seed(seed)
        net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Tanh(), torch.nn.Flatten())
        torch.save(net.state_dict(), tmp_path / name)
    spec = f"{factory}:build"
    a = api.score(spec, TaggedBenchmark("a"), results=tmp_path / "r", weights=tmp_path / "a.pt")[0]
    again = api.score(
        spec, TaggedBenchmark("a"), results=tmp_path / "r", weights=tmp_path / "a.pt"
    )[0]
    with pytest.raises(
        BrainAlignError, match="already holds results of another network called 'net'"
    ):
        api.score(spec, TaggedBenchmark("a"), results=tmp_path / "r", weights=tmp_path / "b.pt")
    b = api.score(
        spec, TaggedBenchmark("a"), results=tmp_path / "r", weights=tmp_path / "b.pt", force=True
    )[0]
    assert (a.status, again.status, b.status) == ("scored", "reused", "scored")
    assert not a.result.layerwise["value"].equals(b.result.layerwise["value"])


def test_an_edited_preprocessing_is_not_reused(tmp_path) -> None:
    factory = tmp_path / "net.py"
    source = (
        "import torch, torchvision.transforms as T\n"
        "from brainalign.models import from_module\n"
        "def resize(image):\n"
        "    return image.resize((SIZE, SIZE))\n"
        "def build():\n"
        "    torch.manual_seed(0)\n"
        "    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Tanh(), torch.nn.Flatten())\n"
        "    return from_module(net, T.Compose([resize, T.ToTensor()]), layers='all', model_id='net')\n"
    )
    factory.write_text("SIZE = 8\n" + source, encoding="utf-8")
    first = api.score(f"{factory}:build", TaggedBenchmark("a"), results=tmp_path / "r")[0]
    factory.write_text("SIZE = 12\n" + source, encoding="utf-8")
    second = api.score(f"{factory}:build", TaggedBenchmark("a"), results=tmp_path / "r")[0]
    assert (first.status, second.status) == ("scored", "scored")
    assert (
        second.result.provenance["preprocess_sha256"]
        != first.result.provenance["preprocess_sha256"]
    )
