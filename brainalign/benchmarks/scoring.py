"""Score a model's layers against one target (docs/metrics.md, "Brain similarity"), for any
benchmark with per-subject RDMs (or responses), by any metric: the scores as results store them.

The maths is pure and lives in :mod:`brainalign.rsa.crossvalidation` (the cross-validated best
layer over halves of the subjects, or of the stimuli with a single RDM, and its two-factor or
subject-only interval) and in :mod:`brainalign.metrics` (what each metric scores per layer and
subject, and its ceiling). Here it becomes a :class:`TargetComparison`: the layerwise rows and the
summary a result holds, with the noise ceiling and the test whether the subjects agree:

The lower noise ceiling is tested against its values with every subject's stimulus labels
shuffled on their own (:func:`brainalign.rsa.ceiling_reliability`,
:data:`~brainalign.rsa.N_PERMUTATIONS` seeded permutations, one-sided, on the target's RDMs with
the comparison of classical RSA whatever the metric: whether the subjects agree is a property of
the data). Where they do not agree more than chance (p ≥ :data:`~brainalign.rsa.ALPHA`), or there
is a single RDM and so no ceiling, the normalised numbers are withheld (null) with the reason in
``normalised_withheld``: a ceiling made of noise still comes out near 1/√S, and a score divided by
it means nothing. A target of measured responses is tested the same way, on each subject's RDM
of its responses averaged over repeats (:data:`AGREEMENT_DISTANCE`); where the encoding metric
divides by the NCSNR ceiling (every subject with 2 or more repeats), the test is whether the
repeats agree (:func:`brainalign.metrics.repeats_reliability`: the NCSNR ceiling against its values
with every repeat's stimulus labels shuffled), since that is what the ceiling measures.

Every random choice comes from ``seed``; the same inputs give bit-identical numbers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ..errors import BrainAlignError
from ..metrics import (
    REPEATS_RELIABILITY_VERSION,
    ClassicalRSA,
    Encoding,
    LayerKernels,
    Metric,
    TargetResponses,
    metric_id,
    repeats_reliability,
    two_factor_samples,
)
from ..rsa import (
    ALPHA,
    CEILING_RELIABILITY_VERSION,
    LEVEL,
    N_BOOT,
    N_PERMUTATIONS,
    CeilingReliability,
    LayerRDMs,
    NoiseCeiling,
    TargetRDMs,
    ceiling_reliability,
    compare,
)
from ..rsa.crossvalidation import (
    INTERVALS,
    N_SPLITS,
    STIMULUS_SPLITS,
    CrossValidatedScore,
    TwoFactorRecord,
    best_layers,
    cross_validate,
    cross_validate_one_rdm,
    cv_over_stimuli,
    cv_over_subjects,
    subject_halves,
)
from ..rsa.inference import bootstrap_two_factor
from .agreement_cache import cached_agreement, data_sha256
from .base import LAYERWISE_COLUMNS, BenchmarkScore, Measure

__all__ = [
    "INTERVALS",
    "N_SPLITS",
    "STIMULUS_SPLITS",
    "TargetComparison",
    "TwoFactorRecord",
    "benchmark_score",
    "brain_measures",
    "ceiling_convention",
    "cv_over_stimuli",
    "cv_over_subjects",
    "score_metric",
    "score_target",
    "subject_halves",
    "subjects_agree",
]

#: The distance of the RDMs whose agreement a target of responses is tested on (the usual fMRI RSA).
AGREEMENT_DISTANCE = "correlation"

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


def brain_measures(
    target: str, interval: str = "two-factor", metric: str | None = None
) -> tuple[Measure, ...]:
    """What a benchmark scored with :func:`score_target` (``interval`` as there) reports about
    ``target``; or with :func:`score_metric` by ``metric`` (its ``name@version``)."""
    if metric is not None:
        return (
            Measure(
                "brain_similarity",
                "brain_similarity",
                f"brain similarity ({metric})",
                f"{metric} score of the layer chosen on half of the subjects, scored on the other half; "
                "normalised: divided by the metric's upper noise ceiling",
                layerwise={"target": target},
                target=target,
                interval=TWO_FACTOR_INTERVAL,
                headline=True,
                metric=metric,
            ),
            Measure(
                "brain_similarity_max",
                "other",
                f"best layer's {metric} score (max over layers)",
                "the highest mean score over subjects among all layers, chosen and scored on the same "
                "subjects (optimistic)",
                layerwise={"target": target},
                target=target,
                metric=metric,
            ),
            Measure(
                "noise_ceiling",
                "noise_ceiling",
                f"noise ceiling ({metric})",
                "the metric's leave-one-subject-out ceiling; reliable: the target's lower Spearman "
                "ceiling beats its values with stimulus labels shuffled per subject (permutation p < "
                "0.05), else normalised numbers are withheld",
                target=target,
                metric=metric,
            ),
        )
    return (
        Measure(
            "brain_similarity",
            "brain_similarity",
            "brain similarity",
            "rho of the layer chosen on half of the subjects, scored on the other half; "
            "normalised: divided by the upper noise ceiling",
            layerwise={"target": target},
            target=target,
            interval=TWO_FACTOR_INTERVAL if interval == "two-factor" else SUBJECT_INTERVAL,
            headline=True,
        ),
        Measure(
            "brain_similarity_max",
            "other",
            "best layer's rho (max over layers)",
            "the highest mean rho over subjects among all layers, chosen and scored on the "
            "same subjects (optimistic)",
            layerwise={"target": target},
            target=target,
        ),
        Measure(
            "noise_ceiling",
            "noise_ceiling",
            "noise ceiling",
            "leave-one-subject-out: lower = each subject vs the mean of the others, upper = vs "
            "the mean of all; reliable: the lower ceiling beats its values with stimulus labels "
            f"shuffled per subject (permutation p < {ALPHA}), else normalised numbers are withheld",
            target=target,
        ),
    )


def ceiling_convention(method: str) -> str:
    """One line naming the ceiling a score on ``method`` comparisons is divided by."""
    return (
        f"leave-one-subject-out {_METHOD_NAMES.get(method, method)} ceiling: lower = each "
        "subject's RDM vs the mean RDM of the other subjects, upper = vs the mean RDM of all "
        "subjects (raw dissimilarities averaged)"
    )


_METHOD_NAMES = {
    "spearman": "Spearman",
    "pearson": "Pearson",
    "kendall_tau_a": "Kendall tau-a",
    "cosine": "cosine",
}
#: The ceiling of encoding on responses with 2 or more repeats per subject.
NCSNR_CONVENTION = (
    "the encoding@1 NCSNR ceiling: per unit sqrt(max(V - s2/R, 0) / V) from the subject's R repeats "
    "(V: variance of the trial averages over stimuli, s2: mean variance over repeats), averaged over "
    "units and subjects; lower = upper (docs/metrics.md)"
)
#: How a target's repeats are tested to agree more than chance (responses with 2+ repeats).
REPEATS_TEST = (
    "one-sided permutation test of the NCSNR ceiling against its values with the stimulus labels of "
    f"every repeat of every subject shuffled independently; reliable if p < {ALPHA}"
)
RELIABILITY_TEST = (
    "one-sided permutation test of the lower noise ceiling against its values with each subject's "
    f"stimulus labels shuffled independently; reliable if p < {ALPHA}"
)
#: Why a target with one RDM has no normalised numbers.
SINGLE_RDM_WITHHELD = "Withheld: a target with a single RDM has no noise ceiling to divide by."


def withheld_reason(reliability: CeilingReliability) -> str:
    """One sentence: why the normalised numbers of a target whose subjects do not agree are withheld."""
    if not np.isfinite(reliability.lower):
        return (
            "Withheld: the lower noise ceiling is undefined (a subject's RDM is constant or holds "
            "NaN), so the subjects' agreement cannot be tested."
        )
    return (
        f"Withheld: the subjects do not agree more than chance (lower noise ceiling "
        f"{reliability.lower:.3f}, permutation p = {reliability.p:.3g} with stimulus labels "
        "shuffled per subject), so the ceiling measures noise and a score divided by it means "
        "nothing."
    )


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
    reliability_test: str = ""  # how the reliability was tested ("": RELIABILITY_TEST)

    @property
    def layer_means(self) -> np.ndarray:
        """Mean ρ over subjects per layer."""
        return self.per_subject.mean(axis=1)

    @property
    def best_index(self) -> int:
        return best_layers(self.layer_means[:, None])[0]

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
        return (
            SINGLE_RDM_WITHHELD if self.reliability is None else withheld_reason(self.reliability)
        )

    def normalise(self, value: float) -> float:
        """``value`` divided by the upper ceiling; NaN without a ceiling or where it is withheld."""
        if self.ceiling is None or not self.ceiling.upper > 0 or not self.reliable:
            return float("nan")
        return float(value / self.ceiling.upper)

    def layerwise(self) -> pd.DataFrame:
        """One row per layer × subject: ρ of the layer with the subject's RDM."""
        n_layers, n_subjects = self.per_subject.shape
        frame = pd.DataFrame(
            {
                "layer": np.repeat(self.layers, n_subjects),
                "layer_index": np.repeat(np.arange(n_layers), n_subjects),
                "depth": np.repeat(self.depths, n_subjects),
                "target": self.target,
                "subject": np.tile(self.subjects, n_layers),
                "condition": "",
                "value": self.per_subject.ravel(),
                "ci_low": np.nan,
                "ci_high": np.nan,
            }
        )
        return frame[list(LAYERWISE_COLUMNS)]

    def summary(self) -> dict[str, dict[str, Any]]:
        low, high = self.cv_ci
        ceiling = self.ceiling or NoiseCeiling(float("nan"), float("nan"))
        brain = {
            "value": self.cv_value,
            "ci_low": low,
            "ci_high": high,
            "normalised": self.normalise(self.cv_value),
            "normalised_ci_low": self.normalise(low),
            "normalised_ci_high": self.normalise(high),
            "layer": self.chosen_layer,
        }
        if self.two_factor is not None:
            subjects_low, subjects_high = self.two_factor.subjects_ci
            brain.update(
                interval=self.resampled,
                subjects_ci_low=subjects_low,
                subjects_ci_high=subjects_high,
            )
        best = {
            "value": self.best_value,
            "layer": self.layers[self.best_index],
            "normalised": self.normalise(self.best_value),
        }
        if self.withheld:
            brain["normalised_withheld"] = best["normalised_withheld"] = self.withheld
        return {
            "brain_similarity": brain,
            "brain_similarity_max": best,
            "noise_ceiling": {
                "lower": float(ceiling.lower),
                "upper": float(ceiling.upper),
                "reliable": self.reliable,
                "reliability": self._reliability_record(),
                "convention": self.convention or "none: a single RDM has no noise ceiling",
            },
        }

    def _reliability_record(self) -> dict[str, Any]:
        test = self.reliability
        if test is None:
            return {
                "test": "none: a single RDM has no noise ceiling to test",
                "p": None,
                "n_permutations": 0,
                "seed": None,
            }
        return {
            "test": self.reliability_test or RELIABILITY_TEST,
            "p": test.p,
            "n_permutations": test.n_permutations,
            "seed": test.seed,
            "alpha": ALPHA,
            "lower_null_mean": test.null_mean,
            "lower_null_sd": test.null_sd,
        }

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
                "variance_subjects": variance.subjects,
                "variance_stimuli": variance.stimuli,
                "variance_both": variance.both,
                "variance_raw": variance.raw,
                "variance": variance.variance,
                "bound": variance.bound,
                "dof": variance.dof,
                "n_stimuli": record.n_stimuli,
                # rsatoolbox's floor at the stimuli's share, not applied (VARIANCE_RULE)
                "variance_stimulus_floor": record.n_stimuli
                / (record.n_stimuli - 1)
                * variance.stimuli,
            }
            extra["resamples"] = {
                "draws": record.draws,
                "interval": "two-factor",
                "level": LEVEL,
                "n_subjects": len(self.subjects),
                "n_stimuli": record.n_stimuli,
                "samples": {
                    "brain_similarity": {
                        "subjects": record.samples.subjects,
                        "stimuli": record.samples.stimuli,
                        "both": record.samples.both,
                    }
                },
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
    """Classical RSA of ``layers`` on ``target`` (``method``: how RDMs are compared): the
    cross-validated best layer with its ``interval`` (one of :data:`INTERVALS`), the ceiling and
    the subjects' agreement (module docstring); ``convention`` names the ceiling (default
    :func:`ceiling_convention` of ``method``; a benchmark adds what its data's own convention was)."""
    if interval not in INTERVALS:
        raise BrainAlignError(
            f"unknown interval {interval!r}; choose one of {', '.join(INTERVALS)}"
        )
    if len(layers.layers) == 0:
        raise BrainAlignError("no layer RDMs to score")
    model = layers.rdms.reorder(target.stimulus_ids).data
    subjects = target.rdms.data
    per_subject = compare(model, subjects, method)
    if subjects.shape[0] < 2:
        scored = cross_validate_one_rdm(
            model, subjects, method, seed=seed, n_splits=n_splits, n_boot=n_boot, level=level
        )
        return _comparison(
            layers, target, per_subject, scored, target.ceiling_for(method), method, None, ""
        )

    def bootstrap(statistic, draws):
        return bootstrap_two_factor(model, subjects, statistic, draws, method=method)

    scored = cross_validate(
        per_subject,
        target.subjects,
        target.stimulus_ids,
        bootstrap,
        seed=seed,
        n_splits=n_splits,
        n_boot=n_boot,
        level=level,
        interval=interval,
    )
    return _comparison(
        layers,
        target,
        per_subject,
        scored,
        target.ceiling_for(method),
        method,
        subjects_agree(target, method, n_permutations, seed),
        convention or ceiling_convention(method),
    )


def score_metric(
    layers: LayerRDMs | LayerKernels,
    target: TargetRDMs | TargetResponses,
    metric: Metric,
    *,
    n_splits: int = N_SPLITS,
    n_boot: int = N_BOOT,
    level: float = LEVEL,
    seed: int = 0,
    interval: str = "two-factor",
    n_permutations: int = N_PERMUTATIONS,
    convention: str = "",
) -> TargetComparison:
    """``layers`` on ``target`` by ``metric`` (:mod:`brainalign.metrics`): its ``(layers,
    subjects)`` scores, cross-validated over subjects like classical RSA's, with the two-factor
    interval from the same draws (stimulus resamples re-scored as the metric says), the metric's
    own ceiling, and the subjects' agreement tested on the target's RDMs (module docstring).
    Classical RSA is :func:`score_target`, exactly."""
    if isinstance(metric, ClassicalRSA):
        return score_target(
            layers,  # type: ignore[arg-type]
            target,  # type: ignore[arg-type]
            method=metric.method,
            n_splits=n_splits,
            n_boot=n_boot,
            level=level,
            seed=seed,
            interval=interval,
            n_permutations=n_permutations,
            convention=convention,
        )
    if interval != "two-factor":
        raise BrainAlignError(
            f"{metric_id(metric)} has the two-factor interval only, not {interval!r}"
        )
    if len(layers.depths) == 0:
        raise BrainAlignError("no layers to score")
    if len(target.subjects) < 2:
        raise BrainAlignError(
            f"{metric_id(metric)} needs a target with at least 2 subjects (its best layer is "
            f"chosen on half of them); {target.name} has one: score it with classical RSA"
        )
    scores = metric.score(layers, target, seed=seed)
    scored = cross_validate(
        scores.per_subject,
        target.subjects,
        target.stimulus_ids,
        lambda statistic, draws: two_factor_samples(scores, statistic, draws),
        seed=seed,
        n_splits=n_splits,
        n_boot=n_boot,
        level=level,
    )
    from_repeats = isinstance(metric, Encoding) and metric.ceiling_from_repeats(target)
    if from_repeats:
        agreement = repeats_agree(target, n_permutations, seed)  # type: ignore[arg-type]
    else:
        agreement = subjects_agree(
            target if isinstance(target, TargetRDMs) else target.as_rdms(AGREEMENT_DISTANCE),
            "spearman",
            n_permutations,
            seed,
        )
    comparison = _comparison(
        layers,
        target,
        scores.per_subject,
        scored,
        metric.ceiling(target, seed=seed),
        metric_id(metric),
        agreement,
        NCSNR_CONVENTION if from_repeats else convention or metric_ceiling_convention(metric),
    )
    return replace(comparison, reliability_test=REPEATS_TEST) if from_repeats else comparison


def metric_ceiling_convention(metric: Metric) -> str:
    """One line naming the ceiling a score by ``metric`` is divided by."""
    return (
        f"the {metric_id(metric)} ceiling: lower = each subject's target scored by the metric against the "
        "mean of the other subjects, upper = against the mean of all subjects (docs/metrics.md)"
    )


def _comparison(
    layers: LayerRDMs | LayerKernels,
    target: TargetRDMs | TargetResponses,
    per_subject: np.ndarray,
    scored: CrossValidatedScore,
    ceiling: NoiseCeiling | None,
    method: str,
    reliability: CeilingReliability | None,
    convention: str,
) -> TargetComparison:
    return TargetComparison(
        target=target.name,
        layers=tuple(layers.layers if isinstance(layers, LayerRDMs) else layers.names),
        depths=tuple(layers.depths),
        subjects=tuple(target.subjects),
        per_subject=per_subject,
        cv_value=scored.value,
        cv_ci=scored.ci,
        cv_choices=scored.choices,
        ceiling=ceiling,
        method=method,
        resampled=scored.resampled,
        n_splits=scored.n_splits,
        n_boot=scored.n_boot,
        two_factor=scored.two_factor,
        reliability=reliability,
        convention=convention,
    )


def subjects_agree(
    target: TargetRDMs, method: str, n_permutations: int, seed: int
) -> CeilingReliability:
    """:func:`brainalign.rsa.ceiling_reliability` of ``target``'s subjects, computed once for the
    same RDMs, comparison, permutations and seed and kept in the cache folder
    (:mod:`~brainalign.benchmarks.agreement_cache`): every model scored on a target, in any
    process, shares it. Stimuli are taken in the order of their ids (as the two-factor draws are),
    so the same data gives the same p whatever the order of its file's rows."""
    rdms = target.rdms.reorder(sorted(target.stimulus_ids)).data
    return cached_agreement(
        "ceiling_reliability",
        CEILING_RELIABILITY_VERSION,
        data_sha256([rdms]),
        method=method,
        n_permutations=n_permutations,
        seed=seed,
        compute=lambda: ceiling_reliability(rdms, method, n_perm=n_permutations, seed=seed),
    )


def repeats_agree(target: TargetResponses, n_permutations: int, seed: int) -> CeilingReliability:
    """:func:`brainalign.metrics.repeats_reliability` of ``target``'s repeats, computed once for
    the same responses, permutations and seed and kept in the cache folder (stimuli taken in the
    order of their ids, as for :func:`subjects_agree`)."""
    trials = target.reorder(sorted(target.stimulus_ids)).trials
    return cached_agreement(
        "repeats_reliability",
        REPEATS_RELIABILITY_VERSION,
        data_sha256(trials),
        method="repeats",
        n_permutations=n_permutations,
        seed=seed,
        compute=lambda: repeats_reliability(trials, n_perm=n_permutations, seed=seed),
    )


def benchmark_score(identifier: str, score: TargetComparison, **extra: Any) -> BenchmarkScore:
    """Wrap one target's score as the :class:`BenchmarkScore` of benchmark ``identifier``."""
    return BenchmarkScore(
        identifier, score.layerwise(), score.summary(), {**score.extra(), **extra}
    )
