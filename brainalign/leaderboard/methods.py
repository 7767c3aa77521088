"""A methods paragraph for one result, ready to paste into a paper, and the BibTeX of every work it
names.

The paragraph names the model (id, weights sha256), the stimuli and their number, the distance of
the layer RDMs, how they were compared with the targets, how the layer was chosen, the score raw
and divided by the noise ceiling (with the ceiling's value, and whether it is reliable where the
result says), the interval (what it resamples, how many resamples, the seed), the benchmark
id@version, the result's id and the suite's version. Everything comes from the result, which
carries its benchmark's definitions and BibTeX; only the layer RDMs' distance and the comparison
of results older than their record are looked up in the benchmark registry. What a result does
not record is left out, never guessed, and a caveat is said only where it applies.

The paragraph is written once in a small markup (pandoc's: ```code``` for identifiers,
``[@key; @key]`` for a citation in parentheses, ``{@key}`` for one in running text or inside
parentheses) and rendered as plain text or Markdown (author-year citations) or LaTeX (``\\cite``).
"""

from __future__ import annotations

import math
import re
import textwrap
import unicodedata
from collections.abc import Iterable
from typing import Any

from ..bibtex import FORMATS, METHOD_BIBTEX, STUDY_BIBTEX, parse_bibtex, suite_bibtex
from ..caveats import interval_caveat, interval_covers, interval_resamples, n_subjects
from ..errors import BrainAlignError
from ..latex import latex_escape
from ..results import Result

_COMPARISONS = {
    "spearman": "Spearman's rank correlation (ρ)",
    "pearson": "Pearson's correlation (r)",
    "kendall_tau_a": "Kendall's rank correlation (tau-a)",
    "cosine": "cosine similarity",
}
_DISTANCES = {
    "cosine": "the cosine distance",
    "correlation": "the correlation distance (1 − Pearson r)",
    "euclidean": "the Euclidean distance",
    "sqeuclidean": "the squared Euclidean distance",
}
#: The probe's target RDMs, and the method each comes from.
_PROBE_TARGETS = {
    "saliency": ("a saliency RDM (Itti–Koch saliency maps", "itti1998saliency"),
    "semantic": ("a semantic RDM (sentence embeddings of the images' captions", "reimers2019sbert"),
}
#: A citation key that LaTeX and the markup take as it is (others, from a user's BibTeX, are left out).
_VALID_KEY = re.compile(r"[A-Za-z0-9_:.+/-]+")
_STUDY_KEY = "opielka2024saliency"
_SUITE_KEY = "brainalign"
_METHOD_KEYS = {method: next(iter(parse_bibtex(entry))) for method, entry in METHOD_BIBTEX.items()}


# --- the public functions ----------------------------------------------------------------------
def methods_paragraph(result: Result, format: str = "text") -> str:
    """One methods paragraph for ``result``: ``text`` and ``markdown`` cite author-year,
    ``latex`` with ``\\cite{key}`` (the keys of :func:`result_bibtex`)."""
    if format not in ("text", "markdown", "latex"):
        raise BrainAlignError(f"no paragraph format {format!r}: choose text, markdown or latex")
    pool = _bibliography(result)
    markup = _markup(result, pool)
    return _render(markup, format, _labels(_cited(markup), pool))


def result_bibtex(result: Result) -> str:
    """The BibTeX of every work :func:`methods_paragraph` names, in the order it names them."""
    pool = _bibliography(result)
    return "\n\n".join(pool[key] for key in _cited(_markup(result, pool)))


def cite_result(result: Result, format: str = "text") -> str:
    """What ``brainalign cite RESULT --format FORMAT`` prints: the paragraph, then the BibTeX (for
    ``bibtex``: the BibTeX, then the LaTeX paragraph as ``%`` lines, so it stays a valid .bib)."""
    if format not in FORMATS:
        raise BrainAlignError(f"no citation format {format!r}: choose one of {', '.join(FORMATS)}")
    bibtex = result_bibtex(result)
    if format == "bibtex":
        paragraph = methods_paragraph(result, "latex").replace(
            r"\allowbreak{}", ""
        )  # read, not typeset
        comment = textwrap.fill(
            paragraph,
            width=98,
            initial_indent="% ",
            subsequent_indent="% ",
            break_long_words=False,
            break_on_hyphens=False,
        )
        return f"{bibtex}\n\n% Methods:\n{comment}"
    paragraph = methods_paragraph(result, format)
    if format == "markdown":
        return f"{paragraph}\n\n```bibtex\n{bibtex}\n```"
    if format == "latex":
        return f"{paragraph}\n\n% BibTeX of the works cited above (save as a .bib file):\n{bibtex}"
    return f"{paragraph}\n\n{bibtex}"


