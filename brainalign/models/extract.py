"""Exact layer RDMs for a stimulus set, never holding more activations than a memory budget.

How it works:

1. A probe pass on the first stimulus measures each requested layer's size per stimulus.
2. Layers, in execution order, are packed into groups whose activations *for all stimuli*
   fit the budget (float32: ``n_stimuli × features × 4`` bytes each).
3. One forward pass over all stimuli per group, in batches, under ``torch.inference_mode()``.
   Hooks take each wanted output (batch axis first, flattened): outputs that nothing changes in
   place later (known from the load-time trace) are kept as the forward pass made them, without
   a copy; the others (e.g. a BatchNorm output an in-place ReLU overwrites) are copied at once
   into one reusable block of RAM. The hook of the group's deepest layer raises a private
   exception that ends the pass there, so no group pays for the layers after it.
4. Each layer becomes an RDM from its float64 Gram matrix (:func:`brainalign.rsa.gram` summed
   over ~2 MB column blocks, so float32 activations never get a float64 copy, then
   :func:`brainalign.rsa.rdm_from_gram`) and is cached.

A single layer larger than the whole budget is *spilled*: its buffer is a temporary
``np.memmap`` on disk (in a :class:`~brainalign._io.ScratchFolder` under ``$TMPDIR``, which a
later run removes if this one is killed), filled batch by batch and read back in column blocks
for the Gram matrix; its pages are the operating system's file cache, which it reclaims under
memory pressure. Results are identical, bit for bit, whatever the budget (at a given torch
thread count: the forward pass itself rounds differently with another).

With more than one pass the preprocessed images are kept in a temporary folder (not in RAM) so
images are decoded and transformed once. Activations always land on the CPU; on CUDA the module
and each batch move to the GPU and only the wanted outputs come back.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch import nn

from .. import rsa
from .._io import ScratchFolder, allocate
from ..errors import BrainAlignError
from ..progress import progress
from ..rsa import LayerRDMs, RDMs
from ..stimuli import StimulusSet
from . import preprocessing as pp
from .cache import LayerRDMCache
from .graph import Layer, first_tensor, layer_name
from .loaded import Layers, LoadedModel

log = logging.getLogger(__name__)

# A laptop with 8-16 GB of RAM keeps 2 GB of activations comfortably beside the model.
DEFAULT_MEMORY_BUDGET = "2GB"
_UNITS = {
    "": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
    "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}


def parse_memory_budget(budget: int | str) -> int:
    """Bytes from an int or a text like ``"2GB"``, ``"512 MiB"``, ``"1.5g"`` (GB = 10⁹, GiB = 2³⁰)."""
    if isinstance(budget, bool):
        raise BrainAlignError(f"memory budget must be bytes or a size like '2GB', got {budget!r}")
    if isinstance(budget, (int, np.integer)):
        value = int(budget)
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(budget))
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _UNITS:
            raise BrainAlignError(
                f"memory budget {budget!r} is not a size; write e.g. 2GB, 512MB or 1GiB"
            )
        value = int(float(match.group(1)) * _UNITS[unit])
    if value <= 0:
        raise BrainAlignError(f"memory budget must be positive, got {budget!r}")
    return value


class _StopForward(BaseException):
    """Raised by the hook of a pass's deepest layer: the rest of the network is not needed.

    A BaseException, so a model's own ``except Exception`` cannot swallow it."""


@dataclass(frozen=True)
class _Size:
    features: int
    dtype: np.dtype

    def nbytes(self, n_stimuli: int) -> int:
        return n_stimuli * self.features * self.dtype.itemsize


@dataclass(frozen=True)
class Group:
    """Layers that share one forward pass; ``spilled`` of them live on disk."""

    layers: tuple[Layer, ...]
    spilled: frozenset[str]

    @property
    def last(self) -> Layer:
        return self.layers[-1]


