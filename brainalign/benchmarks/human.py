"""The human RSA benchmarks: fMRI and behavioural RDMs from brainalign.neural_data, scored with
brainalign.benchmarks.scoring.

====================================== ============================================= =======
id                                     target                                        default
====================================== ============================================= =======
algonauts2019.92images.EVC / .IT       Cichy et al. 2014, 15 subjects, 92 objects    yes
algonauts2019.78images.EVC / .IT       Algonauts 2019 test set, 78 images            no (checksums unpinned)
kriegeskorte2008.hIT                   human IT, 4 subjects (2 sessions averaged)    yes
mur2013.judgements                     similarity judgements, 16 subjects            yes
algonauts2023.<ROI>                    NSD, 7 subjects, 872 shared images            no (registration)
====================================== ============================================= =======

Each is registered in every version of its metric (:data:`VERSION_INTERVALS`): ``@2`` (the
default) with the two-factor interval over subjects and stimuli, ``@1`` with the interval over
subjects only, kept so that results of version 1 stay reproducible. They are registered through
the entry point ``human`` of the group ``brainalign.benchmarks``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from ..bibtex import STUDY_BIBTEX, method_bibtex, suite_bibtex
from ..errors import BrainAlignError
from ..neural_data import algonauts2019, algonauts2023, kriegeskorte2008
from ..neural_data.catalogue import get_dataset
from ..neural_data.collection import NeuralData
from ..neural_data.locations import Location, bad_file_message, find, locate, not_found_message
from ..rsa import ALPHA, N_BOOT, N_PERMUTATIONS, LayerRDMs
from ..stimuli import StimulusSet
from .base import Availability, Benchmark, BenchmarkScore
from .scoring import (
    N_SPLITS,
    TWO_FACTOR_MEANING,
    benchmark_score,
    brain_measures,
    ceiling_convention,
    score_target,
)

Reader = Callable[[Path], NeuralData]

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
#: How each version's interval is made (the versions differ in nothing else). What each covers in
#: simulation is in docs/metrics.md: a result's texts hold definitions, not measurements.
INTERVAL_DEFINITIONS: dict[int, str] = {
    1: "Its interval: " + _SUBJECT_INTERVAL_DEFINITION,
    2: (
        f"Its interval: 95% two-factor bootstrap over subjects and stimuli ({N_BOOT} resamples, "
        "each drawing subjects and stimuli with replacement, pairs of stimuli weighted by how often "
        "both were drawn, self-pairs dropped, the cross-validation repeated on each). The variances "
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
        + _SUBJECT_INTERVAL_DEFINITION
    ),
}
_REST_DEFINITION = (
    " normalised = "
    "value / upper noise ceiling (intervals divided by the same ceiling). brain_similarity_max: "
    "the highest mean rho over subjects among all layers (layer chosen and scored on the same "
    "subjects, as in Opielka et al. 2024). noise_ceiling: leave-one-subject-out with Spearman; "
    "lower = mean rho of each subject's RDM with the mean RDM of the other subjects, upper = "
    "with the mean RDM of all subjects. reliable: whether the subjects agree more than chance - "
    f"the lower ceiling against its values in {N_PERMUTATIONS} seeded permutations that shuffle "
    "each subject's stimulus labels independently (one-sided, p = (1 + #null >= observed) / "
    f"(1 + permutations)), reliable if p < {ALPHA}; where not reliable, or with a single RDM, every "
    "normalised number is withheld (null) and normalised_withheld says why. Layerwise rows: rho "
    "of every layer with every subject."
)
#: The interval each version of the human benchmarks reports (scoring.INTERVALS).
VERSION_INTERVALS: dict[int, str] = {1: "subjects", 2: "two-factor"}
#: What each kind of interval resamples (the words results record, and bibtex.METHOD_BIBTEX's keys).
INTERVAL_RESAMPLES: dict[str, str] = {"subjects": "subjects", "two-factor": "subjects and stimuli"}
#: The newest version: `brainalign run` scores it; older ones stay computable, off the default set.
CURRENT_VERSION = max(VERSION_INTERVALS)


def scoring_definition(version: int) -> str:
    """The metric text of version ``version`` of every human benchmark."""
    return _COMMON_DEFINITION + INTERVAL_DEFINITIONS[version] + _REST_DEFINITION


class HumanRSABenchmark(Benchmark):
    """One target (an ROI or a behavioural task) of a registered data set, in one version of the
    metric (:data:`VERSION_INTERVALS`: the versions differ in what the interval resamples)."""

    comparison = "spearman"  # how layer RDMs are compared with the subjects' RDMs

    def __init__(
        self,
        *,
        id: str,
        title: str,
        description: str,
        target_definition: str,
        dataset: str,
        target: str,
        reader: Reader,
        default: bool = True,
        version: int = CURRENT_VERSION,
        ceiling_note: str = "",
    ) -> None:
        if version not in VERSION_INTERVALS:
            raise BrainAlignError(f"{id}: no version {version} (versions: {sorted(VERSION_INTERVALS)})")
        self._arguments: dict[str, Any] = {
            "id": id, "title": title, "description": description, "target_definition": target_definition,
            "dataset": dataset, "target": target, "reader": reader, "default": default,
            "ceiling_note": ceiling_note,
        }
        self.id = id
        self.version = version
        self.interval = VERSION_INTERVALS[version]
        self.title = title
        self.description = description
        self.metric = f"Target: {target_definition} {scoring_definition(version)}"
        self.dataset = dataset
        self.datasets = (dataset,)
        self.target = target
        self.measures = brain_measures(target, self.interval)
        self.default = default and version == CURRENT_VERSION
        self._reader = reader
        self.ceiling_note = ceiling_note  # how the data's own publication made its ceiling, if otherwise

    @property
    def ceiling_convention(self) -> str:
        """The ceiling convention this benchmark's results record (summary.noise_ceiling.convention)."""
        own = ceiling_convention(self.comparison)
        return f"{own}; {self.ceiling_note}" if self.ceiling_note else own

    def versions(self) -> tuple[HumanRSABenchmark, ...]:
        """This benchmark in every version of the metric (all are registered)."""
        return tuple(HumanRSABenchmark(**self._arguments, version=v) for v in sorted(VERSION_INTERVALS))

    @property
    def bibtex(self) -> str:  # type: ignore[override]
        """The data, the methods (RSA, the noise ceiling, this version's interval), the study and
        the suite."""
        methods = method_bibtex("rsa", "noise ceiling", INTERVAL_RESAMPLES[self.interval])
        return "\n\n".join([get_dataset(self.dataset).bibtex, methods, STUDY_BIBTEX, suite_bibtex()])

    @property
    def stimulus_set_name(self) -> str:
        return self.dataset

    # --- data -----------------------------------------------------------------------------------
    def availability(self, data_dir: Path | None) -> Availability:
        location = find(self.dataset, data_dir)
        dataset = get_dataset(self.dataset)
        fix = (f"brainalign data fetch {self.dataset}" if dataset.fetchable
               else f"see `brainalign data show {self.dataset}`")
        if location is None:
            return Availability(False, not_found_message(dataset, data_dir), fix)
        bad = [c for c in location.checks if not c.ok]
        if bad:
            return Availability(False, bad_file_message(dataset, location, bad), fix, damaged=True)
        return Availability(True)

    def load(self, data_dir: str | os.PathLike[str] | None = None) -> NeuralData:
        """The verified data set, parsed once per process and folder by every benchmark that
        shares its reader. The checksums of the data set's registered files are part of the key,
        so changed files are parsed again; a data set that registers no files (algonauts2023) is
        keyed by its folder only: restart the process after replacing its files."""
        location = locate(self.dataset, data_dir)
        return _read(self._reader, location.folder, _fingerprint(location))

    def stimulus_sets(self, data_dir: Path | None) -> dict[str, StimulusSet]:
        stimuli = self.load(data_dir).stimuli
        assert stimuli is not None  # every built-in reader returns its images
        return {self.stimulus_set_name: stimuli}

    def check_data(self, data_dir: Path | None) -> None:
        """Parse the data and its target (the loaders' rules: neural_data.collection) before any
        model runs; the parse is kept for scoring."""
        self.target_rdms(data_dir)

    def target_rdms(self, data_dir: str | os.PathLike[str] | None = None):
        data = self.load(data_dir)
        if self.target not in data.targets:
            skips = [s for s in data.skipped if s.target == self.target]
            # the target's own reason (no subject complete) says it all; else each subject's
            reasons = [str(s) for s in skips if not s.subject] or [str(s) for s in skips]
            why = (f" ({'; '.join(reasons)})" if reasons
                   else f" (the data has targets {', '.join(data.targets)})")
            raise BrainAlignError(
                f"{self.identifier}: target {self.target} has no data{why}; it cannot be scored"
            )
        return data.targets[self.target]

    # --- scoring --------------------------------------------------------------------------------
    def score(
        self,
        layers: Mapping[str, LayerRDMs],
        *,
        seed: int = 0,
        data_dir: str | os.PathLike[str] | None = None,
    ) -> BenchmarkScore:
        """Score the model's layer RDMs on :attr:`stimulus_set_name` (see :attr:`metric`).

        ``data_dir``: the local data folder (default ``BRAINALIGN_DATA``, then the cache).
        """
        if self.stimulus_set_name not in layers:
            raise BrainAlignError(
                f"{self.identifier} needs layer RDMs on stimulus set {self.stimulus_set_name!r}, "
                f"got {sorted(layers)}"
            )
        target = self.target_rdms(data_dir)
        result = score_target(layers[self.stimulus_set_name], target, method=self.comparison, seed=seed,
                              interval=self.interval, convention=self.ceiling_convention)
        extra: dict[str, Any] = {"dataset": self.dataset, "target": self.target}
        left_out = [str(s) for s in self.load(data_dir).skipped if s.target == self.target]
        if left_out:  # e.g. subjects with missing dissimilarities (neural_data.collection's rule)
            extra["left_out"] = left_out
        if "algonauts2019_noise_ceiling" in target.metadata:
            extra["algonauts2019_noise_ceiling"] = target.metadata["algonauts2019_noise_ceiling"]
        return benchmark_score(self.identifier, result, **extra)

    def provenance(self, data_dir: Path | None) -> dict[str, Any]:
        """``{data set: {file: sha256}}`` of the files actually read (where they were found is
        not recorded: the same bytes from the data folder or the cache give the same result)."""
        return {self.dataset: locate(self.dataset, data_dir).checksums()}


