"""Differences between results: the MOVER interval against its closed form for normal estimates,
the paired interval against the two-factor bootstrap of the difference itself, benchmark
matching, and the `brainalign compare` command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from cli_run import run_cli
from synthetic_results import PROBE, make_result

from brainalign.leaderboard.differences import compare_results, difference_interval, format_interval

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
    b = [
        make_result("vit_b_16:untrained", IT),
        make_result("vit_b_16:untrained", "mur2013.judgements@1"),
    ]
    table = compare_results(a, b)
    assert set(table["benchmark"]) == {IT}
    row = table[table["metric"] == "brain_similarity"].iloc[0]
    assert row["difference"] == pytest.approx(
        a[1].summary["brain_similarity"]["value"] - b[0].summary["brain_similarity"]["value"]
    )
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
    return run_cli(argv, capsys)


def test_compare_command_by_model_id_and_by_file(synthetic_store, capsys) -> None:
    folder = str(synthetic_store.folder)
    code, out, _ = _run(
        ["compare", "efficientnet_lite0", "efficientnet_lite0:untrained", "--results", folder],
        capsys,
    )
    assert code == 0
    assert "A = efficientnet_lite0" in out and "B = efficientnet_lite0:untrained" in out
    line = next(
        row for row in out.splitlines() if row.startswith(IT) and " brain_similarity " in row
    )
    assert "A higher" in line and "[" in line
    files = [str(synthetic_store.path_for(m, PROBE)) for m in ("clip_rn50", "efficientnet_lite0")]
    code, out, _ = _run(["compare", *files, "--json"], capsys)
    records = json.loads(out)["comparisons"]
    assert code == 0 and {r["benchmark"] for r in records} == {PROBE}
    assert {r["interval"].split(",")[0] for r in records if r["ci_low"] is not None} == {"MOVER"}
    assert any(r["metric"] == "semantic_encoding" and r["verdict"] == "A higher" for r in records)


def test_compare_command_explains_unknown_models(synthetic_store, capsys, tmp_path: Path) -> None:
    code, _, err = _run(
        ["compare", "resnet", "clip_rn50", "--results", str(synthetic_store.folder)], capsys
    )
    assert code == 2
    assert "'resnet' is neither a result file nor a model id" in err and "clip_rn50" in err
    code, _, err = _run(["compare", "a", "b", "--results", str(tmp_path / "absent")], capsys)
    assert code == 2 and "does not exist" in err


def test_compare_lists_what_only_one_side_has_and_cautions_on_other_setups(
    tmp_path: Path, capsys
) -> None:
    from brainalign.results import ResultsStore

    store = ResultsStore(tmp_path / "results")
    for result in (
        make_result("a", IT),
        make_result("a", PROBE),
        make_result("a", "mur2013.judgements@1"),
        make_result("b", IT),
        make_result("b", PROBE),
    ):
        store.save(result)
    other_version = make_result("b", "mur2013.judgements@1")
    other_version.provenance["benchmark"]["version"] = 2
    store.save(
        type(other_version)(
            other_version.model_id,
            "mur2013.judgements@2",
            other_version.summary,
            other_version.layerwise,
            other_version.provenance,
        )
    )
    probe_b = store.load("b", PROBE)
    probe_b.provenance["layer_policy"] = "all"
    probe_b.provenance["data_checksums"] = {"probe_manifest_sha256": "12" * 32}
    store.save(probe_b)
    code, out, _ = _run(["compare", "a", "b", "--results", str(store.folder)], capsys)
    assert code == 0
    assert (
        "only A has: mur2013.judgements@1 (the other side has version 2: not comparable)"
    ) in out
    assert "only B has: mur2013.judgements@2 (the other side has version 1: not comparable)" in out
    caution = next(line for line in out.splitlines() if line.startswith(f"caution, {PROBE}"))
    assert "different data (A: " in caution and "B: probe 121212121212)" in caution
    assert "different layer policy (A: blocks, B: all)" in caution
    assert not any(line.startswith(f"caution, {IT}") for line in out.splitlines())
    code, out, _ = _run(["compare", "a", "b", "--results", str(store.folder), "--json"], capsys)
    data = json.loads(out)
    assert data["only_in_a"] == [
        "mur2013.judgements@1 (the other side has version 2: not comparable)"
    ]
    assert {r["benchmark"]: bool(r["caveat"]) for r in data["comparisons"]} == {
        IT: False,
        PROBE: True,
    }


# --- paired comparisons -----------------------------------------------------------------------


def _scored(model_id: str, layers, target, seed: int = 0, interval: str = "two-factor"):
    """A real result of scoring ``layers`` on ``target`` (as a human benchmark @2 or @1 makes it)."""
    from brainalign.benchmarks.scoring import benchmark_score, brain_measures, score_target
    from brainalign.results import Result

    version = 2 if interval == "two-factor" else 1
    identifier = f"planted.ROI@{version}"
    score = benchmark_score(
        identifier, score_target(layers, target, n_boot=300, seed=seed, interval=interval)
    )
    info = {
        "id": "planted.ROI",
        "version": version,
        "measures": [m.to_dict() for m in brain_measures("ROI", interval)],
    }
    return Result.from_score(
        score,
        model_card={"id": model_id},
        benchmark=info,
        seed=seed,
        data_checksums={"rdms.npz": "ab" * 32},
    )


def _planted(seed: int = 0, n_stimuli: int = 24, n_subjects: int = 8):
    """Two models that share most of their layers' structure, and subjects who share a truth."""
    from brainalign.rsa import LayerRDMs, RDMs, TargetRDMs

    rng = np.random.default_rng(seed)
    pairs = n_stimuli * (n_stimuli - 1) // 2
    ids = [f"s{i:02d}" for i in range(n_stimuli)]  # id order = row order, as the draws below assume
    truth = rng.random(pairs)
    target = TargetRDMs.from_subjects(
        "ROI",
        RDMs(
            truth + 0.8 * rng.random((n_subjects, pairs)), [f"p{i}" for i in range(n_subjects)], ids
        ),
    )
    shared = truth + 0.6 * rng.normal(size=(3, pairs))
    models = [
        LayerRDMs(
            RDMs(shared + scale * rng.normal(size=(3, pairs)), ["a", "b", "c"], ids),
            (0.0, 0.5, 1.0),
        )
        for scale in (0.05, 0.25)
    ]
    return models, target


