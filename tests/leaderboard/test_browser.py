"""The leaderboard in a real headless Chromium (Debian's `chromium`, driven by Playwright): layout
facts at common window sizes (the ranked table fits the width, its first rows are on the first
screen), sorting, filtering, re-weighting the overall rank, the cite button, the CSV and the
analysis page's JSON downloads, hostile names shown as text, no console errors and no network, on
every kind of page.

Skipped only where chromium is absent and BRAINALIGN_REQUIRE_BROWSER is unset; CI sets it."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import pytest
from synthetic_results import (
    HOSTILE_MODEL,
    HUMAN,
    MORE_HUMAN,
    PROBE,
    fill_store,
    hostile_result,
    two_labs,
)

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Window sizes the first screen must work at (a common laptop, a common desktop).
VIEWPORTS = ((1366, 768), (1920, 1080))
#: Models of the wide board: long ids as timm and open_clip name them, trained and untrained.
WIDE_MODELS = (
    "convnext_base.fb_in22k_ft_in1k",
    "convnext_base.fb_in22k_ft_in1k:untrained",
    "vit_base_patch16_clip_224.openai",
    "vit_base_patch16_clip_224.openai:untrained",
    "efficientnet_lite0",
    "efficientnet_lite0:untrained",
    "clip_rn50",
    "vit_b_16:untrained",
    "resnet50",
    "resnet50:untrained",
    "pixels",
)
#: Eight benchmarks: the probe and seven human ones, more than the default run's five.
WIDE_BENCHMARKS = (PROBE, *HUMAN, *MORE_HUMAN)


def _chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    if executable is None:
        message = "chromium not found: apt-get install chromium (Debian) to run the browser test"
        if os.environ.get("BRAINALIGN_REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail(message)
        pytest.skip(message)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def wide_board(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eleven models (long ids among them) on eight benchmarks, plus a hostile result."""
    from brainalign.leaderboard.render import build

    folder = tmp_path_factory.mktemp("wide")
    store = fill_store(folder / "results", models=WIDE_MODELS, benchmarks=WIDE_BENCHMARKS)
    store.save(hostile_result())
    return build(store.folder, folder / "leaderboard.html").path