def _fingerprint(location: Location) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(location.checksums().items()))


@lru_cache(maxsize=8)
def _read(reader: Reader, folder: Path, fingerprint: tuple) -> NeuralData:
    """Benchmarks sharing a reader (EVC and IT; hIT and judgements) share one parse."""
    del fingerprint  # part of the cache key only: changed files are parsed again
    return reader(folder)


_ALGONAUTS2019_READERS: dict[int, Reader] = {
    images: partial(algonauts2019.read_algonauts2019_folder, images=images) for images in (92, 78)
}
#: Every ROI of the release (on the challenge release: :data:`~.algonauts2023.STUDY_ROIS`) in one
#: parse, shared by all ROI benchmarks: the release is large and each parse reads all of it.
_ALGONAUTS2023_READER: Reader = algonauts2023.read_algonauts2023_folder


# --- the registered benchmarks -----------------------------------------------------------------
#: How the Algonauts challenges' own ceilings differ from the one brainalign divides by.
ALGONAUTS2019_CEILING_NOTE = (
    "not the Algonauts 2019 challenge's convention (mean over subjects of the squared Spearman rho "
    "with the group mean RDM including the subject, which divided the challenge's squared-rho "
    "scores; recorded as extra.algonauts2019_noise_ceiling), so normalised numbers here are not "
    "the challenge's percentages of its ceiling"
)
ALGONAUTS2023_CEILING_NOTE = (
    "not the Algonauts 2023 challenge's convention (a noise ceiling per vertex from repeated "
    "trials, for encoding-model predictions), which does not apply to RDMs"
)
def _algonauts2019(images: int, roi: str, default: bool) -> HumanRSABenchmark:
    region = {"EVC": "early visual cortex (EVC)", "IT": "inferior temporal cortex (IT)"}[roi]
    test = " (the challenge's test set)" if images == 78 else ""
    unpinned = (" The source files' checksums are not pinned in brainalign's registry; results "
                "record the checksums of the files actually used.") if images == 78 else ""
    return HumanRSABenchmark(
        id=f"algonauts2019.{images}images.{roi}",
        title=f"Algonauts 2019, {images} images{test}: human fMRI, {roi}",
        description=(
            f"How well a model's layers match the representational geometry of human {region} "
            f"for {images} object images{test} (fMRI, Cichy et al. 2014; Algonauts 2019).{unpinned}"
        ),
        target_definition=(
            f"per-subject RDMs of {region} (1 - Pearson r of voxel patterns) for {images} images "
            f"(Algonauts 2019 release). The challenge's own ceiling (mean squared Spearman rho with "
            f"the group mean including the subject) is reported as extra.algonauts2019_noise_ceiling."
        ),
        dataset=algonauts2019.dataset_name(images),
        target=roi,
        reader=_ALGONAUTS2019_READERS[images],
        default=default,
        ceiling_note=ALGONAUTS2019_CEILING_NOTE,
    )


