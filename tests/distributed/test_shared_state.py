"""What keeps concurrent workers honest without a cluster: deterministic pair keys, the per-pair
lock (which dies with its holder), contiguous layer groups, portable model ids, and a local path
that never imports Dask."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from dask_helpers import HUMAN

from brainalign.distributed import _portable_id, _score_task, pair_key, pair_lock, split_layers
from brainalign.execution import ScoringOptions

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def test_pair_keys_are_the_same_for_the_same_inputs_only(tmp_path: Path) -> None:
    options = ScoringOptions(seed=0)
    key = pair_key("pixels", f"{HUMAN}@1", tmp_path, options)
    assert key == pair_key("pixels", f"{HUMAN}@1", tmp_path, ScoringOptions(seed=0))
    assert key.startswith("brainalign-pair-")
    others = {
        pair_key("pixels:other", f"{HUMAN}@1", tmp_path, options),
        pair_key("pixels", "mur2013.judgements@1", tmp_path, options),
        pair_key("pixels", f"{HUMAN}@1", tmp_path / "elsewhere", options),
        pair_key("pixels", f"{HUMAN}@1", tmp_path, replace(options, seed=1)),
        pair_key("pixels", f"{HUMAN}@1", tmp_path, replace(options, layers="all")),
        pair_key("pixels", f"{HUMAN}@1", tmp_path, options, force=True),
    }
    assert key not in others and len(others) == 6


def test_layer_groups_are_contiguous_and_cover_every_layer_once() -> None:
    layers = [f"l{i}" for i in range(11)]
    groups = split_layers(layers, 3)
    assert [len(g) for g in groups] == [4, 3, 4]
    assert [name for group in groups for name in group] == layers
    assert split_layers(layers[:2], 5) == [("l0",), ("l1",)]
    assert split_layers(layers, 1) == [tuple(layers)]


def _hold_lock_in_another_process(folder: Path) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import sys, time
        from brainalign.distributed import pair_lock
        with pair_lock({str(folder)!r}, "pixels", "{HUMAN}@1"):
            print("locked", flush=True)
            time.sleep(120)
    """)
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_the_pair_lock_excludes_others_and_dies_with_its_holder(tmp_path: Path) -> None:
    holder = _hold_lock_in_another_process(tmp_path)
    lock_file = tmp_path / ".locks" / "pixels" / f"{HUMAN}@1.lock"
    with open(lock_file, "a+b") as handle, pytest.raises(BlockingIOError):
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    acquired = threading.Event()

    def wait_for_it() -> None:
        with pair_lock(tmp_path, "pixels", f"{HUMAN}@1"):
            acquired.set()

    waiter = threading.Thread(target=wait_for_it, daemon=True)
    waiter.start()
    assert not acquired.wait(1.0)  # blocked while the holder lives
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert acquired.wait(10.0)  # the kernel released the dead holder's lock


def test_two_schedulers_racing_on_one_pair_compute_it_once(
    shared_data: Path, tmp_path: Path, monkeypatch
) -> None:
    """Two tasks of the same pair that no scheduler could merge (as from two clusters sharing a
    results folder): the lock makes the second wait and reuse the first's result."""
    monkeypatch.setenv(
        "BRAINALIGN_CACHE", str(tmp_path / "cache")
    )  # a real extraction: a wide race
    options = ScoringOptions(data_dir=shared_data, batch_size=16)
    outcomes = []

    def task() -> None:
        outcomes.append(_score_task("pixels", HUMAN, str(tmp_path), options, False, 1))

    threads = [threading.Thread(target=task) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(o.status for o in outcomes) == ["reused", "scored"]
    assert outcomes[0].result.content_id() == outcomes[1].result.content_id()


def test_relative_model_files_are_made_absolute_for_workers(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "net.py").write_text("def build(): ...\n")
    monkeypatch.chdir(tmp_path)
    assert _portable_id("net.py:build") == f"{tmp_path.resolve() / 'net.py'}:build"
    assert _portable_id("pixels") == "pixels"
    assert _portable_id("timm:resnet18:untrained") == "timm:resnet18:untrained"
    assert _portable_id("absent.py:build") == "absent.py:build"  # the worker will say it is missing


def test_the_local_path_never_imports_dask(shared_data: Path, tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import sys
        from brainalign.cli import main
        from brainalign.api import score
        try:
            main(["score", "--help"])
        except SystemExit:
            pass
        [outcome] = score("pixels", "{HUMAN}", results="results", data_dir={str(shared_data)!r})
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed"))
        print("STATUS:", outcome.status, "DASK:", loaded)
    """)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
        env={**os.environ, "BRAINALIGN_CACHE": str(tmp_path / "cache")},
    )
    assert "--scheduler ADDRESS" in done.stdout  # the option is there, Dask is not
    assert done.stdout.strip().endswith("STATUS: scored DASK: []")
