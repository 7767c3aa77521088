"""Stimulus bootstrap speed at the main job's shapes. Pipelines on the same inputs and draws:

(a) brainalign: ``rsa.bootstrap_stimuli``, each resample's pairs weighted by their multiplicity
    and every RDM ranked by cumulative sums along its one sort order;
(b) the obvious alternative: materialise each resample's copied pairs (self-pairs dropped, as
    rsatoolbox does), rank every RDM with ``scipy.stats.rankdata`` and correlate the ranks (a
    fixed sample of resamples is timed and extrapolated).

Shapes: the probe (200 stimuli, 5 conditions × 30 layers against 2 targets) and a human
benchmark (92 stimuli, 30 layers against 15 subjects), with fewer resamples than the job's
1,000 (time is linear in them). Each test also checks that both give the same numbers (1e-12).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.stats import rankdata

from brainalign import rsa
from brainalign.rsa.inference import resampled_pairs

N_BOOT = 100
SAMPLED = 4
SHAPES = {"probe": (200, 150, 2), "human": (92, 30, 15)}  # stimuli, layer RDMs, targets


def group(shape: str) -> str:
    n, layers, targets = SHAPES[shape]
    return f"bootstrap {n} stim/{layers} RDMs × {targets} targets/{N_BOOT} resamples"


def stacks(shape: str) -> tuple[np.ndarray, np.ndarray]:
    """Layer RDMs that share structure with the targets, a few of them with ties."""
    n, layers, targets = SHAPES[shape]
    rng = np.random.default_rng(17)
    shared = rng.random(n * (n - 1) // 2)
    model = shared + rng.random((layers, shared.size)) * np.linspace(0.5, 3, layers)[:, None]
    model[::7] = np.round(model[::7], 2)
    return model, shared + rng.random((targets, shared.size))


def materialised(model: np.ndarray, targets: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """Spearman ρ on one resample's copied pairs: rank every RDM anew, correlate the ranks."""
    pairs = resampled_pairs(sample, len(sample))
    ranks = [rankdata(stack[:, pairs], axis=1) for stack in (model, targets)]
    units = [r - r.mean(axis=1, keepdims=True) for r in ranks]
    units = [u / np.linalg.norm(u, axis=1, keepdims=True) for u in units]
    return units[0] @ units[1].T


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_bootstrap_against_materialised_copies(benchmark, perf_record, shape: str) -> None:
    model, targets = stacks(shape)
    n = SHAPES[shape][0]
    benchmark.group = group(shape)
    ours = benchmark.pedantic(
        lambda: rsa.bootstrap_stimuli(model, targets, n_boot=N_BOOT, seed=3),
        rounds=1,
        iterations=1,
    )
    perf_record(group(shape), "brainalign", benchmark.stats.stats.total)

    draws = np.random.default_rng(3)
    samples = [draws.integers(0, n, size=n) for _ in range(N_BOOT)][:SAMPLED]
    start = time.perf_counter()
    slow = [materialised(model, targets, sample) for sample in samples]
    elapsed = time.perf_counter() - start
    perf_record(
        group(shape),
        "materialised copies + rankdata",
        elapsed * N_BOOT / SAMPLED,
        f"{SAMPLED} of {N_BOOT} resamples timed, extrapolated",
    )
    np.testing.assert_allclose(ours[:SAMPLED], np.stack(slow), atol=1e-12)
