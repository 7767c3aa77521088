"""Submissions that verify themselves: re-score a result from its provenance and compare.

A result records what its numbers depend on: the model (id, weights sha256, parameters sha256,
preprocessing and its output's sha256, a ``FILE.py`` model's source sha256), the benchmark
(``id@version``) and its data checksums, the stimuli's content hash, the seed, the layer policy,
the batch size, and the environment (library versions, torch's thread count). :func:`verify`
rebuilds each of those here, checks every checksum, extracts the layer RDMs and tests whether the
subjects agree afresh (the cache is not read unless asked), scores with the recorded seed and thread count, and compares every
number with the file's (:data:`~brainalign.results.agreement.TOLERANCE`). Each result is
*verified*, *differs* (which numbers, by how much) or *cannot verify* (what is missing).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._files import remove_orphaned_writes, sha256_file
from .benchmarks import Benchmark, get
from .benchmarks.agreement_cache import computed_afresh
from .benchmarks.plugins import PluginError
from .benchmarks.registry import PROBE_HASH_MARK
from .errors import BrainAlignError
from .models import LoadedModel, extract_layers, load_model
from .models.constant_layers import drop_uncomparable_layers
from .paths import data_dir as resolve_data_dir
from .progress import progress
from .results import Result
from .results.agreement import TOLERANCE, Comparison, compare_numbers
from .results.provenance import environment
from .results.verification_record import Status, VerificationRecord, write_record


@dataclass(frozen=True)
class Verdict:
    """What verifying one result file found."""

    path: Path
    model_id: str
    benchmark: str
    status: Status
    message: str
    comparison: Comparison | None = None
    record: Path | None = None

    @property
    def verified(self) -> bool:
        return self.status == "verified"


class CannotVerify(Exception):
    """Something the re-computation needs is missing here; the message says what and how to get it."""


def result_files(paths: Sequence[str | Path]) -> list[Path]:
    """Result files named, or found in folders named (any depth), in order."""
    files: list[Path] = []
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.json") if not p.name.startswith(".")))
        elif path.is_file():
            files.append(path)
        else:
            raise BrainAlignError(f"{path} is neither a result file nor a results folder")
    return files


def verify(
    paths: Sequence[str | Path],
    *,
    model_files: Sequence[str] = (),
    weights: Sequence[str | Path] = (),
    specs: Sequence[str | Path] = (),
    data_dir: str | Path | None = None,
    use_cache: bool = False,
    record: bool = True,
    on_verdict: Callable[[Verdict], None] | None = None,
) -> list[Verdict]:
    """Re-score every result in ``paths`` (files or folders) and compare; see the module docstring.

    ``model_files``: ``FILE.py:FUNCTION`` specs for models whose code is not where the result says
    (or that were given as Python objects); each is used for the results of the model id its card
    names. ``weights``: weights files a result names by sha256. ``specs``: spec files of
    spec-file benchmarks. ``record`` writes a verification record beside each verified or
    differing result. ``use_cache`` reads layer RDMs and the subjects' agreement tests from the cache instead of
    computing them again.
    """
    files = result_files(paths)
    for folder in dict.fromkeys(
        p.parent for p in files
    ):  # what a killed verify left: its records' temporary files
        remove_orphaned_writes(folder)
    context = _Context(model_files, weights, specs, resolve_data_dir(data_dir), use_cache)
    verdicts = []
    for path in progress(files, desc="verifying", unit="result"):
        verdict, result = _verify_file(path, context)
        if record and result is not None and verdict.status != "cannot verify":
            record_file = write_record(
                path, VerificationRecord.now(result, verdict.status, verdict.comparison)
            )
            verdict = dataclasses.replace(verdict, record=record_file)
        verdicts.append(verdict)
        if on_verdict is not None:
            on_verdict(verdict)
    return verdicts


class _Context:
    """What a run of :func:`verify` has been given, and what it has loaded (one model at a time)."""

    def __init__(
        self,
        model_files: Sequence[str],
        weights: Sequence[str | Path],
        specs: Sequence[str | Path],
        data_dir: Path | None,
        use_cache: bool,
    ) -> None:
        self.model_files = list(model_files)
        self.weights = {sha256_file(w): Path(w) for w in weights}
        self.specs = {bench.identifier: bench for bench in (get(str(s)) for s in specs)}
        self.data_dir = data_dir
        self.use_cache = use_cache
        self._file_cards: dict[str, str] | None = None
        self._model: tuple[tuple[Any, ...], LoadedModel] | None = None
        self._layers: dict[tuple[Any, ...], Any] = {}

    def benchmark(self, result: Result) -> Benchmark:
        """The benchmark ``result`` was scored on: a spec given, a probe known here, or registered."""
        identifier = result.benchmark
        if identifier in self.specs:
            return self.specs[identifier]
        changed = self._changed_spec(result)
        if changed:
            raise CannotVerify(changed)
        try:
            return get(identifier)
        except BrainAlignError as err:
            if PROBE_HASH_MARK in identifier:  # a probe: the error says how to name its folder
                raise CannotVerify(str(err)) from None
            raise CannotVerify(
                f"benchmark {identifier} is not known here: install the package that provides it, "
                "or give its spec file with --spec FILE.toml"
            ) from None

    def _changed_spec(self, result: Result) -> str:
        """Where a spec given defines the benchmark of ``result``'s name under another id (its data
        or definition changed since the result was scored), what it defines now and which files differ."""
        from .benchmarks.spec import SpecBenchmark  # the data loaders, only when a spec is given

        name, _, _ = result.benchmark.partition("@")[0].rpartition(".")
        for bench in self.specs.values():
            if not name or not isinstance(bench, SpecBenchmark) or bench.dataset != name:
                continue
            recorded = (result.provenance.get("data_checksums") or {}).get(name, {})
            try:
                here = bench.provenance(self.data_dir).get(name, {})
            except BrainAlignError:
                here = {}
            differ = sorted({f for f in {*recorded, *here} if recorded.get(f) != here.get(f)})
            files = f" (files that differ: {', '.join(differ)})" if differ else ""
            return (
                f"the spec file {bench.path} now defines benchmark {bench.identifier}, not {result.benchmark} "
                f"that this result was scored on: its data or definition changed since{files}; give the spec "
                "and files the result was scored with"
            )
        return ""

    def file_for(self, model_id: str) -> str | None:
        """The ``--model-file`` whose model has id ``model_id``."""
        if self._file_cards is None:
            self._file_cards = {}
            for spec in self.model_files:
                self._file_cards.setdefault(load_model(spec).id, spec)
        return self._file_cards.get(model_id)

    def model(
        self, spec: str, weights: Path | None, preprocessing: str, layers: Any
    ) -> LoadedModel:
        key = (spec, weights, preprocessing, repr(layers))
        if self._model is None or self._model[0] != key:
            self._model, self._layers = None, {}  # one model in memory at a time
            self._model = (
                key,
                load_model(spec, weights=weights, preprocessing=preprocessing, layers=layers),
            )
        return self._model[1]

    def layers(self, model: LoadedModel, stimuli: Any, distance: str, batch_size: int) -> Any:
        """The layer RDMs and kernels (:func:`~brainalign.models.extract_layers`) on ``stimuli``."""
        key = (stimuli.content_hash, distance, batch_size)
        if (
            key not in self._layers
        ):  # benchmarks sharing stimuli (two ROIs of one data set) share them
            self._layers[key] = extract_layers(
                model, stimuli, distance=distance, batch_size=batch_size, cache=self.use_cache
            )
        return self._layers[key]


def _verify_file(path: Path, context: _Context) -> tuple[Verdict, Result | None]:
    try:
        result, written_id = Result.read_unchecked(path)
    except BrainAlignError as err:
        return Verdict(path, "", "", "cannot verify", f"not a valid result: {err}"), None
    try:
        comparison = _rescore(result, context)
    except (CannotVerify, PluginError) as err:  # a plugin that fails here cannot verify its results
        return Verdict(path, result.model_id, result.benchmark, "cannot verify", str(err)), result
    edited = written_id != result.content_id()
    notes = environment_notes(result)
    versions = f"; {', '.join(notes)}" if notes else ""
    if comparison.agree and not edited:
        return Verdict(
            path,
            result.model_id,
            result.benchmark,
            "verified",
            f"all {comparison.n_checked} numbers within {TOLERANCE:g} (largest difference "
            f"{comparison.max_difference:.1g}){versions}",
            comparison,
        ), result
    lines = [str(d) for d in comparison.differences[:5]]
    if len(comparison.differences) > 5:
        lines.append(f"and {len(comparison.differences) - 5} more")
    if edited:
        lines.insert(0, "the file does not match its content id (edited after it was written)")
    return Verdict(
        path, result.model_id, result.benchmark, "differs", "; ".join(lines) + versions, comparison
    ), result


def _rescore(result: Result, context: _Context) -> Comparison:
    provenance = result.provenance
    bench = context.benchmark(result)
    availability = bench.availability(context.data_dir)
    if not availability.available:
        raise CannotVerify(
            f"its data is not here ({availability.reason}); get it with: {availability.fix}"
        )
    _same_checksums("data", provenance.get("data_checksums"), bench.provenance(context.data_dir))
    model = _model(result, context)
    stimulus_sets = bench.stimulus_sets(context.data_dir)
    _same_checksums(
        "stimuli",
        provenance.get("stimuli_sha256"),
        {name: s.content_hash for name, s in stimulus_sets.items()},
    )
    batch_size = int(provenance.get("batch_size") or 32)
    seed = int(provenance["seed"])
    with _torch_threads(provenance.get("environment", {}).get("torch_threads")):
        extracted = {
            name: context.layers(model, stimuli, bench.distance, batch_size)
            for name, stimuli in stimulus_sets.items()
        }
        layer_rdms, dropped = drop_uncomparable_layers(
            {n: rdms for n, (rdms, _) in extracted.items()}, model.id
        )
        layers: dict[str, Any] = layer_rdms
        if (
            getattr(bench, "layers_as", "rdms") == "kernels"
        ):  # the kernels of the layers that can be compared
            layers = {
                n: kernels.select(layer_rdms[n].layers) for n, (_, kernels) in extracted.items()
            }
        with contextlib.nullcontext() if context.use_cache else computed_afresh():
            score = bench.score(layers, seed=seed, data_dir=context.data_dir)
    if dropped:
        score.extra["dropped_layers"] = dropped
    recomputed = Result.from_score(
        score, model_card=result.model_card, benchmark=result.benchmark_info, seed=seed
    )
    return compare_numbers(result, recomputed)


def _model(result: Result, context: _Context) -> LoadedModel:
    """The model the result was computed with, rebuilt here and checked against its hashes."""
    provenance = result.provenance
    source = provenance.get("model_file")
    spec = result.model_id
    if source:
        here = Path(source["path"])
        if here.is_file() and sha256_file(here) == source["sha256"]:
            spec = f"{here}:{source['function']}"
        else:
            spec = context.file_for(result.model_id) or ""
            if not spec:
                raise CannotVerify(
                    f"its model file {source['path']} (sha256 {source['sha256'][:12]}…) is not here "
                    "or has changed: give the original with --model-file FILE.py:FUNCTION"
                )
    elif result.model_card.get("source") == "custom":
        spec = context.file_for(result.model_id) or ""
        if not spec:
            raise CannotVerify(
                f"model {result.model_id} was given as a Python object (from_module): give a "
                "FILE.py:FUNCTION that builds it with --model-file"
            )
    weights_sha256 = provenance.get("weights_file_sha256")
    weights = context.weights.get(weights_sha256) if weights_sha256 else None
    if weights_sha256 and weights is None:
        raise CannotVerify(
            f"it was scored with a weights file (sha256 {weights_sha256[:12]}…) that is not here: "
            "give it with --weights FILE"
        )
    preprocessing = provenance.get("preprocessing", "native")
    try:
        model = context.model(
            spec,
            weights,
            "native" if preprocessing == "custom" else preprocessing,
            provenance.get("layer_policy"),
        )
    except BrainAlignError as err:
        raise CannotVerify(f"its model cannot be built here: {err}") from None
    checks = (
        ("weights", model.card.weights_sha256, result.model_card.get("weights_sha256")),
        ("parameters", model.state_sha256(), provenance.get("parameters_sha256")),
        ("preprocessing output", model.preprocess_sha256, provenance.get("preprocess_sha256")),
    )
    for name, built, recorded in checks:
        if recorded and built and recorded != built:
            raise CannotVerify(
                f"the model built here is not the one scored: its {name} sha256 is "
                f"{built[:12]}…, the result records {recorded[:12]}…"
            )
    return model


def _same_checksums(what: str, recorded: Any, here: Any) -> None:
    if recorded is not None and recorded != here:
        raise CannotVerify(
            f"the {what} here differ from those the result was computed on "
            f"(recorded {_short(recorded)}, here {_short(here)})"
        )


def _short(checksums: Any) -> str:
    text = str(checksums)
    return text if len(text) <= 120 else text[:117] + "…"


@contextlib.contextmanager
def _torch_threads(count: int | None) -> Iterator[None]:
    """Compute with the thread count the result was computed with (reductions round by it)."""
    import torch

    before = torch.get_num_threads()
    if count:
        torch.set_num_threads(int(count))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def environment_notes(result: Result) -> list[str]:
    """Where this machine's versions differ from those the result records (numbers may then
    differ in their last bits, within the tolerance)."""
    recorded = result.provenance.get("environment", {}).get("libraries", {})
    here: dict[str, str] = environment()["libraries"]  # type: ignore[assignment]
    return [
        f"{name} {recorded[name]} there, {here.get(name)} here"
        for name in sorted(recorded)
        if recorded.get(name) and here.get(name) and recorded[name] != here[name]
    ]
