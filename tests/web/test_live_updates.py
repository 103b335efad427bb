"""Live updates: a change committed to the store reaches the open page within seconds, without a reload, and a
lost connection is announced and resumed from the last cursor (no change missed)."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from web_pages import day_cell, event_in, sign_in, time_range
from web_server import LiveServer
from web_world import ALICE, BOB, CONFERENCE_URL, occurrence, put, utc

from tc_calendar.model import OccurrenceKey
from tc_calendar.sync.actions import DropOccurrence

BANNER = "Connection lost — reconnecting…"


def test_a_new_meeting_appears_is_cancelled_and_disappears_without_reloading_the_page(
    page: Page, own_server: LiveServer
) -> None:
    sign_in(page, own_server)
    page.evaluate("window.__samePage = true")
    tuesday = day_cell(page, "2025-06-17")
    expect(tuesday.locator(".event")).to_have_count(0)

    call = occurrence("live", "Emergency board call", utc(17, 12), conference=CONFERENCE_URL)
    own_server.apply([put(ALICE, call)])
    new = event_in(tuesday, "Emergency board call")
    expect(new).to_have_count(1)
    expect(new.locator(".event-time")).to_have_text(time_range("14:00", "14:30"))
    expect(new.get_by_role("link", name="Join Emergency board call")).to_have_attribute("href", CONFERENCE_URL)

    new.locator(".event-open").click()
    expect(page.locator('#details [data-field="title"] dd')).to_have_text("Emergency board call")
    own_server.apply([put(ALICE, occurrence("live", "Emergency board call", utc(17, 12), cancelled=True))])
    expect(event_in(tuesday, "Canceled: Emergency board call")).to_have_count(1)
    expect(page.locator('#details [data-field="title"] dd')).to_have_text("Canceled: Emergency board call")

    own_server.apply([DropOccurrence(ALICE, OccurrenceKey("live"))])
    expect(tuesday.locator(".event")).to_have_count(0)
    expect(page.locator("#details")).to_contain_text("no longer in the calendar")
    assert page.evaluate("window.__samePage") is True


def test_a_lost_connection_shows_a_banner_and_resumes_with_the_changes_made_meanwhile(
    page: Page, own_server: LiveServer
) -> None:
    sign_in(page, own_server)
    page.evaluate("window.__samePage = true")
    own_server.stop()
    banner = page.get_by_role("status").filter(has_text=BANNER)
    expect(banner).to_be_visible(timeout=10_000)
    expect(page.locator("#view .event").first).to_be_visible()  # what was loaded stays readable

    own_server.apply([put(ALICE, occurrence("offline", "Planned while offline", utc(20, 9)))])
    own_server.start()
    expect(banner).to_be_hidden(timeout=30_000)  # the page's reconnect delay grows to 10 s while the server is down
    expect(event_in(day_cell(page, "2025-06-20"), "Planned while offline")).to_have_count(1)
    assert page.evaluate("window.__samePage") is True

    own_server.apply([put(ALICE, occurrence("after", "Planned after the restart", utc(20, 12)))])
    expect(event_in(day_cell(page, "2025-06-20"), "Planned after the restart")).to_have_count(1)


def test_a_change_in_another_users_calendar_shows_only_when_that_user_is_picked(
    page: Page, own_server: LiveServer
) -> None:
    sign_in(page, own_server)
    own_server.apply([put(BOB, occurrence("bobs", "Bob's private review", utc(17, 9), organizer=BOB))])
    own_server.apply([put(ALICE, occurrence("marker", "Alice's marker", utc(17, 10)))])
    expect(event_in(day_cell(page, "2025-06-17"), "Alice's marker")).to_have_count(1)
    expect(event_in(day_cell(page, "2025-06-17"), "Bob's private review")).to_have_count(0)
    page.locator("#user").select_option(BOB)
    expect(event_in(day_cell(page, "2025-06-17"), "Bob's private review")).to_have_count(1)
    own_server.apply([put(BOB, occurrence("bobs2", "Bob's second review", utc(17, 12), organizer=BOB))])
    expect(event_in(day_cell(page, "2025-06-17"), "Bob's second review")).to_have_count(1)
    expect(event_in(day_cell(page, "2025-06-17"), "Alice's marker")).to_have_count(0)
