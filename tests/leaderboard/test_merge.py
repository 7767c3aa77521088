"""Stores that merge: `brainalign leaderboard build DIR DIR…` builds one page from several labs'
results; a result of the same model, benchmark and settings with other numbers is a conflict,
shown and never silently overwritten (--strict fails on it); the page says where each entry came
from, shows its content id and marks the verified ones."""

from __future__ import annotations

from html import unescape
from pathlib import Path

from cli_run import run_cli
from synthetic_results import HUMAN, PROBE, fill_store, make_result, two_labs

from brainalign.leaderboard.merge import merge_stores
from brainalign.results import Result, ResultsStore
from brainalign.results.verification import VerificationRecord, write_record

IT = "algonauts2019.92images.IT@1"  # the benchmark two_labs makes conflict


def build(argv: list[str], capsys) -> tuple[int, str, str]:
    return run_cli(["leaderboard", "build", *argv], capsys)


def test_a_conflicting_entry_is_shown_and_kept_out_of_the_numbers(tmp_path: Path, capsys) -> None:
    lab_a, lab_b = two_labs(tmp_path)
    out_file = tmp_path / "merged.html"
    code, out, err = build([str(lab_a.folder), str(lab_b.folder), "--out", str(out_file)], capsys)
    assert code == 0
    assert "3 model(s)" in out and "1 conflict(s) shown" in out
    assert f"conflict: clip_rn50 on {IT}: 2 results with the same settings and different numbers" in err
    page = unescape(out_file.read_text())
    conflict = page.split('id="conflicts"')[1].split("</div>\n  </div>")[0]
    a_value = lab_a.load("clip_rn50", IT).summary["brain_similarity"]["value"]
    assert f"brain_similarity {a_value:.3f}" in conflict and f"brain_similarity {a_value + 0.1:.3f}" in conflict
    assert str(lab_a.folder) in conflict and str(lab_b.folder) in conflict
    assert "summary.brain_similarity.value: recorded" in conflict
    row = page.split('<td class="model">clip_rn50</td>')[1].split("</tr>")[0]
    assert row.count('<a href="#conflicts">conflict</a>') == 2  # raw and ÷ ceiling of IT
    assert f"{a_value:.3f}" not in row and f"{a_value + 0.1:.3f}" not in row
    merged = merge_stores([lab_a.folder, lab_b.folder])
    assert not [r for r in merged.results if (r.model_id, r.benchmark) == ("clip_rn50", IT)]
    assert len(merged.results) == 3 * 4 - 1  # 3 models × 4 benchmarks, the conflicting pair left out


def test_strict_fails_on_a_conflict(tmp_path: Path, capsys) -> None:
    lab_a, lab_b = two_labs(tmp_path)
    code, _, err = build([str(lab_a.folder), str(lab_b.folder), "--strict", "--out", str(tmp_path / "x.html")], capsys)
    assert code == 2 and "results conflict" in err and f"clip_rn50 on {IT}" in err
    assert not (tmp_path / "x.html").exists()


def test_agreeing_copies_are_one_entry_from_both_folders(tmp_path: Path) -> None:
    lab_a, lab_b = two_labs(tmp_path)
    merged = merge_stores([lab_a.folder, lab_b.folder])
    probe = next(r for r in merged.results if (r.model_id, r.benchmark) == ("clip_rn50", PROBE))
    assert [o.folder for o in merged.origins_of(probe)] == [str(lab_a.folder), str(lab_b.folder)]
    own = next(r for r in merged.results if (r.model_id, r.benchmark) == ("vit_b_16:untrained", PROBE))
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
    assert merged.notes == [f"clip_rn50 on {IT}: {lab_b.folder} also holds a result with other settings "
                            f"(seed 1 there, null here); the one from {lab_a.folder} is shown"]


def test_the_page_shows_ids_sources_and_verified_marks(tmp_path: Path) -> None:
    from brainalign.leaderboard.render import build as build_page

    lab_a, lab_b = two_labs(tmp_path)
    path = lab_a.path_for("efficientnet_lite0", IT)
    result = Result.read(path)
    before = path.read_bytes()
    record = VerificationRecord.now(result, "verified", None)
    write_record(path, record)
    assert path.read_bytes() == before and Result.read(path).content_id() == result.content_id()
    stale = lab_a.path_for("efficientnet_lite0", PROBE)  # a record for other numbers stands for nothing
    write_record(stale, VerificationRecord.now(make_result("efficientnet_lite0", PROBE, seed=3), "verified", None))
    out_file = tmp_path / "page.html"
    build_page([lab_a.folder, lab_b.folder], out_file)
    page = unescape(out_file.read_text())
    entries = page.split('id="entries-table"')[1].split("</table>")[0]
    for model, identifier in (("efficientnet_lite0", IT), ("vit_b_16:untrained", PROBE)):
        store = lab_a if model == "efficientnet_lite0" else lab_b
        assert store.load(model, identifier).content_id() in entries
    rows = {tuple(r.split("</td>")[0:2]): r for r in entries.split("<tr>")[2:]}
    verified = rows[('<td class="model">efficientnet_lite0', f"<td>{IT}")]
    assert "✓</span> verified on" in verified and record.verified_at in verified
    assert "not verified" in rows[('<td class="model">efficientnet_lite0', f"<td>{PROBE}")]
    assert str(lab_b.folder) in rows[('<td class="model">vit_b_16:untrained', f"<td>{PROBE}")]
    table_row = page.split('<td class="model">efficientnet_lite0</td>')[1].split("</tr>")[0]
    assert table_row.count('class="verified"') == 2  # its IT cells, raw and ÷ ceiling
    assert f"<td>{lab_a.folder}</td>" in table_row


def test_a_column_with_other_layer_policies_or_versions_says_so(tmp_path: Path) -> None:
    from brainalign.leaderboard.aggregate import build_leaderboard

    results = [make_result(m, b) for m in ("efficientnet_lite0", "clip_rn50") for b in (PROBE, *HUMAN)]
    results[-1].provenance["layer_policy"] = "all"
    v2 = make_result("clip_rn50", "mur2013.judgements@1")
    v2.provenance["benchmark"]["version"] = 2
    results.append(Result(v2.model_id, "mur2013.judgements@2", v2.summary, v2.layerwise, v2.provenance))
    notes = build_leaderboard(results).notes
    last = results[-2].benchmark
    assert any(n.startswith(f"benchmark {last}: models were scored on 2 different layer policies") for n in notes)
    assert any(n.startswith("benchmark mur2013.judgements has results of versions 1, 2") for n in notes)

