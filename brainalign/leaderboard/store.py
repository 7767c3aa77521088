"""Results on disk: one model scored on one benchmark is one :class:`Result`, stored as a JSON
file (summary, provenance) beside a Parquet file (the layerwise table).

One pair of files per model × benchmark keeps runs resumable and lets concurrent workers write
without coordination: each write is atomic, the Parquet file is written first and the JSON, which
records the Parquet file's sha256, last, so a reader sees a complete result or none. Every read
validates the JSON against ``schema.json`` and the table's columns, dtypes, row count and checksum,
so a hand-edited or truncated file is rejected with an error that names it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import os
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from jsonschema import Draft202012Validator

from .. import __version__
from .._io import write_bytes_atomic, write_json_atomic
from ..benchmarks.base import LAYERWISE_COLUMNS, Benchmark, BenchmarkScore
from ..errors import BrainAlignError

FORMAT = "brainalign.result"
FORMAT_VERSION = 1

#: The Arrow type of every layerwise column; other columns a benchmark adds are kept as they are.
LAYERWISE_TYPES: dict[str, pa.DataType] = {
    "layer": pa.string(),
    "layer_index": pa.int64(),
    "depth": pa.float64(),
    "target": pa.string(),
    "subject": pa.string(),
    "condition": pa.string(),
    "value": pa.float64(),
    "ci_low": pa.float64(),
    "ci_high": pa.float64(),
}
assert tuple(LAYERWISE_TYPES) == LAYERWISE_COLUMNS

_TEXT_COLUMNS = ("layer", "target", "subject", "condition")
_FLOAT_COLUMNS = ("depth", "value", "ci_low", "ci_high")
_BENCHMARK_INFO_FIELDS = ("title", "description", "metric", "bibtex")


@lru_cache(maxsize=1)
def result_schema() -> dict[str, Any]:
    """The JSON schema every result file is validated against (``brainalign/leaderboard/schema.json``)."""
    return json.loads(resources.files(__package__).joinpath("schema.json").read_text("utf-8"))


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(result_schema())


# --- the value object -------------------------------------------------------------------------


@dataclass(eq=False)
class Result:
    """One model's scores on one benchmark, with everything needed to reproduce them.

    ``provenance`` holds at least ``brainalign_version``, ``model_card`` (a dict whose ``id`` is
    ``model_id``), ``benchmark`` (``id``, ``version``, and for the leaderboard's benchmark card
    ``title``, ``description``, ``metric``, ``bibtex``) and ``seed``; and, as the runner records
    them, ``stimuli_sha256``, ``data_checksums``, ``preprocessing``, ``layer_policy``, ``device``,
    ``timings``. Missing numbers in ``summary`` are ``None``.
    """

    model_id: str
    benchmark: str
    summary: dict[str, dict[str, Any]]
    layerwise: pd.DataFrame
    provenance: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"result of {self.model_id!r} on {self.benchmark!r}"
        self.summary = jsonable(self.summary, where)
        self.provenance = jsonable(self.provenance, where)
        self.extra = jsonable(self.extra, where)
        self.layerwise = canonical_layerwise(self.layerwise, where)
        _validate_document(self._document("layerwise.parquet", "0" * 64), where)

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def from_score(
        cls,
        score: BenchmarkScore,
        *,
        model_card: Any,
        benchmark: Benchmark | Mapping[str, Any],
        seed: int,
        **provenance: Any,
    ) -> Result:
        """A result from a benchmark's score, the model's card and the run's provenance.

        ``benchmark`` is the :class:`Benchmark` (its id, version, title, description, metric and
        BibTeX are recorded, so the leaderboard needs no registry) or an equivalent mapping.
        ``provenance`` takes ``stimuli_sha256``, ``data_checksums``, ``preprocessing``,
        ``layer_policy``, ``device``, ``timings`` and anything else worth recording.
        """
        card = card_dict(model_card)
        info = benchmark_info(benchmark)
        return cls(
            model_id=str(card.get("id", "")),
            benchmark=score.benchmark,
            summary=score.summary,
            layerwise=score.layerwise,
            provenance={
                "brainalign_version": __version__,
                "model_card": card,
                "benchmark": info,
                "seed": int(seed),
                **provenance,
            },
            extra=score.extra,
        )

    # --- convenience views -----------------------------------------------------------------
    @property
    def model_card(self) -> dict[str, Any]:
        return self.provenance["model_card"]

    @property
    def benchmark_info(self) -> dict[str, Any]:
        return self.provenance["benchmark"]

    @property
    def benchmark_id(self) -> str:
        return self.benchmark.partition("@")[0]

    @property
    def benchmark_version(self) -> int:
        return int(self.benchmark.partition("@")[2])

    def fingerprint(self) -> str:
        """sha256 of everything that depends on the inputs: scores, layerwise bytes and provenance
        without ``timings`` (wall-clock). Equal for a resumed run and an uninterrupted one."""
        provenance = {k: v for k, v in self.provenance.items() if k != "timings"}
        digest = hashlib.sha256(json.dumps(
            [self.model_id, self.benchmark, self.summary, self.extra, provenance], sort_keys=True
        ).encode("utf-8"))
        digest.update(layerwise_bytes(self.layerwise))
        return digest.hexdigest()

    def value(self, name: str, key: str = "value") -> float:
        """A summary number, NaN where absent."""
        return as_float(self.summary.get(name, {}).get(key))

    # --- files ------------------------------------------------------------------------------
    def write(self, json_path: str | Path) -> Path:
        """Write the table as ``<stem>.<sha256 prefix>.parquet``, then ``json_path`` (atomic each),
        then remove the table the previous JSON named. The old pair stays valid until the new JSON
        lands, so a crash at any moment leaves a complete result (old or new), never a mixed one."""
        json_path = Path(json_path)
        table_bytes = layerwise_bytes(self.layerwise)
        digest = hashlib.sha256(table_bytes).hexdigest()
        table_path = json_path.with_name(f"{json_path.stem}.{digest[:16]}.parquet")
        previous = _table_named_by(json_path)
        write_bytes_atomic(table_path, table_bytes)
        write_json_atomic(json_path, self._document(table_path.name, digest))
        if previous is not None and previous != table_path:
            previous.unlink(missing_ok=True)
        return json_path

    @classmethod
    def read(cls, json_path: str | Path) -> Result:
        """Read and validate a result; any defect raises :class:`BrainAlignError` naming the file."""
        json_path = Path(json_path)
        fix = "delete it (and its .parquet) and score the model again (`brainalign score MODEL BENCHMARK`)"
        try:
            document = json.loads(json_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BrainAlignError(f"result file {json_path} does not exist") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise BrainAlignError(f"result file {json_path} is not readable JSON ({err}); {fix}") from None
        try:
            _validate_document(document, str(json_path))
        except BrainAlignError as err:
            raise BrainAlignError(f"{err}; {fix}") from None
        table_path = json_path.with_name(document["layerwise"]["file"])
        layerwise = _read_layerwise(table_path, document["layerwise"], json_path, fix)
        return cls(
            model_id=document["model_id"],
            benchmark=document["benchmark"],
            summary=document["summary"],
            layerwise=layerwise,
            provenance=document["provenance"],
            extra=document.get("extra", {}),
        )

    def _document(self, table_file: str, table_sha256: str) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model_id": self.model_id,
            "benchmark": self.benchmark,
            "summary": self.summary,
            "extra": self.extra,
            "provenance": self.provenance,
            "layerwise": {"file": table_file, "sha256": table_sha256, "rows": len(self.layerwise)},
        }

    def __repr__(self) -> str:
        return f"<Result {self.model_id} on {self.benchmark}: {len(self.layerwise)} layerwise rows>"


def _table_named_by(json_path: Path) -> Path | None:
    """The table file an existing result JSON points to (None if there is no usable JSON)."""
    try:
        name = json.loads(json_path.read_text(encoding="utf-8"))["layerwise"]["file"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(name, str) or "/" in name or "\\" in name or not name.endswith(".parquet"):
        return None
    return json_path.with_name(name)


def _validate_document(document: Any, where: str) -> None:
    """Schema check plus the cross-field rules a schema cannot express."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: [str(p) for p in e.path])
    if errors:
        first = errors[0]
        at = "/".join(str(p) for p in first.absolute_path) or "top level"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise BrainAlignError(f"{where} is not a valid brainalign result: {first.message} at {at}{more}")
    card_id = document["provenance"]["model_card"]["id"]
    if card_id != document["model_id"]:
        raise BrainAlignError(
            f"{where} is not a valid brainalign result: model_id {document['model_id']!r} "
            f"differs from its model card's id {card_id!r}"
        )
    info = document["provenance"]["benchmark"]
    recorded = f"{info['id']}@{info['version']}"
    if recorded != document["benchmark"]:
        raise BrainAlignError(
            f"{where} is not a valid brainalign result: benchmark {document['benchmark']!r} "
            f"differs from the benchmark recorded in its provenance ({recorded})"
        )