def plan_groups(layers: Sequence[Layer], nbytes: dict[str, int], budget: int) -> list[Group]:
    """Pack layers, in execution order, into passes whose in-RAM activations fit ``budget``.

    A layer bigger than the budget on its own is spilled to disk and rides along with the
    current group without using its budget.
    """
    groups: list[Group] = []
    current: list[Layer] = []
    spilled: set[str] = set()
    used = 0
    for layer in layers:
        size = nbytes[layer.name]
        if size > budget:
            current.append(layer)
            spilled.add(layer.name)
            continue
        if current and used + size > budget:
            groups.append(Group(tuple(current), frozenset(spilled)))
            current, spilled, used = [], set(), 0
        current.append(layer)
        used += size
    if current:
        groups.append(Group(tuple(current), frozenset(spilled)))
    return groups


class _Rows:
    """A layer's activations as the forward pass produced them, one ``(batch, features)`` tensor
    per batch in row order: kept, not copied, for outputs nothing changes in place later."""

    def __init__(self, n: int, features: int) -> None:
        self.shape = (n, features)
        self.parts: list[torch.Tensor] = []

    def add(self, flat: torch.Tensor) -> None:
        if flat.dtype not in (torch.float32, torch.float64):
            flat = flat.float()
        elif flat.untyped_storage().nbytes() > flat.numel() * flat.element_size():
            flat = flat.clone()  # a view into a larger tensor: keep only what is ours
        self.parts.append(flat)

    def columns(self, start: int, stop: int) -> np.ndarray:
        return np.concatenate([part[:, start:stop].numpy() for part in self.parts])

    def array(self) -> np.ndarray:
        return self.columns(0, self.shape[1])


class _Capture:
    """Forward hooks that put wanted layer outputs into per-layer sinks (rows = stimuli)."""

    def __init__(self, module: nn.Module, layers: Sequence[Layer], stop_after: Layer | None) -> None:
        self.wanted = {layer.name: layer for layer in layers}
        self.stop_name = stop_after.name if stop_after is not None else None
        self.sinks: dict[str, np.ndarray | _Rows] = {}
        self.shapes: dict[str, _Size] = {}
        self.counts: dict[str, int] = {}
        self.seen: set[str] = set()
        self.rows = slice(0, 0)
        modules = dict(module.named_modules())
        self.handles = [
            modules[path].register_forward_hook(self._hook(path))
            for path in dict.fromkeys(layer.module for layer in layers)
        ]

    def _hook(self, path: str):
        def hook(_module: nn.Module, _inputs: object, output: object) -> None:
            self.counts[path] = self.counts.get(path, 0) + 1
            name = layer_name(path, self.counts[path])
            layer = self.wanted.get(name)
            if layer is not None:
                self._take(layer, first_tensor(output))
            if name == self.stop_name:
                raise _StopForward
        return hook

    def _take(self, layer: Layer, tensor: torch.Tensor | None) -> None:
        if tensor is None:
            raise BrainAlignError(f"layer {layer.name} returned no tensor during extraction")
        tensor = tensor.detach()
        if layer.batch_axis != 0:
            tensor = tensor.movedim(layer.batch_axis, 0)
        flat = tensor.reshape(tensor.shape[0], -1)
        sink = self.sinks.get(layer.name)
        if sink is None:  # probing: record the size only
            self.shapes[layer.name] = _Size(flat.shape[1], _buffer_dtype(flat.dtype))
            self.seen.add(layer.name)
            return
        expected = (self.rows.stop - self.rows.start, sink.shape[1])
        if tuple(flat.shape) != expected:
            raise BrainAlignError(
                f"layer {layer.name} gave {tuple(flat.shape)} activations for a batch, expected "
                f"{expected}; the preprocessing must give every image the same size"
            )
        if isinstance(sink, _Rows):
            sink.add(flat)
        else:
            torch.from_numpy(sink[self.rows]).copy_(flat)
        self.seen.add(layer.name)

    def run(self, module: nn.Module, batch: torch.Tensor, rows: slice) -> None:
        self.counts.clear()
        self.seen.clear()
        self.rows = rows
        try:
            module(batch)
        except _StopForward:
            pass
        missing = set(self.wanted) - self.seen
        if missing:
            raise BrainAlignError(
                f"layers {sorted(missing)[:5]} did not run for this batch; the model's forward "
                "pass differs from the one traced when it was loaded"
            )

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


