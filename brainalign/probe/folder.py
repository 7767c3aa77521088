"""A built probe on disk: open it, verify its files, and re-check its conditions from scratch.

:func:`check_probe` is the builder's honesty test: it recomputes, with the public
:func:`~.itti_koch.saliency_change` and the caption embedder, the saliency change and semantic
distance of every saved distractor image, compares them with the recorded values and with the
thresholds in the manifest, and recomputes both target RDMs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from .._files import sha256_file
from ..errors import BrainAlignError
from ..progress import progress
from ..stimuli import StimulusSet
from .builder import BASELINE, CONDITIONS, DISTRACTOR_CONDITIONS, FORMAT, Thresholds
from .embedders import (
    CaptionEmbedder,
    caption_vectors,
    cosine_distances,
    get_embedder,
    semantic_rdm,
)
from .identity import content_sha256, pixels_sha256, table_rows
from .itti_koch import saliency_change, saliency_rdm


@dataclass(frozen=True, eq=False)
class ProbeFolder:
    """A probe folder written by :func:`~.builder.build_probe`."""

    root: Path
    manifest: dict[str, Any]
    metadata: pd.DataFrame
    _stimulus_sets: dict[str, StimulusSet] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def open(cls, root: str | Path, *, verify: bool = True) -> ProbeFolder:
        """Read ``root``; with ``verify`` every file's sha256 must match the manifest, and every
        image's decoded pixels the digest the build recorded."""
        root = Path(root).expanduser()
        manifest_path = root / "manifest.json"
        if not manifest_path.is_file():
            raise BrainAlignError(
                f"{root} is not a built probe (no manifest.json); build one with `brainalign probe build`"
            )
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise BrainAlignError(
                f"{manifest_path} is corrupt ({err}); rebuild the probe"
            ) from None
        if (
            not isinstance(manifest, dict)
            or manifest.get("format") != FORMAT
            or not isinstance(manifest.get("files"), dict)
        ):
            raise BrainAlignError(
                f"{manifest_path} is not a brainalign probe manifest; rebuild the probe"
            )
        if verify:
            _verify_files(root, manifest["files"])
        try:
            metadata = pd.read_csv(
                root / "metadata.csv",
                dtype={"base_id": str, "distractor_id": str},
                keep_default_na=False,
                na_values={"semantic_distance": [""], "saliency_change": [""], "contrast": [""]},
            )
        except (
            OSError,
            ValueError,
            pd.errors.ParserError,
        ) as err:  # deleted or damaged since it was built
            raise BrainAlignError(
                f"probe file {root / 'metadata.csv'} cannot be read ({type(err).__name__}); "
                "rebuild the probe"
            ) from None
        probe = cls(root, manifest, metadata)
        if verify and "pixels_sha256" in manifest:
            _verify_pixels(root, metadata, manifest["pixels_sha256"])
        return probe

    @cached_property
    def base_ids(self) -> tuple[str, ...]:
        return tuple(self.metadata.loc[self.metadata["condition"] == BASELINE, "base_id"])

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(**self.manifest["thresholds"])

    @cached_property
    def content_hash(self) -> str:
        """The probe's identity (:mod:`.identity`): sha256 of its defining settings, condition
        table and each image's decoded pixels, the same on every machine that builds the same
        probe. Computed from the manifest and the table (the pixel digests the build recorded,
        which :meth:`open` checks against the images); a probe built before builds recorded
        them has its images decoded here."""
        pixels = self.manifest.get("pixels_sha256")
        if pixels is None:
            pixels = {
                row["stimulus_id"]: pixels_sha256(_decode(self.root / row["file"]))
                for row in self.metadata.to_dict("records")
            }
        return content_sha256(self.manifest, table_rows(self.metadata), pixels)

    @cached_property
    def manifest_sha256(self) -> str:
        """The manifest file's own sha256 (it lists every file's sha256): the bytes of this copy,
        which another zlib or Pillow may write differently for the same images."""
        return sha256_file(self.root / "manifest.json")

    def rows(self, condition: str) -> pd.DataFrame:
        if condition not in CONDITIONS:
            raise BrainAlignError(
                f"unknown probe condition {condition!r}; choose from {', '.join(CONDITIONS)}"
            )
        rows = self.metadata[self.metadata["condition"] == condition].set_index("base_id")
        return rows.loc[list(self.base_ids)]

    def stimulus_set(self, condition: str) -> StimulusSet:
        """The condition's images, with the base ids as stimulus ids (so RDMs align across
        conditions) and their metadata rows; built once per condition."""
        if condition not in self._stimulus_sets:
            rows = self.rows(condition)
            paths = [self.root / f for f in rows["file"]]
            self._stimulus_sets[condition] = StimulusSet.from_paths(
                paths, self.base_ids, metadata=rows, name=f"probe.saliency_semantic/{condition}"
            )
        return self._stimulus_sets[condition]

    def stimulus_sets(self) -> dict[str, StimulusSet]:
        return {condition: self.stimulus_set(condition) for condition in CONDITIONS}

    def targets(self) -> dict[str, np.ndarray]:
        """The condensed saliency and semantic RDMs of the Baseline images, in base-id order."""
        with np.load(self.root / "targets.npz", allow_pickle=False) as data:
            ids = tuple(str(s) for s in data["stimulus_ids"])
            if ids != self.base_ids:
                raise BrainAlignError(
                    f"{self.root}/targets.npz does not match metadata.csv; rebuild the probe"
                )
            return {
                "saliency": data["saliency"].astype(np.float64),
                "semantic": data["semantic"].astype(np.float64),
            }

    def image(self, condition: str, base_id: str) -> np.ndarray:
        return np.asarray(self.stimulus_set(condition).load(base_id))


