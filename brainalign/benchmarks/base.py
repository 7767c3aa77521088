"""What a benchmark is: stimuli a model must see, targets its layer RDMs are scored against, and
precise, versioned, citable definitions of the numbers it reports."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..rsa.rdms import LayerRDMs
from ..stimuli import StimulusSet

#: Columns every layerwise score table has (one row per layer × target × subject [× condition]).
LAYERWISE_COLUMNS: tuple[str, ...] = (
    "layer",
    "layer_index",
    "depth",
    "target",
    "subject",
    "condition",
    "value",
    "ci_low",
    "ci_high",
)


#: What a declared measure measures. The leaderboard's analyses (the relations of semantic encoding
#: and saliency to brain similarity, the claims panel) are defined over these kinds, so a benchmark
#: that declares them takes part without the leaderboard knowing its name.
MEASURE_KINDS: tuple[str, ...] = (
    "brain_similarity",  # how well the model's best layer matches a human target
    "semantic_encoding",  # how well the best layer follows the meaning of the images
    "saliency_suppression",  # how far early layers push saliency structure away
    "sensitivity",  # how a layer's geometry shifts when a distractor is pasted in
    "noise_ceiling",  # how well the best possible model could do (``lower``, ``upper``)
    "other",
)


@dataclass(frozen=True)
class Measure:
    """A number a benchmark reports, declared so that whoever reads its results (the leaderboard,
    another lab's tools) knows what it is without knowing the benchmark.

    ``name`` is its key in the result's summary; ``kind`` one of :data:`MEASURE_KINDS`;
    ``layerwise`` the layerwise rows that hold the same quantity per layer (column → value;
    other rows, e.g. subjects, are averaged); ``target`` the target it is measured against and
    ``condition`` the stimulus condition (sensitivities: the distractor condition, described by
    ``distractor``: whether it is salient and whether it is semantically similar to the base
    image); ``interval`` what its interval resamples and how well that covers.
    """

    name: str
    kind: str
    label: str
    description: str = ""
    layerwise: Mapping[str, str] = field(default_factory=dict)
    target: str = ""
    condition: str = ""
    distractor: Mapping[str, bool] = field(default_factory=dict)
    interval: str = ""
    headline: bool = False  # shown as a column of the leaderboard's table
    metric: str = ""  # the metric's name@version where not classical RSA (brainalign.metrics)

    def __post_init__(self) -> None:
        if self.kind not in MEASURE_KINDS:
            raise ValueError(
                f"measure {self.name!r}: kind {self.kind!r} is not one of {MEASURE_KINDS}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "label": self.label,
            "description": self.description,
            "layerwise": dict(self.layerwise),
            "target": self.target,
            "condition": self.condition,
            "distractor": dict(self.distractor),
            "interval": self.interval,
            "headline": self.headline,
            **({"metric": self.metric} if self.metric else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Measure:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Availability:
    """Whether a benchmark's data is on this machine, and if not, the command that gets it.

    ``damaged``: the data is here but unusable (a file missing from its folder, truncated or
    altered): always an error, where data that is simply absent may be skipped.
    """

    available: bool
    reason: str = ""
    fix: str = ""
    damaged: bool = False

    @property
    def message(self) -> str:
        """The reason, followed by the fix where the reason does not already give it."""
        if self.fix and self.fix not in self.reason:
            return f"{self.reason}; get it with: {self.fix}"
        return self.reason


@dataclass(eq=False)
class BenchmarkScore:
    """A model's scores on one benchmark.

    ``layerwise``: a tidy table with :data:`LAYERWISE_COLUMNS` (``subject`` and ``condition`` are
    ``""`` where they do not apply; ``ci_*`` NaN where not computed).
    ``summary``: named headline numbers, each a dict with at least ``value`` and, where computed,
    ``ci_low``/``ci_high`` (e.g. ``brain_similarity``, ``semantic_encoding``).
    """

    benchmark: str
    layerwise: pd.DataFrame
    summary: dict[str, dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)


class Benchmark(ABC):
    """A registered benchmark. Subclasses set the class attributes and implement the methods."""

    id: str
    version: int
    title: str
    description: str  # what it measures, for people
    metric: str  # the exact definition of every reported number
    bibtex: str  # the data's and the study's citations
    datasets: tuple[str, ...] = ()  # names in brainalign.neural_data's registry it reads
    default: bool = True  # part of `brainalign run`'s default set
    distance: str = "cosine"  # how layer RDMs are computed for this benchmark
    measures: tuple[Measure, ...] = ()  # what its summary reports, for readers of its results
    #: What score() takes of each layer: "rdms" (rsa.LayerRDMs) or "kernels" (metrics.LayerKernels:
    #: the layers' Gram matrices, from the same forward pass and cache as their RDMs).
    layers_as: str = "rdms"

    @property
    def identifier(self) -> str:
        return f"{self.id}@{self.version}"

    @abstractmethod
    def availability(self, data_dir: Path | None) -> Availability:
        """Whether this machine has the data (never downloads)."""

    @abstractmethod
    def stimulus_sets(self, data_dir: Path | None) -> dict[str, StimulusSet]:
        """Named stimulus sets whose layer RDMs :meth:`score` needs."""

    @abstractmethod
    def score(
        self, layers: Mapping[str, LayerRDMs], *, seed: int = 0, data_dir: Path | None = None
    ) -> BenchmarkScore:
        """Score layer RDMs (keyed like :meth:`stimulus_sets`, with the same ``data_dir``);
        deterministic given ``seed``."""

    def provenance(self, data_dir: Path | None) -> dict[str, Any]:
        """Data checksums and anything else a result must record to be reproduced."""
        return {}

    def check_data(self, data_dir: Path | None) -> None:
        """Read the data (already :meth:`availability`-checked) and check it, before any model
        runs: raise :class:`~brainalign.errors.BrainAlignError` naming the file, the stimulus or
        subject and the fix. By default, by loading the stimulus sets; a benchmark whose targets
        are read apart from its stimuli checks them too."""
        self.stimulus_sets(data_dir)

    def __repr__(self) -> str:
        return f"<Benchmark {self.identifier}: {self.title}>"
