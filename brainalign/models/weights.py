"""Weights files: find them in the frameworks' caches, read them safely, fail honestly.

Pretrained weights come from (1) a file the user names (``--weights FILE``), (2) the owning
framework's cache (torch hub, the Hugging Face hub cache, ``~/.cache/clip``) or (3) that
framework's own download. When all three fail the error names the weights, the paths searched
and the ``--weights`` option; nothing ever falls back to random weights. Checkpoints are read with
``torch.load(weights_only=True)`` or safetensors: no pickles.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..errors import BrainAlignError

if TYPE_CHECKING:
    from .cards import ModelCard


class WeightsUnavailableError(BrainAlignError):
    """Pretrained weights are neither cached on this machine nor downloadable."""


def unavailable(
    card: ModelCard, searched: Iterable[str | Path], reason: str
) -> WeightsUnavailableError:
    places = ", ".join(str(p) for p in searched)
    return WeightsUnavailableError(
        f"pretrained weights {card.weights_id!r} of model {card.id} ({card.source} "
        f"{card.architecture}) are not on this machine and could not be downloaded ({reason}). "
        f"Searched: {places}. Put the file there (e.g. copied from a machine with internet) or "
        f"pass it with --weights FILE (Python: load_model({card.id!r}, weights='FILE')); "
        f"'{card.id}:untrained' is the untrained twin"
    )


def weights_file_path(path: str | Path) -> Path:
    """``path`` with ``~`` expanded, checked to be a file (the one check of a --weights FILE)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise BrainAlignError(f"weights file {path} does not exist; check the --weights path")
    return path


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from ``.safetensors`` or a torch checkpoint, without unpickling code."""
    path = weights_file_path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # corrupt file, pickled code, TorchScript archive …
        raise BrainAlignError(
            f"cannot read weights file {path} ({type(err).__name__}{_cause(err)}); it must be a "
            ".safetensors file or a torch checkpoint of tensors (torch.save(model.state_dict())), "
            "which is read without unpickling code"
        ) from None
    for key in ("state_dict", "model", "module"):
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise BrainAlignError(f"weights file {path} does not hold a state dict of tensors")
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return dict(state)


def _cause(err: Exception) -> str:
    """The gist of a loader's error: torch's weights-only refusal is a page of advice to unpickle
    (which brainalign never does); only what it could not read is kept."""
    text = str(err).strip()
    if text.startswith("Weights only load failed"):
        found = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\.\s|\n|$)", text, re.DOTALL)
        return ": refused by torch.load(weights_only=True)" + (
            f": {found.group(1).strip()}" if found else ""
        )
    return f": {text.splitlines()[0][:300]}" if text else ""


def load_into(module: nn.Module, state: Mapping[str, torch.Tensor], source: str | Path) -> None:
    """Load every tensor strictly; a mismatch names the missing and unexpected keys."""
    try:
        result = module.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatch
        raise BrainAlignError(f"weights in {source} do not fit this architecture: {err}") from None
    if result.missing_keys or result.unexpected_keys:
        raise BrainAlignError(
            f"weights in {source} do not fit this architecture: missing {result.missing_keys[:5]}"
            f"{'…' if len(result.missing_keys) > 5 else ''}, unexpected "
            f"{result.unexpected_keys[:5]}{'…' if len(result.unexpected_keys) > 5 else ''}"
        )


def state_sha256(module: nn.Module) -> str:
    """sha256 over every parameter and buffer (names, dtypes, shapes, bytes): the weights' identity,
    whatever file or initialisation they came from."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        tensor = tensor.detach().to("cpu").contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().data)
    return digest.hexdigest()


def hf_cached_file(repo_id: str, filenames: Iterable[str]) -> Path | None:
    """The first of ``filenames`` already in the Hugging Face cache, without touching the network."""
    from huggingface_hub import try_to_load_from_cache

    for filename in filenames:
        found = try_to_load_from_cache(repo_id, filename)
        if isinstance(found, str):
            return Path(found)
    return None


def hf_cache_location(repo_id: str) -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE) / f"models--{repo_id.replace('/', '--')}"
