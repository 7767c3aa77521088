"""Exact layer RDMs for a stimulus set, never holding more activations than a memory budget.

How it works:

1. A probe pass on the first stimulus measures each requested layer's size per stimulus.
2. Layers, in execution order, are planned into forward passes: a layer whose activations *for
   all stimuli* fit what is left of the budget (float32: ``n_stimuli × features × 4`` bytes) is
   held in memory; on the CPU the others are *spilled* to a temporary file in ``$TMPDIR``
   (writing and reading them back costs less than another forward pass), so one pass suffices;
   on a GPU, where a pass is cheap, they wait for another pass.
3. One forward pass over all stimuli per group, in batches, under ``torch.inference_mode()``,
   while a background thread decodes and preprocesses the next batch. Hooks take each wanted
   output (batch axis first, flattened): outputs that nothing changes in place later (known
   from the load-time trace) are kept as the forward pass made them, without a copy; the
   others (e.g. a BatchNorm output an in-place ReLU overwrites) are copied at once. The hook of
   the group's deepest layer raises a private exception that ends the pass there, so no pass
   pays for the layers after it.
4. Each layer becomes an RDM from its float64 Gram matrix, summed over ~2 MB column blocks
   (:func:`brainalign.rsa.gram` per block, so float32 activations never get a float64 copy,
   then :func:`brainalign.rsa.rdm_from_gram`), and is cached. On CUDA the activations stay on
   the GPU and the Gram matrix is computed there, in float64; only it comes back.

A spilled layer's file is laid out in the Gram's column blocks, written with ``pwrite`` and read
back one block at a time with ``pread``: its pages live in the operating system's file cache,
which reclaims them under memory pressure, never in this process. Its space is reserved when it
is created (a full disk is an error then, not later), and it lives in a
:class:`~brainalign._files.ScratchFolder` (a killed run's is removed by the next run). Results are identical,
bit for bit, whatever the budget (at a given torch thread count: the forward pass itself rounds
differently with another). While extracting, glibc keeps freed memory for the next batch
(:mod:`brainalign.models.allocator`).

With more than one pass the preprocessed images are kept in a temporary folder (not in RAM) so
images are decoded and transformed once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch import nn

from .. import rsa
from .._files import ScratchFolder, allocate
from ..errors import BrainAlignError
from ..metrics import Kernel, LayerKernels, sketch
from ..metrics.kernels import SMALL
from ..phases import phase
from ..progress import progress
from ..rsa import LayerRDMs, RDMs
from ..rsa.dissimilarity import close_pairs, pair_stimuli
from ..stimuli import StimulusSet
from . import preprocessing as pp
from .allocator import reuse_freed_memory
from .cache import LayerRDMCache
from .graph import Layer, first_tensor, layer_name
from .loaded import Layers, LoadedModel

log = logging.getLogger(__name__)

# A laptop with 8-16 GB of RAM keeps 2 GB of activations comfortably beside the model.
DEFAULT_MEMORY_BUDGET = "2GB"
_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
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
    """Layers that share one forward pass; ``spilled`` of them go to disk, not memory."""

    layers: tuple[Layer, ...]
    spilled: frozenset[str]

    @property
    def last(self) -> Layer:
        return self.layers[-1]


def plan_groups(
    layers: Sequence[Layer], nbytes: dict[str, int], budget: int, spill_room: int = 0
) -> list[Group]:
    """Plan layers, in execution order, into passes whose in-memory activations fit ``budget``.

    A layer that does not fit what is left of the budget is spilled to disk while the pass's
    spilled bytes stay within ``spill_room``; otherwise it starts the next pass. A layer bigger
    than the whole budget is always spilled (it rides along with the current pass).
    """
    groups: list[Group] = []
    current: list[Layer] = []
    spilled: set[str] = set()
    used = spilled_bytes = 0
    for layer in layers:
        size = nbytes[layer.name]
        if size > budget:
            current.append(layer)
            spilled.add(layer.name)
        elif used + size <= budget:
            current.append(layer)
            used += size
        elif spilled_bytes + size <= spill_room:
            current.append(layer)
            spilled.add(layer.name)
            spilled_bytes += size
        else:
            groups.append(Group(tuple(current), frozenset(spilled)))
            current, spilled, used, spilled_bytes = [layer], set(), size, 0
    if current:
        groups.append(Group(tuple(current), frozenset(spilled)))
    return groups


def spill_room(folder: Path | None = None) -> int:
    """Bytes a pass may spill on the CPU: half the free space of the temporary folder."""
    return shutil.disk_usage(folder or tempfile.gettempdir()).free // 2


# Columns per block of the Gram sum: ~2 MB float64 blocks are reused by malloc (no fresh pages
# per block) and stay in cache, yet at least n wide so large stimulus sets stay compute-bound.
# A spilled layer's file is laid out in these blocks. GPUs take larger blocks (fewer kernels).
_GRAM_BLOCK_ELEMENTS = 1 << 18
_DEVICE_BLOCK_ELEMENTS = 1 << 24
_THREADED_GRAM_MIN_STIMULI = 256


def gram_step(n: int) -> int:
    """Columns per Gram block for ``n`` stimuli on the CPU."""
    return max(n, _GRAM_BLOCK_ELEMENTS // n)


class _Kept:
    """A layer's activations as ``(batch, features)`` tensors, one per batch in row order, on
    the device that made them: the forward pass's own tensors where nothing changes them in
    place later, else copies."""

    def __init__(self, n: int, features: int, copy: bool) -> None:
        self.shape = (n, features)
        self.copy = copy
        self.parts: list[torch.Tensor] = []

    def add(self, rows: slice, flat: torch.Tensor, output: torch.Tensor) -> None:
        if flat.dtype not in (torch.float32, torch.float64):
            flat = flat.float()
        elif self.copy and flat.untyped_storage().data_ptr() == output.untyped_storage().data_ptr():
            flat = flat.clone()  # a later in-place operation would change the forward's tensor
        elif flat.untyped_storage().nbytes() > flat.numel() * flat.element_size():
            flat = flat.clone()  # a view into a larger tensor: keep only what is ours
        self.parts.append(flat)

    @property
    def device(self) -> torch.device:
        return self.parts[0].device

    def columns(self, start: int, stop: int) -> np.ndarray:
        return np.concatenate([part[:, start:stop].numpy() for part in self.parts])

    def close(self) -> None:
        self.parts.clear()


class _Spilled:
    """A layer's activations in a temporary file, laid out in Gram column blocks of ``step``
    columns (block after block, each holding every row), so that one block is one ``pread``.
    The file lives in a :class:`~brainalign._files.ScratchFolder`: removed when the extraction ends,
    or by the next run where a kill skipped that."""

    def __init__(self, path: Path, n: int, features: int, dtype: np.dtype, step: int) -> None:
        self.shape = (n, features)
        self.dtype = dtype
        self.step = step
        allocate(path, n * features * dtype.itemsize)  # a full disk: an error here, not mid-pass
        self.path = path
        self.fd = os.open(path, os.O_RDWR)

    def _block(self, start: int) -> tuple[int, int]:
        """Offset in bytes and width of the block starting at column ``start``."""
        n, d = self.shape
        width = min(self.step, d - start)
        return start * n * self.dtype.itemsize, width

    def add(self, rows: slice, flat: torch.Tensor, output: torch.Tensor) -> None:
        array = flat.to("cpu", torch.float64 if self.dtype == np.float64 else torch.float32).numpy()
        itemsize = self.dtype.itemsize
        with phase("io"):
            for start in range(0, self.shape[1], self.step):
                offset, width = self._block(start)
                chunk = np.ascontiguousarray(array[:, start : start + width])
                _write_all(
                    self.fd,
                    memoryview(chunk.data).cast("B"),
                    offset + rows.start * width * itemsize,
                )

    def columns(self, start: int, stop: int) -> np.ndarray:
        """The Gram block that starts at column ``start`` (spilled files are read whole blocks
        at a time; ``stop`` is where the block ends at the most)."""
        if start % self.step:
            raise ValueError("spilled activations are read in whole Gram blocks")
        offset, width = self._block(start)
        block = np.empty((self.shape[0], width), self.dtype)
        _read_all(self.fd, memoryview(block.data).cast("B"), offset)
        return block

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
            self.path.unlink(missing_ok=True)  # its disk space back as soon as its RDM is done


def _write_all(fd: int, data: memoryview, offset: int) -> None:
    while len(data):
        written = os.pwrite(fd, data, offset)
        data, offset = data[written:], offset + written


def _read_all(fd: int, into: memoryview, offset: int) -> None:
    while len(into):
        got = os.preadv(fd, [into], offset)
        if got == 0:
            raise BrainAlignError("a spilled activation file ended early; is $TMPDIR full?")
        into, offset = into[got:], offset + got


_Sink = _Kept | _Spilled
#: Reads columns ``[start, stop)`` of a layer's activations (a sink's ``columns`` method).
_Columns = Callable[[int, int], np.ndarray]


class _Capture:
    """Forward hooks that put wanted layer outputs into per-layer sinks (rows = stimuli)."""

    def __init__(
        self, module: nn.Module, layers: Sequence[Layer], stop_after: Layer | None
    ) -> None:
        self.wanted = {layer.name: layer for layer in layers}
        self.stop_name = stop_after.name if stop_after is not None else None
        self.sinks: dict[str, _Sink] = {}
        self.shapes: dict[str, _Size] = {}
        self.counts: dict[str, int] = {}
        self.seen: set[str] = set()
        self.rows = slice(0, 0)
        modules = dict(module.named_modules())
        self.handles = [
            modules[path].register_forward_hook(self._hook(path))
            for path in dict.fromkeys(layer.module for layer in layers)
        ]

    def _hook(self, path: str) -> Callable[[nn.Module, object, object], None]:
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
        sink.add(self.rows, flat, tensor)
        self.seen.add(layer.name)

    def run(self, module: nn.Module, batch: torch.Tensor, rows: slice) -> None:
        self.counts.clear()
        self.seen.clear()
        self.rows = rows
        with suppress(_StopForward):
            module(batch)
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
    """Preprocessed batches, the next one prepared by a background thread while the model
    runs; with several passes they are kept in a temporary folder on disk."""

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
            batch = torch.stack(
                [pp.apply(self.model.preprocess, self.stimuli.load(i)) for i in ids]
            )
            if saved is not None:
                np.save(saved, batch.numpy())
        return batch.to(self.model.device)

    def __iter__(self) -> Iterator[tuple[slice, torch.Tensor]]:
        with ThreadPoolExecutor(1, thread_name_prefix="brainalign-inputs") as pool:
            pending = pool.submit(self.tensor, self.batches[0])
            for index, rows in enumerate(self.batches):
                with phase("preprocess"):
                    batch = pending.result()
                if index + 1 < len(self.batches):
                    pending = pool.submit(self.tensor, self.batches[index + 1])
                yield rows, batch

    def close(self) -> None:
        if self.scratch is not None:
            self.scratch.remove()


def _probe(model: LoadedModel, inputs: _Inputs, layers: Sequence[Layer]) -> dict[str, _Size]:
    """Each layer's features per stimulus and dtype, from one forward pass on the first image."""
    capture = _Capture(model.module, layers, stop_after=layers[-1])
    try:
        with phase("preprocess"):
            first = inputs.tensor(slice(0, 1))
        with torch.inference_mode(), phase("forward"):
            capture.run(model.module, first, slice(0, 1))
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
    matrix, on the activations' device. ``memory_budget`` bounds the activations held at once
    (bytes or e.g. ``"2GB"``). Cached layer RDMs are reused unless ``cache=False``. The result
    lists layers in execution order with their relative depths.
    """
    return extract_layers(
        model,
        stimuli,
        distance=distance,
        batch_size=batch_size,
        memory_budget=memory_budget,
        device=device,
        cache=cache,
        layers=layers,
        kernels=False,
    )[0]


def extract_layers(
    model: LoadedModel,
    stimuli: StimulusSet,
    *,
    distance: str = "cosine",
    batch_size: int = 32,
    memory_budget: int | str = DEFAULT_MEMORY_BUDGET,
    device: str | torch.device | None = None,
    cache: bool = True,
    layers: Layers | None = None,
    kernels: bool = True,
) -> tuple[LayerRDMs, LayerKernels | None]:
    """The layer RDMs of :func:`extract_layer_rdms` and, with ``kernels``, each layer's linear
    kernel from the same forward pass (:class:`brainalign.metrics.LayerKernels`, what the metrics
    beyond classical RSA take): up to :data:`brainalign.metrics.kernels.SMALL` stimuli the exact
    uncentred float64 Gram matrix ``X Xᵀ`` the RDM is computed from; above, a seeded count sketch
    of the activations (:func:`brainalign.metrics.sketch`, ``SKETCH_DIMENSIONS`` columns, seeded by
    the model and layer; ``E[Z Zᵀ] = X Xᵀ``), summed over the same column blocks. Kernels are
    cached beside the RDMs (up to ``SMALL`` stimuli the Gram matrix is cached whenever an RDM is
    computed, so a later metric needs no second pass)."""
    if distance not in rsa.DISTANCES:
        raise BrainAlignError(
            f"unknown distance {distance!r}; choose one of {', '.join(rsa.DISTANCES)}"
        )
    if batch_size < 1:
        raise BrainAlignError(f"batch size must be at least 1, got {batch_size}")
    if len(stimuli) < 2:
        raise BrainAlignError(f"an RDM needs at least 2 stimuli, {stimuli.name} has {len(stimuli)}")
    budget = parse_memory_budget(memory_budget)
    home = model.device
    if device is not None and torch.device(device) != home:
        model = model.to(device)  # and back afterwards, so the caller's model stays consistent
    try:
        return _extract(model, stimuli, distance, batch_size, budget, cache, layers, kernels)
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
    kernels: bool,
) -> tuple[LayerRDMs, LayerKernels | None]:
    names = model.select(layers)
    store = (
        LayerRDMCache(model, stimuli, distance=distance, batch_size=batch_size) if cache else None
    )
    form = "gram" if len(stimuli) <= SMALL else "sketch"
    # Gram matrices of few stimuli are a free by-product: cached whenever an RDM is computed.
    keep_kernels = kernels or (store is not None and form == "gram")
    results: dict[str, np.ndarray] = {}
    kernel_results: dict[str, np.ndarray] = {}
    if store is not None:
        with phase("io"):
            for name in names:
                cached = store.get(name)
                if cached is not None:
                    results[name] = cached
                cached = store.get_kernel(name, form) if kernels else None
                if cached is not None:
                    kernel_results[name] = cached
    todo = [
        model.graph[name]
        for name in names
        if name not in results or (kernels and name not in kernel_results)
    ]
    if todo:
        log.info(
            "%s: %d of %d layers cached; computing %d",
            model.id,
            len(names) - len(todo),
            len(names),
            len(todo),
        )
        with reuse_freed_memory(), _exact_float32(model.device):
            _compute(
                model,
                stimuli,
                todo,
                distance,
                batch_size,
                budget,
                store,
                results,
                (form, kernel_results) if keep_kernels else None,
            )
    data = np.stack([results[name] for name in names])
    depths = model.graph.depths(names)
    layer_rdms = LayerRDMs(RDMs(data, names, stimuli.ids, distance), depths, model.id)
    if not kernels:
        return layer_rdms, None
    made = Kernel.from_gram if form == "gram" else Kernel.from_features
    layer_kernels = LayerKernels(
        tuple(made(kernel_results[name]) for name in names), names, depths, stimuli.ids, model.id
    )
    return layer_rdms, layer_kernels


@contextmanager
def _exact_float32(device: torch.device) -> Iterator[None]:
    """On CUDA, float32 convolutions and matrix products in float32, not TF32 (which keeps 10
    bits of mantissa): the activations are the network's float32 ones on every device."""
    if device.type != "cuda":
        yield
        return
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _compute(
    model: LoadedModel,
    stimuli: StimulusSet,
    todo: list[Layer],
    distance: str,
    batch_size: int,
    budget: int,
    store: LayerRDMCache | None,
    results: dict[str, np.ndarray],
    kernels: tuple[str, dict[str, np.ndarray]] | None = None,
) -> None:
    """Forward passes over ``todo``; each layer's RDM into ``results`` and, where ``kernels`` is
    ``(form, into)``, its kernel of that form into ``into``; each written to ``store`` when done."""
    inputs = _Inputs(model, stimuli, batch_size)
    spill: ScratchFolder | None = None
    try:
        sizes = _probe(model, inputs, todo)
        n = len(stimuli)
        nbytes = {name: size.nbytes(n) for name, size in sizes.items()}
        room = spill_room() if model.device.type == "cpu" else 0
        groups = plan_groups(todo, nbytes, budget, room)
        if len(groups) > 1:
            inputs.keep_on_disk()
        if any(group.spilled for group in groups):
            spill = ScratchFolder("spill")
        log.info(
            "%s: %d layers in %d passes of %d batches (budget %.2f GB, %.2f GB spilled)",
            model.id,
            len(todo),
            len(groups),
            len(inputs.batches),
            budget / 1e9,
            sum(nbytes[name] for group in groups for name in group.spilled) / 1e9,
        )
        bar = progress(total=len(groups) * len(inputs.batches), unit="batch", desc=model.id)
        try:
            for index, group in enumerate(groups, 1):
                bar.set_description(f"{model.id} pass {index}/{len(groups)}")
                sinks = _sinks(group, sizes, n, spill.path if spill is not None else None)
                capture = _Capture(model.module, group.layers, stop_after=group.last)
                capture.sinks = sinks
                try:
                    with torch.inference_mode():
                        for rows, batch in inputs:
                            with phase("forward"):
                                capture.run(model.module, batch, rows)
                            bar.update(1)
                finally:
                    capture.close()
                try:
                    for layer in group.layers:
                        sink = sinks.pop(layer.name)
                        with phase("gram"), _undefined_distances_reported_by_scoring():
                            rdm, gram = _layer_rdm_and_gram(sink, distance)
                            results[layer.name] = rdm
                            if kernels is not None:
                                form, into = kernels
                                into[layer.name] = (
                                    gram
                                    if form == "gram"
                                    else _sketch(sink, sketch_seed(model.id, layer.name))
                                )
                        sink.close()
                        if store is not None:
                            with phase("io"):
                                store.put(layer.name, results[layer.name])
                                if kernels is not None:
                                    store.put_kernel(layer.name, kernels[0], kernels[1][layer.name])
                finally:
                    for sink in sinks.values():
                        sink.close()
        finally:
            bar.close()
    finally:
        inputs.close()
        if spill is not None:
            spill.remove()


