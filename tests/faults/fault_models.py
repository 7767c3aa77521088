"""Tiny seeded networks for the fault tests, loaded as ``fault_models.py:FUNCTION`` from a copy of
this file in the test's own folder. ``BRAINALIGN_TEST_SEED`` re-initialises ``tiny`` with another
seed (another network under the same model id)."""

from __future__ import annotations

import os
import time

import torch
import torchvision.transforms as T

from brainalign.models import LoadedModel, from_module


def _net(width: int, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, width, 3, stride=2),
        torch.nn.ReLU(),
        torch.nn.Conv2d(width, width, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
    )


def _preprocess() -> T.Compose:
    return T.Compose([T.Resize((24, 24)), T.ToTensor()])


def tiny() -> LoadedModel:
    seed = int(os.environ.get("BRAINALIGN_TEST_SEED", "0"))
    return from_module(_net(6, seed), _preprocess(), layers="all", model_id="fault-tiny")


def slow() -> LoadedModel:
    """``tiny`` whose every forward pass first waits 50 ms: a run that is surely still extracting
    when a test interrupts it, however fast the machine."""
    net = _net(6, 0)
    net.register_forward_pre_hook(lambda module, inputs: time.sleep(0.05))
    return from_module(net, _preprocess(), layers="all", model_id="fault-slow")


def other() -> LoadedModel:
    return from_module(_net(4, 1), _preprocess(), layers="all", model_id="fault-other")


def constant() -> LoadedModel:
    """Every layer's output is the same for every image: no layer has a defined RDM."""
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten())
    torch.nn.init.zeros_(net[0].weight)
    torch.nn.init.ones_(net[0].bias)
    return from_module(net, _preprocess(), layers="all", model_id="fault-constant")


def zero_head() -> LoadedModel:
    """Like an untrained ViT: a zero-initialised output head, all zero for every image."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, stride=2),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 11 * 11, 5),
    )
    torch.nn.init.zeros_(net[3].weight)
    torch.nn.init.zeros_(net[3].bias)
    return from_module(net, _preprocess(), layers="all", model_id="fault-zero-head")