# --- the paragraph, in markup -------------------------------------------------------------------
def _markup(result: Result, pool: dict[str, str]) -> str:
    cite = _Citer(pool)
    sentences = [
        _what(result, cite),
        _stimuli(result),
        _rdms(result, cite),
        *_scores(result, cite),
        _intervals(result, cite),
        f"The result's id is {_code(result.content_id())} (the sha256 of its content).",
    ]
    return " ".join(s for s in sentences if s)


class _Citer:
    """Citation markup for the keys that the bibliography holds (others are left out)."""

    def __init__(self, pool: dict[str, str]) -> None:
        self.pool = pool

    def keys(self, keys: Iterable[str]) -> list[str]:
        return [k for k in dict.fromkeys(keys) if k in self.pool]

    def paren(self, *keys: str) -> str:
        found = self.keys(keys)
        return f" [{'; '.join('@' + k for k in found)}]" if found else ""

    def inner(self, *keys: str) -> str:
        found = self.keys(keys)
        return f"{{{'; '.join('@' + k for k in found)}}}" if found else ""


def _what(result: Result, cite: _Citer) -> str:
    card, info = result.model_card, result.benchmark_info
    about = [_plain(card["description"])] if card.get("description") else []
    about.append(_weights(result))
    model_keys = cite.keys(parse_bibtex(str(card.get("citation") or "")))
    if model_keys:
        about.append(cite.inner(*model_keys))
    title = _plain(str(info.get("title") or ""))
    data = cite.inner(*_data_keys(result, cite.pool))
    on = "; ".join(part for part in (title, f"data: {data}" if data else "") if part)
    version = result.provenance.get("brainalign_version", "")
    return (
        f"We scored the model {_code(result.model_id)} ({'; '.join(about)}) on the benchmark "
        f"{_code(result.benchmark)}"
        + (f" ({on})" if on else "")
        + f" with brainalign {version}{cite.paren(_SUITE_KEY)}, which implements the analyses of "
        f"{cite.inner(_STUDY_KEY)}."
    )


def _weights(result: Result) -> str:
    card, provenance = result.model_card, result.provenance
    if card.get("weights_sha256"):
        named = f"{_code(card['weights_id'])}, " if card.get("weights_id") else ""
        return f"weights {named}sha256 {_code(card['weights_sha256'])}"
    if provenance.get("weights_file_sha256"):
        return f"weights file sha256 {_code(provenance['weights_file_sha256'])}"
    if card.get("objective") == "untrained" or card.get("init_seed") is not None:
        seed = card.get("init_seed")
        return "no trained weights" + (f", initialisation seed {seed}" if seed is not None else "")
    return "weights not recorded"


def _stimuli(result: Result) -> str:
    recorded = result.provenance.get("stimuli_sha256")
    sets = list(recorded) if isinstance(recorded, dict) else []
    count = _n_stimuli(result)
    number = f"{count} " if count else ""
    if len(sets) > 1:  # the probe: the same base images in every condition
        return (
            f"The stimuli were {number}base images, each shown in {len(sets)} conditions "
            f"({_plain(', '.join(sets))})."
        )
    if sets:
        return f"The stimuli were the {number}images of the stimulus set {_code(sets[0])}."
    return f"The stimuli were the {number}images of the benchmark." if number else ""


