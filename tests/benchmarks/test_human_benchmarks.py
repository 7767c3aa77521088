"""The registered human benchmarks on the real data, and the data / benchmarks / cite commands."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_run import run_cli

from brainalign.benchmarks import get
from brainalign.benchmarks.base import LAYERWISE_COLUMNS
from brainalign.benchmarks.registry import all_benchmarks
from brainalign.errors import BrainAlignError
from brainalign.neural_data import STUDY_ROIS, datasets, get_dataset
from brainalign.rsa import LayerRDMs, RDMs


def test_every_data_set_has_benchmarks_and_the_default_ones_are_fetchable_and_pinned() -> None:
    human = {b.identifier: b for b in all_benchmarks() if hasattr(b, "dataset")}
    assert {b.dataset for b in human.values()} == {d.name for d in datasets()}
    for roi in STUDY_ROIS:
        assert get(f"algonauts2023.{roi}").target == roi
    for benchmark in human.values():
        data = get_dataset(benchmark.dataset)
        newest = benchmark is get(benchmark.id)
        assert benchmark.default == (newest and data.fetchable and data.pinned), (
            benchmark.identifier
        )
        assert benchmark.description and "Spearman" in benchmark.metric
        assert (
            "opielka2024saliency" in benchmark.bibtex and "@software{brainalign" in benchmark.bibtex
        )
        for key in get_dataset(benchmark.dataset).citations:
            assert key in benchmark.bibtex
    assert "mean of its two session RDMs" in get("kriegeskorte2008.hIT").metric
    assert len(STUDY_ROIS) == 32 and "all-vertices" in STUDY_ROIS


def planted_layers(target, stimulus_ids, n_layers: int = 5, seed: int = 0) -> LayerRDMs:
    """Layer k = the target's subject-mean RDM + noise that shrinks with k."""
    rng = np.random.default_rng(seed)
    mean = target.rdms.data.mean(axis=0)
    data = np.stack(
        [
            mean + s * mean.std() * rng.normal(size=mean.size)
            for s in np.geomspace(10, 0.3, n_layers)
        ]
    )
    rdms = RDMs(data, [f"block{k}" for k in range(n_layers)], target.stimulus_ids, "cosine")
    return LayerRDMs(rdms.reorder(stimulus_ids), np.linspace(0, 1, n_layers), "planted")


DEFAULT_HUMAN = sorted(
    b.identifier
    for b in all_benchmarks()
    if b.default and hasattr(b, "dataset") and b.layers_as == "rdms"
)
#: The one scored twice, to show the same seed gives the same summary (the cheapest: 4 subjects).
DETERMINISM_CHECKED = next(b for b in DEFAULT_HUMAN if b.startswith("kriegeskorte2008.hIT@"))


@pytest.mark.parametrize("benchmark_id", DEFAULT_HUMAN)
def test_default_benchmarks_score_planted_layers(shared_data: Path, benchmark_id: str) -> None:
    benchmark = get(benchmark_id)
    assert benchmark.availability(shared_data).available
    stimuli = benchmark.stimulus_sets(shared_data)
    ((name, stimulus_set),) = stimuli.items()
    target = benchmark.target_rdms(shared_data)
    layers = planted_layers(target, stimulus_set.ids)
    score = benchmark.score({name: layers}, seed=0, data_dir=shared_data)
    assert score.benchmark == benchmark_id
    assert list(score.layerwise.columns) == list(LAYERWISE_COLUMNS)
    assert len(score.layerwise) == 5 * len(target.subjects)
    assert set(score.layerwise["target"]) == {benchmark.target}
    summary = score.summary
    assert set(summary["brain_similarity"]) >= {
        "value",
        "ci_low",
        "ci_high",
        "normalised",
        "normalised_ci_low",
        "normalised_ci_high",
    }
    assert set(summary["brain_similarity_max"]) >= {"value", "layer", "normalised"}
    ceiling = summary["noise_ceiling"]
    assert (ceiling["lower"], ceiling["upper"]) == (target.ceiling.lower, target.ceiling.upper)
    assert ceiling["reliable"] is True and ceiling["reliability"]["p"] < 0.05
    assert summary["brain_similarity"]["layer"] == "block4"
    assert summary["brain_similarity_max"]["layer"] == "block4"
    assert 0.5 < summary["brain_similarity"]["normalised"] <= 1.05
    if benchmark_id == DETERMINISM_CHECKED:
        # every default human benchmark scores through one DeclaredBenchmark.score: once with
        # the real data is enough (tests/benchmarks/test_human_scoring.py checks score_target's
        # seeds on synthetic data)
        again = benchmark.score({name: layers}, seed=0, data_dir=shared_data)
        assert again.summary == summary


