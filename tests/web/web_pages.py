"""Small helpers to find things on the calendar page the way a user would describe them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from web_server import LiveServer
from web_world import BROWSER_ZONE, TODAY, WEB_LOGIN, WEB_PASSWORD

#: Screenshots of every test (gitignored).
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
DESKTOP = {"width": 1360, "height": 900}
#: axe-core from npm (tests/web/package.json; scripts/test runs ``npm ci`` when it is missing or stale).
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"


def new_page(browser: Browser, viewport: dict[str, int] = DESKTOP, **options: Any) -> Page:
    """A page in a fresh context (own sessionStorage) in Berlin, German dates, the clock at the world's today;
    ``options`` go to the context (``color_scheme="dark"``, ...)."""
    context = browser.new_context(
        viewport=viewport, timezone_id=BROWSER_ZONE, locale="de-DE", service_workers="block", **options
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.clock.set_fixed_time(TODAY)
    return page


def sign_in(page: Page, server: LiveServer, fragment: str = "", password: str = WEB_PASSWORD) -> None:
    """Open the page (with an optional ``#user=...&date=...`` fragment) and sign in through the form."""
    page.goto(server.page_url + (f"#{fragment}" if fragment else ""))
    page.get_by_label("Login").fill(WEB_LOGIN)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if password == WEB_PASSWORD:
        expect(page.locator("#app")).to_be_visible()
        expect(page.locator("#view .event").first).to_be_visible()
    else:
        expect(page.locator("#signin-submit")).to_be_enabled()  # the answer has come


def time_range(start: str, end: str) -> str:
    """How the page writes a time range: ``08:00`` en dash ``08:30`` as in the admin guide."""
    return f"{start} \u2013 {end}"


def day_cell(page: Page, day: str) -> Locator:
    """The month grid's cell of a date (YYYY-MM-DD)."""
    return page.locator(f'#view [role="gridcell"][data-day="{day}"]')


def event_in(scope: Locator, title: str) -> Locator:
    """The event row whose shown title is exactly ``title``."""
    return scope.locator(".event").filter(has=scope.page.locator(".event-title", has_text=title))


def details_field(page: Page, name: str) -> Locator:
    return page.locator(f'#details [data-field="{name}"] dd')


def participant(page: Page, name: str) -> Locator:
    return page.locator("#details .participant").filter(has=page.locator(".participant-name", has_text=name))


def computed_style(locator: Locator, *properties: str, timeout: float = 10.0) -> list[str]:
    """The computed values of CSS ``properties`` of the element ``locator`` finds, read in one step.

    A live change re-renders the view, and a node replaced between finding and reading it has an empty computed
    style; so the values are read again until the node is still in the page and every value is set.
    """
    script = "(node, names) => node.isConnected ? names.map((n) => getComputedStyle(node).getPropertyValue(n)) : []"
    deadline = time.monotonic() + timeout
    while True:
        values = [str(value) for value in locator.evaluate(script, list(properties))]
        if len(values) == len(properties) and all(values):
            return values
        if time.monotonic() > deadline:
            raise AssertionError(f"no computed {properties} of {locator} within {timeout} s")
        locator.page.wait_for_timeout(100)


def axe_violations(page: Page) -> list[str]:
    """axe-core's violations on the page as it is now, one line each (rule, impact, the first nodes)."""
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed ({AXE}): run `npm ci` in tests/web (scripts/test does)")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))  # through the DevTools protocol: the page's CSP allows it
    found = page.evaluate(
        "async () => (await window.axe.run(document)).violations.map((v) => ({id: v.id, impact: v.impact, "
        "nodes: v.nodes.slice(0, 3).map((n) => [n.target.join(' '), n.failureSummary])}))"
    )
    return [json.dumps(violation) for violation in found]
