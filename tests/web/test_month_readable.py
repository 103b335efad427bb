"""Month titles stay readable on a laptop and a desktop screen: they wrap instead of being cut, and Join takes no
room from them until the pointer or the keyboard is on the event (it is always in the details)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect
from web_pages import day_cell, event_in, new_page, sign_in
from web_server import LiveServer
from web_world import CONFERENCE_URL

CUT_TITLES = """() => [...document.querySelectorAll('#view .month .event-title')]
  .filter((t) => t.scrollWidth > t.clientWidth + 1 || t.scrollHeight > t.clientHeight + 1
    || getComputedStyle(t).textOverflow === 'ellipsis' && getComputedStyle(t).whiteSpace === 'nowrap')
  .map((t) => t.textContent)"""


@pytest.mark.parametrize("width", [1440, 1024])
def test_every_month_title_is_shown_whole(browser: Browser, server: LiveServer, width: int) -> None:
    page = new_page(browser, {"width": width, "height": 900})
    try:
        sign_in(page, server)
        marketing = event_in(day_cell(page, "2025-06-28"), "Marketing department meeting")
        expect(marketing.locator(".event-title")).to_have_text("Marketing department meeting")
        assert page.evaluate(CUT_TITLES) == []
    finally:
        page.context.close()


def test_join_appears_in_a_month_cell_on_hover_and_on_keyboard_focus(browser: Browser, server: LiveServer) -> None:
    page = new_page(browser, {"width": 1024, "height": 900})
    try:
        sign_in(page, server)
        review = event_in(day_cell(page, "2025-06-11"), "Project review")
        join = review.get_by_role("link", name="Join Project review")
        expect(join).to_have_css("opacity", "0")
        review.locator(".event-open").hover()
        expect(join).to_have_css("opacity", "1")
        page.mouse.move(0, 0)
        expect(join).to_have_css("opacity", "0")
        review.locator(".event-open").focus()
        expect(join).to_have_css("opacity", "1")
        review.locator(".event-open").press("Enter")
        details_join = page.locator("#details").get_by_role("link", name="Join Project review")
        expect(details_join).to_be_visible()
        expect(details_join).to_have_attribute("href", CONFERENCE_URL)
    finally:
        page.context.close()
