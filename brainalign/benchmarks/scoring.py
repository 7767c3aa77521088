"""Score a model's layer RDMs against one target (docs/metrics.md, "Brain similarity"), for any
benchmark with per-subject RDMs.

1. Match the layer RDMs to the target's stimuli by id.
2. ρ (``method``, Spearman by default) of every layer with every subject: ``(layers, subjects)``.
3. **Cross-validated best layer**: split the subjects at random into halves A and B (``|A|`` = ⌊S/2⌋);
   pick the layer with the highest mean ρ over A and take its mean ρ over B, and the same with A
   and B swapped; average over ``n_splits`` seeded splits. This is the model's score, reported
   raw and divided by the upper noise ceiling. With a single RDM (no subjects to split), halves of
   the *stimuli* play that role (pairs within each half), over :data:`STIMULUS_SPLITS` splits.
4. **Max over layers**: the best layer's mean ρ on all subjects (the study's number; optimistic,
   since the same data pick and score the layer).
5. **Confidence interval** of the score, one of :data:`INTERVALS`:

   - ``"two-factor"`` (the default): about new subjects *and* new stimuli. One set of seeded
     draws resamples the subjects, the stimuli (pairs weighted by their multiplicity, self-pairs
     dropped), and both; Schütt et al.'s (2023) combination turns the three bootstrap variances
     into the variance over new subjects and stimuli, floored at the subjects' share only, not
     also at the stimuli's as rsatoolbox's ``eval_dual_bootstrap`` is
     (:data:`brainalign.rsa.inference.VARIANCE_RULE`), and the interval is the score ± t·√V
     (Welch–Satterthwaite degrees of freedom). The subject-only interval is reported beside it.
   - ``"subjects"``: about new subjects seeing *these* stimuli: subjects resampled, as an
     *expanded* percentile interval (:func:`brainalign.rsa.expanded_percentile_interval`): a
     plain percentile interval over 4 subjects covers far less than 95%.

   What each covers in simulation is in docs/metrics.md, not in the texts results record.

   Every subject resample repeats the whole cross-validation with the same splits of the original
   subjects: copies of a subject stay in one half, so none both picks and tests, and each copy
   counts once. With one RDM, bootstrap over stimuli of ρ at the layer chosen most often (the
   choice itself is not resampled). The normalised interval divides by the upper ceiling, held
   fixed (its own sampling variation is not part of the interval). An undefined score (NaN) has
   a NaN interval.
6. **Do the subjects agree?** The lower noise ceiling is tested against its values with every
   subject's stimulus labels shuffled on their own (:func:`brainalign.rsa.ceiling_reliability`,
   :data:`~brainalign.rsa.N_PERMUTATIONS` seeded permutations, one-sided). Where they do not agree more than chance
   (p ≥ :data:`~brainalign.rsa.ALPHA`), or there is a single RDM and so no ceiling,
   the normalised numbers are withheld (null) with the reason in ``normalised_withheld``: a
   ceiling made of noise still comes out near 1/√S, and a score divided by it means nothing.

Every random choice comes from ``seed``; the same inputs give bit-identical numbers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import BrainAlignError
from ..rsa import (
    ALPHA,
    LEVEL,
    N_BOOT,
    N_PERMUTATIONS,
    CeilingReliability,
    LayerRDMs,
    NoiseCeiling,
    TargetRDMs,
    bootstrap_stimuli,
    ceiling_reliability,
    compare,
    expanded_percentile_interval,
    percentile_interval,
)
from ..rsa.inference import (
    TwoFactorDraws,
    TwoFactorSamples,
    TwoFactorVariance,
    bootstrap_two_factor,
    resampled_pairs,
    two_factor_interval,
    two_factor_variance,
)
from .base import LAYERWISE_COLUMNS, BenchmarkScore, Measure

N_SPLITS = 100
STIMULUS_SPLITS = 20
#: What the score's interval can resample (see the module docstring).
INTERVALS: tuple[str, ...] = ("two-factor", "subjects")


SUBJECT_INTERVAL = (
    "95% expanded percentile bootstrap over subjects: about new subjects seeing these stimuli, "
    "not about new stimuli (simulated coverage: docs/metrics.md)"
)
TWO_FACTOR_INTERVAL = (
    "95% two-factor bootstrap over subjects and stimuli: score +- t * sqrt(V), V the two-factor "
    "bootstrap variance floored at the subjects' share (Schuett et al. 2023's combination of the "
    "three bootstrap variances; not floored at the stimuli's share as rsatoolbox's "
    "eval_dual_bootstrap is): about new subjects and new images of the same kind and number "
    "(simulated coverage: docs/metrics.md). "
    "subjects_ci_low/high: the subject-only interval (expanded percentile bootstrap over subjects)"
)
#: Plain words for a leaderboard reader: what the two-factor interval means.
TWO_FACTOR_MEANING = (
    "If this benchmark were rerun with new participants and a new set of images of the same kind "
    "and number, the model's average score would lie in this range: 95% of ranges built this way "
    "contain it."
)


def brain_measures(target: str, interval: str = "two-factor") -> tuple[Measure, ...]:
    """What a benchmark scored with :func:`score_target` (``interval`` as there) reports about
    ``target``."""
    return (
        Measure("brain_similarity", "brain_similarity", "brain similarity",
                "rho of the layer chosen on half of the subjects, scored on the other half; "
                "normalised: divided by the upper noise ceiling",
                layerwise={"target": target}, target=target,
                interval=TWO_FACTOR_INTERVAL if interval == "two-factor" else SUBJECT_INTERVAL,
                headline=True),
        Measure("brain_similarity_max", "other", "best layer's rho (max over layers)",
                "the highest mean rho over subjects among all layers, chosen and scored on the "
                "same subjects (optimistic)", layerwise={"target": target}, target=target),
        Measure("noise_ceiling", "noise_ceiling", "noise ceiling",
                "leave-one-subject-out: lower = each subject vs the mean of the others, upper = vs "
                "the mean of all; reliable: the lower ceiling beats its values with stimulus labels "
                f"shuffled per subject (permutation p < {ALPHA}), else normalised numbers are withheld",
                target=target),
    )


def ceiling_convention(method: str) -> str:
    """One line naming the ceiling a score on ``method`` comparisons is divided by."""
    return (f"leave-one-subject-out {_METHOD_NAMES.get(method, method)} ceiling: lower = each "
            "subject's RDM vs the mean RDM of the other subjects, upper = vs the mean RDM of all "
            "subjects (raw dissimilarities averaged)")


_METHOD_NAMES = {"spearman": "Spearman", "pearson": "Pearson", "kendall_tau_a": "Kendall tau-a",
                 "cosine": "cosine"}
RELIABILITY_TEST = (
    "one-sided permutation test of the lower noise ceiling against its values with each subject's "
    f"stimulus labels shuffled independently; reliable if p < {ALPHA}"
)
#: Why a target with one RDM has no normalised numbers.
SINGLE_RDM_WITHHELD = "Withheld: a target with a single RDM has no noise ceiling to divide by."


def withheld_reason(reliability: CeilingReliability) -> str:
    """One sentence: why the normalised numbers of a target whose subjects do not agree are withheld."""
    if not np.isfinite(reliability.lower):
        return ("Withheld: the lower noise ceiling is undefined (a subject's RDM is constant or holds "
                "NaN), so the subjects' agreement cannot be tested.")
    return (f"Withheld: the subjects do not agree more than chance (lower noise ceiling "
            f"{reliability.lower:.3f}, permutation p = {reliability.p:.3g} with stimulus labels "
            "shuffled per subject), so the ceiling measures noise and a score divided by it means "
            "nothing.")


@dataclass(frozen=True, eq=False)
class TwoFactorRecord:
    """What the two-factor interval was made from: the corrected variance, the subject-only
    interval beside it, and the bootstrap samples with the digest of their draws (two scores
    with the same digest were resampled alike, so their difference can be bootstrapped paired)."""

    variance: TwoFactorVariance
    subjects_ci: tuple[float, float]
    samples: TwoFactorSamples
    draws: str
    n_stimuli: int


@dataclass(frozen=True, eq=False)
class TargetComparison:
    """A model's scores on one target; :meth:`layerwise` and :meth:`summary` are what results store."""

    target: str
    layers: tuple[str, ...]
    depths: tuple[float, ...]
    subjects: tuple[str, ...]
    per_subject: np.ndarray  # (layers, subjects)
    cv_value: float
    cv_ci: tuple[float, float]
    cv_choices: tuple[int, ...]  # the layer index chosen in each half-split
    ceiling: NoiseCeiling | None
    method: str
    resampled: str  # what the interval resamples: "subjects", "subjects and stimuli" or "stimuli"
    n_splits: int
    n_boot: int
    two_factor: TwoFactorRecord | None = None
    reliability: CeilingReliability | None = None  # None: a single RDM, no ceiling to test
    convention: str = ""  # which ceiling the normalised numbers divide by (ceiling_convention)

    @property
    def layer_means(self) -> np.ndarray:
        """Mean ρ over subjects per layer."""
        return self.per_subject.mean(axis=1)

    @property
    def best_index(self) -> int:
        return _argmax(self.layer_means[:, None])[0]

    @property
    def best_value(self) -> float:
        return float(self.layer_means[self.best_index])

    @property
    def chosen_layer(self) -> str:
        """The layer the cross-validation picked most often (ties: the shallower)."""
        counts = Counter(self.cv_choices)
        top = max(counts.values())
        return self.layers[min(i for i, c in counts.items() if c == top)]

    @property
    def reliable(self) -> bool:
        """Whether the subjects agree more than chance, so that a normalised number means something."""
        return self.reliability is not None and self.reliability.reliable

    @property
    def withheld(self) -> str:
        """Why the normalised numbers are withheld ("" where they are not)."""
        if self.reliable:
            return ""
        return SINGLE_RDM_WITHHELD if self.reliability is None else withheld_reason(self.reliability)

    def normalise(self, value: float) -> float:
        """``value`` divided by the upper ceiling; NaN without a ceiling or where it is withheld."""
        if self.ceiling is None or not self.ceiling.upper > 0 or not self.reliable:
            return float("nan")
        return float(value / self.ceiling.upper)

    def layerwise(self) -> pd.DataFrame:
        """One row per layer × subject: ρ of the layer with the subject's RDM."""
        n_layers, n_subjects = self.per_subject.shape
        frame = pd.DataFrame({
            "layer": np.repeat(self.layers, n_subjects),
            "layer_index": np.repeat(np.arange(n_layers), n_subjects),
            "depth": np.repeat(self.depths, n_subjects),
            "target": self.target,
            "subject": np.tile(self.subjects, n_layers),
            "condition": "",
            "value": self.per_subject.ravel(),
            "ci_low": np.nan,
            "ci_high": np.nan,
        })
        return frame[list(LAYERWISE_COLUMNS)]

    def summary(self) -> dict[str, dict[str, Any]]:
        low, high = self.cv_ci
        ceiling = self.ceiling or NoiseCeiling(float("nan"), float("nan"))
        brain = {
            "value": self.cv_value, "ci_low": low, "ci_high": high,
            "normalised": self.normalise(self.cv_value),
            "normalised_ci_low": self.normalise(low),
            "normalised_ci_high": self.normalise(high),
            "layer": self.chosen_layer,
        }
        if self.two_factor is not None:
            subjects_low, subjects_high = self.two_factor.subjects_ci
            brain.update(interval=self.resampled, subjects_ci_low=subjects_low, subjects_ci_high=subjects_high)
        best = {"value": self.best_value, "layer": self.layers[self.best_index],
                "normalised": self.normalise(self.best_value)}
        if self.withheld:
            brain["normalised_withheld"] = best["normalised_withheld"] = self.withheld
        return {
            "brain_similarity": brain,
            "brain_similarity_max": best,
            "noise_ceiling": {"lower": float(ceiling.lower), "upper": float(ceiling.upper),
                              "reliable": self.reliable, "reliability": self._reliability_record(),
                              "convention": self.convention or "none: a single RDM has no noise ceiling"},
        }

    def _reliability_record(self) -> dict[str, Any]:
        test = self.reliability
        if test is None:
            return {"test": "none: a single RDM has no noise ceiling to test", "p": None,
                    "n_permutations": 0, "seed": None}
        return {"test": RELIABILITY_TEST, "p": test.p, "n_permutations": test.n_permutations,
                "seed": test.seed, "alpha": ALPHA, "lower_null_mean": test.null_mean,
                "lower_null_sd": test.null_sd}

    def extra(self) -> dict[str, Any]:
        counts = Counter(self.cv_choices)
        extra: dict[str, Any] = {
            "method": self.method,
            "n_subjects": len(self.subjects),
            "n_splits": self.n_splits,
            "n_boot": self.n_boot,
            "interval_resamples": self.resampled,
            "layer_means": dict(zip(self.layers, map(float, self.layer_means))),
            "cv_layer_choices": {self.layers[i]: int(c) for i, c in sorted(counts.items())},
        }
        record = self.two_factor
        if record is not None:
            variance = record.variance
            extra["two_factor"] = {
                "variance_subjects": variance.subjects, "variance_stimuli": variance.stimuli,
                "variance_both": variance.both, "variance_raw": variance.raw,
                "variance": variance.variance, "bound": variance.bound, "dof": variance.dof,
                "n_stimuli": record.n_stimuli,
                # rsatoolbox's floor at the stimuli's share, not applied (VARIANCE_RULE)
                "variance_stimulus_floor": record.n_stimuli / (record.n_stimuli - 1) * variance.stimuli,
            }
            extra["resamples"] = {
                "draws": record.draws, "interval": "two-factor", "level": LEVEL,
                "n_subjects": len(self.subjects), "n_stimuli": record.n_stimuli,
                "samples": {"brain_similarity": {
                    "subjects": record.samples.subjects, "stimuli": record.samples.stimuli,
                    "both": record.samples.both,
                }},
            }
        return extra


