"""Differences between results: the MOVER interval against its closed form for normal estimates,
benchmark matching, and the `brainalign compare` command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from synthetic_results import PROBE, make_result

from brainalign.cli import main
from brainalign.leaderboard.compare import compare_results, difference_interval, format_interval

IT = "algonauts2019.92images.IT@1"


def test_mover_equals_the_normal_interval_of_a_difference_for_symmetric_intervals() -> None:
    # a ± 1.96 se_a and b ± 1.96 se_b, independent: a − b ± 1.96 √(se_a² + se_b²)
    a, se_a, b, se_b, z = 0.40, 0.03, 0.25, 0.04, 1.959963984540054
    low, high = difference_interval(a, a - z * se_a, a + z * se_a, b, b - z * se_b, b + z * se_b)
    half = z * math.hypot(se_a, se_b)
    assert (low, high) == pytest.approx((a - b - half, a - b + half))


def test_mover_uses_the_inner_arms_for_asymmetric_intervals() -> None:
    # lower arm: A's distance to its low end and B's to its high end, and vice versa
    low, high = difference_interval(0.5, 0.4, 0.8, 0.2, 0.1, 0.6)
    assert low == pytest.approx(0.3 - math.hypot(0.1, 0.4))
    assert high == pytest.approx(0.3 + math.hypot(0.3, 0.1))


def test_compare_results_matches_benchmarks_and_reports_verdicts() -> None:
    a = [make_result("clip_rn50", PROBE), make_result("clip_rn50", IT)]
    b = [make_result("vit_b_16:untrained", IT), make_result("vit_b_16:untrained", "mur2013.judgements@1")]
    table = compare_results(a, b)
    assert set(table["benchmark"]) == {IT}
    row = table[table["metric"] == "brain_similarity"].iloc[0]
    assert row["difference"] == pytest.approx(a[1].summary["brain_similarity"]["value"]
                                              - b[0].summary["brain_similarity"]["value"])
    assert row["verdict"] == "A higher" and row["ci_low"] > 0
    assert "brain_similarity (normalised)" in set(table["metric"])
    assert "noise_ceiling" not in set(table["metric"])
    same = compare_results(a, a)
    assert (same["difference"] == 0).all()
    assert set(same.loc[same["ci_low"].notna(), "verdict"]) == {"no clear difference"}
    assert set(same.loc[same["ci_low"].isna(), "verdict"]) == {"no interval"}


def test_format_interval() -> None:
    assert format_interval(0.31234, 0.28, 0.34) == "0.312 [0.280, 0.340]"
    assert format_interval(0.5) == "0.500"
    assert format_interval(None) == "—"


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_compare_command_by_model_id_and_by_file(synthetic_store, capsys) -> None:
    folder = str(synthetic_store.folder)
    code, out, _ = _run(["compare", "efficientnet_lite0", "efficientnet_lite0:untrained", "--results", folder], capsys)
    assert code == 0
    assert "A = efficientnet_lite0" in out and "B = efficientnet_lite0:untrained" in out
    line = next(l for l in out.splitlines() if l.startswith(IT) and " brain_similarity " in l)
    assert "A higher" in line and "[" in line
    files = [str(synthetic_store.path_for(m, PROBE)) for m in ("clip_rn50", "efficientnet_lite0")]
    code, out, _ = _run(["compare", *files, "--json"], capsys)
    records = json.loads(out)["comparisons"]
    assert code == 0 and {r["benchmark"] for r in records} == {PROBE}
    assert any(r["metric"] == "semantic_encoding" and r["verdict"] == "A higher" for r in records)


def test_compare_command_explains_unknown_models(synthetic_store, capsys, tmp_path: Path) -> None:
    code, _, err = _run(["compare", "resnet", "clip_rn50", "--results", str(synthetic_store.folder)], capsys)
    assert code == 2
    assert "'resnet' is neither a result file nor a model id" in err and "clip_rn50" in err
    code, _, err = _run(["compare", "a", "b", "--results", str(tmp_path / "absent")], capsys)
    assert code == 2 and "does not exist" in err


def test_compare_lists_what_only_one_side_has_and_cautions_on_other_setups(tmp_path: Path, capsys) -> None:
    from brainalign.results import ResultsStore

    store = ResultsStore(tmp_path / "results")
    for result in (make_result("a", IT), make_result("a", PROBE), make_result("a", "mur2013.judgements@1"),
                   make_result("b", IT), make_result("b", PROBE)):
        store.save(result)
    other_version = make_result("b", "mur2013.judgements@1")
    other_version.provenance["benchmark"]["version"] = 2
    store.save(type(other_version)(other_version.model_id, "mur2013.judgements@2", other_version.summary,
                                   other_version.layerwise, other_version.provenance))
    probe_b = store.load("b", PROBE)
    probe_b.provenance["layer_policy"] = "all"
    probe_b.provenance["data_checksums"] = {"probe_manifest_sha256": "12" * 32}
    store.save(probe_b)
    code, out, _ = _run(["compare", "a", "b", "--results", str(store.folder)], capsys)
    assert code == 0
    assert ("only A has: mur2013.judgements@1 (the other side has version 2: not comparable)") in out
    assert "only B has: mur2013.judgements@2 (the other side has version 1: not comparable)" in out
    caution = next(line for line in out.splitlines() if line.startswith(f"caution, {PROBE}"))
    assert "different data (A: " in caution and "B: probe 121212121212)" in caution
    assert "different layer policy (A: blocks, B: all)" in caution
    assert not any(line.startswith(f"caution, {IT}") for line in out.splitlines())
    code, out, _ = _run(["compare", "a", "b", "--results", str(store.folder), "--json"], capsys)
    data = json.loads(out)
    assert data["only_in_a"] == ["mur2013.judgements@1 (the other side has version 2: not comparable)"]
    assert {r["benchmark"]: bool(r["caveat"]) for r in data["comparisons"]} == {IT: False, PROBE: True}
