"""Events over several days are bars in the month, as in Outlook and Google Calendar: one bar across the days of each
week row they cover (split at the row's edges, whose ends say the event goes on), in lanes above the day's own
events; and the month grid is one tab stop, moved through by the arrow keys (WAI-ARIA grid pattern).

June 2025 in Berlin, with the events over several days of web_world.MULTI_DAY added to the test world."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from web_pages import axe_violations, day_cell, details_field, event_in, new_page, sign_in, time_range
from web_server import LiveServer, copy_of
from web_world import ALICE, MULTI_DAY, put

CONTINUES = re.compile(r"\bcontinues-")


@pytest.fixture(scope="module")
def bar_server(seeded_database: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The test world with the events over several days; read only, shared by this module's tests."""
    live = LiveServer(copy_of(seeded_database, tmp_path_factory.mktemp("web-bars"))).start()
    try:
        live.apply([put(ALICE, occ) for occ in MULTI_DAY])
        yield live
    finally:
        live.stop()


def bars(page: Page, title: str) -> Locator:
    return event_in(page.locator("#view .month"), title)


def box(locator: Locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not shown"
    return found


def spans_cells(page: Page, bar: Locator, first: str, last: str) -> None:
    """The bar reaches from the left of the ``first`` day's cell to the right of the ``last`` one's (give or take
    its small margins), and no further."""
    start, end, own = box(day_cell(page, first)), box(day_cell(page, last)), box(bar)
    assert abs(own["x"] - start["x"]) <= 6, (own, start)
    assert abs(own["x"] + own["width"] - (end["x"] + end["width"])) <= 8, (own, end)


def test_a_three_day_event_is_one_bar_across_three_columns_and_opens_its_details(
    page: Page, bar_server: LiveServer
) -> None:
    sign_in(page, bar_server)
    exhibition = bars(page, "Summer exhibition")
    expect(exhibition).to_have_count(1)
    expect(exhibition).to_have_class(re.compile(r"\bbar\b"))
    expect(exhibition).not_to_have_class(CONTINUES)
    expect(day_cell(page, "2025-06-25").locator(".bar")).to_have_count(1)  # it belongs to its first day
    spans_cells(page, exhibition, "2025-06-25", "2025-06-27")
    # each day it covers still counts it for a screen reader
    for day, name in (("25", "Wednesday"), ("26", "Thursday"), ("27", "Friday")):
        expect(day_cell(page, f"2025-06-{day}")).to_have_attribute("aria-label", f"{name}, {day} June 2025, 1 event")
    expect(exhibition.locator(".event-open")).to_have_attribute(
        "aria-label", f"Summer exhibition, All day, {time_range('25.06.', '27.06.')}, TrueConf conference"
    )
    exhibition.locator(".event-open").click()
    expect(page.get_by_role("dialog", name="Task information")).to_be_visible()
    expect(details_field(page, "start")).to_contain_text("25.06.2025")
    expect(details_field(page, "end")).to_contain_text("27.06.2025")


def test_an_event_over_several_weeks_is_a_bar_in_each_week_row_whose_cut_edges_say_it_goes_on(
    page: Page, bar_server: LiveServer
) -> None:
    sign_in(page, bar_server)
    retreat = bars(page, "Team retreat")
    expect(retreat).to_have_count(3)
    first, middle, last = retreat.nth(0), retreat.nth(1), retreat.nth(2)
    expect(day_cell(page, "2025-06-12").locator(".bar")).to_have_count(1)
    expect(day_cell(page, "2025-06-16").locator(".bar")).to_have_count(1)
    expect(day_cell(page, "2025-06-23").locator(".bar")).to_have_count(1)
    spans_cells(page, first, "2025-06-12", "2025-06-15")
    spans_cells(page, middle, "2025-06-16", "2025-06-22")
    spans_cells(page, last, "2025-06-23", "2025-06-24")
    expect(first).to_have_class(re.compile(r"\bcontinues-after\b"))
    expect(first).not_to_have_class(re.compile(r"\bcontinues-before\b"))
    expect(middle).to_have_class(re.compile(r"\bcontinues-before\b.*\bcontinues-after\b"))
    expect(last).to_have_class(re.compile(r"\bcontinues-before\b"))
    expect(last).not_to_have_class(re.compile(r"\bcontinues-after\b"))
    expect(last).to_have_css("border-top-left-radius", "0px")
    expect(page.locator("#view .month .event-title", has_text="Team retreat")).to_have_count(3)  # not once per day

    # In the row of 23 June the retreat and the exhibition share no day, so they share the first lane; the
    # single-day events of the row sit below the bars, in every cell alike.
    exhibition = bars(page, "Summer exhibition")
    assert box(exhibition)["y"] == box(last)["y"]
    weekly = event_in(day_cell(page, "2025-06-23"), "Weekly sync")
    offsite = event_in(day_cell(page, "2025-06-24"), "Company offsite")
    assert box(weekly)["y"] >= box(last)["y"] + box(last)["height"]
    assert box(offsite)["y"] == box(weekly)["y"], "aligned across the row"


def test_a_night_meeting_is_a_bar_where_it_crosses_midnight_and_a_plain_event_where_it_does_not(
    page: Page, bar_server: LiveServer
) -> None:
    sign_in(page, bar_server)  # Berlin: Friday 23:00 to Saturday 07:00
    migration = bars(page, "Server migration")
    expect(migration).to_have_count(1)
    expect(migration).to_have_class(re.compile(r"\bbar\b"))
    spans_cells(page, migration, "2025-06-20", "2025-06-21")
    expect(migration.locator(".event-time")).to_have_text("23:00")  # where it starts; the range is in its label
    expect(migration.locator(".event-open")).to_have_attribute(
        "aria-label", f"Server migration, {time_range('20.06. 23:00', '21.06. 07:00')}"
    )
    page.get_by_label("Time zone").select_option("America/Los_Angeles")  # Friday 14:00 to 22:00
    expect(event_in(day_cell(page, "2025-06-20"), "Server migration")).not_to_have_class(re.compile(r"\bbar\b"))
    expect(page.locator("#view .month .event-title", has_text="Server migration")).to_have_count(1)
    expect(event_in(day_cell(page, "2025-06-20"), "Server migration").locator(".event-time")).to_have_text(
        time_range("14:00", "22:00")
    )


def test_hide_cancelled_hides_a_cancelled_bar(page: Page, bar_server: LiveServer) -> None:
    sign_in(page, bar_server)
    trip = bars(page, "Canceled: Sales trip")
    expect(trip).to_have_count(1)
    expect(day_cell(page, "2025-06-03")).to_have_attribute("aria-label", "Tuesday, 3 June 2025, 1 event")
    page.get_by_label("Hide cancelled").check()
    expect(trip).to_have_count(0)
    expect(day_cell(page, "2025-06-03")).to_have_attribute("aria-label", "Tuesday, 3 June 2025, no events")
    expect(day_cell(page, "2025-06-03").locator(".day-bars")).to_have_count(0)  # no empty lane is kept


TABBABLE = """(root) => [...root.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]
  .filter((node) => node.tabIndex >= 0 && !node.disabled && node.getClientRects().length).length"""


def test_the_month_grid_is_one_tab_stop_and_arrow_keys_move_by_day_and_week(page: Page, bar_server: LiveServer) -> None:
    sign_in(page, bar_server)
    expect(page.locator("#view .month .event")).not_to_have_count(0)
    assert page.locator("#view").evaluate(TABBABLE) == 1, "only the selected day is in the tab order"
    page.get_by_label("Time zone").focus()
    page.keyboard.press("Tab")
    today = day_cell(page, "2025-06-18")
    expect(today).to_be_focused()
    expect(today).to_have_attribute("aria-label", "Wednesday, 18 June 2025, 1 event")  # the retreat
    page.keyboard.press("Tab")
    assert not page.locator("#view").evaluate("(view) => view.contains(document.activeElement)"), "Tab leaves"
    page.keyboard.press("Shift+Tab")
    expect(today).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(day_cell(page, "2025-06-19")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(day_cell(page, "2025-06-26")).to_be_focused()
    expect(day_cell(page, "2025-06-26")).to_have_attribute("tabindex", "0")
    assert page.locator("#view").evaluate(TABBABLE) == 1
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(day_cell(page, "2025-06-12")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(day_cell(page, "2025-06-11")).to_be_focused()

    # An event of the grid (here a bar, focused when its details close) opens with Enter and moves by day too.
    retreat = bars(page, "Team retreat").nth(1).locator(".event-open")  # its piece in the row of 16 June
    retreat.click()
    expect(page.get_by_role("dialog", name="Task information")).to_be_visible()
    page.keyboard.press("Escape")
    expect(retreat).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Task information")).to_be_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowRight")
    expect(day_cell(page, "2025-06-17")).to_be_focused()  # the piece starts on the 16th
    page.keyboard.press(" ")
    expect(page.locator("#period")).to_have_text("Tuesday, 17 June 2025")


def test_the_month_with_bars_has_no_axe_violations_in_light_and_dark_mode(
    browser: Browser, bar_server: LiveServer
) -> None:
    for scheme in ("light", "dark"):
        page = new_page(browser, color_scheme=scheme)
        try:
            sign_in(page, bar_server)
            expect(page.locator("#view .month .bar")).not_to_have_count(0)
            expect(page.locator("#view[aria-busy]")).to_have_count(0)
            found = axe_violations(page)
            assert not found, f"axe-core in the {scheme} month with bars:\n" + "\n".join(found)
        finally:
            page.context.close()


def test_the_week_grid_marks_a_bar_that_goes_on_past_the_week(page: Page, bar_server: LiveServer) -> None:
    sign_in(page, bar_server, "date=2025-06-18&view=week")
    retreat = event_in(page.locator("#view .tg-bars"), "Team retreat")
    expect(retreat).to_have_count(1)
    expect(retreat).to_have_class(re.compile(r"\bcontinues-before\b.*\bcontinues-after\b"))
    expect(event_in(page.locator("#view .tg-bars"), "Summer exhibition")).to_have_count(0)
