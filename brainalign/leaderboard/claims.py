"""The claims panel: the study's claims checked on whatever models were scored.

Each claim comes back with a status, its evidence (for the relation claims, one line of evidence
per set of stimuli, each target with its own verdict), the rule that turned the evidence into the
status, and, where it cannot be tested, the entries that would make it testable. The claims
describe associations among the scored models, not causes. Statuses:

- ``supported``: the 95% interval lies wholly on the claimed side of 0, on every target;
- ``contradicted``: it lies wholly on the other side, on every target;
- ``mixed``: targets disagree (e.g. supported on IT, inconclusive on hIT);
- ``inconclusive``: the interval includes 0;
- ``not contradicted``: a "no relation" claim whose interval includes 0. That is not evidence of
  absence (the same interval allows sizeable relations), so it is not shown as support;
- ``not testable``: too few independent entries; no number is given.

The relation claims are decided by :mod:`.decisive` (within models, over architecture lineages),
never by the study's pooled analysis, which a gap between trained and untrained models carries.
Requiring every target to agree keeps a claim's chance of a false "supported" at that of one
target's test however many targets there are, and targets on the same stimuli are reported as one
line of evidence, not as replications. Group comparisons (CLIP vs supervised, CNN vs ViT) use
trained models only. A group's mean gets the interval [mean of lows, mean of highs], which is at
least as wide as the interval of a mean of independent estimates (conservative); the difference of
two group means gets the MOVER interval of :mod:`brainalign.leaderboard.differences`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .aggregate import Entry, Leaderboard, is_trained
from .decisive import (
    MIN_LINEAGES,
    MIN_LINEAGES_ACROSS,
    WITHIN_ESTIMATE,
    LineageTest,
    across_lineage_test,
    model_metadata,
    within_model_contrast,
    within_model_test,
)
from .differences import difference_interval, format_interval
from .relation import PROBE_MEASURES, brain_columns, evidence_lines, target_stimuli

_WITHIN_RULE = (
    "Decided within models: for each trained model, Pearson's r between its layers' {x} and their brain "
    "ρ; as Fisher z, averaged over the models of one architecture lineage (scaled versions of one "
    "design, like EfficientNet-Lite0/1/2, are one lineage), then a 95% t interval over lineages. Per "
    "target: supported when the interval lies above 0, contradicted when below, inconclusive when it "
    "includes 0; not testable with fewer than {minimum} trained lineages. The claim is supported or "
    "contradicted only when every target says so, mixed when targets disagree. In simulations of this "
    "leaderboard's layout and of 4 to 20 trained models from 2 to 6 lineages with no relation within "
    "models, the rule said supported at most 5% of the time (documentation: Claims)."
)
_CONTRAST_RULE = (
    "Decided within models: for each trained model, the Fisher z of r between its layers' semantic ρ "
    "and brain ρ minus the absolute Fisher z of r between their saliency ρ and brain ρ; averaged over "
    "the models of one architecture lineage, then a 95% t interval over lineages. Per target: "
    "supported when the interval lies above 0 (semantics goes with brain similarity more strongly "
    "than saliency does, in either direction), contradicted when below, inconclusive when it "
    "includes 0; not testable with fewer than {minimum} trained lineages; every target must agree."
)
_ACROSS_RULE = (
    "Decided among trained models, one point per architecture lineage (the mean of its models): "
    "Pearson's r over those points with its 95% interval. A claim of no relation cannot be shown by "
    "an interval that includes 0: that interval also allows sizeable relations. It is contradicted "
    "on a target whose interval excludes 0, and otherwise only not contradicted; mixed when targets "
    "disagree; not testable with fewer than {minimum} trained lineages. Across all models, r "
    "mostly measures the gap between trained and untrained models, so it decides nothing."
)
_GROUP_RULE = (
    "Trained models only. Each group's mean gets the interval [mean of lower ends, mean of upper "
    "ends] of its models' recorded intervals (conservative), the difference of the two means the "
    "MOVER interval; supported when that interval excludes 0 in the claimed direction, "
    "contradicted when it excludes 0 in the other."
)
_POOLED_NOTE = (
    "The study's own analysis, pooled over all layers of all models, is under Relations as a "
    "descriptive replication and does not decide this claim: pooled over models, r follows "
    "differences between models (trained against untrained) as much as differences between layers."
)
#: Registered models to suggest for a lineage not yet scored (those before the others work offline).
_SUGGESTIONS = {
    "efficientnet": "efficientnet_lite0",
    "mobilenet": "mobilenet_v2",
    "resnet": "resnet50 or clip_rn50",
    "vit": "vit_b_16 or clip_vit_b_16",
}


@dataclass(frozen=True)
class EvidenceLine:
    """Targets measured on the same stimuli: one line of evidence, with its own status."""

    targets: tuple[str, ...]
    status: str
    items: tuple[str, ...]  # one per target, ending in its verdict
    shared: str = ""  # how the targets are known to share stimuli ("" for a single target)


@dataclass(frozen=True)
class Claim:
    claim: str
    status: str
    evidence: list[str] = field(default_factory=list)
    needs: str = ""
    rule: str = ""  # how the evidence became the status
    lines: list[EvidenceLine] = field(default_factory=list)  # relation claims: per line of evidence
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "claim": self.claim,
            "status": self.status,
            "evidence": list(self.evidence),
            "needs": self.needs,
            "rule": self.rule,
            "note": self.note,
            "lines": [
                {
                    "targets": list(line.targets),
                    "status": line.status,
                    "items": list(line.items),
                    "shared": line.shared,
                }
                for line in self.lines
            ],
        }


@dataclass(frozen=True)
class DecisiveTests:
    """Every decisive test the page shows: within models per brain target and probe measure (trained
    models, and all models for comparison), the saliency-against-semantics contrast, and across
    trained lineages per brain target and probe summary; and the lines of evidence."""

    within: list[tuple[str, str, LineageTest]]
    within_all: list[tuple[str, str, LineageTest]]
    contrast: list[tuple[str, LineageTest]]
    across: list[tuple[str, str, LineageTest]]
    lines: list[list[str]]
    stimuli_recorded: bool


def decisive_tests(board: Leaderboard) -> DecisiveTests:
    metadata = model_metadata(
        {e.model_id: e.card for e in board.entries},
        {e.model_id for e in board.entries if is_trained(e)},
    )
    layers, models = board.layers, board.models
    classical = set(board.brain_columns())
    targets = [t for t in brain_columns(layers) if t in classical]
    within, within_all = [], []
    for target in targets:
        for measure in PROBE_MEASURES:
            within.append(
                (target, measure, within_model_test(layers, measure, target, models=metadata))
            )
            within_all.append(
                (
                    target,
                    measure,
                    within_model_test(layers, measure, target, models=metadata, trained_only=False),
                )
            )
    contrast = [
        (t, within_model_contrast(layers, "semantic", "saliency", t, models=metadata))
        for t in targets
    ]
    across = [
        (t, m, across_lineage_test(models, m, t, models=metadata))
        for t in brain_columns(models)
        if t in classical
        for m in ("semantic_encoding", "saliency_suppression")
    ]
    stimuli = target_stimuli(r for e in board.entries for r in e.results.values())
    stimuli = {t: stimuli.get(t, "not recorded") for t in targets}
    return DecisiveTests(
        within,
        within_all,
        contrast,
        across,
        evidence_lines(stimuli),
        not any("not recorded" in key for key in stimuli.values()),
    )


def decisive_rows(tests: DecisiveTests) -> list[dict[str, Any]]:
    """The decisive tests as table rows (JSON-ready): a row below its test's minimum carries no
    estimate, interval or p-value at all."""
    rows = [
        {"brain": t, "measure": m, **test.to_dict()}
        for t, m, test in [*tests.within, *tests.within_all]
    ]
    rows += [
        {"brain": t, "measure": "semantic − |saliency|", **test.to_dict()}
        for t, test in tests.contrast
    ]
    rows += [{"brain": t, "measure": m, **test.to_dict()} for t, m, test in tests.across]
    return rows


def page_text(tests: DecisiveTests) -> dict[str, Any]:
    """What the page says about the decisive tests: what they estimate, their minimums, and how
    targets on shared stimuli count."""
    if len(tests.lines) == 1 and len(tests.lines[0]) > 1:
        lines = (
            f"The targets here ({', '.join(tests.lines[0])}) "
            + (
                "share their stimuli (the same stimulus ids)"
                if tests.stimuli_recorded
                else "do not record which stimuli they were computed on (results of an older brainalign)"
            )
            + ", so they are one line of evidence: their agreement is not replication."
        )
    elif len(tests.lines) > 1:
        lines = (
            f"The targets here form {len(tests.lines)} lines of evidence (targets on the same stimulus ids "
            f"are one line): " + "; ".join(", ".join(group) for group in tests.lines) + "."
        )
    else:
        lines = ""
    return {
        "estimate": WITHIN_ESTIMATE.format(x="semantic (or saliency) ρ"),
        "minimum": MIN_LINEAGES,
        "minimum_across": MIN_LINEAGES_ACROSS,
        "lines": lines,
        "multiplicity": (
            "Targets measured on the same stimuli count as one line of evidence, not as replications. A "
            "claim is supported only when every target supports it, which keeps its chance of a false "
            '"supported" at that of one target\'s test however many targets there are; each claim is '
            "tested on its own (no correction across claims)."
        ),
    }


def evaluate_claims(board: Leaderboard, tests: DecisiveTests | None = None) -> list[Claim]:
    tests = tests if tests is not None else decisive_tests(board)
    return [
        semantic_claim(tests),
        saliency_claim(tests),
        _group_claim(
            board,
            "CLIP-trained models encode semantics more strongly than supervised ones "
            "(higher semantic encoding)",
            _kind("semantic_encoding"),
            "objective",
            "CLIP",
            "supervised",
            needs="score at least one CLIP and one supervised model on the probe, e.g. "
            "open_clip:RN50 and resnet50 (their weights must be available locally)",
        ),
        _group_claim(
            board,
            "Early-layer saliency suppression is stronger in CLIP-trained models than "
            "in supervised ones",
            _kind("saliency_suppression"),
            "objective",
            "CLIP",
            "supervised",
            needs="score at least one CLIP and one supervised model on the probe",
        ),
        _group_claim(
            board,
            "ResNets (CNNs) are more sensitive to a salient distractor than ViTs "
            "(|ΔRSA| of the Salient condition against the saliency RDM)",
            _salient_distractor_on_saliency,
            "family",
            "CNN",
            "ViT",
            needs="score at least one trained CNN and one trained ViT on the probe",
            magnitude=True,
        ),
        saliency_across_models_claim(tests),
    ]


def semantic_claim(tests: DecisiveTests) -> Claim:
    """Across layers, semantic encoding goes with brain similarity: the within-model test of the
    semantic ρ against each brain target."""
    return _relation_claim(
        "Across layers, semantic encoding goes with brain similarity (within a model, layers with higher "
        "semantic ρ have higher brain ρ)",
        {t: test for t, m, test in tests.within if m == "semantic"},
        tests,
        _positive,
        _WITHIN_RULE.format(x="semantic ρ", minimum=MIN_LINEAGES),
        _within_item("within-model r"),
        MIN_LINEAGES,
    )


def saliency_claim(tests: DecisiveTests) -> Claim:
    """Across layers, saliency relates to brain similarity more weakly than semantics does: the
    within-model contrast against each brain target."""
    return _relation_claim(
        "Across layers, saliency relates to brain similarity more weakly than semantics does (within a "
        "model, |r| of saliency ρ with brain ρ below r of semantic ρ)",
        dict(tests.contrast),
        tests,
        _positive,
        _CONTRAST_RULE.format(minimum=MIN_LINEAGES),
        _within_item("z of semantic r minus |z| of saliency r, within models"),
        MIN_LINEAGES,
    )


def saliency_across_models_claim(tests: DecisiveTests) -> Claim:
    """Across models, saliency suppression does not go with brain similarity: r over trained
    lineages against each brain target."""
    return _relation_claim(
        "Across models, saliency suppression does not go with brain similarity",
        {t: test for t, m, test in tests.across if m == "saliency_suppression"},
        tests,
        _null,
        _ACROSS_RULE.format(minimum=MIN_LINEAGES_ACROSS),
        _across_item,
        MIN_LINEAGES_ACROSS,
        pooled_note=False,
    )


def _positive(test: LineageTest) -> str:
    return {"positive": "supported", "negative": "contradicted", "open": "inconclusive"}.get(
        test.direction, "not testable"
    )


def _null(test: LineageTest) -> str:
    return {"positive": "contradicted", "negative": "contradicted", "open": "not contradicted"}.get(
        test.direction, "not testable"
    )


def _untestable(test: LineageTest) -> str:
    lineages = f"{test.n_lineages} architecture lineage{'s' if test.n_lineages != 1 else ''}"
    kind = "trained model" if test.trained_only else "model"
    return (
        f"not testable: {len(test.models)} {kind}{'s' if len(test.models) != 1 else ''} from "
        f"{lineages}{' (' + ', '.join(test.lineages) + ')' if test.lineages else ''}; the test needs at "
        f"least {test.minimum} lineages"
    )


def _within_item(estimate: str) -> Callable[[str, LineageTest, str], str]:
    """An evidence line of a within-model test, its estimate called ``estimate``."""

    def item(target: str, test: LineageTest, verdict: str) -> str:
        if not test.testable:
            return f"{target}: {_untestable(test)}"
        return (
            f"{target}: {estimate} = {format_interval(test.estimate, test.ci_low, test.ci_high, 2)} over "
            f"{test.n_lineages} lineages ({len(test.models)} trained models) → {verdict}"
        )

    return item


def _across_item(target: str, test: LineageTest, verdict: str) -> str:
    if not test.testable:
        return f"{target}: {_untestable(test)}"
    line = (
        f"{target}: r over {test.n_lineages} trained lineages (one point each) = "
        f"{format_interval(test.estimate, test.ci_low, test.ci_high, 2)} → {verdict}"
    )
    if verdict == "not contradicted":
        line += f" (r anywhere from {test.ci_low:.2f} to {test.ci_high:.2f} fits these lineages)"
    return line


def _combine(verdicts: Sequence[str]) -> str:
    """One status for several targets (or lines): unanimous among those that could be tested,
    ``mixed`` when they disagree, ``not testable`` when none could."""
    tested = {v for v in verdicts if v != "not testable"}
    if not tested:
        return "not testable"
    return tested.pop() if len(tested) == 1 else "mixed"


def _relation_claim(
    text: str,
    by_target: dict[str, LineageTest],
    tests: DecisiveTests,
    verdict_of: Callable[[LineageTest], str],
    rule: str,
    item: Callable[[str, LineageTest, str], str],
    minimum: int,
    pooled_note: bool = True,
) -> Claim:
    if not any(test.models for test in by_target.values()):
        return Claim(
            text,
            "not testable",
            needs="score trained models on the probe and on a human benchmark",
            rule=rule,
        )
    lines = []
    for group in tests.lines or [sorted(by_target)]:
        members = [t for t in group if t in by_target]
        if not members:
            continue
        verdicts = [verdict_of(by_target[t]) for t in members]
        shared = ""
        if len(members) > 1:
            shared = (
                "share their stimuli (the same stimulus ids): one line of evidence, not replications"
                if tests.stimuli_recorded
                else "do not record which stimuli they were computed on (results of an older brainalign), so "
                "they are taken as one line of evidence, not replications"
            )
        lines.append(
            EvidenceLine(
                tuple(members),
                _combine(verdicts),
                tuple(item(t, by_target[t], v) for t, v in zip(members, verdicts)),
                shared,
            )
        )
    status = _combine([line.status for line in lines])
    note = _POOLED_NOTE if pooled_note else ""
    if status == "not testable":  # every target for the same reason, said once
        reasons = dict.fromkeys(_untestable(test) for test in by_target.values())
        evidence = [
            f"{reason[0].upper()}{reason[1:]} ({', '.join(t for t, test in by_target.items() if _untestable(test) == reason)})."
            for reason in reasons
        ]
        return Claim(
            text, status, evidence, needs=_needs(by_target.values(), minimum), rule=rule, note=note
        )
    return Claim(text, status, rule=rule, lines=lines, note=note)


def _needs(tests: Sequence[LineageTest] | Any, minimum: int) -> str:
    """What to score to make a lineage test testable: trained models of enough more lineages."""
    tests = list(tests)
    present = sorted({lineage for test in tests for lineage in test.lineages})
    missing = max(minimum - len(present), 1)
    suggestions = [model for lineage, model in _SUGGESTIONS.items() if lineage not in present]
    return (
        f"score trained models of {missing} more architecture lineage{'s' if missing != 1 else ''} on the probe "
        f"and the human benchmarks (now {len(present)}{': ' + ', '.join(present) if present else ''}; scaled "
        "versions of one design count once), e.g. "
        + "; ".join(suggestions[:3])
        + " (weights must be available locally), or any torchvision, timm or open_clip checkpoint of "
        "another design"
    )


Metric = Callable[[Entry, str | None, str], float]


def _kind(kind: str) -> Metric:
    """A claim's number: the measure of ``kind`` on the chosen probe."""
    return lambda entry, probe, key: entry.measured(probe, kind, key)


