"""One model scored on one benchmark: the :class:`Result` value object and its files.

A result is two files: a JSON document (summary numbers, the reuse key, provenance, and the name,
sha256 and column kinds of the layerwise table) beside the layerwise table as canonical CSV. The
table is written first and the JSON, which names the table by its hash, last; each write is
atomic, so a reader sees the old complete result or the new one, never a mix.

Every result carries a **content id**: the sha256 of its canonical serialisation (sorted-key JSON
of its numbers, reuse key and provenance without wall-clock timings, followed by the table's
CSV bytes). The same computation gives the same id on any machine; the id is written into the
file and checked when it is read, so a hand-edited number is caught.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jsonschema import Draft202012Validator

from .._files import write_bytes_atomic, write_json_atomic
from .._version import __version__
from ..benchmarks.base import Benchmark, BenchmarkScore, Measure
from ..errors import BrainAlignError
from .layerwise import canonical_layerwise, column_kinds, layerwise_csv, read_layerwise_csv
from .measures import declared_measures, measure_of

FORMAT = "brainalign.result"
#: 2: layerwise table as canonical CSV, a reuse key and a content id (1, with a Parquet table, was
#: written by development versions before 0.1.0 and is no longer read).
FORMAT_VERSION = 2
_BENCHMARK_INFO_FIELDS = ("title", "description", "metric", "bibtex")
_FIX = "delete it (and its table) and score the model again (`brainalign score MODEL BENCHMARK`)"
#: Provenance fields left out of the content id: they differ between identical computations.
UNSTABLE_PROVENANCE = ("timings",)


@lru_cache(maxsize=1)
def result_schema() -> dict[str, Any]:
    """The JSON schema a result file is validated against (``schema.json``)."""
    schema: dict[str, Any] = json.loads(
        resources.files(__package__).joinpath("schema.json").read_text("utf-8")
    )
    return schema


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(result_schema())


def canonical_json(value: Any) -> bytes:
    """Sorted-key, compact JSON of plain values (floats in their shortest round-trip form)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


