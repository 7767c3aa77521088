"""The probe builder: base images and four distractor conditions that pull saliency and semantics
apart (Opiełka, Loke & Scholte 2024).

For each base image the builder looks for four distractors, one per condition:

============================  ======================  =====================
condition                     caption semantics       saliency-map change
============================  ======================  =====================
``Control``                   similar to the base     small (non-salient)
``Salient``                   similar                 large (salient)
``Semantic``                  dissimilar              small
``Semantic_Salient``          dissimilar              large
============================  ======================  =====================

*Semantic distance* is the cosine distance between the mean caption embeddings of base and
distractor (:mod:`.embedders`); *saliency change* the cosine distance between the Itti–Koch maps
of the base image with and without the distractor (both resized to 224 × 224, as
:func:`~.itti_koch.saliency_change`). The distractor covers ``area_fraction`` (10 %) of the base
image, against a random edge (:mod:`.compositing`).

Search, per base image and condition: the distractors meeting the semantic threshold are shuffled
(seeded) and tried in turn, each at a seeded random edge and offset. Each is first pasted plainly
(contrast 1); if that misses the saliency threshold, the builder moves the rendering's contrast
away from 1 step by step (down for non-salient, up for salient) and keeps the first rendering that
meets it, i.e. the least manipulation that works. A base image enters the probe only when all four
conditions succeed, so every condition shows the same base images. Base images are visited in a
seeded order until ``n_bases`` are complete (searched a few ahead in worker processes, one per
core, and taken in that order, so the workers change nothing but the time); every random choice
depends only on the seed and the item's id, and the pixels are integer arithmetic (:mod:`.exact`),
so the same inputs give the same images and table with any library versions (and, on one machine,
byte-identical files), unless a saliency change or caption distance lies within its libraries'
last bits of a threshold: the build records how close the closest ones came
(:class:`DecisionMargins`).

Thresholds are either absolute (:data:`STUDY_THRESHOLDS`, the study's values for the Universal
Sentence Encoder on COCO) or quantiles (:class:`ThresholdQuantiles`, the default): semantic ones
of all base–distractor distances in the pool, saliency ones of the saliency changes of a seeded
pilot sample of random pastes at random contrasts. Quantiles suit any embedder and pool.

Output folder: ``images/<Condition>/<base id>.png``, ``metadata.csv`` (one row per stimulus),
``targets.npz`` (the saliency and semantic RDMs of the Baseline images) and ``manifest.json``
(settings, resolved thresholds, counts, failure reasons, decision margins, the sha256 of every
file and of every image's decoded pixels; the probe's identity is :mod:`.identity`).
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import shutil
import sys
import warnings
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import current_process, get_context
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np
import pandas as pd
from PIL import Image
from threadpoolctl import threadpool_limits

from .. import rsa
from .._files import (
    OWNER_FILE,
    ScratchFolder,
    sha256_file,
    write_bytes_atomic,
    write_json_atomic,
    write_npz_atomic,
    write_text_atomic,
)
from ..errors import BrainAlignError
from ..progress import progress
from ..rsa.parallel import cores
from .compositing import EDGES, PasteBox, composite, fit_cutout, paste_box
from .embedders import CaptionEmbedder, caption_vectors, cosine_distances, get_embedder
from .identity import pixels_sha256
from .itti_koch import map_change, rdm_map, saliency_rdm
from .pools import ImagePool, item_rng

log = logging.getLogger(__name__)
_T = TypeVar("_T")

FORMAT = "brainalign-probe"
#: Bump when the same settings would give different images or targets. 2: images rendered by
#: :mod:`.exact` (the same pixels with any library version), identity on pixels and table.
BUILDER_VERSION = 2

BASELINE = "Baseline"
#: condition → (semantically similar to the base?, salient?)
DISTRACTOR_CONDITIONS: dict[str, tuple[bool, bool]] = {
    "Control": (True, False),
    "Salient": (True, True),
    "Semantic": (False, False),
    "Semantic_Salient": (False, True),
}
CONDITIONS: tuple[str, ...] = (BASELINE, *DISTRACTOR_CONDITIONS)

# Captions with a distance below this are the same text: never a distractor for each other.
_SAME_CAPTIONS = 1e-6


@dataclass(frozen=True)
class Thresholds:
    """Absolute cosine-distance thresholds. Similar: ``semantic < semantic_similar``; dissimilar:
    ``semantic > semantic_dissimilar``; non-salient: ``change < saliency_non_salient``; salient:
    ``change > saliency_salient``."""

    semantic_similar: float
    semantic_dissimilar: float
    saliency_non_salient: float
    saliency_salient: float

    def __post_init__(self) -> None:
        if not self.semantic_similar <= self.semantic_dissimilar:
            raise BrainAlignError(
                f"semantic thresholds overlap: similar < {self.semantic_similar} but dissimilar "
                f"> {self.semantic_dissimilar}; the similar one must be the smaller"
            )
        if not self.saliency_non_salient <= self.saliency_salient:
            raise BrainAlignError(
                f"saliency thresholds overlap: non-salient < {self.saliency_non_salient} but salient "
                f"> {self.saliency_salient}; the non-salient one must be the smaller"
            )

    def semantic_ok(self, distance: float | np.ndarray, similar: bool) -> Any:
        return distance < self.semantic_similar if similar else distance > self.semantic_dissimilar

    def saliency_ok(self, change: float, salient: bool) -> bool:
        return change > self.saliency_salient if salient else change < self.saliency_non_salient


#: The study's thresholds (Universal Sentence Encoder captions, COCO/NSD images).
STUDY_THRESHOLDS = Thresholds(0.32, 0.92, 0.019, 0.24)


@dataclass(frozen=True)
class ThresholdQuantiles:
    """Thresholds as quantiles of what the pool and embedder actually produce (the default)."""

    semantic_similar: float = 0.05
    semantic_dissimilar: float = 0.60
    saliency_non_salient: float = 0.25
    saliency_salient: float = 0.75
    pilot_size: int = 240

    def __post_init__(self) -> None:
        for name in (
            "semantic_similar",
            "semantic_dissimilar",
            "saliency_non_salient",
            "saliency_salient",
        ):
            if not 0.0 < getattr(self, name) < 1.0:
                raise BrainAlignError(
                    f"quantile {name} must lie in (0, 1), got {getattr(self, name)}"
                )


@dataclass(frozen=True)
class BuildSettings:
    """Everything besides the pool and the embedder that determines a built probe."""

    seed: int = 0
    n_bases: int | None = None
    image_size: int = 224
    area_fraction: float = 0.10
    contrasts: tuple[float, ...] = (0.15, 0.3, 0.6, 1.0, 1.5, 2.0)
    thresholds: Thresholds | ThresholdQuantiles = field(default_factory=ThresholdQuantiles)
    #: Absolute values that replace single resolved thresholds, e.g. ``{"saliency_salient": 0.24}``.
    threshold_overrides: Mapping[str, float] = field(default_factory=dict)
    max_distractors: int = 8

    def __post_init__(self) -> None:
        if self.image_size < 128:  # the Itti–Koch maps of smaller images are flat
            raise BrainAlignError(
                f"image size {self.image_size} is too small; use at least 128 pixels"
            )
        if 1.0 not in self.contrasts or any(c <= 0 for c in self.contrasts):
            raise BrainAlignError(
                f"contrasts {self.contrasts} must be positive and include 1.0 (the plain paste)"
            )
        if self.n_bases is not None and self.n_bases < 3:
            raise BrainAlignError("a probe needs at least 3 base images (--n-bases)")
        unknown = set(self.threshold_overrides) - {
            f.name for f in Thresholds.__dataclass_fields__.values()
        }
        if unknown:
            raise BrainAlignError(f"unknown threshold(s) {sorted(unknown)}")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["thresholds"] = {"kind": type(self.thresholds).__name__, **asdict(self.thresholds)}
        data["threshold_overrides"] = dict(self.threshold_overrides)
        data["contrasts"] = list(self.contrasts)
        return data


@dataclass(frozen=True)
class Placement:
    """One distractor as pasted: which item, where, at which contrast, and what it achieved."""

    condition: str
    distractor_id: str
    box: PasteBox
    contrast: float
    semantic_distance: float
    saliency_change: float
    image: np.ndarray = field(repr=False)


@dataclass
class DecisionMargins:
    """How close the build's closest calls came to their thresholds: the smallest distance of any
    saliency change and of any semantic distance the search compared with a threshold.

    Those numbers come from OpenCV (float32) and a sentence model (PyTorch), whose last bits vary
    between library versions and machines; a decision can only come out differently elsewhere if
    its margin is within that variation, so the margins say how safely a build reproduces.
    """

    saliency: float = math.inf
    semantic: float = math.inf

    def note_saliency(self, change: float, thresholds: Thresholds, salient: bool) -> None:
        limit = thresholds.saliency_salient if salient else thresholds.saliency_non_salient
        self.saliency = min(self.saliency, abs(change - limit))

    def note_semantic(self, distances: np.ndarray, thresholds: Thresholds) -> None:
        if distances.size:
            for limit in (thresholds.semantic_similar, thresholds.semantic_dissimilar):
                self.semantic = min(self.semantic, float(np.min(np.abs(distances - limit))))

    def merge(self, other: DecisionMargins) -> None:
        """Take note of another search's closest calls (the minimum: exact, in any order)."""
        self.saliency = min(self.saliency, other.saliency)
        self.semantic = min(self.semantic, other.semantic)

    def line(self) -> str:
        return (
            f"closest calls: a saliency change {self.saliency:.2g} and a semantic distance "
            f"{self.semantic:.2g} from their thresholds"
        )


