"""The 92-image fMRI targets scored by every metric beyond classical RSA, each a benchmark of its
own (``algonauts2019.92images.IT.wrsa@1`` …): on planted layers (the target's mean patterns plus
noise that shrinks with depth) each picks the cleanest layer, is near its ceiling there, carries
its metric in its id, definition, measures and results, and takes seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brainalign.benchmarks import LAYERWISE_COLUMNS, all_benchmarks, default_benchmarks, get
from brainalign.metrics import METRICS, Kernel, LayerKernels, embedding
from brainalign.results import Result

METRIC_BENCHMARKS = [
    f"algonauts2019.92images.{roi}.{metric}@1"
    for roi in ("EVC", "IT")
    for metric in ("wrsa", "cka", "encoding")
]


def planted_kernels(target, stimulus_ids, n_layers: int = 4, seed: int = 0) -> LayerKernels:
    """Layer k = the patterns of the subjects' mean RDM + noise that shrinks with k, 200 wide."""
    rng = np.random.default_rng(seed)
    patterns = embedding(target.rdms.data.mean(axis=0), target.rdms.distance).coordinates
    patterns = patterns @ rng.normal(size=(patterns.shape[1], 200))  # a wider, rotated copy
    scale = patterns.std()
    grams = []
    for noise in np.geomspace(6, 0.2, n_layers):
        features = patterns + noise * scale * rng.normal(size=patterns.shape)
        grams.append(Kernel.from_gram(features @ features.T))
    order = [list(target.stimulus_ids).index(s) for s in stimulus_ids]
    return LayerKernels(
        tuple(g.select(np.asarray(order)) for g in grams),
        [f"block{k}" for k in range(n_layers)],
        np.linspace(0, 1, n_layers),
        stimulus_ids,
        "planted",
    )


def test_every_metric_scores_the_92_image_targets_in_the_default_run() -> None:
    ids = {b.identifier for b in default_benchmarks()}
    assert set(METRIC_BENCHMARKS) <= ids
    for identifier in METRIC_BENCHMARKS:
        benchmark = get(identifier)
        metric = METRICS[identifier.split(".")[-1].split("@")[0]]
        assert (
            benchmark.metric_id == f"{metric.name}@{metric.version}"
            and benchmark.layers_as == "kernels"
        )
        assert metric.definition in benchmark.metric and "two-factor" in benchmark.metric
        assert all(m.metric == benchmark.metric_id for m in benchmark.measures)
    assert all(get(f"algonauts2019.92images.{roi}").metric_id == "rsa@1" for roi in ("EVC", "IT"))
    assert not [
        b for b in all_benchmarks() if b.id.startswith("mur2013.judgements.")
    ]  # the fMRI targets only


@pytest.mark.parametrize("identifier", METRIC_BENCHMARKS)
def test_a_metric_benchmark_finds_the_planted_layer(shared_data: Path, identifier: str) -> None:
    benchmark = get(identifier)
    ((name, stimuli),) = benchmark.stimulus_sets(shared_data).items()
    target = benchmark.target_rdms(shared_data)
    layers = planted_kernels(target, tuple(reversed(stimuli.ids)))  # matched by id, not by order
    score = benchmark.score({name: layers}, seed=0, data_dir=shared_data)
    assert score.benchmark == identifier and list(score.layerwise.columns) == list(
        LAYERWISE_COLUMNS
    )
    assert len(score.layerwise) == 4 * len(target.subjects)
    brain, ceiling = score.summary["brain_similarity"], score.summary["noise_ceiling"]
    assert brain["layer"] == "block3" and score.summary["brain_similarity_max"]["layer"] == "block3"
    assert (
        brain["ci_low"] < brain["value"] < brain["ci_high"]
        and brain["interval"] == "subjects and stimuli"
    )
    assert ceiling["reliable"] is True and ceiling["lower"] < ceiling["upper"]
    assert 0.5 < brain["normalised"] < 1.5  # the mean patterns: about as good as the mean subject
    assert (
        score.extra["metric"] == benchmark.metric_id and score.extra["resamples"]["n_stimuli"] == 92
    )
    result = Result.from_score(score, model_card={"id": "planted"}, benchmark=benchmark, seed=0)
    assert result.provenance["benchmark"]["metric_id"] == benchmark.metric_id
    assert {m.metric for m in result.measures} == {benchmark.metric_id}
    again = benchmark.score({name: layers}, seed=0, data_dir=shared_data)
    assert again.summary == score.summary  # deterministic given the seed


