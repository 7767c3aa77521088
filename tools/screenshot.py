"""Screenshots of a built leaderboard for the README, in headless Debian Chromium via Playwright:
the first screen of the index at 1366×768 and at 1920×1080, and the first screen of the top model's
page at 1366×768.

    python tools/screenshot.py results/leaderboard.html docs/

writes docs/leaderboard-1366x768.png, docs/leaderboard-1920x1080.png and docs/leaderboard-model.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]
SIZES = ((1366, 768), (1920, 1080))


def main(index: Path, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for width, height in SIZES:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(index.resolve().as_uri())
            written.append(folder / f"leaderboard-{width}x{height}.png")
            page.screenshot(path=str(written[-1]))
            if width == SIZES[0][0]:
                page.locator("#leaderboard tbody tr td.model a").first.click()
                page.wait_for_load_state("load")
                written.append(folder / "leaderboard-model.png")
                page.screenshot(path=str(written[-1]))
            page.close()
        browser.close()
    return written


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    for path in main(Path(sys.argv[1]), Path(sys.argv[2])):
        print(f"wrote {path}")
