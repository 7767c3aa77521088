"""Subjects who do not agree more than chance: every benchmark scored with the standard metric (a
built-in 78-image one, a spec file) records that its ceiling failed the test, withholds every
normalised number with the reason, and `brainalign compare` (table and --json) shows none."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fault_helpers import algonauts78
from PIL import Image
from scipy.spatial.distance import squareform

from brainalign.benchmarks.spec import SpecBenchmark
from brainalign.results import ResultsStore
from brainalign.rsa import LayerRDMs, RDMs

BENCH = "algonauts2019.78images.IT"


def _no_agreement(arrays: dict[str, np.ndarray]) -> None:
    """Each subject's RDM replaced by noise of its own: nothing shared between subjects."""
    rng = np.random.default_rng(5)
    for roi, subjects in arrays.items():
        noise = rng.random(subjects.shape)
        noise = noise + np.swapaxes(noise, 1, 2)
        for square in noise:
            np.fill_diagonal(square, 0.0)
        arrays[roi] = noise


def test_a_builtin_benchmark_withholds_normalised_numbers_where_subjects_do_not_agree(
    cli, model_file, tmp_path
) -> None:
    noisy, planted = (
        algonauts78(tmp_path / "noisy", damage=_no_agreement),
        algonauts78(tmp_path / "planted"),
    )
    for data in (noisy, planted):
        for model in ("tiny", "other"):
            ran = cli(
                "-q",
                "score",
                model_file(model),
                BENCH,
                "--results",
                data / "results",
                "--data-dir",
                data,
            )
            assert ran.code == 0, ran
    unreliable = ResultsStore(noisy / "results").load("fault-tiny", f"{BENCH}@2")
    ceiling, brain = unreliable.summary["noise_ceiling"], unreliable.summary["brain_similarity"]
    assert ceiling["reliable"] is False and ceiling["reliability"]["p"] >= 0.05
    assert ceiling["reliability"]["n_permutations"] == 1000 and ceiling["reliability"]["seed"] == 0
    assert ceiling["upper"] > 0.3  # a ceiling of pure noise still looks like one (about 1/sqrt(6))
    assert "Algonauts 2019 challenge" in ceiling["convention"]
    assert brain["value"] is not None
    assert (
        brain["normalised"] is None
        and brain["normalised_ci_low"] is None
        and brain["normalised_ci_high"] is None
    )
    assert brain["normalised_withheld"].startswith(
        "Withheld: the subjects do not agree more than chance"
    )
    assert unreliable.summary["brain_similarity_max"]["normalised"] is None
    reliable = ResultsStore(planted / "results").load("fault-tiny", f"{BENCH}@2")
    assert reliable.summary["noise_ceiling"]["reliable"] is True
    assert reliable.summary["noise_ceiling"]["reliability"]["p"] < 0.05
    assert reliable.summary["brain_similarity"]["normalised"] is not None
    assert "normalised_withheld" not in reliable.summary["brain_similarity"]

    # brainalign compare: the raw numbers, never a withheld normalised one
    for data, shown in ((noisy, False), (planted, True)):
        table = cli("compare", "fault-tiny", "fault-other", "--results", data / "results")
        assert table.code == 0, table
        assert ("(normalised)" in table.out) is shown and "brain_similarity " in table.out
        exported = cli(
            "compare", "fault-tiny", "fault-other", "--results", data / "results", "--json"
        )
        metrics = {row["metric"] for row in json.loads(exported.out)["comparisons"]}
        assert (
            "brain_similarity (normalised)" in metrics
        ) is shown and "brain_similarity" in metrics


def test_a_spec_file_benchmark_gets_the_same_test(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    ids = [f"img{k:02d}" for k in range(12)]
    (tmp_path / "images").mkdir()
    for stimulus in ids:
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(
            tmp_path / "images" / f"{stimulus}.png"
        )
    np.save(
        tmp_path / "rdms.npy", np.stack([squareform(rng.random(66)) for _ in range(5)])
    )  # 5 subjects, noise
    (tmp_path / "bench.toml").write_text(
        'id = "toylab.noise"\ntitle = "Noise"\ncitation = "@misc{toylab, title = {Toy}}"\nstimuli = "images"\n\n'
        '[target]\nname = "noise"\nkind = "behaviour"\nformat = "npy"\nrdms = "rdms.npy"\n'
    )
    bench = SpecBenchmark(tmp_path / "bench.toml")
    ((name, stimuli),) = bench.stimulus_sets(None).items()
    layers = LayerRDMs(RDMs(rng.random((2, 66)), ["a", "b"], stimuli.ids), (0.5, 1.0))
    summary = bench.score({name: layers}, seed=0).summary
    assert summary["noise_ceiling"]["reliable"] is False
    assert summary["noise_ceiling"]["convention"].startswith(
        "leave-one-subject-out Spearman ceiling"
    )
    assert summary["brain_similarity"]["normalised"] is None or np.isnan(
        summary["brain_similarity"]["normalised"]
    )
    assert summary["brain_similarity"]["normalised_withheld"].startswith("Withheld")
