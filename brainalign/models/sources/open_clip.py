"""open_clip models, visual tower only: pretrained tags, Hugging Face / ``~/.cache/clip`` caches,
open_clip's own preprocess. OpenAI's weights were trained with QuickGELU, so the architecture
is built with it whenever the tag says so (untrained twins too, to stay the same network)."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from urllib.parse import urlparse

from ...errors import BrainAlignError
from ..cards import ModelCard
from ..weights import hf_cache_location, hf_cached_file, unavailable
from . import Built, quiet_root_logger, seeded

# The files open_clip's download_pretrained_from_hf looks for, safetensors first.
HF_FILENAMES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
LEGACY_CACHE = Path("~/.cache/clip")


def oc() -> ModuleType:
    """open_clip, imported on first use (it pulls in transformers: a second or more)."""
    import open_clip

    return open_clip


def check_architecture(arch: str) -> None:
    if arch not in oc().list_models():
        raise BrainAlignError(
            f"open_clip has no architecture {arch!r}; see oc().list_models() (e.g. RN50, ViT-B-32)"
        )


def tag_config(arch: str, tag: str) -> dict[str, object]:
    check_architecture(arch)
    config = oc().get_pretrained_cfg(arch, tag)
    if not config:
        tags = oc().list_pretrained_tags_by_model(arch)
        raise BrainAlignError(
            f"open_clip {arch} has no pretrained weights {tag!r}; choose one of {', '.join(tags)}"
        )
    return dict(config)


def _hf_repo(config: dict[str, object]) -> tuple[str, tuple[str, ...]] | None:
    """Repository and candidate file names, split the way open_clip's download_pretrained does."""
    hub = str(config.get("hf_hub") or "")
    if not hub:
        return None
    repo, filename = os.path.split(hub)
    if not filename:
        return repo, HF_FILENAMES
    if filename.endswith((".bin", ".pth")):
        return repo, (filename[:-4] + ".safetensors", filename)
    return repo, (filename,)


def _legacy_path(config: dict[str, object]) -> Path | None:
    url = str(config.get("url") or "")
    return LEGACY_CACHE.expanduser() / os.path.basename(urlparse(url).path) if url else None


def cached_file(config: dict[str, object]) -> Path | None:
    """The tag's checkpoint if already in the Hugging Face cache or ``~/.cache/clip``."""
    repo = _hf_repo(config)
    if repo is not None:
        found = hf_cached_file(*repo)
        if found is not None:
            return found
    legacy = _legacy_path(config)
    return legacy if legacy is not None and legacy.is_file() else None


def weights_file(card: ModelCard, config: dict[str, object]) -> Path:
    """The tag's checkpoint: from a cache, else through open_clip's own download."""
    found = cached_file(config)
    if found is not None:
        return found
    searched = [p for p in (_hf_cache(config), _legacy_path(config)) if p is not None]
    try:
        target = oc().pretrained.download_pretrained(config)
    except Exception as err:  # offline, refused, checksum mismatch …
        raise unavailable(card, searched, f"{type(err).__name__}: {err}") from None
    if not target:
        raise unavailable(card, searched, "open_clip knows no download location for these weights")
    return Path(target)


def _hf_cache(config: dict[str, object]) -> Path | None:
    repo = _hf_repo(config)
    return hf_cache_location(repo[0]) if repo else None


def _create(arch: str, config: dict[str, object]):
    preprocess_keys = ("mean", "std", "interpolation", "resize_mode")
    with quiet_root_logger():
        model = oc().create_model(
            arch,
            pretrained=None,
            force_quick_gelu=bool(config.get("quick_gelu", False)),
            force_preprocess_cfg={k: config[k] for k in preprocess_keys if k in config},
        )
    preprocess = oc().transform.image_transform_v2(
        oc().transform.PreprocessCfg(**model.visual.preprocess_cfg), is_train=False
    )
    return model, preprocess


def build_pretrained(card: ModelCard, arch: str, tag: str, weights: Path | None) -> Built:
    config = tag_config(arch, tag)
    path = weights if weights is not None else weights_file(card, config)  # load_model checked it
    model, preprocess = _create(arch, config)
    try:
        oc().load_checkpoint(model, str(path), weights_only=True)
    except Exception as err:
        raise BrainAlignError(
            f"cannot load {path} into open_clip {arch} ({type(err).__name__}: {err}); the file "
            "must be an open_clip checkpoint of this architecture"
        ) from None
    return Built(model.visual, preprocess, path)


def build_untrained(arch: str, tag: str | None, seed: int) -> Built:
    config = tag_config(arch, tag) if tag else {}
    check_architecture(arch)
    with seeded(seed):
        model, preprocess = _create(arch, config)
    return Built(model.visual, preprocess)
