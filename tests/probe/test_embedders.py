"""Caption semantics: the offline default embedder, averaging over captions, the pluggable others."""

from __future__ import annotations

import socket
import sys

import numpy as np
import pytest
from probe_synthetic import BagOfWordsEmbedder
from scipy.spatial.distance import pdist

from brainalign.errors import BrainAlignError
from brainalign.probe.embedders import (
    CaptionEmbedder,
    OpenClipTextEmbedder,
    UniversalSentenceEncoder,
    caption_vectors,
    get_embedder,
    minilm_embedder,
    semantic_rdm,
)
from brainalign.rsa import to_square


def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_minilm_works_offline_and_puts_cat_nearer_dog_than_trumpet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _no_network(monkeypatch)
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)  # our code must set them itself
    embedder = minilm_embedder()
    assert isinstance(embedder, CaptionEmbedder)
    vectors = embedder.embed(["A cat.", "A dog.", "A trumpet."])
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-12)
    square = to_square(semantic_rdm([["A cat."], ["A dog."], ["A trumpet."]], embedder))
    assert square[0, 1] < square[0, 2] - 0.1
    # several captions per image: a kitten photo described twice sits with the cat, not the trumpet
    square = to_square(
        semantic_rdm(
            [["A cat."], ["A small kitten.", "A young cat playing."], ["A trumpet."]], embedder
        )
    )
    assert square[0, 1] < square[1, 2]
    np.testing.assert_allclose(embedder.embed(["A cat."]), vectors[:1], atol=1e-6)  # deterministic
    import os

    assert "HF_HUB_OFFLINE" not in os.environ  # restored after loading


def test_semantic_rdm_is_the_cosine_rdm_of_mean_caption_embeddings() -> None:
    embedder = BagOfWordsEmbedder()
    captions = [
        ["red apple", "green apple fruit"],
        ["banana fruit"],
        ["fast car", "red car", "car road"],
    ]
    means = [embedder.embed(group).mean(axis=0) for group in captions]
    expected = pdist(np.array(means), "cosine")
    np.testing.assert_allclose(semantic_rdm(captions, embedder), expected, atol=1e-12)
    assert embedder.calls == 1 + 3  # caption_vectors embeds everything in one call
    np.testing.assert_allclose(caption_vectors(captions, embedder)[2], means[2], atol=1e-12)


def test_every_image_needs_a_caption() -> None:
    with pytest.raises(BrainAlignError, match="no caption"):
        caption_vectors([["a"], []], BagOfWordsEmbedder())
    with pytest.raises(BrainAlignError, match="not one string"):
        minilm_embedder().embed("a single caption")


def test_embedder_specs() -> None:
    assert get_embedder("all-MiniLM-L6-v2").name == "all-MiniLM-L6-v2"
    clip = get_embedder("open_clip:ViT-B-32:/weights/model.pt")
    assert isinstance(clip, OpenClipTextEmbedder) and clip.weights == "/weights/model.pt"
    assert isinstance(get_embedder("use"), UniversalSentenceEncoder)
    custom = BagOfWordsEmbedder()
    assert get_embedder(custom) is custom
    with pytest.raises(BrainAlignError, match="unknown caption embedder"):
        get_embedder("word2vec")
    with pytest.raises(BrainAlignError, match="needs a model and weights"):
        get_embedder("open_clip:ViT-B-32")
    with pytest.raises(BrainAlignError, match="does not exist"):
        get_embedder("sentence-transformers:/no/such/model").embed(["x"])


def test_universal_sentence_encoder_without_tensorflow_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "tensorflow_hub", None)  # import fails as if not installed
    with pytest.raises(BrainAlignError, match="pip install tensorflow tensorflow-hub"):
        UniversalSentenceEncoder().embed(["A cat."])


TINY_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1},
}


def test_open_clip_text_tower_from_a_local_checkpoint(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import open_clip
    import torch

    (tmp_path / "brainalign-tiny-clip.json").write_text(json.dumps(TINY_CLIP))
    open_clip.add_model_config(tmp_path / "brainalign-tiny-clip.json")
    torch.manual_seed(0)
    model = open_clip.create_model("brainalign-tiny-clip", pretrained=None)
    checkpoint = tmp_path / "clip.pt"
    torch.save(model.state_dict(), checkpoint)
    _no_network(monkeypatch)
    embedder = get_embedder(f"open_clip:brainalign-tiny-clip:{checkpoint}")
    captions = ["A cat.", "A trumpet."]
    vectors = embedder.embed(captions)
    with torch.no_grad():
        reference = model.eval().encode_text(
            open_clip.get_tokenizer("brainalign-tiny-clip")(captions)
        )
    reference = torch.nn.functional.normalize(reference.double(), dim=-1).numpy()
    np.testing.assert_allclose(vectors, reference, atol=1e-5)
    with pytest.raises(BrainAlignError, match="cannot be loaded offline"):
        OpenClipTextEmbedder("brainalign-tiny-clip", "not-a-cached-tag").embed(["A cat."])