class Renders:
    """The base images, their saliency maps and the fitted cut-outs of one build, each rendered
    once: a base image is used by the pilot and the search, and a distractor always gets the
    same box size (its aspect and the area fraction fix it), so it is resized once. Not shared
    between threads: each worker process of a build has its own copy."""

    def __init__(self, pool: ImagePool, settings: BuildSettings) -> None:
        self.pool, self.settings = pool, settings
        self._bases: dict[str, np.ndarray] = {}
        self._maps: dict[str, np.ndarray] = {}
        self._fitted: dict[tuple[str, int, int], np.ndarray] = {}

    def base(self, item_id: str) -> np.ndarray:
        if item_id not in self._bases:
            self._bases[item_id] = self.pool.base_image(
                item_id, self.settings.image_size, self.settings.seed
            )
        return self._bases[item_id]

    def base_map(self, item_id: str) -> np.ndarray:
        if item_id not in self._maps:
            self._maps[item_id] = rdm_map(self.base(item_id))
        return self._maps[item_id]

    def fitted(self, item_id: str, box: PasteBox) -> np.ndarray:
        key = (item_id, box.width, box.height)
        if key not in self._fitted:
            self._fitted[key] = fit_cutout(self.pool.cutout(item_id), box)
        return self._fitted[key]