@contextmanager
def _undefined_distances_reported_by_scoring() -> Iterator[None]:
    """Silences the warning about stimuli with all-zero or non-finite activations: their NaN
    dissimilarities stay in the RDM, and scoring drops such a layer and reports it once per model
    (:mod:`brainalign.models.constant_layers`), not once per layer, stimulus set and benchmark."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r".*distances are undefined and set to NaN", category=RuntimeWarning
        )
        yield


def _sinks(
    group: Group, sizes: dict[str, _Size], n: int, spill_folder: Path | None
) -> dict[str, _Sink]:
    sinks: dict[str, _Sink] = {}
    for position, layer in enumerate(group.layers):
        size = sizes[layer.name]
        if layer.name in group.spilled:
            assert spill_folder is not None
            path = spill_folder / f"{position}.f{size.dtype.itemsize * 8}"
            sinks[layer.name] = _Spilled(path, n, size.features, size.dtype, gram_step(n))
        else:
            sinks[layer.name] = _Kept(n, size.features, copy=layer.mutated)
    return sinks


def layer_rdm(features: np.ndarray | _Sink, distance: str) -> np.ndarray:
    """The RDM of one layer's ``(n_stimuli, n_features)`` activations, exactly: float64 Gram
    matrices of column blocks summed in block order, then :func:`brainalign.rsa.rdm_from_gram`;
    for Euclidean distances the pairs where that loses digits are recomputed from the blocks.
    Activations held on a GPU are reduced there (:func:`_device_gram`)."""
    return _layer_rdm_and_gram(features, distance)[0]


def _layer_rdm_and_gram(
    features: np.ndarray | _Sink, distance: str
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`layer_rdm` and the uncentred float64 Gram matrix it was computed from."""
    sink = _Array(features) if isinstance(features, np.ndarray) else features
    if isinstance(sink, _Kept) and sink.device.type != "cpu":
        gram, sums = _device_gram(sink.parts, sink.shape, distance == "correlation")
        columns = None
    else:
        gram, sums = _host_gram(sink, distance == "correlation")
        columns = sink.columns
    return _rdm_from_gram(gram, sums, sink, distance, columns), gram