def test_provenance_records_the_data_checksums(shared_data: Path) -> None:
    provenance = get("mur2013.judgements").provenance(shared_data)
    assert provenance == {
        "kriegeskorte2008_92": {f.path: f.sha256 for f in get_dataset("kriegeskorte2008_92").files}
    }


def test_wrong_stimulus_set_is_refused(shared_data: Path) -> None:
    benchmark = get("kriegeskorte2008.hIT")
    layers = planted_layers(
        benchmark.target_rdms(shared_data),
        benchmark.stimulus_sets(shared_data)["kriegeskorte2008_92"].ids,
    )
    with pytest.raises(
        BrainAlignError, match="needs layer RDMs on stimulus set 'kriegeskorte2008_92'"
    ):
        benchmark.score({"algonauts2019_92": layers}, data_dir=shared_data)


def test_unavailable_data_says_how_to_get_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("BRAINALIGN_DATA", raising=False)
    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path))
    availability = get("algonauts2019.92images.IT").availability(None)
    assert not availability.available
    assert availability.fix == "brainalign data fetch algonauts2019_92"
    assert (
        get("algonauts2023.FFA-1").availability(None).fix
        == "see `brainalign data show algonauts2023`"
    )
    with pytest.raises(BrainAlignError, match="brainalign data fetch kriegeskorte2008_92"):
        get("kriegeskorte2008.hIT").target_rdms(None)


# --- commands ---------------------------------------------------------------------------------------


def test_data_check_command(shared_data: Path, tmp_path: Path, capsys) -> None:
    code, out, _ = run_cli(
        [
            "data",
            "check",
            "algonauts2019_92",
            "kriegeskorte2008_92",
            "--data-dir",
            str(shared_data),
        ],
        capsys,
    )
    assert code == 0
    assert "algonauts2019_92 [data-dir]" in out and "94 file(s), ok" in out
    copy = tmp_path / "data"
    shutil.copytree(shared_data / "kriegeskorte2008_92", copy / "kriegeskorte2008_92")
    bad = copy / "kriegeskorte2008_92" / "92_modelRDMs.mat"
    bad.write_bytes(bad.read_bytes()[:-1] + b"\0")
    code, out, err = run_cli(
        ["data", "check", "kriegeskorte2008_92", "--data-dir", str(copy)], capsys
    )
    assert code == 2
    assert "checksum: 92_modelRDMs.mat (expected sha256 e1d2b58b" in out
    assert err.startswith("error: 1 data file(s) failed the check")


def test_data_list_and_benchmarks_commands(shared_data: Path, capsys) -> None:
    code, out, _ = run_cli(["data", "list", "--data-dir", str(shared_data)], capsys)
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "data-dir" in lines["algonauts2019_92"] and "missing" in lines["algonauts2023"]
    code, out, _ = run_cli(["benchmarks", "--data-dir", str(shared_data)], capsys)
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    assert rows["kriegeskorte2008.hIT@2"][1:3] == ["yes", "yes"]
    assert rows["kriegeskorte2008.hIT@1"][1:3] == [
        "no",
        "yes",
    ]  # computable, not in the default run
    assert rows["algonauts2023.V1v@1"][1:3] == ["no", "no:"]
    code, out, _ = run_cli(["benchmarks", "mur2013.judgements"], capsys)
    assert "leave-one-subject-out" in out and "brainalign cite mur2013.judgements@2" in out


def test_cite_command(capsys) -> None:
    code, out, _ = run_cli(["cite", "mur2013.judgements@1"], capsys)
    assert code == 0
    assert (
        "@article{mur2013human" in out
        and "@misc{opielka2024saliency" in out
        and "@software{brainalign" in out
    )
    code, out, _ = run_cli(["cite"], capsys)
    assert out.startswith("@software{brainalign")
    code, _, err = run_cli(["cite", "nonsense"], capsys)
    assert code == 2 and "nothing to cite" in err


def test_every_human_benchmark_is_registered_in_both_versions_and_run_scores_the_newest() -> None:
    """Version 2 changed the interval (subjects and stimuli); version 1 (subjects only) stays
    registered so that its results can be recomputed, but `run` scores version 2."""
    from brainalign.benchmarks.registry import default_benchmarks

    for benchmark_id in ("kriegeskorte2008.hIT", "algonauts2019.92images.IT", "mur2013.judgements"):
        newest, first = get(benchmark_id), get(f"{benchmark_id}@1")
        assert newest.identifier == f"{benchmark_id}@2" and newest.interval == "two-factor"
        assert first.interval == "subjects" and not first.default
        assert first.metric != newest.metric and "Schuett et al. 2023" in newest.metric
        assert newest in default_benchmarks() and first not in default_benchmarks()
