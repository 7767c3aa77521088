"""How scoring grows with the number of stimuli: one model on synthetic spec-file benchmarks of
100, 1,000, 5,000 and 10,000 generated images with 8 subjects' RDMs, each phase's time and peak
memory recorded (the same per-phase account ``brainalign run`` prints).

The model is a stack of 20 small layers (a 3×3 convolution and a ReLU, ten times, on 16×16
images: 20 layers of 2,048 features), so that the RSA engine, not the forward pass, is what
grows. The sizes run are ``BRAINALIGN_SCALE_SIZES`` (default ``100,300``, what ``tox -e perf``
and CI run; the larger ones take long on two cores: see docs/speed.md). Between consecutive sizes the exponent of the time
(log time / log stimuli) is printed with the other ratios.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from brainalign import phases
from brainalign.api import score
from brainalign.benchmarks.spec import SpecBenchmark
from brainalign.models import from_module

SIZES = [
    int(s) for s in os.environ.get("BRAINALIGN_SCALE_SIZES", "100,300").split(",") if s.strip()
]
N_SUBJECTS, N_BLOCKS, SIDE = 8, 10, 16
GROUP = "scale: 20 layers, 8 subjects"
_TOTALS: dict[int, float] = {}


def synthetic_benchmark(folder: Path, n: int, seed: int = 0) -> Path:
    """``n`` generated images (a latent pattern per image, so that pixels carry structure) and 8
    subjects' square RDMs (distances between the latents plus each subject's noise), as a spec."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 12))
    (folder / "images").mkdir(parents=True)
    basis = rng.normal(size=(12, SIDE * SIDE * 3))
    pixels = latent @ basis + rng.normal(scale=2.0, size=(n, SIDE * SIDE * 3))
    pixels = np.clip(128 + 24 * pixels, 0, 255).astype(np.uint8).reshape(n, SIDE, SIDE, 3)
    ids = [f"im{i:05d}" for i in range(n)]
    for stimulus, image in zip(ids, pixels):
        Image.fromarray(image).save(folder / "images" / f"{stimulus}.png")
    squared = (latent * latent).sum(axis=1)
    distances = np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2 * latent @ latent.T, 0))
    rdms = np.empty((N_SUBJECTS, n, n), dtype=np.float32)
    for s in range(N_SUBJECTS):
        noise = rng.normal(scale=distances.std(), size=(n, n)).astype(np.float32)
        rdms[s] = np.abs(distances + (noise + noise.T) / 2)
        np.fill_diagonal(rdms[s], 0)
    np.save(folder / "rdms.npy", rdms)
    (folder / "stimuli.txt").write_text("\n".join(ids) + "\n")
    spec = folder / "scale.toml"
    spec.write_text(
        f'id = "synthetic.scale{n}"\ntitle = "Synthetic: {n} generated images"\n'
        'citation = "@misc{synthetic, title = {Synthetic}}"\nstimuli = "images"\n\n'
        '[target]\nname = "latent"\nkind = "fmri"\nformat = "npy"\nrdms = "rdms.npy"\n'
        'stimulus_list = "stimuli.txt"\n'
    )
    return spec


def layer_stack():
    """20 layers (conv, ReLU) × 10 on 16×16 images, seeded: the model of every size."""
    torch.manual_seed(0)
    blocks = []
    for k in range(N_BLOCKS):
        blocks += [torch.nn.Conv2d(3 if k == 0 else 8, 8, 3, padding=1), torch.nn.ReLU()]
    net = torch.nn.Sequential(*blocks).eval()

    def preprocess(image: Image.Image) -> torch.Tensor:
        array = np.asarray(image.convert("RGB").resize((SIDE, SIDE)), dtype=np.float32) / 255
        return torch.from_numpy(array).permute(2, 0, 1)

    return from_module(net, preprocess, layers="all", model_id="scale-stack")


@pytest.mark.parametrize("n", SIZES)
def test_scoring_time_and_memory_per_phase(
    n: int, tmp_path: Path, monkeypatch, perf_record
) -> None:
    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path / "cache"))
    spec = synthetic_benchmark(tmp_path / "data", n)
    model = layer_stack()
    assert len(model.layers) == 2 * N_BLOCKS
    started = time.perf_counter()
    with phases.track_memory() as memory:
        outcomes = score(
            model, [SpecBenchmark(spec)], results=tmp_path / "results", skip_absent=False
        )
    wall = time.perf_counter() - started
    assert [o.status for o in outcomes] == ["scored"], [o.message for o in outcomes]
    timings = outcomes[0].result.provenance["timings"]
    group = f"{GROUP}, {n} stimuli"
    for name in phases.PHASES:
        seconds = timings.get(f"{name}_s", 0.0)
        if seconds or name in memory.peaks:
            peak = memory.peaks.get(name, 0) / 2**30
            perf_record(group, name, seconds, f"peak memory {peak:.2f} GB")
    perf_record(
        group, "brainalign", wall, f"peak memory {max(memory.peaks.values()) / 2**30:.2f} GB in all"
    )
    _TOTALS[n] = wall
    smaller = [m for m in _TOTALS if m < n]
    if smaller:
        m = max(smaller)
        exponent = math.log(wall / _TOTALS[m]) / math.log(n / m)
        perf_record(
            GROUP,
            f"time exponent {m}→{n} stimuli",
            exponent,
            "log(time ratio) / log(stimuli ratio)",
        )
