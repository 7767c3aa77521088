"""A planted population of stimuli and subjects with features, for checking what the feature
metrics' two-factor intervals cover (imported by tests; run as a script it prints the coverage of
every metric at a chosen size).

As in tests/planted.py: a stimulus is a latent vector x = centre of a random category + N(0, I);
the brain's features are f(x) = tanh(A x / √D); subject s's patterns are f(x) + τ·tanh(B_s x / √D)
plus measurement noise σ_s per stimulus, given to the metrics as their Euclidean RDM; layer l's
features are a_l·f(x) + √(1 − a_l²)·tanh(R_l x / √D), a_l peaking at ``peak``.

    python tests/metrics/metric_population.py [REPETITIONS] [N_BOOT] [N_SUBJECTS] [N_STIMULI]
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from brainalign.benchmarks.scoring import cv_over_subjects, subject_halves
from brainalign.metrics import METRICS, Kernel, LayerKernels, Metric, two_factor_samples
from brainalign.rsa import RDMs, TargetRDMs, rdm
from brainalign.rsa.inference import TwoFactorDraws, two_factor_interval


@dataclass(frozen=True)
class FeaturePopulation:
    n_layers: int = 4
    peak: int = 2
    brain_weight: float = 0.9
    idiosyncrasy: float = 0.3
    noise: float = 1.0
    heterogeneity: float = 0.2
    category_spread: float = 1.5
    latent: int = 20
    features: int = 30
    categories: int = 5
    seed: int = 2468

    @cached_property
    def _fixed(self) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        layers = np.arange(self.n_layers)
        return {
            "centres": rng.normal(size=(self.categories, self.latent)) * self.category_spread,
            "brain": rng.normal(size=(self.features, self.latent)),
            "layer_maps": rng.normal(size=(self.n_layers, self.features, self.latent)),
            "share": self.brain_weight * np.exp(-((layers - self.peak) ** 2) / 2.0),
        }

    def experiment(
        self, rng: np.random.Generator, n_subjects: int, n_stimuli: int
    ) -> tuple[LayerKernels, TargetRDMs]:
        """Fresh stimuli and subjects: the layers as kernels, the subjects as Euclidean RDMs."""
        fixed, scale = self._fixed, np.sqrt(self.latent)
        x = fixed["centres"][rng.integers(0, self.categories, n_stimuli)] + rng.normal(
            size=(n_stimuli, self.latent)
        )
        brain = np.tanh(x @ fixed["brain"].T / scale)
        own = rng.normal(size=(n_subjects, self.features, self.latent))
        seen = brain + self.idiosyncrasy * np.tanh(np.einsum("nd,sfd->snf", x, own) / scale)
        sigma = self.noise * np.exp(self.heterogeneity * rng.normal(size=(n_subjects, 1, 1)))
        patterns = seen + sigma * rng.normal(size=seen.shape)
        share = fixed["share"][:, None, None]
        other = np.tanh(np.einsum("nd,lfd->lnf", x, fixed["layer_maps"]) / scale)
        layers = share * brain[None] + np.sqrt(1 - share**2) * other
        ids = tuple(f"stim{i:03d}" for i in range(n_stimuli))
        names = tuple(f"layer{k}" for k in range(self.n_layers))
        kernels = LayerKernels(
            tuple(Kernel.from_features(f) for f in layers),
            names,
            tuple(np.linspace(0, 1, self.n_layers)),
            ids,
        )
        target = TargetRDMs(
            "planted",
            RDMs(
                np.stack([rdm(p, "euclidean") for p in patterns]),
                [f"sub{s:02d}" for s in range(n_subjects)],
                ids,
                "euclidean",
            ),
        )
        return kernels, target


def population_value(
    metric: Metric,
    population: FeaturePopulation,
    n_subjects: int,
    n_stimuli: int,
    experiments: int,
    seed: int = 2024,
    n_splits: int = 10,
) -> tuple[float, float]:
    """Mean cross-validated score over fresh experiments, and its Monte Carlo standard error."""
    rng = np.random.default_rng(seed)
    scores = np.empty(experiments)
    for k in range(experiments):
        layers, target = population.experiment(rng, n_subjects, n_stimuli)
        table = metric.score(layers, target, seed=k).per_subject
        scores[k] = cv_over_subjects(table, subject_halves(n_subjects, n_splits, rng))[0]
    return float(scores.mean()), float(scores.std(ddof=1) / np.sqrt(experiments))


def coverage(
    metric: Metric,
    population: FeaturePopulation,
    truth: float,
    n_subjects: int,
    n_stimuli: int,
    repetitions: int,
    n_boot: int,
    n_splits: int = 20,
    seed: int = 7,
) -> dict[str, float]:
    """How often the two-factor interval of fresh experiments contains ``truth``."""
    rng = np.random.default_rng([seed, n_subjects, n_stimuli])
    hits, width, z2, parts = 0, 0.0, [], []
    for repetition in range(repetitions):
        layers, target = population.experiment(rng, n_subjects, n_stimuli)
        scores = metric.score(layers, target, seed=repetition)
        masks = subject_halves(n_subjects, n_splits, np.random.default_rng(repetition))
        value = cv_over_subjects(scores.per_subject, masks)[0]
        draws = TwoFactorDraws.draw(n_subjects, n_stimuli, n_boot, [repetition, 1], [repetition, 2])
        samples = two_factor_samples(
            scores, lambda t, s, m=masks: cv_over_subjects(t, m, s)[0], draws
        )
        low, high, variance = two_factor_interval(value, samples, n_subjects, n_stimuli)
        hits += low <= truth <= high
        width += (high - low) / repetitions
        z2.append((value - truth) ** 2 / variance.variance)
        parts.append(
            [
                (value - truth) ** 2,
                variance.variance,
                variance.subjects,
                variance.stimuli,
                variance.both,
            ]
        )
    mean_parts = dict(
        zip(
            ["squared_error", "variance", "v_subjects", "v_stimuli", "v_both"],
            np.mean(parts, axis=0).tolist(),
        )
    )
    return {
        "coverage": hits / repetitions,
        "width": width,
        "mean_z2": float(np.mean(z2)),
        **mean_parts,
    }


if __name__ == "__main__":
    repetitions, n_boot, n_subjects, n_stimuli = (
        int(a) for a in (sys.argv[1:] + ["100", "200", "10", "60"][len(sys.argv) - 1 :])
    )
    population = FeaturePopulation()
    for name in ("cka", "encoding", "wrsa"):
        metric = METRICS[name]
        truth, error = population_value(metric, population, n_subjects, n_stimuli, experiments=300)
        found = coverage(metric, population, truth, n_subjects, n_stimuli, repetitions, n_boot)
        print(json.dumps({"metric": name, "truth": truth, "truth_se": error, **found}), flush=True)
