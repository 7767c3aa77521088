"""The cross-validated best layer of a ``(layers, subjects)`` score table and its intervals: pure
maths on arrays, for any metric that scores every layer against every subject (classical RSA,
:mod:`brainalign.metrics`).

1. **Cross-validated best layer** (:func:`cv_over_subjects`): split the subjects at random into
   halves A and B (``|A|`` = ⌊S/2⌋); pick the layer with the highest mean score over A and take its
   mean over B, and the same with A and B swapped; average over seeded splits. With a single RDM,
   halves of the *stimuli* play that role (:func:`cv_over_stimuli`, RSA only).
2. **Intervals** (:func:`cross_validate`): ``"two-factor"``, one set of seeded draws resampling
   subjects, stimuli and both, combined by :func:`brainalign.rsa.inference.two_factor_interval`,
   with the subject-only interval beside it; or ``"subjects"``, an expanded percentile interval
   over subject resamples. Every subject resample repeats the whole cross-validation with the
   same splits of the original subjects (copies stay in their original's half).

Every random choice comes from ``seed`` (spawned as splits, subject draws, stimulus draws, in
that order); the same inputs give bit-identical numbers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import BrainAlignError
from .comparison import compare
from .dissimilarity import n_stimuli_from_pairs
from .inference import (
    LEVEL,
    N_BOOT,
    SubjectStatistic,
    TwoFactorDraws,
    TwoFactorSamples,
    TwoFactorVariance,
    bootstrap_stimuli,
    expanded_percentile_interval,
    percentile_interval,
    resampled_pairs,
    two_factor_interval,
    two_factor_variance,
)

N_SPLITS = 100
STIMULUS_SPLITS = 20
#: What the score's interval can resample.
INTERVALS: tuple[str, ...] = ("two-factor", "subjects")
#: The two-factor bootstrap of a statistic of the score table from one set of draws (classical
#: RSA: :func:`brainalign.rsa.bootstrap_two_factor`; other metrics: ``metrics.two_factor_samples``).
Bootstrap = Callable[[SubjectStatistic, TwoFactorDraws], TwoFactorSamples]


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
class CrossValidatedScore:
    """The cross-validated best layer's score, its interval and how both were made."""

    value: float
    ci: tuple[float, float]
    choices: tuple[int, ...]  # the layer index chosen in each half-split
    resampled: str  # "subjects and stimuli", "subjects" or "stimuli"
    n_splits: int
    n_boot: int
    two_factor: TwoFactorRecord | None = None


def cross_validate(
    per_subject: np.ndarray,
    subjects: Sequence[str],
    stimulus_ids: Sequence[str],
    bootstrap: Bootstrap,
    *,
    seed: int = 0,
    n_splits: int = N_SPLITS,
    n_boot: int = N_BOOT,
    level: float = LEVEL,
    interval: str = "two-factor",
) -> CrossValidatedScore:
    """The cross-validated best layer of ``per_subject`` ``(layers, subjects)`` (two subjects or
    more) with its ``interval``; ``bootstrap`` re-scores it on the draws of the two-factor one."""
    if interval not in INTERVALS:
        raise BrainAlignError(
            f"unknown interval {interval!r}; choose one of {', '.join(INTERVALS)}"
        )
    n = len(subjects)
    if n < 2:
        raise BrainAlignError("cross-validating over subjects needs at least 2 subjects")
    split_seed, boot_seed, stimulus_seed = np.random.SeedSequence(seed).spawn(3)
    masks = subject_halves(n, n_splits, np.random.default_rng(split_seed))
    value, choices = cv_over_subjects(per_subject, masks)
    record = None
    if interval == "two-factor":
        record = two_factor_record(
            lambda table, sample: cv_over_subjects(table, masks, sample)[0],
            bootstrap,
            subjects,
            stimulus_ids,
            n_boot,
            boot_seed,
            stimulus_seed,
            level,
        )
        resampled = "subjects and stimuli"
    else:
        rng = np.random.default_rng(boot_seed)
        samples = np.array(
            [
                cv_over_subjects(per_subject, masks, rng.integers(0, n, size=n))[0]
                for _ in range(n_boot)
            ]
        )
        resampled = "subjects"
    ci: tuple[float, float]
    if not n_boot or not np.isfinite(value):
        ci = (np.nan, np.nan)  # an undefined score has no interval (not one of its resamples')
        if record is not None:
            record = dataclasses.replace(record, subjects_ci=(np.nan, np.nan))
    elif record is not None:
        low, high, _ = two_factor_interval(value, record.samples, n, record.n_stimuli, level)
        ci = (float(low), float(high))
    else:
        ci = _floats(expanded_percentile_interval(samples, n, level))
    return CrossValidatedScore(
        float(value), ci, tuple(int(c) for c in choices), resampled, n_splits, n_boot, record
    )


