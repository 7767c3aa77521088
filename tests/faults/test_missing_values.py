"""Missing values in human data are handled by one rule at the loaders (a subject whose RDM lacks
any dissimilarity is left out and reported), never propagated into a null score stored as
"scored"; activations holding NaN give a warning, as comparisons of NaN RDMs do."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from fault_helpers import algonauts78
from scipy.spatial.distance import pdist

from brainalign import rsa
from brainalign.neural_data import Skip, load_npy, read_algonauts2019_folder
from brainalign.results import ResultsStore

BENCH = "algonauts2019.78images.IT"


def _one_nan(arrays: dict[str, np.ndarray]) -> None:
    """One missing dissimilarity (both halves of the square), in subject 3 of IT."""
    arrays["IT"][2, 4, 9] = arrays["IT"][2, 9, 4] = np.nan


def test_one_missing_pair_leaves_its_subject_out_and_the_score_equals_scoring_without_it(
    cli, model_file, tmp_path
) -> None:
    damaged = algonauts78(tmp_path / "damaged", damage=_one_nan)
    without = algonauts78(
        tmp_path / "without", damage=lambda a: a.update(IT=np.delete(a["IT"], 2, axis=0))
    )
    scored = []
    for data in (damaged, without):
        ran = cli(
            "-q",
            "score",
            model_file("tiny"),
            BENCH,
            "--results",
            data / "results",
            "--data-dir",
            data,
        )
        assert ran.code == 0, ran
        scored.append(ResultsStore(data / "results").load("fault-tiny", f"{BENCH}@2"))
    with_gap, reference = scored
    assert with_gap.extra["left_out"] == [
        f"sub03 IT: 1 of 3003 dissimilarities missing (NaN or infinite) in {damaged / 'algonauts2019_78' / 'fmri_IT_RDMs.npz'}, "
        "e.g. test05–test10; a subject with missing values is left out"
    ]
    assert with_gap.extra["n_subjects"] == 5
    # planted ground truth: the same numbers as the data without that subject (whose names shift)
    for name in ("brain_similarity", "noise_ceiling"):
        assert with_gap.summary[name] == reference.summary[name]
    assert with_gap.summary["brain_similarity"]["value"] is not None
    assert with_gap.summary["noise_ceiling"]["upper"] is not None


def test_a_target_without_one_complete_subject_is_an_error_and_nothing_is_stored(
    cli, model_file, tmp_path
) -> None:
    def every_subject(arrays: dict[str, np.ndarray]) -> None:
        arrays["IT"][:, 0, 1] = arrays["IT"][:, 1, 0] = np.nan

    data = algonauts78(tmp_path / "data", damage=every_subject)
    ran = cli(
        "-q",
        "score",
        model_file("tiny"),
        BENCH,
        "--results",
        tmp_path / "results",
        "--data-dir",
        data,
    )
    assert ran.code == 2, ran
    assert ran.error_line.startswith(
        f"error: {BENCH}@2: target IT has no data (IT: every subject's RDM in "
    )
    assert not list((tmp_path / "results").rglob("*.json"))


def test_a_score_none_of_whose_headline_numbers_exists_is_not_stored(
    cli, model_file, shared_data, tmp_path
) -> None:
    """A network whose every layer RDM is constant (constant outputs) has no brain similarity:
    an error, never a result with a null score on the leaderboard."""
    ran = cli(
        "-q",
        "score",
        model_file("constant"),
        "kriegeskorte2008.hIT",
        "--results",
        tmp_path / "results",
        "--data-dir",
        shared_data,
    )
    assert ran.code == 2, ran
    assert ran.error_line == (
        "error: fault-constant: every layer's RDM on kriegeskorte2008_92 is constant or undefined (constant "
        "RDM: every pair of stimuli is equally dissimilar (the same activations for every stimulus)); "
        "nothing was scored or stored"
    )
    assert not list((tmp_path / "results").rglob("*.json"))


def test_loaders_share_the_rule_and_report_each_subject_left_out(tmp_path) -> None:
    rng = np.random.default_rng(1)
    squares = rng.uniform(size=(4, 6, 6))
    squares = squares + np.swapaxes(squares, 1, 2)
    for square in squares:
        np.fill_diagonal(square, 0)
    squares[1, 2, 5] = squares[1, 5, 2] = np.inf
    squares[3, 0, 1] = squares[3, 1, 0] = np.nan
    np.save(tmp_path / "rdms.npy", squares)
    data = load_npy(tmp_path / "rdms.npy", list("abcdef"), name="roi")
    assert data.targets["roi"].subjects == ("sub01", "sub03")
    assert [(s.target, s.subject) for s in data.skipped] == [("roi", "sub02"), ("roi", "sub04")]
    assert "c–f" in data.skipped[0].reason and "a–b" in data.skipped[1].reason
    kept = rsa.condense(squares[[0, 2]])
    assert np.array_equal(data.targets["roi"].rdms.data, kept)
    assert data.targets["roi"].ceiling == rsa.noise_ceiling(
        kept
    )  # the ceiling of the complete subjects

    folder = algonauts78(tmp_path / "a78", damage=_one_nan)
    loaded = read_algonauts2019_folder(folder / "algonauts2019_78", 78)
    assert loaded.targets["IT"].subjects == ("sub01", "sub02", "sub04", "sub05", "sub06")
    assert len(loaded.targets["EVC"].subjects) == 6
    assert [Skip("IT", "sub03", s.reason) for s in loaded.skipped] == list(loaded.skipped)


def test_rdm_of_activations_holding_nan_warns_and_leaves_other_pairs_exact() -> None:
    features = np.random.default_rng(0).normal(size=(6, 40))
    features[2, 7] = np.nan
    for distance in rsa.DISTANCES:
        with pytest.warns(
            RuntimeWarning, match=r"1 stimuli have features holding NaN or inf \(rows \[2\]\)"
        ):
            result = rsa.rdm(features, distance)
        square = rsa.to_square(result)
        assert np.isnan(square[2, [0, 1, 3, 4, 5]]).all()
        rest = [0, 1, 3, 4, 5]
        reference = pdist(features[rest], {"sqeuclidean": "sqeuclidean"}.get(distance, distance))
        assert np.allclose(rsa.upper_triangle(square[np.ix_(rest, rest)]), reference, atol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # finite activations: no warning
        rsa.rdm(np.nan_to_num(features), "cosine")


def test_the_layerwise_table_holds_only_the_complete_subjects(cli, model_file, tmp_path) -> None:
    data = algonauts78(tmp_path / "data", damage=_one_nan)
    cli(
        "-q",
        "score",
        model_file("tiny"),
        BENCH,
        "--results",
        tmp_path / "results",
        "--data-dir",
        data,
    )
    result = ResultsStore(tmp_path / "results").load("fault-tiny", BENCH)
    assert sorted(set(result.layerwise["subject"])) == ["sub01", "sub02", "sub04", "sub05", "sub06"]
    assert result.layerwise["value"].notna().all()
