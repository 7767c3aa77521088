"""The leaderboard in a real headless Chromium (Debian's `chromium`, driven by Playwright): it loads
from file:// with no network, sorts, filters, shows hostile names as text, logs no errors.

Skipped only where chromium is absent and BRAINALIGN_REQUIRE_BROWSER is unset; CI sets it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from synthetic_results import CARDS, HOSTILE_MODEL, two_labs

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


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


@pytest.fixture
def page(browser, built_leaderboard):
    """The leaderboard page of the synthetic results."""
    yield from _open(browser, built_leaderboard[0])


@pytest.fixture
def merged_page(browser, tmp_path: Path):
    """The page built from two labs' results folders with one deliberately conflicting entry."""
    from brainalign.leaderboard.render import build

    lab_a, lab_b = two_labs(tmp_path)
    build([lab_a.folder, lab_b.folder], tmp_path / "merged.html")
    yield from _open(browser, tmp_path / "merged.html")


def _open(browser, path: Path):
    """A tab on the page at ``path``, with every console message, page error, dialog and request recorded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
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
    yield tab
    context.close()


def _column(page, index: int, attribute: str | None = "data-value") -> list:
    cells = page.locator(f"#leaderboard tbody tr:not([hidden]) td:nth-child({index + 1})")
    if attribute is None:
        return [t.strip() for t in cells.all_inner_texts()]
    return [float(v) if v else None for v in (c.get_attribute(attribute) for c in cells.all())]


def _header_index(page, label: str) -> int:
    headers = page.locator("#leaderboard thead th").all_inner_texts()
    return next(i for i, text in enumerate(headers) if text.replace("\n", " ").startswith(label))


def test_loads_offline_without_errors_and_saves_a_screenshot(page, tmp_path: Path) -> None:
    assert page.title() == "brainalign leaderboard"
    assert page.locator("#leaderboard tbody tr").count() == len(CARDS) + 1
    assert page.locator("svg").count() > 10
    assert page.locator("#shown-count").inner_text() == f"{len(CARDS) + 1} of {len(CARDS) + 1} models shown"
    shot = tmp_path / "leaderboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    assert page.events["errors"] == []
    assert [m for m in page.events["console"] if m[0] in ("error", "warning")] == []
    assert [u for u in page.events["requests"] if not u.startswith(("file:", "data:", "blob:"))] == []


def test_sorting_a_numeric_column_both_ways(page) -> None:
    index = _header_index(page, "Semantic encoding")
    before = _column(page, 0, None)
    page.locator("#leaderboard thead th").nth(index).locator("button").click()
    values = _column(page, index)
    known = [v for v in values if v is not None]
    assert len(known) == len(CARDS)
    assert values[: len(known)] == sorted(known, reverse=True)  # models without a probe score sort last
    after = _column(page, 0, None)
    assert after != before and after[0] == "clip_rn50"  # the planted best semantic encoder
    assert page.locator("#leaderboard thead th").nth(index).get_attribute("aria-sort") == "descending"
    page.locator("#leaderboard thead th").nth(index).locator("button").click()
    values = _column(page, index)
    known = [v for v in values if v is not None]
    assert values[: len(known)] == sorted(known)
    assert _column(page, 0, None)[0] == "vit_b_16:untrained"


def test_sorting_a_text_column(page) -> None:
    page.locator("#leaderboard thead th").nth(0).locator("button").click()
    names = _column(page, 0, None)
    assert names == sorted(names, key=str.lower)
    page.locator("#leaderboard thead th").nth(0).locator("button").click()
    assert _column(page, 0, None) == sorted(names, key=str.lower, reverse=True)


def test_filtering_by_text_and_by_family(page) -> None:
    page.fill("#filter-text", "untrained")
    assert sorted(_column(page, 0, None)) == ["efficientnet_lite0:untrained", "vit_b_16:untrained"]
    assert page.locator("#shown-count").inner_text() == f"2 of {len(CARDS) + 1} models shown"
    page.fill("#filter-text", "")
    page.select_option("#filter-family", "ViT")
    assert _column(page, 0, None) == ["vit_b_16:untrained"]
    page.select_option("#filter-family", "")
    page.select_option("#filter-objective", "CLIP")
    assert _column(page, 0, None) == ["clip_rn50"]


def test_a_hostile_model_name_renders_as_text(page) -> None:
    cell = page.locator("#leaderboard td.model", has_text=HOSTILE_MODEL)
    assert cell.count() == 1 and cell.is_visible()
    assert cell.inner_text() == HOSTILE_MODEL
    page.fill("#filter-text", "<script>")
    assert _column(page, 0, None) == [HOSTILE_MODEL]
    page.locator("details.provenance summary", has_text=HOSTILE_MODEL).click()
    assert page.get_by_text("<img src=x onerror=alert(3)>", exact=False).first.is_visible()
    assert page.locator("img").count() == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 2
    assert page.events["dialogs"] == []
    assert page.events["errors"] == []


def test_the_data_download_is_valid_json(page) -> None:
    with page.expect_download() as caught:
        page.click("#download-data")
    data = json.loads(Path(caught.value.path()).read_text())
    assert {m["id"] for m in data["models"]} == {*CARDS, HOSTILE_MODEL}
    assert page.events["errors"] == []


def test_a_merged_page_shows_the_conflict_and_where_entries_came_from(merged_page) -> None:
    page = merged_page
    assert page.locator("#leaderboard tbody tr").count() == 3
    box = page.locator("#conflicts")
    assert box.is_visible() and "1 conflict(s)" in box.inner_text()
    assert box.locator("li", has_text="lab-a").count() == 1 and box.locator("li", has_text="lab-b").count() == 1
    row = page.locator("#leaderboard tbody tr", has_text="clip_rn50")
    cells = row.locator("td.conflict")
    assert cells.count() == 2 and cells.first.inner_text() == "conflict"
    cells.first.locator("a").click()
    assert page.evaluate("location.hash") == "#conflicts"
    index = _header_index(page, "algonauts2019")
    page.locator("#leaderboard thead th").nth(index).locator("button").click()  # conflicts sort last
    assert _column(page, 0, None)[-1] == "clip_rn50"
    sources = _column(page, _header_index(page, "From"), None)
    assert any("lab-a" in s and "lab-b" in s for s in sources)  # clip_rn50's agreeing results came from both
    ids = page.locator("#entries-table code.id").all_inner_texts()
    assert len(ids) == 3 * 4 - 1 and all(len(i) == 64 for i in ids)
    assert page.events["errors"] == []
    assert [m for m in page.events["console"] if m[0] in ("error", "warning")] == []
