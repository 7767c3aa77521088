"""The human benchmarks: fMRI and behavioural RDMs from brainalign.neural_data, scored with
brainalign.benchmarks.scoring by classical RSA (and the 92-image fMRI targets by every metric).

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
subjects only, kept so that results of version 1 stay reproducible. The 92-image fMRI targets are
also scored by every metric of :data:`OTHER_METRICS`, each a benchmark of its own whose id names
the metric (``algonauts2019.92images.IT.wrsa@1``: version = the metric's). Each is a declaration
(:class:`~brainalign.benchmarks.declared.DeclaredBenchmark`) whose data come from the catalogue.
They are registered through the entry point ``human`` of the group ``brainalign.benchmarks``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, TypedDict

from ..bibtex import STUDY_BIBTEX, method_bibtex, suite_bibtex
from ..errors import BrainAlignError
from ..metrics import ClassicalRSA
from ..neural_data import algonauts2019, algonauts2023, kriegeskorte2008
from ..neural_data.catalogue import get_dataset
from ..neural_data.collection import NeuralData
from ..neural_data.locations import Location, bad_file_message, find, locate, not_found_message
from .base import Availability
from .declared import INTERVAL_RESAMPLES, DeclaredBenchmark, rsa_definition
from .metric_registry import DEFAULT_METRIC

Reader = Callable[[Path], NeuralData]

#: The interval each version of the human benchmarks reports (rsa.crossvalidation.INTERVALS).
VERSION_INTERVALS: dict[int, str] = {1: "subjects", 2: "two-factor"}
#: The newest version: `brainalign run` scores it; older ones stay computable, off the default set.
CURRENT_VERSION = max(VERSION_INTERVALS)
#: The metrics beside classical RSA that the default run scores on the 92-image fMRI targets, each
#: as a benchmark of its own: ``<id>.<metric>@<the metric's version>``.
OTHER_METRICS: tuple[str, ...] = ("wrsa", "cka", "encoding")
#: How each metric's method is cited (bibtex.METHOD_BIBTEX keys).
_METHOD_CITATIONS = {"rsa": "rsa", "wrsa": "wrsa", "cka": "cka", "encoding": "encoding"}


class _Declaration(TypedDict):
    """What a human benchmark was declared with, beside its version and metric."""

    id: str
    title: str
    description: str
    target_definition: str
    dataset: str
    target: str
    reader: Reader
    default: bool
    ceiling_note: str


def scoring_definition(version: int) -> str:
    """The metric text of version ``version`` of every human benchmark."""
    return rsa_definition(VERSION_INTERVALS[version])


class HumanBenchmark(DeclaredBenchmark):
    """One target (an ROI or a behavioural task) of a registered data set, declared: its data
    come from brainalign.neural_data's catalogue. With classical RSA (``metric="rsa"``) it exists in
    every version of :data:`VERSION_INTERVALS` (they differ in what the interval resamples); with
    another metric its id names the metric (``<id>.<metric>``) and its version is the metric's."""

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
        metric: str = DEFAULT_METRIC,
    ) -> None:
        self._arguments: _Declaration = {
            "id": id,
            "title": title,
            "description": description,
            "target_definition": target_definition,
            "dataset": dataset,
            "target": target,
            "reader": reader,
            "default": default,
            "ceiling_note": ceiling_note,
        }
        self.dataset = dataset
        self._reader = reader
        if metric == DEFAULT_METRIC:
            if version not in VERSION_INTERVALS:
                raise BrainAlignError(
                    f"{id}: no version {version} (versions: {sorted(VERSION_INTERVALS)})"
                )
            super().__init__(
                id=id,
                version=version,
                interval=VERSION_INTERVALS[version],
                title=title,
                description=description,
                target_definition=target_definition,
                datasets=(dataset,),
                target=target,
                default=default and version == CURRENT_VERSION,
                ceiling_note=ceiling_note,
                metric=metric,
            )
        else:
            super().__init__(
                id=id,
                version=0,
                title=title,
                description=description,
                target_definition=target_definition,
                datasets=(dataset,),
                target=target,
                default=default,
                ceiling_note=ceiling_note,
                metric=metric,
            )
            self.id = f"{id}.{self.scored_with.name}"
            self.version = self.scored_with.version
            self.title = f"{title} ({self.metric_id})"

    def versions(self) -> tuple[HumanBenchmark, ...]:
        """This benchmark in every version of classical RSA (all are registered)."""
        return tuple(
            HumanBenchmark(**self._arguments, version=v) for v in sorted(VERSION_INTERVALS)
        )

    def scored_by(self, metric: str) -> HumanBenchmark:
        """The same target scored by ``metric`` (a benchmark of its own)."""
        return HumanBenchmark(**self._arguments, metric=metric)

    @property
    def bibtex(self) -> str:  # type: ignore[override]
        """The data, the methods (the metric, the noise ceiling, the interval), the study and the suite."""
        method = "rsa" if isinstance(self.scored_with, ClassicalRSA) else self.scored_with.name
        methods = method_bibtex(
            _METHOD_CITATIONS.get(method, ""), "noise ceiling", INTERVAL_RESAMPLES[self.interval]
        )
        return "\n\n".join(
            [get_dataset(self.dataset).bibtex, methods, STUDY_BIBTEX, suite_bibtex()]
        )

    # --- data -----------------------------------------------------------------------------------
    def availability(self, data_dir: Path | None) -> Availability:
        location = find(self.dataset, data_dir)
        dataset = get_dataset(self.dataset)
        fix = (
            f"brainalign data fetch {self.dataset}"
            if dataset.fetchable
            else f"see `brainalign data show {self.dataset}`"
        )
        if location is None:
            return Availability(False, not_found_message(dataset, data_dir), fix)
        bad = [c for c in location.checks if not c.ok]
        if bad:
            return Availability(False, bad_file_message(dataset, location, bad), fix, damaged=True)
        return Availability(True)

    def data(self, data_dir: Path | None) -> NeuralData:
        """The verified data set, parsed once per process and folder by every benchmark that
        shares its reader. The checksums of the data set's registered files are part of the key,
        so changed files are parsed again; a data set that registers no files (algonauts2023) is
        keyed by its folder only: restart the process after replacing its files."""
        location = locate(self.dataset, data_dir)
        return _read(self._reader, location.folder, _fingerprint(location))

    def load(self, data_dir: str | os.PathLike[str] | None = None) -> NeuralData:
        return self.data(None if data_dir is None else Path(data_dir))  # _read keeps the parse

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


