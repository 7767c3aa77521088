"""The metric-robustness panel on planted data: a relation planted under one metric only shows as
depending on the metric, the claims panel stays classical RSA, ranks per metric match a
brute-force ranking, and the page and both JSON downloads carry the panel."""

from __future__ import annotations

import itertools
import json
import math
import re
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_run import run_cli
from scipy import stats
from synthetic_results import PROBE, _rows, benchmark_info, card, make_result

from brainalign.benchmarks.base import BenchmarkScore
from brainalign.leaderboard import simulation as sim
from brainalign.leaderboard.aggregate import build_leaderboard
from brainalign.leaderboard.claims import decisive_rows, decisive_tests, evaluate_claims
from brainalign.leaderboard.decisive import difference_test, within_model_test
from brainalign.leaderboard.ranking import rank
from brainalign.leaderboard.relation import metric_of
from brainalign.leaderboard.render import build, render_analysis, render_html, slug
from brainalign.leaderboard.robustness import NOT_SCORED, agreement, metric_robustness, ranks
from brainalign.results import Result, ResultsStore

#: Five trained models of five architecture lineages (the within-model tests need three).
ARCHITECTURES = {
    "m0": "resnet50",
    "m1": "vit_b_16",
    "m2": "mobilenet_v2",
    "m3": "efficientnet_b0",
    "m4": "convnext_tiny",
}
TARGETS = {"algonauts2019.92images.IT": "IT", "kriegeskorte2008.hIT": "hIT"}
N_SUBJECTS = 4
SUPPORTED = (0.9, 0.8, 0.85, 0.7, 0.95)  # per model: r of the layers' brain ρ with their semantic ρ
CONTRADICTED = tuple(-r for r in SUPPORTED)
NULL = (0.6, -0.6, 0.3, -0.3, 0.0)  # mean Fisher z exactly 0: inconclusive


def _semantic(layers: pd.DataFrame) -> np.ndarray:
    baseline = layers[(layers["target"] == "semantic") & (layers["condition"] == "Baseline")]
    return baseline.sort_values("layer_index")["value"].to_numpy()


def _with_r(semantic: np.ndarray, r: float, seed: int) -> np.ndarray:
    """Layer values whose Pearson r with ``semantic`` is exactly ``r``."""
    s = semantic - semantic.mean()
    s /= np.linalg.norm(s)
    other = np.random.default_rng(seed).normal(size=len(s))
    other -= other.mean() + (other @ s) * s
    other /= np.linalg.norm(other)
    return 0.2 + 0.05 * (r * s + math.sqrt(max(1 - r * r, 0.0)) * other)


def brain_result(
    model: str,
    identifier: str,
    r: float,
    value: float,
    *,
    seed: int = 0,
    half: float = 0.03,
    provenance: dict | None = None,
) -> Result:
    """A human result on ``identifier`` (``<target id>[.<metric>]@1``) whose per-layer ρ (mean over
    subjects) has Pearson r = ``r`` with the model's probe semantic ρ, and brain similarity ``value``."""
    probe = make_result(model, PROBE, seed=seed, architecture=ARCHITECTURES[model]).layerwise
    semantic = _semantic(probe)
    layers = [f"blocks.{i}" for i in range(len(semantic))]
    depth = np.linspace(0, 1, len(layers))
    per_layer = _with_r(semantic, r, seed + 1)
    noise = np.random.default_rng(seed + 2).normal(0, 0.01, (N_SUBJECTS, len(layers)))
    noisy = (
        per_layer[None, :] + noise - noise.mean(axis=0)
    )  # the mean over subjects stays per_layer
    subjects = np.repeat([f"sub-{s + 1}" for s in range(N_SUBJECTS)], len(layers))
    base = next(t for t in TARGETS if identifier.startswith(t))
    table = _rows(
        np.tile(layers, N_SUBJECTS),
        np.tile(depth, N_SUBJECTS),
        TARGETS[base],
        subjects,
        "",
        noisy.ravel(),
    )
    summary = {
        "brain_similarity": {
            "value": value,
            "ci_low": value - half,
            "ci_high": value + half,
            "normalised": value / 0.4,
            "normalised_ci_low": (value - half) / 0.4,
            "normalised_ci_high": (value + half) / 0.4,
        },
        "noise_ceiling": {"lower": 0.3, "upper": 0.4},
    }
    info = benchmark_info(f"{base}@1")
    info["id"] = identifier.partition("@")[0]
    metric = info["id"][len(base) + 1 :] or "rsa"
    if (
        metric != "cka"
    ):  # as results record it (CKA's is left to the id, as in results that predate the record)
        info["metric_id"] = f"{metric}@1"
    score = BenchmarkScore(identifier, table, summary, {"n_subjects": N_SUBJECTS})
    return Result.from_score(
        score,
        model_card=card(model, architecture=ARCHITECTURES[model]),
        benchmark=info,
        seed=seed,
        **(provenance or {}),
    )


