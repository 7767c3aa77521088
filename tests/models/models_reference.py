"""Independent references for layer RDMs: hook one module, run one image at a time, flatten the
wanted call's output, scipy ``pdist``. With a batch of one image, flattening does not depend on
where the batch axis sits, so this reference needs none of brainalign's layout handling."""

from __future__ import annotations

import numpy as np
import torch
import torchvision.transforms as T
from scipy.spatial.distance import pdist
from torch import nn

from brainalign.stimuli import StimulusSet


def per_image_layers(
    module: nn.Module, preprocess, stimuli: StimulusSet, layers: list[tuple[str, int]]
) -> dict[tuple[str, int], np.ndarray]:
    """For each ``(module_path, call)``: that call's output per image, ``(n_stimuli, n_features)``
    float64, from one forward pass per image with hooks on just those modules."""
    modules = dict(module.named_modules())
    captured: dict[tuple[str, int], list[np.ndarray]] = {layer: [] for layer in layers}
    counts: dict[str, int] = {}

    def hook(path):
        def record(_module, _inputs, output):
            counts[path] = counts.get(path, 0) + 1
            if (path, counts[path]) in captured:
                tensor = output[0] if isinstance(output, tuple) else output
                captured[(path, counts[path])].append(
                    tensor.detach().clone().double().reshape(-1).numpy()
                )

        return record

    handles = [modules[path].register_forward_hook(hook(path)) for path in {p for p, _ in layers}]
    try:
        for stimulus_id in stimuli.ids:
            counts.clear()
            with torch.no_grad():
                module(preprocess(stimuli.load(stimulus_id)).unsqueeze(0))
    finally:
        for handle in handles:
            handle.remove()
    for layer, rows in captured.items():
        assert len(rows) == len(stimuli), f"{layer} did not run for every image"
    return {layer: np.stack(rows) for layer, rows in captured.items()}


def per_image_features(module, preprocess, stimuli, module_path: str, call: int = 1) -> np.ndarray:
    return per_image_layers(module, preprocess, stimuli, [(module_path, call)])[(module_path, call)]


def brute_force_rdm(
    module, preprocess, stimuli, module_path, call=1, distance="cosine"
) -> np.ndarray:
    return pdist(
        per_image_features(module, preprocess, stimuli, module_path, call), metric=distance
    )


def small_preprocess(size: int) -> T.Compose:
    """ImageNet-normalised ``size`` px input, to keep CNN tests fast."""
    return T.Compose(
        [
            T.Resize(size),
            T.CenterCrop(size),
            T.ToTensor(),
            T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        ]
    )


class TinyNet(nn.Module):
    """A small CNN with the awkward parts of real ones: a shared in-place ReLU called twice,
    batch norm with non-trivial statistics, global pooling and a classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(64, 10)
        with torch.no_grad():
            self.bn1.running_mean.uniform_(-0.2, 0.2)
            self.bn1.running_var.uniform_(0.5, 2.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.conv2(x))
        return self.fc(torch.flatten(self.pool(x), 1))


def tiny_net(seed: int = 0) -> TinyNet:
    torch.manual_seed(seed)
    return TinyNet().eval()


def tiny_preprocess(size: int = 32) -> T.Compose:
    return T.Compose([T.Resize((size, size)), T.ToTensor()])
