"""Times are shown in the browser's time zone; all-day events stay on their own dates in every zone."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect
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


def test_the_time_zone_can_be_switched_and_the_choice_is_kept(page: Page, server: LiveServer) -> None:
    sign_in(page, server)  # Berlin
    marketing = event_in(day_cell(page, "2025-06-28"), "Marketing department meeting")
    expect(marketing.locator(".event-time")).to_have_text(time_range("08:00", "08:30"))
    zone = page.get_by_label("Time zone")
    expect(zone).to_have_value("")
    expect(zone.locator("option:checked")).to_have_text("Europe/Berlin (this device)")
    zone.select_option("America/Los_Angeles")
    moved = event_in(day_cell(page, "2025-06-27"), "Marketing department meeting")  # 06:00Z = 23:00 PDT
    expect(moved.locator(".event-time")).to_have_text(time_range("23:00", "23:30"))
    expect(event_in(day_cell(page, "2025-06-24"), "Company offsite").locator(".event-time")).to_have_text("All day")
    page.get_by_role("button", name="Week", exact=True).click()
    expect(page.locator("#view .tg-zone")).to_have_text("GMT-7")
    page.reload()
    expect(page.get_by_label("Time zone")).to_have_value("America/Los_Angeles")
    weekly = event_in(page.locator('#view .day-column[data-day="2025-06-16"]'), "Weekly sync")  # 07:00Z
    expect(weekly.locator(".event-time")).to_have_text(time_range("00:00", "00:30"))
    expect(weekly).to_have_css("top", "0px")
    expect(page.locator("#view .tg-zone")).to_have_text("GMT-7")
