"""Value objects: a stack of named, stimulus-labelled RDMs, and a target with its noise ceiling."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import BrainAlignError
from .ceiling import NoiseCeiling, noise_ceiling
from .comparison import as_rdm_stack
from .dissimilarity import n_pairs, to_square, upper_triangle

if TYPE_CHECKING:  # rsatoolbox is imported only by the conversion methods
    import rsatoolbox


@dataclass(frozen=True, eq=False)
class RDMs:
    """Condensed RDMs ``data[n_rdms, n_pairs]`` with a name per RDM and an id per stimulus.

    Stimuli are always matched by id, never by position: use :meth:`reorder` to align two RDMs.
    """

    data: np.ndarray
    names: tuple[str, ...]
    stimulus_ids: tuple[str, ...]
    distance: str = "unknown"

    def __post_init__(self) -> None:
        data = as_rdm_stack(self.data)
        names = tuple(str(n) for n in self.names)
        ids = tuple(str(s) for s in self.stimulus_ids)
        if data.shape[0] != len(names):
            raise BrainAlignError(f"{data.shape[0]} RDMs but {len(names)} names")
        if data.shape[1] != n_pairs(len(ids)):
            raise BrainAlignError(
                f"RDMs of {data.shape[1]} pairs do not fit {len(ids)} stimulus ids "
                f"({n_pairs(len(ids))} pairs expected); the stimulus list does not match the RDMs"
            )
        if len(set(ids)) != len(ids):
            raise BrainAlignError("stimulus ids must be unique")
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "stimulus_ids", ids)

    @classmethod
    def from_square(
        cls,
        squares: Any,
        names: Sequence[str],
        stimulus_ids: Sequence[str],
        distance: str = "unknown",
    ) -> RDMs:
        from .dissimilarity import condense

        return cls(condense(squares), tuple(names), tuple(stimulus_ids), distance)

    def __len__(self) -> int:
        return self.data.shape[0]

    @property
    def n_stimuli(self) -> int:
        return len(self.stimulus_ids)

    def square(self) -> np.ndarray:
        """``(n_rdms, n, n)`` symmetric matrices with zero diagonals."""
        return to_square(self.data)

    def get(self, name: str) -> np.ndarray:
        """The condensed RDM called ``name``."""
        try:
            return self.data[self.names.index(name)]
        except ValueError:
            raise BrainAlignError(f"no RDM named {name!r}; have {', '.join(self.names)}") from None

    def select(self, names: Sequence[str]) -> RDMs:
        """The RDMs with these names, in this order."""
        rows = [self.names.index(n) if n in self.names else -1 for n in names]
        missing = [n for n, r in zip(names, rows) if r < 0]
        if missing:
            raise BrainAlignError(f"no RDMs named {', '.join(map(repr, missing))}")
        return RDMs(self.data[rows], tuple(names), self.stimulus_ids, self.distance)

    def reorder(self, stimulus_ids: Sequence[str]) -> RDMs:
        """The RDMs restricted to, and ordered as, ``stimulus_ids`` (matched by id)."""
        ids = tuple(str(s) for s in stimulus_ids)
        if ids == self.stimulus_ids:
            return self
        position = {s: i for i, s in enumerate(self.stimulus_ids)}
        missing = [s for s in ids if s not in position]
        if missing:
            raise BrainAlignError(
                f"{len(missing)} stimulus ids are not in these RDMs (e.g. {missing[:3]}); "
                "the model and the target were computed on different stimuli"
            )
        index = np.array([position[s] for s in ids])
        squares = self.square()[:, index][:, :, index]
        return RDMs(upper_triangle(squares), self.names, ids, self.distance)

    def concat(self, other: RDMs) -> RDMs:
        """These RDMs followed by ``other``'s, on the same stimuli."""
        other = other.reorder(self.stimulus_ids)
        return RDMs(
            np.vstack([self.data, other.data]),
            self.names + other.names,
            self.stimulus_ids,
            self.distance if self.distance == other.distance else "mixed",
        )

    def to_rsatoolbox(self) -> rsatoolbox.rdm.RDMs:
        """Lossless conversion to ``rsatoolbox.rdm.RDMs`` (names and ids become descriptors)."""
        from rsatoolbox.rdm import RDMs as ToolboxRDMs

        return ToolboxRDMs(
            dissimilarities=self.data.copy(),
            dissimilarity_measure=self.distance,
            rdm_descriptors={"name": list(self.names)},
            pattern_descriptors={"stimulus_id": list(self.stimulus_ids)},
        )

    @classmethod
    def from_rsatoolbox(cls, rdms: rsatoolbox.rdm.RDMs) -> RDMs:
        """Inverse of :meth:`to_rsatoolbox`; missing descriptors become positional names."""
        data = np.asarray(rdms.get_vectors(), dtype=np.float64)
        names = rdms.rdm_descriptors.get("name", [f"rdm{i}" for i in range(data.shape[0])])
        ids = rdms.pattern_descriptors.get(
            "stimulus_id", rdms.pattern_descriptors.get("index", range(rdms.n_cond))
        )
        return cls(data, tuple(names), tuple(ids), rdms.dissimilarity_measure or "unknown")


@dataclass(frozen=True, eq=False)
class TargetRDMs:
    """One target (a brain region, a behavioural task, a saliency or semantic RDM): its RDM per
    subject, and the noise ceiling those subjects imply (None with a single RDM)."""

    name: str
    rdms: RDMs
    ceiling: NoiseCeiling | None = None
    kind: str = "fmri"
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_subjects(
        cls, name: str, rdms: RDMs, *, kind: str = "fmri", method: str = "spearman", **metadata: Any
    ) -> TargetRDMs:
        """A target whose ceiling is the leave-one-subject-out ``method`` ceiling of ``rdms``."""
        ceiling = noise_ceiling(rdms.data, method) if len(rdms) > 1 else None
        return cls(name, rdms, ceiling, kind, {"ceiling_method": method, **metadata})

    def ceiling_for(self, method: str) -> NoiseCeiling | None:
        """The noise ceiling under comparison ``method`` (recomputed when the stored one, made
        with :meth:`from_subjects`, used another method): a score divides by its own kind."""
        if len(self.rdms) < 2 or self.metadata.get("ceiling_method", "spearman") == method:
            return self.ceiling
        return noise_ceiling(self.rdms.data, method)

    @property
    def subjects(self) -> tuple[str, ...]:
        return self.rdms.names

    @property
    def stimulus_ids(self) -> tuple[str, ...]:
        return self.rdms.stimulus_ids


@dataclass(frozen=True, eq=False)
class LayerRDMs:
    """A model's RDM per layer on one stimulus set: ``rdms.names`` are layer names in execution
    order, ``depths`` each layer's relative depth in [0, 1] within the whole network."""

    rdms: RDMs
    depths: tuple[float, ...]
    model_id: str = ""

    def __post_init__(self) -> None:
        depths = tuple(float(d) for d in self.depths)
        if len(depths) != len(self.rdms):
            raise BrainAlignError(f"{len(depths)} depths for {len(self.rdms)} layer RDMs")
        if any(not 0.0 <= d <= 1.0 for d in depths):
            raise BrainAlignError("relative layer depths must lie in [0, 1]")
        object.__setattr__(self, "depths", depths)

    @property
    def layers(self) -> tuple[str, ...]:
        return self.rdms.names

    @property
    def stimulus_ids(self) -> tuple[str, ...]:
        return self.rdms.stimulus_ids
