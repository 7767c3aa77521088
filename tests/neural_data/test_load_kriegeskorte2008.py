"""Kriegeskorte 2008 human IT and Mur 2013 judgements from the real rsatoolbox files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from scipy.spatial.distance import squareform
from scipy.stats import spearmanr
from test_load_algonauts2019 import loo_ceiling_reference

from brainalign.errors import BrainAlignError
from brainalign.neural_data import (
    load_algonauts2019,
    load_kriegeskorte2008,
    read_kriegeskorte2008_folder,
)


def mean_pairwise_spearman(squares: np.ndarray) -> float:
    vectors = [squareform(s, checks=False) for s in squares]
    values = [
        spearmanr(vectors[i], vectors[j]).statistic
        for i in range(len(vectors))
        for j in range(i + 1, len(vectors))
    ]
    return float(np.mean(values))


@pytest.fixture(scope="module")
def folder(shared_data: Path) -> Path:
    return shared_data / "kriegeskorte2008_92"


@pytest.fixture(scope="module")
def sessions(folder: Path) -> np.ndarray:
    """(4 subjects, 2 sessions, 92, 92) read independently of the loader."""
    rdms = scipy.io.loadmat(folder / "92_brainRDMs.mat")["RDMs"]
    return np.array([[rdms[0, s, k]["RDM"] for k in range(2)] for s in range(4)], dtype=np.float64)


def test_published_between_subject_agreement(folder: Path, sessions: np.ndarray) -> None:
    judgements = scipy.io.loadmat(folder / "92_behavRDMs.mat")["rdms_behav_92"][0]
    squares = np.array([e["RDM"] for e in judgements])
    assert mean_pairwise_spearman(squares) == pytest.approx(0.34, abs=0.005)
    assert mean_pairwise_spearman(sessions.reshape(8, 92, 92)) == pytest.approx(0.18, abs=0.005)


def test_sessions_are_averaged_per_subject(shared_data: Path, sessions: np.ndarray) -> None:
    hit = load_kriegeskorte2008(shared_data).targets["hIT"]
    assert hit.subjects == ("BE", "KO", "SN", "TI")
    np.testing.assert_allclose(hit.rdms.square(), sessions.mean(axis=1), rtol=0, atol=1e-12)
    lower, upper = loo_ceiling_reference(sessions.mean(axis=1))
    assert hit.ceiling.lower == pytest.approx(lower, abs=1e-12)
    assert hit.ceiling.upper == pytest.approx(upper, abs=1e-12)
    assert hit.rdms.distance == "correlation" and hit.kind == "fmri"


def test_judgements_target(shared_data: Path, folder: Path) -> None:
    judgements = load_kriegeskorte2008(shared_data).targets["judgements"]
    raw = scipy.io.loadmat(folder / "92_behavRDMs.mat")["rdms_behav_92"][0]
    squares = np.array([e["RDM"] for e in raw])
    assert len(judgements.subjects) == 16 and judgements.kind == "behaviour"
    np.testing.assert_array_equal(judgements.rdms.square(), squares)
    lower, upper = loo_ceiling_reference(squares)
    assert judgements.ceiling == pytest.approx((lower, upper), abs=1e-12)


def test_group_rdm_of_the_paper_is_the_mean_of_subjects(shared_data: Path, folder: Path) -> None:
    """The 2008 paper's group human-IT RDM ranks pairs like the mean of our 4 subject RDMs."""
    group = scipy.io.loadmat(folder / "Kriegeskorte_Neuron2008_supplementalData.mat")[
        "RDMs_mIT_hIT_fig1"
    ]
    human_group = np.ravel(group[0, 1]["RDM"])
    hit = load_kriegeskorte2008(shared_data).targets["hIT"]
    assert spearmanr(human_group, hit.rdms.data.mean(axis=0)).statistic == pytest.approx(
        1.0, abs=1e-9
    )


def test_stimuli_share_ids_and_labels_with_algonauts_but_not_images(shared_data: Path) -> None:
    kriegeskorte = load_kriegeskorte2008(shared_data).stimuli
    algonauts = load_algonauts2019(92, shared_data).stimuli
    assert kriegeskorte.ids == algonauts.ids
    columns = ["category", "animate", "human", "face", "body", "natural"]
    assert kriegeskorte.metadata[columns].equals(algonauts.metadata[columns])
    assert kriegeskorte.load("obj01").getpixel((0, 0)) == (128, 128, 128)  # grey background
    assert kriegeskorte.content_hash != algonauts.content_hash


def test_truncated_mat_is_a_clear_error(tmp_path: Path, folder: Path) -> None:
    copy = tmp_path / "kriegeskorte2008_92"
    shutil.copytree(folder, copy)
    path = copy / "92_behavRDMs.mat"
    path.write_bytes(path.read_bytes()[:200_000])
    with pytest.raises(
        BrainAlignError, match=r"92_behavRDMs\.mat is not a readable MATLAB file.*fetch"
    ):
        read_kriegeskorte2008_folder(copy)
    with pytest.raises(
        BrainAlignError, match=r"92_behavRDMs\.mat has 200000 bytes, expected 982719"
    ):
        load_kriegeskorte2008(tmp_path)


def test_missing_file_is_a_clear_error(tmp_path: Path, folder: Path) -> None:
    copy = tmp_path / "kriegeskorte2008_92"
    shutil.copytree(folder, copy)
    (copy / "92_brainRDMs.mat").unlink()
    with pytest.raises(BrainAlignError, match=r"92_brainRDMs\.mat is missing"):
        read_kriegeskorte2008_folder(copy)