def planted(
    relations: dict[str, dict[str, tuple[float, ...]]],
    values: dict[str, dict[str, list[float]]] | None = None,
) -> list[Result]:
    """Probe results of the five models, and per target and metric ("rsa": the classical id) a
    result per model with the planted within-model r (and brain similarity ``values``)."""
    results = [
        make_result(m, PROBE, seed=i, architecture=a)
        for i, (m, a) in enumerate(ARCHITECTURES.items())
    ]
    for key, per_model in relations.items():
        target, _, metric = key.partition("/")
        identifier = f"{target}@1" if metric == "rsa" else f"{target}.{metric}@1"
        for i, model in enumerate(ARCHITECTURES):
            value = (values or {}).get(key, [0.2 + 0.01 * i] * 5)[i]
            results.append(brain_result(model, identifier, per_model[i], value, seed=i))
    return results


def _board(results: list[Result]):
    return build_leaderboard(results)


IT, HIT = TARGETS


def test_the_benchmark_id_or_the_result_names_the_metric() -> None:
    assert metric_of("algonauts2019.92images.IT@2") == ("algonauts2019.92images.IT", "rsa")
    assert metric_of("algonauts2019.92images.IT.wrsa@1") == ("algonauts2019.92images.IT", "wrsa")
    assert metric_of("algonauts2019.92images.IT.encoding@3") == (
        "algonauts2019.92images.IT",
        "encoding",
    )
    assert metric_of("lab.V1.mymetric@1", {"benchmark": {"metric_id": "mymetric@2"}}) == (
        "lab.V1",
        "mymetric",
    )
    assert metric_of("lab.cka@1", {"benchmark": {"metric_id": "rsa@1"}}) == (
        "lab.cka",
        "rsa",
    )  # the record wins
    assert metric_of("lab.V1@1", {"benchmark": {"metric_id": "rsa@1"}}) == ("lab.V1", "rsa")


def test_a_relation_planted_under_one_metric_only_depends_on_the_metric() -> None:
    board = _board(
        planted(
            {
                f"{IT}/rsa": SUPPORTED,
                f"{HIT}/rsa": SUPPORTED,
                f"{IT}/cka": NULL,
                f"{HIT}/cka": NULL,
                f"{IT}/wrsa": SUPPORTED,
                f"{HIT}/wrsa": SUPPORTED,
            }
        )
    )
    panel = metric_robustness(board)
    assert panel.metrics == ("rsa", "cka", "wrsa")
    semantic = next(c for c in panel.claims if c.key == "semantic")
    assert semantic.status == {"rsa": "supported", "cka": "inconclusive", "wrsa": "supported"}
    assert semantic.targets[IT]["cka"].status == "inconclusive"
    assert semantic.targets[HIT]["rsa"].status == "supported"
    assert semantic.depends
    assert "Depends on the metric" in semantic.sentence
    assert re.search(r"supported under RSA and wRSA", semantic.sentence)
    assert "inconclusive under CKA" in semantic.sentence
    assert set(semantic.target_sentences) == {IT, HIT}
    # the planted estimate comes back: mean Fisher z of the five models' r over five lineages
    estimate = math.tanh(np.mean(np.arctanh(SUPPORTED)))
    assert semantic.targets[IT]["rsa"].test.estimate == pytest.approx(estimate, abs=1e-9)


def test_a_relation_planted_under_every_metric_holds_under_all() -> None:
    board = _board(planted({f"{IT}/{m}": SUPPORTED for m in ("rsa", "cka", "encoding")}))
    semantic = next(c for c in metric_robustness(board).claims if c.key == "semantic")
    assert set(semantic.status.values()) == {"supported"}
    assert not semantic.depends and semantic.sentence.startswith("Holds under every metric")
    assert not semantic.target_sentences


def test_one_target_disagreeing_under_a_metric_makes_it_mixed_there_and_metric_dependent() -> None:
    board = _board(
        planted(
            {
                f"{IT}/rsa": SUPPORTED,
                f"{HIT}/rsa": SUPPORTED,
                f"{IT}/encoding": SUPPORTED,
                f"{HIT}/encoding": CONTRADICTED,
            }
        )
    )
    semantic = next(c for c in metric_robustness(board).claims if c.key == "semantic")
    assert semantic.status == {"rsa": "supported", "encoding": "mixed"}
    assert semantic.depends
    assert list(semantic.target_sentences) == [HIT]
    assert "contradicted under encoding" in semantic.target_sentences[HIT]