def _buffer_dtype(dtype: torch.dtype) -> np.dtype:
    """float64 activations stay float64; everything else (float32, half, bfloat16) is float32."""
    return np.dtype(np.float64) if dtype == torch.float64 else np.dtype(np.float32)


class _Inputs:
    """Preprocessed batches; with several passes they are kept in a temporary folder on disk."""

    def __init__(self, model: LoadedModel, stimuli: StimulusSet, batch_size: int) -> None:
        self.model = model
        self.stimuli = stimuli
        self.batches = [
            slice(start, min(start + batch_size, len(stimuli)))
            for start in range(0, len(stimuli), batch_size)
        ]
        self.folder: Path | None = None
        self.scratch: ScratchFolder | None = None

    def keep_on_disk(self) -> None:
        self.scratch = ScratchFolder("inputs")
        self.folder = self.scratch.path

    def tensor(self, rows: slice) -> torch.Tensor:
        saved = self.folder / f"{rows.start}.npy" if self.folder is not None else None
        if saved is not None and saved.is_file():
            batch = torch.from_numpy(np.load(saved, allow_pickle=False))
        else:
            ids = self.stimuli.ids[rows]
            batch = torch.stack([pp.apply(self.model.preprocess, self.stimuli.load(i)) for i in ids])
            if saved is not None:
                np.save(saved, batch.numpy())
        return batch.to(self.model.device)

    def __iter__(self) -> Iterator[tuple[slice, torch.Tensor]]:
        for rows in self.batches:
            yield rows, self.tensor(rows)

    def close(self) -> None:
        if self.scratch is not None:
            self.scratch.remove()


def _probe(model: LoadedModel, inputs: _Inputs, layers: Sequence[Layer]) -> dict[str, _Size]:
    """Each layer's features per stimulus and dtype, from one forward pass on the first image."""
    capture = _Capture(model.module, layers, stop_after=layers[-1])
    try:
        with torch.inference_mode():
            capture.run(model.module, inputs.tensor(slice(0, 1)), slice(0, 1))
    finally:
        capture.close()
    return capture.shapes


def extract_layer_rdms(
    model: LoadedModel,
    stimuli: StimulusSet,
    *,
    distance: str = "cosine",
    batch_size: int = 32,
    memory_budget: int | str = DEFAULT_MEMORY_BUDGET,
    device: str | torch.device | None = None,
    cache: bool = True,
    layers: Layers | None = None,
) -> LayerRDMs:
    """The model's RDM at each layer (``layers``: a policy or names; default ``model.layers``).

    Exact: activations are flattened per stimulus (batch axis first, every token of a
    transformer, class token included) and the RDM is computed in float64 from their Gram
    matrix. ``memory_budget`` bounds the activations held at once (bytes or e.g. ``"2GB"``).
    Cached layer RDMs are reused unless ``cache=False``. The result lists layers in execution
    order with their relative depths.
    """
    if distance not in rsa.DISTANCES:
        raise BrainAlignError(f"unknown distance {distance!r}; choose one of {', '.join(rsa.DISTANCES)}")
    if batch_size < 1:
        raise BrainAlignError(f"batch size must be at least 1, got {batch_size}")
    if len(stimuli) < 2:
        raise BrainAlignError(f"an RDM needs at least 2 stimuli, {stimuli.name} has {len(stimuli)}")
    budget = parse_memory_budget(memory_budget)
    home = model.device
    if device is not None and torch.device(device) != home:
        model = model.to(device)  # and back afterwards, so the caller's model stays consistent
    try:
        return _extract(model, stimuli, distance, batch_size, budget, cache, layers)
    finally:
        if model.device != home:
            model.module.to(home)


