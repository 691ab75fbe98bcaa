"""A real browser for the tests: Debian's Chromium, headless, driven by Playwright.

`.ci/run` installs Chromium (apt) and Playwright (the dev extra). On a developer's machine without Chromium the
browser tests are skipped with the command that installs it; under CI (`CI` set) they fail instead, so a missing
install step can never pass unnoticed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Screenshots a person can look at after a run (build/ is ignored by git).
SCREENSHOTS = ROOT / "build" / "screenshots"
# The machine has no internet: without these, Chromium keeps trying to reach Google's services at start-up.
FLAGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's own sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "Chromium não está instalado: sudo apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@contextmanager
def chromium() -> Iterator:
    """A headless Chromium for several pages: each `browser_page(browser=...)` gets a profile of its own."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def browser_page(width: int = 1400, height: int = 900, browser=None) -> Iterator:
    """A fresh page with its own profile (a new browser context: no cookies, storage or cache of another page),
    in `browser` or in a Chromium of its own; closed at the end. Starting Chromium and Playwright's driver costs
    2-3 s of CPU: a module with many pages shares one browser."""
    if browser is None:
        with chromium() as own, browser_page(width, height, own) as page:
            yield page
        return
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshot(page, name: str, **options) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), **options)
    return path