def test_paired_interval_is_the_two_factor_interval_of_the_difference_itself() -> None:
    """Independent route: bootstrap the difference of the two models' scores directly, both models'
    layers resampled together in one bootstrap. The interval `compare` builds from two results
    scored separately (and read back from their files) must be the same, which holds only if the
    two scorings drew the same subjects and stimuli."""
    from brainalign.benchmarks.scoring import cv_over_subjects, subject_halves
    from brainalign.rsa.inference import TwoFactorDraws, bootstrap_two_factor, two_factor_interval

    (one, other), target = _planted()
    a, b = _scored("one", one, target), _scored("other", other, target)
    row = compare_results([a], [b]).set_index("metric").loc["brain_similarity"]
    assert row["interval"].startswith("paired")

    split_seed, subject_seed, stimulus_seed = np.random.SeedSequence(0).spawn(3)
    masks = subject_halves(8, 100, np.random.default_rng(split_seed))
    stacked = np.vstack([one.rdms.data, other.rdms.data])

    def difference(rho, sample):
        return (
            cv_over_subjects(rho[:3], masks, sample)[0]
            - cv_over_subjects(rho[3:], masks, sample)[0]
        )

    draws = TwoFactorDraws.draw(8, 24, 300, subject_seed, stimulus_seed)
    samples = bootstrap_two_factor(stacked, target.rdms.data, difference, draws)
    low, high, _ = two_factor_interval(row["difference"], samples, 8, 24)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), abs=1e-12)


def test_paired_interval_is_much_narrower_than_mover_for_similar_models(tmp_path: Path) -> None:
    """The two models' errors come mostly from the same draws of subjects and stimuli: pairing
    cancels them, MOVER (independence) adds them up."""
    from brainalign.results import ResultsStore

    (one, other), target = _planted(seed=1)
    store = ResultsStore(tmp_path)
    for result in (_scored("one", one, target), _scored("other", other, target)):
        store.save(result)
    a, b = store.load("one", "planted.ROI@2"), store.load("other", "planted.ROI@2")
    table = compare_results([a], [b]).set_index("metric")
    for metric in ("brain_similarity", "brain_similarity (normalised)"):
        row = table.loc[metric]
        mover = difference_interval(
            row["a"], row["a_ci_low"], row["a_ci_high"], row["b"], row["b_ci_low"], row["b_ci_high"]
        )
        assert row["interval"].startswith("paired")
        assert row["ci_high"] - row["ci_low"] < 0.5 * (mover[1] - mover[0])
        assert row["ci_low"] < row["difference"] < row["ci_high"]