def _salient_distractor_on_saliency(entry: Entry, probe: str | None, key: str) -> float:
    """The sensitivity to a salient, semantically similar distractor, measured against the
    target of the probe's saliency measure (whatever the probe calls it)."""
    result = entry.results.get(probe) if probe else None
    saliency = result.measure("saliency_suppression") if result is not None else None
    if saliency is None:
        return math.nan
    return entry.measured(
        probe,
        "sensitivity",
        key,
        target=saliency.target,
        distractor={"salient": True, "semantically_similar": True},
    )


def _magnitude(value: float, low: float, high: float) -> tuple[float, float, float]:
    """``|x|`` with its interval: [0, max] when the interval spans 0."""
    ends = sorted((abs(low), abs(high)))
    return abs(value), (0.0 if low <= 0 <= high else ends[0]), ends[1]


def _group_claim(
    board: Leaderboard,
    text: str,
    metric: Metric,
    attribute: str,
    higher: str,
    lower: str,
    needs: str,
    magnitude: bool = False,
) -> Claim:
    """Whether group ``higher`` scores above group ``lower`` on ``metric`` (its absolute value
    with ``magnitude``: a sensitivity is a change in either direction)."""
    groups = {name: _group(board, metric, attribute, name, magnitude) for name in (higher, lower)}
    if any(not members for members in groups.values()):
        return Claim(text, "not testable", needs=needs)
    stats = {name: _group_mean(members) for name, members in groups.items()}
    (a, a_low, a_high), (b, b_low, b_high) = stats[higher], stats[lower]
    low, high = difference_interval(a, a_low, a_high, b, b_low, b_high)
    evidence = [
        f"{name} ({len(groups[name])}: {', '.join(e.model_id for e, _ in groups[name])}): mean "
        f"{format_interval(*stats[name])}"
        for name in (higher, lower)
    ]
    evidence.append(f"difference {higher} − {lower}: {format_interval(a - b, low, high)}")
    status = (
        "inconclusive"
        if math.isnan(low)
        else "supported"
        if low > 0
        else "contradicted"
        if high < 0
        else "inconclusive"
    )
    return Claim(text, status, evidence, rule=_GROUP_RULE)


def _group(
    board: Leaderboard, metric: Metric, attribute: str, name: str, magnitude: bool = False
) -> list[tuple[Entry, tuple[float, ...]]]:
    members = []
    for entry in board.entries:
        if str(entry.card.get(attribute) or "") != name or not is_trained(entry):
            continue
        triple = tuple(metric(entry, board.probe, key) for key in ("value", "ci_low", "ci_high"))
        if magnitude:
            triple = _magnitude(*triple)
        if not math.isnan(triple[0]):
            members.append((entry, triple))
    return members


def _group_mean(members: list[tuple[Entry, tuple[float, ...]]]) -> tuple[float, float, float]:
    values = np.array([triple for _, triple in members], dtype=np.float64)
    return float(values[:, 0].mean()), float(values[:, 1].mean()), float(values[:, 2].mean())