#: Fewer complete base images than this make a probe whose intervals are more than twice as wide as
#: the default probe's 200 (bootstrap intervals over stimuli narrow as 1/√n): said loudly.
FEW_BASES = 50


@dataclass
class ProbeBuild:
    """What a build did: how many base images were tried, completed, and why the rest failed;
    and how its distractors were pasted (``shapes``: ``cut-out`` for items with transparency,
    ``rectangle`` for opaque images pasted whole, backgrounds included)."""

    out: Path
    pool: str
    n_pool: int
    n_tried: int
    n_complete: int
    thresholds: Thresholds
    failures: dict[str, int]
    shapes: dict[str, int] = field(default_factory=dict)
    margins: DecisionMargins = field(default_factory=DecisionMargins)

    def lines(self) -> list[str]:
        lines = [
            f"probe written to {self.out}",
            f"pool: {self.pool} ({self.n_pool} images)",
            f"base images tried: {self.n_tried}; complete with all four conditions: {self.n_complete}",
            "distractors: "
            + ", ".join(f"{count} {shape}s" for shape, count in sorted(self.shapes.items())),
            "thresholds: " + ", ".join(f"{k} {v:.4g}" for k, v in asdict(self.thresholds).items()),
            self.margins.line(),
        ]
        if self.failures:
            lines.append("why the other base images failed (first failing condition):")
            width = max(len(k) for k in self.failures)
            lines += [
                f"  {reason:<{width}}  {count}"
                for reason, count in sorted(self.failures.items(), key=lambda kv: (-kv[1], kv[0]))
            ]
        return lines

    def warnings(self) -> list[str]:
        """What a user of this probe must know before trusting its numbers."""
        return probe_warnings(self.n_complete, self.shapes)


