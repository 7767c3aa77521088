"""Which layers a network has, in which order they run, and which of them a policy reads out.

One traced forward pass (hooks on every sub-module) records every module *call* in the order its
output is produced. That record defines the names, the order and the relative depth of layers:

* A layer is one call of one module: ``layer1.0.relu`` is the first call of that module in a
  forward pass, ``layer1.0.relu#2`` the second, ``#3`` the third (ResNet bottlenecks reuse one
  ReLU three times). Each call is its own layer, so no activation is silently overwritten.
* The network's own output is the layer ``output``; when the network returns exactly the tensor
  its last module produced (``fc`` in a ResNet, ``heads.head`` in a torchvision ViT, the same
  object with the same values) ``output`` is just another name for that layer. Layer names are
  unique and ``output`` always means the network's output: a top-level sub-module named
  ``output`` whose call is not that output is refused (wrap the network in ``nn.Sequential``).
* A module that returns a tuple (``nn.MultiheadAttention``) contributes its first tensor.
* The batch axis is found, not assumed: the trace runs once with one image and once with two,
  and the axis that grew is the batch axis. Sequence-first outputs ``(tokens, batch, dim)``
  (open_clip's ``batch_first=False`` transformers, ``nn.MultiheadAttention`` without
  ``batch_first``) are thereby moved to batch-first before flattening. Outputs without a batch
  axis (a positional embedding) are not layers.
* Relative depth: the position of a layer's output among all *leaf calls* (calls in which no
  sub-module ran), 0 for the first and 1 for the last; a block gets the depth of its last leaf.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import torch
from torch import nn

from ..errors import BrainAlignError

log = logging.getLogger(__name__)

OUTPUT = "output"
POLICIES = ("all", "blocks")
KINDS = ("convolution", "linear", "normalisation", "activation", "pooling", "attention")

_KIND_TYPES: tuple[tuple[str, tuple[type, ...]], ...] = (
    ("convolution", (nn.modules.conv._ConvNd,)),
    ("linear", (nn.Linear, nn.Bilinear)),
    (
        "normalisation",
        (
            nn.modules.batchnorm._NormBase,
            nn.LayerNorm,
            nn.GroupNorm,
            nn.LocalResponseNorm,
            nn.RMSNorm,
        ),
    ),
    (
        "activation",
        (
            nn.ReLU,
            nn.ReLU6,
            nn.GELU,
            nn.SiLU,
            nn.Hardswish,
            nn.Hardsigmoid,
            nn.Sigmoid,
            nn.Tanh,
            nn.LeakyReLU,
            nn.ELU,
            nn.SELU,
            nn.CELU,
            nn.PReLU,
            nn.Mish,
            nn.Softplus,
            nn.Softmax,
            nn.GLU,
        ),
    ),
    (
        "pooling",
        (
            nn.modules.pooling._MaxPoolNd,
            nn.modules.pooling._AvgPoolNd,
            nn.modules.pooling._AdaptiveAvgPoolNd,
            nn.modules.pooling._AdaptiveMaxPoolNd,
            nn.modules.pooling._LPPoolNd,
        ),
    ),
    ("attention", (nn.MultiheadAttention,)),
)
# Third-party classes (timm, open_clip, efficientnet) recognised by their class name.
_KIND_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("attention", re.compile(r"(Attention|Attn)(Pool\d?d?)?$")),
    ("pooling", re.compile(r"Pool(ing)?(\d?d)?$")),
    ("normalisation", re.compile(r"Norm(Act)?(\d?d)?(Fp32)?$")),
    (
        "activation",
        re.compile(r"(GELU|ReLU\d?|SiLU|Swish|Mish|Sigmoid|Tanh|Softmax)$", re.IGNORECASE),
    ),
    ("convolution", re.compile(r"Conv(\d?d)?(SamePadding)?$")),
    ("linear", re.compile(r"Linear$")),
)
# Residual / transformer blocks of torchvision, timm and open_clip, by class name; and torchvision's
# conv-norm-activation stages, which open and close MobileNets' and EfficientNets' feature stacks
# (their last one is the representation the classifier reads after a functional pooling).
_BLOCK_PATTERN = re.compile(
    r"(Block|Bottleneck|InvertedResidual|DepthwiseSeparableConv|EdgeResidual|MBConv|"
    r"EncoderLayer|Fire|Inception[A-E]|InceptionAux|_DenseLayer|Conv2dNormActivation)$"
)


def layer_kind(module: nn.Module) -> str | None:
    """The study's kind of a module (convolution, linear, …), or None for anything else."""
    for kind, types in _KIND_TYPES:
        if isinstance(module, types):
            return kind
    name = type(module).__name__
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(name):
            return kind
    return None


