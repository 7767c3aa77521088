"""Where brainalign keeps its cache and finds local data.

``BRAINALIGN_CACHE`` overrides the per-user cache (default ``~/.cache/brainalign``, or
``$XDG_CACHE_HOME/brainalign``); ``BRAINALIGN_DATA`` (or ``--data-dir``) names a local folder
that holds data sets, used instead of the network.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The per-user cache: layer RDMs, downloaded data, the built default probe."""
    explicit = os.environ.get("BRAINALIGN_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "brainalign"


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The local data folder: an explicit ``--data-dir``, else ``BRAINALIGN_DATA``, else None."""
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get("BRAINALIGN_DATA")
    return Path(env).expanduser() if env else None
