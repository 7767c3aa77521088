"""`brainalign leaderboard build` without a browser: content, self-containment, escaping,
determinism, skipped files, claims."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
from collections import Counter
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from synthetic_results import CARDS, HOSTILE_MODEL, HUMAN, PROBE, fill_store

from brainalign.cli import main
from brainalign.errors import BrainAlignError
from brainalign.leaderboard.aggregate import build_leaderboard
from brainalign.leaderboard.claims import evaluate_claims
from brainalign.leaderboard.methods import cite_result
from brainalign.leaderboard.render import build, slug


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
    """The models the leaderboard's table lists, in order."""
    return [a["data-model"] for t, a in _elements(html) if t == "tr" and "data-model" in a]


def site(index: Path) -> dict[str, str]:
    """Every page of a built leaderboard: ``index.html`` and the others by their path in its folder."""
    from brainalign.leaderboard.render import files_folder

    folder = files_folder(index)
    pages = {"index.html": index.read_text()}
    pages.update(
        {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*.html"))}
    )
    return pages


def page_of(index: Path, kind: str, name: str) -> str:
    """The page of model or benchmark ``name`` (``kind`` "models" or "benchmarks")."""
    from brainalign.leaderboard.render import files_folder, slug

    return (files_folder(index) / kind / f"{slug(name)}.html").read_text()


def _data_block(html: str, name: str = "ranking-data") -> str:
    return re.search(
        rf'<script type="application/json" id="{name}">(.*?)</script>', html, re.DOTALL
    ).group(1)


def test_every_page_is_self_contained(built_leaderboard) -> None:
    pages = site(built_leaderboard[0])
    assert {"index.html", "analysis.html"} <= set(pages) and len(pages) == 2 + len(
        CARDS
    ) + 1 + 1 + len(HUMAN)
    for name, html in pages.items():
        tags = _elements(html)
        assert not [t for t, a in tags if "src" in a], (
            f"{name}: nothing may be loaded from elsewhere"
        )
        assert not [t for t, _ in tags if t in ("link", "iframe", "img", "object", "embed")], name
        links = [a["href"] for t, a in tags if "href" in a]
        assert not [h for h in links if "://" in h or h.startswith(("/", "//"))], (
            name
        )  # relative links only
        expected = (
            ["application/json", None] if name in ("index.html", "analysis.html") else [None]
        )  # + its data
        assert [a.get("type") for t, a in tags if t == "script"] == expected, name
    folder = built_leaderboard[0].parent
    for name, html in pages.items():  # every relative link leads to a page of the site
        here = built_leaderboard[0] if name == "index.html" else folder / "leaderboard_files" / name
        for _, attributes in _elements(html):
            href = attributes.get("href") or ""
            if href and not href.startswith("#"):
                assert (here.parent / href.partition("#")[0]).resolve().is_file(), (name, href)
    assert pages["analysis.html"].count("<svg") == 2 * 2 * len(HUMAN)  # layer and model scatters
    assert all(
        html.count("<svg") == 1 for name, html in pages.items() if name.startswith("models/")
    )


def test_every_entry_benchmark_and_provenance_is_shown(built_leaderboard) -> None:
    index = built_leaderboard[0]
    html = index.read_text()
    assert set(CARDS) <= set(_table_models(html))
    text = _visible(html)
    for identifier in (PROBE, *HUMAN):
        assert identifier in text
    hit = _visible(page_of(index, "benchmarks", "kriegeskorte2008.hIT@1"))
    assert "@article{kriegeskorte2008, title={kriegeskorte2008.hIT}, year={2008}}" in hit
    assert "lower 0.150, upper 0.220" in hit  # the hIT noise ceiling
    model = _visible(page_of(index, "models", "efficientnet_lite0"))
    assert '"weights_sha256": "' + "ab" * 32 in model  # the provenance of every entry
    assert '"extract_s": 1.5' in model
    assert "pretrained higher" in model  # beside its untrained twin
    assert "pretrained higher" in _visible(site(index)["analysis.html"])


def test_each_cite_button_carries_what_brainalign_cite_prints(built_leaderboard) -> None:
    """The text a model page's cite button copies is the result's methods paragraph and BibTeX, as
    `brainalign cite RESULT` prints them (--format text)."""
    index, store = built_leaderboard
    results = [r for r in store.load_all().results if r.model_id == "clip_rn50"]
    page = page_of(index, "models", "clip_rn50")
    copied = [
        unescape(text)
        for text in re.findall(
            r'<textarea[^>]*class="citation"[^>]*>(.*?)</textarea>', page, re.DOTALL
        )
    ]
    assert results and sorted(copied) == sorted(cite_result(r, "text") for r in results)
    assert all(
        f"The result's id is {r.content_id()}" in " ".join(cite_result(r, "text").split())
        for r in results
    )


def test_id_attributes_are_unique_within_each_page(built_leaderboard) -> None:
    for name, html in site(built_leaderboard[0]).items():
        ids = Counter(a["id"] for _, a in _elements(html) if "id" in a)
        assert [i for i, count in ids.items() if count > 1] == [], name


def test_user_text_is_escaped_everywhere(built_leaderboard) -> None:
    pages = site(built_leaderboard[0])
    for name, html in pages.items():
        for attack in ("<script>alert(", "<img src=x", "</pre><script>"):
            assert attack not in html, name
        with_data = name in ("index.html", "analysis.html")
        assert [t for t, _ in _elements(html) if t == "script"] == ["script"] * (
            2 if with_data else 1
        )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["index.html"]
    hostile = page_of(built_leaderboard[0], "models", HOSTILE_MODEL)
    assert "&lt;img src=x onerror=alert(3)&gt;" in hostile
    for block in (
        _data_block(pages["index.html"]),
        _data_block(pages["analysis.html"], "analysis-data"),
    ):
        assert "</" not in block
        json.loads(block, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


def test_dollar_signs_in_ids_are_plain_text_in_the_figures(tmp_path: Path) -> None:
    """Matplotlib would parse `$…$` in a legend label as mathtext: `net$\\frac$` crashed the build
    and `a$b$c` rendered as maths."""
    models = ("a$b$c", r"net$\frac$")
    store = fill_store(
        tmp_path / "results",
        models=(*models, "clip_rn50"),
        benchmarks=(PROBE, "kriegeskorte2008.hIT@1"),
    )
    analysis = site(build(store.folder, tmp_path / "board.html").path)["analysis.html"]
    figures = "".join(re.findall(r"<svg.*?</svg>", analysis, re.DOTALL))
    for model in models:
        assert f">{model}</text>" in figures


def test_long_ids_are_shortened_in_figures_with_the_full_id_on_hover(tmp_path: Path) -> None:
    long = "vit_base_patch16_clip_224.openai_ft_in12k_in1k:untrained"
    store = fill_store(tmp_path / "results", models=(long, "clip_rn50", "efficientnet_lite0"))
    analysis = site(build(store.folder, tmp_path / "board.html").path)["analysis.html"]
    assert f"<title>{long}</title>" in analysis
    assert f">{long}</text>" not in analysis


def test_build_is_deterministic(built_leaderboard, tmp_path: Path) -> None:
    index, store = built_leaderboard
    again = build(store.folder, tmp_path / "leaderboard.html")
    assert site(again.path) == site(index)


def test_a_rebuild_replaces_the_pages_of_models_no_longer_there(tmp_path: Path) -> None:
    store = fill_store(
        tmp_path / "results", models=("clip_rn50", "vit_b_16:untrained"), benchmarks=(PROBE,)
    )
    out = tmp_path / "board.html"
    build(store.folder, out)
    assert len([p for p in site(out) if p.startswith("models/")]) == 2
    shutil.rmtree(store.folder / "clip_rn50")
    build(store.folder, out)
    assert [p for p in site(out) if p.startswith("models/")] == [
        f"models/{slug('vit_b_16:untrained')}.html"
    ]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # nothing left aside
    assert store.load_all().problems == [] and not list(out.parent.rglob("*_files/**/*.json"))


def test_a_write_refused_midway_keeps_the_old_page_whole(tmp_path: Path, monkeypatch) -> None:
    store = fill_store(
        tmp_path / "results", models=("clip_rn50", "vit_b_16:untrained"), benchmarks=(PROBE,)
    )
    out = tmp_path / "board.html"
    build(store.folder, out)
    before = {
        p: p.read_bytes()
        for p in tmp_path.rglob("*")
        if p.is_file() and store.folder not in p.parents
    }
    shutil.rmtree(store.folder / "clip_rn50")
    write_text = Path.write_text

    def disk_full_at_the_model_pages(path: Path, *args, **kwargs):
        if "models" in path.parts:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return write_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", disk_full_at_the_model_pages)
    with pytest.raises(
        BrainAlignError, match=rf"cannot write {re.escape(str(out))}: No space left on device"
    ):
        build(store.folder, out)
    after = {
        p: p.read_bytes()
        for p in tmp_path.rglob("*")
        if p.is_file() and store.folder not in p.parents
    }
    assert after == before  # the old index and its folder, nothing half-written, nothing left aside


def test_bad_files_are_skipped_and_listed_or_fail_with_strict(tmp_path: Path, capsys) -> None:
    store = fill_store(
        tmp_path / "results", models=("clip_rn50", "vit_b_16:untrained"), benchmarks=(PROBE,)
    )
    broken = store.path_for("clip_rn50", PROBE)
    broken.write_text(broken.read_text()[:100])
    out = tmp_path / "board.html"
    main(["-q", "leaderboard", "build", str(store.folder), "--out", str(out)])
    stdout, stderr = capsys.readouterr()
    assert "1 model(s), 1 result(s), 1 file(s) skipped" in stdout
    assert f"skipped: result file {broken}" in stderr
    html = out.read_text()
    assert "⚠ 1 warning" in _visible(html) and f"skipped {broken}" in _visible(html)
    assert _table_models(html) == ["vit_b_16:untrained"]
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "-q",
                "leaderboard",
                "build",
                str(store.folder),
                "--out",
                str(tmp_path / "strict.html"),
                "--strict",
            ]
        )
    assert exit_.value.code == 2
    assert "not readable JSON" in capsys.readouterr().err
    assert not (tmp_path / "strict.html").exists()


