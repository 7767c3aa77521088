"""Helpers of the Dask tests: the benchmarks they score, the local reference run, and the store
contents two runs are compared by."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from brainalign.api import RunReport, ScoringOptions, run
from brainalign.benchmarks import Benchmark, get
from brainalign.leaderboard.render import files_folder
from brainalign.results import Result

HUMAN = "kriegeskorte2008.hIT"
ABSENT = "algonauts2023.V1d"  # its data is not in the shared folder: skipped (skip_absent=True)


def model_id(models_dir: Path, factory: str) -> str:
    return f"{models_dir / 'tiny_models.py'}:{factory}"


def local_run(
    models: Sequence[str],
    benchmarks: Sequence[object],
    results: Path,
    cache: Path,
    options: ScoringOptions,
) -> RunReport:
    """The reference: the plain local runner, in this process, with a layer-RDM cache of its own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BRAINALIGN_CACHE", str(cache))
        return run(
            list(models), list(benchmarks), results=results, options=options, skip_absent=True
        )


def stored(folder: Path) -> dict[str, object]:
    """Every result file under ``folder`` by relative path: tables as bytes, JSON documents parsed
    and without what records where and when they were computed (``provenance.timings``,
    ``provenance.environment``: a worker's thread count is its own) and so without the content id,
    which covers the environment."""
    files: dict[str, object] = {}
    # the run's page and exports are not results (the CSV carries the content ids)
    page = files_folder(folder / "leaderboard.html")
    for path in sorted(folder.glob("*/*")):
        if path.parent == page:
            continue
        name = str(path.relative_to(folder))
        if path.suffix == ".csv":
            files[name] = path.read_bytes()
        elif path.suffix == ".json":
            document = json.loads(path.read_text(encoding="utf-8"))
            assert document["provenance"].pop("timings")["extract_s"] >= 0
            assert document["provenance"].pop("environment")["libraries"]["torch"]
            assert len(document.pop("id")) == 64
            files[name] = document
    return files


def fingerprints(folder: Path) -> dict[tuple[str, str], str]:
    return {
        (r.model_id, r.benchmark): r.content_id()
        for r in (Result.read(p) for p in sorted(folder.glob("*/*.json")))
    }


class FirstUseBenchmark(Benchmark):
    """hIT under another id, whose stimuli are "built" on first use (slowly, each build logged in
    ``<folder>/builds``), as the default probe is: what must happen once, not once per worker."""

    id = "test.first_use"
    version = 1
    title = "hIT, built on first use"
    description = "kriegeskorte2008.hIT under another id"
    metric = "as kriegeskorte2008.hIT"
    bibtex = ""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def availability(self, data_dir):
        return get(HUMAN).availability(data_dir)

    def stimulus_sets(self, data_dir):
        if not (self.folder / "built").exists():
            with open(self.folder / "builds", "a", encoding="utf-8") as log:
                log.write(f"{os.getpid()}\n")
            time.sleep(2)
            (self.folder / "built").touch()
        return get(HUMAN).stimulus_sets(data_dir)

    def score(self, layers, *, seed=0, data_dir=None):
        return dataclasses.replace(
            get(HUMAN).score(layers, seed=seed, data_dir=data_dir), benchmark=self.identifier
        )

    def provenance(self, data_dir):
        return get(HUMAN).provenance(data_dir)
