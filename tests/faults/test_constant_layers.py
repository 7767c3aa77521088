"""A layer whose RDM cannot be compared (constant, or undefined where activations are all zero) is
dropped by one rule for every benchmark, recorded in each result and reported once per model."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
from fault_helpers import algonauts78

from brainalign import BrainAlignError
from brainalign.models.constant_layers import drop_uncomparable_layers, uncomparable_layers
from brainalign.results import ResultsStore
from brainalign.rsa import LayerRDMs, RDMs

IDS = tuple(f"s{k}" for k in range(6))


def _layers(rows: dict[str, np.ndarray]) -> LayerRDMs:
    return LayerRDMs(
        RDMs(np.stack(list(rows.values())), list(rows), IDS), np.linspace(0, 1, len(rows))
    )


def test_the_rule_names_constant_and_undefined_rdms_and_keeps_the_rest() -> None:
    rng = np.random.default_rng(0)
    partial = rng.random(15)
    partial[[0, 1, 2, 3, 4]] = np.nan  # the pairs of stimulus s0: it had all-zero activations
    layers = _layers(
        {
            "conv": rng.random(15),
            "same": np.full(15, 0.25),
            "zero": np.full(15, np.nan),
            "one_dead": partial,
            "fc": rng.random(15),
        }
    )
    found = uncomparable_layers(layers)
    assert list(found) == ["same", "zero", "one_dead"]
    assert found["same"].startswith("constant RDM")
    assert found["zero"].startswith("no dissimilarity is defined")
    assert found["one_dead"].startswith("dissimilarities undefined for 1 of 6 stimuli")


def test_a_layer_dropped_on_one_stimulus_set_is_dropped_from_all(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = np.random.default_rng(1)
    base = _layers({"a": rng.random(15), "b": rng.random(15), "c": rng.random(15)})
    other = _layers({"a": rng.random(15), "b": np.zeros(15), "c": rng.random(15)})
    with caplog.at_level(logging.WARNING):
        kept, dropped = drop_uncomparable_layers({"Baseline": base, "Salient": other}, "m-once")
        drop_uncomparable_layers(
            {"Baseline": base, "Salient": other}, "m-once"
        )  # a second benchmark
    assert [d["layer"] for d in dropped] == ["b"] and "(on Salient)" in dropped[0]["reason"]
    for layer_rdms in kept.values():
        assert layer_rdms.layers == ("a", "c") and layer_rdms.depths == (0.0, 1.0)
    np.testing.assert_array_equal(kept["Salient"].rdms.get("c"), other.rdms.get("c"))
    assert len([r for r in caplog.records if "m-once" in r.getMessage()]) == 1  # reported once


def test_no_layer_left_is_an_error() -> None:
    with pytest.raises(BrainAlignError, match="every layer's RDM on set is constant or undefined"):
        drop_uncomparable_layers({"set": _layers({"a": np.ones(15)})}, "m")


def test_a_zero_head_is_dropped_recorded_and_reported_once_without_nan_warnings(
    cli, model_file, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    data = algonauts78(tmp_path / "data")
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING):
        warnings.simplefilter(
            "error", RuntimeWarning
        )  # no "all-zero features" or "RDM(s) hold NaN"
        ran = cli(
            "-q",
            "score",
            model_file("zero_head"),
            "algonauts2019.78images.EVC",
            "algonauts2019.78images.IT",
            "--results",
            tmp_path / "results",
            "--data-dir",
            data,
        )
    assert ran.code == 0, ran
    reports = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert len(reports) == 1 and "fault-zero-head" in reports[0].getMessage()
    store = ResultsStore(tmp_path / "results")
    for roi in ("EVC", "IT"):
        result = store.load("fault-zero-head", f"algonauts2019.78images.{roi}@2")
        dropped = {d["layer"]: d["reason"] for d in result.extra["dropped_layers"]}
        assert dropped["3"] == (
            "no dissimilarity is defined: every stimulus gives the layer all-zero or "
            "non-finite activations"
        )  # the head
        assert (
            not set(dropped) & set(result.layerwise["layer"])
            and not result.layerwise["value"].isna().any()
        )
        assert "3" not in result.extra["layer_means"] and "0" in result.extra["layer_means"]
