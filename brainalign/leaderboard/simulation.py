"""Simulated leaderboards, to check what the claims' verdicts claim: how often they say
"supported" when nothing within models relates (false positives), and how often when something
does (power).

A simulated model is a lineage, a trained flag and a number of layers. Each layer gets an x (a
semantic or saliency ρ) and a y (a brain ρ): a level set by the model (trained models sit higher on
both, the confound between models that carries a pooled r) plus a smooth profile over depth
(neighbouring layers alike; models of one lineage share most of their profile). Within each model,
y's profile correlates with x's by a planted ``within_r`` (0: no relation within any model), which
varies between lineages and models around it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SimulatedModel:
    model: str
    lineage: str
    trained: bool
    n_layers: int


#: The untrained models and the baseline of the default leaderboard, beside its trained ones.
_DEFAULT_TRAINED = (
    ("efficientnet_lite0", "efficientnet", 18),
    ("efficientnet_lite1", "efficientnet", 23),
    ("efficientnet_lite2", "efficientnet", 24),
    ("mobilenet_v2", "mobilenet", 19),
)
_DEFAULT_OTHERS = (
    ("resnet18:untrained", "resnet", 10),
    ("vit_tiny:untrained", "vit", 13),
    ("pixels", "pixels", 1),
)


def default_layout() -> tuple[SimulatedModel, ...]:
    """The default leaderboard's 9 models: EfficientNet-Lite0/1/2 and MobileNetV2 (trained; two
    lineages), the untrained twins of Lite0 and MobileNetV2 (one per lineage), untrained ResNet-18
    and ViT-Ti/16, the pixel baseline."""
    trained = [SimulatedModel(m, lineage, True, n) for m, lineage, n in _DEFAULT_TRAINED]
    firsts = {m.lineage: m for m in reversed(trained)}  # each lineage's first model
    twins = [
        SimulatedModel(f"{m.model}:untrained", m.lineage, False, m.n_layers)
        for m in trained
        if firsts[m.lineage] is m
    ]
    return (
        *trained,
        *twins,
        *(SimulatedModel(m, lineage, False, n) for m, lineage, n in _DEFAULT_OTHERS),
    )


def layout(n_trained: int, n_lineages: int, n_layers: int = 19) -> tuple[SimulatedModel, ...]:
    """``n_trained`` trained models dealt round-robin over ``n_lineages`` lineages, the untrained
    twins of the first four, and the default's untrained ResNet-18, ViT-Ti/16 and pixel baseline."""
    trained = [
        SimulatedModel(f"m{i}", f"lineage{i % n_lineages}", True, n_layers + i % 5 - 2)
        for i in range(n_trained)
    ]
    twins = [
        SimulatedModel(f"{m.model}:untrained", m.lineage, False, m.n_layers) for m in trained[:4]
    ]
    return (
        *trained,
        *twins,
        *(SimulatedModel(m, lineage, False, n) for m, lineage, n in _DEFAULT_OTHERS),
    )


def metadata(models: Sequence[SimulatedModel]) -> pd.DataFrame:
    """The model metadata the decisive tests take: model, lineage, trained."""
    return pd.DataFrame(
        [{"model": m.model, "lineage": m.lineage, "trained": m.trained} for m in models]
    )


#: Profile shape: a sum of cosines over depth with amplitudes falling as 1/k (smooth, a few bumps).
_HARMONICS = 6
#: Share of a model's profile variance common to its lineage.
LINEAGE_SHARE = 0.8
#: Depth grid on which profiles are drawn (each model reads them at its layers' depths).
_GRID = np.linspace(0, 1, 201)


def _profiles(rng: np.random.Generator, n: int, per: int) -> np.ndarray:
    """``n`` sets of ``per`` smooth random profiles over :data:`_GRID`: shape (n, per, grid)."""
    k = np.arange(1, _HARMONICS + 1)
    amplitude = rng.normal(size=(n, per, _HARMONICS)) / k
    phase = rng.uniform(0, 2 * np.pi, size=(n, per, _HARMONICS))
    return np.einsum(
        "npk,npkg->npg",
        amplitude,
        np.cos(np.pi * k[None, None, :, None] * _GRID + phase[..., None]),
    )