def is_block(module: nn.Module) -> bool:
    return bool(_BLOCK_PATTERN.search(type(module).__name__))


def first_tensor(output: object) -> torch.Tensor | None:
    """The tensor a module call contributes: the output itself or a tuple's first tensor."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        for item in output:
            if isinstance(item, torch.Tensor):
                return item
    return None


def layer_name(module_path: str, call: int) -> str:
    if module_path == "":
        return OUTPUT
    return module_path if call == 1 else f"{module_path}#{call}"


@dataclass(frozen=True)
class Layer:
    """One module call: its name, where it sits in the forward pass, and its batch axis."""

    name: str
    module: str
    call: int
    kind: str | None
    block: bool
    leaf: bool
    order: int
    depth: float
    batch_axis: int
    mutated: bool = False  # changed in place later in the forward pass (e.g. by ReLU(inplace))


@dataclass(frozen=True)
class LayerGraph:
    """Every per-stimulus module output of one forward pass, in execution order."""

    layers: tuple[Layer, ...]
    output: str

    def __post_init__(self) -> None:
        # Names are unique and "output" means the network's output. A top-level sub-module
        # named "output" whose call is not that output would break both: one of the two layers
        # could not be selected, and `all` would read the wrong one.
        names = self.names
        if len(set(names)) != len(names) or (OUTPUT in names and self.output != OUTPUT):
            raise BrainAlignError(
                f"the model has a sub-module named {OUTPUT!r}, which clashes with the layer "
                f"{OUTPUT!r} (the network's own output). Wrap the network, e.g. "
                "from_module(torch.nn.Sequential(net), ...), so that its modules are named "
                f"'0.…' (the sub-module becomes '0.{OUTPUT}')"
            )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)

    @cached_property
    def _index(self) -> dict[str, Layer]:
        return {layer.name: layer for layer in self.layers}

    def __getitem__(self, name: str) -> Layer:
        if name in self._index:
            return self._index[name]
        if name == OUTPUT:
            return self[self.output]
        close = difflib.get_close_matches(name, self.names, n=5, cutoff=0.6)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise BrainAlignError(
            f"model has no layer {name!r}{hint}. Use a policy ({', '.join(POLICIES)}) or names "
            f"from `brainalign models --layers MODEL` (e.g. {', '.join(self.names[:3])}, …)"
        )

    def policy(self, policy: str) -> tuple[str, ...]:
        """Layer names of a policy: ``all`` or ``blocks`` (see the module docstring)."""
        if policy == "all":
            chosen = [layer for layer in self.layers if layer.leaf and layer.kind in KINDS]
        elif policy == "blocks":
            blocks = [layer for layer in self.layers if layer.block]
            if not blocks:
                log.debug(
                    "no residual or transformer blocks recognised; `blocks` falls back to `all`"
                )
                return self.policy("all")
            last = blocks[-1].order
            output = self[self.output]
            pools = [
                layer
                for layer in self.layers
                if last < layer.order < output.order and layer.leaf and layer.kind == "pooling"
            ]
            chosen = blocks + pools[-1:]
        else:
            raise BrainAlignError(
                f"unknown layer policy {policy!r}; use one of {', '.join(POLICIES)} or a list of "
                "layer names"
            )
        return _ordered_unique([*(layer.name for layer in chosen), self.output], self)

    def select(self, layers: str | Sequence[str]) -> tuple[str, ...]:
        """Names for a policy or an explicit list, validated, deduplicated, in execution order."""
        if isinstance(layers, str):
            if layers in POLICIES:
                return self.policy(layers)
            layers = [name.strip() for name in layers.split(",") if name.strip()]
        if not layers:
            raise BrainAlignError("no layers chosen; name a policy (all, blocks) or layer names")
        return _ordered_unique([self[name].name for name in layers], self)

    def depths(self, names: Sequence[str]) -> tuple[float, ...]:
        return tuple(self[name].depth for name in names)


def _ordered_unique(names: Sequence[str], graph: LayerGraph) -> tuple[str, ...]:
    return tuple(sorted(set(names), key=lambda name: graph[name].order))


@dataclass
class _Call:
    module: str
    call: int
    leaf: bool
    shape: tuple[int, ...] | None
    same_as_previous: bool = False
    version: int | None = None
    mutated: bool = False


def _record(module: nn.Module, batch: torch.Tensor, *, check_mutation: bool = False) -> list[_Call]:
    """Run one forward pass and record every module call's output shape, in output order;
    with ``check_mutation``, also whether an output was changed in place after its call."""
    calls: list[_Call] = []
    outputs: list[torch.Tensor | None] = []
    counts: dict[str, int] = {}
    starts: dict[str, list[int]] = {}
    previous: list[object] = [None]
    handles = []

    def pre_hook(path: str):
        def hook(_module: nn.Module, _inputs: object) -> None:
            starts.setdefault(path, []).append(len(calls))

        return hook

    def post_hook(path: str):
        def hook(_module: nn.Module, _inputs: object, output: object) -> None:
            counts[path] = counts.get(path, 0) + 1
            leaf = starts[path].pop() == len(calls)
            tensor = first_tensor(output)
            calls.append(
                _Call(
                    path,
                    counts[path],
                    leaf,
                    tuple(tensor.shape) if tensor is not None else None,
                    same_as_previous=tensor is not None and tensor is previous[0],
                    version=tensor._version if tensor is not None else None,
                )
            )
            if check_mutation:
                outputs.append(tensor)
            previous[0] = tensor

        return hook

    try:
        for path, sub in module.named_modules():
            handles.append(sub.register_forward_pre_hook(pre_hook(path)))
            handles.append(sub.register_forward_hook(post_hook(path)))
        with torch.no_grad():  # not inference_mode: version counters tell in-place changes
            module(batch)
    finally:
        for handle in handles:
            handle.remove()
    for call, tensor in zip(calls, outputs):
        call.mutated = tensor is not None and tensor._version != call.version
    return calls


def _output_alias(calls: list[_Call]) -> int | None:
    """Index of the call whose output the network returns unchanged, if it is not the root's own.

    Walks back from the root through calls that returned the previous call's tensor object,
    unmodified since (same autograd version counter): the root, containers such as ``heads``,
    pass-through modules such as ``nn.Identity``; an in-place change (a ReLU) stops it.
    """
    index = len(calls) - 1
    if calls[index].module != "":
        return None
    while (
        index > 0
        and calls[index].same_as_previous
        and calls[index].version == calls[index - 1].version
    ):
        index -= 1
    return index if index != len(calls) - 1 else None


def _batch_axis(one: tuple[int, ...] | None, two: tuple[int, ...] | None) -> int | None:
    if one is None or two is None or len(one) != len(two):
        return None
    grown = [axis for axis, (a, b) in enumerate(zip(one, two)) if a != b]
    if len(grown) == 1 and one[grown[0]] == 1 and two[grown[0]] == 2:
        return grown[0]
    return None


def trace(module: nn.Module, example: torch.Tensor) -> LayerGraph:
    """The layer graph of ``module`` on one preprocessed example ``(C, H, W)``."""
    single = example.unsqueeze(0)
    calls_one = _record(module, single, check_mutation=True)
    calls_two = _record(module, torch.cat([single, single]))
    if [(c.module, c.call) for c in calls_one] != [(c.module, c.call) for c in calls_two]:
        raise BrainAlignError(
            "the model runs different modules for a batch of one and a batch of two images; "
            "brainalign needs a forward pass whose modules do not depend on the batch size"
        )
    modules = dict(module.named_modules())
    block_paths = {path for path, sub in modules.items() if path and is_block(sub)}
    outermost = {
        path
        for path in block_paths
        if not any(path.startswith(other + ".") for other in block_paths)
    }
    n_leaves = sum(call.leaf for call in calls_one)
    alias = _output_alias(calls_one)
    layers: list[Layer] = []
    leaves_seen = 0
    for order, (call, call_two) in enumerate(zip(calls_one, calls_two)):
        leaves_seen += call.leaf
        if alias is not None and call.module == "":
            continue
        axis = _batch_axis(call.shape, call_two.shape)
        if axis is None:
            continue
        depth = (leaves_seen - 1) / (n_leaves - 1) if n_leaves > 1 else 0.0
        layers.append(
            Layer(
                name=layer_name(call.module, call.call),
                module=call.module,
                call=call.call,
                kind=layer_kind(modules[call.module]) if call.module else None,
                block=call.module in outermost,
                leaf=call.leaf,
                order=order,
                depth=min(max(depth, 0.0), 1.0),
                batch_axis=axis,
                mutated=call.mutated,
            )
        )
    if not layers:
        raise BrainAlignError(
            "the model produced no per-image outputs; it must map a batch of images (N, C, H, W) "
            "to tensors with a batch axis"
        )
    if alias is not None:
        output = layer_name(calls_one[alias].module, calls_one[alias].call)
    else:
        output = layers[-1].name
    if output not in {layer.name for layer in layers}:
        output = layers[-1].name
    return LayerGraph(tuple(layers), output=output)
