"""A benchmark declared, not programmed: *data* (a stimulus set and per-subject targets), *a
metric* (classical RSA unless it names another) and the metric's *ceiling*.

Everything a :class:`~brainalign.benchmarks.base.Benchmark` must say follows from the
declaration: :meth:`~DeclaredBenchmark.stimulus_sets`, :meth:`~DeclaredBenchmark.score`, the
``measures``, the ``metric`` definition, :meth:`~DeclaredBenchmark.availability` and
:meth:`~DeclaredBenchmark.provenance`. A declaration gives its texts, the ``target`` it scores and
:meth:`~DeclaredBenchmark.data` (a :class:`~brainalign.neural_data.collection.NeuralData`, e.g.
from one of brainalign.neural_data's loaders), and where its files lie
(:meth:`~DeclaredBenchmark.folder`) so that availability and checksums need no code::

    class ShapeJudgements(DeclaredBenchmark):
        id, version, target, metric = "toylab.shapes", 1, "judgements", "rsa"
        title, description, bibtex = ..., ..., ...
        fix = "ask Toy Lab for the data and put it in DATA_DIR/toylab_shapes"

        def folder(self, data_dir):
            return Path(data_dir or ".") / "toylab_shapes"

        def data(self, data_dir):
            folder = self.folder(data_dir)
            return load_npy(folder / "judgements.npy", folder / "images", name="judgements")

``metric`` is declared as a metric's name (``"wrsa"``) or id (``"wrsa@1"``, see
:mod:`~brainalign.benchmarks.metric_registry`); once declared, ``benchmark.metric`` is the exact
definition of every number the benchmark reports (what results record and `brainalign benchmarks
ID` prints), ``benchmark.metric_id`` the metric's ``name@version`` and ``benchmark.layers_as``
what its score takes of each layer (``"rdms"``: layer RDMs; ``"kernels"``: the layers' Gram
matrices, :class:`brainalign.metrics.LayerKernels`).

A target may be per-subject RDMs or per-subject **responses**
(:class:`brainalign.metrics.TargetResponses`, e.g. from
:func:`brainalign.neural_data.load_responses`). The encoding and CKA metrics score responses as
they are; classical and feature-reweighted RSA (and a plugin metric that does not declare
``takes_responses``) compare RDMs, so they are handed each subject's RDM of its responses averaged
over repeats, by ``response_distance`` (default ``"correlation"``, the usual fMRI RSA), and the
benchmark's definition and results say so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from hashlib import sha256
from pathlib import Path
from typing import Any

from ..errors import BrainAlignError
from ..metrics import (
    ClassicalRSA,
    LayerKernels,
    Metric,
    TargetResponses,
    metric_id,
    takes_responses,
)
from ..neural_data.collection import NeuralData, Target
from ..rsa import ALPHA, N_BOOT, N_PERMUTATIONS, LayerRDMs, TargetRDMs
from ..rsa.dissimilarity import DISTANCES
from ..stimuli import StimulusSet
from .base import Availability, Benchmark, BenchmarkScore
from .metric_registry import DEFAULT_METRIC, get_metric
from .scoring import (
    N_SPLITS,
    TWO_FACTOR_MEANING,
    benchmark_score,
    brain_measures,
    ceiling_convention,
    metric_ceiling_convention,
    score_metric,
)

#: What each kind of interval resamples (the words results record, and bibtex.METHOD_BIBTEX's keys).
INTERVAL_RESAMPLES: dict[str, str] = {"subjects": "subjects", "two-factor": "subjects and stimuli"}

_COMMON_DEFINITION = (
    "Each layer's RDM (on this benchmark's stimuli, matched by stimulus id; cosine distance by "
    "default) is compared with each subject's RDM by Spearman's rho over the upper triangle. "
    f"brain_similarity: the cross-validated best layer - in each of {N_SPLITS} seeded random "
    "splits of the subjects into halves (floor(S/2) subjects and the rest), the layer with the "
    "highest mean rho over one half is scored by its mean rho over the other half, in both "
    "directions; equivalently each subject's rho at the layer chosen on the other half, averaged "
    "over subjects and splits. "
)
_SUBJECT_INTERVAL_DEFINITION = (
    "95% expanded percentile bootstrap over subjects "
    f"({N_BOOT} resamples, the cross-validation repeated on each; Hesterberg's expansion for few "
    "subjects, whose plain percentile interval is far too narrow). It holds the stimuli fixed: it "
    "is about new subjects seeing these images, not new images."
)
_TWO_FACTOR_VARIANCE = (
    "The variances "
    "of the bootstraps over subjects only (V_s), stimuli only (V_p) and both (V_b), all from the "
    "same draws, are combined as in Schuett et al. 2023 (eLife 12:e82566): V = S/(S-1) V_s + "
    "n/(n-1) V_p - S n/((S-1)(n-1)) (V_b - V_s - V_p), bounded above by V_b and below by "
    "S/(S-1) V_s only (which also replaces a negative V): the two-factor bootstrap variance "
    "floored at the subjects' share. Unlike rsatoolbox's eval_dual_bootstrap it is not floored "
    "at the stimuli's share n/(n-1) V_p (recorded as extra.two_factor.variance_stimulus_floor). "
    "The interval is the score +- t * sqrt(V), t "
    "with Welch-Satterthwaite degrees of freedom (S/(S-1) V_s on S-1, the rest on n-1). It is "
    "about new subjects and new images of the same kind and number. What it means: "
    f"{TWO_FACTOR_MEANING} "
    "The normalised interval divides by the upper ceiling held "
    "fixed. subjects_ci_low/high: the subject-only interval of version 1 from the same draws, "
)
#: How each kind of interval is made (classical RSA; the texts results of the human benchmarks carry).
INTERVAL_DEFINITIONS: dict[str, str] = {
    "subjects": "Its interval: " + _SUBJECT_INTERVAL_DEFINITION,
    "two-factor": (
        f"Its interval: 95% two-factor bootstrap over subjects and stimuli ({N_BOOT} resamples, "
        "each drawing subjects and stimuli with replacement, pairs of stimuli weighted by how often "
        "both were drawn, self-pairs dropped, the cross-validation repeated on each). "
        + _TWO_FACTOR_VARIANCE
        + _SUBJECT_INTERVAL_DEFINITION
    ),
}
_RELIABLE = (
    f"reliable: whether the subjects agree more than chance - the lower ceiling against its values in "
    f"{N_PERMUTATIONS} seeded permutations that shuffle "
    "each subject's stimulus labels independently (one-sided, p = (1 + #null >= observed) / "
    f"(1 + permutations)), reliable if p < {ALPHA}; where not reliable, or with a single RDM, every "
    "normalised number is withheld (null) and normalised_withheld says why."
)
_REST_DEFINITION = (
    " normalised = "
    "value / upper noise ceiling (intervals divided by the same ceiling). brain_similarity_max: "
    "the highest mean rho over subjects among all layers (layer chosen and scored on the same "
    "subjects, as in Opielka et al. 2024). noise_ceiling: leave-one-subject-out with Spearman; "
    "lower = mean rho of each subject's RDM with the mean RDM of the other subjects, upper = "
    "with the mean RDM of all subjects. "
    + _RELIABLE
    + " Layerwise rows: rho of every layer with every subject."
)


def rsa_definition(interval: str) -> str:
    """The metric text of classical RSA with ``interval`` (what the human benchmarks record)."""
    return _COMMON_DEFINITION + INTERVAL_DEFINITIONS[interval] + _REST_DEFINITION


def metric_definition(metric: Metric) -> str:
    """The metric text of a benchmark scored by ``metric`` other than classical RSA."""
    return (
        f"Metric {metric_id(metric)}: {metric.definition} brain_similarity: the cross-validated best layer - "
        f"in each of {N_SPLITS} seeded random splits of the subjects into halves, the layer with the highest "
        "mean score over one half is scored by its mean score over the other half, in both directions, "
        "averaged over subjects and splits. "
        f"Its interval: 95% two-factor bootstrap over subjects and stimuli ({N_BOOT} resamples, each "
        f"drawing subjects and stimuli with replacement; {metric.resampling}; the cross-validation "
        f"repeated on each). {_TWO_FACTOR_VARIANCE}"
        f"{_SUBJECT_INTERVAL_DEFINITION} normalised = value / the metric's upper noise ceiling. "
        "brain_similarity_max: the highest mean score over subjects among all layers (optimistic). "
        f"noise_ceiling: the metric's own (its definition above). {_RELIABLE.replace('the lower ceiling', 'the lower leave-one-subject-out Spearman ceiling of the target RDMs')} "
        "Layerwise rows: the score of every layer with every subject."
    )


class DeclaredBenchmark(Benchmark):
    """A benchmark of a stimulus set, per-subject targets and a metric (module docstring)."""

    target: str = ""  # the scored target's name in data().targets ("": the only one)
    metric: str = DEFAULT_METRIC  # declared: a metric name or id; once declared: its definition
    comparison: str = "spearman"  # how classical RSA compares RDMs (its ceiling too)
    interval: str = "two-factor"  # classical RSA only: "two-factor" or "subjects"
    target_definition: str = ""  # what the target's numbers are, for the definition
    ceiling_note: str = ""  # how the data's own publication made its ceiling, where otherwise
    fix: str = ""  # how a user gets the data, when it is absent
    response_distance: str = "correlation"  # RDMs of a response target, for metrics of RDMs
    default: bool = False

    def __init__(self, **declared: Any) -> None:
        for name, value in declared.items():
            setattr(self, name, value)
        self.declare()

    def declare(self) -> None:
        """Derive the metric, its definition and the measures from the declaration."""
        chosen = self.metric
        if not isinstance(chosen, str):
            raise BrainAlignError(
                f"{self.id}: metric must be a metric's name, e.g. 'rsa' or 'wrsa'"
            )
        name = chosen.partition("@")[0]
        self.scored_with: Metric = (
            ClassicalRSA(self.comparison) if name == "rsa" else get_metric(chosen)
        )
        if name == "rsa" and chosen not in ("rsa", metric_id(self.scored_with)):
            get_metric(chosen)  # an unknown version: one error saying which there is
        self.metric_id = metric_id(self.scored_with)
        self.layers_as = self.scored_with.layers_as
        classical = isinstance(self.scored_with, ClassicalRSA)
        if not classical and self.interval != "two-factor":
            raise BrainAlignError(f"{self.id}: {self.metric_id} has the two-factor interval only")
        if self.response_distance not in DISTANCES:
            raise BrainAlignError(
                f"{self.id}: response_distance {self.response_distance!r} is not one of "
                f"{', '.join(DISTANCES)}"
            )
        rule = rsa_definition(self.interval) if classical else metric_definition(self.scored_with)
        self.metric = f"Target: {self.target_definition or f'{self.target}.'} {rule}"
        self.measures = brain_measures(
            self.target, self.interval, metric=None if classical else self.metric_id
        )

    # --- what a declaration gives -------------------------------------------------------------
    def data(self, data_dir: Path | None) -> NeuralData:
        """The stimuli and the per-subject targets (brainalign.neural_data's loaders)."""
        raise NotImplementedError(f"{type(self).__name__} declares no data()")

    def folder(self, data_dir: Path | None) -> Path | None:
        """The folder of the data's files (for availability and checksums); None: not known."""
        return None

    @property
    def stimulus_set_name(self) -> str:
        """The name its layers are extracted under (the first data set it reads, else its id)."""
        return self.datasets[0] if self.datasets else self.id

    @property
    def ceiling_convention(self) -> str:
        """The ceiling convention this benchmark's results record (summary.noise_ceiling.convention)."""
        if isinstance(self.scored_with, ClassicalRSA):
            own = ceiling_convention(self.comparison)
        else:
            own = metric_ceiling_convention(self.scored_with)
        return f"{own}; {self.ceiling_note}" if self.ceiling_note else own

    # --- what follows from it ----------------------------------------------------------------
    def load(self, data_dir: str | os.PathLike[str] | None = None) -> NeuralData:
        """:meth:`data`, read once per folder by this object."""
        cache: dict[Any, NeuralData] = self.__dict__.setdefault("_loaded", {})
        key = None if data_dir is None else Path(data_dir)
        if key not in cache:
            cache[key] = self.data(key)
        return cache[key]

    def availability(self, data_dir: Path | None) -> Availability:
        folder = self.folder(data_dir)
        if folder is not None and not folder.exists():
            return Availability(False, f"{folder} does not exist", self.fix)
        try:
            self.load(data_dir)
        except (BrainAlignError, OSError) as err:
            return Availability(False, str(err), self.fix)
        return Availability(True)

    def stimulus_sets(self, data_dir: Path | None) -> dict[str, StimulusSet]:
        stimuli = self.load(data_dir).stimuli
        if stimuli is None:
            raise BrainAlignError(f"{self.identifier}: its data() gives no stimuli")
        return {self.stimulus_set_name: stimuli}

    def check_data(self, data_dir: Path | None) -> None:
        """Parse the data and its target before any model runs (the parse is kept for scoring)."""
        self.stimulus_sets(data_dir)
        target = self.target_rdms(data_dir)
        if not isinstance(self.scored_with, ClassicalRSA) and len(target.subjects) < 2:
            raise BrainAlignError(
                f"{self.identifier}: {self.metric_id} chooses the best layer on half of the "
                f'subjects, and target {target.name} has one; score it with metric = "rsa"'
            )

    def target_rdms(self, data_dir: str | os.PathLike[str] | None = None) -> Target:
        """The declared target as the data holds it: per-subject RDMs
        (:class:`~brainalign.rsa.TargetRDMs`) or responses (:class:`~brainalign.metrics.TargetResponses`)."""
        data = self.load(data_dir)
        name = self.target or (next(iter(data.targets)) if len(data.targets) == 1 else "")
        if name not in data.targets:
            skips = [s for s in data.skipped if s.target == self.target]
            # the target's own reason (no subject complete) says it all; else each subject's
            reasons = [str(s) for s in skips if not s.subject] or [str(s) for s in skips]
            why = (
                f" ({'; '.join(reasons)})"
                if reasons
                else f" (the data has targets {', '.join(data.targets)})"
            )
            raise BrainAlignError(
                f"{self.identifier}: target {self.target} has no data{why}; it cannot be scored"
            )
        return data.targets[name]

    def scored_target(self, data_dir: str | os.PathLike[str] | None = None) -> Target:
        """The target as the metric scores it: responses turned into each subject's RDM (by
        :attr:`response_distance`, of the responses averaged over repeats) for a metric of RDMs;
        else the target as the data holds it."""
        target = self.target_rdms(data_dir)
        if isinstance(target, TargetResponses) and not takes_responses(self.scored_with):
            cache: dict[Any, TargetRDMs] = self.__dict__.setdefault("_as_rdms", {})
            if id(target) not in cache:
                cache.clear()
                cache[id(target)] = target.as_rdms(self.response_distance, self.comparison)
            return cache[id(target)]
        return target

    def target_record(self, data_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
        """What the target was, for results: RDMs (their distance) or responses (units and repeats
        per subject, and the distance of the RDMs made of them, where the metric compares RDMs)."""
        target = self.target_rdms(data_dir)
        if isinstance(target, TargetResponses):
            record: dict[str, Any] = {
                "kind": "responses",
                "units": target.units,
                "repeats": target.repeats,
            }
            if not takes_responses(self.scored_with):
                record["rdm_distance"] = self.response_distance
            return record
        return {"kind": "rdms", "distance": target.rdms.distance}

    def score(
        self,
        layers: Mapping[str, Any],
        *,
        seed: int = 0,
        data_dir: str | os.PathLike[str] | None = None,
    ) -> BenchmarkScore:
        """Score the model's layers on :attr:`stimulus_set_name` by the declared metric (see
        :attr:`metric`); ``data_dir``: the local data folder."""
        name = self.stimulus_set_name
        if name not in layers:
            what = "RDMs" if self.layers_as == "rdms" else "kernels"
            raise BrainAlignError(
                f"{self.identifier} needs layer {what} on stimulus set {name!r}, "
                f"got {sorted(layers)}"
            )
        wanted = LayerKernels if self.layers_as == "kernels" else LayerRDMs
        if not isinstance(layers[name], wanted):
            raise BrainAlignError(
                f"{self.identifier} ({self.metric_id}) scores layer {self.layers_as} "
                f"({wanted.__name__}), not {type(layers[name]).__name__}"
            )
        target = self.scored_target(data_dir)
        scored = score_metric(
            layers[name],
            target,
            self.scored_with,
            seed=seed,
            interval=self.interval,
            convention=self.ceiling_convention,
        )
        extra: dict[str, Any] = {"dataset": name, "target": self.target}
        if isinstance(self.target_rdms(data_dir), TargetResponses):
            extra["target_data"] = self.target_record(data_dir)
        if not isinstance(self.scored_with, ClassicalRSA):
            extra["metric"] = self.metric_id
        if isinstance(layers[name], LayerKernels) and any(
            k.gram_matrix is None for k in layers[name].kernels
        ):
            extra["approximate"] = (
                "the layers' kernels are seeded count sketches of their activations (too many "
                "stimuli for exact Gram matrices): the numbers are approximations"
            )
        left_out = [str(s) for s in self.load(data_dir).skipped if s.target == self.target]
        if left_out:  # e.g. subjects with missing dissimilarities (neural_data.collection's rule)
            extra["left_out"] = left_out
        if isinstance(target, TargetRDMs) and "algonauts2019_noise_ceiling" in target.metadata:
            extra["algonauts2019_noise_ceiling"] = target.metadata["algonauts2019_noise_ceiling"]
        return benchmark_score(self.identifier, scored, **extra)

    def provenance(self, data_dir: Path | None) -> dict[str, Any]:
        """``{data set: {file: sha256}}`` of every file in :meth:`folder` (paths relative to it)."""
        folder = self.folder(data_dir)
        if folder is None:
            return {}
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        return {
            self.stimulus_set_name: {
                p.relative_to(folder).as_posix(): sha256(p.read_bytes()).hexdigest() for p in files
            }
        }