def _rdms(result: Result, cite: _Citer) -> str:
    layers = result.layerwise["layer"].nunique() if "layer" in result.layerwise else 0
    policy = result.provenance.get("layer_policy")
    policy = ", ".join(policy) if isinstance(policy, list) else policy
    of_layers = (f"each of the {layers} layers" if layers else "each layer") + (
        f" of the {_code(policy)} layer policy" if policy else ""
    )
    distance = _DISTANCES.get(_benchmark_attribute(result, "distance") or "")
    made = (
        f" was computed as {distance} between the layer's activation patterns"
        if distance
        else (" was computed from the layer's activation patterns")
    )
    comparison = _benchmark_attribute(result, "comparison") or result.extra.get("method")
    how = f" by {_COMPARISONS.get(str(comparison), str(comparison))}" if comparison else ""
    return (
        f"For {of_layers}, a representational dissimilarity matrix (RDM{_inside(cite.inner(_METHOD_KEYS['rsa']))})"
        f"{made}, and compared{how} over the upper triangle with {_targets(result, cite)}."
    )


def _targets(result: Result, cite: _Citer) -> str:
    headline = [m for m in result.measures if m.headline]
    brain = next((m for m in headline if m.kind == "brain_similarity"), None)
    if brain is not None:
        count = n_subjects(result)
        target = f" (target {_code(brain.target)})" if brain.target else ""
        return (
            f"each of the {count} subjects' RDMs{target}" if count else f"the target's RDM{target}"
        )
    targets = sorted({m.target for m in headline if m.target})
    if targets and all(t in _PROBE_TARGETS for t in targets):
        described = [
            f"{_PROBE_TARGETS[t][0]}{_inside(cite.inner(_PROBE_TARGETS[t][1]))})" for t in targets
        ]
        return f"{len(targets)} target RDMs on the Baseline images: " + " and ".join(described)
    return f"the target RDMs ({', '.join(targets)})" if targets else "the target RDMs"


def _scores(result: Result, cite: _Citer) -> list[str]:
    sentences = []
    for measure in (m for m in result.measures if m.headline):
        entry = result.summary.get(measure.name)
        if not isinstance(entry, dict) or entry.get("value") is None:
            continue
        if measure.kind == "brain_similarity":
            sentences += [
                _layer_choice(result, entry),
                _brain_score(result, measure.label, entry, cite),
            ]
        else:
            sentences.append(_other_score(measure.label, measure.kind, measure.description, entry))
    return [s for s in sentences if s]


def _layer_choice(result: Result, entry: dict[str, Any]) -> str:
    extra = result.extra
    splits = extra.get("n_splits")
    if not splits:
        return ""
    over_stimuli = interval_resamples(result, "brain_similarity") == "stimuli"
    if over_stimuli:
        how = (
            f"in each of {splits} seeded random splits of the images into halves, the layer with the "
            "highest ρ on the pairs within one half was scored on the pairs within the other"
        )
    else:
        how = (
            f"in each of {splits} seeded random splits of the subjects into halves, the layer with "
            "the highest mean ρ over one half was scored by its mean ρ over the other"
        )
    choices = extra.get("cv_layer_choices")
    chosen = ""
    if isinstance(choices, dict) and entry.get("layer") in choices:
        chosen = (
            f"; layer {_code(entry['layer'])} was chosen in {choices[entry['layer']]} of the "
            f"{sum(choices.values())} choices"
        )
    return (
        f"The layer was chosen by cross-validation over {'stimuli' if over_stimuli else 'subjects'}: "
        f"{how}, in both directions{chosen}."
    )


def _brain_score(result: Result, label: str, entry: dict[str, Any], cite: _Citer) -> str:
    text = f"The score ({label}, the mean held-out ρ) is {_number(entry)}"
    ceiling = next((m for m in result.measures if m.kind == "noise_ceiling"), None)
    record = result.summary.get(ceiling.name) if ceiling is not None else None
    if ceiling is None or not isinstance(record, dict) or not _finite(record.get("upper")):
        return text + "; the noise ceiling was not computed."
    convention = (
        record.get("convention")
        if isinstance(record.get("convention"), str)
        else ceiling.description
    )
    parts = [
        f"lower bound {_fmt(record['lower'])}" if _finite(record.get("lower")) else "",
        _plain(convention) if convention else "",
        cite.inner(_METHOD_KEYS["noise ceiling"]),
    ]
    about = f" ({'; '.join(p for p in parts if p)})" if any(parts) else ""
    if _finite(entry.get("normalised")):
        normalised = {
            "value": entry["normalised"],
            "ci_low": entry.get("normalised_ci_low"),
            "ci_high": entry.get("normalised_ci_high"),
        }
        text += (
            f"; divided by the upper noise ceiling of {_fmt(record['upper'])}{about}, it is "
            f"{_number(normalised)}."
        )
    else:
        withheld = entry.get("normalised_withheld")
        text += (
            f"; it is not divided by the upper noise ceiling of {_fmt(record['upper'])}{about}"
            + (f": {_plain(str(withheld)).rstrip('.')}." if withheld else ".")
        )
    return text + _reliability(record)


