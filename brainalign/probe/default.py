"""The embedded default probe: built on first use from the Tux Paint photo cut-outs, cached, reused.

It is not shipped: the stamps come from Debian's archive (``apt-get download``, about 160 MB,
once) and the probe is built from them with fixed settings (:data:`DEFAULT_SETTINGS`, seed 0,
200 base images) into ``cache_dir()/probe/``. Building is deterministic, so every machine gets
the same images (compare the manifest's hashes). Where the stamps cannot be had, the few photos
bundled with scikit-image / scikit-learn / matplotlib are used instead, with a warning: that probe
has only a handful of base images and its numbers are not comparable with the default's.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from ..errors import BrainAlignError
from ..paths import cache_dir
from .builder import BUILDER_VERSION, BuildSettings, ThresholdQuantiles, build_probe
from .pools import bundled_photos_pool
from .folder import ProbeFolder
from .tuxpaint import TuxPaintPool

log = logging.getLogger(__name__)

DEFAULT_SETTINGS = BuildSettings(seed=0, n_bases=200)
#: A default build completing fewer base images than this share of its target used a damaged or
#: foreign stamp folder: refuse it rather than score models on a handful of images.
MIN_COMPLETE_FRACTION = 0.75
#: A pool of 17 photos needs looser quantiles and every distractor to complete any base image.
FALLBACK_SETTINGS = BuildSettings(
    seed=0, n_bases=None, max_distractors=16,
    thresholds=ThresholdQuantiles(semantic_similar=0.3, semantic_dissimilar=0.5,
                                  saliency_non_salient=0.4, saliency_salient=0.6),
)


def default_probe_dir(pool: str = "tuxpaint") -> Path:
    """Where the default probe built from ``pool`` (``tuxpaint`` or ``bundled``) is cached."""
    settings = DEFAULT_SETTINGS if pool == "tuxpaint" else FALLBACK_SETTINGS
    size = settings.n_bases or "all"
    return cache_dir() / "probe" / f"{pool}-b{BUILDER_VERSION}-seed{settings.seed}-n{size}"


def is_built() -> bool:
    return (default_probe_dir() / "manifest.json").is_file()


def default_probe(*, build: bool = True) -> ProbeFolder:
    """The default probe, built now if it is not in the cache yet (``build``)."""
    root = default_probe_dir()
    if (root / "manifest.json").is_file():
        return ProbeFolder.open(root)
    if not build:
        raise BrainAlignError(f"the default probe is not built yet ({root}); run `brainalign probe default`")
    try:
        pool = TuxPaintPool()
    except BrainAlignError as err:
        fallback = default_probe_dir("bundled")
        log.warning(
            "the Tux Paint stamps are not available (%s); the default probe falls back to the "
            "handful of photos bundled with scikit-image / scikit-learn / matplotlib", err,
        )
        if not (fallback / "manifest.json").is_file():
            build_probe(bundled_photos_pool(), fallback, FALLBACK_SETTINGS, overwrite=True)
        return ProbeFolder.open(fallback)
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
    return ProbeFolder.open(root)
