"""Where brainalign keeps its cache, finds local data and puts results.

``BRAINALIGN_CACHE`` overrides the per-user cache (default ``~/.cache/brainalign``, or
``$XDG_CACHE_HOME/brainalign``); ``BRAINALIGN_DATA`` (or ``--data-dir``) names a local folder
that holds data sets, used instead of the network; ``BRAINALIGN_RESULTS`` (or ``--results``) the
results folder (default ``./results``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import BrainAlignError


def default_results_dir() -> Path:
    """Where results go unless a command says otherwise: ``$BRAINALIGN_RESULTS``, else ``./results``."""
    return Path(os.environ.get("BRAINALIGN_RESULTS", "results")).expanduser()


def cache_dir() -> Path:
    """The per-user cache: layer RDMs, downloaded data, the built default probe."""
    explicit = os.environ.get("BRAINALIGN_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "brainalign"


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The local data folder: an explicit ``--data-dir``, else ``BRAINALIGN_DATA``, else None.

    A folder named but absent is an error (a typo must not quietly mean "no local data").
    """
    if explicit is not None:
        folder, fix = Path(explicit).expanduser(), "fix the path"
    elif os.environ.get("BRAINALIGN_DATA"):
        folder = Path(os.environ["BRAINALIGN_DATA"]).expanduser()
        fix = "fix BRAINALIGN_DATA, or unset it to use the cache only"
    else:
        return None
    if not folder.is_dir():
        raise BrainAlignError(f"data folder {folder} does not exist; {fix}")
    return folder