def score_target(
    layers: LayerRDMs,
    target: TargetRDMs,
    *,
    method: str = "spearman",
    n_splits: int = N_SPLITS,
    n_boot: int = N_BOOT,
    level: float = LEVEL,
    seed: int = 0,
    interval: str = "two-factor",
    n_permutations: int = N_PERMUTATIONS,
    convention: str = "",
) -> TargetComparison:
    """Score ``layers`` on ``target`` as described in the module docstring; ``interval`` (one of
    :data:`INTERVALS`) says what the score's interval resamples; ``convention`` names the ceiling
    (default :func:`ceiling_convention` of ``method``; a benchmark adds what its data's own
    convention was)."""
    if interval not in INTERVALS:
        raise BrainAlignError(f"unknown interval {interval!r}; choose one of {', '.join(INTERVALS)}")
    if len(layers.layers) == 0:
        raise BrainAlignError("no layer RDMs to score")
    model = layers.rdms.reorder(target.stimulus_ids).data
    subjects = target.rdms.data
    per_subject = compare(model, subjects, method)
    split_seed, boot_seed, stimulus_seed = np.random.SeedSequence(seed).spawn(3)
    record = None
    if subjects.shape[0] >= 2:
        masks = subject_halves(subjects.shape[0], n_splits, np.random.default_rng(split_seed))
        value, choices = cv_over_subjects(per_subject, masks)
        if interval == "two-factor":
            record = _two_factor(model, target, masks, method, n_boot, boot_seed, stimulus_seed, level)
            samples = record.samples.subjects
            resampled = "subjects and stimuli"
        else:
            rng = np.random.default_rng(boot_seed)
            n = subjects.shape[0]
            samples = np.array([
                cv_over_subjects(per_subject, masks, np.asarray(rng.integers(0, n, size=n)))[0]
                for _ in range(n_boot)
            ])
            resampled = "subjects"
        splits = n_splits
    else:
        splits = min(n_splits, STIMULUS_SPLITS)
        value, choices = cv_over_stimuli(
            model, subjects, method, splits, np.random.default_rng(split_seed)
        )
        modal = Counter(choices.tolist()).most_common(1)[0][0]
        samples = bootstrap_stimuli(
            model[modal], subjects, method=method, n_boot=n_boot,
            seed=int(np.random.default_rng(boot_seed).integers(2**31)),
        )[:, 0, 0]
        resampled = "stimuli"
    low: float | np.ndarray
    high: float | np.ndarray
    if not n_boot or not np.isfinite(value):
        low, high = np.nan, np.nan  # an undefined score has no interval (not one of its resamples')
        if record is not None:
            record = dataclasses.replace(record, subjects_ci=(np.nan, np.nan))
    elif record is not None:
        low, high, _ = two_factor_interval(value, record.samples, subjects.shape[0], record.n_stimuli, level)
    elif resampled == "subjects":
        low, high = expanded_percentile_interval(samples, subjects.shape[0], level)
    else:
        low, high = percentile_interval(samples, level)
    return TargetComparison(
        target=target.name, layers=layers.layers, depths=layers.depths,
        subjects=target.subjects, per_subject=per_subject, cv_value=float(value),
        cv_ci=(float(low), float(high)), cv_choices=tuple(int(c) for c in choices),
        ceiling=target.ceiling_for(method), method=method, resampled=resampled, n_splits=splits, n_boot=n_boot,
        two_factor=record,
        reliability=subjects_agree(target, method, n_permutations, seed) if subjects.shape[0] >= 2 else None,
        convention=(convention or ceiling_convention(method)) if subjects.shape[0] >= 2 else "",
    )


