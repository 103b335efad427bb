"""The month view: weeks Monday to Sunday, each event on its own days with its time, indicator and Join link."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Locator, Page, expect
from web_pages import computed_style, day_cell, event_in, sign_in, time_range
from web_server import LiveServer
from web_world import BOB, BROWSER_ZONE, CONFERENCE_URL, WEEKLY_MONDAYS, XSS_TITLE

TURQUOISE = "rgb(0, 178, 169)"
GRAY = "rgb(163, 172, 181)"


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two ``rgb(r, g, b)`` colours."""

    def luminance(css: str) -> float:
        channels = [int(part) / 255 for part in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def indicator(page: Page, day: str, title: str) -> Locator:
    return event_in(day_cell(page, day), title).locator(".indicator")


def test_the_month_has_six_weeks_from_monday_to_sunday_and_dims_the_days_of_other_months(
    page: Page, server: LiveServer
) -> None:
    sign_in(page, server)
    headers = page.locator('#view [role="columnheader"]')
    expect(headers).to_have_text(["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"])
    cells = page.locator('#view [role="gridcell"]')
    expect(cells).to_have_count(42)
    expect(cells.first).to_have_attribute("data-day", "2025-05-26")  # the guide's June 2025 starts with 26 May
    expect(cells.last).to_have_attribute("data-day", "2025-07-06")
    expect(day_cell(page, "2025-05-31")).to_have_class("day other-month")
    expect(day_cell(page, "2025-07-01")).to_have_class("day other-month")
    expect(day_cell(page, "2025-06-18")).to_have_attribute("aria-current", "date")
    saturday = page.locator('#view [role="row"].week').nth(4).locator('[role="gridcell"]').nth(5)
    expect(saturday).to_have_attribute("data-day", "2025-06-28")


def test_a_meeting_shows_on_its_day_with_its_local_time_range(page: Page, server: LiveServer) -> None:
    sign_in(page, server)
    marketing = event_in(day_cell(page, "2025-06-28"), "Marketing department meeting")
    # 06:00Z is 08:00 in Berlin's summer time
    expect(marketing.locator(".event-time")).to_have_text(time_range("08:00", "08:30"))
    expect(page.locator("#view .event-title", has_text="Marketing department meeting")).to_have_count(1)


def test_a_meeting_without_conference_has_a_gray_indicator_and_no_join(page: Page, server: LiveServer) -> None:
    sign_in(page, server)
    expect(indicator(page, "2025-06-28", "Marketing department meeting")).to_have_css("background-color", GRAY)
    expect(event_in(day_cell(page, "2025-06-28"), "Marketing department meeting").locator(".join")).to_have_count(0)


def test_a_linked_meeting_has_a_turquoise_indicator_and_a_join_link_to_its_conference(
    page: Page, server: LiveServer
) -> None:
    sign_in(page, server)
    expect(indicator(page, "2025-06-11", "Project review")).to_have_css("background-color", TURQUOISE)
    join = event_in(day_cell(page, "2025-06-11"), "Project review").get_by_role("link", name="Join Project review")
    expect(join).to_have_text("Join")
    expect(join).to_have_attribute("href", CONFERENCE_URL)
    expect(join).to_have_attribute("target", "_blank")
    expect(join).to_have_attribute("rel", "noopener noreferrer")
    colours = computed_style(join, "color", "background-color")
    assert contrast(*colours) >= 4.5, f"the Join label must be readable (WCAG AA): {colours}"


def test_a_cancelled_meeting_is_shown_as_canceled_struck_through_and_cannot_be_joined(
    page: Page, server: LiveServer
) -> None:
    sign_in(page, server)
    cancelled = event_in(day_cell(page, "2025-06-19"), "Canceled: Budget planning")
    expect(cancelled).to_have_count(1)
    title = cancelled.locator(".event-title")
    expect(title).to_have_css("text-decoration-line", re.compile("line-through"))
    expect(cancelled.locator(".join")).to_have_count(0)
    expect(indicator(page, "2025-06-19", "Canceled: Budget planning")).to_have_css("background-color", GRAY)


def test_a_weekly_series_shows_on_every_monday_with_a_recurrence_mark(page: Page, server: LiveServer) -> None:
    sign_in(page, server)
    for day in WEEKLY_MONDAYS:
        weekly = event_in(day_cell(page, f"2025-06-{day:02d}"), "Weekly sync")
        expect(weekly.locator(".event-time")).to_have_text(time_range("09:00", "09:30"))
        expect(weekly.get_by_role("img", name="Recurring: Weekly on Monday")).to_be_visible()
    expect(page.locator("#view .event-title", has_text="Weekly sync")).to_have_count(len(WEEKLY_MONDAYS))
    page.get_by_role("button", name="Next month").click()
    expect(page.locator("#period")).to_have_text("July 2025")
    expect(event_in(day_cell(page, "2025-06-30"), "Weekly sync")).to_have_count(1)  # first row of July's grid


def test_an_all_day_event_is_labelled_all_day_on_its_own_date_only(page: Page, server: LiveServer) -> None:
    sign_in(page, server)
    offsite = event_in(day_cell(page, "2025-06-24"), "Company offsite")
    expect(offsite.locator(".event-time")).to_have_text("All day")
    expect(page.locator("#view .event-title", has_text="Company offsite")).to_have_count(1)


def test_a_busy_day_shows_more_and_opens_as_a_list_of_all_its_events(page: Page, server: LiveServer) -> None:
    sign_in(page, server)
    busy = day_cell(page, "2025-06-11")
    expect(busy.locator(".event")).to_have_count(3)
    busy.get_by_role("button", name="+2 more").click()
    expect(page.locator("#period")).to_have_text("Wednesday, 11 June 2025")
    expect(page.locator("#view .event-title")).to_have_text(
        ["Design review", "Project review", "1:1 with Bob", "Lunch & learn", "Release planning"]
    )
    times = [("09:00", "09:30"), ("10:00", "11:00"), ("11:00", "11:30"), ("12:00", "12:30"), ("17:00", "17:30")]
    expect(page.locator("#view .event-time")).to_have_text([time_range(*pair) for pair in times])
    page.get_by_role("button", name="Week", exact=True).click()
    expect(page.locator("#view .day-column")).to_have_count(7)
    expect(page.locator("#view .day-column").first).to_have_attribute("data-day", "2025-06-09")


def test_event_text_is_shown_as_text_and_never_run_as_html(page: Page, server: LiveServer) -> None:
    sign_in(page, server)
    title = event_in(day_cell(page, "2025-06-05"), XSS_TITLE).locator(".event-title")
    expect(title).to_have_text(XSS_TITLE)
    title.click()
    expect(page.locator("#details .description")).to_contain_text("<script>window.__pwned=2</script>")
    assert page.evaluate("window.__pwned") is None
    expect(page.locator("#view img, #details img, #details script")).to_have_count(0)


def test_the_user_picker_shows_another_users_calendar(page: Page, server: LiveServer) -> None:
    sign_in(page, server)
    expect(page.locator("#user option")).to_have_count(3)
    page.locator("#user").select_option(BOB)
    expect(event_in(day_cell(page, "2025-06-12"), "Bob's dentist appointment")).to_have_count(1)
    expect(event_in(day_cell(page, "2025-06-11"), "Project review")).to_have_count(1)
    expect(page.locator("#view .event-title", has_text="Marketing department meeting")).to_have_count(0)
    assert f"user={BOB.replace('@', '%40')}" in page.url


def test_arrow_keys_move_the_selected_day_and_page_keys_change_the_month(page: Page, server: LiveServer) -> None:
    sign_in(page, server)
    today = day_cell(page, "2025-06-18")
    expect(today).to_have_attribute("tabindex", "0")
    today.focus()
    page.keyboard.press("ArrowRight")
    expect(day_cell(page, "2025-06-19")).to_be_focused()
    expect(day_cell(page, "2025-06-19")).not_to_have_css("box-shadow", "none")  # the focus is visible
    page.keyboard.press("ArrowDown")
    expect(day_cell(page, "2025-06-26")).to_be_focused()
    expect(day_cell(page, "2025-06-26")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Home")
    expect(day_cell(page, "2025-06-23")).to_be_focused()  # Monday of that week
    page.keyboard.press("End")
    expect(day_cell(page, "2025-06-29")).to_be_focused()  # its Sunday
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(day_cell(page, "2025-06-26")).to_be_focused()
    page.keyboard.press("PageDown")
    expect(page.locator("#period")).to_have_text("July 2025")
    expect(day_cell(page, "2025-07-26")).to_be_focused()
    page.keyboard.press("PageUp")
    page.keyboard.press("PageUp")
    expect(page.locator("#period")).to_have_text("May 2025")
    page.get_by_role("button", name="Today").click()
    expect(page.locator("#period")).to_have_text("June 2025")
    day_cell(page, "2025-06-18").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#period")).to_have_text("Wednesday, 18 June 2025")
    page.keyboard.press("Escape")
    expect(page.locator("#period")).to_have_text("June 2025")


def test_a_date_in_the_address_opens_that_month(page: Page, server: LiveServer) -> None:
    sign_in(page, server, "date=2025-07-07&view=month")
    expect(page.locator("#period")).to_have_text("July 2025")
    expect(event_in(day_cell(page, "2025-06-30"), "Weekly sync")).to_have_count(1)


def test_a_mailbox_not_synchronized_yet_says_it_is_queued(page: Page, own_server: LiveServer) -> None:
    own_server.request_mailbox("newcomer@example.com")
    sign_in(page, own_server)
    expect(page.locator("#user option", has_text="newcomer@example.com (pending)")).to_have_count(1)
    page.locator("#user").select_option("newcomer@example.com")
    expect(page.locator("#notice")).to_contain_text("queued for synchronization")
    expect(page.locator("#view .event")).to_have_count(0)


def test_at_midnight_today_moves_to_the_next_day_without_a_reload(browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(timezone_id=BROWSER_ZONE, locale="de-DE", viewport={"width": 1360, "height": 900})
    try:
        page = context.new_page()
        page.clock.install(time="2025-06-18T23:59:00+02:00")
        sign_in(page, server)
        expect(day_cell(page, "2025-06-18")).to_have_attribute("aria-current", "date")
        page.clock.run_for(2 * 60 * 1000)
        expect(day_cell(page, "2025-06-19")).to_have_attribute("aria-current", "date")
        expect(day_cell(page, "2025-06-18")).not_to_have_attribute("aria-current", "date")
    finally:
        context.close()
