"""``brainalign info``: versions, folders, device, and which model weights work offline."""

from __future__ import annotations

import platform
from importlib import metadata

import click

from .._version import __version__
from ..errors import BrainAlignError
from ..paths import cache_dir, data_dir

_LIBRARIES = (
    "numpy",
    "scipy",
    "pandas",
    "torch",
    "torchvision",
    "timm",
    "open_clip",
    "rsatoolbox",
    "sentence_transformers",
    "nibabel",
    "nilearn",
)


_DISTRIBUTIONS = {"open_clip": "open_clip_torch", "sentence_transformers": "sentence-transformers"}


def _library_version(name: str) -> str:
    try:
        return metadata.version(_DISTRIBUTIONS.get(name, name))
    except metadata.PackageNotFoundError:
        return "not installed"


def _device() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)}; {torch.cuda.device_count()} device(s))"
    return f"cpu ({torch.get_num_threads()} threads)"


def info_rows() -> list[tuple[str, str]]:
    try:
        local = data_dir()
        data = f"{local}" if local else "none (set BRAINALIGN_DATA or --data-dir)"
    except BrainAlignError as err:  # info shows the problem; the commands that need data stop on it
        data = str(err)
    rows = [
        ("brainalign", __version__),
        ("python", platform.python_version()),
        *[(name, _library_version(name)) for name in _LIBRARIES],
        ("cache directory", str(cache_dir())),
        ("data directory", data),
        ("device", _device()),
        ("offline weights", _offline_weights()),
    ]
    return rows


def _offline_weights() -> str:
    """Pretrained models whose weights load here without a download."""
    from ..models import list_models, weights_available

    ready = [
        c.id for c in list_models() if not c.untrained and c.weights_id and weights_available(c)
    ]
    return ", ".join(ready) if ready else "none (untrained twins and pixels only)"


@click.command()
def info() -> None:
    """Print versions, the cache and data folders, the device, and offline weights."""
    rows = info_rows()
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key:<{width}}  {value}")


commands = [info]
