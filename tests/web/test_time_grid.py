"""Week and day are time grids, as in Outlook and Google Calendar: events placed by time, overlapping ones side by
side, a line at the current time, past events dimmed without Join, and multi-day events as one bar.

The clock stands at Wednesday 18 June 2025, 10:00 in Berlin (web_world.TODAY)."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

from playwright.sync_api import Locator, Page, expect
from web_pages import event_in, sign_in, time_range
from web_server import LiveServer
from web_world import ALICE, CONFERENCE_URL, occurrence, put, utc

HOUR_PX = 48  # timegrid.js
PAST = re.compile(r"\bpast\b")


def column(page: Page, day: str) -> Locator:
    return page.locator(f'#view .day-column[data-day="{day}"]')


def test_the_week_is_a_time_grid_with_a_current_time_line_and_past_events_dimmed_without_join(
    page: Page, own_server: LiveServer
) -> None:
    launch = occurrence("launch", "Launch call", utc(20, 12), 60, conference=CONFERENCE_URL)
    own_server.apply([put(ALICE, launch)])
    sign_in(page, own_server, "date=2025-06-18&view=week")
    expect(page.locator("#view .day-column")).to_have_count(7)
    expect(page.locator("#view .day-column").first).to_have_attribute("data-day", "2025-06-16")
    expect(page.locator("#view .tg-zone")).to_have_text("GMT+2")

    # 14:00 Berlin: 14 hours down the column, one hour high
    call = event_in(column(page, "2025-06-20"), "Launch call")
    expect(call).to_have_css("top", f"{14 * HOUR_PX}px")
    expect(call.locator(".event-time")).to_have_text(time_range("14:00", "15:00"))
    expect(call.get_by_role("link", name="Join Launch call")).to_have_attribute("href", CONFERENCE_URL)
    expect(call).not_to_have_class(PAST)

    # Monday's weekly sync is over: dimmed, and nothing to join
    weekly = event_in(column(page, "2025-06-16"), "Weekly sync")
    expect(weekly).to_have_class(PAST)
    expect(weekly.locator(".join")).to_have_count(0)

    now = column(page, "2025-06-18").locator(".now-line")
    expect(now).to_have_count(1)
    expect(now).to_have_css("top", f"{10 * HOUR_PX}px")
    expect(page.locator("#view .now-line")).to_have_count(1)


def test_overlapping_meetings_stand_side_by_side_in_the_day_view(page: Page, own_server: LiveServer) -> None:
    clash = occurrence("clash", "Budget clash", utc(11, 8, 30), 60)  # 10:30-11:30, over Project review 10-11
    own_server.apply([put(ALICE, clash)])
    sign_in(page, own_server, "date=2025-06-11&view=day")
    expect(page.locator("#period")).to_have_text("Wednesday, 11 June 2025")
    day = column(page, "2025-06-11")
    review = event_in(day, "Project review")
    other = event_in(day, "Budget clash")
    expect(other).to_be_visible()
    a, b = review.bounding_box(), other.bounding_box()
    assert a is not None and b is not None
    assert a["x"] + a["width"] <= b["x"] + 1, f"side by side, not stacked: {a} {b}"
    assert b["y"] < a["y"] + a["height"], "they share the half hour from 10:30"
    # alone at noon, Lunch & learn has the width of the day
    lunch = event_in(day, "Lunch & learn").bounding_box()
    assert lunch is not None and lunch["width"] > a["width"] * 1.5
    expect(page.locator("#view .event-title")).to_have_text(
        ["Design review", "Project review", "Budget clash", "1:1 with Bob", "Lunch & learn", "Release planning"]
    )


def test_a_multi_day_event_is_one_bar_and_a_night_meeting_shows_on_both_days(
    page: Page, own_server: LiveServer
) -> None:
    fair = occurrence("fair", "Trade fair", utc(17, 0), all_day=True)
    fair = dataclasses.replace(fair, end=fair.start + timedelta(days=3))  # Tue 17 to Thu 19 June
    night = occurrence("night", "Night deployment", utc(19, 20), 180)  # 22:00 Thu to 01:00 Fri in Berlin
    own_server.apply([put(ALICE, fair), put(ALICE, night)])
    sign_in(page, own_server, "date=2025-06-18&view=week")
    bar = event_in(page.locator("#view .tg-bars"), "Trade fair")
    expect(bar).to_have_count(1)
    expect(bar).to_have_css("grid-column-start", "2")
    expect(bar).to_have_css("grid-column-end", "span 3")
    expect(event_in(column(page, "2025-06-19"), "Night deployment")).to_have_css("top", f"{22 * HOUR_PX}px")
    expect(event_in(column(page, "2025-06-20"), "Night deployment")).to_have_css("top", "0px")