def cross_validate_one_rdm(
    model: np.ndarray,
    target: np.ndarray,
    method: str,
    *,
    seed: int = 0,
    n_splits: int = N_SPLITS,
    n_boot: int = N_BOOT,
    level: float = LEVEL,
) -> CrossValidatedScore:
    """Classical RSA of layer RDMs ``model`` against a single RDM ``target`` ``(1, pairs)``: halves
    of the stimuli pick and test the layer (:data:`STIMULUS_SPLITS` splits at most); the interval
    is the percentile bootstrap over stimuli of the layer chosen most often (the choice itself is
    not resampled)."""
    split_seed, boot_seed, _ = np.random.SeedSequence(seed).spawn(3)
    splits = min(n_splits, STIMULUS_SPLITS)
    value, choices = cv_over_stimuli(
        model, target, method, splits, np.random.default_rng(split_seed)
    )
    modal = Counter(choices.tolist()).most_common(1)[0][0]  # ties: the first chosen of them
    samples = bootstrap_stimuli(
        model[modal],
        target,
        method=method,
        n_boot=n_boot,
        seed=int(np.random.default_rng(boot_seed).integers(2**31)),
    )[:, 0, 0]
    ci = (
        (np.nan, np.nan)
        if not n_boot or not np.isfinite(value)
        else _floats(percentile_interval(samples, level))
    )
    return CrossValidatedScore(
        float(value), ci, tuple(int(c) for c in choices), "stimuli", splits, n_boot
    )


def two_factor_record(
    statistic: SubjectStatistic,
    bootstrap: Bootstrap,
    subjects: Sequence[str],
    stimulus_ids: Sequence[str],
    n_boot: int,
    subject_seed: np.random.SeedSequence,
    stimulus_seed: np.random.SeedSequence,
    level: float,
) -> TwoFactorRecord:
    """The three bootstraps of ``statistic`` from one set of draws (the subject draws are those of
    the subject-only interval, so that interval is reported unchanged beside it)."""
    n_subjects, n_stimuli = len(subjects), len(stimulus_ids)
    draws = TwoFactorDraws.draw(n_subjects, n_stimuli, n_boot, subject_seed, stimulus_seed)
    # Stimuli are drawn in the order of their ids (matched by id, never by position): the same
    # data gives the same interval whatever the order of its file's rows.
    by_id = np.argsort(np.asarray(stimulus_ids, dtype=str), kind="stable")
    draws = dataclasses.replace(draws, stimulus_counts=draws.stimulus_counts[:, np.argsort(by_id)])
    samples = bootstrap(statistic, draws)
    variance = two_factor_variance(samples, n_subjects, n_stimuli)
    subjects_ci = (
        _floats(expanded_percentile_interval(samples.subjects, n_subjects, level))
        if n_boot
        else (np.nan, np.nan)
    )
    identity = json.dumps([list(subjects), list(stimulus_ids)]).encode()
    digest = hashlib.sha256(identity + draws.digest().encode()).hexdigest()
    return TwoFactorRecord(variance, subjects_ci, samples, digest, n_stimuli)


def _floats(bounds: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    """An interval's two scalar bounds as Python floats."""
    low, high = bounds
    return float(low), float(high)


def subject_halves(n_subjects: int, n_splits: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_splits, n_subjects)`` boolean masks of half A (⌊n/2⌋ subjects) of each random split."""
    masks = np.zeros((n_splits, n_subjects), dtype=bool)
    for k in range(n_splits):
        masks[k, rng.permutation(n_subjects)[: n_subjects // 2]] = True
    return masks


def cv_over_subjects(
    per_subject: np.ndarray, masks: np.ndarray, sample: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Each subject's score at the layer chosen (highest mean score) on the other half of the
    split, averaged over subjects and splits: every subject is held out once per split.

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
    pick_a = best_layers(per_subject @ (in_a / count_a[keep, None]).T)  # (kept splits,)
    pick_b = best_layers(per_subject @ (in_b / count_b[keep, None]).T)
    held_out = (per_subject[pick_a] * in_b).sum() + (per_subject[pick_b] * in_a).sum()
    return float(held_out / in_a.size), np.concatenate([pick_a, pick_b])


def cv_over_stimuli(
    model: np.ndarray, target: np.ndarray, method: str, n_splits: int, rng: np.random.Generator
) -> tuple[float, np.ndarray]:
    """The same with one target RDM: halves of the stimuli, the comparison on the pairs within
    each half."""
    n = n_stimuli_from_pairs(model.shape[1])
    if n < 8:
        raise BrainAlignError(f"cross-validating over stimuli needs at least 8 stimuli, not {n}")
    held_out, choices = [], []
    for _ in range(n_splits):
        order = rng.permutation(n)
        halves = [np.sort(order[: n // 2]), np.sort(order[n // 2 :])]
        rho = [
            compare(model[:, resampled_pairs(h, n)], target[:, resampled_pairs(h, n)], method)
            for h in halves
        ]
        for pick_on, test_on in ((0, 1), (1, 0)):
            layer = best_layers(rho[pick_on])[0]
            held_out.append(rho[test_on][layer, 0])
            choices.append(layer)
    return float(np.mean(held_out)), np.array(choices)


def best_layers(values: np.ndarray) -> np.ndarray:
    """Column-wise argmax ignoring NaN (a constant layer RDM has no score); all-NaN → 0."""
    return np.argmax(np.where(np.isnan(values), -np.inf, values), axis=0)