_AGREEMENT: dict[tuple[str, str, int, int], CeilingReliability] = {}


def subjects_agree(target: TargetRDMs, method: str, n_permutations: int, seed: int) -> CeilingReliability:
    """:func:`brainalign.rsa.ceiling_reliability` of ``target``'s subjects, computed once per
    process for the same RDMs, comparison, permutations and seed: every model scored on a target
    shares it. Stimuli are taken in the order of their ids (as the two-factor draws are), so the
    same data gives the same p whatever the order of its file's rows."""
    rdms = target.rdms.reorder(sorted(target.stimulus_ids))
    digest = hashlib.sha256(np.ascontiguousarray(rdms.data).tobytes()).hexdigest()
    key = (digest, method, n_permutations, seed)
    if key not in _AGREEMENT:
        if len(_AGREEMENT) >= 64:
            _AGREEMENT.pop(next(iter(_AGREEMENT)))
        _AGREEMENT[key] = ceiling_reliability(rdms.data, method, n_perm=n_permutations, seed=seed)
    return _AGREEMENT[key]


def _two_factor(
    model: np.ndarray, target: TargetRDMs, masks: np.ndarray, method: str, n_boot: int,
    subject_seed: np.random.SeedSequence, stimulus_seed: np.random.SeedSequence, level: float,
) -> TwoFactorRecord:
    """The three bootstraps of the cross-validated score from one set of draws (the subject draws
    are those of the subject-only interval, so that interval is reported unchanged beside it)."""
    n_subjects, n_stimuli = len(target.subjects), len(target.stimulus_ids)
    draws = TwoFactorDraws.draw(n_subjects, n_stimuli, n_boot, subject_seed, stimulus_seed)
    # Stimuli are drawn in the order of their ids (matched by id, never by position): the same
    # data gives the same interval whatever the order of its file's rows.
    by_id = np.argsort(np.asarray(target.stimulus_ids, dtype=str), kind="stable")
    draws = dataclasses.replace(draws, stimulus_counts=draws.stimulus_counts[:, np.argsort(by_id)])
    samples = bootstrap_two_factor(
        model, target.rdms.data, lambda rho, sample: cv_over_subjects(rho, masks, sample)[0], draws,
        method=method,
    )
    variance = two_factor_variance(samples, n_subjects, n_stimuli)
    subjects_ci = (np.nan, np.nan)
    if n_boot:
        subjects_low, subjects_high = expanded_percentile_interval(samples.subjects, n_subjects, level)
        subjects_ci = (float(subjects_low), float(subjects_high))
    identity = json.dumps([list(target.subjects), list(target.stimulus_ids)]).encode()
    digest = hashlib.sha256(identity + draws.digest().encode()).hexdigest()
    return TwoFactorRecord(variance, subjects_ci, samples, digest, n_stimuli)