def test_a_target_not_scored_with_a_metric_says_so_and_is_not_a_disagreement() -> None:
    board = _board(
        planted({f"{IT}/rsa": SUPPORTED, f"{HIT}/rsa": SUPPORTED, f"{IT}/cka": SUPPORTED})
    )
    semantic = next(c for c in metric_robustness(board).claims if c.key == "semantic")
    assert semantic.targets[HIT]["cka"].status == NOT_SCORED
    assert semantic.n_targets == {"rsa": 2, "cka": 1}
    assert not semantic.depends


def test_the_rule_is_the_claims_panels_and_the_claims_panel_stays_classical() -> None:
    """Under RSA the panel's verdicts are the claims panel's; adding other metrics' benchmarks
    (which contradict it) changes nothing on the claims panel."""
    classical = {f"{IT}/rsa": SUPPORTED, f"{HIT}/rsa": NULL}
    alone = _board(planted(classical))
    mixed = _board(planted({**classical, f"{IT}/cka": CONTRADICTED, f"{HIT}/cka": CONTRADICTED}))
    main = {c.claim: c.status for c in evaluate_claims(alone)}
    assert {c.claim: c.status for c in evaluate_claims(mixed)} == main
    assert decisive_rows(decisive_tests(mixed)) == decisive_rows(decisive_tests(alone))
    assert {row["brain"] for row in decisive_rows(decisive_tests(mixed))} == {f"{IT}@1", f"{HIT}@1"}
    cards = {b.identifier: b for b in mixed.benchmarks}
    assert (cards[f"{IT}.cka@1"].name, cards[f"{IT}@1"].name) == ("IT (CKA)", "IT")
    assert cards[f"{IT}.cka@1"].source == cards[f"{IT}@1"].source == "algonauts2019.92images @1"
    classical_columns = {f"{IT}@1", f"{HIT}@1"}
    assert (
        set(mixed.layer_relations["brain"])
        == set(mixed.model_relations["brain"])
        == classical_columns
    )
    assert set(mixed.brain_columns("cka")) == {f"{IT}.cka@1", f"{HIT}.cka@1"}
    panel = metric_robustness(mixed)
    for claim in panel.claims:
        assert main[claim.claim] == claim.status["rsa"]
    assert next(c for c in panel.claims if c.key == "semantic").status["cka"] == "contradicted"


def test_too_few_lineages_are_not_testable_under_every_metric() -> None:
    results = [
        r
        for r in planted({f"{IT}/rsa": SUPPORTED, f"{IT}/cka": NULL})
        if r.model_id in ("m0", "m1")
    ]
    panel = metric_robustness(_board(results))
    semantic = next(c for c in panel.claims if c.key == "semantic")
    assert semantic.status == {"rsa": "not testable", "cka": "not testable"}
    assert "could be tested under two metrics" in panel.summary
    assert not semantic.depends and semantic.sentence.startswith("Open")


def _brute_rank(values: dict[str, float]) -> dict[str, int]:
    return {m: 1 + sum(other > v for other in values.values()) for m, v in values.items()}