@dataclass(eq=False)
class Result:
    """One model's scores on one benchmark, with everything needed to reproduce them.

    ``summary``: the benchmark's headline numbers (missing numbers are ``None``); ``layerwise``:
    one row per layer × target × subject [× condition]; ``reuse_key``: what a new request must
    match for this result to stand for it (see :meth:`brainalign.execution.ModelSession.reuse_key`); ``provenance``:
    how it was made: at least ``brainalign_version``, ``model_card`` (whose ``id`` is
    ``model_id``), ``benchmark`` (id, version, title, description, metric, BibTeX and the
    measures it reports, so the leaderboard needs no registry) and ``seed``.
    """

    model_id: str
    benchmark: str
    summary: dict[str, dict[str, Any]]
    layerwise: pd.DataFrame
    provenance: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)
    reuse_key: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"result of {self.model_id!r} on {self.benchmark!r}"
        self.summary = jsonable(self.summary, where)
        self.provenance = jsonable(self.provenance, where)
        self.extra = jsonable(self.extra, where)
        self.reuse_key = jsonable(self.reuse_key, where)
        self.layerwise = canonical_layerwise(self.layerwise, where)
        _validate_document(self._document("layerwise.csv", "0" * 64, "0" * 64), where)

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def from_score(
        cls,
        score: BenchmarkScore,
        *,
        model_card: Any,
        benchmark: Benchmark | Mapping[str, Any],
        seed: int,
        reuse_key: Mapping[str, Any] | None = None,
        **provenance: Any,
    ) -> Result:
        """A result from a benchmark's score, the model's card and the run's provenance.

        ``benchmark`` is the :class:`Benchmark` (its id, version, texts and declared measures
        are recorded) or an equivalent mapping. ``provenance`` takes ``stimuli_sha256``,
        ``data_checksums``, ``preprocessing``, ``layer_policy``, ``device``, ``timings`` and
        anything else worth recording.
        """
        card = card_dict(model_card)
        return cls(
            model_id=str(card.get("id", "")),
            benchmark=score.benchmark,
            summary=score.summary,
            layerwise=score.layerwise,
            provenance={
                "brainalign_version": __version__,
                "model_card": card,
                "benchmark": benchmark_info(benchmark),
                "seed": int(seed),
                **provenance,
            },
            extra=score.extra,
            reuse_key=dict(reuse_key or {}),
        )

    # --- convenience views -----------------------------------------------------------------
    @property
    def model_card(self) -> dict[str, Any]:
        card: dict[str, Any] = self.provenance["model_card"]
        return card

    @property
    def benchmark_info(self) -> dict[str, Any]:
        info: dict[str, Any] = self.provenance["benchmark"]
        return info

    @property
    def benchmark_id(self) -> str:
        return self.benchmark.partition("@")[0]

    @property
    def benchmark_version(self) -> int:
        return int(self.benchmark.partition("@")[2])

    def value(self, name: str, key: str = "value") -> float:
        """A summary number, NaN where absent."""
        return as_float(self.summary.get(name, {}).get(key))

    @property
    def measures(self) -> tuple[Measure, ...]:
        """What the summary's numbers are, as the benchmark declared them."""
        return declared_measures(self.benchmark_info, self.summary, self.layerwise)

    def headline(self) -> Measure | None:
        """The number a person looks for first: the first headline measure that has a value."""
        return next(
            (
                m
                for m in self.measures
                if m.headline and self.summary.get(m.name, {}).get("value") is not None
            ),
            None,
        )

    def measure(self, kind: str, **attributes: Any) -> Measure | None:
        """The declared measure of ``kind`` (and ``attributes``), or None."""
        return measure_of(self.measures, kind, **attributes)

    # --- identity ---------------------------------------------------------------------------
    def canonical_bytes(self) -> bytes:
        """What the content id hashes: the canonical JSON of everything the inputs determine,
        then the layerwise table's canonical CSV."""
        stable = {k: v for k, v in self.provenance.items() if k not in UNSTABLE_PROVENANCE}
        head = canonical_json(
            {
                "model_id": self.model_id,
                "benchmark": self.benchmark,
                "summary": self.summary,
                "extra": self.extra,
                "reuse_key": self.reuse_key,
                "provenance": stable,
            }
        )
        return head + b"\n" + layerwise_csv(self.layerwise)

    def content_id(self) -> str:
        """sha256 of :meth:`canonical_bytes`: equal for a resumed and an uninterrupted run and on
        every machine that computes the same numbers; cite a result by it."""
        return hashlib.sha256(self.canonical_bytes()).hexdigest()

    # --- files ------------------------------------------------------------------------------
    def write(self, json_path: str | Path) -> Path:
        """Write the table as ``<stem>.<sha256 prefix>.csv``, then ``json_path`` (atomic each),
        then remove the table the previous JSON named. The old pair stays valid until the new JSON
        lands, so a crash at any moment leaves a complete result (old or new), never a mixed one."""
        json_path = Path(json_path)
        table_bytes = layerwise_csv(self.layerwise)
        digest = hashlib.sha256(table_bytes).hexdigest()
        table_path = json_path.with_name(f"{json_path.stem}.{digest[:16]}.csv")
        previous = _table_named_by(json_path)
        write_bytes_atomic(table_path, table_bytes)
        write_json_atomic(json_path, self._document(table_path.name, digest, self.content_id()))
        if previous is not None and previous != table_path:
            previous.unlink(missing_ok=True)
        return json_path

    @classmethod
    def read(cls, json_path: str | Path) -> Result:
        """Read and validate a result; any defect raises :class:`BrainAlignError` naming the file,
        and so does a file whose numbers or provenance no longer match its content id."""
        json_path = Path(json_path)
        result, written_id = cls.read_unchecked(json_path)
        if written_id != result.content_id():
            raise BrainAlignError(
                f"result file {json_path} does not match its content id {written_id[:16]}… "
                f"(its numbers or provenance were edited after it was written); {_FIX}"
            )
        return result

    @classmethod
    def read_unchecked(cls, json_path: str | Path) -> tuple[Result, str]:
        """The result in a file, valid in form, and the content id written in it, *not* checked
        against each other: ``brainalign verify`` re-scores
        such a file to say which numbers were changed."""
        json_path = Path(json_path)
        fix = _FIX
        try:
            document = json.loads(json_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BrainAlignError(f"result file {json_path} does not exist") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise BrainAlignError(
                f"result file {json_path} is not readable JSON ({err}); {fix}"
            ) from None
        try:
            _validate_document(document, str(json_path))
        except BrainAlignError as err:
            raise BrainAlignError(f"{err}; {fix}") from None
        record = document["layerwise"]
        table_path = json_path.with_name(record["file"])
        data = _read_table_bytes(table_path, record, json_path, fix)
        layerwise = read_layerwise_csv(data, dict(record["columns"]), str(table_path))
        if len(layerwise) != record["rows"]:
            raise BrainAlignError(
                f"layerwise table {table_path} has {len(layerwise)} rows, {json_path.name} records "
                f"{record['rows']}; {fix}"
            )
        result = cls(
            model_id=document["model_id"],
            benchmark=document["benchmark"],
            summary=document["summary"],
            layerwise=layerwise,
            provenance=document["provenance"],
            extra=document.get("extra", {}),
            reuse_key=document.get("reuse_key", {}),
        )
        return result, document["id"]

    def _document(self, table_file: str, table_sha256: str, content_id: str) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "id": content_id,
            "model_id": self.model_id,
            "benchmark": self.benchmark,
            "summary": self.summary,
            "extra": self.extra,
            "reuse_key": self.reuse_key,
            "provenance": self.provenance,
            "layerwise": {
                "file": table_file,
                "sha256": table_sha256,
                "rows": len(self.layerwise),
                "columns": [list(pair) for pair in column_kinds(self.layerwise).items()],
            },
        }

    def __repr__(self) -> str:
        return f"<Result {self.model_id} on {self.benchmark}: {len(self.layerwise)} layerwise rows>"


