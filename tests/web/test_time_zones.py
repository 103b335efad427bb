"""Times are shown in the browser's time zone; all-day events stay on their own dates in every zone."""

from __future__ import annotations

from playwright.sync_api import Browser, expect
from web_pages import day_cell, event_in, sign_in, time_range
from web_server import LiveServer
from web_world import TODAY


def test_in_los_angeles_a_morning_meeting_in_europe_is_the_evening_before_and_all_day_stays_put(
    browser: Browser, server: LiveServer
) -> None:
    context = browser.new_context(timezone_id="America/Los_Angeles", locale="en-US")
    try:
        page = context.new_page()
        page.clock.set_fixed_time(TODAY)
        sign_in(page, server)
        marketing = event_in(day_cell(page, "2025-06-27"), "Marketing department meeting")  # 06:00Z = 23:00 PDT
        expect(marketing.locator(".event-time")).to_have_text(time_range("23:00", "23:30"))
        expect(event_in(day_cell(page, "2025-06-24"), "Company offsite").locator(".event-time")).to_have_text("All day")
        expect(page.locator("#view .event-title", has_text="Company offsite")).to_have_count(1)
    finally:
        context.close()
