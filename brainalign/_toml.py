"""Reading TOML files on every supported Python: the standard library's ``tomllib`` from 3.11 on,
its backport ``tomli`` (a conditional dependency) on 3.10."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import BrainAlignError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef, unused-ignore]


def load_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The TOML document at ``path``; a missing or malformed file is a :class:`BrainAlignError`
    naming the file and, for a syntax error, the line."""
    file = Path(path).expanduser()
    try:
        with open(file, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise BrainAlignError(f"{file} does not exist") from None
    except IsADirectoryError:
        raise BrainAlignError(f"{file} is a folder, not a TOML file") from None
    except tomllib.TOMLDecodeError as err:
        raise BrainAlignError(f"{file} is not valid TOML ({err}); see https://toml.io") from None
    except UnicodeDecodeError:
        raise BrainAlignError(f"{file} is not UTF-8 text; save it as UTF-8 TOML") from None
