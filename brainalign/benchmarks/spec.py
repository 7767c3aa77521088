"""Your data as a benchmark, without code: a TOML spec file naming a stimulus folder and
per-subject RDMs, declared (:class:`~brainalign.benchmarks.declared.DeclaredBenchmark`) and scored
like the human benchmarks: by classical RSA, or by the metric ``metric`` names.

.. code-block:: toml

    id = "mylab.judgements"                 # your name for it (default: the file's name)
    title = "My lab: similarity judgements of 92 objects"
    description = "How well a model's layers match how 16 people judge the objects."
    citation = "@article{mylab2026, ...}"   # BibTeX of the data
    stimuli = "images"                      # a folder of images; stimulus id = file name without suffix
    metric = "rsa"                          # rsa (default) | wrsa | cka | encoding | a plugin's metric

    [target]
    name = "judgements"
    kind = "behaviour"                      # fmri, behaviour, meg, ...
    format = "npy"                          # npy | npz | rsatoolbox | nifti
    rdms = "judgements.npy"                 # (subjects, n, n)
    stimulus_list = "stimuli.txt"           # the RDMs' row order (default: the stimulus folder's order)
    distance = "judgement"                  # what the target's dissimilarities are
    comparison = "spearman"                 # spearman | pearson | kendall_tau_a | cosine

Per-subject **responses** (voxel or neuron patterns) in place of RDMs: ``responses`` names one
``.npy`` (or ``.npz``) per subject, a glob pattern such as ``"sub-*.npy"`` (a subject is its file's
name without suffix), each ``(n_stimuli, n_units)`` or ``(repeats, n_stimuli, n_units)`` with rows
in the stimulus list's order; ``format`` may then be left out (it follows the files' suffix).
The encoding and CKA metrics score the responses themselves (with 2 or more repeats per subject,
encoding's ceiling is each unit's NCSNR); classical RSA and wRSA score each subject's RDM of its
responses averaged over repeats, by ``distance`` (default correlation), and say so:

.. code-block:: toml

    title = "My lab: IT responses to 92 objects"
    citation = "@article{mylab2026, ...}"
    stimuli = "images"
    metric = "encoding"

    [target]
    kind = "fmri"
    responses = "sub-*.npy"                 # one file per subject
    stimulus_list = "stimuli.txt"

Paths are relative to the spec file. The benchmark's id is ``<id>.<hash>``: ``hash`` is the start of
the sha256 of the spec's content with every file it names replaced by the sha256 of the file's
bytes (a folder: of its files; the stimuli: their content hash). Two different data sets or specs
never share an id, and the same ones always give the same id, wherever the files lie.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from functools import cached_property
from glob import glob
from pathlib import Path
from typing import Any

import pandas as pd

from .._files import sha256_file
from .._toml import load_toml
from ..bibtex import STUDY_BIBTEX, suite_bibtex
from ..errors import BrainAlignError
from ..metrics import ClassicalRSA, takes_responses
from ..neural_data import (
    load_nifti_betas,
    load_npy,
    load_npz_folder,
    load_responses,
    load_rsatoolbox_hdf5,
)
from ..neural_data.collection import NeuralData
from ..neural_data.response_files import response_files
from ..rsa import METHODS
from ..rsa.dissimilarity import DISTANCES
from ..stimuli import StimulusSet
from .base import Availability
from .declared import DeclaredBenchmark
from .human import CURRENT_VERSION
from .metric_registry import DEFAULT_METRIC, get_metric

#: Hex digits of the content hash in the id (64 bits: no two data sets share one by chance).
HASH_DIGITS = 16
FORMATS: tuple[str, ...] = ("npy", "npz", "rsatoolbox", "nifti")

_TOP = {
    "id": False,
    "title": True,
    "description": False,
    "citation": True,
    "stimuli": True,
    "layer_distance": False,
    "metric": False,
    "target": True,
}  # key → required
_TARGET = {
    "name": False,
    "kind": True,
    "format": False,  # required for RDMs; responses follow their files' suffix
    "rdms": False,
    "responses": False,
    "stimulus_list": False,
    "roi": False,
    "key": False,
    "table": False,
    "mask": False,
    "distance": False,
    "comparison": False,
}
_NEEDS = {"npy": ("rdms",), "npz": ("rdms",), "rsatoolbox": ("rdms",), "nifti": ("table", "mask")}
#: The formats per-subject response files may have.
RESPONSE_FORMATS: tuple[str, ...] = ("npy", "npz")
_PATH_KEYS = ("rdms", "responses", "stimulus_list", "table", "mask")


class SpecBenchmark(DeclaredBenchmark):
    """A benchmark declared by a spec file (see the module docstring); it is scored exactly like
    the built-in human benchmarks (:mod:`brainalign.benchmarks.scoring`)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().resolve()
        spec = _checked(load_toml(self.path), self.path)
        target = spec["target"]
        self.spec = spec
        self.spec_folder = (
            self.path.parent
        )  # not `folder`: that is DeclaredBenchmark.folder(data_dir)
        self.format = target["format"]  # filled in for responses by _checked
        self.comparison = target.get("comparison", "spearman")
        name = str(spec.get("id") or self.path.stem)
        self.dataset = name  # the stimulus set's name, before the content hash is taken
        target_name = str(target.get("name") or target.get("roi") or "target")
        self.citation = spec["citation"].strip()
        self.kind = target["kind"]
        metric = spec.get("metric", DEFAULT_METRIC)
        super().__init__(
            id=f"{name}.{self.content_hash[:HASH_DIGITS]}",
            version=CURRENT_VERSION,
            title=spec["title"],
            description=spec.get("description") or spec["title"],
            target_definition=_definition(spec, target_name),
            datasets=(name,),
            target=target_name,
            metric=metric,
            distance=spec.get("layer_distance", "cosine"),
            response_distance=target.get("distance", "correlation")
            if "responses" in target
            else DeclaredBenchmark.response_distance,
        )
        if not isinstance(self.scored_with, ClassicalRSA):
            self.version = self.scored_with.version

    # --- files ----------------------------------------------------------------------------------
    def file(self, key: str) -> Path | None:
        """The file or folder the target's ``key`` names, resolved against the spec's folder."""
        value = self.spec["target"].get(key)
        return _resolve(value, self.spec_folder) if value else None

    def required_file(self, key: str) -> Path:
        """:meth:`file` for a key the target's format cannot do without."""
        path = self.file(key)
        if path is None:
            raise BrainAlignError(
                f"benchmark {self.identifier}: its spec's [target] names no {key}"
            )
        return path

    @property
    def has_responses(self) -> bool:
        """Whether the spec declares per-subject responses (``[target] responses``), not RDMs."""
        return "responses" in self.spec["target"]

    @cached_property
    def response_files(self) -> list[Path]:
        """The per-subject response files ``[target] responses`` names (an error where none)."""
        return response_files(self.required_file("responses"))

    @cached_property
    def stimuli_folder(self) -> Path:
        return _resolve(self.spec["stimuli"], self.spec_folder)

    @cached_property
    def checksums(self) -> dict[str, str]:
        """sha256 of every data file the spec names (folders: of each file in them), keyed by
        the path relative to the spec's folder (the file name where it lies elsewhere)."""
        files: list[Path] = []
        for key in _PATH_KEYS:
            path = self.file(key)
            if path is None:
                continue
            if key == "responses":
                files.extend(self.response_files)
                continue
            if not path.exists():
                raise BrainAlignError(
                    f"{self.path}: target.{key} names {path}, which does not exist"
                )
            files.extend(
                sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
            )
        if self.format == "nifti":
            files.extend(_beta_files(self.file("table")))
        return {_relative(p, self.spec_folder): sha256_file(p) for p in files}

    @cached_property
    def stimulus_set(self) -> StimulusSet:
        return StimulusSet.from_folder(self.stimuli_folder, name=self.dataset)

    @cached_property
    def content_hash(self) -> str:
        """sha256 of the spec with every file replaced by its content's sha256 (module docstring)."""
        spec = json.loads(json.dumps(self.spec))
        for key in _PATH_KEYS:
            spec["target"].pop(key, None)
        spec["stimuli"] = self.stimulus_set.content_hash
        spec["files"] = self.checksums
        canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    # --- the Benchmark interface ------------------------------------------------------------------
    @property
    def bibtex(self) -> str:  # type: ignore[override]
        return "\n\n".join([self.citation, STUDY_BIBTEX, suite_bibtex()])

    def availability(self, data_dir: Path | None) -> Availability:
        missing = [
            p
            for p in [self.stimuli_folder, *map(self.file, _PATH_KEYS)]
            if p is not None and not (p.exists() or (p == self.file("responses") and glob(str(p))))
        ]
        if missing:
            return Availability(
                False,
                f"{self.path} names {missing[0]}, which no longer exists",
                f"restore the files or edit {self.path.name}",
            )
        return Availability(True)

    def data(self, data_dir: Path | None) -> NeuralData:
        """The target's RDMs, on the spec's stimuli (matched by id), read once per object."""
        return self._data

    def load(self, data_dir: str | os.PathLike[str] | None = None) -> NeuralData:
        return self._data

    @cached_property
    def _data(self) -> NeuralData:
        data = _read_responses(self) if self.has_responses else _READERS[self.format](self)
        target = _pick_target(data, self)
        ids = target.stimulus_ids
        missing = [i for i in ids if i not in self.stimulus_set.sources]
        if missing:
            raise BrainAlignError(
                f"{self.path}: the target's {'responses' if self.has_responses else 'RDMs'} name stimuli "
                f"without an image in {self.stimuli_folder} "
                f"({', '.join(missing[:5])}{'…' if len(missing) > 5 else ''}); the image file names "
                "(without suffix) must be the stimulus ids"
            )
        return NeuralData(
            self.stimulus_set.subset(ids, self.dataset), {self.target: target}, data.skipped
        )

    def check_data(self, data_dir: Path | None) -> None:
        """The RDMs under the loaders' rules, and every image decoded once: a spec's files are
        nobody's but the user's, so a damaged image stops a run before any model runs."""
        super().check_data(data_dir)
        stimuli = self.load(data_dir).stimuli
        assert stimuli is not None  # a spec's data always comes with its images
        for stimulus_id in stimuli.ids:
            stimuli.load(stimulus_id)

    def provenance(self, data_dir: Path | None) -> dict[str, Any]:
        """``{dataset: {file: sha256}}`` of the files the spec names (where they lie is not recorded)."""
        return {self.dataset: dict(self.checksums)}

    def __reduce__(self) -> tuple[Callable[..., SpecBenchmark], tuple[str]]:
        return SpecBenchmark, (str(self.path),)  # a Dask worker reads the spec again


