"""A stored result is never reused for another network, results say which network (and which
preprocessing) they are of, and one model id in a results folder never names two networks
without the user saying so."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.transforms as T
from synthetic_data import SYNTHETIC_BENCHMARK as BENCHMARK
from synthetic_data import score_args

from brainalign import api
from brainalign.errors import BrainAlignError
from brainalign.models import ModelCard, clip_preprocess, from_module
from brainalign.models.weights import state_sha256
from brainalign.results import ResultsStore

SMALL = T.Compose([T.Resize((20, 20)), T.ToTensor()])


def _net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, stride=2), torch.nn.ReLU(), torch.nn.Flatten()
    )


def test_a_network_initialised_with_another_seed_is_not_reused_under_the_same_id(
    synthetic_data, tmp_path
) -> None:
    first = api.score(
        from_module(_net(0), SMALL, layers="all", model_id="mine"),
        BENCHMARK,
        results=tmp_path,
        data_dir=synthetic_data,
    )[0]
    again = api.score(
        from_module(_net(0), SMALL, layers="all", model_id="mine"),
        BENCHMARK,
        results=tmp_path,
        data_dir=synthetic_data,
    )[0]
    assert (first.status, again.status) == ("scored", "reused")
    other = from_module(_net(1), SMALL, layers="all", model_id="mine")
    with pytest.raises(
        BrainAlignError,
        match=r"already holds results of another network called 'mine' "
        r"\(algonauts2019.78images.IT@2: parameters_sha256 \w{12}… there, "
        r"\w{12}… now\); give this network its own model id",
    ):
        api.score(other, BENCHMARK, results=tmp_path, data_dir=synthetic_data)
    forced = api.score(other, BENCHMARK, results=tmp_path, data_dir=synthetic_data, force=True)[0]
    assert forced.status == "scored"
    assert forced.result.value("brain_similarity") != first.result.value("brain_similarity")
    stored = ResultsStore(tmp_path).load("mine", BENCHMARK)
    assert stored.content_id() == forced.result.content_id()
    assert (
        stored.model_card["weights_sha256"]
        == state_sha256(other.module)
        == stored.reuse_key["parameters_sha256"]
    )


def test_one_id_never_names_two_networks_across_benchmarks(
    synthetic_data, tmp_path, caplog
) -> None:
    """Scored on another benchmark, a second network under the same id would stand beside the
    first one's results as if they were one model's."""
    api.score(
        from_module(_net(0), SMALL, layers="all", model_id="mine"),
        "algonauts2019.78images.EVC",
        results=tmp_path,
        data_dir=synthetic_data,
    )
    other = from_module(_net(1), SMALL, layers="all", model_id="mine")
    with pytest.raises(
        BrainAlignError,
        match=r"another network called 'mine' \(algonauts2019.78images.EVC@2: parameters",
    ):
        api.score(other, BENCHMARK, results=tmp_path, data_dir=synthetic_data)
    assert [r.benchmark for r in ResultsStore(tmp_path).load_all().results] == [
        "algonauts2019.78images.EVC@2"
    ]
    api.score(other, BENCHMARK, results=tmp_path, data_dir=synthetic_data, force=True)
    assert "results of the network that was called 'mine' before remain" in caplog.text
    assert "algonauts2019.78images.EVC@2: parameters_sha256" in caplog.text


def test_results_record_the_weights_and_the_preprocessing_actually_used(
    synthetic_data, tmp_path
) -> None:
    net = _net(0)
    card = ModelCard(
        id="carded", source="custom", architecture="Sequential"
    )  # preprocessing "native" by default
    custom = api.score(
        from_module(net, SMALL, layers="all", card=card),
        BENCHMARK,
        results=tmp_path,
        data_dir=synthetic_data,
    )[0].result
    assert custom.model_card["preprocessing"] == "custom" == custom.provenance["preprocessing"]
    assert custom.reuse_key["preprocessing"] == "custom"
    assert custom.model_card["weights_sha256"] == state_sha256(net)
    clip_card = ModelCard(
        id="carded-clip", source="custom", architecture="Sequential", preprocessing="clip"
    )
    clip = api.score(
        from_module(net, clip_preprocess(), layers="all", card=clip_card),
        BENCHMARK,
        results=tmp_path,
        data_dir=synthetic_data,
    )[0].result
    assert clip.model_card["preprocessing"] == "clip" == clip.provenance["preprocessing"]
    claimed = from_module(
        net,
        SMALL,
        layers="all",
        card=ModelCard(id="x", source="custom", architecture="S", preprocessing="clip"),
    )
    assert claimed.preprocessing == "custom"  # a claim its transform does not bear out is not kept


def test_a_model_file_re_initialised_under_the_same_id_is_refused_through_the_cli(
    cli, model_file, synthetic_data, tmp_path, monkeypatch
) -> None:
    results = tmp_path / "results"
    args = score_args(model_file("tiny"), results, synthetic_data)
    assert cli(*args).code == 0
    assert "reused" in cli(*args).out
    monkeypatch.setenv("BRAINALIGN_TEST_SEED", "7")
    ran = cli(*args)
    assert ran.code == 2, ran
    assert ran.error_line.startswith(
        f"error: {results} already holds results of another network called "
        "'fault-tiny' (algonauts2019.78images.IT@2: parameters_sha256 "
    )
    assert "replace those results with --force" in ran.error_line
    forced = cli(*args, "--force")
    assert forced.code == 0 and "scored" in forced.out
    stored = ResultsStore(results).load("fault-tiny", BENCHMARK)
    assert stored.model_card["weights_sha256"] is not None
    assert stored.reuse_key["source_sha256"] and stored.provenance["preprocessing"] == "custom"


def test_another_seed_or_layer_choice_of_the_same_network_is_recomputed_not_refused(
    synthetic_data, tmp_path
) -> None:
    model = from_module(_net(0), SMALL, layers="all", model_id="mine")
    api.score(model, BENCHMARK, results=tmp_path, data_dir=synthetic_data)
    assert (
        api.score(model, BENCHMARK, results=tmp_path, data_dir=synthetic_data, seed=3)[0].status
        == "scored"
    )
    only_first = api.score(
        model, BENCHMARK, results=tmp_path, data_dir=synthetic_data, layers=["0"]
    )[0]
    assert only_first.status == "scored" and np.unique(
        only_first.result.layerwise["layer"]
    ).tolist() == ["0"]