def _table_named_by(json_path: Path) -> Path | None:
    """The table file an existing result JSON points to (None if there is no usable JSON)."""
    try:
        name = json.loads(json_path.read_text(encoding="utf-8"))["layerwise"]["file"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(name, str) or "/" in name or "\\" in name or not name.endswith(".csv"):
        return None
    return json_path.with_name(name)


def _validate_document(document: Any, where: str) -> None:
    """Schema check (of the file's own format version) plus cross-field rules."""
    version = document.get("format_version") if isinstance(document, dict) else None
    if version == 1:
        raise BrainAlignError(
            f"{where} was written by a development version of brainalign before 0.1.0 (format 1, "
            f"with a Parquet table), which this version does not read; {_FIX}"
        )
    if version != FORMAT_VERSION:
        raise BrainAlignError(
            f"{where} is not a brainalign result of a format this version reads (format_version "
            f"{version!r}; this brainalign reads {FORMAT_VERSION}); upgrade brainalign"
        )
    errors = sorted(_validator().iter_errors(document), key=lambda e: [str(p) for p in e.path])
    if errors:
        first = errors[0]
        at = "/".join(str(p) for p in first.absolute_path) or "top level"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise BrainAlignError(
            f"{where} is not a valid brainalign result: {first.message} at {at}{more}"
        )
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


def _read_table_bytes(path: Path, record: Mapping[str, Any], json_path: Path, fix: str) -> bytes:
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
    return data


# --- JSON-ready values -----------------------------------------------------------------------


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
    if isinstance(value, np.bool_):
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
    info["measures"] = [m.to_dict() for m in getattr(benchmark, "measures", ())]
    for name in (
        "distance",
        "comparison",
        "metric_id",
    ):  # how layer RDMs were made, compared, scored
        if isinstance(getattr(benchmark, name, None), str):
            info[name] = getattr(benchmark, name)
    return info
