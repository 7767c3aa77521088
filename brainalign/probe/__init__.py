"""The saliency/semantic probe product: stimuli that pull saliency and semantics apart.

Image pools (Tux Paint cut-outs, a folder of captioned photos, COCO/NSD), caption embedders
(what an image means), Itti–Koch saliency maps (what stands out), compositing of distractors,
the builder that searches for distractors meeting the four conditions, and the probe folder
format that the benchmark ``probe.saliency_semantic`` scores.

>>> from brainalign.probe import TuxPaintPool, build_probe, ProbeFolder   # doctest: +SKIP
>>> build_probe(TuxPaintPool(), "my_probe/")                             # doctest: +SKIP
>>> ProbeFolder.open("my_probe/").stimulus_sets()                       # doctest: +SKIP
"""

from .builder import (
    CONDITIONS,
    STUDY_THRESHOLDS,
    BuildSettings,
    ProbeBuild,
    ThresholdQuantiles,
    Thresholds,
    build_probe,
)
from .default import default_probe, default_probe_dir
from .embedders import (
    CaptionEmbedder,
    OpenClipTextEmbedder,
    SentenceTransformerEmbedder,
    UniversalSentenceEncoder,
    caption_vectors,
    get_embedder,
    minilm_embedder,
    semantic_rdm,
)
from .folder import ProbeCheck, ProbeFolder, check_probe
from .itti_koch import saliency_change, saliency_map, saliency_maps, saliency_rdm
from .pools import CocoPool, FolderPool, ImagePool, bundled_photos_pool
from .tuxpaint import TuxPaintPool

__all__ = [
    "CONDITIONS",
    "STUDY_THRESHOLDS",
    "BuildSettings",
    "CaptionEmbedder",
    "CocoPool",
    "FolderPool",
    "ImagePool",
    "OpenClipTextEmbedder",
    "ProbeBuild",
    "ProbeCheck",
    "ProbeFolder",
    "SentenceTransformerEmbedder",
    "ThresholdQuantiles",
    "Thresholds",
    "TuxPaintPool",
    "UniversalSentenceEncoder",
    "build_probe",
    "bundled_photos_pool",
    "caption_vectors",
    "check_probe",
    "default_probe",
    "default_probe_dir",
    "get_embedder",
    "minilm_embedder",
    "saliency_change",
    "saliency_map",
    "saliency_maps",
    "saliency_rdm",
    "semantic_rdm",
]