def test_results_that_cannot_be_paired_fall_back_to_mover_and_say_why() -> None:
    (one, other), target = _planted(seed=2)
    a = _scored("one", one, target)
    cases = {
        "B recorded no bootstrap samples": _scored("other", other, target, interval="subjects"),
        "resampled differently": _scored("other", other, target, seed=1),
    }
    for reason, b in cases.items():
        b.benchmark = a.benchmark  # the same benchmark version, for the sake of the comparison
        row = compare_results([a], [b]).set_index("metric").loc["brain_similarity"]
        assert (
            row["interval"].startswith("MOVER, assumes independence") and reason in row["interval"]
        )
        expected = difference_interval(
            row["a"], row["a_ci_low"], row["a_ci_high"], row["b"], row["b_ci_low"], row["b_ci_high"]
        )
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(expected)
    elsewhere = _scored("other", other, target)
    elsewhere.provenance["data_checksums"] = {"rdms.npz": "cd" * 32}
    assert "different data" in compare_results([a], [elsewhere])["interval"].iloc[0]


def test_compare_command_says_which_rows_are_paired(tmp_path: Path, capsys) -> None:
    from brainalign.results import ResultsStore

    (one, other), target = _planted(seed=3)
    store = ResultsStore(tmp_path)
    store.save(_scored("one", one, target))
    store.save(_scored("other", other, target))
    code, out, _ = _run(["compare", "one", "other", "--results", str(tmp_path)], capsys)
    assert code == 0
    line = next(
        row
        for row in out.splitlines()
        if row.startswith("planted.ROI@2") and " brain_similarity " in row
    )
    assert " paired " in line
    assert "paired: A − B bootstrapped resample by resample" in out and "MOVER" not in out


def test_compare_flags_intervals_from_few_subjects_and_says_what_intervals_cover(
    tmp_path: Path, capsys
) -> None:
    """A difference on 4 subjects gets its verdict marked and the caveat in full; one on 8 does not;
    every interval says what it is about."""
    from brainalign.caveats import FEW_SUBJECTS
    from brainalign.results import ResultsStore

    store = ResultsStore(tmp_path)
    for n_subjects, benchmark in ((4, "few.ROI@2"), (FEW_SUBJECTS, "enough.ROI@2")):
        (one, other), target = _planted(seed=4, n_subjects=n_subjects)
        for model_id, layers in (("one", one), ("other", other)):
            result = _scored(model_id, layers, target)
            result.benchmark = benchmark
            result.provenance["benchmark"]["id"] = benchmark.partition("@")[0]
            store.save(result)
    a, b = (store.load(m, "few.ROI@2") for m in ("one", "other"))
    table = compare_results([a], [b]).set_index("metric")
    assert "only 4 subjects" in table.loc["brain_similarity", "interval_caveat"]
    assert (
        table.loc["brain_similarity", "covers"]
        == "new subjects and new images of the same kind and number"
    )
    assert table.loc["brain_similarity_max", "covers"] == ""  # no interval, nothing to say
    code, out, _ = _run(["compare", "one", "other", "--results", str(tmp_path)], capsys)
    assert code == 0
    rows = {
        line.split()[0] + " " + line.split()[1]: line
        for line in out.splitlines()
        if ".ROI@2 " in line
    }
    assert rows["few.ROI@2 brain_similarity"].rstrip().endswith("†")
    assert not rows["enough.ROI@2 brain_similarity"].rstrip().endswith("†")
    assert (
        "† few.ROI@2: an interval from only 4 subjects covers the population value less often than 95%"
        in out
    )
    assert "† enough.ROI@2" not in out
    assert (
        "95% intervals of enough.ROI@2, few.ROI@2: about new subjects and new images of the same kind "
        "and number."
    ) in out
    code, out, _ = _run(["compare", "one", "other", "--results", str(tmp_path), "--json"], capsys)
    records = {(r["benchmark"], r["metric"]): r for r in json.loads(out)["comparisons"]}
    assert records[("few.ROI@2", "brain_similarity")]["interval_caveat"].startswith(
        "an interval from only 4 subjects"
    )
    assert records[("enough.ROI@2", "brain_similarity")]["interval_caveat"] == ""