def subject_halves(n_subjects: int, n_splits: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_splits, n_subjects)`` boolean masks of half A (⌊n/2⌋ subjects) of each random split."""
    masks = np.zeros((n_splits, n_subjects), dtype=bool)
    for k in range(n_splits):
        masks[k, rng.permutation(n_subjects)[: n_subjects // 2]] = True
    return masks


def cv_over_subjects(
    per_subject: np.ndarray, masks: np.ndarray, sample: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Each subject's ρ at the layer chosen (highest mean ρ) on the other half of the split,
    averaged over subjects and splits: every subject is held out once per split.

    ``per_subject``: ``(layers, subjects)``; ``masks``: half A of each split, over subjects.
    ``sample`` (a bootstrap resample of subject indices) keeps every copy of a subject in the
    half its original is in, so no subject ever both picks and tests a layer, and every copy
    counts once: a half that drew more copies weighs more, as it would with more subjects
    (weighting the halves equally instead hides part of the resampling variance and narrows the
    interval). Splits that leave a half empty are dropped. Returns the score and the chosen layer
    of every kept half-split.
    """
    if sample is not None:
        per_subject, masks = per_subject[:, sample], masks[:, sample]
    in_a = masks.astype(np.float64)
    in_b = 1.0 - in_a
    count_a, count_b = in_a.sum(axis=1), in_b.sum(axis=1)
    keep = (count_a > 0) & (count_b > 0)
    in_a, in_b = in_a[keep], in_b[keep]
    if in_a.shape[0] == 0:
        return float("nan"), np.zeros(0, dtype=int)
    pick_a = _argmax(per_subject @ (in_a / count_a[keep, None]).T)  # (kept splits,)
    pick_b = _argmax(per_subject @ (in_b / count_b[keep, None]).T)
    held_out = (per_subject[pick_a] * in_b).sum() + (per_subject[pick_b] * in_a).sum()
    return float(held_out / in_a.size), np.concatenate([pick_a, pick_b])


