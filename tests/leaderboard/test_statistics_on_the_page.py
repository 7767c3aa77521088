"""Statistics on the page as a reviewer reads them: how a claim's verdict combines targets, what a
null result may be called, intervals of relations across few models, p-values only beside
intervals that agree with them, what each interval resamples, and one column per version."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from synthetic_results import HUMAN, PROBE, fill_store, make_result
from test_build import _data_block, _read, _table_models, _visible, page_of, site

from brainalign.leaderboard.aggregate import build_leaderboard
from brainalign.leaderboard.claims import (
    DecisiveTests,
    evaluate_claims,
    saliency_across_models_claim,
    semantic_claim,
)
from brainalign.leaderboard.decisive import LineageTest
from brainalign.leaderboard.export import export
from brainalign.leaderboard.relation import FEW_MODELS, caveat, model_relations
from brainalign.leaderboard.render import build, files_folder, render_analysis
from brainalign.results import ResultsStore

SEMANTIC_CLAIM = "Across layers, semantic encoding goes with"
NULL_CLAIM = "Across models, saliency suppression does not go with"


def _claim(board, start: str):
    return next(c for c in evaluate_claims(board) if c.claim.startswith(start))


def _table_rows(html: str, table_id: str) -> list[list[str]]:
    """The body rows of the table with ``table_id``, as the cells' visible text."""
    body = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.DOTALL).group(
        1
    )
    return [
        [
            " ".join(re.sub(r"<[^>]+>", "", cell).split())
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL)
    ]


def _lineage_test(
    low: float, high: float, analysis: str = "within models", minimum: int = 3
) -> LineageTest:
    """A decisive test with a given interval, over as many lineages as it needs."""
    lineages = tuple("abcdefgh"[:minimum])
    return LineageTest(
        analysis,
        "semantic",
        "IT",
        ("a1", *lineages),
        lineages,
        minimum,
        estimate=(low + high) / 2,
        ci_low=low,
        ci_high=high,
        p=0.01,
    )


def test_a_claim_whose_targets_disagree_is_mixed_and_shows_each_targets_verdict() -> None:
    targets = list(HUMAN)

    def claim(intervals: dict[str, tuple[float, float]], lines: list[list[str]]):
        within = [(t, "semantic", _lineage_test(*intervals.get(t, (0.2, 0.9)))) for t in targets]
        return semantic_claim(DecisiveTests(within, [], [], [], lines, stimuli_recorded=True))

    one_line = [targets]
    assert claim({}, one_line).status == "supported"
    mixed = claim(
        {"kriegeskorte2008.hIT@1": (-0.1, 0.9)}, one_line
    )  # only hIT's interval includes 0
    assert mixed.status == "mixed"
    [line] = mixed.lines
    verdicts = {item.split(":")[0]: item.split("→ ")[1] for item in line.items}
    assert verdicts == {
        "algonauts2019.92images.IT@1": "supported",
        "kriegeskorte2008.hIT@1": "inconclusive",
        "mur2013.judgements@1": "supported",
    }
    assert "one line of evidence, not replications" in line.shared
    assert "only when every target says so" in mixed.rule
    assert claim({t: (-0.1, 0.9) for t in targets}, one_line).status == "inconclusive"
    assert claim({t: (-0.9, -0.1) for t in targets}, one_line).status == "contradicted"
    # targets on different stimuli: each is a line of its own, and each line gets its own status
    separate = claim({"kriegeskorte2008.hIT@1": (-0.9, -0.2)}, [[t] for t in targets])
    assert separate.status == "mixed" and [line.status for line in separate.lines] == [
        "supported",
        "contradicted",
        "supported",
    ]


def test_a_null_claim_is_never_supported_by_an_interval_that_includes_zero() -> None:
    def claim(low: float, high: float):
        across = [
            (t, "saliency_suppression", _lineage_test(low, high, "across models", 5)) for t in HUMAN
        ]
        return saliency_across_models_claim(DecisiveTests([], [], [], across, [list(HUMAN)], True))

    wide = claim(-0.6, 0.8)
    assert wide.status == "not contradicted"
    items = [item for line in wide.lines for item in line.items]
    assert len(items) == len(HUMAN) and all(
        "r anywhere from -0.60 to 0.80" in item for item in items
    )
    assert "cannot be shown by an interval that includes 0" in wide.rule
    assert claim(0.1, 0.8).status == "contradicted"