#: Columns of the count sketch that stands for a layer's kernel above metrics.kernels.SMALL stimuli.
SKETCH_DIMENSIONS = 2048


def sketch_seed(model_id: str, layer: str) -> int:
    """The seed of a layer's count sketch: fixed by the model and the layer."""
    return int.from_bytes(hashlib.sha256(f"{model_id}\0{layer}".encode()).digest()[:4], "little")


def _sketch(features: _Sink | _Array, seed: int) -> np.ndarray:
    """The count sketch of a layer's activations (:func:`brainalign.metrics.sketch`), summed over
    column blocks (activations on a GPU are brought over block by block)."""
    n, d = features.shape
    step = gram_step(n)
    total = np.zeros((n, SKETCH_DIMENSIONS))
    for start in range(0, d, step):
        if isinstance(features, _Kept) and features.device.type != "cpu":
            block = (
                torch.cat([part[:, start : start + step] for part in features.parts]).cpu().numpy()
            )
        else:
            block = features.columns(start, start + step)
        total += sketch(block, start, SKETCH_DIMENSIONS, seed)
    return total


class _Array:
    """An in-memory ``(n, features)`` array as a sink (for :func:`layer_rdm` on plain arrays)."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.shape = array.shape

    def columns(self, start: int, stop: int) -> np.ndarray:
        return self.array[:, start:stop]


def _host_gram(features: _Kept | _Spilled | _Array, center: bool) -> tuple[np.ndarray, np.ndarray]:
    """Float64 Gram matrix and row sums of activations in host memory, block by block."""
    n, d = features.shape
    step = gram_step(n)

    def block_gram(start: int) -> tuple[np.ndarray, np.ndarray | None]:
        block = features.columns(start, start + step)
        return rsa.gram(block), block.sum(axis=1, dtype=np.float64) if center else None

    gram = np.zeros((n, n))
    sums = np.zeros(n)
    starts = range(0, d, step)
    if n < _THREADED_GRAM_MIN_STIMULI:
        # Few stimuli make each block product tiny: BLAS threads cost more than they save (on a
        # busy machine their spin-waits cost 10x the product), so blocks go to threads of our
        # own, one BLAS thread each. Summed in block order: identical whatever the thread count.
        with (
            threadpool_limits(limits=1, user_api="blas"),
            ThreadPoolExecutor(_gram_threads()) as pool,
        ):
            for part, part_sums in pool.map(block_gram, starts):
                gram += part
                if part_sums is not None:  # centring
                    sums += part_sums
    else:
        for part, part_sums in map(block_gram, starts):
            gram += part
            if part_sums is not None:  # centring
                sums += part_sums
    return gram, sums


def _device_gram(
    parts: list[torch.Tensor], shape: tuple[int, int], center: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Float64 Gram matrix and row sums computed where the activations are (a GPU): column
    blocks are converted to float64 there, and only the ``(n, n)`` result comes back."""
    n, d = shape
    device = parts[0].device
    gram = torch.zeros((n, n), dtype=torch.float64, device=device)
    sums = torch.zeros(n, dtype=torch.float64, device=device)
    step = max(1, _DEVICE_BLOCK_ELEMENTS // n)
    for start in range(0, d, step):
        block = torch.cat([part[:, start : start + step] for part in parts]).double()
        gram.addmm_(block, block.T)
        if center:
            sums += block.sum(dim=1)
    return gram.cpu().numpy(), sums.cpu().numpy()


def _rdm_from_gram(
    gram: np.ndarray,
    sums: np.ndarray,
    features: _Sink | _Array,
    distance: str,
    columns: _Columns | None,
) -> np.ndarray:
    _n, d = features.shape
    if distance in ("cosine", "correlation"):
        result = rsa.rdm_from_gram(
            gram, distance, row_sums=sums if distance == "correlation" else None, n_features=d
        )
        result[np.abs(result) <= rsa.ZERO_DISTANCE] = 0.0  # identical stimuli tie exactly
        return result
    result = rsa.rdm_from_gram(gram, distance)
    if distance in ("euclidean", "sqeuclidean"):
        squared = distance == "sqeuclidean"
        close = close_pairs(gram, result, squared=squared)
        if close.size:
            exact = _squared_distances(features, close, columns)
            result[close] = exact if squared else np.sqrt(exact)
    return result


def _squared_distances(
    features: _Sink | _Array, pairs: np.ndarray, columns: _Columns | None
) -> np.ndarray:
    """Exact float64 squared distances of the stimulus pairs at condensed indices ``pairs``,
    summed over column blocks (on the GPU for activations held there)."""
    n, d = features.shape
    rows, cols = pair_stimuli(n, pairs)
    if columns is None:  # on a GPU
        assert isinstance(features, _Kept)
        parts = features.parts
        device = parts[0].device
        index_rows = torch.from_numpy(rows).to(device)
        index_cols = torch.from_numpy(cols).to(device)
        on_device = torch.zeros(pairs.size, dtype=torch.float64, device=device)
        step = max(1, _DEVICE_BLOCK_ELEMENTS // n)
        for start in range(0, d, step):
            device_block = torch.cat([part[:, start : start + step] for part in parts]).double()
            device_diff = device_block[index_rows] - device_block[index_cols]
            on_device += (device_diff * device_diff).sum(dim=1)
        return on_device.cpu().numpy()
    total = np.zeros(pairs.size)
    for start in range(0, d, gram_step(n)):
        block = columns(start, start + gram_step(n))
        diff = block[rows].astype(np.float64) - block[cols].astype(np.float64)
        total += np.einsum("ij,ij->i", diff, diff)
    return total


def _gram_threads() -> int:
    return max(1, torch.get_num_threads())


def activation_bytes(
    model: LoadedModel, stimuli: StimulusSet, layers: Layers | None = None
) -> dict[str, int]:
    """Bytes each layer's activations take for all ``stimuli`` (what the budget is compared with)."""
    inputs = _Inputs(model, stimuli, 1)
    try:
        sizes = _probe(model, inputs, [model.graph[name] for name in model.select(layers)])
    finally:
        inputs.close()
    return {name: size.nbytes(len(stimuli)) for name, size in sizes.items()}
