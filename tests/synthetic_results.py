"""Synthetic results (imported by the tests of this folder) in exactly the shapes the probe and the
human benchmarks produce (probe layerwise conditions: the five conditions plus ``delta.<C>`` rows;
human layerwise: one row per layer × subject), with a planted relation: a layer's brain ρ is
0.05 + 0.6 × its semantic ρ plus small noise, so the pooled layer relation is known to be strong,
and saliency ρ falls with depth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from brainalign.benchmarks.base import LAYERWISE_COLUMNS, BenchmarkScore
from brainalign.benchmarks.probe import probe_measures
from brainalign.benchmarks.scoring import brain_measures
from brainalign.results import Result, ResultsStore

PROBE = "probe.saliency_semantic@2"
HUMAN = {  # identifier → (target, number of subjects, noise ceiling lower, upper)
    "algonauts2019.92images.IT@1": ("IT", 15, 0.28, 0.35),
    "kriegeskorte2008.hIT@1": ("hIT", 4, 0.15, 0.22),
    "mur2013.judgements@1": ("judgements", 16, 0.32, 0.38),
}
CONDITIONS = ("Baseline", "Control", "Salient", "Semantic", "Semantic_Salient")

CARDS = {
    "efficientnet_lite0": {
        "family": "CNN",
        "objective": "supervised",
        "training_data": "ImageNet-1k",
        "n_parameters": 4_652_008,
        "strength": 1.0,
        "layers": 9,
    },
    "efficientnet_lite0:untrained": {
        "family": "CNN",
        "objective": "untrained",
        "training_data": "none",
        "n_parameters": 4_652_008,
        "strength": 0.25,
        "layers": 9,
    },
    "vit_b_16:untrained": {
        "family": "ViT",
        "objective": "untrained",
        "training_data": "none",
        "n_parameters": 86_567_656,
        "strength": 0.15,
        "layers": 12,
    },
    "clip_rn50": {
        "family": "CNN",
        "objective": "CLIP",
        "training_data": "WIT-400M",
        "n_parameters": 38_316_896,
        "strength": 1.3,
        "layers": 6,
    },
}


#: Extra human benchmarks for tests at scale (same shape as :data:`HUMAN`; version 2: two-factor intervals).
MORE_HUMAN = {
    "synthetic.V1@2": ("V1", 10, 0.40, 0.52),
    "synthetic.V4@2": ("V4", 6, 0.30, 0.41),
    "synthetic.face@2": ("face", 20, 0.25, 0.31),
    "synthetic.scene@2": ("scene", 12, 0.18, 0.27),
}
_FAMILIES = ("CNN", "ViT", "MLP-Mixer", "ConvNeXt")
_OBJECTIVES = ("supervised", "CLIP", "self-supervised", "untrained")


def spec(model_id: str) -> dict:
    """What a synthetic model is like: one of :data:`CARDS`, or for ``synthetic_<n>`` (models made
    in bulk for tests at scale) a family, objective, size, depth and strength drawn from ``n``."""
    if model_id in CARDS:
        return CARDS[model_id]
    if model_id.startswith("synthetic_"):
        rng = np.random.default_rng(int(model_id.rpartition("_")[2]))
        objective = _OBJECTIVES[int(rng.integers(len(_OBJECTIVES)))]
        return {
            "family": _FAMILIES[int(rng.integers(len(_FAMILIES)))],
            "objective": objective,
            "training_data": "none" if objective == "untrained" else "ImageNet-1k",
            "n_parameters": int(rng.integers(1, 600)) * 1_000_000,
            "strength": float(
                rng.uniform(0.1, 0.3) if objective == "untrained" else rng.uniform(0.6, 1.4)
            ),
            "layers": int(rng.integers(6, 25)),
        }
    return CARDS["efficientnet_lite0"]


def many_models(n: int) -> list[str]:
    """``n`` distinct synthetic model ids."""
    return [f"synthetic_{i:04d}" for i in range(n)]


def card(model_id: str, **overrides) -> dict:
    spec_ = spec(model_id)
    base = {
        "id": model_id,
        "source": "synthetic",
        "family": spec_["family"],
        "objective": spec_["objective"],
        "training_data": spec_["training_data"],
        "n_parameters": spec_["n_parameters"],
        "weights_id": f"{model_id}-weights",
        "weights_sha256": "ab" * 32,
        "preprocessing": "resize 256, centre crop 224, ImageNet normalisation",
        "layer_policy": "blocks",
        "citation": f"@misc{{{model_id.replace(':', '_')}, title={{x}}}}",
    }
    base.update(overrides)
    return base


def benchmark_info(identifier: str) -> dict:
    """What a result records about its benchmark, with the measures the real one declares."""
    bench_id, _, version = identifier.partition("@")
    interval = (
        "subjects" if version == "1" else "two-factor"
    )  # what each human version's interval resamples
    measures = (
        probe_measures()
        if identifier == PROBE
        else brain_measures(human_spec(identifier)[0], interval)
    )
    return {
        "id": bench_id,
        "version": int(version),
        "title": f"Title of {bench_id}",
        "description": f"What {bench_id} measures.",
        "metric": "Spearman ρ, best layer chosen on half the subjects",
        "bibtex": f"@article{{{bench_id.split('.')[0]}, title={{{bench_id}}}, year={{2008}}}}",
        "datasets": [bench_id.split(".")[0]],
        "measures": [m.to_dict() for m in measures],
    }


def _profile(model_id: str, seed: int) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Layer names, depths, semantic ρ and saliency ρ of a synthetic model."""
    spec_ = spec(model_id)
    n = spec_["layers"]
    rng = np.random.default_rng(seed)
    depth = np.linspace(0, 1, n)
    semantic = spec_["strength"] * 0.45 * depth**1.5 + rng.normal(0, 0.01, n)
    saliency = 0.5 * (1 - depth) ** 2 * (1.2 - 0.4 * spec_["strength"]) + rng.normal(0, 0.01, n)
    return [f"blocks.{i}" for i in range(n)], depth, semantic, saliency


