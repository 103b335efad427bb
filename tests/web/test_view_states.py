"""What the page says about its own state: loading, nothing to show, and a connector that stopped answering
(found by the heartbeat while the connection stays open); and the toggle that hides cancelled meetings."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

from playwright.sync_api import Page, WebSocketRoute, expect
from web_pages import day_cell, event_in, sign_in
from web_server import LiveServer
from web_world import ALICE, BOB, POSTMAN, WEB_LOGIN, WEB_PASSWORD, occurrence, put, utc

from tc_calendar.model import Attendee, Role

NOT_ANSWERING = "The calendar connector is not answering — reconnecting…"


class Relay:
    """Stands between the page and the API (Playwright's WebSocket routing): can hold the answers to
    ``calendar.list`` (a slow connector) or drop everything both ways (a hung one, its connection still open)."""

    def __init__(self, page: Page) -> None:
        self.hold_lists = False
        self.hung = False
        self.held: list[tuple[WebSocketRoute, str]] = []
        self._list_ids: set[object] = set()
        page.route_web_socket("**/ws", self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        ws.on_message(self._to_server(server))
        server.on_message(self._to_page(ws))

    def _to_server(self, server: WebSocketRoute) -> Callable[[str | bytes], None]:
        def forward(message: str | bytes) -> None:
            if self.hung:
                return
            call = json.loads(message)
            if call.get("method") == "calendar.list":
                self._list_ids.add(call.get("id"))
            server.send(message)

        return forward

    def _to_page(self, ws: WebSocketRoute) -> Callable[[str | bytes], None]:
        def forward(message: str | bytes) -> None:
            if self.hung:
                return
            answer = json.loads(message)
            if self.hold_lists and isinstance(answer, dict) and answer.get("id") in self._list_ids:
                self.held.append((ws, str(message)))
                return
            ws.send(message)

        return forward

    def release(self) -> None:
        self.hold_lists = False
        for ws, message in self.held:
            ws.send(message)
        self.held.clear()


def test_a_slow_connector_shows_loading_instead_of_free_days(page: Page, server: LiveServer) -> None:
    relay = Relay(page)
    relay.hold_lists = True
    page.goto(server.page_url)
    page.get_by_label("Login").fill(WEB_LOGIN)
    page.get_by_label("Password").fill(WEB_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    loading = page.locator("#view-state")
    expect(loading).to_have_text("Loading…")
    expect(page.locator("#view")).to_have_attribute("aria-busy", "")
    expect(page.locator("#view .event")).to_have_count(0)
    relay.release()
    expect(event_in(day_cell(page, "2025-06-28"), "Marketing department meeting")).to_have_count(1)
    expect(loading).to_be_hidden()
    expect(page.locator("#view[aria-busy]")).to_have_count(0)


def test_a_month_or_week_without_events_says_so(page: Page, server: LiveServer) -> None:
    sign_in(page, server)
    expect(page.locator("#view-state")).to_be_hidden()
    page.get_by_role("button", name="Next month").click()
    page.get_by_role("button", name="Next month").click()
    expect(page.locator("#period")).to_have_text("August 2025")
    expect(page.locator("#view-state")).to_have_text("No events in August 2025")
    page.get_by_role("button", name="Week", exact=True).click()
    expect(page.locator("#view-state")).to_have_text("No events this week")
    page.get_by_role("button", name="Today").click()
    expect(page.locator("#view-state")).to_be_hidden()


def test_a_hung_connector_is_found_by_the_heartbeat_and_the_page_recovers_when_it_answers_again(
    page: Page, own_server: LiveServer
) -> None:
    relay = Relay(page)
    sign_in(page, own_server)
    banner = page.locator("#banner")
    relay.hung = True  # the connection stays open; nothing comes back
    expect(banner).to_have_text(NOT_ANSWERING, timeout=30_000)
    own_server.apply([put(ALICE, occurrence("while-hung", "Planned while hung", utc(17, 12)))])
    relay.hung = False
    expect(banner).to_be_hidden(timeout=30_000)
    expect(event_in(day_cell(page, "2025-06-17"), "Planned while hung")).to_have_count(1)


def test_cancelled_meetings_can_be_hidden_and_the_choice_is_kept(page: Page, server: LiveServer) -> None:
    sign_in(page, server)
    cancelled = event_in(day_cell(page, "2025-06-19"), "Canceled: Budget planning")
    expect(cancelled).to_have_count(1)
    toggle = page.get_by_role("checkbox", name="Hide cancelled")
    toggle.check()
    expect(cancelled).to_have_count(0)
    expect(event_in(day_cell(page, "2025-06-28"), "Marketing department meeting")).to_have_count(1)
    page.get_by_role("button", name="Week", exact=True).click()
    page.reload()
    expect(page.get_by_role("checkbox", name="Hide cancelled")).to_be_checked()
    expect(page.locator("#view .event-title", has_text="Weekly sync")).to_have_count(1)
    expect(page.locator("#view .event-title", has_text="Budget planning")).to_have_count(0)
    page.get_by_role("checkbox", name="Hide cancelled").uncheck()
    expect(page.locator("#view .event-title", has_text="Canceled: Budget planning")).to_have_count(1)


def test_a_calendar_is_found_by_typing_part_of_its_name_or_address(page: Page, server: LiveServer) -> None:
    sign_in(page, server)
    expect(page.locator("#user-options option")).to_have_count(3)
    search = page.get_by_role("combobox", name="Find a calendar by name or address")
    search.fill("postman@")
    search.press("Enter")
    expect(page.locator("#user")).to_have_value(POSTMAN)
    search.fill("Bo")
    search.press("Enter")
    expect(page.locator("#user")).to_have_value(BOB)
    expect(event_in(day_cell(page, "2025-06-12"), "Bob's dentist appointment")).to_have_count(1)
    expect(search).to_have_value("")


def test_months_outside_the_sync_window_say_what_is_not_synchronized(page: Page, server: LiveServer) -> None:
    """The world's connector keeps 2 months back and series 3 months ahead of 18 June 2025 (the guide's defaults)."""
    sign_in(page, server)
    state = page.locator("#view-state")
    expect(state).to_be_hidden()
    for _ in range(4):
        page.get_by_role("button", name="Next month").click()
    expect(page.locator("#period")).to_have_text("October 2025")
    expect(state).to_have_text(
        "Recurring meetings after 18.09.2025 are not synchronized yet (cache.forward); single meetings are shown."
        " No events in October 2025"
    )
    page.get_by_role("button", name="Today").click()
    for _ in range(3):
        page.get_by_role("button", name="Previous month").click()
    expect(page.locator("#period")).to_have_text("March 2025")
    expect(state).to_contain_text("Events before 18.04.2025 are not kept (cache.backward).")


def test_the_user_picker_shows_names_with_rooms_apart_from_people(page: Page, own_server: LiveServer) -> None:
    room = "room.berlin@example.com"
    own_server.request_mailbox(room)
    booked = occurrence("booked", "Room booking", utc(20, 9))
    booked = dataclasses.replace(booked, attendees=(Attendee(room, "Room Berlin", Role.RESOURCE),))
    own_server.apply([put(ALICE, booked)])
    sign_in(page, own_server)
    people = page.locator('#user optgroup[label="People"] option')
    expect(people).to_have_text(["Alice <alice@example.com>", "Bob <bob@example.com>", "Postman <postman@example.com>"])
    expect(page.locator('#user optgroup[label="Rooms"] option')).to_have_text(
        ["Room Berlin <room.berlin@example.com> (pending)"]
    )
    search = page.get_by_role("combobox", name="Find a calendar by name or address")
    search.fill("berlin")
    search.press("Enter")
    expect(page.locator("#user")).to_have_value(room)
