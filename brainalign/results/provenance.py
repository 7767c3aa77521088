"""How a result was made: the software environment that numbers depend on, bit for bit.

A result's provenance (see :class:`brainalign.results.Result`) records the model card, the
benchmark, the seed, the stimuli and data checksums and the preprocessing; :func:`environment`
adds what floating-point results depend on besides the inputs: library versions and the number
of threads torch computes with (reductions round differently with another count). It is kept
apart from the reuse key (what must match for a stored result to be reused).
"""

from __future__ import annotations

import platform
import sys
from importlib import metadata

#: Distributions whose versions a result records.
LIBRARIES = (
    "numpy",
    "scipy",
    "torch",
    "torchvision",
    "timm",
    "open_clip_torch",
    "sentence-transformers",
)


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, object]:
    """Python and library versions, the machine, and torch's thread count (if torch is loaded)."""
    record: dict[str, object] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "libraries": {name: _version(name) for name in LIBRARIES},
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        record["torch_threads"] = int(torch.get_num_threads())
    return record