def _standardised(values: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """``values`` centred and scaled to unit variance within each code."""
    count = np.bincount(codes, minlength=n)
    centred = values - (np.bincount(codes, values, n) / count)[codes]
    spread = np.sqrt(np.bincount(codes, centred * centred, n) / count)
    return centred / np.where(spread > 0, spread, 1.0)[codes]


def simulate_layers(
    models: Sequence[SimulatedModel],
    rng: np.random.Generator,
    *,
    within_r: float = 0.0,
    lineage_sd: float = 0.15,
    model_sd: float = 0.05,
    x: str = "x",
    y: str = "y",
    others: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """One simulated layer table (model, layer, depth, lineage, trained, ``x``, ``y``, ``others``).

    Within each model, y's depth profile correlates with x's by ``within_r`` plus a lineage
    deviation (sd ``lineage_sd``) and a model deviation (sd ``model_sd``); with ``within_r`` 0 the
    relation within models averages 0 (and with both sds 0, no model has one). ``others``: more
    measures like x (name: their planted within-model r with y), with profiles of their own.
    Trained models are higher on every measure, and vary more over depth, than untrained ones.
    """
    names, lineage_names = [m.lineage for m in models], sorted({m.lineage for m in models})
    lineage = np.array([lineage_names.index(name) for name in names])
    sizes = np.array([m.n_layers for m in models])
    code = np.repeat(np.arange(len(models)), sizes)  # each layer's model
    depth = np.concatenate([np.arange(1, n + 1) / n for n in sizes])
    at = np.rint(depth * (len(_GRID) - 1)).astype(int)
    planted = {x: within_r, **(others or {})}
    n_profiles = len(planted) + 1  # one per measure, and y's own part
    shared, own = (
        _profiles(rng, len(lineage_names), n_profiles),
        _profiles(rng, len(models), n_profiles),
    )
    raw = (
        np.sqrt(LINEAGE_SHARE) * shared[lineage[code], :, at]
        + np.sqrt(1 - LINEAGE_SHARE) * own[code, :, at]
    )
    profiles = [_standardised(raw[:, i], code, len(models)) for i in range(n_profiles)]
    betas = []
    for mean in planted.values():
        effect = mean + lineage_sd * rng.normal(size=len(lineage_names))
        betas.append(
            np.clip(effect[lineage] + model_sd * rng.normal(size=len(models)), -0.99, 0.99)
        )
    total = np.sqrt(sum(b**2 for b in betas))
    shrink = np.where(
        total > 0.99, 0.99 / np.maximum(total, 1e-12), 1.0
    )  # the betas' squares must sum below 1
    betas = [b * shrink for b in betas]
    py = (
        sum(b[code] * p for b, p in zip(betas, profiles))
        + np.sqrt(1 - sum(b**2 for b in betas))[code] * profiles[-1]
    )
    trained = np.array([m.trained for m in models])
    n = len(models)
    columns = {}
    for name, profile in zip(planted, profiles):
        level = np.where(trained, rng.uniform(0.2, 0.35, n), rng.uniform(0.01, 0.05, n))
        columns[name] = (
            level[code]
            + np.where(trained, 0.10, 0.01)[code] * profile
            + rng.normal(0, 0.005, len(code))
        )
    y_level = np.where(trained, rng.uniform(0.10, 0.18, n), rng.uniform(0.0, 0.04, n))
    columns[y] = (
        y_level[code] + np.where(trained, 0.06, 0.02)[code] * py + rng.normal(0, 0.005, len(code))
    )
    return pd.DataFrame(
        {
            "model": np.array([m.model for m in models], dtype=object)[code],
            "layer": [f"layer{j}" for n_layers in sizes for j in range(n_layers)],
            "lineage": np.array(names, dtype=object)[code],
            "trained": trained[code],
            "depth": depth,
            **columns,
        }
    )


def simulate_models(
    models: Sequence[SimulatedModel],
    rng: np.random.Generator,
    *,
    across_r: float = 0.0,
    x: str = "x",
    y: str = "y",
) -> pd.DataFrame:
    """One simulated model table (model, lineage, trained, ``x``, ``y``): each lineage's trained
    models share a lineage effect on x and on y (correlated by ``across_r`` over lineages) plus
    their own scatter; untrained models sit far lower on both (two clusters)."""
    lineages = sorted({m.lineage for m in models})
    cov = np.array([[1.0, across_r], [across_r, 1.0]])
    effect = dict(zip(lineages, rng.multivariate_normal([0.0, 0.0], cov, size=len(lineages))))
    rows = []
    for model in models:
        ex, ey = effect[model.lineage]
        if model.trained:
            value_x = 0.3 + 0.04 * (0.8 * ex + 0.6 * rng.normal())
            value_y = 0.2 + 0.03 * (0.8 * ey + 0.6 * rng.normal())
        else:
            value_x, value_y = rng.uniform(0.02, 0.09), rng.uniform(0.0, 0.1)
        rows.append(
            {
                "model": model.model,
                "lineage": model.lineage,
                "trained": model.trained,
                x: value_x,
                y: value_y,
            }
        )
    return pd.DataFrame(rows)
