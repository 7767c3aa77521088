"""The claims panel: the study's claims checked on whatever models were scored.

Each claim comes back with a status, its evidence (one line per brain target or group, each with
its own verdict), the rule that turned the evidence into the status, and, where it cannot be
tested, the entries that would make it testable. The claims describe associations among the scored
models, not causes. Statuses:

- ``supported``: the interval excludes the null in the claimed direction (on every target);
- ``contradicted``: it excludes it in the other direction (on every target);
- ``mixed``: targets disagree (e.g. supported on IT, inconclusive on hIT);
- ``inconclusive``: no interval excludes the null;
- ``not contradicted``: a "no relation" claim whose interval includes 0. That is not evidence of
  absence (the same interval allows sizeable relations), so it is not shown as support;
- ``not testable``.

Group comparisons (CLIP vs supervised, CNN vs ViT) use trained models only. A group's mean gets
the interval [mean of lows, mean of highs], which is at least as wide as the interval of a mean
of independent estimates (conservative); the difference of two group means gets the MOVER
interval of :mod:`brainalign.leaderboard.compare`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .aggregate import Entry, Leaderboard, is_trained
from .compare import difference_interval, format_interval
from .relation import MIN_GROUPS

_PER_TARGET_RULE = (
    "Decided per brain target on the interval of r that resamples whole models (layers of one model "
    "are not independent); the claim is {decided} only when every target says so, mixed when "
    "targets disagree, inconclusive when {open}."
)
_GROUP_RULE = (
    "Trained models only. Each group's mean gets the interval [mean of lower ends, mean of upper "
    "ends] of its models' recorded intervals (conservative), the difference of the two means the "
    "MOVER interval; supported when that interval excludes 0 in the claimed direction, "
    "contradicted when it excludes 0 in the other."
)
_NULL_RULE = (
    "A claim of no relation cannot be shown by an interval that includes 0: that interval also "
    "allows sizeable relations. It is contradicted on a target whose interval (resampling models) "
    "excludes 0, and otherwise only not contradicted; mixed when targets disagree."
)


@dataclass(frozen=True)
class Claim:
    claim: str
    status: str
    evidence: list[str] = field(default_factory=list)
    needs: str = ""
    rule: str = ""  # how the evidence became the status


def evaluate_claims(board: Leaderboard) -> list[Claim]:
    return [
        _layer_claim(board, "semantic", "Across layers, semantic encoding goes with brain similarity "
                     "(a layer's semantic ρ correlates positively with its brain ρ)", expect="positive"),
        _layer_claim(board, "saliency", "Across layers, saliency relates to brain similarity more weakly "
                     "than semantics does (|r| of saliency below r of semantics)", expect="weaker"),
        _group_claim(board, "CLIP-trained models encode semantics more strongly than supervised ones "
                     "(higher semantic encoding)",
                     _kind("semantic_encoding"), "objective", "CLIP", "supervised",
                     needs="score at least one CLIP and one supervised model on the probe, e.g. "
                           "open_clip:RN50 and resnet50 (their weights must be available locally)"),
        _group_claim(board, "Early-layer saliency suppression is stronger in CLIP-trained models than "
                     "in supervised ones",
                     _kind("saliency_suppression"), "objective", "CLIP", "supervised",
                     needs="score at least one CLIP and one supervised model on the probe"),
        _group_claim(board, "ResNets (CNNs) are more sensitive to a salient distractor than ViTs "
                     "(|ΔRSA| of the Salient condition against the saliency RDM)",
                     _salient_distractor_on_saliency, "family", "CNN", "ViT",
                     needs="score at least one trained CNN and one trained ViT on the probe",
                     magnitude=True),
        _no_relation_claim(board),
    ]


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
    return entry.measured(probe, "sensitivity", key, target=saliency.target,
                          distractor={"salient": True, "semantically_similar": True})


def _layer_claim(board: Leaderboard, measure: str, text: str, expect: str) -> Claim:
    relations = board.layer_relations
    if not len(relations):
        return Claim(text, "not testable", needs="score models on the probe and on a human benchmark")
    # Only intervals that resample whole models decide: layers of one model are not independent.
    pooled = relations[(relations["model"] == "") & (relations["n"] >= 4)
                       & (relations["n_groups"] >= MIN_GROUPS)]
    mine = pooled[pooled["measure"] == measure]
    if mine.empty or mine["r"].isna().all():
        return Claim(text, "not testable", needs=f"score at least {MIN_GROUPS} models on the probe and on "
                     "a human benchmark (the interval of r resamples models, since layers of one model "
                     "are not independent)")
    evidence, verdicts = [], []
    for row in mine.itertuples():
        line = (f"{row.brain}: r = {format_interval(row.r, row.ci_low, row.ci_high, 2)} "
                f"({row.ci_method}), n = {row.n} layers")
        if expect == "positive":
            found = ("supported" if row.ci_low > 0 else "contradicted" if row.ci_high < 0 else "inconclusive")
        else:
            semantic = pooled[(pooled["measure"] == "semantic") & (pooled["brain"] == row.brain)]
            sem = (semantic[["r", "ci_low", "ci_high"]].iloc[0].astype(float).tolist() if len(semantic)
                   else [math.nan] * 3)
            line += f"; semantic r = {format_interval(*sem, 2)}"
            found = _weaker_verdict(_magnitude(row.r, row.ci_low, row.ci_high), sem)
        verdicts.append(found)
        evidence.append(f"{line} → {found}")
    evidence += _cautions(mine["caveat"])
    open_when = ("no target's interval excludes 0" if expect == "positive" else
                 "on no target the interval of |r| lies wholly below (or above) semantics' interval")
    return Claim(text, _overall(verdicts), evidence,
                 rule=_PER_TARGET_RULE.format(decided="supported or contradicted", open=open_when))


def _cautions(caveats: pd.Series) -> list[str]:
    """The relations' caveats as evidence lines, each said once."""
    return [f"Caution: {c}." for c in dict.fromkeys(caveats) if isinstance(c, str) and c]


