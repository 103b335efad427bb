"""Fixtures of the browser tests: Debian's chromium driven by Playwright, and the real API serving the page.

One browser for the whole session (fast); a new browser context (fresh sessionStorage) per test. The page runs
in Europe/Berlin with a German locale (dates as in the admin guide: ``28.06.2025, 08:00``) and a clock fixed at
18 June 2025, so "today" and the default month are the guide's June 2025.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from web_pages import ARTIFACTS, new_page
from web_server import LiveServer, copy_of, prepare_database
from web_world import seed_actions

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: Assertions wait up to 10 s (Playwright's default is 5 s): a loaded CI machine must not fail a correct page.
expect.set_options(timeout=10_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here that drives chromium is a ``browser`` test (``-m "not browser"`` leaves them out)."""
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here) and "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One browser per test module. Playwright's synchronous API keeps an event loop running in this thread
    while it is open, so it must be closed before asyncio tests of other directories run."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test world in a migrated SQLite file, made once; servers run on copies of it."""
    path = tmp_path_factory.mktemp("web-template") / "calendar.db"
    prepare_database(f"sqlite:///{path}", seed_actions())
    return path


@pytest.fixture(scope="session")
def server(seeded_database: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The API with the page over the test world; shared by the tests that only read."""
    live = LiveServer(copy_of(seeded_database, tmp_path_factory.mktemp("web"))).start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def own_server(seeded_database: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """A server of the test's own, for tests that change the world or stop the server."""
    live = LiveServer(copy_of(seeded_database, tmp_path)).start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    page = new_page(browser)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Console errors catch what raises nothing, such as a Content-Security-Policy violation; a refused
    # WebSocket while the server is down is expected in the connection-loss test.
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "WebSocket connection" not in message.text
            else None
        ),
    )
    try:
        yield page
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        page.context.close()
    assert not errors, f"the page raised: {errors}"