def _rows(layers, depth, target, subject, condition, values, ci=None) -> pd.DataFrame:
    """Layerwise rows; ``subject`` one name for every row or one per row (then ``layers``,
    ``depth`` and ``values`` are per row too)."""
    n = len(values)
    low, high = (
        (values - ci, values + ci) if ci is not None else (np.full(n, np.nan), np.full(n, np.nan))
    )
    return pd.DataFrame(
        {
            "layer": layers,
            "layer_index": np.arange(n) % len(set(layers)),
            "depth": depth,
            "target": target,
            "subject": subject,
            "condition": condition,
            "value": values,
            "ci_low": low,
            "ci_high": high,
        },
        columns=list(LAYERWISE_COLUMNS),
    )


def probe_score(model_id: str, seed: int = 0) -> BenchmarkScore:
    layers, depth, semantic, saliency = _profile(model_id, seed)
    parts = []
    for k, condition in enumerate(CONDITIONS):
        shift = 0.0 if condition == "Baseline" else -0.02 * k
        parts.append(_rows(layers, depth, "semantic", "", condition, semantic + shift, ci=0.03))
        parts.append(_rows(layers, depth, "saliency", "", condition, saliency - shift, ci=0.03))
        if condition != "Baseline":  # the probe also stores ΔRSA = ρ(condition) − ρ(Baseline)
            parts.append(
                _rows(
                    layers,
                    depth,
                    "semantic",
                    "",
                    f"delta.{condition}",
                    np.full(len(layers), shift),
                    ci=0.01,
                )
            )
            parts.append(
                _rows(
                    layers,
                    depth,
                    "saliency",
                    "",
                    f"delta.{condition}",
                    np.full(len(layers), -shift),
                    ci=0.01,
                )
            )
    best = int(np.argmax(semantic))
    third = depth <= 1 / 3
    summary = {
        "semantic_encoding": {
            "value": float(semantic[best]),
            "ci_low": float(semantic[best] - 0.04),
            "ci_high": float(semantic[best] + 0.04),
            "layer": layers[best],
        },
        "saliency_suppression": {
            "value": float(-saliency[third].mean()),
            "ci_low": float(-saliency[third].mean() - 0.03),
            "ci_high": float(-saliency[third].mean() + 0.03),
        },
    }
    for condition in CONDITIONS[1:]:
        for target in ("semantic", "saliency"):
            summary[f"sensitivity.{condition}.{target}"] = {
                "value": -0.01,
                "ci_low": -0.03,
                "ci_high": 0.01,
            }
    return BenchmarkScore(PROBE, pd.concat(parts, ignore_index=True), summary)


def human_spec(identifier: str) -> tuple[str, int, float, float]:
    """The :data:`HUMAN` (or :data:`MORE_HUMAN`) entry of a benchmark, in any version."""
    return next(
        spec
        for known, spec in {**HUMAN, **MORE_HUMAN}.items()
        if known.partition("@")[0] == identifier.partition("@")[0]
    )


