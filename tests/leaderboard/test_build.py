"""`brainalign leaderboard build` without a browser: content, self-containment, escaping,
determinism, skipped files, claims."""

from __future__ import annotations

import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from synthetic_results import CARDS, HOSTILE_MODEL, HUMAN, PROBE, fill_store

from brainalign.cli import main
from brainalign.leaderboard.aggregate import build_leaderboard
from brainalign.leaderboard.claims import evaluate_claims
from brainalign.leaderboard.render import build


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.tags


class _Text(HTMLParser):
    """What a reader sees: the text outside scripts, styles and figures, and the cells of the
    leaderboard's table (the first table), row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self.rows: list[list[str]] = []
        self._skip = 0
        self._tables = 0
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "svg"):
            self._skip += 1
        elif tag == "table":
            self._tables += 1
        elif tag == "tr" and self._tables == 1:
            self.rows.append([])
        elif tag in ("td", "th") and self._tables == 1:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("script", "style", "svg"):
            self._skip -= 1
        elif tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if not self._skip:
            self.chunks.append(data)
            if self._cell is not None:
                self._cell.append(data)


def _read(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


def _visible(html: str) -> str:
    return " ".join("".join(_read(html).chunks).split())


def _table_models(html: str) -> list[str]:
    """The models the leaderboard's table lists (its first column, header row left out)."""
    return [row[0] for row in _read(html).rows[1:] if row]


def _data_block(html: str) -> str:
    return re.search(r'<script type="application/json" id="leaderboard-data">(.*?)</script>', html, re.DOTALL).group(1)


def test_page_is_self_contained(built_leaderboard) -> None:
    html = built_leaderboard[0].read_text()
    tags = _elements(html)
    assert not [t for t, a in tags if "src" in a], "nothing may be loaded from elsewhere"
    assert not [t for t, _ in tags if t in ("link", "iframe", "img", "object", "embed")]
    assert all(a["href"].startswith("#") for t, a in tags if "href" in a)
    assert [a.get("type") for t, a in tags if t == "script"] == ["application/json", None]
    assert html.count("<svg") == len(CARDS) + 1 + 2 * 2 * len(HUMAN)  # profiles + layer and model scatters


def test_every_entry_benchmark_and_provenance_is_shown(built_leaderboard) -> None:
    html = built_leaderboard[0].read_text()
    assert set(CARDS) <= set(_table_models(html))
    text = _visible(html)
    for identifier in (PROBE, *HUMAN):
        assert identifier in text
    assert "@article{kriegeskorte2008, title={kriegeskorte2008.hIT}, year={2008}}" in text
    assert "lower 0.150, upper 0.220" in text  # the hIT noise ceiling
    assert '"weights_sha256": "' + "ab" * 32 in text  # the provenance of every entry
    assert '"extract_s": 1.5' in text
    assert "pretrained higher" in text  # the untrained-twin comparison


def test_id_attributes_are_unique_across_inline_svgs(built_leaderboard) -> None:
    ids = Counter(a["id"] for _, a in _elements(built_leaderboard[0].read_text()) if "id" in a)
    assert [i for i, count in ids.items() if count > 1] == []