def _checked(spec: dict[str, Any], path: Path) -> dict[str, Any]:
    """The spec, with unknown or missing keys and bad values reported as one clear error."""
    _keys(spec, _TOP, path, "")
    target = spec["target"]
    if not isinstance(target, dict):
        raise BrainAlignError(f"{path}: target must be a table ([target])")
    _keys(target, _TARGET, path, "target.")
    if "responses" in target:
        _check_responses(target, path)
    elif "format" not in target:
        raise BrainAlignError(
            f"{path}: missing key(s) target.format (docs: Your data as a benchmark); or declare "
            "per-subject responses with target.responses"
        )
    fmt = target["format"]
    if fmt not in FORMATS:
        raise BrainAlignError(f"{path}: target.format {fmt!r} is not one of {', '.join(FORMATS)}")
    absent = [k for k in _NEEDS[fmt] if k not in target and "responses" not in target]
    if absent:
        raise BrainAlignError(f"{path}: format {fmt!r} needs target.{' and target.'.join(absent)}")
    comparison = target.get("comparison", "spearman")
    if comparison not in METHODS:
        raise BrainAlignError(
            f"{path}: target.comparison {comparison!r} is not one of {', '.join(METHODS)}"
        )
    if fmt == "nifti" and target.get("distance", "correlation") not in DISTANCES:
        raise BrainAlignError(
            f"{path}: target.distance of NIfTI betas must be one of {', '.join(DISTANCES)}"
        )
    if spec.get("layer_distance", "cosine") not in DISTANCES:
        raise BrainAlignError(f"{path}: layer_distance must be one of {', '.join(DISTANCES)}")
    if not isinstance(spec.get("metric", DEFAULT_METRIC), str):
        raise BrainAlignError(f'{path}: metric must be a metric\'s name in quotes, e.g. "wrsa"')
    if "@" in str(spec.get("id", "")) or any(c.isspace() for c in str(spec.get("id", ""))):
        raise BrainAlignError(f"{path}: id {spec['id']!r} may hold neither spaces nor '@'")
    return spec


