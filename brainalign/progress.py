"""Progress bars on stderr, silenced globally by ``--quiet`` (or ``BRAINALIGN_QUIET=1``)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")

_quiet = os.environ.get("BRAINALIGN_QUIET", "") not in ("", "0")


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def is_quiet() -> bool:
    return _quiet


def progress(iterable: Iterable[T] | None = None, **kwargs: Any) -> tqdm[T]:
    """A tqdm bar on stderr that respects the global quiet switch."""
    kwargs.setdefault("disable", _quiet)
    kwargs.setdefault("leave", False)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, **kwargs)