def _reliability(record: dict[str, Any]) -> str:
    """Whether the ceiling is reliable, where the result says (older results do not)."""
    if not isinstance(record.get("reliable"), bool):
        return ""
    test: dict[str, Any] = (
        record["reliability"] if isinstance(record.get("reliability"), dict) else {}
    )
    details = [str(test["test"])] if test.get("test") else []
    if _finite(test.get("p")):
        details.append(f"p = {float(test['p']):.3g}")
    if test.get("n_permutations"):
        details.append(f"{test['n_permutations']} permutations")
    if test.get("seed") is not None:
        details.append(f"seed {test['seed']}")
    said = f" ({_plain(', '.join(details))})" if details else ""
    return f" The noise ceiling is {'reliable' if record['reliable'] else 'not reliable'}{said}."


def _other_score(label: str, kind: str, description: str, entry: dict[str, Any]) -> str:
    about = [_plain(description)] if description else []
    if entry.get("layer"):
        about.append(
            f"layer {_code(entry['layer'])}"
            + (", chosen and scored on the same images" if kind == "semantic_encoding" else "")
        )
    if entry.get("n_layers"):
        about.append(f"{entry['n_layers']} layers")
    said = f" ({'; '.join(about)})" if about else ""
    return f"{label[:1].upper()}{label[1:]}{said} is {_number(entry)}."


def _intervals(result: Result, cite: _Citer) -> str:
    """What the headline intervals resample, how many resamples, the seed, what they cover, and
    the caveat where few subjects were resampled."""
    names = [m.name for m in result.measures if m.headline and interval_resamples(result, m.name)]
    if not names:
        return ""
    resampled = interval_resamples(result, names[0]) or ""
    n_boot, seed = result.extra.get("n_boot"), result.provenance.get("seed")
    settings = ", ".join(
        part
        for part in (
            f"{n_boot} resamples" if n_boot else "",
            f"seed {seed}" if seed is not None else "",
        )
        if part
    )
    crossvalidated = (
        ", the cross-validation repeated on each" if result.extra.get("n_splits") else ""
    )
    kind = {
        "subjects and stimuli": (
            "a two-factor bootstrap over subjects and stimuli",
            f" ({settings}{crossvalidated}) whose variance is corrected as in "
            + cite.inner(_METHOD_KEYS["subjects and stimuli"]),
        ),
        "subjects": (
            "an expanded percentile bootstrap over subjects",
            f" ({settings}{crossvalidated}; {cite.inner(_METHOD_KEYS['subjects'])})",
        ),
        "stimuli": ("a percentile bootstrap over stimuli", f" ({settings})"),
    }.get(resampled, (f"a bootstrap over {resampled}", f" ({settings})"))
    plural = len(names) > 1
    text = (
        f"The 95% interval{'s come' if plural else ' comes'} from {kind[0]}{kind[1].replace(' ()', '')}"
        f"; {'they cover' if plural else 'it covers'} {interval_covers(resampled) or 'what it resamples'}."
    )
    caveat = interval_caveat(result, names[0])
    return text + (f" Caveat: {caveat}." if caveat else "")


# --- what the result records -------------------------------------------------------------------
def _n_stimuli(result: Result) -> int | None:
    extra = result.extra
    for record in (extra.get("resamples"), extra.get("two_factor"), extra):
        if isinstance(record, dict) and isinstance(record.get("n_stimuli"), int):
            return int(record["n_stimuli"])
    return None