def _check_responses(target: dict[str, Any], path: Path) -> None:
    """The ``[target]`` of responses: no RDM keys beside it, a format files of responses can have
    (filled in from the files' suffix where absent), a distance for their RDMs that exists."""
    beside = [k for k in ("rdms", "table", "mask", "roi") if k in target]
    if beside:
        raise BrainAlignError(
            f"{path}: target.responses and target.{beside[0]} exclude each other; declare "
            "per-subject responses or RDMs, not both"
        )
    suffix = Path(str(target["responses"])).suffix
    fmt = target.setdefault("format", "npz" if suffix == ".npz" else "npy")
    if fmt not in RESPONSE_FORMATS:
        raise BrainAlignError(
            f"{path}: target.responses are read from {' or '.join(RESPONSE_FORMATS)} files, not "
            f"format {fmt!r}; save each subject's responses with np.save"
        )
    if target.get("distance", "correlation") not in DISTANCES:
        raise BrainAlignError(
            f"{path}: target.distance (of the RDMs made of responses, for rsa and wrsa) must be one "
            f"of {', '.join(DISTANCES)}"
        )


def _keys(table: Mapping[str, Any], known: Mapping[str, bool], path: Path, prefix: str) -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise BrainAlignError(
            f"{path}: unknown key(s) {', '.join(prefix + k for k in unknown)}; "
            f"known: {', '.join(prefix + k for k in known)}"
        )
    absent = [prefix + k for k, required in known.items() if required and k not in table]
    if absent:
        raise BrainAlignError(
            f"{path}: missing key(s) {', '.join(absent)} (docs: Your data as a benchmark)"
        )
    wrong = [prefix + k for k, v in table.items() if k != "target" and not isinstance(v, str)]
    if wrong:
        raise BrainAlignError(f"{path}: {', '.join(wrong)} must be text (in quotes)")