def _algonauts2023(roi: str) -> HumanRSABenchmark:
    name = "all cortical vertices of the challenge space" if roi == algonauts2023.ALL_VERTICES else roi
    return HumanRSABenchmark(
        id=f"algonauts2023.{roi}",
        title=f"Algonauts 2023 (NSD): {name}",
        description=(
            f"How well a model's layers match human fMRI responses in {name} to natural scenes "
            "(Natural Scenes Dataset via Algonauts 2023), the brain analysis of Opielka et al. 2024."
        ),
        target_definition=(
            f"per-subject RDMs of {name} for the images shared by subjects 1-6 and 8 (872 in the "
            "challenge release): cosine distance between vertex response patterns, computed per "
            "hemisphere and averaged over the two; a subject without vertices of the ROI in a "
            "hemisphere is left out."
        ),
        dataset=algonauts2023.DATASET,
        target=roi,
        reader=_ALGONAUTS2023_READER,
        default=False,
        ceiling_note=ALGONAUTS2023_CEILING_NOTE,
    )


_TARGETS: tuple[HumanRSABenchmark, ...] = (
    _algonauts2019(92, "EVC", True),
    _algonauts2019(92, "IT", True),
    _algonauts2019(78, "EVC", False),
    _algonauts2019(78, "IT", False),
    HumanRSABenchmark(
        id="kriegeskorte2008.hIT",
        title="Kriegeskorte et al. 2008: human IT fMRI, 92 objects",
        description=(
            "How well a model's layers match the representational geometry of human inferior "
            "temporal cortex for the 92 object images (Kriegeskorte et al. 2008), images on grey."
        ),
        target_definition=(
            "per-subject human IT RDMs (1 - Pearson r) of 4 subjects; each subject's RDM is the "
            "mean of its two session RDMs (rsatoolbox demos/92imageData)."
        ),
        dataset=kriegeskorte2008.DATASET,
        target="hIT",
        reader=kriegeskorte2008.read_kriegeskorte2008_folder,
    ),
    HumanRSABenchmark(
        id="mur2013.judgements",
        title="Mur et al. 2013: human similarity judgements, 92 objects",
        description=(
            "How well a model's layers match how similar people judge the 92 object images to be "
            "(multi-arrangement; Mur et al. 2013), a behavioural target."
        ),
        target_definition=(
            "per-subject dissimilarity-judgement RDMs of 16 subjects (multi-arrangement task, "
            "rsatoolbox demos/92imageData), on the grey-background images of Kriegeskorte et al. 2008."
        ),
        dataset=kriegeskorte2008.DATASET,
        target="judgements",
        reader=kriegeskorte2008.read_kriegeskorte2008_folder,
    ),
    *(_algonauts2023(roi) for roi in algonauts2023.STUDY_ROIS),
)
#: Every target in every version: ``get(id)`` gives the newest, ``id@1`` the subject-only interval.
BENCHMARKS: tuple[HumanRSABenchmark, ...] = tuple(
    version for benchmark in _TARGETS for version in benchmark.versions()
)
