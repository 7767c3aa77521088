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
    "layer", "layer_index", "depth", "target", "subject", "condition", "value", "ci_low", "ci_high",
)


@dataclass(frozen=True)
class Availability:
    """Whether a benchmark's data is on this machine, and if not, the command that gets it."""

    available: bool
    reason: str = ""
    fix: str = ""


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
    distance: str = "cosine"  # how layer RDMs are computed for this benchmark (DESIGN.md, v1)

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

    def __repr__(self) -> str:
        return f"<Benchmark {self.identifier}: {self.title}>"