def probe_warnings(n_bases: int, shapes: Mapping[str, int]) -> list[str]:
    """The loud caveats of a probe with ``n_bases`` base images and these distractor shapes."""
    found = []
    if n_bases < FEW_BASES:
        found.append(
            f"only {n_bases} base images: its intervals are more than twice as wide as those of the "
            f"default probe (200), and its numbers are not comparable with the default's; use a larger "
            f"pool (at least {FEW_BASES} complete base images)"
        )
    rectangles = shapes.get("rectangle", 0)
    if rectangles:
        found.append(
            f"{rectangles} of {sum(shapes.values())} distractors are whole images pasted as opaque "
            "rectangles, backgrounds included (their files have no transparency); give PNG cut-outs "
            "with an alpha channel to paste objects alone"
        )
    return found


def resolve_thresholds(
    pool: ImagePool, semantic: np.ndarray, settings: BuildSettings, renders: Renders | None = None
) -> Thresholds:
    """Absolute thresholds for this pool and embedder (quantiles resolved, overrides applied)."""
    spec = settings.thresholds
    if isinstance(spec, Thresholds):
        resolved = spec
    else:
        pairs = caption_pairs(semantic)
        changes = _pilot_changes(renders or Renders(pool, settings), spec.pilot_size)
        changes = changes[np.isfinite(changes)]
        if changes.size < 10:
            raise BrainAlignError(
                "the saliency maps of the pilot pastes are flat (images too small or uniform?); "
                "use larger images (--size 224) or give absolute thresholds"
            )
        resolved = Thresholds(
            float(np.quantile(pairs, spec.semantic_similar)),
            float(np.quantile(pairs, spec.semantic_dissimilar)),
            float(np.quantile(changes, spec.saliency_non_salient)),
            float(np.quantile(changes, spec.saliency_salient)),
        )
    return replace(resolved, **dict(settings.threshold_overrides))


def caption_pairs(semantic: np.ndarray) -> np.ndarray:
    """The semantic distances of all pairs of pool items with different captions: what the
    semantic quantiles are taken of, and what every semantic decision compares."""
    pairs = semantic[np.triu_indices(len(semantic), k=1)]
    return pairs[pairs > _SAME_CAPTIONS]


def _pilot_changes(renders: Renders, size: int) -> np.ndarray:
    """Saliency changes of ``size`` random pastes (random base, distractor, place, contrast)."""
    settings = renders.settings
    rng = np.random.default_rng([settings.seed, 1])
    ids = [item.id for item in renders.pool.items]
    changes = []
    for _ in progress(range(size), desc="calibrating saliency thresholds", unit="paste"):
        base_id, distractor_id = (ids[i] for i in rng.choice(len(ids), size=2, replace=False))
        base = renders.base(base_id)
        box = _random_box(
            rng, base.shape, renders.pool.cutout(distractor_id), settings.area_fraction
        )
        contrast = float(rng.choice(settings.contrasts))
        pasted = composite(base, renders.fitted(distractor_id, box), box, contrast)
        changes.append(map_change(renders.base_map(base_id), rdm_map(pasted)))
    return np.asarray(changes)