def _definition(spec: Mapping[str, Any], target: str) -> str:
    t = spec["target"]
    comparison = t.get("comparison", "spearman")
    if "responses" in t:
        metric = get_metric(spec.get("metric", DEFAULT_METRIC))
        text = (
            f"per-subject responses of {target} ({t['kind']}; (n_stimuli, n_units) or (repeats, "
            f"n_stimuli, n_units) per subject, units may differ between subjects) read from one "
            f".{t['format']} file per subject, defined by a benchmark spec file."
        )
        if not takes_responses(metric):
            text += (
                f" Scored as RDMs: each subject's {t.get('distance', 'correlation')} distance "
                "between its response patterns averaged over repeats."
            )
            if comparison != "spearman":
                text += f" Comparison: {comparison} in place of Spearman's rho throughout."
        return text
    source = {
        "npy": "a .npy file",
        "npz": "a Net2Brain-style folder of .npz files",
        "rsatoolbox": "an rsatoolbox HDF5 file",
        "nifti": "NIfTI beta images inside a mask",
    }[t["format"]]
    distance = t.get("distance", "correlation" if t["format"] == "nifti" else "unspecified")
    text = (
        f"per-subject RDMs of {target} ({t['kind']}; dissimilarity: {distance}) read from {source}, "
        f"defined by a benchmark spec file."
    )
    if comparison != "spearman":
        text += f" Comparison: {comparison} in place of Spearman's rho throughout (scores and ceilings)."
    return text


