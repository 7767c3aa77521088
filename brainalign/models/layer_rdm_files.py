"""Layer RDMs on disk: one ``.npz`` (no pickles) with the RDMs, layer names, depths, stimulus
ids, distance and a JSON provenance record; written atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .._files import NPZ_READ_ERRORS, write_npz_atomic
from .._version import __version__
from ..errors import BrainAlignError
from ..rsa import LayerRDMs, RDMs

if TYPE_CHECKING:
    from ..stimuli import StimulusSet
    from .loaded import LoadedModel


def provenance(model: LoadedModel, stimuli: StimulusSet, **settings: Any) -> dict[str, Any]:
    """What reproduces a set of layer RDMs: model card and weights, stimuli, settings, versions."""
    return {
        **model.provenance(),
        "module_sha256": model.state_sha256(),
        "stimuli": {"name": stimuli.name, "n": len(stimuli), "content_hash": stimuli.content_hash},
        "device": str(model.device),
        **settings,
        "brainalign": __version__,
        "torch": torch.__version__,
    }


def save_layer_rdms(path: str | Path, layer_rdms: LayerRDMs, provenance: dict[str, Any]) -> Path:
    """Write ``layer_rdms`` and ``provenance`` to ``path`` (an ``.npz``)."""
    path = Path(path).expanduser()
    arrays = {
        "rdms": layer_rdms.rdms.data,
        "layers": np.array(layer_rdms.layers, dtype=np.str_),
        "depths": np.array(layer_rdms.depths, dtype=np.float64),
        "stimulus_ids": np.array(layer_rdms.stimulus_ids, dtype=np.str_),
        "distance": np.str_(layer_rdms.rdms.distance),
        "model_id": np.str_(layer_rdms.model_id),
        "provenance": np.str_(json.dumps(provenance, sort_keys=True, default=str)),
    }
    write_npz_atomic(path, arrays)
    return path


def read_layer_rdms(path: str | Path) -> tuple[LayerRDMs, dict[str, Any]]:
    """The layer RDMs and provenance saved by :func:`save_layer_rdms`."""
    path = Path(path).expanduser()
    try:
        with np.load(path, allow_pickle=False) as data:
            rdms = RDMs(
                data["rdms"],
                tuple(data["layers"].tolist()),
                tuple(data["stimulus_ids"].tolist()),
                str(data["distance"]),
            )
            result = LayerRDMs(rdms, tuple(data["depths"].tolist()), str(data["model_id"]))
            provenance = json.loads(str(data["provenance"]))
    except FileNotFoundError:
        raise BrainAlignError(f"layer RDM file {path} does not exist") from None
    except NPZ_READ_ERRORS as err:
        raise BrainAlignError(
            f"{path} is not a readable brainalign layer RDM file ({type(err).__name__}: {err}); if "
            "it was cut short or damaged, delete it and write it again with `brainalign extract`"
        ) from None
    return result, provenance
