"""The embedded default probe: built on first use from the Tux Paint photo cut-outs, cached, reused.

It is not shipped: the stamps come from Debian's archive (``apt-get download``, about 160 MB,
once), an installed package or a folder, and the probe is built from them with fixed settings
(:data:`DEFAULT_SETTINGS`, seed 0, 200 base images) into ``cache_dir()/probe/``. The stamp files
it is built from are pinned (:mod:`.pinned`): a folder holding every pinned file unchanged builds
the standard probe, the same images on every machine with any library versions (:mod:`.exact`). A
folder that does not (another package version, an edited stamp) still builds a default probe, with
a warning, cached apart and identified by its own hash. Where no stamps can be had, the few photos bundled with scikit-image /
scikit-learn / matplotlib are used instead, with a warning: that probe has only a handful of base
images and its numbers are not comparable with the default's.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from ..errors import BrainAlignError
from ..paths import cache_dir
from . import pinned
from .builder import BUILDER_VERSION, BuildSettings, ThresholdQuantiles, build_probe
from .folder import ProbeFolder
from .pools import bundled_photos_pool
from .tuxpaint import TuxPaintPool, ensure_tuxpaint_stamps

log = logging.getLogger(__name__)

#: The standard probe's settings: seed 0, 200 base images, and thresholds resolved once from the
#: default quantile rule on the pinned stamps and then fixed in the pin (``tools/pin_default_probe.py``),
#: so that no build compares against a threshold its own libraries computed.
DEFAULT_SETTINGS = BuildSettings(seed=0, n_bases=200, thresholds=pinned.pin().thresholds)
#: A default build completing fewer base images than this share of its target used a damaged or
#: foreign stamp folder: refuse it rather than score models on a handful of images.
MIN_COMPLETE_FRACTION = 0.75
#: A pool of 17 photos needs looser quantiles and every distractor to complete any base image.
FALLBACK_SETTINGS = BuildSettings(
    seed=0,
    n_bases=None,
    max_distractors=16,
    thresholds=ThresholdQuantiles(
        semantic_similar=0.3,
        semantic_dissimilar=0.5,
        saliency_non_salient=0.4,
        saliency_salient=0.6,
    ),
)


def default_probe_dir(pool: str = "tuxpaint", variant: str = "") -> Path:
    """Where the default probe built from ``pool`` (``tuxpaint`` or ``bundled``) is cached;
    ``variant`` (a stamps folder's hash) keeps a probe from unpinned stamps apart."""
    settings = DEFAULT_SETTINGS if pool == "tuxpaint" else FALLBACK_SETTINGS
    size = settings.n_bases or "all"
    name = f"{pool}-{variant}" if variant else pool
    return cache_dir() / "probe" / f"{name}-b{BUILDER_VERSION}-seed{settings.seed}-n{size}"


def is_built() -> bool:
    """Whether the default probe from the pinned stamps is in the cache."""
    return (default_probe_dir() / "manifest.json").is_file()


def default_probe(*, build: bool = True) -> ProbeFolder:
    """The default probe, built now if it is not in the cache yet (``build``)."""
    root = default_probe_dir()
    if (root / "manifest.json").is_file():
        return ProbeFolder.open(root)
    try:
        stamps = ensure_tuxpaint_stamps(download=build)
    except BrainAlignError as err:
        if not build:
            raise BrainAlignError(
                f"the default probe is not built yet ({root}); run `brainalign probe default`"
            ) from None
        return _fallback(err)
    check = pinned.check_stamps(stamps)
    if check.ok:
        pool = TuxPaintPool(stamps, stamps=pinned.pin().stamps)
    else:
        log.warning(
            "the Tux Paint stamps in %s are not the pinned %s (%s): the default probe built from them "
            "is not the standard probe, and its results carry an id of their own "
            "(probe.saliency_semantic~<hash>)",
            stamps,
            pinned.pin().source,
            check.summary(),
        )
        root = default_probe_dir(variant=pinned.folder_digest(stamps)[:12])
        if (root / "manifest.json").is_file():
            return ProbeFolder.open(root)
        pool = TuxPaintPool(stamps)
    if not build:
        raise BrainAlignError(
            f"the default probe is not built yet ({root}); run `brainalign probe default`"
        )
    return _build_default(pool, root, check.ok)


def _build_default(pool: TuxPaintPool, root: Path, pinned_stamps: bool) -> ProbeFolder:
    log.info("building the default saliency/semantic probe into %s (once)", root)
    report = build_probe(pool, root, DEFAULT_SETTINGS, overwrite=True)
    for line in report.lines():
        log.info("%s", line)
    wanted = DEFAULT_SETTINGS.n_bases or report.n_pool
    if report.n_complete < MIN_COMPLETE_FRACTION * wanted:
        shutil.rmtree(root, ignore_errors=True)
        raise BrainAlignError(
            f"the Tux Paint stamps in {pool.root} ({report.n_pool} photos) completed only "
            f"{report.n_complete} of {wanted} base images, far fewer than the full package gives; "
            f"delete {pool.root} (or unset BRAINALIGN_TUXPAINT_STAMPS) so the package is fetched again"
        )
    probe = ProbeFolder.open(root)
    if pinned_stamps and not pinned.is_pinned(probe):
        log.warning(
            "the default probe built from the pinned stamps differs from the pinned probe (content "
            "hash %s, pinned %s; closest calls: %s): a saliency change or caption distance came out "
            "on the other side of its threshold, so its results carry an id of their own; please "
            "report it with `pip list` and your platform",
            probe.content_hash,
            pinned.pin().probe_content_sha256,
            probe.manifest.get("decision_margins"),
        )
    return probe


def _fallback(reason: BrainAlignError) -> ProbeFolder:
    """The probe of the bundled photos, where no Tux Paint stamps can be had (flagged)."""
    root = default_probe_dir("bundled")
    log.warning(
        "the Tux Paint stamps are not available (%s); the default probe falls back to the "
        "handful of photos bundled with scikit-image / scikit-learn / matplotlib",
        reason,
    )
    if not (root / "manifest.json").is_file():
        build_probe(bundled_photos_pool(), root, FALLBACK_SETTINGS, overwrite=True)
    return ProbeFolder.open(root)
