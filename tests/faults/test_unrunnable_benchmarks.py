"""A benchmark the user named that cannot run is an error (exit status 2, the reason and the fix),
never a "skipped" line with exit status 0; damaged data is an error even in the default set;
only absent data of the default set is skipped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fault_helpers import HUMAN, algonauts78

from brainalign.benchmarks import get as get_benchmark


def test_a_named_benchmark_without_its_data_is_an_error_and_creates_nothing(
    cli, model_file, tmp_path
) -> None:
    empty = tmp_path / "no-data"
    empty.mkdir()
    ran = cli(
        "score", model_file("tiny"), HUMAN, "--results", tmp_path / "results", "--data-dir", empty
    )
    assert ran.code == 2, ran
    assert ran.error_line.startswith(
        f"error: {HUMAN}@2 cannot be scored: data set kriegeskorte2008_92 not found"
    )
    assert (
        "brainalign data fetch kriegeskorte2008_92" in ran.error_line and "Traceback" not in ran.err
    )
    assert "results in" not in ran.out  # no results folder is named that was never created
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("found_through", ["--data-dir", "BRAINALIGN_DATA", "cache"])
def test_a_named_benchmark_with_a_truncated_file_is_an_error_naming_it(
    cli, model_file, data_copy, tmp_path, monkeypatch, found_through
) -> None:
    damaged = data_copy / "kriegeskorte2008_92" / "92_brainRDMs.mat"
    damaged.write_bytes(damaged.read_bytes()[:1000])
    where: list[object] = []
    if found_through == "--data-dir":
        where = ["--data-dir", data_copy]
    elif found_through == "BRAINALIGN_DATA":
        monkeypatch.setenv("BRAINALIGN_DATA", str(data_copy))
    else:
        cache = tmp_path / "cache"
        (cache / "data").mkdir(parents=True)
        (data_copy / "kriegeskorte2008_92").rename(cache / "data" / "kriegeskorte2008_92")
        damaged = cache / "data" / "kriegeskorte2008_92" / damaged.name
        monkeypatch.setenv("BRAINALIGN_CACHE", str(cache))
        monkeypatch.delenv("BRAINALIGN_DATA", raising=False)
    ran = cli("score", model_file("tiny"), HUMAN, "--results", tmp_path / "results", *where)
    assert ran.code == 2, ran
    assert (
        f"{HUMAN}@2 cannot be scored: data file {damaged} has 1000 bytes, expected"
        in ran.error_line
    )
    assert not (tmp_path / "results").exists()


def test_brainalign_data_naming_a_missing_folder_is_an_error_like_data_dir(
    cli, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("BRAINALIGN_DATA", str(tmp_path / "typo"))
    for command in (["score", "pixels", HUMAN], ["run", "-m", "pixels"], ["score", "pixels"]):
        ran = cli(*command, "--results", tmp_path / "results")
        assert ran.code == 2, (command, ran)
        assert ran.error_line == (
            f"error: data folder {tmp_path / 'typo'} does not exist; fix BRAINALIGN_DATA, "
            "or unset it to use the cache only"
        )
    assert not (tmp_path / "results").exists()


@pytest.fixture
def default_set(monkeypatch) -> list[str]:
    """The default set made of one benchmark whose data is in the test's folder and one whose
    data is absent (the real default set also builds the probe: minutes)."""
    chosen = ["kriegeskorte2008.hIT", "algonauts2019.78images.IT"]
    monkeypatch.setattr(
        "brainalign.benchmarks.registry.default_benchmarks",
        lambda: [get_benchmark(b) for b in chosen],
    )
    return chosen


def test_the_default_set_skips_absent_data_but_stops_on_damaged_data(
    cli, model_file, data_copy, tmp_path, default_set
) -> None:
    ran = cli(
        "-q", "run", "-m", model_file("tiny"), "--results", tmp_path / "ok", "--data-dir", data_copy
    )
    assert ran.code == 0, ran
    assert (
        f"skipped algonauts2019.78images.IT@2 for {model_file('tiny')}: data set algonauts2019_78 not found"
        in ran.err
    )
    assert "scored" in ran.out

    damaged = data_copy / "kriegeskorte2008_92" / "92_brainRDMs.mat"
    damaged.write_bytes(b"")
    ran = cli(
        "-q",
        "run",
        "-m",
        model_file("tiny"),
        "--results",
        tmp_path / "damaged",
        "--data-dir",
        data_copy,
    )
    assert ran.code == 2, ran
    assert "kriegeskorte2008.hIT@2 cannot be scored: data file" in ran.error_line
    assert f"{damaged} has 0 bytes" in ran.error_line
    assert not (tmp_path / "damaged").exists()


def test_an_unpinned_data_file_damaged_inside_is_an_error_naming_it(
    cli, model_file, tmp_path
) -> None:
    """algonauts2019_78's checksums are not pinned: its damage shows only when the file is read."""
    data = algonauts78(tmp_path / "data")
    npz = data / "algonauts2019_78" / "fmri_IT_RDMs.npz"
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    ran = cli(
        "score",
        model_file("tiny"),
        "algonauts2019.78images.IT",
        "--results",
        tmp_path / "results",
        "--data-dir",
        data,
    )
    assert ran.code == 2, ran
    assert ran.error_line.startswith(
        f"error: algonauts2019.78images.IT@2 cannot be scored: {npz} is not a readable .npz file"
    )
    assert not list((tmp_path / "results").rglob("*.json"))


def test_the_python_api_treats_named_benchmarks_alike(model_file, tmp_path) -> None:
    import brainalign
    from brainalign.errors import BrainAlignError

    empty = tmp_path / "no-data"
    empty.mkdir()
    with pytest.raises(
        BrainAlignError, match="cannot be scored: data set kriegeskorte2008_92 not found"
    ):
        brainalign.score(model_file("tiny"), [HUMAN], results=tmp_path / "r", data_dir=empty)
    skipped = brainalign.score(
        model_file("tiny"), [HUMAN], results=tmp_path / "r", data_dir=empty, skip_absent=True
    )
    assert [o.status for o in skipped] == ["skipped"]


def test_damaged_data_found_by_a_worker_is_still_an_error(model_file, data_copy, tmp_path) -> None:
    """The pair itself refuses damaged data too (what a Dask worker runs), not only the run's check."""
    from brainalign.errors import BrainAlignError
    from brainalign.execution import ScoringOptions, score_model_on

    (data_copy / "kriegeskorte2008_92" / "92_behavRDMs.mat").write_bytes(np.zeros(10).tobytes())
    with pytest.raises(BrainAlignError, match=r"mur2013.judgements@2 cannot be scored: data file"):
        score_model_on(
            model_file("tiny"),
            get_benchmark("mur2013.judgements"),
            tmp_path / "r",
            ScoringOptions(data_dir=Path(data_copy)),
        )
