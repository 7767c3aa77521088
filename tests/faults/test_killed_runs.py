"""Runs killed with SIGKILL at seeded moments, then started again, end with results identical to
an uninterrupted run's and no temporary file anywhere (results, cache, TMPDIR); two runs on one
results folder at once end alike; the files of a spilled extraction killed halfway are found
and removed by the next run.

The run: two tiny networks from a model file on one benchmark of a small synthetic data set (3
subjects: the runs' files, not the data, are the point; a second benchmark would only add
results of the same kind, and the seconds of its bootstrap to every run), with a memory budget
so small that one network's layers are spilled to disk and the other's take a pass each (the
preprocessed images are then kept on disk). A kill between the two networks' results leaves a
results folder half written, as one between two benchmarks' would."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fault_helpers import FAULT_MODELS, brainalign_process, finish, leftovers, process_env
from synthetic_data import algonauts78

from brainalign.results import ResultsStore

BENCHMARK = "algonauts2019.78images.IT"
#: Moments to kill at: while a layer is spilled to disk, then after seeded numbers of finished files.
KILLS = 5


@dataclass(frozen=True)
class Reference:
    """The model file the runs use and what an uninterrupted run stores."""

    models: Path
    data: Path
    content_ids: dict[tuple[str, str], str]
    progress: int


def _command(models: Path, results: Path, data: Path) -> list[object]:
    """Every layer of ``tiny`` is bigger than the budget (spilled to disk); ``other``'s layers
    fit one at a time (one pass per layer: the preprocessed images are kept on disk)."""
    return [
        "-q",
        "run",
        "--results",
        results,
        "--data-dir",
        data,
        "-m",
        f"{models}:tiny",
        "-m",
        f"{models}:other",
        "-b",
        BENCHMARK,
        "--device",
        "cpu",
        "--memory-budget",
        "200KB",
        "--batch-size",
        "16",
    ]


def _progress(results: Path, cache: Path) -> int:
    """Files a run has finished so far: layer RDMs cached, result files written."""
    return len(list(cache.glob("layer_rdms/*/*.npz"))) + len(list(results.glob("*/*")))


def _content_ids(results: Path) -> dict[tuple[str, str], str]:
    return {
        (r.model_id, r.benchmark): r.content_id()
        for r in ResultsStore(results).load_all(strict=True).results
    }


def _kill_at(process: subprocess.Popen, reached: Callable[[], bool], delay: float) -> bool:
    """SIGKILL ``process`` ``delay`` seconds after ``reached()`` holds; whether it was still running."""
    deadline = time.monotonic() + 600
    while not reached() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(delay)
    running = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.communicate()
    return running


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    folder = tmp_path_factory.mktemp("reference")
    models = folder / FAULT_MODELS.name
    shutil.copy(FAULT_MODELS, models)
    data = algonauts78(folder / "data", n_subjects=3)
    ran = finish(
        brainalign_process(_command(models, folder / "results", data), process_env(folder))
    )
    assert ran.code == 0, ran.err
    ids = _content_ids(folder / "results")
    assert len(ids) == 2
    return Reference(models, data, ids, _progress(folder / "results", folder / "cache"))


@pytest.mark.slow
def test_runs_killed_at_seeded_moments_resume_to_the_uninterrupted_results(
    reference, tmp_path
) -> None:
    interrupted = 0
    for seed in range(3 * KILLS):
        if interrupted == KILLS:
            break
        folder = tmp_path / f"kill{seed}"
        env, results, cache, tmpdir = (
            process_env(folder),
            folder / "results",
            folder / "cache",
            folder / "tmpdir",
        )
        if (
            seed == 0
        ):  # while a layer is spilled to disk: the spill files stay, SIGKILL skips every cleanup
            reached, delay = (
                (lambda tmpdir=tmpdir: any(tmpdir.glob("brainalign-spill-*/*.f32"))),
                0.0,
            )
        else:
            rng = np.random.default_rng(seed)
            moment, delay = int(rng.integers(0, reference.progress)), float(rng.uniform(0, 0.3))

            def reached(moment=moment, results=results, cache=cache):
                return _progress(results, cache) >= moment

        process = brainalign_process(_command(reference.models, results, reference.data), env)
        if not _kill_at(process, reached, delay):
            assert seed != 0, "the run ended before it spilled"
            continue  # it finished first: not an interrupted run
        interrupted += 1
        if seed == 0:
            assert [p.name.rsplit("-", 1)[0] for p in tmpdir.glob("brainalign-*")] == [
                "brainalign-spill"
            ]
        rerun = finish(brainalign_process(_command(reference.models, results, reference.data), env))
        assert rerun.code == 0, (seed, rerun.err)
        assert _content_ids(results) == reference.content_ids, seed
        assert (results / "leaderboard.html").is_file()
        assert leftovers(results, cache, tmpdir) == [], (
            seed
        )  # the spill files too: removed by the rerun
    assert interrupted == KILLS


@pytest.mark.slow
def test_two_runs_on_one_results_folder_at_once_end_alike(reference, tmp_path) -> None:
    env = process_env(tmp_path)
    results = tmp_path / "results"
    both = [
        brainalign_process(_command(reference.models, results, reference.data), env)
        for _ in range(2)
    ]
    for ran in map(finish, both):
        assert ran.code == 0, ran.err
    assert _content_ids(results) == reference.content_ids
    assert leftovers(results, tmp_path / "cache", tmp_path / "tmpdir") == []
