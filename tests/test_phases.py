"""The per-phase account: exclusive nesting, one account per thread, and `brainalign run`'s table."""

from __future__ import annotations

import threading
import time

import pytest

from brainalign import phases
from brainalign.cli import main
from brainalign.results import ResultsStore


def test_nested_phases_are_charged_to_the_inner_one_only() -> None:
    before = phases.elapsed()
    with phases.phase("forward"):
        time.sleep(0.05)
        with phases.phase("io"):
            time.sleep(0.1)
        time.sleep(0.05)
    spent = phases.since(before)
    assert 0.1 <= spent["io"] < 0.2
    assert 0.1 <= spent["forward"] < spent["io"] + 0.1  # its own 0.1 s, not the nested io
    assert sum(spent.values()) == pytest.approx(spent["io"] + spent["forward"])


def test_each_thread_keeps_its_own_account() -> None:
    before = phases.elapsed()
    seen: dict[str, float] = {}

    def worker() -> None:
        mine = phases.elapsed()
        with phases.phase("gram"):
            time.sleep(0.05)
        seen.update(phases.since(mine))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen["gram"] >= 0.05
    assert phases.since(before)["gram"] == 0.0


def test_an_unknown_phase_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown phase"), phases.phase("lunch"):
        pass


#: A small network with a real forward pass (the pixel baseline has none: its Gram comes from
#: the preprocessed images directly), as a user's FILE.py:FUNCTION.
_SMALL_NETWORK = """
import torch
import torchvision.transforms as T

from brainalign.models import from_module


def build():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 5, stride=4), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(4)
    )
    preprocess = T.Compose([T.Resize(32), T.CenterCrop(32), T.ToTensor()])
    return from_module(net, preprocess, layers="all", model_id="small_network")
"""


def test_run_ends_with_where_the_time_went(shared_data, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv(
        "BRAINALIGN_CACHE", str(tmp_path / "cache")
    )  # its own: the layer RDMs are computed here
    network = tmp_path / "small_network.py"
    network.write_text(_SMALL_NETWORK, encoding="utf-8")
    main(
        [
            "-q",
            "run",
            "--results",
            str(tmp_path / "results"),
            "--data-dir",
            str(shared_data),
            "-m",
            f"{network}:build",
            "-b",
            "kriegeskorte2008.hIT",
            "-b",
            "mur2013.judgements",
        ]
    )
    out = capsys.readouterr().out
    assert "2 pair(s) scored" in out
    for label in (
        "forward passes",
        "Gram matrices, RDMs",
        "ranking, comparison",
        "leaderboard page",
        "peak memory",
    ):
        assert label in out, out
    timings = [
        r.provenance["timings"]
        for r in ResultsStore(tmp_path / "results").load_all(strict=True).results
    ]
    assert any(t["forward_s"] > 0 and t["gram_s"] > 0 for t in timings)  # the pair that extracted
    assert all(t["compare_s"] > 0 for t in timings)


def test_each_phase_gets_the_peak_memory_held_while_it_ran() -> None:
    """A 400 MB block mapped and unmapped inside ``gram`` raises gram's peak by about that much;
    the ``compare`` phase after it, which allocates nothing, is charged what the process holds
    then. The block is an mmap of its own, so that it leaves the process when unmapped whatever
    malloc keeps (another thread inside ``models.allocator.reuse_freed_memory``, say)."""
    import mmap

    import numpy as np

    with phases.track_memory() as memory:
        with phases.phase("io"):
            time.sleep(0.02)
        with phases.phase("gram"):
            block = mmap.mmap(-1, 400 * 2**20)
            np.frombuffer(block, dtype=np.uint8).fill(1)  # every page touched; the view is gone
            time.sleep(0.02)
            block.close()
        with phases.phase("compare"):
            time.sleep(0.02)
    peaks = memory.peaks
    assert set(peaks) == {"io", "gram", "compare"}
    assert peaks["gram"] - peaks["io"] > 300 * 2**20
    assert peaks["gram"] - peaks["compare"] > 300 * 2**20


def test_memory_is_charged_to_the_phases_of_other_threads_too() -> None:
    import numpy as np

    def worker() -> None:
        with phases.phase("forward"):
            block = np.ones(25 * 2**20)  # 200 MB
            time.sleep(0.05)
            del block

    with phases.track_memory() as memory:
        with phases.phase("io"):
            time.sleep(0.01)
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert memory.peaks["forward"] - memory.peaks["io"] > 150 * 2**20
