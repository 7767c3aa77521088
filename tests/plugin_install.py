"""Install a plugin package the way a lab would ship it, with pip, into a folder of its own (not
into the test environment): what the plugin tests put on a brainalign process's path."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def pip_install_copy(package: Path, work: Path) -> Path:
    """``package`` (a source tree with a pyproject.toml) installed under ``work/site``; pip builds
    in the source tree, so it builds a copy made under ``work/source``."""
    source = shutil.copytree(package, work / "source")
    target = work / "site"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return target