def _benchmark_attribute(result: Result, name: str) -> str | None:
    """``distance`` or ``comparison`` as the result records it, else as the registered benchmark
    of that id@version defines it (a probe folder's id ``probe.X~hash`` is a version of probe.X)."""
    recorded = result.benchmark_info.get(name)
    if isinstance(recorded, str):
        return recorded
    from ..benchmarks.registry import get  # results older than the record

    base, _, version = result.benchmark.partition("@")
    for identifier in dict.fromkeys((result.benchmark, f"{base.partition('~')[0]}@{version}")):
        try:
            value = getattr(get(identifier), name, None)
        except BrainAlignError:
            continue
        return value if isinstance(value, str) else None
    return None


def _data_keys(result: Result, pool: dict[str, str]) -> list[str]:
    """The keys of the benchmark's recorded BibTeX that no other part of the paragraph cites."""
    recorded = parse_bibtex(str(result.benchmark_info.get("bibtex", "")))
    others = {
        _STUDY_KEY,
        _SUITE_KEY,
        *_METHOD_KEYS.values(),
        *(k for _, k in _PROBE_TARGETS.values()),
        *parse_bibtex(str(result.model_card.get("citation") or "")),
    }
    return [k for k in recorded if k not in others and k in pool]


def _bibliography(result: Result) -> dict[str, str]:
    """Every entry the paragraph may cite: the methods, the model's, the benchmark's as recorded,
    the study, and the suite at the version that computed the result (never a recorded copy)."""
    pool: dict[str, str] = {}
    for method, entry in METHOD_BIBTEX.items():
        pool[_METHOD_KEYS[method]] = entry
    pool.update(parse_bibtex(str(result.model_card.get("citation") or "")))
    pool.update(parse_bibtex(str(result.benchmark_info.get("bibtex", ""))))
    pool.setdefault(_STUDY_KEY, STUDY_BIBTEX)
    version = str(result.provenance.get("brainalign_version") or "")
    pool[_SUITE_KEY] = suite_bibtex(version) if version else suite_bibtex()
    return {key: entry for key, entry in pool.items() if _VALID_KEY.fullmatch(key)}


# --- numbers and words -------------------------------------------------------------------------
def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fmt(value: float) -> str:
    return f"{float(value):.3f}".replace("-", "−")


def _number(entry: dict[str, Any]) -> str:
    """``0.263, 95% CI [0.142, 0.384]`` (no interval where none was computed)."""
    text = _fmt(entry["value"])
    if _finite(entry.get("ci_low")) and _finite(entry.get("ci_high")):
        text += f", 95% CI [{_fmt(entry['ci_low'])}, {_fmt(entry['ci_high'])}]"
    return text


def _plain(text: str) -> str:
    """Recorded words as prose: no markup characters of ours, ρ for rho."""
    text = text.replace("`", "'").replace("[@", "[").replace("{@", "{")
    return re.sub(r"\brho\b", "ρ", text).replace("<=", "≤").replace("+-", "±")


def _code(value: Any) -> str:
    """An identifier, in the markup's code span."""
    return "`" + str(value).replace("`", "'") + "`"


def _inside(citation: str) -> str:
    return f"; {citation}" if citation else ""


# --- rendering ---------------------------------------------------------------------------------
_TOKEN = re.compile(r"`([^`]*)`|\[(@[^\]]+)\]|\{(@[^}]+)\}")


def _cited(markup: str) -> list[str]:
    """The keys cited in ``markup``, in order of first citation."""
    keys: list[str] = []
    for match in _TOKEN.finditer(markup):
        group = match.group(2) or match.group(3)
        if group:
            keys += [k.strip().lstrip("@") for k in group.split(";")]
    return list(dict.fromkeys(keys))


def _render(markup: str, format: str, labels: dict[str, str]) -> str:
    out, position = [], 0
    for match in _TOKEN.finditer(markup):
        out.append(_text(markup[position : match.start()], format))
        code, paren, inner = match.groups()
        if code is not None:
            out.append({"text": code, "markdown": f"`{code}`", "latex": _texttt(code)}[format])
        else:
            keys = [k.strip().lstrip("@") for k in (paren or inner).split(";")]
            if format == "latex":
                out.append(("~" if paren else "") + rf"\cite{{{','.join(keys)}}}")
            else:
                said = "; ".join(labels[k] for k in keys)
                out.append(f" ({said})" if paren else said)
        position = match.end()
    out.append(_text(markup[position:], format))
    return re.sub(r" +", " ", "".join(out)).replace(" ~", "~").strip()


