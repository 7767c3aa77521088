"""A disk cache of layer RDMs (small) and of layer kernels (their Gram matrices, or a sketch of the
activations above ``metrics.kernels.SMALL`` stimuli), never of activations (huge).

One ``.npz`` per layer under ``cache_dir()/layer_rdms``, named by the sha256 of everything that
determines the RDM: the model card, the sha256 of the module's actual parameters, the
preprocessing (mode, transform, and the sha256 of its output on a fixed image: two transforms
that print alike still differ there), the stimuli's content hash, the layer, the distance, the
batch size and device type (float rounding may differ with either), and the versions of
brainalign and torch. Files are written atomically as soon as a layer is done, so an
interrupted extraction resumes with the layers it had finished. A layer's kernel lies beside its
RDM, under the same key with the distance replaced by the kernel's form (``gram`` or ``sketch``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from .._files import NPZ_READ_ERRORS, write_npz_atomic
from .._version import __version__
from ..paths import cache_dir
from . import preprocessing as pp

if TYPE_CHECKING:
    from ..stimuli import StimulusSet
    from .loaded import LoadedModel

log = logging.getLogger(__name__)

# Bump when the way activations become RDMs changes (flattening, token handling, …).
FORMAT = 2  # 2: cosine/correlation distances within rsa.ZERO_DISTANCE of zero are zero


class LayerRDMCache:
    """Get and put the RDM of one layer of one model on one stimulus set."""

    def __init__(
        self, model: LoadedModel, stimuli: StimulusSet, *, distance: str, batch_size: int
    ) -> None:
        self.root = cache_dir() / "layer_rdms"
        self.n_stimuli = len(stimuli)
        self.identity = {
            "format": FORMAT,
            "card": model.card.to_dict(),
            "module_sha256": model.state_sha256(),
            "preprocessing": model.preprocessing,
            "preprocess": pp.describe(model.preprocess),
            "preprocess_sha256": model.preprocess_sha256,
            "stimuli": stimuli.content_hash,
            "distance": distance,
            "batch_size": batch_size,
            "device": model.device.type,
            "brainalign": __version__,
            "torch": torch.__version__,
        }

    def key(self, layer: str) -> str:
        text = json.dumps({**self.identity, "layer": layer}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def path(self, layer: str) -> Path:
        key = self.key(layer)
        return self.root / key[:2] / f"{key}.npz"

    def get(self, layer: str) -> np.ndarray | None:
        path = self.path(layer)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                rdm = np.array(data["rdm"], dtype=np.float64)
                stored_layer = str(data["layer"])
        except NPZ_READ_ERRORS as err:  # truncated or foreign file: recompute and overwrite
            log.warning("ignoring unreadable cached layer RDM %s (%s)", path, err)
            return None
        if stored_layer != layer or rdm.shape != (self.n_stimuli * (self.n_stimuli - 1) // 2,):
            log.warning("ignoring cached layer RDM %s: it does not match layer %s", path, layer)
            return None
        return rdm

    def kernel_path(self, layer: str, form: str) -> Path:
        """Where the layer's kernel lies (``form``: ``gram`` or ``sketch``), beside its RDM: keyed
        like it, with the distance (which a kernel does not depend on) replaced by the form."""
        text = json.dumps(
            {**self.identity, "distance": form, "layer": layer}, sort_keys=True, default=str
        )
        key = hashlib.sha256(text.encode()).hexdigest()
        return self.root / key[:2] / f"{key}.{form}.npz"

    def get_kernel(self, layer: str, form: str) -> np.ndarray | None:
        """The cached Gram matrix ``(n, n)`` or sketch ``(n, k)`` of ``layer``, if any."""
        path = self.kernel_path(layer, form)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                kernel = np.array(data[form], dtype=np.float64)
                stored_layer = str(data["layer"])
        except NPZ_READ_ERRORS as err:
            log.warning("ignoring unreadable cached layer kernel %s (%s)", path, err)
            return None
        if stored_layer != layer or kernel.ndim != 2 or kernel.shape[0] != self.n_stimuli:
            log.warning("ignoring cached layer kernel %s: it does not match layer %s", path, layer)
            return None
        return kernel

    def put_kernel(self, layer: str, form: str, kernel: np.ndarray) -> None:
        write_npz_atomic(
            self.kernel_path(layer, form),
            {
                form: np.asarray(kernel, np.float64),
                "layer": np.str_(layer),
            },
        )

    def put(self, layer: str, rdm: np.ndarray) -> None:
        identity = json.dumps({**self.identity, "layer": layer}, sort_keys=True, default=str)
        write_npz_atomic(
            self.path(layer),
            {
                "rdm": np.asarray(rdm, np.float64),
                "layer": np.str_(layer),
                "identity": np.str_(identity),
            },
        )
