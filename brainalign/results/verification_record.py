"""The record that says a result was verified: written beside the result it checked, as
``<result stem>.verification`` (JSON: not a ``.json`` file, so nothing takes it for a result). It
names the result's content id, so it stands only for exactly those numbers, and writing it changes
neither the result's files nor its id.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from .._files import write_json_atomic
from .._version import __version__
from .agreement import TOLERANCE, Comparison
from .provenance import environment
from .result import Result

RECORD_SUFFIX = ".verification"
RECORD_FORMAT = "brainalign.verification"

Status = Literal["verified", "differs", "cannot verify"]


@dataclass(frozen=True)
class VerificationRecord:
    """That (and where, when, with which versions) a result was re-scored and found to agree
    (``status`` "verified") or not ("differs")."""

    result_id: str
    status: Status
    verified_at: str
    where: dict[str, Any]
    versions: dict[str, Any]
    tolerance: float = TOLERANCE
    n_checked: int = 0
    max_difference: float = 0.0
    differences: list[str] = field(default_factory=list)

    @classmethod
    def now(
        cls, result: Result, status: Status, comparison: Comparison | None
    ) -> VerificationRecord:
        env = environment()
        return cls(
            result_id=result.content_id(),
            status=status,
            verified_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            where={"host": platform.node(), "system": platform.system(), "machine": env["machine"]},
            versions={
                "brainalign": __version__,
                "python": env["python"],
                "libraries": env["libraries"],
                "torch_threads": env.get("torch_threads"),
            },
            n_checked=comparison.n_checked if comparison else 0,
            max_difference=comparison.max_difference if comparison else 0.0,
            differences=[str(d) for d in comparison.differences[:20]] if comparison else [],
        )

    def stands_for(self, result: Result) -> bool:
        """Whether this record verified exactly ``result`` (its content id)."""
        return self.status == "verified" and self.result_id == result.content_id()

    def summary(self) -> str:
        """``verified on HOST (System machine) at TIME with brainalign V, torch T`` for a page."""
        torch = self.versions.get("libraries", {}).get("torch")
        return (
            f"{self.status} on {self.where.get('host') or 'an unnamed host'} ({self.where.get('system')} "
            f"{self.where.get('machine')}) at {self.verified_at} with brainalign {self.versions.get('brainalign')}"
            + (f", torch {torch}" if torch else "")
        )


def record_path(result_path: str | Path) -> Path:
    """Where the verification of the result file ``result_path`` (``….json``) lives."""
    path = Path(result_path)
    return path.with_name(path.stem + RECORD_SUFFIX)


def write_record(result_path: str | Path, record: VerificationRecord) -> Path:
    path = record_path(result_path)
    write_json_atomic(path, {"format": RECORD_FORMAT, "format_version": 1, **asdict(record)})
    return path


def read_record(result_path: str | Path) -> VerificationRecord | None:
    """The verification recorded beside a result file, or None (none, or not readable)."""
    path = record_path(result_path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("format") != RECORD_FORMAT:
        return None
    known = VerificationRecord.__dataclass_fields__
    try:
        return VerificationRecord(**{k: v for k, v in document.items() if k in known})
    except TypeError:
        return None