def _texttt(code: str) -> str:
    r"""``\texttt`` that may break inside a long hash (a sha256 is wider than a column)."""
    chunks = [code] if len(code) <= 24 else [code[i : i + 8] for i in range(0, len(code), 8)]
    joined = r"\allowbreak{}".join(_text(chunk, "latex") for chunk in chunks)
    return r"\texttt{" + joined + "}"


def _text(text: str, format: str) -> str:
    if format != "latex":
        return text
    return latex_escape(text, ascii_only=False)


def _labels(keys: list[str], pool: dict[str, str]) -> dict[str, str]:
    """Author-year labels ("Tan & Le 2019", "Cichy et al. 2014"), with a/b where two differ only there."""
    labels = {key: _label(pool[key], key) for key in keys}
    for label in set(labels.values()):
        same = [k for k in keys if labels[k] == label]
        if len(same) > 1:
            for letter, key in zip("abcdefghijklmnopqrstuvwxyz", same):
                labels[key] = label + letter
    return labels


def _label(entry: str, key: str) -> str:
    author, year = _field(entry, "author"), _field(entry, "year")
    if not author:
        return f"{_unlatex(_field(entry, 'title')) or key}{' ' + year if year else ''}"
    names = [_family(n) for n in _top_level(author, " and ")]
    if len(names) == 1:
        who = names[0]
    elif len(names) == 2 and names[1] != "others":
        who = f"{names[0]} & {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{_unlatex(who)} {year}".strip()


def _family(name: str) -> str:
    """The family name of a BibTeX name ("Tan, Mingxing", "Quoc Le"); a braced name is whole."""
    name = " ".join(name.split())
    if name.startswith("{") and name.endswith("}"):
        return name[1:-1]  # a corporate author: {the Tux Paint developers}
    return name.split(",")[0].strip() if "," in name else name.split()[-1]


def _top_level(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside braces."""
    parts, depth, start = [], 0, 0
    text = " ".join(text.split())
    for i, char in enumerate(text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0 and text.startswith(separator, i) and i >= start:
            parts.append(text[start:i])
            start = i + len(separator)
    return [*parts, text[start:]]


def _field(entry: str, name: str) -> str:
    """The value of field ``name`` of a BibTeX entry (braces balanced), "" if absent."""
    match = re.search(rf"[,\s]{name}\s*=\s*", entry, flags=re.IGNORECASE)
    if not match:
        return ""
    rest = entry[match.end() :]
    if rest.startswith("{"):
        depth = 0
        for i, char in enumerate(rest):
            depth += {"{": 1, "}": -1}.get(char, 0)
            if depth == 0:
                return rest[1:i].strip()
        return ""
    if rest.startswith('"'):
        return rest[1:].partition('"')[0].strip()
    return re.split(r"[,}\n]", rest, maxsplit=1)[0].strip()


_ACCENTS = {
    '"': "\u0308",
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    "~": "\u0303",
    "c": "\u0327",
    "v": "\u030c",
}
_LETTERS = {"l": "ł", "L": "Ł", "o": "ø", "O": "Ø", "ss": "ß", "ae": "æ", "aa": "å"}


def _unlatex(text: str) -> str:
    """BibTeX's accents and letters as Unicode (Sch{\\"u}tt → Schütt, Opie{\\l}ka → Opiełka)."""
    text = re.sub(
        r"\\([\"'`^~]|[cv](?=[\s{]))\s*\{?([A-Za-z])\}?",
        lambda m: m.group(2) + _ACCENTS[m.group(1)],
        text,
    )
    text = re.sub(r"\\(ss|ae|aa|[lLoO])\b\s*", lambda m: _LETTERS[m.group(1)], text)
    return unicodedata.normalize("NFC", text.replace("{", "").replace("}", ""))