def _algonauts2019(images: int, roi: str, default: bool) -> HumanBenchmark:
    region = {"EVC": "early visual cortex (EVC)", "IT": "inferior temporal cortex (IT)"}[roi]
    test = " (the challenge's test set)" if images == 78 else ""
    unpinned = (
        (
            " The source files' checksums are not pinned in brainalign's registry; results "
            "record the checksums of the files actually used."
        )
        if images == 78
        else ""
    )
    return HumanBenchmark(
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


def _algonauts2023(roi: str) -> HumanBenchmark:
    name = (
        "all cortical vertices of the challenge space" if roi == algonauts2023.ALL_VERTICES else roi
    )
    return HumanBenchmark(
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


_TARGETS: tuple[HumanBenchmark, ...] = (
    _algonauts2019(92, "EVC", True),
    _algonauts2019(92, "IT", True),
    _algonauts2019(78, "EVC", False),
    _algonauts2019(78, "IT", False),
    HumanBenchmark(
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
    HumanBenchmark(
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
#: Every target in every version: ``get(id)`` gives the newest, ``id@1`` the subject-only interval;
#: and the 92-image fMRI targets by every other metric (``algonauts2019.92images.IT.wrsa@1``).
BENCHMARKS: tuple[HumanBenchmark, ...] = (
    *(version for benchmark in _TARGETS for version in benchmark.versions()),
    *(benchmark.scored_by(metric) for benchmark in _TARGETS[:2] for metric in OTHER_METRICS),
)