def _random_box(
    rng: np.random.Generator, shape: Sequence[int], cutout: np.ndarray, area_fraction: float
) -> PasteBox:
    edge = EDGES[int(rng.integers(len(EDGES)))]
    offset = float(rng.uniform())
    return paste_box(
        shape[0], shape[1], cutout.shape[1] / cutout.shape[0], area_fraction, edge, offset
    )


def _renderings(contrasts: Sequence[float], salient: bool) -> list[float]:
    """Contrasts to try, starting from the plain paste and moving away from it."""
    if salient:
        return sorted(c for c in contrasts if c >= 1.0)
    return sorted((c for c in contrasts if c <= 1.0), reverse=True)


def search_base(
    pool: ImagePool,
    index: int,
    semantic: np.ndarray,
    thresholds: Thresholds,
    settings: BuildSettings,
    *,
    renders: Renders | None = None,
    margins: DecisionMargins | None = None,
) -> tuple[np.ndarray, list[Placement] | str]:
    """The base image and its four placements, or the base image and why it failed; ``margins``
    (if given) takes note of every comparison with a threshold."""
    renders = renders or Renders(pool, settings)
    margins = margins if margins is not None else DecisionMargins()
    items = pool.items
    base_id = items[index].id
    rng = item_rng(settings.seed, base_id)
    base = renders.base(base_id)
    base_map = renders.base_map(base_id)
    if not base_map.any():
        return base, "Baseline: flat saliency map (uniform or tiny image)"
    distances = semantic[index]
    usable = distances > _SAME_CAPTIONS
    usable[index] = False
    margins.note_semantic(distances[usable], thresholds)
    placements = []
    for condition, (similar, salient) in DISTRACTOR_CONDITIONS.items():
        candidates = np.flatnonzero(usable & thresholds.semantic_ok(distances, similar))
        if candidates.size == 0:
            kind = "similar" if similar else "dissimilar"
            return base, f"{condition}: no semantically {kind} distractor in the pool"
        chosen = None
        for candidate in rng.permutation(candidates)[: settings.max_distractors]:
            candidate_id = items[candidate].id
            box = _random_box(rng, base.shape, pool.cutout(candidate_id), settings.area_fraction)
            fitted = renders.fitted(candidate_id, box)
            for contrast in _renderings(settings.contrasts, salient):
                image = composite(base, fitted, box, contrast)
                change = map_change(base_map, rdm_map(image))
                margins.note_saliency(change, thresholds, salient)
                if thresholds.saliency_ok(change, salient):
                    chosen = Placement(
                        condition,
                        items[candidate].id,
                        box,
                        contrast,
                        float(distances[candidate]),
                        change,
                        image,
                    )
                    break
            if chosen is not None:
                break
        if chosen is None:
            kind = "salient" if salient else "non-salient"
            return (
                base,
                f"{condition}: no {kind} paste among {settings.max_distractors} distractors",
            )
        placements.append(chosen)
    return base, placements