def human_score(model_id: str, identifier: str, seed: int = 0) -> BenchmarkScore:
    target, n_subjects, lower, upper = human_spec(identifier)
    layers, depth, semantic, _ = _profile(model_id, seed)
    rng = np.random.default_rng([seed, len(identifier)])
    brain = 0.05 + 0.6 * semantic + rng.normal(0, 0.005, len(layers))
    noisy = brain[None, :] + rng.normal(0, 0.02, (n_subjects, len(layers)))  # subjects × layers
    subjects = np.repeat([f"sub-{s + 1:02d}" for s in range(n_subjects)], len(layers))
    table = _rows(
        np.tile(layers, n_subjects), np.tile(depth, n_subjects), target, subjects, "", noisy.ravel()
    )
    per_layer = noisy.mean(axis=0)
    best = int(np.argmax(per_layer))
    value = float(per_layer[best] - 0.01)
    summary = {
        "brain_similarity": {
            "value": value,
            "ci_low": value - 0.03,
            "ci_high": value + 0.03,
            "normalised": value / upper,
            "normalised_ci_low": (value - 0.03) / upper,
            "normalised_ci_high": (value + 0.03) / upper,
        },
        "brain_similarity_max": {
            "value": float(per_layer[best]),
            "layer": layers[best],
            "normalised": float(per_layer[best]) / upper,
        },
        "noise_ceiling": {"lower": lower, "upper": upper},
    }
    extra = {"n_subjects": n_subjects, "n_boot": N_BOOT}
    if identifier.endswith("@2"):  # two-factor: the resamples as the real benchmarks record them
        extra.update(
            interval_resamples="subjects and stimuli",
            **two_factor_extra(value, identifier, seed, n_subjects),
        )
    return BenchmarkScore(identifier, table, summary, extra)


#: Resamples per synthetic two-factor result (the real benchmarks record 1000).
N_BOOT = 200
N_STIMULI = 92
HALF_WIDTH = 0.03  # of every synthetic interval


def two_factor_extra(value: float, identifier: str, seed: int, n_subjects: int) -> dict:
    """``two_factor`` and ``resamples`` records of a two-factor interval ``value ± 0.03``: one
    resampled stimulus draw per seed, shared by every benchmark of the same model (the images
    are the same), and subject draws of each benchmark's own."""
    sd = HALF_WIDTH / 1.96
    stimuli = np.random.default_rng([seed, 7]).normal(0, sd / np.sqrt(2), N_BOOT)
    subjects = np.random.default_rng([seed, len(identifier), 1]).normal(0, sd / np.sqrt(2), N_BOOT)
    return {
        "two_factor": {"variance": sd**2, "dof": float(N_STIMULI - 1), "n_stimuli": N_STIMULI},
        "resamples": {
            "draws": f"seed {seed}, {identifier}",
            "interval": "two-factor",
            "level": 0.95,
            "n_subjects": n_subjects,
            "n_stimuli": N_STIMULI,
            "samples": {
                "brain_similarity": {
                    "subjects": (value + subjects).tolist(),
                    "stimuli": (value + stimuli).tolist(),
                    "both": (value + subjects + stimuli).tolist(),
                }
            },
        },
    }


def make_result(model_id: str, identifier: str, seed: int = 0, **card_overrides) -> Result:
    score = (
        probe_score(model_id, seed)
        if identifier == PROBE
        else human_score(model_id, identifier, seed)
    )
    return Result.from_score(
        score,
        model_card=card(model_id, **card_overrides),
        benchmark=benchmark_info(identifier),
        seed=seed,
        stimuli_sha256={"stimuli": "cd" * 32},
        data_checksums={"fmri_IT_RDMs.npz": "ef" * 32},
        preprocessing="imagenet",
        layer_policy="blocks",
        device="cpu",
        timings={"extract_s": 1.5, "score_s": 0.25},
    )


def fill_store(folder: Path, models=tuple(CARDS), benchmarks=(PROBE, *HUMAN)) -> ResultsStore:
    store = ResultsStore(folder)
    for model_id in models:
        for identifier in benchmarks:
            store.save(make_result(model_id, identifier))
    return store


def two_labs(folder: Path) -> tuple[ResultsStore, ResultsStore]:
    """Two labs' results folders. Lab A: efficientnet_lite0 and clip_rn50; lab B:
    vit_b_16:untrained and clip_rn50, whose IT result in B holds other numbers than A's (one
    deliberate conflict, in a well-formed file: its content id fits)."""
    lab_a = fill_store(folder / "lab-a" / "results", models=("efficientnet_lite0", "clip_rn50"))
    lab_b = fill_store(folder / "lab-b" / "results", models=("vit_b_16:untrained", "clip_rn50"))
    changed = lab_b.load("clip_rn50", "algonauts2019.92images.IT@1")
    changed.summary["brain_similarity"]["value"] += 0.1
    lab_b.save(changed)
    return lab_a, lab_b


HOSTILE_MODEL = "<script>alert(1)</script>"


def hostile_result() -> Result:
    """A result whose every user-given string tries to break out of the HTML."""
    result = make_result(
        HOSTILE_MODEL,
        "algonauts2019.92images.IT@1",
        family="</script><script>alert(2)</script>",
        training_data="<img src=x onerror=alert(3)>",
        citation="</pre><script>alert(4)</script>",
    )
    result.provenance["benchmark"]["bibtex"] = "@misc{x, note={</pre><script>alert(5)</script>}}"
    return result
