"""Stores that merge: `brainalign leaderboard build DIR DIR…` builds one page from several labs'
results; a result of the same model, benchmark and settings with other numbers is a conflict,
shown and never silently overwritten (--strict fails on it); the page says where each entry came
from, shows its content id and marks the verified ones."""

from __future__ import annotations

from html import unescape
from pathlib import Path

from cli_run import run_cli
from synthetic_results import HUMAN, PROBE, fill_store, make_result, two_labs
from test_build import _visible, page_of

from brainalign.leaderboard.merge import merge_stores
from brainalign.results import Result, ResultsStore
from brainalign.results.verification_record import VerificationRecord, write_record

IT = "algonauts2019.92images.IT@1"  # the benchmark two_labs makes conflict


def build(argv: list[str], capsys) -> tuple[int, str, str]:
    return run_cli(["leaderboard", "build", *argv], capsys)


def test_a_conflicting_entry_is_shown_and_kept_out_of_the_numbers(tmp_path: Path, capsys) -> None:
    lab_a, lab_b = two_labs(tmp_path)
    out_file = tmp_path / "merged.html"
    code, out, err = build([str(lab_a.folder), str(lab_b.folder), "--out", str(out_file)], capsys)
    assert code == 0
    assert "3 model(s)" in out and "1 conflict(s) shown" in out
    assert (
        f"conflict: clip_rn50 on {IT}: 2 results with the same settings and different numbers"
        in err
    )
    conflict = unescape(page_of(out_file, "models", "clip_rn50").split('id="conflicts"')[1])
    a_value = lab_a.load("clip_rn50", IT).summary["brain_similarity"]["value"]
    assert (
        f"brain_similarity {a_value:.3f}" in conflict
        and f"brain_similarity {a_value + 0.1:.3f}" in conflict
    )
    assert str(lab_a.folder) in conflict and str(lab_b.folder) in conflict
    assert "summary.brain_similarity.value: recorded" in conflict
    index = out_file.read_text()
    assert "⚠ 1 warning" in index and "conflict: clip_rn50 on" in unescape(index)
    row = index.split('<tr data-model="clip_rn50"')[1].split("</tr>")[0]
    assert row.count(">conflict</a>") == 1  # the IT column (÷ ceiling; the raw ρ is on hover only)
    a_normalised = lab_a.load("clip_rn50", IT).summary["brain_similarity"]["normalised"]
    for number in (a_value, a_value + 0.1, a_normalised):
        assert f"{number:.3f}" not in row
    merged = merge_stores([lab_a.folder, lab_b.folder])
    assert not [r for r in merged.results if (r.model_id, r.benchmark) == ("clip_rn50", IT)]
    assert (
        len(merged.results) == 3 * 4 - 1
    )  # 3 models × 4 benchmarks, the conflicting pair left out


def test_strict_fails_on_a_conflict(tmp_path: Path, capsys) -> None:
    lab_a, lab_b = two_labs(tmp_path)
    code, _, err = build(
        [str(lab_a.folder), str(lab_b.folder), "--strict", "--out", str(tmp_path / "x.html")],
        capsys,
    )
    assert code == 2 and "results conflict" in err and f"clip_rn50 on {IT}" in err
    assert not (tmp_path / "x.html").exists()


def test_agreeing_copies_are_one_entry_from_both_folders(tmp_path: Path) -> None:
    lab_a, lab_b = two_labs(tmp_path)
    merged = merge_stores([lab_a.folder, lab_b.folder])
    probe = next(r for r in merged.results if (r.model_id, r.benchmark) == ("clip_rn50", PROBE))
    assert [o.folder for o in merged.origins_of(probe)] == [str(lab_a.folder), str(lab_b.folder)]
    own = next(
        r for r in merged.results if (r.model_id, r.benchmark) == ("vit_b_16:untrained", PROBE)
    )
    assert [o.folder for o in merged.origins_of(own)] == [str(lab_b.folder)]


def test_other_settings_are_not_a_conflict_but_are_named(tmp_path: Path) -> None:
    lab_a = fill_store(tmp_path / "a", models=("clip_rn50",), benchmarks=(IT,))
    lab_b = ResultsStore(tmp_path / "b")
    other = make_result("clip_rn50", IT, seed=1)
    other.reuse_key = {"seed": 1}
    lab_b.save(other)
    merged = merge_stores([lab_a.folder, lab_b.folder])
    assert merged.conflicts == [] and len(merged.results) == 1
    assert merged.results[0].content_id() == lab_a.load("clip_rn50", IT).content_id()
    assert [n.text for n in merged.notes] == [
        (
            f"clip_rn50 on {IT}: {lab_b.folder} also holds a result with other "
            f"settings (seed 1 there, null here); the one from {lab_a.folder} is shown"
        )
    ]


