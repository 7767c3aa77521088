"""The saliency/semantic probe: Itti–Koch saliency, caption semantics, distractor stimuli."""

from .itti_koch import saliency_change, saliency_map, saliency_maps, saliency_rdm

__all__ = ["saliency_change", "saliency_map", "saliency_maps", "saliency_rdm"]