def test_claims_below_the_minimum_show_no_number_and_say_what_to_score(synthetic_store) -> None:
    """Two trained models, each its own lineage: every relation claim is not testable, its
    evidence quotes no r or interval, and it names what would make it testable."""
    board = build_leaderboard(synthetic_store.load_all().results)
    for start in (SEMANTIC_CLAIM, NULL_CLAIM):
        claim = _claim(board, start)
        assert claim.status == "not testable" and not claim.lines
        assert all("=" not in line and "[" not in line for line in claim.evidence)
        assert "more architecture lineage" in claim.needs and "count once" in claim.needs


def test_the_page_shows_no_number_beside_not_testable_and_states_the_rule(tmp_path: Path) -> None:
    store = fill_store(tmp_path / "results")
    index = build(store.folder, tmp_path / "board.html").path
    html = (files_folder(index) / "analysis.html").read_text()
    within = _table_rows(html, "within-table")
    assert within and all("not testable" in row[-1] for row in within if row[2] == "trained")
    for row in within:
        if "not testable" in row[-1]:
            assert len(row) == 6 and not any(
                c in row[-1] for c in "=[]"
            )  # no r, no interval, no p cell
    text = _visible(html)
    assert "With fewer than 3 trained lineages a row is not testable and shows no number" in text
    assert "with fewer than 5 trained lineages a row is not testable" in text
    assert "The decisive number is the within-model correlation" in text
    assert "a descriptive replication of the study's analysis" in text
    assert "Targets measured on the same stimuli count as one line of evidence" in text
    assert "excludes no effect" not in text and "no interval excludes" not in text


#: Five trained models of four lineages (CLIP's RN50 and resnet50 are one): enough for the within-model
#: test (3 lineages), not for the across-model one (5).
ARCHITECTURES = {
    "efficientnet_lite0": "tf_efficientnet_lite0",
    "clip_rn50": "RN50",
    "vit_b_16": "vit_b_16",
    "convnext_tiny": "convnext_tiny",
    "resnet50": "resnet50",
}


def _four_lineages(folder: Path) -> ResultsStore:
    store = ResultsStore(folder)
    for model, architecture in ARCHITECTURES.items():
        for identifier in (PROBE, *HUMAN):
            store.save(make_result(model, identifier, architecture=architecture))
    return store


def test_with_enough_lineages_the_page_shows_the_within_model_estimates(tmp_path: Path) -> None:
    store = _four_lineages(tmp_path / "results")
    board = build_leaderboard(store.load_all().results)
    claim = _claim(board, SEMANTIC_CLAIM)
    assert claim.status == "supported"  # planted: brain ρ = 0.05 + 0.6 × semantic ρ in every model
    assert all(
        "over 4 lineages (5 trained models)" in item for line in claim.lines for item in line.items
    )
    html = render_analysis(board)
    rows = [
        row
        for row in _table_rows(html, "within-table")
        if row[1].startswith("semantic ρ") and row[2] == "trained"
    ]
    assert rows and all(row[-2].startswith("r = ") and row[4] == "4" for row in rows)


def test_the_analysis_download_and_the_json_export_carry_the_decisive_tests_and_claims(
    tmp_path: Path,
) -> None:
    store = _four_lineages(tmp_path / "results")
    index = build(store.folder, tmp_path / "board.html").path
    board = build_leaderboard(store.load_all().results)
    page = json.loads(
        _data_block((files_folder(index) / "analysis.html").read_text(), "analysis-data")
    )
    exported = json.loads(export(board, "json"))
    claims = evaluate_claims(board)
    for data in (page, exported):
        assert [(c["claim"], c["status"]) for c in data["claims"]] == [
            (c.claim, c.status) for c in claims
        ]
        semantic = [
            r
            for r in data["decisive_tests"]
            if r["analysis"] == "within models" and r["measure"] == "semantic" and r["trained_only"]
        ]
        assert len(semantic) == len(HUMAN) and all(
            r["testable"] and r["n_lineages"] == 4 and r["ci_low"] > 0 for r in semantic
        )  # planted within every model
        across = [r for r in data["decisive_tests"] if r["analysis"] == "across models"]
        assert across and not any(r["testable"] for r in across)  # 4 lineages, 5 needed
        assert all(
            ("estimate" in r) == r["testable"] for r in data["decisive_tests"]
        )  # no number when not testable
    assert page["decisive_tests"] == [
        {k: v for k, v in row.items() if k != "models"}  # the export names models
        for row in exported["decisive_tests"]
    ]
    assert all(len(row["models"]) == row["n_models"] for row in exported["decisive_tests"])
    assert {"pooled_relations", "model_relations"} <= set(page)
    assert all(r["model"] == "" for r in page["pooled_relations"]) and page["pooled_relations"]


