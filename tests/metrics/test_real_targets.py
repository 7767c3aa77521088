"""The new metrics on the real 92-image targets: the fMRI RDMs are exactly Euclidean (so CKA and
encoding see exactly the patterns behind them), every metric's ceiling is a proper range, and a
"layer" of the objects' category labels, which IT is known to carry, beats a layer of noise under
every metric."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainalign.metrics import METRICS, Kernel, LayerKernels, subject_patterns
from brainalign.neural_data import objects92
from brainalign.neural_data.algonauts2019 import read_algonauts2019_folder
from brainalign.neural_data.kriegeskorte2008 import read_kriegeskorte2008_folder


@pytest.fixture(scope="module")
def targets(shared_data: Path) -> dict:
    algonauts = read_algonauts2019_folder(shared_data / "algonauts2019_92").targets
    kriegeskorte = read_kriegeskorte2008_folder(shared_data / "kriegeskorte2008_92").targets
    return {"IT": algonauts["IT"], "EVC": algonauts["EVC"], **kriegeskorte}


def test_the_fmri_rdms_are_euclidean_and_the_judgements_are_not(targets: dict) -> None:
    for name in ("IT", "EVC", "hIT"):
        assert max(subject_patterns(targets[name]).negative_share) < 1e-9, name
    # similarity judgements are no Euclidean distance: part of their spectrum is dropped, and said
    assert max(subject_patterns(targets["judgements"]).negative_share) > 0.01


def _layers(stimulus_ids: tuple[str, ...]) -> LayerKernels:
    labels = objects92.categories().loc[list(stimulus_ids)]
    categories = pd.get_dummies(labels["category"]).to_numpy(dtype=np.float64)
    flags = labels[["animate", "human", "face", "body", "natural"]].to_numpy(dtype=np.float64)
    category_layer = np.hstack([categories, 2 * flags])
    noise = np.random.default_rng(0).normal(size=(len(stimulus_ids), 50))
    return LayerKernels(
        (Kernel.from_features(noise), Kernel.from_features(category_layer)),
        ("noise", "categories"),
        (0.0, 1.0),
        stimulus_ids,
    )


@pytest.mark.parametrize("name", ["wrsa", "cka", "encoding"])
def test_category_labels_beat_noise_on_it_under_every_metric(targets: dict, name: str) -> None:
    metric, target = METRICS[name], targets["IT"]
    per_subject = metric.score(_layers(target.stimulus_ids), target, seed=0).per_subject
    noise, categories = per_subject.mean(axis=1)
    # (CKA's biased estimator is well above 0 for noise with 92 stimuli: only the order is checked)
    assert categories > noise + 0.05, (name, noise, categories)
    ceiling = metric.ceiling(target, seed=0)
    assert 0 < ceiling.lower < ceiling.upper < 1, (name, ceiling)