def _extract(
    model: LoadedModel,
    stimuli: StimulusSet,
    distance: str,
    batch_size: int,
    budget: int,
    cache: bool,
    layers: Layers | None,
) -> LayerRDMs:
    names = model.select(layers)
    store = LayerRDMCache(model, stimuli, distance=distance, batch_size=batch_size) if cache else None
    results: dict[str, np.ndarray] = {}
    if store is not None:
        for name in names:
            cached = store.get(name)
            if cached is not None:
                results[name] = cached
    todo = [model.graph[name] for name in names if name not in results]
    if todo:
        log.info("%s: %d of %d layer RDMs cached; computing %d", model.id, len(results), len(names), len(todo))
        _compute(model, stimuli, todo, distance, batch_size, budget, store, results)
    data = np.stack([results[name] for name in names])
    return LayerRDMs(RDMs(data, names, stimuli.ids, distance), model.graph.depths(names), model.id)


def _compute(
    model: LoadedModel,
    stimuli: StimulusSet,
    todo: list[Layer],
    distance: str,
    batch_size: int,
    budget: int,
    store: LayerRDMCache | None,
    results: dict[str, np.ndarray],
) -> None:
    inputs = _Inputs(model, stimuli, batch_size)
    spill: ScratchFolder | None = None
    try:
        sizes = _probe(model, inputs, todo)
        n = len(stimuli)
        groups = plan_groups(todo, {name: size.nbytes(n) for name, size in sizes.items()}, budget)
        if len(groups) > 1:
            inputs.keep_on_disk()
        if any(group.spilled for group in groups):
            spill = ScratchFolder("spill")
        log.info("%s: %d layers in %d passes of %d batches (budget %.2f GB)",
                 model.id, len(todo), len(groups), len(inputs.batches), budget / 1e9)
        arena = _Arena(groups, sizes, n, model.device)
        bar = progress(total=len(groups) * len(inputs.batches), unit="batch", desc=model.id)
        try:
            for index, group in enumerate(groups, 1):
                bar.set_description(f"{model.id} pass {index}/{len(groups)}")
                sinks = arena.sinks(group, spill.path if spill is not None else None)
                capture = _Capture(model.module, group.layers, stop_after=group.last)
                capture.sinks = sinks
                try:
                    with torch.inference_mode():
                        for rows, batch in inputs:
                            capture.run(model.module, batch, rows)
                            bar.update(1)
                finally:
                    capture.close()
                for layer in group.layers:
                    results[layer.name] = layer_rdm(sinks.pop(layer.name), distance)
                    if store is not None:
                        store.put(layer.name, results[layer.name])
                del sinks
        finally:
            bar.close()
    finally:
        inputs.close()
        if spill is not None:
            spill.remove()


# Columns per block of the Gram sum: ~2 MB float64 blocks are reused by malloc (no fresh pages
# per block) and stay in cache, yet at least n wide so large stimulus sets stay compute-bound.
_GRAM_BLOCK_ELEMENTS = 1 << 18
_THREADED_GRAM_MIN_STIMULI = 256