def build_probe(
    pool: ImagePool,
    out: str | os.PathLike[str],
    settings: BuildSettings | None = None,
    *,
    embedder: CaptionEmbedder | str | None = None,
    overwrite: bool = False,
    workers: int | None = None,
) -> ProbeBuild:
    """Build a probe from ``pool`` into the folder ``out`` (written atomically: a folder is either
    complete or absent). Returns what was built and why other base images failed.

    ``workers`` (default: one per core) is how many base images are searched at once (in worker
    processes) and images encoded at once (on threads); the files are the same with any number."""
    settings = settings or BuildSettings()
    workers = cores() if workers is None else max(1, workers)
    out = Path(out).expanduser()
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise BrainAlignError(
            f"{out} already exists and is not empty; choose another --out or pass --overwrite"
        )
    embedder = get_embedder(embedder)
    if len(pool) < 3:
        raise BrainAlignError(
            f"the {pool.kind} pool has {len(pool)} images; a probe needs at least 3"
        )
    captions = [item.captions for item in pool.items]
    vectors = caption_vectors(captions, embedder)
    semantic = cosine_distances(vectors, vectors)
    renders = Renders(pool, settings)
    thresholds = resolve_thresholds(pool, semantic, settings, renders)
    log.info("thresholds: %s", thresholds)

    order = np.random.default_rng([settings.seed, 2]).permutation(len(pool))
    wanted = settings.n_bases or len(pool)
    complete: list[tuple[int, np.ndarray, list[Placement]]] = []
    failures: Counter[str] = Counter()
    margins = DecisionMargins()
    tried = 0
    search = _Search(pool, semantic, thresholds, settings, renders)
    with (
        progress(total=wanted, desc="building probe", unit="base image") as bar,
        _search_workers(search, workers) as (work, executor),
        closing(in_order(work, map(int, order), executor, ahead=2 * workers)) as searches,
    ):
        for index, (base, result, noted) in searches:
            tried += 1
            margins.merge(noted)
            if isinstance(result, str):
                failures[result] += 1
            else:
                complete.append((index, base, result))
                bar.update(1)
            if len(complete) >= wanted:
                break
    if len(complete) < 3:
        raise BrainAlignError(
            f"only {len(complete)} of {tried} base images found distractors for all four conditions "
            f"({dict(failures)}); loosen the thresholds or use a larger pool"
        )
    if settings.n_bases and len(complete) < settings.n_bases:
        log.warning(
            "only %d of the %d requested base images are complete", len(complete), settings.n_bases
        )
    complete.sort(key=lambda entry: entry[0])  # pool order: stable ids, independent of the search
    shapes = Counter(
        _shape(pool, p.distractor_id) for _, _, placements in complete for p in placements
    )
    report = ProbeBuild(
        out,
        pool.kind,
        len(pool),
        tried,
        len(complete),
        thresholds,
        dict(failures),
        dict(sorted(shapes.items())),
        margins,
    )
    for warning in report.warnings():
        log.warning("probe %s: %s", out, warning)
    _write(
        out,
        pool,
        complete,
        vectors,
        settings,
        thresholds,
        embedder.name,
        report,
        overwrite,
        workers,
    )
    return report


@dataclass(frozen=True)
class _Search:
    """:func:`search_base` of one build, with margins of its own: a search run ahead of need, whose
    result the build discards, must not leave its closest calls in the build's margins."""

    pool: ImagePool
    semantic: np.ndarray
    thresholds: Thresholds
    settings: BuildSettings
    renders: Renders

    def __call__(self, index: int) -> tuple[np.ndarray, list[Placement] | str, DecisionMargins]:
        margins = DecisionMargins()
        base, result = search_base(
            self.pool,
            index,
            self.semantic,
            self.thresholds,
            self.settings,
            renders=self.renders,
            margins=margins,
        )
        return base, result, margins


def in_order(
    work: Callable[[int], _T], items: Iterable[int], executor: Executor | None, *, ahead: int
) -> Generator[tuple[int, _T], None, None]:
    """``(item, work(item))`` for each item in turn, computed by ``executor`` (``None``: here, when
    asked for) up to ``ahead`` items before the caller asks for them; close the iterator to stop
    (what was computed ahead is dropped). An item's error is raised when its turn comes, so a
    caller that stops before that turn never sees it. If the work does not depend on what other
    items did, the caller sees exactly what computing the items one after another gives."""
    if executor is None:
        for item in items:
            yield item, work(item)
        return
    queue: deque[tuple[int, Future[_T]]] = deque()
    remaining = iter(items)
    try:
        for item in remaining:
            queue.append((item, executor.submit(work, item)))
            if len(queue) >= ahead:
                break
        while queue:
            item, future = queue.popleft()
            result = future.result()
            for following in remaining:
                queue.append((following, executor.submit(work, following)))
                break
            yield item, result
    finally:
        for _, pending in queue:
            pending.cancel()


