"""relation() against scipy.stats.pearsonr and numpy.polyfit; the layer and model tables against
brute-force loops over the raw layerwise rows; planted relations recovered."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from synthetic_results import HUMAN, PROBE, make_result

from brainalign.benchmarks.base import BenchmarkScore, Measure
from brainalign.errors import BrainAlignError
from brainalign.leaderboard import relation
from brainalign.leaderboard.relation import (
    STIMULI_NOT_RECORDED,
    choose_probe,
    evidence_lines,
    layer_relations,
    layer_table,
    model_relations,
    model_table,
    target_stimuli,
)
from brainalign.results import Result

IT = "algonauts2019.92images.IT@1"


def _reference(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    r, p = stats.pearsonr(x, y)
    coefficients = np.polyfit(x, y, 2)
    residual = y - np.polyval(coefficients, x)
    r2 = 1 - np.sum(residual**2) / np.sum((y - y.mean()) ** 2)
    line = np.polyfit(x, y, 1)
    rss_line = np.sum((y - np.polyval(line, x)) ** 2)
    f_value = (rss_line - np.sum(residual**2)) / (np.sum(residual**2) / (len(x) - 3))
    return {
        "r": r,
        "p": p,
        "r_quadratic": math.sqrt(r2),
        "slope": line[0],
        "intercept": line[1],
        "p_quadratic": stats.f.sf(f_value, 1, len(x) - 3),
    }


@pytest.mark.parametrize("seed", range(5))
def test_relation_agrees_with_pearsonr_and_polyfit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(6, 200))
    x = rng.normal(size=n)
    y = rng.normal(size=n) + rng.uniform(-1, 1) * x + rng.uniform(-1, 1) * x**2
    got = relation(pd.DataFrame({"a": x, "b": y}), "a", "b")
    want = _reference(x, y)
    assert got["n"] == n
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    assert got["r_quadratic"] >= abs(got["r"]) - 1e-12
    assert got["ci_low"] < got["r"] < got["ci_high"]


def test_planted_parabola_has_no_linear_but_a_perfect_quadratic_relation() -> None:
    x = np.linspace(-1, 1, 41)
    got = relation(pd.DataFrame({"x": x, "y": x**2}), "x", "y")
    assert abs(got["r"]) < 1e-12
    assert got["r_quadratic"] == pytest.approx(1.0)
    assert got["p_quadratic"] == 0.0


def test_missing_rows_are_dropped_and_degenerate_inputs_give_nan() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0, 5.0], "y": [2.0, 4.1, 3.0, None, 9.0]})
    got = relation(frame, "x", "y")
    want = stats.pearsonr([1.0, 2.0, 5.0], [2.0, 4.1, 9.0])
    assert got["n"] == 3 and got["r"] == pytest.approx(want.statistic)
    assert math.isnan(
        got["p_quadratic"]
    )  # a parabola through 3 points leaves no residual degrees of freedom
    assert math.isnan(relation(frame.iloc[:2], "x", "y")["r"])
    constant = relation(
        pd.DataFrame({"x": [1.0, 1.0, 1.0, 1.0], "y": [1.0, 2.0, 3.0, 4.0]}), "x", "y"
    )
    assert math.isnan(constant["r"]) and math.isnan(constant["r_quadratic"]) and constant["n"] == 4
    with pytest.raises(BrainAlignError, match="no column 'z'"):
        relation(frame, "x", "z")


def _results(models=("efficientnet_lite0", "clip_rn50", "vit_b_16:untrained")):
    return [make_result(m, b) for m in models for b in (PROBE, *HUMAN)]


def _smooth_profiles(rng: np.random.Generator, n_models: int, n_layers: int = 15) -> pd.DataFrame:
    """Each model: independent random-walk profiles of x and y over its layers (true r = 0, but
    neighbouring layers alike, as in real networks)."""
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "x": np.cumsum(rng.normal(size=n_layers)),
                    "y": np.cumsum(rng.normal(size=n_layers)),
                    "model": f"m{m}",
                }
            )
            for m in range(n_models)
        ],
        ignore_index=True,
    )


def test_pooled_interval_resamples_whole_models() -> None:
    """Planted null with layers alike within a model: the Fisher-z interval, taking every layer
    as independent, excludes the true r = 0 most of the time; resampling models keeps it."""
    rng = np.random.default_rng(0)
    covered = {"models": 0, "points": 0}
    reps = 150
    for rep in range(reps):
        layers = _smooth_profiles(rng, n_models=8)
        by_model = relation(layers, "x", "y", groups="model", n_boot=500, seed=rep)
        points = relation(layers, "x", "y")
        assert (
            by_model["r"] == points["r"] and by_model["p"] == points["p"]
        )  # only the interval differs
        assert by_model["n_groups"] == 8 and by_model["ci_method"] == "8 models resampled"
        covered["models"] += by_model["ci_low"] <= 0 <= by_model["ci_high"]
        covered["points"] += points["ci_low"] <= 0 <= points["ci_high"]
    assert covered["models"] / reps > 0.9
    assert covered["points"] / reps < 0.6


def test_model_bootstrap_equals_a_brute_force_loop_over_drawn_models() -> None:
    from brainalign.leaderboard.relation import _group_bootstrap_interval
    from brainalign.rsa import expanded_percentile_interval

    layers = _smooth_profiles(np.random.default_rng(3), n_models=5, n_layers=7)
    codes = pd.factorize(layers["model"])[0]
    low, high = _group_bootstrap_interval(
        layers["x"].to_numpy(), layers["y"].to_numpy(), codes, 300, seed=4
    )
    rng, rs = np.random.default_rng(4), []
    for _ in range(300):
        drawn = rng.integers(0, 5, 5)
        sample = pd.concat([layers[codes == g] for g in drawn])
        rs.append(
            stats.pearsonr(sample["x"], sample["y"]).statistic
            if sample["x"].nunique() > 1
            else np.nan
        )
    want = expanded_percentile_interval(np.array(rs), 5)
    assert (low, high) == pytest.approx(want, abs=1e-12)


def test_with_fewer_than_three_models_the_interval_is_fisher_z_and_says_so() -> None:
    layers = _smooth_profiles(np.random.default_rng(1), n_models=2)
    got = relation(layers, "x", "y", groups="model")
    want = stats.pearsonr(layers["x"], layers["y"]).confidence_interval(0.95)
    assert (got["ci_low"], got["ci_high"]) == pytest.approx((want.low, want.high))
    assert got["n_groups"] == 2 and got["ci_method"] == "Fisher z, points independent"


def test_layer_table_matches_a_brute_force_loop() -> None:
    results = _results()
    table = layer_table(results).set_index(["model", "layer"])
    assert list(table.columns[:4]) == ["layer_index", "depth", "semantic", "saliency"]
    for result in results:
        rows = result.layerwise
        for layer in rows["layer"].unique():
            if result.benchmark == PROBE:
                for target in ("semantic", "saliency"):
                    want = [
                        r.value
                        for r in rows.itertuples()
                        if r.layer == layer and r.target == target and r.condition == "Baseline"
                    ]
                    assert table.loc[(result.model_id, layer), target] == pytest.approx(want[0])
            else:
                values = [r.value for r in rows.itertuples() if r.layer == layer]
                assert table.loc[(result.model_id, layer), result.benchmark] == pytest.approx(
                    sum(values) / len(values)
                )
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
    want = relation(table, "semantic", IT, groups="model")
    assert pooled.loc["semantic", "r"] == pytest.approx(want["r"])
    assert (pooled.loc["semantic", "ci_low"], pooled.loc["semantic", "ci_high"]) == (
        want["ci_low"],
        want["ci_high"],
    )
    assert pooled.loc["semantic", "ci_method"] == f"{table['model'].nunique()} models resampled"
    assert pooled.loc["semantic", "n"] == 27
    assert pooled.loc["semantic", "r"] > 0.95  # planted: brain = 0.05 + 0.6 × semantic + noise
    one = relations[
        (relations["model"] == "clip_rn50")
        & (relations["brain"] == IT)
        & (relations["measure"] == "saliency")
    ]
    want = relation(table[table["model"] == "clip_rn50"], "saliency", IT)
    assert one["r"].item() == pytest.approx(want["r"]) and one["n"].item() == 6
    assert set(relations["brain"]) == set(HUMAN)


def test_model_table_and_relations_use_the_summaries() -> None:
    results = _results(
        ("efficientnet_lite0", "clip_rn50", "vit_b_16:untrained", "efficientnet_lite0:untrained")
    )
    table = model_table(results).set_index("model")
    for result in results:
        if result.benchmark == PROBE:
            assert (
                table.loc[result.model_id, "semantic_encoding"]
                == result.summary["semantic_encoding"]["value"]
            )
            assert (
                table.loc[result.model_id, "saliency_suppression"]
                == result.summary["saliency_suppression"]["value"]
            )
        else:
            assert (
                table.loc[result.model_id, result.benchmark]
                == result.summary["brain_similarity"]["value"]
            )
    relations = model_relations(table.reset_index())
    row = relations[(relations["brain"] == IT) & (relations["measure"] == "semantic_encoding")]
    want = stats.pearsonr(table["semantic_encoding"], table[IT])
    assert row["r"].item() == pytest.approx(want.statistic) and row["n"].item() == 4


def test_without_a_probe_the_tables_have_empty_probe_columns() -> None:
    results = [make_result("clip_rn50", IT)]
    table = layer_table(results)
    assert table["semantic"].isna().all() and IT in table.columns
    assert layer_relations(table)["n"].eq(0).all()


def _renamed_probe(model_id: str) -> Result:
    """The synthetic probe result as a benchmark the leaderboard has never heard of would report
    it: its own id, summary names, target and condition names, and measures declaring them."""
    original = make_result(model_id, PROBE)
    names = {"semantic": "captions", "saliency": "itti", "Baseline": "plain"}
    table = original.layerwise.assign(
        target=original.layerwise["target"].map(lambda t: names.get(t, t)),
        condition=original.layerwise["condition"].map(lambda c: names.get(c, c)),
    )
    summary = {
        "meaning": original.summary["semantic_encoding"],
        "flattening": original.summary["saliency_suppression"],
    }
    measures = [
        Measure(
            "meaning",
            "semantic_encoding",
            "meaning",
            layerwise={"target": "captions", "condition": "plain"},
            target="captions",
            headline=True,
        ),
        Measure(
            "flattening",
            "saliency_suppression",
            "flattening",
            layerwise={"target": "itti", "condition": "plain"},
            target="itti",
            headline=True,
        ),
    ]
    info = {"id": "lab.probe", "version": 3, "measures": [m.to_dict() for m in measures]}
    return Result.from_score(
        BenchmarkScore("lab.probe@3", table, summary),
        model_card=original.model_card,
        benchmark=info,
        seed=0,
    )


def test_the_tables_follow_what_a_benchmark_declares_not_its_names() -> None:
    models = ("efficientnet_lite0", "clip_rn50", "vit_b_16:untrained")
    known = [make_result(m, b) for m in models for b in (PROBE, IT)]
    foreign = [_renamed_probe(m) for m in models] + [make_result(m, IT) for m in models]
    for column in ("semantic", "saliency"):
        assert layer_table(foreign)[column].tolist() == layer_table(known)[column].tolist()
    assert (
        model_table(foreign)["semantic_encoding"].tolist()
        == model_table(known)["semantic_encoding"].tolist()
    )
    assert choose_probe(foreign) == "lab.probe@3"


def test_results_that_declare_no_measures_are_understood_by_their_summary() -> None:
    legacy = []
    for result in _results():
        info = {k: v for k, v in result.benchmark_info.items() if k != "measures"}
        legacy.append(
            Result(
                result.model_id,
                result.benchmark,
                result.summary,
                result.layerwise,
                {**result.provenance, "benchmark": info},
            )
        )
    pd.testing.assert_frame_equal(layer_table(legacy), layer_table(_results()))


def test_the_pinned_probe_wins_a_tie_and_the_most_scored_probe_otherwise() -> None:
    def on(identifier: str, model_id: str) -> Result:
        result = make_result(model_id, PROBE)
        result.provenance["benchmark"]["id"] = identifier.partition("@")[0]
        return Result(model_id, identifier, result.summary, result.layerwise, result.provenance)

    hashed = "probe.saliency_semantic~0123456789ab@2"
    assert choose_probe([on(hashed, "a"), on(PROBE, "b")]) == PROBE
    assert choose_probe([on(hashed, "a"), on(PROBE, "b")][::-1]) == PROBE
    assert choose_probe([on(hashed, "a"), on(hashed, "c"), on(PROBE, "b")]) == hashed
    assert (
        choose_probe([on(hashed, "a"), on(PROBE, "b")], "probe.saliency_semantic~0123456789ab")
        == hashed
    )


def _on_stimuli(result: Result, ids_digest: str | None) -> Result:
    if ids_digest is not None:
        result.provenance["stimulus_ids_sha256"] = {"stimuli": ids_digest}
    return result


def test_targets_on_the_same_stimulus_ids_are_one_line_of_evidence() -> None:
    objects, others = (
        "92" * 32,
        "78" * 32,
    )  # (a version of hIT stands in for a benchmark on other stimuli)
    results = [
        _on_stimuli(make_result("clip_rn50", b), digest)
        for b, digest in (
            (IT, objects),
            ("kriegeskorte2008.hIT@1", objects),
            ("mur2013.judgements@1", objects),
            ("kriegeskorte2008.hIT@2", others),
        )
    ]
    results.append(make_result("clip_rn50", PROBE))  # the probe is not a brain target
    stimuli = target_stimuli(results)
    assert set(stimuli) == {
        IT,
        "kriegeskorte2008.hIT@1",
        "mur2013.judgements@1",
        "kriegeskorte2008.hIT@2",
    }
    assert evidence_lines(stimuli) == [
        [IT, "kriegeskorte2008.hIT@1", "mur2013.judgements@1"],
        ["kriegeskorte2008.hIT@2"],
    ]
    # a result that does not record its stimuli is not shown to be independent of any other
    results[3] = make_result("clip_rn50", "kriegeskorte2008.hIT@2")
    stimuli = target_stimuli(results)
    assert stimuli["kriegeskorte2008.hIT@2"] == STIMULI_NOT_RECORDED
    assert evidence_lines(stimuli) == [sorted(stimuli)]


def test_the_92_objects_on_white_and_on_grey_share_their_stimulus_ids(shared_data) -> None:
    """The Algonauts 92 images (white background) and Kriegeskorte's (grey): other bytes, the same
    objects; results on them record the same stimulus ids digest."""
    from brainalign.neural_data import load_algonauts2019, load_kriegeskorte2008

    white, grey = (
        load_algonauts2019(92, shared_data).stimuli,
        load_kriegeskorte2008(shared_data).stimuli,
    )
    assert white.content_hash != grey.content_hash
    assert white.ids_sha256 == grey.ids_sha256