def _resolve(value: str, folder: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else folder / path


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.resolve().relative_to(folder).as_posix()
    except ValueError:
        return path.name


def _beta_files(table: Path | None) -> list[Path]:
    """The beta images a NIfTI stimulus table names (they are data the id must cover)."""
    assert table is not None
    try:
        frame = pd.read_csv(table, dtype=str)
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise BrainAlignError(f"stimulus table {table} is not a readable CSV ({err})") from None
    if "beta" not in frame.columns:
        raise BrainAlignError(
            f"stimulus table {table} has no beta column (docs: Your data as a benchmark)"
        )
    files = sorted({_resolve(b, table.parent) for b in frame["beta"].dropna()})
    absent = [f for f in files if not f.is_file()]
    if absent:
        raise BrainAlignError(
            f"stimulus table {table} names beta image {absent[0]}, which does not exist"
        )
    return files


def _read_responses(bench: SpecBenchmark) -> NeuralData:
    return load_responses(
        bench.response_files,
        _order(bench),
        name=bench.target,
        key=bench.spec["target"].get("key"),
        kind=bench.kind,
    )


def _order(bench: SpecBenchmark) -> Any:
    """The RDMs' row order: the stimulus list if given, else the stimulus folder's order."""
    return bench.file("stimulus_list") or bench.stimulus_set


def _read_npy(bench: SpecBenchmark) -> NeuralData:
    t = bench.spec["target"]
    return load_npy(
        bench.required_file("rdms"),
        _order(bench),
        name=bench.target,
        distance=t.get("distance", "unknown"),
        kind=bench.kind,
        method=bench.comparison,
    )


def _read_npz(bench: SpecBenchmark) -> NeuralData:
    t = bench.spec["target"]
    return load_npz_folder(
        bench.required_file("rdms"),
        _order(bench),
        key=t.get("key"),
        distance=t.get("distance", "unknown"),
        kind=bench.kind,
        method=bench.comparison,
    )


def _read_rsatoolbox(bench: SpecBenchmark) -> NeuralData:
    stimuli = bench.file("stimulus_list")
    return load_rsatoolbox_hdf5(
        bench.required_file("rdms"), stimuli=stimuli, kind=bench.kind, method=bench.comparison
    )


def _read_nifti(bench: SpecBenchmark) -> NeuralData:
    t = bench.spec["target"]
    return load_nifti_betas(
        bench.file("table"),
        mask=bench.file("mask"),
        name=bench.target,
        distance=t.get("distance", "correlation"),
        kind=bench.kind,
        method=bench.comparison,
    )


_READERS: dict[str, Callable[[SpecBenchmark], NeuralData]] = {
    "npy": _read_npy,
    "npz": _read_npz,
    "rsatoolbox": _read_rsatoolbox,
    "nifti": _read_nifti,
}


def _pick_target(data: NeuralData, bench: SpecBenchmark) -> Any:
    """The one target the spec means (``roi`` where the files hold several), renamed to its name.
    A target the loader left out (no subject with complete values) is one line saying so."""
    roi = bench.spec["target"].get("roi")
    left_out = {s.target: s for s in data.skipped if not s.subject}  # whole targets, and why
    held = [*data.targets, *(name for name in left_out if name not in data.targets)]
    wanted = roi if roi is not None else (held[0] if len(held) == 1 else None)
    if wanted is not None and wanted in data.targets:
        return dataclasses.replace(data.targets[wanted], name=bench.target)
    if wanted in left_out:
        raise BrainAlignError(
            f"{bench.path}: target {wanted}: {left_out[wanted].reason}; give "
            f"{'responses' if bench.has_responses else 'RDMs'} with complete values (a subject "
            "with a missing value is left out)"
        )
    why = "name the one to score with target.roi" if roi is None else f"there is no ROI {roi!r}"
    raise BrainAlignError(
        f"{bench.path}: the RDM files hold targets {', '.join(held) or 'none'}; {why}"
    )
