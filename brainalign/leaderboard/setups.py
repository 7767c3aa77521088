"""What a number was computed on, so that numbers computed on different things are never set side
by side without saying so: the stimulus set, the data (for the probe: which probe), the layer
policy, and the benchmark's version."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..results import Result

#: The aspects of a result's setup that make two numbers of one benchmark incomparable (and their plurals).
ASPECTS: dict[str, str] = {
    "stimulus set": "stimulus sets",
    "data": "data sets",
    "layer policy": "layer policies",
}


@dataclass(frozen=True)
class Note:
    """Something a reader of the page should know, and where it belongs: a ``model``'s or a
    ``benchmark``'s page (or the whole board). ``warning``: it may change how a number reads
    (shown, counted, on the first screen); otherwise it only explains how the numbers were made
    (shown on the page it belongs to)."""

    text: str
    warning: bool = True
    model: str | None = None
    benchmark: str | None = None

    def __str__(self) -> str:
        return self.text


def setup(result: Result) -> dict[str, str]:
    """Each aspect of how ``result`` was computed, as a short comparable text."""
    provenance = result.provenance
    data = provenance.get("data_checksums") or {}
    # which probe: its content hash (the same wherever it was built); results of version 1 had
    # only the manifest's sha256
    probe = (
        data.get("probe_content_sha256") or data.get("probe_manifest_sha256")
        if isinstance(data, dict)
        else None
    )
    policy = provenance.get("layer_policy", result.model_card.get("layer_policy"))
    return {
        "stimulus set": _digest(provenance.get("stimuli_sha256")),
        "data": f"probe {probe[:12]}" if probe else _digest(data),
        "layer policy": ",".join(policy) if isinstance(policy, list) else str(policy),
    }


def _digest(value: Any) -> str:
    return (
        hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:12]
        if value
        else "not recorded"
    )


def setup_differences(a: Result, b: Result, label_a: str = "A", label_b: str = "B") -> list[str]:
    """How the setups of two results of one benchmark differ (empty: comparable)."""
    left, right = setup(a), setup(b)
    return [
        f"different {aspect} ({label_a}: {left[aspect]}, {label_b}: {right[aspect]})"
        for aspect in ASPECTS
        if left[aspect] != right[aspect]
    ]


def column_notes(identifier: str, results: Sequence[Result]) -> list[Note]:
    """Notes for one benchmark's column: each aspect in which its models' setups differ, with
    the models of each group. Layer policies that differ only because each model was scored at
    its own card's policy (the pixel baseline has no blocks, so its card says "all") are not a
    warning; a policy chosen against the card is."""
    notes = []
    for aspect, plural in ASPECTS.items():
        groups: dict[str, list[str]] = {}
        for result in results:
            groups.setdefault(setup(result)[aspect], []).append(result.model_id)
        if len(groups) > 1:
            sets = "; ".join(f"{value}: {', '.join(models)}" for value, models in groups.items())
            by_card = aspect == "layer policy" and all(_at_card_policy(r) for r in results)
            text = (
                f"benchmark {identifier}: models were scored on {len(groups)} different {plural} ({sets}); "
                + (
                    "each at its own card's layer policy"
                    if by_card
                    else "numbers compare only within one"
                )
            )
            notes.append(Note(text, warning=not by_card, benchmark=identifier))
    return notes


def _at_card_policy(result: Result) -> bool:
    """Whether the result was scored at the layer policy its model card declares."""
    policy = result.provenance.get("layer_policy")
    return policy is not None and policy == result.model_card.get("layer_policy")


def version_notes(identifiers: Sequence[str]) -> list[Note]:
    """A note for each benchmark id present in several versions (each has its own column)."""
    versions: dict[str, list[str]] = {}
    for identifier in sorted(set(identifiers)):
        versions.setdefault(identifier.partition("@")[0], []).append(identifier)
    return [
        Note(
            f"benchmark {bench} has results of versions {', '.join(v.partition('@')[2] for v in found)}: "
            "each version has its own column, and their numbers are not comparable",
            benchmark=found[-1],
        )
        for bench, found in versions.items()
        if len(found) > 1
    ]


def one_sided(a: Sequence[Result], b: Sequence[Result]) -> tuple[list[str], list[str]]:
    """The benchmarks (``id@version``) only ``a`` has and only ``b`` has, each with a word where
    the other side has another version of the same benchmark."""
    left, right = {r.benchmark for r in a}, {r.benchmark for r in b}

    def described(only: set[str], other: set[str]) -> list[str]:
        lines = []
        for identifier in sorted(only):
            bench = identifier.partition("@")[0]
            versions = sorted(o.partition("@")[2] for o in other if o.partition("@")[0] == bench)
            lines.append(
                identifier
                + (
                    f" (the other side has version {', '.join(versions)}: not comparable)"
                    if versions
                    else ""
                )
            )
        return lines

    return described(left - right, right), described(right - left, left)
