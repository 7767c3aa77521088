"""relation() against scipy.stats.pearsonr and numpy.polyfit; the layer and model tables against
brute-force loops over the raw layerwise rows; planted relations recovered."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from leaderboard_synthetic import HUMAN, PROBE, make_result
from scipy import stats

from brainalign.errors import BrainAlignError
from brainalign.leaderboard import relation
from brainalign.leaderboard.relation import (
    layer_relations,
    layer_table,
    model_relations,
    model_table,
)

IT = "algonauts2019.92images.IT@1"


def _reference(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    r, p = stats.pearsonr(x, y)
    coefficients = np.polyfit(x, y, 2)
    residual = y - np.polyval(coefficients, x)
    r2 = 1 - np.sum(residual ** 2) / np.sum((y - y.mean()) ** 2)
    line = np.polyfit(x, y, 1)
    rss_line = np.sum((y - np.polyval(line, x)) ** 2)
    f_value = (rss_line - np.sum(residual ** 2)) / (np.sum(residual ** 2) / (len(x) - 3))
    return {"r": r, "p": p, "r_quadratic": math.sqrt(r2), "slope": line[0], "intercept": line[1],
            "p_quadratic": stats.f.sf(f_value, 1, len(x) - 3)}


@pytest.mark.parametrize("seed", range(5))
def test_relation_agrees_with_pearsonr_and_polyfit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(6, 200))
    x = rng.normal(size=n)
    y = rng.normal(size=n) + rng.uniform(-1, 1) * x + rng.uniform(-1, 1) * x ** 2
    got = relation(pd.DataFrame({"a": x, "b": y}), "a", "b")
    want = _reference(x, y)
    assert got["n"] == n
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    assert got["r_quadratic"] >= abs(got["r"]) - 1e-12
    assert got["ci_low"] < got["r"] < got["ci_high"]


def test_planted_parabola_has_no_linear_but_a_perfect_quadratic_relation() -> None:
    x = np.linspace(-1, 1, 41)
    got = relation(pd.DataFrame({"x": x, "y": x ** 2}), "x", "y")
    assert abs(got["r"]) < 1e-12
    assert got["r_quadratic"] == pytest.approx(1.0)
    assert got["p_quadratic"] == 0.0


def test_missing_rows_are_dropped_and_degenerate_inputs_give_nan() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0, 5.0], "y": [2.0, 4.1, 3.0, None, 9.0]})
    got = relation(frame, "x", "y")
    want = stats.pearsonr([1.0, 2.0, 5.0], [2.0, 4.1, 9.0])
    assert got["n"] == 3 and got["r"] == pytest.approx(want.statistic)
    assert math.isnan(got["p_quadratic"])  # a parabola through 3 points leaves no residual degrees of freedom
    assert math.isnan(relation(frame.iloc[:2], "x", "y")["r"])
    constant = relation(pd.DataFrame({"x": [1.0, 1.0, 1.0, 1.0], "y": [1.0, 2.0, 3.0, 4.0]}), "x", "y")
    assert math.isnan(constant["r"]) and math.isnan(constant["r_quadratic"]) and constant["n"] == 4
    with pytest.raises(BrainAlignError, match="no column 'z'"):
        relation(frame, "x", "z")


def _results(models=("efficientnet_lite0", "clip_rn50", "vit_b_16:untrained")):
    return [make_result(m, b) for m in models for b in (PROBE, *HUMAN)]


def test_layer_table_matches_a_brute_force_loop() -> None:
    results = _results()
    table = layer_table(results).set_index(["model", "layer"])
    assert list(table.columns[:4]) == ["layer_index", "depth", "semantic", "saliency"]
    for result in results:
        rows = result.layerwise
        for layer in rows["layer"].unique():
            if result.benchmark == PROBE:
                for target in ("semantic", "saliency"):
                    want = [r.value for r in rows.itertuples()
                            if r.layer == layer and r.target == target and r.condition == "Baseline"]
                    assert table.loc[(result.model_id, layer), target] == pytest.approx(want[0])
            else:
                values = [r.value for r in rows.itertuples() if r.layer == layer]
                assert table.loc[(result.model_id, layer), result.benchmark] == pytest.approx(sum(values) / len(values))
    assert len(table) == 9 + 6 + 12


def test_layers_are_matched_by_name_not_position() -> None:
    probe = make_result("clip_rn50", PROBE)
    brain = make_result("clip_rn50", IT)
    # the brain benchmark scored only some layers, listed in another order
    subset = brain.layerwise[brain.layerwise["layer"].isin(["blocks.4", "blocks.1"])].iloc[::-1]
    brain.layerwise = subset.reset_index(drop=True)
    table = layer_table([brain, probe]).set_index("layer")
    expected = subset.groupby("layer")["value"].mean()
    assert table.loc["blocks.4", IT] == pytest.approx(expected["blocks.4"])
    assert table.loc["blocks.1", IT] == pytest.approx(expected["blocks.1"])
    assert table[IT].isna().sum() == 4
    assert relation(table, "semantic", IT)["n"] == 2


def test_layer_relations_pool_all_models_and_split_per_model() -> None:
    table = layer_table(_results())
    relations = layer_relations(table)
    pooled = relations[(relations["model"] == "") & (relations["brain"] == IT)].set_index("measure")
    assert pooled.loc["semantic", "r"] == pytest.approx(relation(table, "semantic", IT)["r"])
    assert pooled.loc["semantic", "n"] == 27
    assert pooled.loc["semantic", "r"] > 0.95  # planted: brain = 0.05 + 0.6 × semantic + noise
    one = relations[(relations["model"] == "clip_rn50") & (relations["brain"] == IT) & (relations["measure"] == "saliency")]
    want = relation(table[table["model"] == "clip_rn50"], "saliency", IT)
    assert one["r"].item() == pytest.approx(want["r"]) and one["n"].item() == 6
    assert set(relations["brain"]) == set(HUMAN)


def test_model_table_and_relations_use_the_summaries() -> None:
    results = _results(("efficientnet_lite0", "clip_rn50", "vit_b_16:untrained", "efficientnet_lite0:untrained"))
    table = model_table(results).set_index("model")
    for result in results:
        if result.benchmark == PROBE:
            assert table.loc[result.model_id, "semantic_encoding"] == result.summary["semantic_encoding"]["value"]
            assert table.loc[result.model_id, "saliency_suppression"] == result.summary["saliency_suppression"]["value"]
        else:
            assert table.loc[result.model_id, result.benchmark] == result.summary["brain_similarity"]["value"]
    relations = model_relations(table.reset_index())
    row = relations[(relations["brain"] == IT) & (relations["measure"] == "semantic_encoding")]
    want = stats.pearsonr(table["semantic_encoding"], table[IT])
    assert row["r"].item() == pytest.approx(want.statistic) and row["n"].item() == 4


def test_without_a_probe_the_tables_have_empty_probe_columns() -> None:
    results = [make_result("clip_rn50", IT)]
    table = layer_table(results)
    assert table["semantic"].isna().all() and IT in table.columns
    assert layer_relations(table)["n"].eq(0).all()
