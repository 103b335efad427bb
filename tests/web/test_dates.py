"""The page's date arithmetic (dates.js), run in the browser in Europe/Berlin, around daylight-saving changes."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page
from web_server import LiveServer

CHECKS = """async () => {
  const d = await import('./dates.js');
  const days = (start, end, allDay = false) => d.occurrenceDays({start, end, allDay});
  return {
    marchGrid: d.monthGrid('2025-03-15').map((week) => [week[0], week[6]]),
    acrossSpringForward: [d.addDays('2025-03-29', 1), d.addDays('2025-03-30', 1), d.addDays('2025-10-26', -1)],
    nightOfTheChange: days('2025-03-29T22:30:00Z', '2025-03-30T01:00:00Z'),
    endingAtMidnight: days('2025-06-10T20:00:00Z', '2025-06-10T22:00:00Z'),
    threeDaysAllDay: days('2025-06-24T00:00:00Z', '2025-06-27T00:00:00Z', true),
    zeroLength: days('2025-06-10T08:00:00Z', '2025-06-10T08:00:00Z'),
    monthEnds: [d.addMonths('2025-01-31', 1), d.addMonths('2024-12-31', 2), d.addMonths('2025-03-31', -1)],
    overnight: d.formatTimeRange({start: '2025-06-10T20:00:00Z', end: '2025-06-11T06:00:00Z', allDay: false}),
    weekday: [d.weekdayIndex('2025-06-02'), d.weekdayIndex('2025-06-08')],
  };
}"""


def test_day_arithmetic_is_right_across_daylight_saving_and_month_ends(page: Page, server: LiveServer) -> None:
    page.goto(server.page_url)
    result: dict[str, Any] = page.evaluate(CHECKS)
    assert result["marchGrid"] == [
        ["2025-02-24", "2025-03-02"],
        ["2025-03-03", "2025-03-09"],
        ["2025-03-10", "2025-03-16"],
        ["2025-03-17", "2025-03-23"],
        ["2025-03-24", "2025-03-30"],
        ["2025-03-31", "2025-04-06"],
    ]
    assert result["acrossSpringForward"] == ["2025-03-30", "2025-03-31", "2025-10-25"]
    assert result["nightOfTheChange"] == ["2025-03-29", "2025-03-30"]  # 23:30 CET until 03:00 CEST
    assert result["endingAtMidnight"] == ["2025-06-10"]  # 22:00 until 00:00: not on the next day
    assert result["threeDaysAllDay"] == ["2025-06-24", "2025-06-25", "2025-06-26"]
    assert result["zeroLength"] == ["2025-06-10"]
    assert result["monthEnds"] == ["2025-02-28", "2025-02-28", "2025-02-28"]
    assert result["overnight"] == "10.06. 22:00 \u2013 11.06. 08:00"
    assert result["weekday"] == [0, 6]
