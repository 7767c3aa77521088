"""Options and output helpers shared by several commands, so each means the same everywhere."""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from ..errors import BrainAlignError
from ..paths import default_results_dir

F = TypeVar("F", bound=Callable[..., Any])


def wrap(text: str, indent: str = "", width: int = 78) -> str:
    """A paragraph wrapped for the terminal, never breaking inside a hyphenated word
    ("leave-one-subject-out" stays whole, so it can be searched for)."""
    return textwrap.fill(
        text,
        width=width,
        initial_indent=indent,
        subsequent_indent=indent,
        break_on_hyphens=False,
        break_long_words=False,
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table with a header rule; cells are converted with ``str``."""
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when a GPU is visible, else ``cpu``; a device this machine lacks is a
    user error with the fix, not a torch traceback."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except RuntimeError:
        raise BrainAlignError(f"unknown device {device!r}; use cpu, cuda, cuda:N or auto") from None
    if parsed.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (parsed.index or 0) >= count:
            raise BrainAlignError(
                f"device {device!r} is not available here ({count} CUDA device(s)); "
                "use --device cpu or --device auto"
            )
    return device


def results_option(function: F) -> F:
    """``--results DIR``, shared by every command that reads or writes results."""
    return click.option(
        "--results",
        "results_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=default_results_dir,
        show_default="$BRAINALIGN_RESULTS, else ./results",
        help="Results folder.",
    )(function)


def data_dir_option(function: F) -> F:
    return click.option(
        "--data-dir",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        default=None,
        help="Local folder holding data sets (default: $BRAINALIGN_DATA, then the cache).",
    )(function)


def model_options(function: F) -> F:
    """How a model is loaded and its layer RDMs extracted."""
    decorators = [
        click.option(
            "--layers",
            default=None,
            metavar="POLICY",
            help="blocks, all, or comma-separated layer names (default: the model's policy).",
        ),
        click.option(
            "--weights",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Local weights file (.safetensors or torch state dict) instead of the framework cache.",
        ),
        click.option(
            "--preprocessing",
            default="native",
            show_default=True,
            type=click.Choice(["native", "clip"]),
            help="The framework's own preprocessing, or CLIP's for every model (as in the study).",
        ),
        click.option(
            "--memory-budget",
            default=None,
            metavar="SIZE",
            help="Most activation memory held at once, e.g. 2GB, 512MB [default: 2GB].",
        ),
        click.option("--batch-size", default=32, show_default=True, type=click.IntRange(min=1)),
        click.option(
            "--device", default="auto", show_default=True, help="cpu, cuda, cuda:1 … or auto."
        ),
    ]
    for decorate in reversed(decorators):
        function = decorate(function)
    return function


def parse_layers(layers: str | None) -> str | list[str] | None:
    """``blocks``/``all`` stay policies; a comma-separated list becomes layer names."""
    if layers is None or layers in ("blocks", "all"):
        return layers
    return [name.strip() for name in layers.split(",") if name.strip()]


def quiet_option(function: F) -> F:
    """``--quiet`` on the sub-command too (same as ``brainalign --quiet``)."""

    def silence(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
        if value:
            from ..progress import set_quiet

            set_quiet(True)
            logging.getLogger("brainalign").setLevel(logging.WARNING)
        return value

    return click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=silence,
        is_eager=True,
        help="No progress bars or informational logs.",
    )(function)
