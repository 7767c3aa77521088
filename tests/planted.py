"""A planted population of stimuli *and* subjects, for checking what brain-similarity intervals
cover (imported by tests; run as a script it measures the coverage table of docs/metrics.md).

The population is fixed by its parameters and ``seed``; an experiment draws fresh stimuli and
fresh subjects from it:

- a stimulus is a latent vector x = centre of a random category + N(0, I);
- the brain's features are f(x) = tanh(A x / √D); subject s sees shared·f(x) + τ·tanh(B_s x / √D)
  (its own idiosyncratic geometry, B_s fresh per subject), measured with noise σ_s per stimulus
  (σ_s varies between subjects by ``heterogeneity``); its RDM is the Euclidean distance, or
  ``distance="correlation"``: 1 − Pearson r of the noisy patterns, like fMRI RDMs, where noise is
  mostly specific to each pair of stimuli (with ``shared = τ = 0`` the subjects share nothing:
  pure noise, and every score's population value is 0);
- layer l of the model is a_l·f(x) + √(1 − a_l²)·tanh(R_l x / √D), noise-free, where a_l peaks
  at ``peak`` (the brain-like layer) and R_l moves smoothly from features the brain reads little
  to all features; its RDM is the Euclidean distance too.

The **population value** of a score is its mean over many fresh experiments of the same size:
what an interval built from one experiment should cover (:func:`population_value`).

    python tests/planted.py [REPETITIONS] [N_BOOT] [OUT.json] [NAME:SUBJECTS,...]   # the coverage tables (slow)
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.stats import t as student_t
from threadpoolctl import threadpool_limits

from brainalign.benchmarks.scoring import cv_over_subjects, score_target, subject_halves
from brainalign.rsa import LayerRDMs, RDMs, TargetRDMs, compare
from brainalign.rsa.inference import TwoFactorVariance


@dataclass(frozen=True)
class Population:
    n_layers: int = 12
    peak: int = 8  # the layer most like the brain
    width: float = 2.0  # of the peak, in layers
    brain_weight: float = 0.9  # a_l at the peak
    idiosyncrasy: float = 0.6  # τ: how much each subject's geometry is its own
    noise: float = 2.0  # σ: measurement noise per stimulus
    heterogeneity: float = 0.2  # sd of log σ_s across subjects
    category_spread: float = 1.0  # how far apart the category centres lie
    latent: int = 30  # D
    features: int = 60
    brain_dims: int = 10  # latent dimensions the brain reads fully (the rest at 1/4)
    categories: int = 6
    seed: int = 12345
    shared: float = 1.0  # weight of the geometry all subjects share
    distance: str = "euclidean"  # of the subjects' RDMs: euclidean or correlation

    @cached_property
    def _fixed(self) -> dict[str, np.ndarray]:
        """What every experiment shares: category centres, the brain's and the layers' maps."""
        rng = np.random.default_rng(self.seed)
        brain_reads = np.arange(self.latent) < self.brain_dims
        read = np.where(brain_reads, 1.0, 0.25)
        early = rng.normal(size=(self.features, self.latent)) * np.where(brain_reads, 0.25, 1.0)
        late = rng.normal(size=(self.features, self.latent))
        angle = np.linspace(0, np.pi / 2, self.n_layers)[:, None, None]
        layers = np.arange(self.n_layers)
        return {
            "centres": rng.normal(size=(self.categories, self.latent)) * self.category_spread,
            "brain": rng.normal(size=(self.features, self.latent)) * read,
            "layer_maps": np.cos(angle) * early + np.sin(angle) * late,
            "brain_share": self.brain_weight
            * np.exp(-((layers - self.peak) ** 2) / (2 * self.width**2)),
        }

    @threadpool_limits.wrap(limits=1, user_api="blas")  # small products: BLAS threads only wait
    def experiment(
        self, rng: np.random.Generator, n_subjects: int, n_stimuli: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Condensed RDMs of ``n_subjects`` fresh subjects and of every layer, on ``n_stimuli``
        fresh stimuli: ``(subjects, pairs)``, ``(layers, pairs)``."""
        fixed, scale = self._fixed, np.sqrt(self.latent)
        x = fixed["centres"][rng.integers(0, self.categories, n_stimuli)] + rng.normal(
            size=(n_stimuli, self.latent)
        )
        brain = np.tanh(x @ fixed["brain"].T / scale)
        own = rng.normal(size=(n_subjects, self.features, self.latent))
        seen = self.shared * brain + self.idiosyncrasy * np.tanh(
            np.einsum("nd,sfd->snf", x, own) / scale
        )
        sigma = self.noise * np.exp(self.heterogeneity * rng.normal(size=(n_subjects, 1, 1)))
        measured = seen + sigma * rng.normal(size=seen.shape)
        subjects = (
            _correlation_distances(measured)
            if self.distance == "correlation"
            else _distances(measured)
        )
        share = fixed["brain_share"][:, None, None]
        other = np.tanh(np.einsum("nd,lfd->lnf", x, fixed["layer_maps"]) / scale)
        layers = _distances(share * brain[None] + np.sqrt(1 - share**2) * other)
        return subjects, layers


