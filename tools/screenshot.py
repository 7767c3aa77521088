"""Save a screenshot of a built leaderboard (for the README): headless Debian Chromium via Playwright.

    python tools/screenshot.py results/leaderboard.html docs/leaderboard.png [--full]
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

html, png = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(html.as_uri())
    page.screenshot(path=str(png), full_page="--full" in sys.argv)
    browser.close()