def test_relations_across_models_resample_models_and_carry_a_caveat_with_few_of_them() -> None:
    """Three trained models and six untrained ones: r is large, carried by the gap between the
    two groups; the interval resamples models and the relation says what carries it."""
    trained, untrained = [f"t{i}" for i in range(3)], [f"u{i}" for i in range(6)]
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "model": trained + untrained,
            "semantic_encoding": np.r_[rng.normal(0.4, 0.03, 3), rng.normal(0.05, 0.01, 6)],
            "saliency_suppression": rng.normal(0, 0.05, 9),
            "IT@2": np.r_[rng.normal(0.2, 0.02, 3), rng.normal(0.04, 0.01, 6)],
        }
    )
    row = model_relations(table, set(trained)).set_index("measure").loc["semantic_encoding"]
    assert row["r"] > 0.9 and row["p"] < 1e-3
    assert row["ci_method"] == "9 models resampled"
    assert "only 3 of 9 models are trained" in row["caveat"]
    assert caveat([f"m{i}" for i in range(FEW_MODELS - 1)]).startswith(
        f"only {FEW_MODELS - 1} models"
    )
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
    store = fill_store(
        tmp_path / "results",
        models=("efficientnet_lite0",),
        benchmarks=(PROBE, "kriegeskorte2008.hIT@1"),
    )
    store.save(make_result("efficientnet_lite0:untrained", "kriegeskorte2008.hIT@2"))
    index = build(store.folder, tmp_path / "board.html").path
    text = _visible(index.read_text())
    assert "hIT: 95% expanded percentile bootstrap over subjects" in text
    assert "hIT: 95% two-factor bootstrap over subjects and stimuli" in text
    assert "saliency_semantic: 95% percentile bootstrap over stimuli" in text  # the probe's
    for identifier in (
        "kriegeskorte2008.hIT@1",
        "kriegeskorte2008.hIT@2",
        PROBE,
    ):  # and each benchmark's page
        assert "Interval 95% " in _visible(page_of(index, "benchmarks", identifier))
    # the few-subjects caveat reads by what the interval resamples: subjects only (@1), or also stimuli (@2)
    assert "about an 80% interval" in _visible(
        page_of(index, "benchmarks", "kriegeskorte2008.hIT@1")
    )
    assert "about a 90% interval" in _visible(
        page_of(index, "benchmarks", "kriegeskorte2008.hIT@2")
    )


def test_no_column_mixes_versions_of_a_benchmark(tmp_path: Path) -> None:
    """Results of hIT@1 and hIT@2 differ in what their intervals mean: each version is a column
    of its own, and a model holds numbers only in the version it was scored on."""
    store = fill_store(
        tmp_path / "results", models=("efficientnet_lite0",), benchmarks=("kriegeskorte2008.hIT@1",)
    )
    store.save(make_result("clip_rn50", "kriegeskorte2008.hIT@2"))
    html = build(store.folder, tmp_path / "board.html").path.read_text()
    header, *rows = _read(html).rows
    columns = [i for i, cell in enumerate(header) if cell.startswith("hIT")]
    assert [("@1" in header[i], "@2" in header[i]) for i in columns] == [
        (True, False),
        (False, True),
    ]
    cells = dict(zip(_table_models(html), ([row[i] for i in columns] for row in rows)))
    assert cells["efficientnet_lite0"][1] == "—" and cells["efficientnet_lite0"][0] != "—"
    assert cells["clip_rn50"][0] == "—" and cells["clip_rn50"][1] != "—"
    layers = build_leaderboard(store.load_all().results).layers
    assert {"kriegeskorte2008.hIT@1", "kriegeskorte2008.hIT@2"} <= set(layers.columns)


@pytest.mark.parametrize("word", ["raises", "training adds", "drives", "causes"])
def test_no_causal_wording(built_leaderboard, word: str) -> None:
    for html in site(built_leaderboard[0]).values():
        assert word not in _visible(html)