#: In a worker process: the search of the build that forked it (with renders of its own).
_worker_search: _Search | None = None


def _adopt(search: _Search) -> None:
    global _worker_search
    _worker_search = search


def _search_in_worker(index: int) -> tuple[np.ndarray, list[Placement] | str, DecisionMargins]:
    assert _worker_search is not None
    return _worker_search(index)


@contextmanager
def _search_workers(
    search: _Search, processes: int
) -> Iterator[
    tuple[
        Callable[[int], tuple[np.ndarray, list[Placement] | str, DecisionMargins]], Executor | None
    ]
]:
    """``search`` and where to run it: ``processes`` worker processes forked from this one.

    Processes, not threads: a saliency map is many small OpenCV and NumPy calls, and threads
    spend their time waiting for the GIL between them. Forked, so they inherit the pool, the
    renders so far and the library state without pickling or re-importing the caller's script;
    OpenCV and BLAS are made single-threaded first, so the children never touch a thread pool
    of the parent and the processes do not oversubscribe the cores. Where fork is not available
    (Windows, macOS) or this process may not have children (a daemon, as a Dask worker is), the
    search runs here, one base image after another."""
    if processes <= 1 or sys.platform != "linux" or current_process().daemon:
        yield search, None
        return
    with (
        threadpool_limits(limits=1, user_api="blas"),
        _opencv_threads(1),
        warnings.catch_warnings(),
    ):
        # Python 3.12+ warns on forking a process with threads (a model's, a progress bar's):
        # a child could deadlock on a lock one of them held. The children run only NumPy,
        # OpenCV and Pillow code, single-threaded, and take no lock of the parent's threads.
        warnings.filterwarnings("ignore", message=".*use of fork\\(\\) may lead to deadlocks")
        with ProcessPoolExecutor(
            processes, mp_context=get_context("fork"), initializer=_adopt, initargs=(search,)
        ) as executor:
            yield _search_in_worker, executor


@contextmanager
def _opencv_threads(count: int) -> Iterator[None]:
    """OpenCV's own thread pool limited to ``count`` threads while the block runs."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(count)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def _shape(pool: ImagePool, item_id: str) -> str:
    """``cut-out`` where the item's distractor has transparency, else ``rectangle``."""
    return "cut-out" if (pool.cutout(item_id)[..., 3] < 255).any() else "rectangle"


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(
        buffer, format="PNG", optimize=False, compress_level=6
    )
    return buffer.getvalue()


@contextmanager
def _encoding_threads(threads: int) -> Iterator[Executor | None]:
    """Threads to encode PNG files on (zlib and sha256 let go of the GIL while they work)."""
    if threads <= 1:
        yield None
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="png") as executor:
        yield executor


def _encoded(image: np.ndarray) -> tuple[bytes, str]:
    """The image's PNG file and the sha256 of its pixels."""
    return _png(image), pixels_sha256(image)


