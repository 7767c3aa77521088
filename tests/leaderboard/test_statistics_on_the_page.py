"""Statistics on the page as a reviewer reads them: how a claim's verdict combines targets, what a
null result may be called, intervals of relations across few models, p-values only beside
intervals that agree with them, what each interval resamples, and one column per version."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from synthetic_results import CARDS, HUMAN, PROBE, fill_store, make_result
from test_build import _read, _table_models, _visible, page_of, site

from brainalign.leaderboard.aggregate import build_leaderboard
from brainalign.leaderboard.claims import evaluate_claims
from brainalign.leaderboard.relation import FEW_MODELS, caveat, model_relations, model_table
from brainalign.leaderboard.render import build, render_analysis

SEMANTIC_CLAIM = "Across layers, semantic encoding goes with"
NULL_CLAIM = "Across models, saliency suppression does not go with"


def _claim(board, start: str):
    return next(c for c in evaluate_claims(board) if c.claim.startswith(start))


def _set_interval(frame: pd.DataFrame, where: pd.Series, low: float, high: float) -> None:
    frame.loc[where, "ci_low"], frame.loc[where, "ci_high"] = low, high


def test_a_claim_whose_targets_disagree_is_mixed_and_shows_each_targets_verdict(synthetic_store) -> None:
    board = build_leaderboard(synthetic_store.load_all().results)
    relations = board.layer_relations
    semantic = (relations["model"] == "") & (relations["measure"] == "semantic")
    _set_interval(relations, semantic, 0.2, 0.9)
    assert _claim(board, SEMANTIC_CLAIM).status == "supported"
    hit = semantic & (relations["brain"] == "kriegeskorte2008.hIT@1")
    _set_interval(relations, hit, -0.1, 0.9)  # only hIT's interval includes 0
    claim = _claim(board, SEMANTIC_CLAIM)
    assert claim.status == "mixed"
    verdicts = {line.split(":")[0]: line.split("→ ")[1] for line in claim.evidence if "→" in line}
    assert verdicts == {"algonauts2019.92images.IT@1": "supported", "kriegeskorte2008.hIT@1": "inconclusive",
                        "mur2013.judgements@1": "supported"}
    assert "only when every target says so" in claim.rule
    assert sum(line.startswith("Caution: only 4 models") for line in claim.evidence) == 1  # said once
    _set_interval(relations, semantic, -0.1, 0.9)
    assert _claim(board, SEMANTIC_CLAIM).status == "inconclusive"


def test_a_null_claim_is_never_supported_by_an_interval_that_includes_zero(synthetic_store) -> None:
    store = fill_store(synthetic_store.folder, models=(*CARDS, "resnet50", "vit_b_16"))
    board = build_leaderboard(store.load_all().results)
    relations = board.model_relations
    saliency = relations["measure"] == "saliency_suppression"
    _set_interval(relations, saliency, -0.6, 0.8)
    claim = _claim(board, NULL_CLAIM)
    assert claim.status == "not contradicted"
    targets = [line for line in claim.evidence if "→" in line]
    assert len(targets) == len(HUMAN) and all("r anywhere from -0.60 to 0.80" in line for line in targets)
    assert "cannot be shown by an interval that includes 0" in claim.rule
    _set_interval(relations, saliency, 0.1, 0.8)
    assert _claim(board, NULL_CLAIM).status == "contradicted"


def test_relations_across_models_resample_models_and_carry_a_caveat_with_few_of_them() -> None:
    """Three trained models and six untrained ones: r is large, carried by the gap between the
    two groups; the interval resamples models and the relation says what carries it."""
    trained, untrained = [f"t{i}" for i in range(3)], [f"u{i}" for i in range(6)]
    rng = np.random.default_rng(0)
    table = pd.DataFrame({
        "model": trained + untrained,
        "semantic_encoding": np.r_[rng.normal(0.4, 0.03, 3), rng.normal(0.05, 0.01, 6)],
        "saliency_suppression": rng.normal(0, 0.05, 9),
        "IT@2": np.r_[rng.normal(0.2, 0.02, 3), rng.normal(0.04, 0.01, 6)],
    })
    row = model_relations(table, set(trained)).set_index("measure").loc["semantic_encoding"]
    assert row["r"] > 0.9 and row["p"] < 1e-3
    assert row["ci_method"] == "9 models resampled"
    assert "only 3 of 9 models are trained" in row["caveat"]
    assert caveat([f"m{i}" for i in range(FEW_MODELS - 1)]).startswith(f"only {FEW_MODELS - 1} models")
    assert caveat([f"m{i}" for i in range(FEW_MODELS)], {f"m{i}" for i in range(FEW_MODELS)}) == ""


def test_p_values_are_not_shown_beside_intervals_that_resample_models(synthetic_store) -> None:
    board = build_leaderboard(synthetic_store.load_all().results)
    text = _visible(render_analysis(board))
    pooled = board.layer_relations[board.layer_relations["model"] == ""].dropna(subset=["r"])
    assert pooled["ci_method"].str.endswith("models resampled").all()
    for p_value in pooled["p"]:
        assert f"{p_value:.1e}" not in text
    for r in pooled["r"]:
        assert f"{r:.3f}" in text


def test_each_benchmark_says_what_its_interval_resamples_and_how_it_covers(tmp_path: Path) -> None:
    store = fill_store(tmp_path / "results", models=("efficientnet_lite0",),
                       benchmarks=(PROBE, "kriegeskorte2008.hIT@1"))
    store.save(make_result("efficientnet_lite0:untrained", "kriegeskorte2008.hIT@2"))
    index = build(store.folder, tmp_path / "board.html").path
    text = _visible(index.read_text())
    assert "hIT: 95% expanded percentile bootstrap over subjects" in text
    assert "80% with 4" in text
    assert "hIT: 95% two-factor bootstrap over subjects and stimuli" in text
    assert "saliency_semantic: 95% percentile bootstrap over stimuli" in text  # the probe's
    for identifier in ("kriegeskorte2008.hIT@1", "kriegeskorte2008.hIT@2", PROBE):  # and each benchmark's page
        assert "Interval 95% " in _visible(page_of(index, "benchmarks", identifier))


def test_no_column_mixes_versions_of_a_benchmark(tmp_path: Path) -> None:
    """Results of hIT@1 and hIT@2 differ in what their intervals mean: each version is a column
    of its own, and a model holds numbers only in the version it was scored on."""
    store = fill_store(tmp_path / "results", models=("efficientnet_lite0",), benchmarks=("kriegeskorte2008.hIT@1",))
    store.save(make_result("clip_rn50", "kriegeskorte2008.hIT@2"))
    html = build(store.folder, tmp_path / "board.html").path.read_text()
    header, *rows = _read(html).rows
    columns = [i for i, cell in enumerate(header) if cell.startswith("hIT")]
    assert [("@1" in header[i], "@2" in header[i]) for i in columns] == [(True, False), (False, True)]
    cells = dict(zip(_table_models(html), ([row[i] for i in columns] for row in rows)))
    assert cells["efficientnet_lite0"][1] == "—" and cells["efficientnet_lite0"][0] != "—"
    assert cells["clip_rn50"][0] == "—" and cells["clip_rn50"][1] != "—"
    layers = build_leaderboard(store.load_all().results).layers
    assert {"kriegeskorte2008.hIT@1", "kriegeskorte2008.hIT@2"} <= set(layers.columns)


@pytest.mark.parametrize("word", ["raises", "training adds", "drives", "causes"])
def test_no_causal_wording(built_leaderboard, word: str) -> None:
    for html in site(built_leaderboard[0]).values():
        assert word not in _visible(html)
