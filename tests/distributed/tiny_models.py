"""Tiny seeded networks for the Dask tests, loaded by every worker as ``tiny_models.py:FUNCTION``.

The tests copy this file into a temporary folder; marker files beside the copy steer the
factories that must be slow or must announce themselves (``calls.<name>`` logs each call's pid).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch
import torchvision.transforms as T

from brainalign.models import LoadedModel, from_module

HERE = Path(__file__).resolve().parent


def _model(model_id: str, *, width: int = 8, depth: int = 2, seed: int = 0) -> LoadedModel:
    torch.manual_seed(seed)
    layers: list[torch.nn.Module] = [torch.nn.Conv2d(3, width, 3, stride=2), torch.nn.ReLU()]
    for _ in range(depth - 1):
        layers += [torch.nn.Conv2d(width, width, 3, padding=1), torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers, torch.nn.Flatten())
    return from_module(
        net, T.Compose([T.Resize((32, 32)), T.ToTensor()]), layers="all", model_id=model_id
    )


def _log_call(name: str) -> None:
    with open(HERE / f"calls.{name}", "a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()}\n")


def small() -> LoadedModel:
    return _model("tiny-small")


def wide() -> LoadedModel:
    return _model("tiny-wide", width=16, seed=1)


def deep() -> LoadedModel:
    return _model("tiny-deep", depth=5, seed=2)


def held() -> LoadedModel:
    """While a ``hold`` file exists, the first call writes its pid to ``started`` and waits (to
    be killed); later calls build the model at once."""
    _log_call("held")
    if (HERE / "hold").exists() and not (HERE / "started").exists():
        (HERE / "started.tmp").write_text(str(os.getpid()), encoding="utf-8")
        os.replace(HERE / "started.tmp", HERE / "started")
        time.sleep(120)
    return _model("tiny-held", seed=3)


def counted() -> LoadedModel:
    """Logs each call and takes a few seconds, so a second submission arrives while it runs."""
    _log_call("counted")
    time.sleep(3)
    return _model("tiny-counted", seed=4)
