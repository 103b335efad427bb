"""A phone gets lists instead of a cramped grid; and the screenshot the README shows."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect
from web_pages import day_cell, event_in, new_page, sign_in
from web_server import LiveServer
from web_world import ALICE, CONFERENCE_URL, MULTI_DAY, put

PHONE = {"width": 390, "height": 844}
README_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "calendar.png"


def test_on_a_phone_the_month_is_a_list_of_busy_days_and_details_fill_the_screen(
    browser: Browser, server: LiveServer
) -> None:
    page = new_page(browser, PHONE)
    try:
        sign_in(page, server)
        expect(page.locator('#view [role="grid"]')).to_have_count(0)
        days = page.locator("#view .agenda-day")
        expect(days.first).to_have_attribute("data-day", "2025-06-02")
        expect(page.locator('#view .agenda-day[data-day="2025-06-03"]')).to_have_count(0)  # no events: left out
        expect(page.locator('#view .agenda-day[data-day="2025-06-18"]')).to_contain_text("Today")
        expect(page.locator('#view .agenda-day[data-day="2025-06-18"]')).to_be_in_viewport()  # opens at today
        review = event_in(page.locator('#view .agenda-day[data-day="2025-06-11"]'), "Project review")
        expect(review.get_by_role("link", name="Join Project review")).to_have_attribute("href", CONFERENCE_URL)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "nothing sticks out sideways"
        review.locator(".event-open").click()
        panel = page.get_by_role("dialog", name="Task information")
        expect(panel).to_be_visible()
        box = panel.bounding_box()
        assert box is not None and box["width"] >= PHONE["width"] - 1
        page.get_by_role("button", name="Close details").click()
        expect(panel).to_be_hidden()
        page.screenshot(path=str(README_SCREENSHOT.parents[2] / "tests" / "artifacts" / "phone.png"), full_page=True)
    finally:
        page.context.close()


def test_the_readme_screenshot_shows_june_with_a_meetings_details(page: Page, own_server: LiveServer) -> None:
    """docs/images/calendar.png: Alice's June, with events over several days as bars, a meeting's details open."""
    own_server.apply([put(ALICE, occ) for occ in MULTI_DAY])
    sign_in(page, own_server)
    expect(page.locator("#view .month .bar")).to_have_count(6)
    event_in(day_cell(page, "2025-06-11"), "Project review").locator(".event-open").click()
    expect(page.get_by_role("dialog", name="Task information")).to_be_visible()
    expect(page.locator("#view[aria-busy]")).to_have_count(0)
    page.mouse.move(0, 0)
    page.evaluate("document.activeElement?.blur()")  # no focus ring: the same picture on every run
    README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(README_SCREENSHOT))