def test_an_empty_results_folder_gives_an_empty_page(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    report = build(tmp_path / "results", tmp_path / "empty.html")
    assert report.n_models == 0
    assert "0 models scored on 0 benchmarks" in _visible(report.path.read_text())


def test_without_a_probe_the_relations_say_what_is_missing(tmp_path: Path) -> None:
    store = fill_store(
        tmp_path / "results", models=("clip_rn50", "efficientnet_lite0"), benchmarks=tuple(HUMAN)
    )
    pages = site(build(store.folder, tmp_path / "board.html").path)
    text = _visible(pages["analysis.html"])
    assert (
        text.count(
            "Not available: it needs models scored both on the probe and on a human benchmark"
        )
        == 2
    )
    assert pages["analysis.html"].count("<svg") == 0
    assert sum(html.count("<svg") for html in pages.values()) == 2  # the two layer profiles
    assert "not testable: CLIP-trained models encode semantics more strongly" in text


def _claim(claims, start: str):
    return next(c for c in claims if c.claim.startswith(start))


def test_claims_on_the_synthetic_entries(synthetic_store) -> None:
    results = synthetic_store.load_all().results
    claims = evaluate_claims(build_leaderboard(results))
    clip = _claim(claims, "CLIP-trained models encode semantics")
    assert clip.status == "supported"
    assert "difference CLIP − supervised: 0.146 [0.089, 0.202]" in clip.evidence
    assert (
        _claim(claims, "Across layers, semantic encoding goes with").status == "not testable"
    )  # 2 lineages
    cnn_vit = _claim(claims, "ResNets (CNNs) are more sensitive")
    assert cnn_vit.status == "not testable" and "trained ViT" in cnn_vit.needs
    # the same claim on entries where CLIP falls below supervised training
    for result in results:
        if result.model_id == "clip_rn50" and "semantic_encoding" in result.summary:
            result.summary["semantic_encoding"].update(value=0.2, ci_low=0.18, ci_high=0.22)
    assert (
        _claim(evaluate_claims(build_leaderboard(results)), "CLIP-trained models encode").status
        == "contradicted"
    )


def test_a_sensitivity_claim_compares_magnitudes_of_change(synthetic_store) -> None:
    """Disruption shows as negative ΔRSA: a CNN at −0.08 is more sensitive than a ViT at −0.01."""
    results = synthetic_store.load_all().results
    probe_results = [
        r
        for r in results
        if "sensitivity.Salient.saliency" in r.summary
        and r.model_card.get("objective") != "untrained"
    ]
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
    assert not [
        n
        for n in build_leaderboard(results).notes
        if "stimulus sets" in n.text or "fallback" in n.text
    ]
    odd = next(r for r in results if r.benchmark == PROBE)
    odd.provenance["stimuli_sha256"] = {"Baseline": "ab" * 32}
    odd.provenance["data_checksums"] = {"probe_pool": "bundled", "probe_n_bases": 10}
    notes = build_leaderboard(results).notes
    assert any(
        n.text.startswith(f"benchmark {PROBE}: models were scored on 2 different stimulus sets")
        and n.warning
        for n in notes
    )
    assert any(
        n.text.startswith(f"benchmark {PROBE}: {odd.model_id} scored on the small fallback probe")
        and n.warning
        for n in notes
    )


def _on_other_probe(result, identifier: str, shift: float, recorded: dict):
    """``result`` as if scored on another probe: its numbers shifted, its id and record that probe's."""
    from brainalign.results import Result

    summary = {
        name: {
            k: (v + shift if k in ("value", "ci_low", "ci_high") and v is not None else v)
            for k, v in entry.items()
        }
        for name, entry in result.summary.items()
    }
    provenance = {
        **result.provenance,
        "data_checksums": recorded,
        "benchmark": {**result.benchmark_info, "id": identifier.partition("@")[0]},
    }
    return Result(
        result.model_id,
        identifier,
        summary,
        result.layerwise,
        provenance,
        result.extra,
        result.reuse_key,
    )


def test_each_probe_has_columns_of_its_own_labelled_with_its_base_images(
    synthetic_store, tmp_path: Path
) -> None:
    """Numbers of two probes never share a column; a small folder probe with rectangular
    distractors says so in its header and in the notes; relations use one probe, named."""
    other = "probe.saliency_semantic~0123456789ab@2"
    recorded = {
        "probe_pool": "folder",
        "probe_seed": 5,
        "probe_n_bases": 12,
        "probe_distractor_shapes": {"rectangle": 48},
    }
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
    assert any(
        n.text.startswith(f"benchmark {other} ({label}): only 12 base images") for n in board.notes
    )
    assert any(
        "48 of 48 distractors are whole images pasted as opaque rectangles" in n.text
        for n in board.notes
    )

    html = out.read_text()
    header, *rows = _read(html).rows
    semantic = [i for i, cell in enumerate(header) if cell.startswith("Semantic encoding")]
    assert (
        len(semantic) == 1 and PROBE in header[semantic[0]]
    )  # the other probe is not a column here
    models = _table_models(html)
    for model, row in zip(models, rows):
        expected = (
            standard[model].summary["semantic_encoding"]["value"] if model in standard else None
        )
        assert row[semantic[0]].startswith("—" if expected is None else f"{expected:.3f}")
    page = _visible(page_of(out, "benchmarks", other))
    assert label in page and "Not a column of the main table" in page
    for model in shifted:  # its numbers are on its page and on each model's page
        value = f"{standard[model].summary['semantic_encoding']['value'] + 0.5:.3f}"
        assert value in page and value in _visible(page_of(out, "models", model))
    assert f"on {PROBE}" in _visible(html)
    analysis = site(out)[
        "analysis.html"
    ]  # the relations name their probe and where the other one is
    note = _visible(
        re.search(r'<p class="note" id="relations-probe">.*?</p>', analysis, re.DOTALL).group(0)
    )
    assert (
        note.startswith(f"Probe: {PROBE}")
        and f"The other probes' numbers are on their benchmark pages ({other})" in note
    )
    assert f'href="benchmarks/{slug(other)}.html"' in analysis and "table above" not in _visible(
        analysis
    )


def test_an_unreliable_ceiling_shows_raw_rho_and_dropped_layers_are_named(tmp_path: Path) -> None:
    """Where a benchmark's noise ceiling was found unreliable its column shows raw ρ, saying so
    (and why on hover); layers a benchmark dropped are named on the model's page."""
    hit = "kriegeskorte2008.hIT@1"
    store = fill_store(
        tmp_path / "results", models=("clip_rn50", "efficientnet_lite0"), benchmarks=(hit,)
    )
    for model in ("clip_rn50", "efficientnet_lite0"):
        result = store.load(model, hit)
        result.summary["noise_ceiling"].update(
            reliable=False,
            reliability={"test": "permutation", "p": 0.31, "n_permutations": 1000, "seed": 0},
        )
        result.summary["brain_similarity"].update(
            normalised=None,
            normalised_ci_low=None,
            normalised_ci_high=None,
            normalised_withheld="the ceiling is not above chance",
        )
        result.extra["dropped_layers"] = [{"layer": "blocks.0", "reason": "constant RDM"}]
        store.save(result)
    out = tmp_path / "board.html"
    build(store.folder, out)
    header, *rows = _read(out.read_text()).rows
    column = next(i for i, cell in enumerate(header) if cell.startswith("hIT"))
    assert "ρ (ceiling unreliable)" in header[column]
    raw = store.load("clip_rn50", hit).summary["brain_similarity"]["value"]
    row = dict(zip(_table_models(out.read_text()), rows))["clip_rn50"]
    assert row[column].startswith(f"{raw:.3f}")
    assert "not divided by the ceiling: the ceiling is not above chance" in out.read_text()
    assert "Not found reliable" in _visible(page_of(out, "benchmarks", hit))
    assert "p 0.31" in _visible(page_of(out, "benchmarks", hit))
    assert "Layers left out: blocks.0 (constant RDM)" in _visible(
        page_of(out, "models", "clip_rn50")
    )


def test_trained_models_scored_without_their_twin_are_named_on_the_analysis_page(
    built_leaderboard,
) -> None:
    """clip_rn50 has no untrained twin in the synthetic results, efficientnet_lite0 has one: the
    twins section names the first (with how to add its twin) and not the second."""
    out, _ = built_leaderboard
    text = _visible(site(out)["analysis.html"])
    note = text[text.index("Trained models scored without their untrained twin") :].split(".")[0]
    assert "clip_rn50" in note and "efficientnet_lite0" not in note
    assert "Score MODEL:untrained" in text
