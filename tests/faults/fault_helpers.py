"""Helpers of the fault suite: the CLI as a separate process, data folders to damage, and an
inventory of what a run must never leave behind."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.spatial.distance import squareform
from synthetic_data import algonauts78  # noqa: F401  (the fault tests damage it)

HUMAN = "kriegeskorte2008.hIT"
FAULT_MODELS = Path(__file__).with_name("fault_models.py")


@dataclass(frozen=True)
class Ran:
    """How a command ended: exit status and what it printed."""

    code: int
    out: str
    err: str

    @property
    def error_line(self) -> str:
        """The first line of stderr that starts with ``error: ``."""
        return next((line for line in self.err.splitlines() if line.startswith("error: ")), "")


def brainalign_command(args: Sequence[object]) -> list[str]:
    return [sys.executable, "-m", "brainalign.cli", *map(str, args)]


def brainalign_process(
    args: Sequence[object], env: dict[str, str], *, prefix: Sequence[str] = (), **popen: object
) -> subprocess.Popen:
    """``brainalign ARGS`` as a separate process (to be killed, or to fail for real), run by
    ``prefix`` (e.g. ``setpriv ...``) if given."""
    return subprocess.Popen(
        [*prefix, *brainalign_command(args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def finish(process: subprocess.Popen, timeout: float = 600) -> Ran:
    out, err = process.communicate(timeout=timeout)
    return Ran(process.returncode, out, err)


def process_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a separate brainalign process: its own cache, TMPDIR and home."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BRAINALIGN_")}
    for name in ("cache", "tmpdir"):
        (tmp_path / name).mkdir(parents=True, exist_ok=True)
    env.update(
        BRAINALIGN_CACHE=str(tmp_path / "cache"),
        TMPDIR=str(tmp_path / "tmpdir"),
        BRAINALIGN_QUIET="1",
        **extra,
    )
    return env


def leftovers(*folders: Path) -> list[Path]:
    """What an interrupted or failed run must not leave behind: temporary files of atomic writes
    (``.NAME.XXXX.tmp``) and brainalign's scratch folders (``brainalign-*`` in TMPDIR)."""
    found = []
    for folder in folders:
        if not folder.exists():
            continue
        for path in folder.rglob("*"):
            if (path.name.startswith(".") and path.name.endswith(".tmp")) or (
                path.is_dir() and path.name.startswith("brainalign-")
            ):
                found.append(path)
    return found


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path → bytes): to check that nothing changed."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


# --- a spec-file benchmark over ten synthetic images ------------------------------------------------

IDS = [f"img{i:02d}" for i in range(1, 11)]


def spec_file(folder: Path, name: str = "bench", fmt: str = "npy", **target: str) -> Path:
    """``folder/NAME.toml`` over ``folder/images`` with ``target`` keys (default: the .npy and its list)."""
    target = target or {"rdms": "judgements.npy", "stimulus_list": "stimuli.txt"}
    lines = [
        f'id = "toylab.{name}"',
        'title = "Toy judgements"',
        'citation = "@misc{toylab, title = {Toy}}"',
        'stimuli = "images"',
        "",
        "[target]",
        'name = "shapes"',
        'kind = "behaviour"',
        f'format = "{fmt}"',
    ]
    lines += [f'{key} = "{value}"' for key, value in target.items()]
    path = folder / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def spec_data(folder: Path, n_subjects: int = 4, seed: int = 0) -> np.ndarray:
    """Ten images, and ``n_subjects`` square RDMs (a shared structure plus noise, all positive)
    written as judgements.npy with stimuli.txt; the squares are returned for damaging."""
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True)
    for stimulus in IDS:
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(
            folder / "images" / f"{stimulus}.png"
        )
    shared = rng.random(len(IDS) * (len(IDS) - 1) // 2)
    squares = np.stack(
        [squareform(shared + rng.normal(0, 0.2, shared.size) + 1) for _ in range(n_subjects)]
    )
    write_rdms(folder, squares)
    return squares


def write_rdms(folder: Path, squares: np.ndarray, ids: list[str] = IDS) -> None:
    np.save(folder / "judgements.npy", squares)
    (folder / "stimuli.txt").write_text("\n".join(ids) + "\n")
