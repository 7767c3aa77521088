"""Benchmarks come through one door: the entry points of the group ``brainalign.benchmarks``, which
brainalign's own built-ins use too. A package installed beside brainalign adds its benchmarks to
`brainalign benchmarks`; a broken one is reported and does not take the others down."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from brainalign.benchmarks import registry
from brainalign.benchmarks.registry import all_benchmarks, broken_plugins, candidates, get, origin
from brainalign.cli import main
from brainalign.errors import BrainAlignError

PLUGIN = """
from brainalign.benchmarks import Availability, Benchmark


class Toy(Benchmark):
    id, version, title = "toylab.toy", 3, "A toy benchmark from another package"
    description = metric = bibtex = "toy"
    default = False

    def availability(self, data_dir):
        return Availability(True)

    def stimulus_sets(self, data_dir):
        return {}

    def score(self, layers, *, seed=0, data_dir=None):
        raise NotImplementedError


def broken():
    raise RuntimeError("the plugin's data server is down")
"""


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A distribution 'toylab' on sys.path registering one working and one broken entry point."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "toylab_plugin.py").write_text(PLUGIN)
    info = site / "toylab-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toylab\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[brainalign.benchmarks]\ntoy = toylab_plugin:Toy\nbroken = toylab_plugin:broken\n"
    )
    monkeypatch.syspath_prepend(str(site))
    registry.refresh()
    yield
    monkeypatch.undo()
    sys.modules.pop("toylab_plugin", None)
    registry.refresh()


def test_the_built_in_benchmarks_come_through_the_entry_points() -> None:
    assert {origin(b) for b in all_benchmarks()} == {"brainalign"}
    assert origin(get("probe.saliency_semantic")) == "brainalign"


def test_an_installed_package_adds_its_benchmarks_and_a_broken_one_is_reported(
    installed, caplog, capsys
) -> None:
    toy = get("toylab.toy")
    assert toy.identifier == "toylab.toy@3" and origin(toy) == "toylab"
    assert get("kriegeskorte2008.hIT").identifier  # the built-ins are still there
    assert [str(b) for b in broken_plugins()] == [
        "plugin 'broken' of package toylab: cannot be loaded: RuntimeError: the plugin's data server is down"
    ]
    assert [r.getMessage() for r in caplog.records].count(
        f"benchmark {broken_plugins()[0]}; its benchmarks are left out"
    ) == 1  # reported once, when loaded
    main(["benchmarks"])
    out, _ = capsys.readouterr()
    assert "toylab.toy@3" in out and "A toy benchmark from another package" in out


def test_a_second_registration_of_an_identifier_is_refused(installed) -> None:
    with pytest.raises(BrainAlignError, match=r"toylab.toy@3 is already registered \(by toylab\)"):
        registry.register(get("toylab.toy"))


def test_no_version_of_a_built_in_id_can_be_registered(installed) -> None:
    toy = get("toylab.toy").inner
    toy.id, toy.version = "mur2013.judgements", 9
    with pytest.raises(
        BrainAlignError, match=r"mur2013.judgements is the id of one of brainalign's own"
    ):
        registry.register(toy)
    assert get("mur2013.judgements").version < 9


def test_a_partial_name_lists_the_benchmarks_it_begins() -> None:
    per_metric = [
        f"algonauts2019.92images.{roi}{metric}"
        for roi in ("EVC", "IT")
        for metric in ("", ".cka", ".encoding", ".wrsa")
    ]
    assert [b.id for b in candidates("algonauts2019.92images")] == per_metric
    assert "algonauts2019.92images.IT@2" in [
        b.identifier for b in candidates("algonauts2019.92images")
    ]
    assert [b.id for b in candidates("92images")] == per_metric
    assert [b.identifier for b in candidates("mur2013")] == ["mur2013.judgements@2"]
    assert candidates("nothing.like.it") == [] and candidates("") == []
    with pytest.raises(
        BrainAlignError,
        match=r"matches 8: algonauts2019.92images.EVC, algonauts2019.92images.EVC.cka",
    ):
        get("algonauts2019.92images")
