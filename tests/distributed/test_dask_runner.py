"""Scoring on a Dask LocalCluster of two worker processes gives the local run's results store: the
same files, byte-identical tables, the same provenance; a killed worker loses only its task; a pair
asked for twice is computed once; layer groups split a model across workers without changing a
number; the CLI's --scheduler runs the same code."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
from dask_helpers import ABSENT, HUMAN, FirstUseBenchmark, fingerprints, local_run, model_id, stored

from brainalign.api import run, score
from brainalign.cli import main
from brainalign.errors import BrainAlignError
from brainalign.results import ResultsStore

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning")


def _statuses(report_or_outcomes) -> list[tuple[str, str, str]]:
    outcomes = getattr(report_or_outcomes, "outcomes", report_or_outcomes)
    return [(o.model_id, o.benchmark, o.status) for o in outcomes]


def test_cluster_run_equals_local_run(
    cluster, models_dir, probe_benchmark, options, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(models_dir)  # a relative FILE.py id: the workers get it made absolute
    models = ["pixels", "tiny_models.py:small", "tiny_models.py:wide"]
    benchmarks = [HUMAN, probe_benchmark, ABSENT]
    local = local_run(models, benchmarks, tmp_path / "local", tmp_path / "local-cache", options)
    seen = []
    dask = run(
        models,
        benchmarks,
        results=tmp_path / "dask",
        options=options,
        client=cluster.client,
        on_outcome=seen.append,
        skip_absent=True,
    )

    assert _statuses(dask) == _statuses(local)
    assert [s for _, _, s in _statuses(dask)] == ["scored", "scored", "skipped"] * 3
    assert dask.by_status("skipped")[1].model_id == "tiny_models.py:small"  # as the user wrote it
    assert sorted(_statuses(seen)) == sorted(_statuses(dask))
    assert stored(tmp_path / "dask") == stored(tmp_path / "local")
    assert len(fingerprints(tmp_path / "dask")) == 6
    assert dask.leaderboard == tmp_path / "dask" / "leaderboard.html" and dask.leaderboard.is_file()
    # the workers extracted (into their own cache), not this process
    worker_rdms = list((cluster.cache / "layer_rdms").rglob("*.npz"))
    local_rdms = list((tmp_path / "local-cache" / "layer_rdms").rglob("*.npz"))
    assert len(worker_rdms) == len(local_rdms) > 0

    again = run(
        models,
        benchmarks,
        results=tmp_path / "dask",
        options=options,
        client=cluster.client,
        skip_absent=True,
    )
    assert [s for _, _, s in _statuses(again)] == ["reused", "reused", "skipped"] * 3
    assert stored(tmp_path / "dask") == stored(tmp_path / "local")


def test_killed_worker_loses_only_its_task(cluster, models_dir, options, tmp_path) -> None:
    held = model_id(models_dir, "held")
    models = [held, model_id(models_dir, "small"), "pixels"]
    (models_dir / "hold").touch()
    workers_before = cluster.worker_pids()
    killed: list[int] = []

    def kill_the_worker_that_holds_it() -> None:
        started = models_dir / "started"
        deadline = time.monotonic() + 120
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = int(started.read_text())
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_the_worker_that_holds_it, daemon=True)
    killer.start()
    dask = run(models, [HUMAN], results=tmp_path / "dask", options=options, client=cluster.client)
    killer.join(timeout=5)

    assert len(killed) == 1 and killed[0] in workers_before
    calls = (models_dir / "calls.held").read_text().split()
    assert (
        calls[0] == str(killed[0]) and len(calls) == 2 and calls[1] != calls[0]
    )  # rerun elsewhere
    assert killed[0] not in cluster.worker_pids()  # the nanny started a fresh process
    assert all(status in ("scored", "reused") for _, _, status in _statuses(dask))

    (models_dir / "hold").unlink()
    local_run(models, [HUMAN], tmp_path / "local", tmp_path / "local-cache", options)
    assert len(fingerprints(tmp_path / "dask")) == 3
    assert stored(tmp_path / "dask") == stored(tmp_path / "local")


def test_a_pair_asked_for_by_two_clients_at_once_is_computed_once(
    cluster, models_dir, options, tmp_path
) -> None:
    from dask.distributed import Client

    counted = model_id(models_dir, "counted")
    outcomes: dict[int, list] = {}

    def ask(index: int) -> None:
        with Client(cluster.scheduler_address, set_as_default=False) as client:
            outcomes[index] = score(
                counted, HUMAN, results=tmp_path, options=options, client=client
            )

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.5)  # the second asks while the first's task is loading the model (3 s)
    for thread in threads:
        thread.join(timeout=120)

    assert len((models_dir / "calls.counted").read_text().split()) == 1
    assert (
        _statuses(outcomes[0])
        == _statuses(outcomes[1])
        == [("tiny-counted", f"{HUMAN}@2", "scored")]
    )
    assert outcomes[0][0].result.content_id() == outcomes[1][0].result.content_id()


def test_a_benchmark_built_on_first_use_is_built_once_before_its_pairs(
    cluster, models_dir, options, tmp_path
) -> None:
    first_use = FirstUseBenchmark(tmp_path)
    models = ["pixels", model_id(models_dir, "small"), model_id(models_dir, "wide")]
    dask = run(
        models, [first_use], results=tmp_path / "dask", options=options, client=cluster.client
    )
    assert [s for _, _, s in _statuses(dask)] == ["scored"] * 3
    assert len((tmp_path / "builds").read_text().split()) == 1


def test_layer_groups_split_a_model_across_workers(cluster, models_dir, options, tmp_path) -> None:
    from dask.distributed import get_task_stream

    deep = model_id(models_dir, "deep")  # 11 layers: conv/ReLU ×5 and the flatten
    with get_task_stream(cluster.client) as stream:
        dask = score(
            deep,
            HUMAN,
            results=tmp_path / "dask",
            options=options,
            client=cluster.client,
            layer_groups=3,
        )
    groups = [task for task in stream.data if str(task["key"]).startswith("brainalign-layers-")]
    assert len(groups) == 3
    assert len({task["worker"] for task in stream.data}) == 2  # both workers took part
    local_run([deep], [HUMAN], tmp_path / "local", tmp_path / "local-cache", options)
    assert _statuses(dask) == [("tiny-deep", f"{HUMAN}@2", "scored")]
    assert stored(tmp_path / "dask") == stored(tmp_path / "local")


def test_user_errors_come_back_after_the_other_pairs_are_saved(cluster, options, tmp_path) -> None:
    with pytest.raises(
        BrainAlignError, match=r"1 of 2 pairs failed.*no_such_model on .*unknown model"
    ):
        run(
            ["pixels", "no_such_model"],
            [HUMAN],
            results=tmp_path,
            options=options,
            client=cluster.client,
        )
    assert ResultsStore(tmp_path).has("pixels", f"{HUMAN}@2")


def test_a_loaded_model_object_cannot_travel(cluster, options, tmp_path) -> None:
    from brainalign.models import load_model

    with pytest.raises(BrainAlignError, match="needs an id it can load"):
        score(load_model("pixels"), HUMAN, results=tmp_path, options=options, client=cluster.client)


def test_cli_scores_on_the_scheduler(cluster, options, tmp_path, capsys) -> None:
    main(
        [
            "run",
            "--scheduler",
            cluster.scheduler_address,
            "-m",
            "pixels",
            "-b",
            HUMAN,
            "--data-dir",
            str(options.data_dir),
            "--batch-size",
            "16",
            "--results",
            str(tmp_path / "dask"),
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert "pixels" in out and "scored" in out and "leaderboard:" in out
    scheduler_file = tmp_path / "scheduler.json"  # as `dask scheduler --scheduler-file` writes it
    scheduler_file.write_text(
        json.dumps({"type": "Scheduler", "address": cluster.scheduler_address})
    )
    main(
        [
            "score",
            "pixels",
            HUMAN,
            "--scheduler",
            str(scheduler_file),
            "--data-dir",
            str(options.data_dir),
            "--batch-size",
            "16",
            "--results",
            str(tmp_path / "dask"),
            "--quiet",
        ]
    )
    assert "reused" in capsys.readouterr().out
    local_run(["pixels"], [HUMAN], tmp_path / "local", tmp_path / "local-cache", options)
    assert stored(tmp_path / "dask") == stored(tmp_path / "local")


def test_cli_refuses_two_places_to_run(capsys, tmp_path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--scheduler", "tcp://127.0.0.1:1", "--workers", "2", "-m", "pixels"])
    assert exit_info.value.code == 2 and "not both" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["score", "pixels", HUMAN, "--layer-groups", "2"])
    assert (
        exit_info.value.code == 2
        and "--scheduler ADDRESS or --workers N" in capsys.readouterr().err
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["score", "pixels", HUMAN, "--scheduler", str(tmp_path / "no-scheduler.json")])
    assert (
        exit_info.value.code == 2 and "no-scheduler.json does not exist" in capsys.readouterr().err
    )


def test_the_client_saves_a_result_its_view_of_the_folder_lacks(options, tmp_path, caplog) -> None:
    """Workers that wrote into a folder the client does not see (not shared): the client saves
    what they sent back; where the folder is shared, it writes nothing."""
    from brainalign.distributed import _ensure_stored

    [outcome] = score("pixels", HUMAN, results=tmp_path / "worker-view", options=options)
    client_view = ResultsStore(tmp_path / "client-view")
    with caplog.at_level("WARNING"):
        _ensure_stored(client_view, outcome)
    assert "is the results folder shared" in caplog.text
    assert stored(tmp_path / "client-view") == stored(tmp_path / "worker-view")
    written = {p: p.stat().st_mtime_ns for p in (tmp_path / "client-view").rglob("*")}
    caplog.clear()
    _ensure_stored(client_view, outcome)
    assert not caplog.text and written == {
        p: p.stat().st_mtime_ns for p in (tmp_path / "client-view").rglob("*")
    }


def test_a_local_cluster_leaves_this_process_environment_as_it_was(monkeypatch) -> None:
    """Dask's nannies set OMP_NUM_THREADS=1 (and more) in the process that starts them; after
    open_client, a subprocess started later must get this process's own thread settings."""
    import os

    from brainalign.distributed import open_client

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = dict(os.environ)
    with open_client(workers=1) as client:
        assert client.run(lambda: os.environ.get("OMP_NUM_THREADS")) != {}
        assert set(client.run(lambda: os.environ.get("OMP_NUM_THREADS")).values()) == {"1"}
    assert dict(os.environ) == before