# --- the layerwise table ------------------------------------------------------------------------


def canonical_layerwise(table: pd.DataFrame, where: str) -> pd.DataFrame:
    """``table`` with :data:`LAYERWISE_COLUMNS` first, in their canonical dtypes (text "" for
    missing, floats NaN), extra columns after; a clear error if a column is absent or not coercible."""
    if not isinstance(table, pd.DataFrame):
        raise BrainAlignError(f"{where}: the layerwise table must be a pandas DataFrame")
    missing = [c for c in LAYERWISE_COLUMNS if c not in table.columns]
    if missing:
        raise BrainAlignError(f"{where}: the layerwise table lacks the column(s) {missing}")
    out = pd.DataFrame(index=pd.RangeIndex(len(table)))
    try:
        for column in LAYERWISE_COLUMNS:
            values = table[column].reset_index(drop=True)
            if column in _TEXT_COLUMNS:
                out[column] = values.map(lambda v: "" if _is_missing(v) else str(v)).astype(object)
            elif column == "layer_index":
                numbers = pd.to_numeric(values, errors="raise")
                if numbers.isna().any() or not np.all(np.equal(np.mod(numbers, 1), 0)):
                    raise ValueError("layer_index must hold whole numbers")
                out[column] = numbers.astype(np.int64)
            else:
                out[column] = pd.to_numeric(values, errors="raise").astype(np.float64)
    except (TypeError, ValueError) as err:
        raise BrainAlignError(f"{where}: layerwise column {column!r} has a bad value ({err})") from None
    for column in table.columns:
        if column not in LAYERWISE_COLUMNS:
            out[str(column)] = table[column].reset_index(drop=True)
    return out