def test_user_text_is_escaped_everywhere(built_leaderboard) -> None:
    html = built_leaderboard[0].read_text()
    for attack in ("<script>alert(", "<img src=x", "</pre><script>"):
        assert attack not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    scripts = [t for t, _ in _elements(html) if t == "script"]
    assert len(scripts) == 2
    block = _data_block(html)
    assert "</" not in block
    data = json.loads(block, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    hostile = next(m for m in data["models"] if m["id"] == HOSTILE_MODEL)
    assert hostile["card"]["training_data"] == "<img src=x onerror=alert(3)>"


def test_dollar_signs_in_ids_are_plain_text_in_the_figures(tmp_path: Path) -> None:
    """Matplotlib would parse `$…$` in a legend label as mathtext: `net$\\frac$` crashed the build
    and `a$b$c` rendered as maths."""
    models = ("a$b$c", r"net$\frac$")
    store = fill_store(tmp_path / "results", models=(*models, "clip_rn50"), benchmarks=(PROBE, "kriegeskorte2008.hIT@1"))
    html = build(store.folder, tmp_path / "board.html").path.read_text()
    figures = "".join(re.findall(r"<svg.*?</svg>", html, re.DOTALL))
    for model in models:
        assert f">{model}</text>" in figures


def test_build_is_deterministic(built_leaderboard, tmp_path: Path) -> None:
    html, store = built_leaderboard
    again = build(store.folder, tmp_path / "again.html")
    assert again.path.read_bytes() == html.read_bytes()


def test_bad_files_are_skipped_and_listed_or_fail_with_strict(tmp_path: Path, capsys) -> None:
    store = fill_store(tmp_path / "results", models=("clip_rn50", "vit_b_16:untrained"), benchmarks=(PROBE,))
    broken = store.path_for("clip_rn50", PROBE)
    broken.write_text(broken.read_text()[:100])
    out = tmp_path / "board.html"
    main(["-q", "leaderboard", "build", str(store.folder), "--out", str(out)])
    stdout, stderr = capsys.readouterr()
    assert "1 model(s), 1 result(s), 1 file(s) skipped" in stdout
    assert f"skipped: result file {broken}" in stderr
    html = out.read_text()
    assert "1 result file(s) skipped" in _visible(html)
    assert _table_models(html) == ["vit_b_16:untrained"]
    with pytest.raises(SystemExit) as exit_:
        main(["-q", "leaderboard", "build", str(store.folder), "--out", str(tmp_path / "strict.html"), "--strict"])
    assert exit_.value.code == 2
    assert "not readable JSON" in capsys.readouterr().err
    assert not (tmp_path / "strict.html").exists()


def test_an_empty_results_folder_gives_an_empty_page(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    report = build(tmp_path / "results", tmp_path / "empty.html")
    assert report.n_models == 0
    assert "0 model(s) scored on 0 benchmark(s)" in _visible(report.path.read_text())


def test_without_a_probe_the_relations_say_what_is_missing(tmp_path: Path) -> None:
    store = fill_store(tmp_path / "results", models=("clip_rn50", "efficientnet_lite0"), benchmarks=tuple(HUMAN))
    html = build(store.folder, tmp_path / "board.html").path.read_text()
    text = _visible(html)
    assert text.count("Not available: it needs models scored both on the probe and on a human benchmark") == 2
    assert html.count("<svg") == 2  # the two layer profiles
    assert "not testable: CLIP-trained models encode semantics more strongly" in text


def _claim(claims, start: str):
    return next(c for c in claims if c.claim.startswith(start))


def test_claims_on_the_synthetic_entries(synthetic_store) -> None:
    results = synthetic_store.load_all().results
    claims = evaluate_claims(build_leaderboard(results))
    clip = _claim(claims, "CLIP-trained models encode semantics")
    assert clip.status == "supported"
    assert "difference CLIP − supervised: 0.146 [0.089, 0.202]" in clip.evidence
    assert _claim(claims, "Across layers, semantic encoding goes with").status == "not testable"  # 2 lineages
    cnn_vit = _claim(claims, "ResNets (CNNs) are more sensitive")
    assert cnn_vit.status == "not testable" and "trained ViT" in cnn_vit.needs
    # the same claim on entries where CLIP falls below supervised training
    for result in results:
        if result.model_id == "clip_rn50" and "semantic_encoding" in result.summary:
            result.summary["semantic_encoding"].update(value=0.2, ci_low=0.18, ci_high=0.22)
    assert _claim(evaluate_claims(build_leaderboard(results)), "CLIP-trained models encode").status == "contradicted"


def test_a_sensitivity_claim_compares_magnitudes_of_change(synthetic_store) -> None:
    """Disruption shows as negative ΔRSA: a CNN at −0.08 is more sensitive than a ViT at −0.01."""
    results = synthetic_store.load_all().results
    probe_results = [r for r in results if "sensitivity.Salient.saliency" in r.summary
                     and r.model_card.get("objective") != "untrained"]
    cnn, vit = probe_results[0], probe_results[1]
    family = {cnn.model_id: "CNN", vit.model_id: "ViT"}
    for result in results:  # every result of a model carries its card
        result.provenance["model_card"]["family"] = family.get(result.model_id, "other")
    cnn.summary["sensitivity.Salient.saliency"].update(value=-0.08, ci_low=-0.10, ci_high=-0.06)
    vit.summary["sensitivity.Salient.saliency"].update(value=-0.01, ci_low=-0.02, ci_high=0.0)
    claim = _claim(evaluate_claims(build_leaderboard(results)), "ResNets (CNNs) are more sensitive")
    assert claim.status == "supported", claim.evidence
    vit.summary["sensitivity.Salient.saliency"].update(value=0.15, ci_low=0.12, ci_high=0.18)
    claim = _claim(evaluate_claims(build_leaderboard(results)), "ResNets (CNNs) are more sensitive")
    assert claim.status == "contradicted", claim.evidence


def test_a_magnitude_interval_spanning_zero_starts_at_zero() -> None:
    from brainalign.leaderboard.claims import _magnitude

    assert _magnitude(-0.3, -0.5, -0.1) == (0.3, 0.1, 0.5)
    assert _magnitude(0.1, -0.2, 0.3) == (0.1, 0.0, 0.3)


def test_results_on_other_stimuli_or_the_fallback_probe_are_flagged(synthetic_store) -> None:
    results = synthetic_store.load_all().results
    assert not [n for n in build_leaderboard(results).notes if "stimulus sets" in n or "fallback" in n]
    odd = next(r for r in results if r.benchmark == PROBE)
    odd.provenance["stimuli_sha256"] = {"Baseline": "ab" * 32}
    odd.provenance["data_checksums"] = {"probe_pool": "bundled", "probe_n_bases": 10}
    notes = build_leaderboard(results).notes
    assert any(n.startswith(f"benchmark {PROBE}: models were scored on 2 different stimulus sets") for n in notes)
    assert any(n.startswith(f"benchmark {PROBE}: {odd.model_id} scored on the small fallback probe") for n in notes)


def _on_other_probe(result, identifier: str, shift: float, recorded: dict):
    """``result`` as if scored on another probe: its numbers shifted, its id and record that probe's."""
    from brainalign.results import Result

    summary = {name: {k: (v + shift if k in ("value", "ci_low", "ci_high") and v is not None else v)
                      for k, v in entry.items()} for name, entry in result.summary.items()}
    provenance = {**result.provenance, "data_checksums": recorded,
                  "benchmark": {**result.benchmark_info, "id": identifier.partition("@")[0]}}
    return Result(result.model_id, identifier, summary, result.layerwise, provenance, result.extra, result.reuse_key)


def test_each_probe_has_columns_of_its_own_labelled_with_its_base_images(synthetic_store, tmp_path: Path) -> None:
    """Numbers of two probes never share a column; a small folder probe with rectangular
    distractors says so in its header and in the notes; relations use one probe, named."""
    other = "probe.saliency_semantic~0123456789ab@2"
    recorded = {"probe_pool": "folder", "probe_seed": 5, "probe_n_bases": 12,
                "probe_distractor_shapes": {"rectangle": 48}}
    standard = {r.model_id: r for r in synthetic_store.load_all().results if r.benchmark == PROBE}
    shifted = ["efficientnet_lite0", "clip_rn50"]
    for model_id in shifted:
        synthetic_store.save(_on_other_probe(standard[model_id], other, 0.5, recorded))
    out = tmp_path / "page.html"
    build(synthetic_store.folder, out)
    board = build_leaderboard(synthetic_store.load_all().results)
    assert [p.identifier for p in board.probes] == [PROBE, other] and board.probe == PROBE
    label = "folder pool, seed 5, 12 base images, few base images, rectangular distractors"
    assert board.probes[1].label == label
    assert any(n.startswith(f"benchmark {other} ({label}): only 12 base images") for n in board.notes)
    assert any("48 of 48 distractors are whole images pasted as opaque rectangles" in n for n in board.notes)

    html = out.read_text()
    header, *rows = _read(html).rows
    semantic = [i for i, cell in enumerate(header) if cell.startswith("Semantic encoding")]
    assert len(semantic) == 2 and other in header[semantic[1]] and label in header[semantic[1]]
    for row in rows:
        mine, theirs = (row[i].split(" [")[0] for i in semantic)
        expected = standard[row[0]].summary["semantic_encoding"]["value"] if row[0] in standard else None
        assert mine == ("—" if expected is None else f"{expected:.3f}")
        assert theirs == (f"{expected + 0.5:.3f}" if row[0] in shifted else "—")
    assert f"The relations and claims below use {PROBE}" in _visible(html)
