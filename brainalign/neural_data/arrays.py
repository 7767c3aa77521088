"""NumPy files (``.npy``, ``.npz``) read as data, never as code: no pickles, and every array's
header checked against the bytes the file (or the ``.npz`` member) really holds *before* anything
is allocated, so a damaged or hostile header that declares a petabyte-sized array is one error
naming the file, not a ``MemoryError``."""

from __future__ import annotations

import math
import zipfile
import zlib
from pathlib import Path
from typing import IO

import numpy as np

from ..errors import BrainAlignError

#: The most a deflated zip member can expand (deflate's limit is about 1032:1): a member declaring
#: more bytes than this times its compressed size is damaged, whatever its header says.
MAX_DEFLATE_RATIO = 1100
_FORMAT = np.lib.format


def array_header(
    handle: IO[bytes], available: int, file: Path, member: str = ""
) -> tuple[tuple[int, ...], np.dtype]:
    """Read a ``.npy`` header from ``handle`` (``file``, or its ``.npz`` member ``member``) and
    check it: no Python objects, and no more data declared than the ``available`` bytes (header
    included) hold."""
    what = (
        f"{file} is not a readable .npz file: its array {member!r}"
        if member
        else f"{file} is not a readable .npy file: it"
    )
    try:
        version = _FORMAT.read_magic(handle)
        reader = (
            _FORMAT.read_array_header_1_0 if version == (1, 0) else _FORMAT.read_array_header_2_0
        )
        shape, _, dtype = reader(handle)
    except (ValueError, EOFError, OSError, SyntaxError) as err:
        raise BrainAlignError(
            f"{what} has no valid array header ({err}); it is corrupt or truncated: "
            "replace it with an intact copy"
        ) from None
    if dtype.hasobject:
        raise BrainAlignError(
            f"{what} holds Python objects (pickles), which brainalign never loads; "
            "save plain numeric arrays with np.save"
        )
    declared = math.prod(int(n) for n in shape) * dtype.itemsize
    holds = available - handle.tell()
    if declared > holds:
        raise BrainAlignError(
            f"{what} declares shape {tuple(shape)} ({dtype}, {declared:,} bytes) but holds "
            f"{max(holds, 0):,} bytes of data: it is truncated or its header is damaged; replace the "
            "file with an intact copy"
        )
    return tuple(shape), dtype


def read_npy(path: str | Path, *, mmap: bool = False) -> np.ndarray:
    """The array of a ``.npy`` file (``mmap``: memory-mapped, read-only), header checked first."""
    file = Path(path)
    try:
        with open(file, "rb") as handle:
            array_header(handle, file.stat().st_size, file)
        return np.load(file, mmap_mode="r" if mmap else None, allow_pickle=False)
    except BrainAlignError:
        raise
    except FileNotFoundError:
        raise BrainAlignError(f"data file {file} does not exist") from None
    except (ValueError, OSError, EOFError) as err:
        raise BrainAlignError(
            f"{file} is not a readable .npy file ({err}); it is corrupt, truncated or holds "
            "Python objects: save plain numeric arrays with np.save"
        ) from None


def npz_members(path: str | Path) -> list[str]:
    """The array names of an ``.npz`` (``arr_0``, …), every member's header checked."""
    file = Path(path)
    try:
        with zipfile.ZipFile(file) as archive:
            names = []
            for info in archive.infolist():
                if info.compress_type != zipfile.ZIP_STORED and (
                    info.file_size > MAX_DEFLATE_RATIO * max(info.compress_size, 1)
                ):
                    raise BrainAlignError(
                        f"{file} is not a readable .npz file: its member {info.filename!r} declares "
                        f"{info.file_size:,} bytes, more than its {info.compress_size:,} compressed bytes "
                        "can hold; replace the file with an intact copy"
                    )
                with archive.open(info) as member:
                    array_header(member, info.file_size, file, info.filename.removesuffix(".npy"))
                names.append(info.filename.removesuffix(".npy"))
            return names
    except BrainAlignError:
        raise
    except FileNotFoundError:
        raise BrainAlignError(f"data file {file} does not exist") from None
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, KeyError) as err:
        raise BrainAlignError(
            f"{file} is not a readable .npz file ({err}); it is corrupt or truncated: "
            "replace it with an intact copy"
        ) from None


def read_npz(path: str | Path, key: str | None = None) -> np.ndarray:
    """The array ``key`` (or the only array) of an ``.npz``, every header checked first."""
    file = Path(path)
    keys = npz_members(file)
    if key is None:
        if len(keys) != 1:
            raise BrainAlignError(
                f"{file} holds arrays {keys}; name the one with the RDMs (key=...)"
            )
        key = keys[0]
    if key not in keys:
        raise BrainAlignError(f"{file} has no array {key!r} (it holds {keys})")
    try:
        with np.load(file, allow_pickle=False) as archive:
            return archive[key]
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, KeyError) as err:
        raise BrainAlignError(
            f"{file} is not a readable .npz file ({err}); it is corrupt or truncated: "
            "replace it with an intact copy"
        ) from None
