"""The decisive tests against brute-force references (np.corrcoef per model, scipy's one-sample t
over lineages, scipy.stats.pearsonr over lineage means), and what they refuse to report."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from brainalign.errors import BrainAlignError
from brainalign.leaderboard import simulation as sim
from brainalign.leaderboard.decisive import (
    MIN_LAYERS,
    MIN_LINEAGES,
    across_lineage_test,
    difference_test,
    model_metadata,
    within_model_contrast,
    within_model_test,
)


def _table(seed: int = 0, within_r: float = 0.5) -> pd.DataFrame:
    return sim.simulate_layers(
        sim.layout(9, 4), np.random.default_rng(seed), within_r=within_r, others={"s": 0.2}
    )


def _reference_t(
    per_model: dict[str, float], lineage: dict[str, str]
) -> tuple[float, float, float, float]:
    by_lineage: dict[str, list[float]] = {}
    for model, value in per_model.items():
        by_lineage.setdefault(lineage[model], []).append(value)
    means = [float(np.mean(values)) for values in by_lineage.values()]
    test = stats.ttest_1samp(means, 0.0)
    interval = test.confidence_interval(0.95)
    return float(np.mean(means)), float(interval.low), float(interval.high), float(test.pvalue)


@pytest.mark.parametrize("seed", range(3))
def test_within_model_test_is_a_t_test_over_lineage_means_of_fisher_z(seed: int) -> None:
    layers = _table(seed)
    got = within_model_test(layers, "x", "y")
    trained = layers[layers["trained"]]
    r = {m: float(np.corrcoef(g["x"], g["y"])[0, 1]) for m, g in trained.groupby("model")}
    lineage = dict(zip(trained["model"], trained["lineage"]))
    mean, low, high, p = _reference_t({m: math.atanh(v) for m, v in r.items()}, lineage)
    assert got.per_model == pytest.approx(r, rel=1e-9)
    assert (got.estimate, got.ci_low, got.ci_high) == pytest.approx(
        (math.tanh(mean), math.tanh(low), math.tanh(high))
    )
    assert got.p == pytest.approx(p)
    assert got.lineages == tuple(sorted(set(lineage.values()))) and got.testable
    assert set(got.models) == set(r)  # untrained models did not enter


def test_all_models_let_the_untrained_in_and_the_metadata_may_come_apart() -> None:
    layers = _table(1)
    meta = layers.groupby("model", as_index=False)[["lineage", "trained"]].first()
    apart = within_model_test(
        layers.drop(columns=["lineage", "trained"]), "x", "y", models=meta, trained_only=False
    )
    together = within_model_test(layers, "x", "y", trained_only=False)
    assert apart == together
    assert any(model.endswith(":untrained") for model in together.models)
    assert "pixels" not in together.models  # one layer: no r


def test_models_without_enough_varying_layers_stay_out() -> None:
    layers = _table(2)
    constant = layers["model"] == "m0"
    layers.loc[constant, "y"] = 0.25  # a constant brain ρ: no r
    few = layers.index[layers["model"] == "m1"][MIN_LAYERS - 1 :]
    layers.loc[few, "x"] = np.nan  # only MIN_LAYERS - 1 layers with both measures
    got = within_model_test(layers, "x", "y")
    assert "m0" not in got.models and "m1" not in got.models and "m2" in got.models


def test_below_the_minimum_nothing_is_reported() -> None:
    layers = sim.simulate_layers(sim.default_layout(), np.random.default_rng(0), within_r=0.9)
    got = within_model_test(layers, "x", "y")
    assert (
        got.n_lineages == 2 < MIN_LINEAGES and not got.testable and got.direction == "not testable"
    )
    assert math.isnan(got.estimate) and math.isnan(got.ci_low) and math.isnan(got.p)
    record = got.to_dict()
    assert not {"estimate", "ci_low", "ci_high", "p"} & set(record)
    assert record["lineages"] == ["efficientnet", "mobilenet"] and record["n_models"] == 4


def test_the_contrast_is_semantic_z_minus_absolute_saliency_z() -> None:
    layers = _table(3)
    got = within_model_contrast(layers, "x", "s", "y")
    trained = layers[layers["trained"]]
    difference = {
        m: math.atanh(np.corrcoef(g["x"], g["y"])[0, 1])
        - abs(math.atanh(np.corrcoef(g["s"], g["y"])[0, 1]))
        for m, g in trained.groupby("model")
    }
    mean, low, high, p = _reference_t(difference, dict(zip(trained["model"], trained["lineage"])))
    assert (got.estimate, got.ci_low, got.ci_high, got.p) == pytest.approx((mean, low, high, p))
    assert got.scale == "Δz"


def test_across_lineages_one_point_per_lineage_each_model_counted_once() -> None:
    models = sim.layout(12, 6)
    table = sim.simulate_models(models, np.random.default_rng(4), across_r=0.6)
    table = pd.concat(
        [table, table.iloc[[0]]], ignore_index=True
    )  # a model listed twice counts once
    got = across_lineage_test(table, "x", "y")
    trained = table[table["trained"]].drop_duplicates("model")
    points = trained.groupby("lineage")[["x", "y"]].mean()
    want = stats.pearsonr(points["x"], points["y"])
    assert got.estimate == pytest.approx(want.statistic) and got.p == pytest.approx(want.pvalue)
    assert (got.ci_low, got.ci_high) == pytest.approx(tuple(want.confidence_interval(0.95)))
    assert got.n_lineages == 6 and len(got.models) == 12


def test_model_metadata_takes_lineages_from_the_cards() -> None:
    cards = {
        "efficientnet_lite0": {"architecture": "tf_efficientnet_lite0"},
        "efficientnet_lite2": {"architecture": "tf_efficientnet_lite2"},
        "efficientnet_lite0:untrained": {"architecture": "tf_efficientnet_lite0"},
        "clip_rn50": {"architecture": "RN50"},
        "resnet50": {"architecture": "resnet50"},
    }
    meta = model_metadata(
        cards, trained={"efficientnet_lite0", "efficientnet_lite2", "clip_rn50", "resnet50"}
    )
    assert dict(zip(meta["model"], meta["lineage"])) == {
        "efficientnet_lite0": "efficientnet",
        "efficientnet_lite2": "efficientnet",
        "efficientnet_lite0:untrained": "efficientnet",
        "clip_rn50": "resnet",
        "resnet50": "resnet",
    }
    assert meta.set_index("model").loc["efficientnet_lite0:untrained", "trained"] == False  # noqa: E712


def test_a_table_without_model_metadata_is_refused_with_the_fix() -> None:
    with pytest.raises(BrainAlignError, match="lineage and trained per model"):
        within_model_test(pd.DataFrame({"model": ["a"], "x": [1.0], "y": [2.0]}), "x", "y")


@pytest.mark.parametrize("seed", range(2))
def test_the_difference_of_two_within_model_tests_is_a_t_test_over_lineages(seed: int) -> None:
    """Two relations of the same models (one x with two y's, e.g. a brain target under two
    metrics): per model z(r1) − z(r2), lineage means, scipy's one-sample t over lineages."""
    layers = sim.simulate_layers(
        sim.layout(9, 4), np.random.default_rng(seed), within_r=0.5, others={"s": 0.2}
    )
    meta = layers.groupby("model", as_index=False)[["lineage", "trained"]].first()
    first, second = within_model_test(layers, "x", "y"), within_model_test(layers, "s", "y")
    got = difference_test(first, second, meta)
    trained = layers[layers["trained"]]
    z = {
        m: math.atanh(np.corrcoef(g["x"], g["y"])[0, 1])
        - math.atanh(np.corrcoef(g["s"], g["y"])[0, 1])
        for m, g in trained.groupby("model")
    }
    mean, low, high, p = _reference_t(z, dict(zip(trained["model"], trained["lineage"])))
    assert (got.estimate, got.ci_low, got.ci_high, got.p) == pytest.approx((mean, low, high, p))
    assert got.scale == "Δz" and got.testable
    contrast = within_model_contrast(layers, "x", "s", "y")
    assert (
        difference_test(contrast, contrast, meta).estimate == 0
    )  # Δz values are subtracted as they are
    few = layers[layers["lineage"].isin(sorted(set(trained["lineage"]))[:2])]
    assert not difference_test(
        within_model_test(few, "x", "y"), within_model_test(few, "s", "y"), meta
    ).testable