@pytest.mark.parametrize("seed", range(3))
def test_ranks_per_metric_match_a_brute_force_ranking(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = {
        f"{t}/{m}": list(np.round(rng.uniform(0.1, 0.4, 5), 2))  # rounded: ties happen
        for t in TARGETS
        for m in ("rsa", "cka", "encoding")
    }
    board = _board(planted({k: SUPPORTED for k in values}, values))
    panel = metric_robustness(board)
    assert {r.target for r in panel.ranks} == set(TARGETS)
    for target_ranks in panel.ranks:
        for metric in ("rsa", "cka", "encoding"):
            planted_values = dict(zip(ARCHITECTURES, values[f"{target_ranks.target}/{metric}"]))
            assert target_ranks.ranks[metric] == _brute_rank(planted_values)
        for comparison in target_ranks.comparisons:
            a = values[f"{target_ranks.target}/{comparison.a}"]
            b = values[f"{target_ranks.target}/{comparison.b}"]
            pairs = list(itertools.combinations(range(5), 2))
            swapped = sum((a[i] - a[j]) * (b[i] - b[j]) < 0 for i, j in pairs)
            concordant = sum((a[i] - a[j]) * (b[i] - b[j]) > 0 for i, j in pairs)
            tied_a = sum(a[i] == a[j] for i, j in pairs)
            tied_b = sum(b[i] == b[j] for i, j in pairs)
            tau_b = (concordant - swapped) / math.sqrt((10 - tied_a) * (10 - tied_b))
            assert comparison.swapped == swapped and comparison.pairs == 10
            assert comparison.tau == pytest.approx(tau_b)


def test_swaps_beyond_both_intervals_are_told_apart_from_noise() -> None:
    rsa = [0.10, 0.20, 0.30, 0.40, 0.50]
    reversed_ = rsa[::-1]
    board = _board(
        planted(
            {f"{IT}/rsa": SUPPORTED, f"{IT}/cka": SUPPORTED},
            {f"{IT}/rsa": rsa, f"{IT}/cka": reversed_},
        )
    )
    (it,) = metric_robustness(board).ranks
    (comparison,) = it.comparisons
    assert comparison.tau == pytest.approx(-1.0) and comparison.swapped == 10
    assert comparison.clear == 10  # every pair 0.1 apart, intervals ±0.03: apart under both
    assert comparison.first == ("m4", "m0")
    assert (
        "disagree" in comparison.sentence
        and "first: m4 under RSA, m0 under CKA" in comparison.sentence
    )
    close = _board(
        planted(
            {f"{IT}/rsa": SUPPORTED, f"{IT}/cka": SUPPORTED},
            {
                f"{IT}/rsa": [0.20, 0.21, 0.22, 0.23, 0.24],
                f"{IT}/cka": [0.24, 0.23, 0.22, 0.21, 0.20],
            },
        )
    )
    (comparison,) = metric_robustness(close).ranks[0].comparisons
    assert (
        comparison.swapped == 10 and comparison.clear == 0 and "may be noise" in comparison.sentence
    )


def test_agreement_sentences() -> None:
    assert agreement({"rsa": "supported"}) == (
        False,
        "Supported under RSA, the only metric scored: whether it survives a change of metric is open.",
    )
    depends, text = agreement(
        {"rsa": "supported", "cka": "inconclusive", "encoding": "not testable"}
    )
    assert depends and text == (
        "Depends on the metric: supported under RSA; inconclusive under CKA. "
        "Not testable under encoding."
    )
    assert agreement({"rsa": "supported", "cka": "not testable"})[0] is False


def test_ranks_share_the_best_rank_on_ties_and_skip_nan() -> None:
    assert ranks({"a": 0.3, "b": 0.5, "c": 0.3, "d": math.nan}) == {"b": 1, "a": 2, "c": 2}


def test_the_page_and_both_json_downloads_carry_the_panel(tmp_path: Path, capsys) -> None:
    store = ResultsStore(tmp_path / "results")
    for result in planted({f"{IT}/rsa": SUPPORTED, f"{IT}/cka": NULL}):
        store.save(result)
    out = tmp_path / "leaderboard.html"
    build(store.folder, out)
    index = out.read_text()
    assert re.search(r'href="leaderboard_files/analysis\.html#metric-robustness"', index)
    analysis = (tmp_path / "leaderboard_files" / "analysis.html").read_text()
    text = unescape(re.sub(r"<[^>]+>", " ", analysis))
    assert 'id="metric-robustness"' in analysis
    assert "Depends on the metric: supported under RSA; inconclusive under CKA." in " ".join(
        text.split()
    )
    data = json.loads(
        unescape(
            re.search(
                r'<script type="application/json" id="analysis-data">(.*?)</script>',
                analysis,
                re.DOTALL,
            ).group(1)
        )
    )
    panel = data["metric_robustness"]
    semantic = next(c for c in panel["claims"] if c["key"] == "semantic")
    assert (
        semantic["status"] == {"rsa": "supported", "cka": "inconclusive"}
        and semantic["depends_on_metric"]
    )
    model_page = (tmp_path / "leaderboard_files" / "models" / f"{slug('m0')}.html").read_text()
    profile = re.search(r'<figure class="profile">(.*?)</figure>', model_page, re.DOTALL).group(1)
    assert (
        "IT" in profile and "CKA" not in profile
    )  # the profile's axis is ρ: classical RSA's targets only
    code, out, _ = run_cli(["leaderboard", "export", store.folder, "--format", "json"], capsys)
    exported = json.loads(out)
    assert code == 0
    assert exported["metric_robustness"]["claims"] == panel["claims"]
    assert exported["metric_robustness"]["ranks"][0]["models"] == panel["ranks"][0]["models"]


def test_with_one_metric_the_panel_says_there_is_nothing_to_compare() -> None:
    board = _board(planted({f"{IT}/rsa": SUPPORTED}))
    panel = metric_robustness(board)
    assert not panel.several and "one metric only" in panel.summary
    assert "metric-robustness" in render_analysis(board)
    assert "metric-robustness" in render_html(board)


def test_the_overall_rank_stays_classical_rsa() -> None:
    """Another metric's benchmark scores the same target again: by default it weighs 0 in the
    overall rank (the page's weights can raise it), so the rank is the one without it."""
    values = {f"{IT}/rsa": [0.1, 0.2, 0.3, 0.4, 0.5], f"{IT}/cka": [0.5, 0.4, 0.3, 0.2, 0.1]}
    relations = {k: SUPPORTED for k in values}
    with_cka = rank(_board(planted(relations, values)))
    alone = rank(_board(planted({f"{IT}/rsa": SUPPORTED}, values)))
    assert (
        [s.model for s in with_cka.standings]
        == [s.model for s in alone.standings]
        == ["m4", "m3", "m2", "m1", "m0"]
    )
    assert (
        with_cka.weights[f"{IT}.cka@1"] == 0 and "classical RSA" in with_cka.left_out[f"{IT}.cka@1"]
    )
    assert rank(_board(planted(relations, values)), {f"{IT}.cka@1": 1.0}).standings[
        0
    ].value == pytest.approx(0.3 / 0.4)


def test_verdicts_that_differ_by_chance_alone_say_so() -> None:
    """CKA's relation is weaker on two models only: inconclusive under CKA, supported under RSA,
    but the difference of the two within-model estimates is within chance."""
    weaker = (0.9, -0.5, 0.85, 0.2, 0.95)
    board = _board(planted({f"{IT}/rsa": SUPPORTED, f"{IT}/cka": weaker}))
    semantic = next(c for c in metric_robustness(board).claims if c.key == "semantic")
    assert semantic.status == {"rsa": "supported", "cka": "inconclusive"} and semantic.depends
    assert not semantic.targets[IT]["cka"].beyond_chance
    assert "may differ by chance alone" in semantic.sentence
    planted_only_under_rsa = _board(planted({f"{IT}/rsa": SUPPORTED, f"{IT}/cka": CONTRADICTED}))
    semantic = next(
        c for c in metric_robustness(planted_only_under_rsa).claims if c.key == "semantic"
    )
    assert semantic.targets[IT]["cka"].beyond_chance
    assert semantic.targets[IT]["cka"].difference.estimate < 0
    assert f"beyond chance on {IT}" in semantic.sentence


def _at_most(count: int, reps: int, rate: float) -> bool:
    return count <= stats.binom.ppf(0.999, reps, rate)


def test_equal_relations_under_two_metrics_rarely_differ_beyond_chance() -> None:
    """The same planted within-model relation under two metrics (each lineage deviating on its
    own): the difference is called beyond chance at most 5% of the time, while the two verdicts
    alone disagree far more often (which is why the sentence says which it is)."""
    reps, rng = 200, np.random.default_rng(11)
    beyond = disagree = 0
    for _ in range(reps):
        layers = sim.simulate_layers(
            sim.layout(8, 4), rng, within_r=0.5, x="rsa", y="semantic", others={"cka": 0.5}
        )
        rsa, cka = (
            within_model_test(layers, "semantic", "rsa"),
            within_model_test(layers, "semantic", "cka"),
        )
        meta = layers.groupby("model", as_index=False)[["lineage", "trained"]].first()
        beyond += difference_test(cka, rsa, meta).direction in ("positive", "negative")
        disagree += rsa.direction != cka.direction
    assert _at_most(beyond, reps, 0.05), f"{beyond} of {reps}"
    assert disagree > beyond, (disagree, beyond)


def test_a_relation_under_one_metric_only_is_found_beyond_chance_with_enough_lineages() -> None:
    reps, rng = 100, np.random.default_rng(12)
    found = 0
    for _ in range(reps):
        layers = sim.simulate_layers(
            sim.layout(12, 6), rng, within_r=0.8, x="rsa", y="semantic", others={"cka": 0.0}
        )
        rsa, cka = (
            within_model_test(layers, "semantic", "rsa"),
            within_model_test(layers, "semantic", "cka"),
        )
        meta = layers.groupby("model", as_index=False)[["lineage", "trained"]].first()
        found += difference_test(cka, rsa, meta).direction == "negative"
    assert found >= stats.binom.ppf(0.001, reps, 0.5), f"{found} of {reps}"