def _distances(points: np.ndarray) -> np.ndarray:
    """Condensed Euclidean RDMs of ``(..., n, features)`` point sets."""
    squared = (points * points).sum(-1)
    gram = points @ np.swapaxes(points, -1, -2)
    rows, cols = np.triu_indices(points.shape[-2], k=1)
    d2 = squared[..., rows] + squared[..., cols] - 2 * gram[..., rows, cols]
    return np.sqrt(np.maximum(d2, 0.0))


def _correlation_distances(points: np.ndarray) -> np.ndarray:
    """Condensed 1 − Pearson r RDMs of ``(..., n, features)`` patterns."""
    centred = points - points.mean(-1, keepdims=True)
    centred /= np.linalg.norm(centred, axis=-1, keepdims=True)
    rows, cols = np.triu_indices(points.shape[-2], k=1)
    return 1.0 - (centred @ np.swapaxes(centred, -1, -2))[..., rows, cols]


#: Population A: subjects differ a lot (idiosyncratic, noisy); B: subjects agree more, so which
#: stimuli were drawn matters as much as who was scanned.
POPULATIONS = {
    "A": Population(),
    "B": Population(idiosyncrasy=0.3, noise=1.5, heterogeneity=0.0, category_spread=1.5),
}
#: The noisy regime: fMRI-like RDMs (correlation distance of 300 noisy voxels). N0: subjects share
#: nothing (population value 0); N8: they barely agree (lower noise ceiling about 0.01 with 15
#: subjects and 78 images, like the Algonauts 2019 test set); E0: Euclidean RDMs of pure noise,
#: whose noise belongs to each image rather than to each pair.
NOISY = {
    "N0": Population(
        n_layers=4,
        peak=2,
        noise=6.0,
        features=300,
        distance="correlation",
        shared=0.0,
        idiosyncrasy=0.0,
    ),
    "N8": Population(n_layers=4, peak=2, noise=8.0, features=300, distance="correlation"),
    "E0": Population(n_layers=4, peak=2, shared=0.0, idiosyncrasy=0.0),
}


def as_objects(subjects: np.ndarray, layers: np.ndarray) -> tuple[LayerRDMs, TargetRDMs]:
    """The RDMs of one experiment as the objects a benchmark scores."""
    n = round(float((1 + np.sqrt(1 + 8 * subjects.shape[1])) / 2))
    ids = tuple(f"stim{i:03d}" for i in range(n))
    target = TargetRDMs.from_subjects(
        "planted", RDMs(subjects, [f"sub{s:02d}" for s in range(len(subjects))], ids)
    )
    model = LayerRDMs(
        RDMs(layers, [f"layer{k:02d}" for k in range(len(layers))], ids, "euclidean"),
        np.linspace(0, 1, len(layers)),
    )
    return model, target


def population_value(
    population: Population,
    n_subjects: int,
    n_stimuli: int,
    experiments: int,
    seed: int = 2024,
    n_splits: int = 10,
) -> tuple[float, float]:
    """Mean cross-validated score over ``experiments`` fresh experiments, and its Monte Carlo
    standard error (the number of splits changes the score's noise, not its mean)."""
    rng = np.random.default_rng(seed)
    scores = np.empty(experiments)
    for k in range(experiments):
        subjects, layers = population.experiment(rng, n_subjects, n_stimuli)
        masks = subject_halves(n_subjects, n_splits, rng)
        scores[k] = cv_over_subjects(compare(layers, subjects), masks)[0]
    return float(scores.mean()), float(scores.std(ddof=1) / np.sqrt(experiments))


