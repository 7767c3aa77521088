"""The results store: round trips, deterministic bytes, atomic replacement, and rejection of every
kind of damaged file with an error that names it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from synthetic_results import HUMAN, PROBE, benchmark_info, fill_store, human_score, make_result

from brainalign.benchmarks.base import LAYERWISE_COLUMNS
from brainalign.errors import BrainAlignError
from brainalign.results import Result, ResultsStore, file_stem

IT = "algonauts2019.92images.IT@1"


def _table_path(json_path: Path) -> Path:
    return json_path.with_name(json.loads(json_path.read_text())["layerwise"]["file"])


def test_round_trip_keeps_every_number_and_dtype(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    original = make_result("efficientnet_lite0", PROBE)
    store.save(original)
    loaded = store.load("efficientnet_lite0", PROBE)
    assert loaded.summary == original.summary
    assert loaded.provenance == original.provenance
    assert loaded.provenance["model_card"]["weights_sha256"] == "ab" * 32
    pd.testing.assert_frame_equal(loaded.layerwise, original.layerwise)
    assert list(loaded.layerwise.columns) == list(LAYERWISE_COLUMNS)
    assert loaded.layerwise["layer_index"].dtype == np.int64
    assert loaded.layerwise["value"].dtype == np.float64
    conditions = {"Baseline", "Control", "Salient", "Semantic", "Semantic_Salient"}
    assert set(loaded.layerwise["condition"]) == conditions | {
        f"delta.{c}" for c in conditions - {"Baseline"}
    }


def test_human_layerwise_rows_survive_with_subjects_and_nan_intervals(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    store.save(make_result("clip_rn50", IT))
    table = store.load("clip_rn50", IT).layerwise
    assert table["subject"].nunique() == HUMAN[IT][1]
    assert table["ci_low"].isna().all()
    assert (table["condition"] == "").all()


def test_numpy_values_and_nan_become_plain_json(tmp_path: Path) -> None:
    score = human_score("clip_rn50", IT)
    score.summary["brain_similarity"]["value"] = np.float32(0.25)
    score.summary["brain_similarity"]["ci_low"] = float("nan")
    score.summary["brain_similarity_max"]["layer_index"] = np.int64(3)
    result = Result.from_score(
        score, model_card={"id": "m"}, benchmark=benchmark_info(IT), seed=np.int64(1)
    )
    path = ResultsStore(tmp_path).save(result)
    document = json.loads(
        path.read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}")
    )
    assert document["summary"]["brain_similarity"]["ci_low"] is None
    assert document["summary"]["brain_similarity_max"]["layer_index"] == 3
    assert document["provenance"]["seed"] == 1
    assert np.isnan(Result.read(path).value("brain_similarity", "ci_low"))


def test_from_score_takes_a_dataclass_card_and_a_benchmark_object(tmp_path: Path) -> None:
    @dataclass(frozen=True)
    class Card:
        id: str
        family: str
        n_parameters: int
        layers: tuple[str, ...]

    class Bench:
        id, version = "kriegeskorte2008.hIT", 1
        title, description, metric = "Human IT", "hIT of 4 subjects", "Spearman ρ"
        bibtex, datasets = "@article{k2008}", ("kriegeskorte2008_92",)

    result = Result.from_score(
        human_score("m", "kriegeskorte2008.hIT@1"),
        model_card=Card("m", "CNN", 10, ("a", "b")),
        benchmark=Bench(),
        seed=0,
        device="cpu",
        timings={"score_s": 1.0},
    )
    info = result.benchmark_info
    assert (info["title"], info["bibtex"], info["datasets"]) == (
        "Human IT",
        "@article{k2008}",
        ["kriegeskorte2008_92"],
    )
    assert result.model_card["layers"] == ["a", "b"]
    assert result.provenance["brainalign_version"]


def test_extra_layerwise_columns_are_kept(tmp_path: Path) -> None:
    result = make_result("clip_rn50", IT)
    result.layerwise["n_stimuli"] = np.int64(92)
    result.layerwise["note"] = "x"
    loaded = Result.read(ResultsStore(tmp_path).save(result))
    assert list(loaded.layerwise.columns) == [*LAYERWISE_COLUMNS, "n_stimuli", "note"]
    assert (loaded.layerwise["n_stimuli"] == 92).all() and loaded.layerwise[
        "n_stimuli"
    ].dtype == np.int64


def test_content_id_ignores_timings_but_not_scores() -> None:
    a, b = make_result("clip_rn50", IT), make_result("clip_rn50", IT)
    b.provenance["timings"] = {"extract_s": 99.0}
    assert a.content_id() == b.content_id()
    b.layerwise.loc[3, "value"] += 1e-12
    assert a.content_id() != b.content_id()
    assert make_result("clip_rn50", IT, seed=1).content_id() != a.content_id()


def test_same_result_gives_the_same_bytes(tmp_path: Path) -> None:
    a = ResultsStore(tmp_path / "a").save(make_result("clip_rn50", PROBE))
    b = ResultsStore(tmp_path / "b").save(make_result("clip_rn50", PROBE))
    assert a.read_bytes() == b.read_bytes()
    assert _table_path(a).read_bytes() == _table_path(b).read_bytes()


def test_overwrite_replaces_the_pair_and_leaves_no_stray_files(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    store.save(make_result("clip_rn50", IT, seed=0))
    path = store.save(make_result("clip_rn50", IT, seed=1))
    assert store.load("clip_rn50", IT).provenance["seed"] == 1
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        [path.name, _table_path(path).name]
    )


def test_a_crash_before_the_json_lands_keeps_the_old_result(tmp_path: Path, monkeypatch) -> None:
    store = ResultsStore(tmp_path)
    store.save(make_result("clip_rn50", IT, seed=0))

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr("brainalign.results.result.write_json_atomic", crash)
    with pytest.raises(KeyboardInterrupt):
        store.save(make_result("clip_rn50", IT, seed=1))
    monkeypatch.undo()
    assert store.load("clip_rn50", IT).provenance["seed"] == 0


def test_has_checks_validity_and_the_reuse_key(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    result = make_result("clip_rn50", IT)
    result.reuse_key = {"seed": 0, "layer_policy": "blocks"}
    path = store.save(result)
    assert store.has("clip_rn50", IT)
    assert store.has("clip_rn50", IT, {"seed": 0, "layer_policy": "blocks"})
    assert not store.has("clip_rn50", IT, {"seed": 1, "layer_policy": "blocks"})
    assert not store.has("clip_rn50", IT, {"seed": 0})  # a key is matched whole, not field by field
    assert not store.has("clip_rn50", PROBE)
    assert not store.has("other", IT)
    _table_path(path).write_bytes(b"truncated")
    assert not store.has("clip_rn50", IT)


def test_list_load_and_versionless_lookup(tmp_path: Path) -> None:
    store = fill_store(tmp_path, models=("clip_rn50", "vit_b_16:untrained"), benchmarks=(PROBE, IT))
    assert [(s.model_id, s.benchmark) for s in store.list()] == [
        ("clip_rn50", IT),
        ("clip_rn50", PROBE),
        ("vit_b_16:untrained", IT),
        ("vit_b_16:untrained", PROBE),
    ]
    assert store.load("vit_b_16:untrained", "algonauts2019.92images.IT").benchmark == IT
    with pytest.raises(BrainAlignError, match="no result of 'nobody'"):
        store.load("nobody", IT)


@pytest.mark.parametrize(
    "name", ["<script>alert(1)</script>", "../../etc/passwd", "a/b:c", ".hidden", "模型 ü"]
)
def test_file_names_are_portable_and_stay_inside_the_store(tmp_path: Path, name: str) -> None:
    stem = file_stem(name)
    assert all(c not in stem for c in '/\\:<>"|?* ') and not stem.startswith(".")
    store = ResultsStore(tmp_path)
    path = store.save(make_result(name, IT))
    assert path.resolve().is_relative_to(tmp_path.resolve())
    assert [(s.model_id, s.benchmark) for s in store.list()] == [(name, IT)]
    assert store.load(name, IT).model_id == name


# --- damaged files ----------------------------------------------------------------------------------


def _edit_json(path: Path, change) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_text(p.read_text()[:200]), "not readable JSON"),
        (
            lambda p: _edit_json(
                p, lambda d: d["summary"]["brain_similarity"].update(value="high")
            ),
            r"'high' is not of type 'number', 'null' at summary/brain_similarity/value",
        ),
        (
            lambda p: _edit_json(p, lambda d: d.pop("provenance")),
            "'provenance' is a required property",
        ),
        (
            lambda p: _edit_json(p, lambda d: d["provenance"].pop("seed")),
            "'seed' is a required property",
        ),
        (lambda p: _edit_json(p, lambda d: d.update(benchmark="no-version")), "does not match"),
        (
            lambda p: _edit_json(p, lambda d: d.update(model_id="someone_else")),
            "differs from its model card",
        ),
        (
            lambda p: _edit_json(p, lambda d: d["layerwise"].update(file="../x.csv")),
            "does not match",
        ),
        (lambda p: _edit_json(p, lambda d: d["layerwise"].update(rows=3)), "records 3"),
        (
            lambda p: _table_path(p).write_bytes(_table_path(p).read_bytes()[:-40]),
            "does not match the sha256",
        ),
        (lambda p: _table_path(p).unlink(), "which is missing"),
        (
            lambda p: _edit_json(p, lambda d: d["summary"]["brain_similarity"].update(value=0.99)),
            "does not match its content id",
        ),
        (lambda p: _edit_json(p, lambda d: d.update(format_version=7)), "format_version 7"),
    ],
    ids=[
        "truncated-json",
        "string-value",
        "no-provenance",
        "no-seed",
        "bad-benchmark",
        "model-mismatch",
        "path-escape",
        "row-count",
        "truncated-table",
        "missing-table",
        "edited-number",
        "future-format",
    ],
)
def test_damaged_results_are_rejected_naming_the_file(tmp_path: Path, damage, message: str) -> None:
    path = ResultsStore(tmp_path).save(make_result("clip_rn50", IT))
    damage(path)
    with pytest.raises(BrainAlignError, match=message) as caught:
        Result.read(path)
    assert str(path.parent) in str(caught.value)


def test_a_table_with_a_bad_number_is_rejected_even_with_a_matching_checksum(
    tmp_path: Path,
) -> None:
    import hashlib

    path = ResultsStore(tmp_path).save(make_result("clip_rn50", IT))
    lines = _table_path(path).read_text().splitlines()
    header, first = lines[0].split(","), lines[1].split(",")
    first[header.index("value")] = "high"
    _table_path(path).write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    digest = hashlib.sha256(_table_path(path).read_bytes()).hexdigest()
    _edit_json(path, lambda d: d["layerwise"].update(sha256=digest))
    with pytest.raises(BrainAlignError, match="column 'value' holds a bad number"):
        Result.read(path)


def test_the_table_is_canonical_csv_with_exact_floats(tmp_path: Path) -> None:
    result = make_result("clip_rn50", IT)
    result.layerwise.loc[0, "value"] = 0.1 + 0.2  # 0.30000000000000004: repr keeps every bit
    path = ResultsStore(tmp_path).save(result)
    text = _table_path(path).read_text()
    assert text.splitlines()[0] == ",".join(LAYERWISE_COLUMNS)
    assert "0.30000000000000004" in text
    assert Result.read(path).layerwise.loc[0, "value"] == 0.1 + 0.2


def test_a_result_of_format_1_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    """Development versions before 0.1.0 wrote format 1 (a Parquet table): no longer read."""
    result = make_result("clip_rn50", IT)
    path = tmp_path / f"{IT}.json"
    path.write_text(
        json.dumps(
            {
                "format": "brainalign.result",
                "format_version": 1,
                "model_id": result.model_id,
                "benchmark": result.benchmark,
                "summary": result.summary,
                "provenance": result.provenance,
                "layerwise": {
                    "file": f"{IT}.0123456789abcdef.parquet",
                    "sha256": "0" * 64,
                    "rows": 1,
                },
            }
        )
    )
    with pytest.raises(
        BrainAlignError, match=r"format 1, with a Parquet table.*score the model again"
    ):
        Result.read(path)


def test_bad_layerwise_tables_are_refused_before_writing() -> None:
    score = human_score("m", IT)
    with pytest.raises(BrainAlignError, match=r"lacks the column\(s\) \['depth'\]"):
        Result.from_score(
            score.__class__(IT, score.layerwise.drop(columns="depth"), score.summary),
            model_card={"id": "m"},
            benchmark=benchmark_info(IT),
            seed=0,
        )
    broken = score.layerwise.assign(layer_index=0.5)
    with pytest.raises(BrainAlignError, match="layer_index"):
        Result.from_score(
            score.__class__(IT, broken, score.summary),
            model_card={"id": "m"},
            benchmark=benchmark_info(IT),
            seed=0,
        )
    with pytest.raises(BrainAlignError, match="differs from the benchmark recorded"):
        Result.from_score(score, model_card={"id": "m"}, benchmark=benchmark_info(PROBE), seed=0)


def test_load_all_skips_and_reports_bad_files_or_raises_when_strict(tmp_path: Path) -> None:
    store = fill_store(tmp_path, models=("clip_rn50", "efficientnet_lite0"), benchmarks=(PROBE, IT))
    broken = store.path_for("clip_rn50", IT)
    broken.write_text("{ not json")
    (tmp_path / "stray.json").write_text(json.dumps({"hello": "world"}))
    report = store.load_all()
    assert sorted((r.model_id, r.benchmark) for r in report.results) == [
        ("clip_rn50", PROBE),
        ("efficientnet_lite0", IT),
        ("efficientnet_lite0", PROBE),
    ]
    assert sorted(p.path.name for p in report.problems) == [broken.name, "stray.json"]
    with pytest.raises(BrainAlignError, match="not readable JSON"):
        store.load_all(strict=True)


def test_a_copy_of_a_result_elsewhere_in_the_folder_is_reported_once(tmp_path: Path) -> None:
    store = fill_store(tmp_path / "r", models=("clip_rn50",), benchmarks=(IT,))
    source = store.path_for("clip_rn50", IT)
    copy = tmp_path / "r" / "zz-backup" / source.name
    copy.parent.mkdir()
    copy.write_bytes(source.read_bytes())
    _table_path(copy).write_bytes(_table_path(source).read_bytes())
    report = store.load_all()
    assert len(report.results) == 1
    assert [p.path for p in report.problems] == [copy]
    assert "repeats the result" in report.problems[0].message


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    from jsonschema import Draft202012Validator

    from brainalign.results.result import result_schema

    Draft202012Validator.check_schema(result_schema())
