"""The details panel, "Task information" as in the admin guide 4.1."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from web_pages import day_cell, details_field, event_in, participant, sign_in
from web_server import LiveServer
from web_world import CONFERENCE_URL


def test_a_meetings_details_show_title_my_response_times_description_and_participants(
    page: Page, server: LiveServer
) -> None:
    sign_in(page, server)
    event_in(day_cell(page, "2025-06-28"), "Marketing department meeting").locator(".event-open").click()
    panel = page.get_by_role("dialog", name="Task information")
    expect(panel).to_be_visible()
    expect(details_field(page, "title")).to_have_text("Marketing department meeting")
    expect(details_field(page, "my-response")).to_have_text("Accepted")
    expect(details_field(page, "start")).to_have_text("28.06.2025, 08:00")
    expect(details_field(page, "end")).to_have_text("28.06.2025, 08:30")
    expect(panel.get_by_role("heading", name="Participants (3):")).to_be_visible()
    expect(participant(page, "Postman").locator(".participant-status")).to_have_text("Organizer")
    expect(participant(page, "Alice").locator(".participant-status")).to_have_text("Required, Accepted")
    expect(participant(page, "mail_test169").locator(".participant-status")).to_have_text("Required, No response")
    expect(panel.locator(".participant").first.locator(".participant-name")).to_have_text("Postman")
    expect(panel.get_by_role("link", name="Join")).to_have_count(0)


def test_a_long_description_is_collapsed_behind_show_more_and_folds_back_with_show_less(
    page: Page, server: LiveServer
) -> None:
    sign_in(page, server)
    event_in(day_cell(page, "2025-06-28"), "Marketing department meeting").locator(".event-open").click()
    description = page.locator("#details .description")
    expect(description).to_contain_text("Discussion of the work done last week.")
    wait_until_clipped(page, True)  # the long description starts collapsed
    more = page.get_by_role("button", name="Show more")
    expect(more).to_have_attribute("aria-expanded", "false")
    more.click()
    wait_until_clipped(page, False)
    expect(description).to_contain_text("THE-END-OF-THE-DESCRIPTION")
    less = page.get_by_role("button", name="Show less")
    expect(less).to_have_attribute("aria-expanded", "true")
    less.click()
    wait_until_clipped(page, True)


def wait_until_clipped(page: Page, clipped: bool) -> None:
    """Wait until the details' description is cut off (or shown whole); found anew on every check, so a panel
    rendered again meanwhile is measured as it is now."""
    page.wait_for_function(
        """(clipped) => {
          const node = document.querySelector('#details .description');
          return node !== null && (node.scrollHeight > node.clientHeight + 1) === clipped;
        }""",
        arg=clipped,
    )


def test_a_linked_meeting_lists_every_response_and_offers_join(page: Page, server: LiveServer) -> None:
    sign_in(page, server)
    event_in(day_cell(page, "2025-06-11"), "Project review").locator(".event-open").click()
    expect(details_field(page, "my-response")).to_have_text("Organizer")
    expect(details_field(page, "start")).to_have_text("11.06.2025, 10:00")
    expect(details_field(page, "end")).to_have_text("11.06.2025, 11:00")
    expect(details_field(page, "location")).to_have_text("TrueConf conference")  # not the raw link
    expect(page.get_by_role("heading", name="Participants (5):")).to_be_visible()
    expected = {
        "Alice": "Organizer",
        "Bob": "Required, Accepted",
        "Carol": "Optional, Tentative",
        "Dave": "Required, Declined",
        "Erin": "Optional, No response",
    }
    for name, status in expected.items():
        expect(participant(page, name).locator(".participant-status")).to_have_text(status)
    join = page.locator("#details").get_by_role("link", name="Join Project review")
    expect(join).to_have_attribute("href", CONFERENCE_URL)
    expect(join).to_have_attribute("target", "_blank")


def test_a_series_occurrence_and_an_all_day_event_say_so_in_their_details(page: Page, server: LiveServer) -> None:
    sign_in(page, server)
    event_in(day_cell(page, "2025-06-16"), "Weekly sync").locator(".event-open").click()
    expect(details_field(page, "recurrence")).to_contain_text("Weekly on Monday")
    expect(details_field(page, "start")).to_have_text("16.06.2025, 09:00")
    event_in(day_cell(page, "2025-06-24"), "Company offsite").locator(".event-open").click()
    expect(details_field(page, "start")).to_have_text("24.06.2025")
    expect(details_field(page, "end")).to_have_text("24.06.2025")
    expect(details_field(page, "all-day")).to_have_text("All day")
    expect(details_field(page, "my-response")).to_have_text("Tentative")


def test_a_cancelled_meeting_shows_canceled_in_its_details_without_join(page: Page, server: LiveServer) -> None:
    sign_in(page, server)
    event_in(day_cell(page, "2025-06-19"), "Canceled: Budget planning").locator(".event-open").click()
    expect(details_field(page, "title")).to_have_text("Canceled: Budget planning")
    expect(page.locator("#details .join")).to_have_count(0)


def test_enter_opens_the_details_and_escape_closes_them_returning_the_focus(page: Page, server: LiveServer) -> None:
    sign_in(page, server)
    opener = event_in(day_cell(page, "2025-06-28"), "Marketing department meeting").locator(".event-open")
    opener.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Task information")).to_be_visible()
    expect(page.locator("#details-heading")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#details")).to_be_hidden()
    expect(opener).to_be_focused()


def test_the_details_stay_open_while_paging_to_another_month(page: Page, server: LiveServer) -> None:
    sign_in(page, server)
    event_in(day_cell(page, "2025-06-28"), "Marketing department meeting").locator(".event-open").click()
    page.get_by_role("button", name="Next month").click()
    expect(page.locator("#period")).to_have_text("July 2025")
    expect(page.locator("#view[aria-busy]")).to_have_count(0)  # July is loaded; June's meeting is not in it
    expect(details_field(page, "title")).to_have_text("Marketing department meeting")