def coverage(
    population: Population,
    truth: float,
    n_subjects: int,
    n_stimuli: int,
    repetitions: int,
    n_boot: int,
    n_splits: int = 100,
    seed: int = 7,
) -> dict[str, float]:
    """Score ``repetitions`` fresh experiments with the two-factor interval and count how often it
    (the subject-only interval beside it, and the two-factor interval with rsatoolbox's extra floor
    at the stimuli's share, ``stimulus_floor``) contains ``truth``, and how often each excludes 0."""
    rng = np.random.default_rng([seed, n_subjects, n_stimuli])
    names = ("two-factor", "subjects", "stimulus_floor")
    hits, excludes_zero = dict.fromkeys(names, 0), dict.fromkeys(names, 0)
    widths = dict.fromkeys(names, 0.0)
    z2, negative, floored, details = [], 0, 0, []
    for repetition in range(repetitions):
        model, target = as_objects(*population.experiment(rng, n_subjects, n_stimuli))
        scored = score_target(
            model, target, n_boot=n_boot, n_splits=n_splits, seed=repetition, n_permutations=0
        )
        record = scored.two_factor
        variance = record.variance
        for name, (low, high) in (
            ("two-factor", scored.cv_ci),
            ("subjects", record.subjects_ci),
            (
                "stimulus_floor",
                _with_stimulus_floor(scored.cv_value, variance, n_subjects, n_stimuli),
            ),
        ):
            hits[name] += low <= truth <= high
            excludes_zero[name] += low > 0 or high < 0
            widths[name] += (high - low) / repetitions
        z2.append((scored.cv_value - truth) ** 2 / variance.variance)
        negative += variance.raw < 0
        floored += variance.bound == "subjects"
        details.append(
            {
                "value": scored.cv_value,
                "ci": scored.cv_ci,
                "subjects_ci": record.subjects_ci,
                "v_subjects": variance.subjects,
                "v_stimuli": variance.stimuli,
                "v_both": variance.both,
                "raw": variance.raw,
                "dof": variance.dof,
                "mean_both": float(np.nanmean(record.samples.both)),
            }
        )
    return {
        "repetitions": repetitions,
        "coverage": hits["two-factor"] / repetitions,
        "width": widths["two-factor"],
        "coverage_subjects": hits["subjects"] / repetitions,
        "width_subjects": widths["subjects"],
        "coverage_stimulus_floor": hits["stimulus_floor"] / repetitions,
        "width_stimulus_floor": widths["stimulus_floor"],
        "excludes_zero": {name: count / repetitions for name, count in excludes_zero.items()},
        "mean_z2": float(np.mean(z2)),
        "raw_negative": negative / repetitions,
        "subject_floor": floored / repetitions,
        "details": details,
    }


def _with_stimulus_floor(
    value: float, variance: TwoFactorVariance, n_subjects: int, n_stimuli: int
) -> tuple[float, float]:
    """The interval with the variance also floored at the stimuli's share n/(n−1)·V_p, as
    rsatoolbox's ``eval_dual_bootstrap`` floors it (degrees of freedom by the same rule)."""
    floored = max(variance.variance, n_stimuli / (n_stimuli - 1) * variance.stimuli)
    part = n_subjects / (n_subjects - 1) * variance.subjects
    denominator = part**2 / (n_subjects - 1) + max(floored - part, 0.0) ** 2 / (n_stimuli - 1)
    dof = floored**2 / denominator if denominator > 0 else n_subjects - 1.0
    half = float(student_t.ppf(0.975, min(max(dof, n_subjects - 1.0), n_stimuli - 1.0))) * float(
        np.sqrt(floored)
    )
    return value - half, value + half


#: The coverage table's cells (docs/metrics.md), most telling first: 15 subjects, then fewer;
#: then the noisy regime (docs/metrics.md), on 78 images like the Algonauts 2019 test set.
CELLS = [(name, n_subjects) for n_subjects in (15, 4, 8) for name in ("B", "A")] + [
    ("N0", 15),
    ("N8", 15),
    ("E0", 15),
]


if (
    __name__ == "__main__"
):  # nice -n 10 python tests/planted.py 200 1000 out.json [B:15,A:15,N0:15,…]
    repetitions = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    n_boot = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    out = sys.argv[3] if len(sys.argv) > 3 else None
    cells = (
        [(c.split(":")[0], int(c.split(":")[1])) for c in sys.argv[4].split(",")]
        if len(sys.argv) > 4
        else CELLS
    )
    rows = []
    for name, n_subjects in cells:
        population = {**POPULATIONS, **NOISY}[name]
        n_stimuli = 78 if name in NOISY else 92
        started = time.perf_counter()
        if population.shared == 0 and population.idiosyncrasy == 0:
            truth, error = 0.0, 0.0  # subjects share nothing: every score's population value is 0
        else:
            truth, error = population_value(population, n_subjects, n_stimuli, experiments=2000)
        row = {
            "population": name,
            "subjects": n_subjects,
            "stimuli": n_stimuli,
            "truth": truth,
            "truth_se": error,
            **coverage(population, truth, n_subjects, n_stimuli, repetitions, n_boot),
            "seconds": time.perf_counter() - started,
        }
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "details"}), flush=True)
        if out:
            with open(out, "w") as handle:
                json.dump(rows, handle)