def _open(browser, path: Path, width: int = 1366, height: int = 768, **options):
    """A tab on ``path`` with every console message, page error, dialog and request recorded."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    tab = context.new_page()
    tab.events = {"console": [], "errors": [], "dialogs": [], "requests": []}
    tab.on("console", lambda m: tab.events["console"].append((m.type, m.text)))
    tab.on("pageerror", lambda e: tab.events["errors"].append(str(e)))
    tab.on("request", lambda r: tab.events["requests"].append(r.url))

    def on_dialog(dialog):
        tab.events["dialogs"].append(dialog.message)
        dialog.dismiss()

    tab.on("dialog", on_dialog)
    tab.goto(path.as_uri())
    tab.wait_for_load_state("load")
    return context, tab


@pytest.fixture
def page(browser, wide_board):
    context, tab = _open(browser, wide_board)
    yield tab
    context.close()


def _clean(tab) -> None:
    assert tab.events["errors"] == []
    assert [m for m in tab.events["console"] if m[0] in ("error", "warning")] == []
    assert [
        u for u in tab.events["requests"] if not u.startswith(("file:", "data:", "blob:"))
    ] == []
    assert tab.events["dialogs"] == []


def _models(tab) -> list[str]:
    return tab.eval_on_selector_all(
        "#leaderboard tbody tr:not([hidden])", "rows => rows.map(r => r.dataset.model)"
    )


def _values(tab, index: int) -> list:
    cells = tab.eval_on_selector_all(
        f"#leaderboard tbody tr:not([hidden]) td:nth-child({index + 1})",
        "cells => cells.map(c => c.dataset.value)",
    )
    return [float(v) if v else None for v in cells]


def _header(tab, start: str) -> int:
    heads = tab.locator("#leaderboard thead th").all_inner_texts()
    return next(i for i, text in enumerate(heads) if text.replace("\n", " ").startswith(start))


@pytest.mark.parametrize("width,height", VIEWPORTS)
def test_the_first_screen_answers_the_question(
    browser, wide_board, width: int, height: int
) -> None:
    context, tab = _open(browser, wide_board, width, height)
    geometry = tab.evaluate("""() => {
        const box = e => e.getBoundingClientRect();
        const table = document.getElementById('leaderboard');
        return {
            scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
            innerHeight: window.innerHeight, table: box(table).right,
            heads: Array.from(table.tHead.rows[0].cells).map(c => [box(c).left, box(c).right, c.textContent]),
            firstRow: box(table.tBodies[0].rows[0]).bottom, thirdRow: box(table.tBodies[0].rows[2]).bottom,
            title: box(document.querySelector('h1')).bottom,
            clipped: Array.from(table.tBodies[0].rows[0].cells).filter(c => c.scrollWidth > c.clientWidth + 1).length,
        };
    }""")
    assert geometry["scrollWidth"] <= geometry["innerWidth"], "the page scrolls sideways"
    assert geometry["table"] <= geometry["innerWidth"]
    for left, right, text in geometry[
        "heads"
    ]:  # every column, each human benchmark's among them, in view
        assert 0 <= left < right <= geometry["innerWidth"], text
    heads = " ".join(text for _, _, text in geometry["heads"])
    for identifier in (*HUMAN, *MORE_HUMAN):
        assert identifier.rpartition("@")[0].rpartition(".")[2] in heads
    assert geometry["thirdRow"] <= geometry["innerHeight"], "the first rows are below the fold"
    assert geometry["title"] < geometry["firstRow"]
    assert geometry["clipped"] == 0, "a number in the first row is cut off"
    assert tab.locator("p.lede").is_visible()
    assert tab.locator("details.warnings").count() == 0  # the default set-up warns about nothing
    _clean(tab)
    context.close()


def test_rows_are_ranked_by_the_overall_score(page) -> None:
    overall = _header(page, "Overall")
    values = _values(page, overall)
    known = [v for v in values if v is not None]
    assert len(known) == len(WIDE_MODELS) and values[: len(known)] == sorted(known, reverse=True)
    assert _values(page, 0)[: len(known)] == list(range(1, len(known) + 1))
    assert (
        _models(page)[-1] == HOSTILE_MODEL
    )  # scored on one benchmark only: no overall score, last
    before = page.locator("#leaderboard td.overall").all_inner_texts()
    page.evaluate("window.brainalignRerank()")  # the page's JavaScript recomputes what Python wrote
    assert page.locator("#leaderboard td.overall").all_inner_texts() == before
    _clean(page)


def test_reweighting_and_switching_off_the_overall_rank(page) -> None:
    overall = _header(page, "Overall")
    columns = {
        name: _header(page, name)
        for name in ("IT", "hIT", "judgements", "V1", "V4", "face", "scene")
    }
    page.click("#weights summary")
    for name in columns:
        if name != "V1":
            page.fill(f".weights-panel input[data-benchmark^='{_identifier(name)}']", "0")
    values, v1 = _values(page, overall), _values(page, columns["V1"])
    assert [round(v, 9) for v in values if v is not None] == sorted(
        (round(v, 9) for v in v1 if v is not None), reverse=True
    )  # the mean of V1 alone
    assert _values(page, overall) == sorted(values, key=lambda v: (v is None, -(v or 0)))
    assert "weights" in page.locator("#rank-rule").inner_text()
    page.click("#weights-reset")
    page.uncheck("#overall-on")
    assert not page.locator("#leaderboard th.overall").is_visible()
    assert not page.locator("#leaderboard td.rank").first.is_visible()
    _clean(page)


def _identifier(name: str) -> str:
    return next(i for i in (*HUMAN, *MORE_HUMAN) if i.partition("@")[0].rpartition(".")[2] == name)


def test_sorting_a_column_both_ways_and_by_name(page) -> None:
    index = _header(page, "IT")
    page.locator("#leaderboard thead th").nth(index).locator("button").click()
    values = _values(page, index)
    known = [v for v in values if v is not None]
    assert len(known) == len(WIDE_MODELS) + 1 and values == sorted(known, reverse=True)
    assert _models(page)[0] == "clip_rn50"  # the planted strongest model
    page.locator("#leaderboard thead th").nth(index).locator("button").click()
    assert _values(page, index) == sorted(known)
    page.locator("#leaderboard thead th").nth(1).locator("button").click()
    assert _models(page) == sorted(_models(page), key=str.lower)
    _clean(page)


def test_filtering_by_text_and_by_family(page) -> None:
    page.fill("#filter-text", "untrained")
    shown = _models(page)
    assert shown and all(":untrained" in m or "untrained" in m for m in shown)
    assert (
        page.locator("#shown-count").inner_text()
        == f"{len(shown)} of {len(WIDE_MODELS) + 1} models shown"
    )
    page.fill("#filter-text", "")
    page.select_option("#filter-family", "ViT")
    assert _models(page) == ["vit_b_16:untrained"]
    page.select_option("#filter-family", "")
    page.select_option("#filter-objective", "CLIP")
    assert _models(page) == ["clip_rn50"]
    _clean(page)


def test_a_hostile_model_name_renders_as_text(page) -> None:
    cell = page.locator("#leaderboard td.model a", has_text=HOSTILE_MODEL)
    assert cell.count() == 1 and cell.inner_text() == HOSTILE_MODEL
    page.fill("#filter-text", "<script>")
    assert _models(page) == [HOSTILE_MODEL]
    cell.click()
    page.wait_for_load_state("load")
    page.locator("details.provenance summary").first.click()
    assert page.get_by_text("<img src=x onerror=alert(3)>", exact=False).first.is_visible()
    assert page.locator("img").count() == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 1
    _clean(page)


def test_the_csv_download_holds_every_number(page) -> None:
    with page.expect_download() as caught:
        page.click("#download-csv")
    rows = list(csv.DictReader(io.StringIO(Path(caught.value.path()).read_text())))
    assert {r["model"] for r in rows} == {*WIDE_MODELS, HOSTILE_MODEL}
    assert len(rows) == len(WIDE_MODELS) * (2 + len(HUMAN) + len(MORE_HUMAN)) + 1
    assert all(len(r["result_id"]) == 64 for r in rows)
    _clean(page)


def test_the_analysis_page_downloads_its_numbers_with_the_claims(browser, wide_board) -> None:
    from brainalign.leaderboard.render import files_folder

    context, tab = _open(browser, files_folder(wide_board) / "analysis.html")
    with tab.expect_download() as caught:
        tab.click("#download-data")
    assert caught.value.suggested_filename == "brainalign-analysis.json"
    data = json.loads(Path(caught.value.path()).read_text())
    statuses = tab.locator("#claims .claim > div:first-child > span").all_inner_texts()
    assert [
        c["status"] for c in data["claims"]
    ] == statuses and statuses  # the verdicts the page shows
    assert data["decisive_tests"] and all(
        ("estimate" in r) == r["testable"] for r in data["decisive_tests"]
    )
    _clean(tab)
    context.close()


def test_the_cite_button_copies_the_methods_text_and_bibtex(browser, wide_board) -> None:
    from brainalign.leaderboard.render import files_folder, slug

    model = files_folder(wide_board) / "models" / f"{slug('clip_rn50')}.html"
    context, tab = _open(browser, model, permissions=["clipboard-read", "clipboard-write"])
    button = tab.locator("button.cite").first
    expected = tab.locator(f"#{button.get_attribute('data-cite')}").input_value()
    button.click()
    tab.wait_for_function("document.querySelector('button.cite').textContent === 'copied'")
    copied = tab.evaluate("navigator.clipboard.readText()")
    assert copied == expected and "@" in copied and "clip_rn50" in copied
    _clean(tab)
    context.close()


def test_every_kind_of_page_opens_without_errors(browser, wide_board) -> None:
    from brainalign.leaderboard.render import files_folder, slug

    folder = files_folder(wide_board)
    for path in (
        folder / "analysis.html",
        folder / "models" / f"{slug('resnet50')}.html",
        folder / "benchmarks" / f"{slug(PROBE)}.html",
    ):
        context, tab = _open(browser, path)
        assert tab.locator("h1").is_visible()
        assert tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path.name
        tab.locator("a", has_text="Leaderboard").first.click()
        tab.wait_for_load_state("load")
        assert tab.locator("#leaderboard").is_visible()  # the way back to the table
        _clean(tab)
        context.close()


def test_a_merged_page_flags_the_conflict_in_one_line(browser, tmp_path: Path) -> None:
    from brainalign.leaderboard.render import build

    lab_a, lab_b = two_labs(tmp_path)
    out = build([lab_a.folder, lab_b.folder], tmp_path / "merged.html").path
    context, tab = _open(browser, out)
    warnings = tab.locator("details.warnings")
    assert warnings.locator("summary").inner_text() == "⚠ 1 warning"
    assert not warnings.locator("li").first.is_visible()  # collapsed until asked
    warnings.locator("summary").click()
    assert "conflict: clip_rn50 on" in warnings.locator("li").first.inner_text()
    row = tab.locator("#leaderboard tbody tr[data-model='clip_rn50']")
    assert row.locator("td.conflict").count() == 1
    row.locator("td.conflict a").click()
    tab.wait_for_load_state("load")
    assert tab.evaluate("location.hash") == "#conflicts"
    assert (
        "lab-a" in tab.locator("#conflicts").inner_text()
        and "lab-b" in tab.locator("#conflicts").inner_text()
    )
    _clean(tab)
    context.close()