def layerwise_bytes(table: pd.DataFrame) -> bytes:
    """The Parquet bytes of a canonical layerwise table; the same table gives the same bytes."""
    fields = [pa.field(c, LAYERWISE_TYPES[c]) for c in LAYERWISE_COLUMNS]
    try:
        arrow = pa.Table.from_pandas(table, preserve_index=False)
        extras = [arrow.schema.field(c) for c in arrow.column_names[len(fields):]]
        arrow = arrow.cast(pa.schema(fields + extras))
    except pa.ArrowException as err:
        raise BrainAlignError(f"a layerwise table cannot be stored as Parquet ({err})") from None
    arrow = arrow.replace_schema_metadata(None)  # pandas metadata would embed its version
    buffer = io.BytesIO()
    pq.write_table(arrow, buffer, compression="zstd", write_statistics=False)
    return buffer.getvalue()


def _read_layerwise(path: Path, record: Mapping[str, Any], json_path: Path, fix: str) -> pd.DataFrame:
    try:
        data = path.read_bytes()
    except OSError:
        raise BrainAlignError(
            f"{json_path} names the layerwise table {path.name}, which is missing; {fix}"
        ) from None
    if hashlib.sha256(data).hexdigest() != record["sha256"]:
        raise BrainAlignError(
            f"layerwise table {path} does not match the sha256 recorded in {json_path.name} "
            f"(edited or truncated); {fix}"
        )
    try:
        arrow = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError) as err:
        raise BrainAlignError(f"layerwise table {path} is not a readable Parquet file ({err}); {fix}") from None
    wrong = [
        f"{name} ({arrow.schema.field(name).type if name in arrow.column_names else 'absent'}, "
        f"expected {kind})"
        for name, kind in LAYERWISE_TYPES.items()
        if name not in arrow.column_names or arrow.schema.field(name).type != kind
    ]
    if wrong:
        raise BrainAlignError(f"layerwise table {path} has wrong columns: {', '.join(wrong)}; {fix}")
    if arrow.num_rows != record["rows"]:
        raise BrainAlignError(
            f"layerwise table {path} has {arrow.num_rows} rows, {json_path.name} records {record['rows']}; {fix}"
        )
    return arrow.to_pandas()


