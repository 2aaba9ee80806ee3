"""Debian's Chromium driven by Playwright, for tests that look at pages as a person would.

Never downloads a browser: the system Chromium (``PARKPLAN_CHROMIUM`` or
``/usr/bin/chromium``, installed by ``.ci/run``) is launched with the flags that keep it off
the network on its own account.

Without ``PARKPLAN_CHROMIUM`` the browser tests skip (with the reason) when Chromium or
Playwright is missing. With it set (``.ci/run`` sets it), a browser that is missing or does
not start **fails** the test: CI cannot pass without having run them.

Each page gets a screenshot under ``artifacts/screenshots/`` (kept by CI); a test that fails
inside :func:`chromium_page` also leaves ``failed-<test>.png`` of where it stood.

Tests wait on events, never for a while: for a selector, a text, or :func:`settle` (the
page has painted its last change), so that a busy machine makes them slower, not red.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pytest

CHROMIUM_ENV = "PARKPLAN_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
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


def chromium_path() -> tuple[str, bool]:
    """Return the Chromium to launch and whether ``PARKPLAN_CHROMIUM`` demands it."""
    named = os.environ.get(CHROMIUM_ENV, "").strip()
    return (named or DEFAULT_CHROMIUM), bool(named)


def _unavailable(reason: str, required: bool) -> None:
    if required:
        pytest.fail(
            f"{reason} (${CHROMIUM_ENV} is set, so the browser tests must run)", pytrace=False
        )
    pytest.skip(f"{reason} (.ci/run installs it and sets ${CHROMIUM_ENV})")


def _test_name() -> str:
    current = os.environ.get("PYTEST_CURRENT_TEST", "page").split(" ")[0]
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", current.split("::")[-1])


@contextlib.contextmanager
def chromium_page(width: int = 1280, height: int = 800):
    """Yield ``(page, requests, errors)``: a new page, every URL it asked for, its JS errors.

    Skips the test with a reason when Chromium or Playwright is missing and
    ``PARKPLAN_CHROMIUM`` is unset; fails it when the variable is set and the browser
    cannot be found or launched.
    """
    chromium, required = chromium_path()
    if not Path(chromium).exists():
        _unavailable(f"system Chromium not found at {chromium}", required)
    try:
        from playwright import sync_api
    except ImportError as err:
        _unavailable(f"Playwright is not installed: {err}", required)
    requests: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        except Exception as err:  # noqa: BLE001 - any launch failure is reported as such
            _unavailable(f"Chromium at {chromium} did not start: {err}", required)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("request", lambda req: requests.append(req.url))
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            try:
                yield page, requests, errors
            except BaseException:
                with contextlib.suppress(Exception):
                    screenshot(page, f"failed-{_test_name()}.png")
                raise
        finally:
            browser.close()


# Two animation frames: the first runs before the browser paints the last change, the
# second after it has.
_PAINTED = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


def settle(page, timeout: float = 30000) -> None:
    """Wait until the page has painted its last change and every image has loaded or failed.

    The event to wait for before a screenshot, a click on something just redrawn, or a check
    that an injected ``onerror`` handler did *not* run.
    """
    page.wait_for_function(
        "() => Array.from(document.images).every(img => img.complete)", timeout=timeout
    )
    page.evaluate(_PAINTED)


def screenshot(page, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot under ``artifacts/screenshots`` (kept by CI as a test artefact)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=full_page)
    return path