def _write(
    out: Path,
    pool: ImagePool,
    complete: list[tuple[int, np.ndarray, list[Placement]]],
    vectors: np.ndarray,
    settings: BuildSettings,
    thresholds: Thresholds,
    embedder: str,
    report: ProbeBuild,
    overwrite: bool,
    workers: int = 1,
) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    # Built beside ``out`` (one rename puts it in place) in a scratch folder, so that what a build
    # killed halfway leaves is removed by the next build into the same folder.
    scratch = ScratchFolder(f"{out.name}.building", root=out.parent)
    staging = scratch.path
    assert staging is not None
    try:
        rows = []
        baselines = []
        pixels: dict[str, str] = {}
        entries: list[tuple[str, str, Placement | None, np.ndarray]] = []
        for index, base, placements in complete:
            item_id = pool.items[index].id
            baselines.append(base)
            entries.append((item_id, BASELINE, None, base))
            entries += [(item_id, p.condition, p, p.image) for p in placements]
        with (
            _encoding_threads(workers) as executor,
            closing(
                in_order(
                    lambda k: _encoded(entries[k][3]),
                    range(len(entries)),
                    executor,
                    ahead=4 * workers,
                )
            ) as encoded,
        ):
            for k, (png, digest) in encoded:
                item_id, condition, placement, _ = entries[k]
                relative = f"images/{condition}/{item_id}.png"
                write_bytes_atomic(staging / relative, png)
                rows.append(_row(pool, item_id, condition, placement, relative))
                pixels[rows[-1]["stimulus_id"]] = digest
        metadata = pd.DataFrame(rows)
        write_text_atomic(
            staging / "metadata.csv", metadata.to_csv(index=False, lineterminator="\n")
        )
        indices = [index for index, _, _ in complete]
        write_npz_atomic(
            staging / "targets.npz",
            {
                "stimulus_ids": np.array([pool.items[i].id for i in indices]),
                "saliency": saliency_rdm(baselines),
                "semantic": rsa.rdm(vectors[indices], "cosine"),
            },
        )
        files = {
            str(path.relative_to(staging)): sha256_file(path)
            for path in sorted(staging.rglob("*"))
            if path.is_file() and path != staging / OWNER_FILE
        }
        manifest = {
            "format": FORMAT,
            "builder_version": BUILDER_VERSION,
            "conditions": list(CONDITIONS),
            "pool": pool.describe(),
            "bibtex": pool.bibtex,
            "embedder": embedder,
            "settings": settings.as_dict(),
            "thresholds": asdict(thresholds),
            "n_bases": len(complete),
            "n_tried": report.n_tried,
            "failures": report.failures,
            "distractor_shapes": report.shapes,
            "decision_margins": asdict(report.margins),
            "files": files,
            "pixels_sha256": pixels,
        }
        write_json_atomic(staging / "manifest.json", manifest)
        _move_into_place(scratch.release(), out, overwrite)
    finally:
        scratch.remove()


def _row(
    pool: ImagePool, base_id: str, condition: str, placement: Placement | None, relative: str
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "stimulus_id": f"{condition}/{base_id}",
        "condition": condition,
        "base_id": base_id,
        "distractor_id": "",
        "base_captions": json.dumps(list(pool.item(base_id).captions), ensure_ascii=False),
        "distractor_captions": "[]",
        "semantic_distance": np.nan,
        "saliency_change": np.nan,
        "contrast": np.nan,
        "edge": "",
        "box_x0": pd.NA,
        "box_y0": pd.NA,
        "box_x1": pd.NA,
        "box_y1": pd.NA,
        "file": relative,
    }
    if placement is not None:
        box = placement.box
        row.update(
            distractor_id=placement.distractor_id,
            distractor_captions=json.dumps(
                list(pool.item(placement.distractor_id).captions), ensure_ascii=False
            ),
            semantic_distance=placement.semantic_distance,
            saliency_change=placement.saliency_change,
            contrast=placement.contrast,
            edge=box.edge,
            box_x0=box.x0,
            box_y0=box.y0,
            box_x1=box.x1,
            box_y1=box.y1,
        )
    return row


def _move_into_place(staging: Path, out: Path, overwrite: bool) -> None:
    """Rename the finished folder to ``out``; an old ``out`` is removed only after that."""
    old = None
    if out.exists():
        if any(out.iterdir()) and not overwrite:
            raise BrainAlignError(f"{out} appeared while building; pass --overwrite to replace it")
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
