"""Debian's Chromium driven by Playwright, for tests that look at pages as a person would.

Never downloads a browser: the system Chromium (``PARKPLAN_CHROMIUM`` or
``/usr/bin/chromium``, installed by ``.ci/run``) is launched with the flags that keep it off
the network on its own account.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("PARKPLAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"


@contextlib.contextmanager
def chromium_page(width: int = 1280, height: int = 800):
    """Yield ``(page, requests, errors)``: a new page, every URL it asked for, its JS errors.

    Skips the test with a reason when the system Chromium or Playwright is missing.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip(f"system Chromium not found at {CHROMIUM} (.ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    requests: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("request", lambda req: requests.append(req.url))
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page, requests, errors
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:
    """Save a screenshot under ``artifacts/screenshots`` (kept by CI as a test artefact)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path))
    return path