def test_the_leaderboard_builds_with_metric_benchmarks_and_keeps_them_out_of_the_rsa_analyses(
    shared_data: Path, tmp_path: Path
) -> None:
    from brainalign import build_leaderboard
    from brainalign.leaderboard.aggregate import build_leaderboard as aggregate
    from brainalign.leaderboard.relation import is_brain, is_classical_brain
    from brainalign.results import ResultsStore

    store = ResultsStore(tmp_path / "results")
    saved = []
    for model, seed in (("planted-a", 0), ("planted-b", 1)):
        for identifier in ("algonauts2019.92images.IT.cka@1", "algonauts2019.92images.IT@2"):
            benchmark = get(identifier)
            ((name, stimuli),) = benchmark.stimulus_sets(shared_data).items()
            target = benchmark.target_rdms(shared_data)
            kernels = planted_kernels(target, stimuli.ids, seed=seed)
            layers = kernels if benchmark.layers_as == "kernels" else _rdms_of(kernels)
            score = benchmark.score({name: layers}, seed=0, data_dir=shared_data)
            result = Result.from_score(
                score,
                model_card={"id": model},
                benchmark=benchmark,
                seed=0,
                data_checksums=benchmark.provenance(shared_data),
            )
            store.save(result)
            saved.append(result)
    page = build_leaderboard(tmp_path / "results", tmp_path / "board.html")
    text = page.read_text(encoding="utf-8")
    assert "algonauts2019.92images.IT.cka@1" in text and "algonauts2019.92images.IT@2" in text
    assert all(is_brain(r) for r in saved)
    assert [is_classical_brain(r) for r in saved] == [False, True, False, True]
    board = aggregate(saved)
    assert board.metrics["algonauts2019.92images.IT.cka@1"] == "cka"
    related = set(board.layer_relations["brain"]) | set(board.model_relations["brain"])
    assert (
        "algonauts2019.92images.IT.cka@1" not in related
    )  # not another brain target of the claims


def _rdms_of(kernels: LayerKernels):
    """Cosine layer RDMs of the planted layers (from their Gram matrices)."""
    from brainalign.rsa import LayerRDMs, RDMs, rdm_from_gram

    data = np.stack([rdm_from_gram(k.gram_matrix, "cosine") for k in kernels.kernels])
    return LayerRDMs(
        RDMs(data, kernels.names, kernels.stimulus_ids, "cosine"), kernels.depths, kernels.model_id
    )


def test_a_model_is_scored_on_rsa_and_a_metric_from_one_forward_pass_and_verified(
    shared_data: Path, tmp_path: Path, monkeypatch
) -> None:
    """Through the API as `brainalign run` does: the pixel baseline on IT by classical RSA and by
    CKA (its kernels from the cache the RSA extraction filled: no second forward pass); `verify`
    re-scores the CKA result from its provenance and finds every number again."""
    from brainalign import score
    from brainalign.models import extract
    from brainalign.verification import verify

    passes = []
    compute = extract._compute
    monkeypatch.setattr(
        extract, "_compute", lambda *a, **k: (passes.append(1), compute(*a, **k))[1]
    )
    outcomes = score(
        "pixels",
        ["algonauts2019.92images.IT", "algonauts2019.92images.IT.cka"],
        results=tmp_path / "results",
        data_dir=shared_data,
    )
    assert [o.status for o in outcomes] == ["scored", "scored"] and len(passes) == 1
    cka = next(o.result for o in outcomes if o.benchmark == "algonauts2019.92images.IT.cka@1")
    assert cka.provenance["benchmark"]["metric_id"] == "cka@1"
    (verdict,) = verify(
        [tmp_path / "results" / "pixels" / "algonauts2019.92images.IT.cka@1.json"],
        data_dir=shared_data,
    )
    assert verdict.verified, verdict.message
