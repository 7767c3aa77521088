"""The leaderboard at scale: 500 synthetic models × 8 benchmarks (the probe and seven human
benchmarks, each human result with its two-factor resamples), as files in a results folder.

Measured: the whole build (read, merge, aggregate, relations, every page) against reading the
results alone, the floor no build can beat (the ratio says what the page costs on top); the
weight of the index, the analysis page, a model page and the whole folder; in Chromium, the time
from opening the index to a usable table (its rows sorted and filtered by the page's script).
The build must succeed and the page must open with 500 rows and no errors; the numbers are
printed (and go into docs/speed.md), never asserted.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from synthetic_results import HUMAN, MORE_HUMAN, PROBE, fill_store, many_models

from brainalign.leaderboard.render import build, files_folder
from brainalign.results import ResultsStore

N_MODELS = 500
BENCHMARKS = (PROBE, *HUMAN, *MORE_HUMAN)
GROUP = f"leaderboard build, {N_MODELS} models × {len(BENCHMARKS)} benchmarks"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ResultsStore:
    return fill_store(
        tmp_path_factory.mktemp("scale") / "results",
        models=many_models(N_MODELS),
        benchmarks=BENCHMARKS,
    )


@pytest.fixture(scope="module")
def built(store: ResultsStore) -> dict:
    """The leaderboard of ``store``, built once, with its build time."""
    out = store.folder.parent / "leaderboard.html"
    start = time.perf_counter()
    page = build(store.folder, out)
    return {"page": page, "seconds": time.perf_counter() - start}


def _megabytes(path: Path) -> float:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6
    return path.stat().st_size / 1e6


def test_build_time_against_reading_the_results(benchmark, store, built, perf_record) -> None:
    contents = benchmark.pedantic(lambda: store.load_all(), rounds=1, iterations=1)
    assert len(contents.results) == N_MODELS * len(BENCHMARKS) and not contents.problems
    read = benchmark.stats.stats.mean
    page = built["page"]
    assert page.n_models == N_MODELS and page.n_pages == 3 + N_MODELS + len(BENCHMARKS)
    perf_record(GROUP, "reading the results (floor)", read)
    perf_record(
        GROUP,
        "brainalign",
        built["seconds"],
        note=f"the whole build, {page.n_pages} pages: {built['seconds'] / read:.1f}x the time to read the results",
    )


def test_page_weight(built, perf_record) -> None:
    page = built["page"]
    folder = files_folder(page.path)
    model = max((folder / "models").iterdir(), key=lambda p: p.stat().st_size)
    weights = {
        "index": _megabytes(page.path),
        "analysis page": _megabytes(folder / "analysis.html"),
        "largest model page": _megabytes(model),
        "CSV": _megabytes(folder / "leaderboard.csv"),
        "index + folder": _megabytes(page.path) + _megabytes(folder),
    }
    for name, megabytes in weights.items():
        print(f"{GROUP}: {name} {megabytes:.2f} MB")
    assert weights["index"] > 0


def test_the_index_opens_and_is_usable_in_chromium(built, perf_record) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).is_file():
        pytest.skip("chromium not found: apt-get install chromium (Debian)")
    from leaderboard.test_browser import CHROMIUM_ARGS

    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1366, "height": 768})
        tab.on("pageerror", lambda e: errors.append(str(e)))
        start = time.perf_counter()
        tab.goto(built["page"].path.as_uri())
        tab.wait_for_function(
            f"document.getElementById('shown-count').textContent.startsWith('{N_MODELS} of')"
        )
        interactive = time.perf_counter() - start
        start = time.perf_counter()
        tab.locator("#leaderboard thead th").nth(3).locator("button").click()
        tab.wait_for_function("document.querySelector('#leaderboard thead th[aria-sort]') !== null")
        sort = time.perf_counter() - start
        rows = tab.locator("#leaderboard tbody tr").count()
        browser.close()
    assert rows == N_MODELS and errors == []
    perf_record(f"{GROUP}: the index in Chromium", "open to a usable table", interactive)
    perf_record(f"{GROUP}: the index in Chromium", "sort a column", sort)
