"""A pair whose layer RDMs would not fit the scoring memory budget is refused before it starts,
with the budget that would do; the estimate is checked against what scoring really holds."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.spatial.distance import pdist, squareform

from brainalign.api import score
from brainalign.benchmarks.spec import SpecBenchmark
from brainalign.errors import BrainAlignError
from brainalign.models import from_module
from brainalign.rsa.inference import scoring_memory


def _benchmark(folder: Path, n: int = 40) -> Path:
    rng = np.random.default_rng(0)
    (folder / "images").mkdir(parents=True)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(
            folder / "images" / f"s{i:03d}.png"
        )
    latent = rng.normal(size=(n, 4))
    np.save(
        folder / "rdms.npy",
        np.stack([squareform(pdist(latent + rng.normal(size=latent.shape))) for _ in range(3)]),
    )
    (folder / "b.toml").write_text(
        'id = "toy.memory"\ntitle = "Toy"\ncitation = "@misc{toy, title = {Toy}}"\n'
        'stimuli = "images"\n[target]\nkind = "fmri"\nformat = "npy"\n'
        'rdms = "rdms.npy"\n'
    )
    return folder / "b.toml"


def _model():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten())
    return from_module(
        net,
        lambda image: torch.from_numpy(np.asarray(image, dtype=np.float32) / 255).permute(2, 0, 1),
        layers="all",
        model_id="toy-net",
    )


def test_a_pair_over_the_budget_is_refused_before_any_forward_pass(tmp_path, monkeypatch) -> None:
    spec = _benchmark(tmp_path / "data")
    need = scoring_memory(40, 3)
    monkeypatch.setenv("BRAINALIGN_SCORING_MEMORY", str(need // 2))
    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path / "cache"))
    with pytest.raises(BrainAlignError, match="BRAINALIGN_SCORING_MEMORY=") as caught:
        score(_model(), [SpecBenchmark(spec)], results=tmp_path / "results", skip_absent=False)
    assert "40 stimuli x 3 layers" in str(caught.value)
    assert not (tmp_path / "cache").exists() or not any(
        (tmp_path / "cache").rglob("*.npz")
    )  # nothing extracted
    suggested = int(re.search(r"BRAINALIGN_SCORING_MEMORY=(\d+)GB", str(caught.value)).group(1))
    assert suggested * 1e9 >= need
    monkeypatch.setenv("BRAINALIGN_SCORING_MEMORY", str(need))
    outcomes = score(
        _model(), [SpecBenchmark(spec)], results=tmp_path / "results", skip_absent=False
    )
    assert [o.status for o in outcomes] == ["scored"]


def test_the_estimate_grows_with_pairs_layers_and_subjects() -> None:
    assert scoring_memory(1000, 21, 8) > scoring_memory(1000, 20, 8) < scoring_memory(1000, 20, 9)
    assert scoring_memory(2000, 20, 8) / scoring_memory(1000, 20, 8) == pytest.approx(4, rel=0.01)
    assert scoring_memory(1000, 20, 8) > 20 * 8 * 499_500  # at least the float64 layer RDMs