def cv_over_stimuli(
    model: np.ndarray, target: np.ndarray, method: str, n_splits: int, rng: np.random.Generator
) -> tuple[float, np.ndarray]:
    """The same with one target RDM: halves of the stimuli, ρ on the pairs within each half."""
    from ..rsa.dissimilarity import n_stimuli_from_pairs

    n = n_stimuli_from_pairs(model.shape[1])
    if n < 8:
        raise BrainAlignError(f"cross-validating over stimuli needs at least 8 stimuli, not {n}")
    held_out, choices = [], []
    for _ in range(n_splits):
        order = rng.permutation(n)
        halves = [np.sort(order[: n // 2]), np.sort(order[n // 2 :])]
        rho = [compare(model[:, resampled_pairs(h, n)], target[:, resampled_pairs(h, n)], method)
               for h in halves]
        for pick_on, test_on in ((0, 1), (1, 0)):
            layer = _argmax(rho[pick_on])[0]
            held_out.append(rho[test_on][layer, 0])
            choices.append(layer)
    return float(np.mean(held_out)), np.array(choices)


def _argmax(values: np.ndarray) -> np.ndarray:
    """Column-wise argmax ignoring NaN (a constant layer RDM has no ρ); all-NaN → 0."""
    return np.argmax(np.where(np.isnan(values), -np.inf, values), axis=0)


def benchmark_score(identifier: str, score: TargetComparison, **extra: Any) -> BenchmarkScore:
    """Wrap one target's score as the :class:`BenchmarkScore` of benchmark ``identifier``."""
    return BenchmarkScore(identifier, score.layerwise(), score.summary(), {**score.extra(), **extra})