def layer_rdm(features: np.ndarray | _Rows, distance: str) -> np.ndarray:
    """The RDM of one layer's ``(n_stimuli, n_features)`` activations (an array, a memmap, or
    kept batch outputs), exactly: float64 Gram matrices of column blocks
    (:func:`brainalign.rsa.gram`) summed in block order, then
    :func:`brainalign.rsa.rdm_from_gram`. Euclidean distances use :func:`brainalign.rsa.rdm`,
    which also recomputes near-identical pairs."""
    kept = isinstance(features, _Rows)
    if distance in ("euclidean", "sqeuclidean"):
        return rsa.rdm(features.array() if kept else features, distance)
    n, d = features.shape
    step = max(n, _GRAM_BLOCK_ELEMENTS // n)
    center = distance == "correlation"

    def block_gram(start: int) -> tuple[np.ndarray, np.ndarray | None]:
        block = features.columns(start, start + step) if kept else features[:, start : start + step]
        return rsa.gram(block), block.sum(axis=1, dtype=np.float64) if center else None

    gram = np.zeros((n, n))
    sums = np.zeros(n)
    starts = range(0, d, step)
    if n < _THREADED_GRAM_MIN_STIMULI:
        # Few stimuli make each block product tiny: BLAS threads cost more than they save (on a
        # busy machine their spin-waits cost 10x the product), so blocks go to threads of our
        # own, one BLAS thread each. Summed in block order: identical whatever the thread count.
        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(_gram_threads()) as pool:
            parts = pool.map(block_gram, starts)
            for part, part_sums in parts:
                gram += part
                if center:
                    sums += part_sums
    else:
        for part, part_sums in map(block_gram, starts):
            gram += part
            if center:
                sums += part_sums
    if center:
        return rsa.rdm_from_gram(gram, distance, row_sums=sums, n_features=d)
    return rsa.rdm_from_gram(gram, distance)


def _gram_threads() -> int:
    return max(1, torch.get_num_threads())


class _Arena:
    """RAM for the layers that must be copied out of the forward pass (their output is changed
    in place later, e.g. by an in-place ReLU, or it lives on a GPU): one block, allocated once at
    the largest group's need and reused by every pass, so later passes touch no fresh pages.
    Layers nothing changes later keep the forward pass's own tensors (no copy); layers bigger
    than the budget go to a memmap on disk."""

    ALIGN = 64

    def __init__(self, groups: Sequence[Group], sizes: dict[str, _Size], n: int, device: torch.device) -> None:
        self.n = n
        self.sizes = sizes
        self.keep_outputs = device.type == "cpu"
        need = max((sum(self._aligned(l) for l in self._copied(g)) for g in groups), default=0)
        self.memory = np.empty(need, dtype=np.uint8)

    def _aligned(self, layer: Layer) -> int:
        return -(-self.sizes[layer.name].nbytes(self.n) // self.ALIGN) * self.ALIGN

    def _copied(self, group: Group) -> list[Layer]:
        return [
            layer for layer in group.layers
            if layer.name not in group.spilled and (layer.mutated or not self.keep_outputs)
        ]

    def sinks(self, group: Group, spill_folder: Path | None) -> dict[str, np.ndarray | _Rows]:
        sinks: dict[str, np.ndarray | _Rows] = {}
        copied = {layer.name for layer in self._copied(group)}
        offset = 0
        for position, layer in enumerate(group.layers):
            size = self.sizes[layer.name]
            shape = (self.n, size.features)
            if layer.name in group.spilled:
                assert spill_folder is not None
                path = spill_folder / f"{position}.f{size.dtype.itemsize * 8}"
                allocate(path, size.nbytes(self.n))  # a full disk: an error here, not SIGBUS later
                sinks[layer.name] = np.memmap(path, dtype=size.dtype, mode="r+", shape=shape)
            elif layer.name in copied:
                block = self.memory[offset : offset + size.nbytes(self.n)]
                sinks[layer.name] = block.view(size.dtype).reshape(shape)
                offset += self._aligned(layer)
            else:
                sinks[layer.name] = _Rows(*shape)
        return sinks


def activation_bytes(model: LoadedModel, stimuli: StimulusSet, layers: Layers | None = None) -> dict[str, int]:
    """Bytes each layer's activations take for all ``stimuli`` (what the budget is compared with)."""
    inputs = _Inputs(model, stimuli, 1)
    try:
        sizes = _probe(model, inputs, [model.graph[name] for name in model.select(layers)])
    finally:
        inputs.close()
    return {name: size.nbytes(len(stimuli)) for name, size in sizes.items()}