def test_the_page_shows_ids_sources_and_verified_marks(tmp_path: Path) -> None:
    from brainalign.leaderboard.render import build as build_page

    lab_a, lab_b = two_labs(tmp_path)
    path = lab_a.path_for("efficientnet_lite0", IT)
    result = Result.read(path)
    before = path.read_bytes()
    record = VerificationRecord.now(result, "verified", None)
    write_record(path, record)
    assert path.read_bytes() == before and Result.read(path).content_id() == result.content_id()
    stale = lab_a.path_for(
        "efficientnet_lite0", PROBE
    )  # a record for other numbers stands for nothing
    write_record(
        stale,
        VerificationRecord.now(make_result("efficientnet_lite0", PROBE, seed=3), "verified", None),
    )
    out_file = tmp_path / "page.html"
    build_page([lab_a.folder, lab_b.folder], out_file)
    for model, identifier in (("efficientnet_lite0", IT), ("vit_b_16:untrained", PROBE)):
        store = lab_a if model == "efficientnet_lite0" else lab_b
        assert store.load(model, identifier).content_id() in page_of(out_file, "models", model)
    page = unescape(page_of(out_file, "models", "efficientnet_lite0"))
    provenance = {
        p.split("</code>")[0]: p
        for p in page.split('<details class="provenance"><summary><code>')[1:]
    }
    assert "✓</span> verified on" in provenance[IT] and record.verified_at in provenance[IT]
    assert "not verified" in provenance[PROBE]
    assert str(lab_a.folder) in provenance[IT]
    assert str(lab_b.folder) in unescape(page_of(out_file, "models", "vit_b_16:untrained"))
    table_row = (
        out_file.read_text().split('<tr data-model="efficientnet_lite0"')[1].split("</tr>")[0]
    )
    assert table_row.count('class="verified"') == 1  # its IT cell


def test_a_column_with_other_layer_policies_or_versions_says_so(tmp_path: Path) -> None:
    from brainalign.leaderboard.aggregate import build_leaderboard

    results = [
        make_result(m, b) for m in ("efficientnet_lite0", "clip_rn50") for b in (PROBE, *HUMAN)
    ]
    results[-1].provenance["layer_policy"] = "all"
    v2 = make_result("clip_rn50", "mur2013.judgements@1")
    v2.provenance["benchmark"]["version"] = 2
    results.append(
        Result(v2.model_id, "mur2013.judgements@2", v2.summary, v2.layerwise, v2.provenance)
    )
    notes = build_leaderboard(results).notes
    last = results[-2].benchmark
    policies = [
        n
        for n in notes
        if n.text.startswith(f"benchmark {last}: models were scored on 2 different layer policies")
    ]
    assert len(policies) == 1 and policies[0].warning  # "all" is not clip_rn50's card's policy
    assert any(
        n.text.startswith("benchmark mur2013.judgements has results of versions 1, 2")
        for n in notes
    )


def test_a_model_scored_at_its_own_cards_policy_is_no_warning(tmp_path: Path) -> None:
    """The pixel baseline has no blocks, so its card's policy is "all": a column holding it and
    models scored on blocks is explained on the benchmark's page, not raised as a warning."""
    from brainalign.leaderboard.aggregate import build_leaderboard
    from brainalign.leaderboard.render import build as build_page

    store = fill_store(tmp_path / "results", models=("clip_rn50",), benchmarks=(IT,))
    pixels = make_result("pixels", IT, layer_policy="all")
    pixels.provenance["layer_policy"] = "all"
    store.save(pixels)
    board = build_leaderboard(store.load_all().results)
    notes = [n for n in board.notes if "layer policies" in n.text]
    assert len(notes) == 1 and not notes[0].warning and notes[0].benchmark == IT
    assert board.warnings == []
    out = tmp_path / "page.html"
    build_page(store.folder, out)
    assert "⚠" not in out.read_text() and "layer polic" not in _visible(out.read_text())
    assert "each at its own card's layer policy" in _visible(page_of(out, "benchmarks", IT))
