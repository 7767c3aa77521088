"""Fixtures: a results folder filled with synthetic results (see synthetic_results.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from synthetic_results import fill_store, hostile_result, make_result

from brainalign.results import Result, ResultsStore


@pytest.fixture
def synthetic_store(tmp_path: Path) -> ResultsStore:
    """A results folder: four models × (probe + three human benchmarks)."""
    return fill_store(tmp_path / "results")


@pytest.fixture
def result_factory() -> Callable[..., Result]:
    return make_result


@pytest.fixture(scope="session")
def built_leaderboard(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ResultsStore]:
    """The synthetic results plus a hostile one, built into one HTML page (once per session)."""
    from brainalign.leaderboard.render import build

    store = fill_store(tmp_path_factory.mktemp("leaderboard") / "results")
    store.save(hostile_result())
    out = store.folder.parent / "leaderboard.html"
    build(store.folder, out)
    return out, store