def _magnitude(value: float, low: float, high: float) -> tuple[float, float, float]:
    """|x| with its interval: [0, max] when the interval spans 0."""
    ends = sorted((abs(low), abs(high)))
    return abs(value), (0.0 if low <= 0 <= high else ends[0]), ends[1]


def _weaker_verdict(saliency: tuple[float, float, float], semantic: list[float]) -> str:
    """Whether |r| of saliency is surely below r of semantics: its whole interval under the
    semantic interval's lower end (supported), or surely above its upper end (contradicted)."""
    if any(math.isnan(x) for x in (*saliency, *semantic)):
        return "inconclusive"
    if saliency[2] < semantic[1]:
        return "supported"
    return "contradicted" if saliency[1] > semantic[2] else "inconclusive"


def _group_claim(board: Leaderboard, text: str, metric: Metric, attribute: str, higher: str, lower: str,
                 needs: str, magnitude: bool = False) -> Claim:
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
        f"{format_interval(*stats[name])}" for name in (higher, lower)
    ]
    evidence.append(f"difference {higher} − {lower}: {format_interval(a - b, low, high)}")
    status = ("inconclusive" if math.isnan(low) else "supported" if low > 0
              else "contradicted" if high < 0 else "inconclusive")
    return Claim(text, status, evidence, rule=_GROUP_RULE)


def _group(board: Leaderboard, metric: Metric, attribute: str, name: str,
           magnitude: bool = False) -> list[tuple[Entry, tuple[float, ...]]]:
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


def _no_relation_claim(board: Leaderboard) -> Claim:
    text = "Across models, saliency suppression does not go with brain similarity"
    relations = board.model_relations
    usable = relations[(relations["measure"] == "saliency_suppression") & (relations["n"] >= 4)] \
        if len(relations) else relations
    if not len(usable) or usable["r"].isna().all():
        return Claim(text, "not testable", needs="score at least 4 models on the probe and on a human benchmark")
    evidence, verdicts = [], []
    for row in usable.itertuples():
        interval = format_interval(row.r, row.ci_low, row.ci_high, 2)
        found = "contradicted" if row.ci_low > 0 or row.ci_high < 0 else "not contradicted"
        verdicts.append(found)
        line = f"{row.brain}: r = {interval} ({row.ci_method}), n = {row.n} models → {found}"
        if found == "not contradicted":
            line += f" (r anywhere from {row.ci_low:.2f} to {row.ci_high:.2f} fits these models)"
        evidence.append(line)
    evidence += _cautions(usable["caveat"])
    return Claim(text, _overall(verdicts), evidence, rule=_NULL_RULE)


def _overall(verdicts: list[str]) -> str:
    """One status for several targets: unanimous, or ``mixed`` when they disagree."""
    distinct = set(verdicts)
    return distinct.pop() if len(distinct) == 1 else "mixed"