# --- JSON-ready values -----------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))


def as_float(value: Any) -> float:
    """A number as float, NaN for None / absent / non-numeric."""
    try:
        return float("nan") if value is None else float(value)
    except (TypeError, ValueError):
        return float("nan")


def jsonable(value: Any, where: str = "value") -> Any:
    """``value`` as plain JSON types: numpy scalars and arrays unwrapped, NaN/inf → None, tuples →
    lists, paths → str. Anything else raises an error naming ``where``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist(), where)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, where) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value), where)
    raise BrainAlignError(f"{where}: {type(value).__name__} {value!r} cannot be stored in a result")


def card_dict(card: Any) -> dict[str, Any]:
    """A model card (dataclass, mapping, or object with ``to_dict()``) as a plain dict."""
    if isinstance(card, Mapping):
        return dict(card)
    if dataclasses.is_dataclass(card) and not isinstance(card, type):
        return dataclasses.asdict(card)
    if hasattr(card, "to_dict"):
        return dict(card.to_dict())
    raise BrainAlignError(f"model card {card!r} is neither a mapping nor a dataclass")


def benchmark_info(benchmark: Benchmark | Mapping[str, Any]) -> dict[str, Any]:
    """What a result records about its benchmark, so the leaderboard needs no live registry."""
    if isinstance(benchmark, Mapping):
        return dict(benchmark)
    info: dict[str, Any] = {"id": benchmark.id, "version": int(benchmark.version)}
    info.update({name: getattr(benchmark, name, "") for name in _BENCHMARK_INFO_FIELDS})
    info["datasets"] = list(getattr(benchmark, "datasets", ()))
    return info


# --- the store ------------------------------------------------------------------------------------


def default_results_dir() -> Path:
    """Where results go unless a command says otherwise: ``$BRAINALIGN_RESULTS``, else ``./results``."""
    return Path(os.environ.get("BRAINALIGN_RESULTS", "results")).expanduser()


_SAFE_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_.+=@,")


def file_stem(name: str) -> str:
    """A reversible, portable file name for a model id or benchmark identifier: characters other
    than letters, digits and ``-_.+=@,`` become ``%XX`` (UTF-8), as does a leading dot."""
    encoded = "".join(
        c if c in _SAFE_CHARACTERS else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in name
    )
    return "%2E" + encoded[1:] if encoded.startswith(".") else encoded


@dataclass(frozen=True)
class StoredResult:
    """Where a result lives, as told by its file name (the file itself is read by ``load``)."""

    model_id: str
    benchmark: str
    path: Path


@dataclass(frozen=True)
class Problem:
    """A result file that could not be used, and why."""

    path: Path
    message: str


@dataclass
class LoadReport:
    results: list[Result]
    problems: list[Problem]


class ResultsStore:
    """A folder of results: ``<folder>/<model id>/<benchmark id@version>.json`` plus the
    layerwise table it names (``<benchmark id@version>.<sha256 prefix>.parquet``).

    >>> store = ResultsStore("results")                       # doctest: +SKIP
    >>> store.save(result)                                     # doctest: +SKIP
    >>> store.has("resnet50:untrained", "kriegeskorte2008.hIT@1", seed=0)  # doctest: +SKIP
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder).expanduser()

    def path_for(self, model_id: str, benchmark: str) -> Path:
        """The JSON file of ``model_id`` on ``benchmark`` (``id@version``)."""
        if "@" not in benchmark:
            raise BrainAlignError(f"benchmark {benchmark!r} needs a version, like {benchmark}@1")
        return self.folder / file_stem(model_id) / f"{file_stem(benchmark)}.json"

    def save(self, result: Result) -> Path:
        """Write ``result`` atomically (a concurrent reader sees the old result or the new one)."""
        return result.write(self.path_for(result.model_id, result.benchmark))

    def list(self) -> list[StoredResult]:
        """Results in the store by file name, sorted by model id then benchmark."""
        found = [
            StoredResult(unquote(path.parent.name), unquote(path.stem), path)
            for path in self.folder.glob("*/*.json")
            if not path.name.startswith(".")
        ]
        return sorted(found, key=lambda s: (s.model_id, s.benchmark))

    def model_ids(self) -> list[str]:
        return sorted({stored.model_id for stored in self.list()})

    def load(self, model_id: str, benchmark: str) -> Result:
        """The stored result; ``benchmark`` without ``@version`` means the newest version stored."""
        if "@" not in benchmark:
            versions = [s for s in self.list()
                        if s.model_id == model_id and s.benchmark.partition("@")[0] == benchmark]
            if not versions:
                raise BrainAlignError(f"no result of {model_id!r} on {benchmark!r} in {self.folder}")
            benchmark = max(versions, key=lambda s: _version(s.benchmark)).benchmark
        path = self.path_for(model_id, benchmark)
        if not path.exists():
            raise BrainAlignError(f"no result of {model_id!r} on {benchmark!r} in {self.folder}")
        result = Result.read(path)
        if (result.model_id, result.benchmark) != (model_id, benchmark):
            raise BrainAlignError(
                f"{path} holds {result.model_id!r} on {result.benchmark!r}, not what its name says; "
                f"move it to {self.path_for(result.model_id, result.benchmark)}"
            )
        return result

    def find(self, model_id: str, benchmark: str, **provenance: Any) -> Result | None:
        """The stored result if its provenance matches every given field (e.g. ``seed=0,
        layer_policy="blocks"``), else None: what a resumed run may reuse. Invalid files count as absent."""
        try:
            result = self.load(model_id, benchmark)
        except BrainAlignError:
            return None
        matches = all(result.provenance.get(k) == jsonable(v) for k, v in provenance.items())
        return result if matches else None

    def has(self, model_id: str, benchmark: str, **provenance: Any) -> bool:
        """Whether :meth:`find` would return a result."""
        return self.find(model_id, benchmark, **provenance) is not None

    def load_all(self, *, strict: bool = False) -> LoadReport:
        """Every result under the folder (any depth). Unusable files are reported in
        ``problems`` and left out, or raise at once with ``strict``. A second file holding the
        same model × benchmark is a problem too (the first, by path, is kept)."""
        if not self.folder.is_dir():
            raise BrainAlignError(f"results folder {self.folder} does not exist")
        results: list[Result] = []
        problems: list[Problem] = []
        seen: dict[tuple[str, str], Path] = {}
        for path in sorted(p for p in self.folder.rglob("*.json") if not p.name.startswith(".")):
            try:
                result = Result.read(path)
                key = (result.model_id, result.benchmark)
                if key in seen:
                    raise BrainAlignError(
                        f"{path} repeats the result of {key[0]!r} on {key[1]!r} already read from {seen[key]}"
                    )
            except BrainAlignError as err:
                if strict:
                    raise
                problems.append(Problem(path, str(err)))
                continue
            seen[key] = path
            results.append(result)
        return LoadReport(results, problems)


def _version(identifier: str) -> int:
    try:
        return int(identifier.partition("@")[2])
    except ValueError:
        return -1
