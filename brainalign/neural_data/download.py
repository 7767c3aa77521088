"""Download one file, verified, atomically: the only place brainalign touches the network.

The bytes stream into a temporary file beside the destination while their sha256 is computed;
only a complete download whose size and checksum match is renamed into place. A failed,
truncated or corrupt download leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import http.client
import urllib.error
from pathlib import Path
from urllib.request import Request, urlopen

from .._files import atomic_path
from .._version import __version__
from ..errors import BrainAlignError
from ..progress import progress

_CHUNK = 1 << 16


def download(
    url: str,
    destination: Path,
    *,
    sha256: str | None,
    size: int | None = None,
    timeout: float = 60.0,
    label: str | None = None,
) -> str:
    """Fetch ``url`` into ``destination``; return the sha256 of what landed.

    Raises :class:`BrainAlignError` naming the URL, what went wrong and the fix when the network
    fails, the server answers with an error, the stream ends early, writing fails (disk full), or
    size or checksum differ.
    """
    request = Request(url, headers={"User-Agent": f"brainalign/{__version__}"})
    try:
        with atomic_path(destination) as tmp:
            digest, received, announced = _stream(request, tmp, timeout, label or destination.name)
            if announced is not None and received != announced:
                raise BrainAlignError(
                    f"download of {url} stopped after {received} of {announced} bytes; "
                    "run the same command again"
                )
            if size is not None and received != size:
                raise BrainAlignError(
                    f"{url} has {received} bytes, expected {size}: the file at the source changed "
                    "or the download is corrupt; nothing was saved"
                )
            if sha256 is not None and digest != sha256:
                raise BrainAlignError(
                    f"{url} has sha256 {digest}, expected {sha256}: the download is corrupt or "
                    "the source changed; nothing was saved"
                )
    except urllib.error.HTTPError as err:
        raise BrainAlignError(
            f"downloading {url} failed: HTTP {err.code} {err.reason}; check the URL or get the "
            "file another way and pass its folder with --data-dir"
        ) from None
    except http.client.IncompleteRead as err:
        raise BrainAlignError(
            f"download of {url} stopped early ({len(err.partial)} bytes in the last block); "
            "nothing was saved; run the same command again"
        ) from None
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError) as err:
        reason = getattr(err, "reason", None) or err.__class__.__name__
        raise BrainAlignError(
            f"could not download {url} ({reason}); check the network connection, or put the data "
            "in a local folder and pass it with --data-dir (or BRAINALIGN_DATA)"
        ) from None
    except OSError as err:  # mid-stream: disk full, connection reset by the TLS layer, …
        raise BrainAlignError(
            f"downloading {url} into {destination.parent} failed ({err.strerror or err}); nothing "
            "was saved; free disk space or fix the folder's permissions, then run the same command again"
        ) from None
    return digest


def _stream(request: Request, tmp: Path, timeout: float, label: str) -> tuple[str, int, int | None]:
    digest = hashlib.sha256()
    received = 0
    with urlopen(request, timeout=timeout) as response, open(tmp, "wb") as out:
        length = response.headers.get("Content-Length")
        announced = int(length) if length and length.isdigit() else None
        with progress(total=announced, unit="B", unit_scale=True, desc=label) as bar:
            while block := response.read(_CHUNK):
                out.write(block)
                digest.update(block)
                received += len(block)
                bar.update(len(block))
    return digest.hexdigest(), received, announced