def _decode(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _verify_pixels(root: Path, metadata: pd.DataFrame, recorded: dict[str, str]) -> None:
    for stimulus_id, relative in zip(metadata["stimulus_id"], metadata["file"]):
        if recorded.get(stimulus_id) != pixels_sha256(_decode(root / relative)):
            raise BrainAlignError(
                f"the pixels of {root / relative} are not the ones its manifest records "
                "(content hash mismatch); rebuild the probe"
            )


def _verify_files(root: Path, files: dict[str, str]) -> None:
    for relative, digest in files.items():
        path = root / relative
        if not path.is_file():
            raise BrainAlignError(f"probe file {path} is missing; rebuild the probe")
        if sha256_file(path) != digest:
            raise BrainAlignError(
                f"probe file {path} was changed (sha256 mismatch); rebuild the probe"
            )


@dataclass
class ProbeCheck:
    """The outcome of :func:`check_probe`: one row per distractor stimulus, plus target checks."""

    rows: pd.DataFrame
    target_errors: dict[str, float] = field(default_factory=dict)
    atol: float = 1e-5

    @property
    def ok(self) -> bool:
        return bool(self.rows["ok"].all()) and all(
            e <= self.atol for e in self.target_errors.values()
        )

    def lines(self) -> list[str]:
        bad = self.rows[~self.rows["ok"]]
        largest = (
            f"largest |recomputed − recorded|: saliency change "
            f"{self.rows['saliency_error'].max():.2e}, semantic distance "
            f"{self.rows['semantic_error'].max():.2e}"
        )
        lines = [f"{len(self.rows)} distractor images checked; {len(bad)} fail", largest]
        lines += [
            f"target {name} RDM: largest difference {err:.2e}"
            for name, err in self.target_errors.items()
        ]
        lines += [f"  FAIL {r.stimulus_id}: {r.problem}" for r in bad.itertuples()][:20]
        return lines


def check_probe(
    probe: ProbeFolder | str | Path,
    embedder: CaptionEmbedder | str | None = None,
    *,
    atol: float = 1e-5,
) -> ProbeCheck:
    """Recompute every saved distractor's saliency change and semantic distance and test them
    against the recorded values (within ``atol``) and the manifest's thresholds."""
    if not isinstance(probe, ProbeFolder):
        probe = ProbeFolder.open(probe)
    embedder = get_embedder(embedder if embedder is not None else probe.manifest["embedder"])
    thresholds = probe.thresholds
    baseline = {b: probe.image(BASELINE, b) for b in probe.base_ids}
    distractors = probe.metadata[probe.metadata["condition"] != BASELINE]
    base_captions = [json.loads(c) for c in distractors["base_captions"]]
    other_captions = [json.loads(c) for c in distractors["distractor_captions"]]
    vectors = caption_vectors(base_captions + other_captions, embedder)
    n = len(distractors)
    semantic = np.diag(cosine_distances(vectors[:n], vectors[n:]))
    records = []
    for row, distance in progress(
        zip(distractors.itertuples(), semantic), total=n, desc="checking probe", unit="image"
    ):
        similar, salient = DISTRACTOR_CONDITIONS[row.condition]
        change = saliency_change(baseline[row.base_id], probe.image(row.condition, row.base_id))
        problems = []
        if abs(change - row.saliency_change) > atol:
            problems.append(f"saliency change {change:.6f} ≠ recorded {row.saliency_change:.6f}")
        if abs(distance - row.semantic_distance) > atol:
            problems.append(
                f"semantic distance {distance:.6f} ≠ recorded {row.semantic_distance:.6f}"
            )
        if not thresholds.saliency_ok(change, salient):
            problems.append(
                f"saliency change {change:.4f} misses the {'salient' if salient else 'non-salient'} threshold"
            )
        if not thresholds.semantic_ok(distance, similar):
            problems.append(
                f"semantic distance {distance:.4f} misses the {'similar' if similar else 'dissimilar'} threshold"
            )
        records.append(
            {
                "stimulus_id": row.stimulus_id,
                "condition": row.condition,
                "saliency_change": change,
                "saliency_error": abs(change - row.saliency_change),
                "semantic_distance": distance,
                "semantic_error": abs(distance - row.semantic_distance),
                "ok": not problems,
                "problem": "; ".join(problems),
            }
        )
    targets = probe.targets()
    recomputed = {
        "saliency": saliency_rdm([baseline[b] for b in probe.base_ids]),
        "semantic": semantic_rdm(
            [json.loads(c) for c in probe.rows(BASELINE)["base_captions"]], embedder
        ),
    }
    errors = {name: float(np.max(np.abs(recomputed[name] - targets[name]))) for name in targets}
    return ProbeCheck(pd.DataFrame(records), errors, atol)
