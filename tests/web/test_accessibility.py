"""axe-core finds no violations in any view: month, week, day, the details panel, the phone layout, dark mode."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect
from web_pages import axe_violations, day_cell, event_in, new_page, sign_in
from web_server import LiveServer

PHONE = {"width": 390, "height": 844}


def no_violations(page: Page, scene: str) -> None:
    found = axe_violations(page)
    assert not found, f"axe-core in the {scene}:\n" + "\n".join(found)


def loaded(page: Page) -> None:
    expect(page.locator("#view[aria-busy]")).to_have_count(0)
    expect(page.locator("#view-state.loading")).to_have_count(0)


def test_month_week_and_day_have_no_axe_violations(page: Page, server: LiveServer) -> None:
    sign_in(page, server)
    loaded(page)
    no_violations(page, "month")
    page.get_by_role("button", name="Week", exact=True).click()
    expect(page.locator("#view .day-column")).to_have_count(7)
    loaded(page)
    no_violations(page, "week")
    page.get_by_role("button", name="Day", exact=True).click()
    expect(page.locator("#view .day-column")).to_have_count(1)
    loaded(page)
    no_violations(page, "day")


def test_the_details_panel_has_no_axe_violations(page: Page, server: LiveServer) -> None:
    sign_in(page, server)
    event_in(day_cell(page, "2025-06-28"), "Marketing department meeting").locator(".event-open").click()
    expect(page.get_by_role("dialog", name="Task information")).to_be_visible()
    loaded(page)
    no_violations(page, "details")


def test_the_phone_layout_and_its_details_have_no_axe_violations(browser: Browser, server: LiveServer) -> None:
    page = new_page(browser, PHONE)
    try:
        sign_in(page, server)
        loaded(page)
        no_violations(page, "month list")
        page.locator("#view .event-open").first.click()
        expect(page.get_by_role("dialog", name="Task information")).to_be_visible()
        no_violations(page, "details")
    finally:
        page.context.close()


def test_dark_mode_follows_the_system_and_has_no_axe_violations(browser: Browser, server: LiveServer) -> None:
    page = new_page(browser, color_scheme="dark")
    try:
        sign_in(page, server)
        loaded(page)
        background = page.evaluate("getComputedStyle(document.querySelector('.month')).backgroundColor")
        assert background == "rgb(26, 35, 43)", background
        no_violations(page, "dark month")
        page.get_by_role("button", name="Week", exact=True).click()
        expect(page.locator("#view .day-column")).to_have_count(7)
        loaded(page)
        no_violations(page, "dark week")
    finally:
        page.context.close()
