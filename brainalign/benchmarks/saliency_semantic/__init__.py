"""The saliency/semantic probe: Itti–Koch saliency, caption semantics, distractor stimuli."""

from .builder import (
    CONDITIONS,
    STUDY_THRESHOLDS,
    BuildReport,
    BuildSettings,
    ThresholdQuantiles,
    Thresholds,
    build_probe,
)
from .default_probe import default_probe, default_probe_dir
from .itti_koch import saliency_change, saliency_map, saliency_maps, saliency_rdm
from .pools import CocoPool, FolderPool, ImagePool, bundled_photos_pool
from .probe import SaliencySemanticProbe, score_layers
from .probe_folder import ProbeFolder, check_probe
from .semantics import (
    CaptionEmbedder,
    OpenClipTextEmbedder,
    SentenceTransformerEmbedder,
    UniversalSentenceEncoder,
    caption_vectors,
    get_embedder,
    minilm_embedder,
    semantic_rdm,
)
from .tuxpaint import TuxPaintPool

__all__ = [
    "CONDITIONS", "STUDY_THRESHOLDS", "BuildReport", "BuildSettings", "CaptionEmbedder", "CocoPool",
    "FolderPool", "ImagePool", "OpenClipTextEmbedder", "ProbeFolder", "SaliencySemanticProbe",
    "SentenceTransformerEmbedder", "ThresholdQuantiles", "Thresholds", "TuxPaintPool",
    "UniversalSentenceEncoder", "build_probe", "bundled_photos_pool", "caption_vectors",
    "check_probe", "default_probe", "default_probe_dir", "get_embedder", "minilm_embedder",
    "saliency_change", "saliency_map", "saliency_maps", "saliency_rdm", "score_layers",
    "semantic_rdm",
]
