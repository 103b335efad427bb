"""What the page holds of a calendar (window.js): loads and change notifications, in any order, give the store's
state; run in the browser on the page's own module."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page
from web_server import LiveServer

SCENARIOS = """async () => {
  const { CalendarWindow } = await import('./window.js');
  const range = { user: 'alice@example.com', start: '2025-06-01T00:00:00.000Z', end: '2025-07-01T00:00:00.000Z' };
  const occ = (uid, start, end, title = uid) => ({ key: { uid, recurrenceId: null }, start, end, title,
    displayTitle: title, allDay: false });
  const upsert = (o, user = range.user) => ({ kind: 'upsert', user, key: o.key, occurrence: o });
  const remove = (uid) => ({ kind: 'delete', user: range.user, key: { uid, recurrenceId: null }, occurrence: null });
  const titles = (w) => [...w.items.values()].map((o) => o.title).sort();
  const june = (uid, day, title = uid) => occ(uid, `2025-06-${day}T08:00:00Z`, `2025-06-${day}T09:00:00Z`, title);
  const answer = (...occurrences) => ({ status: 'synced', occurrences });
  const result = {};

  let w = new CalendarWindow();
  let ticket = w.beginLoad();
  result.queuedWhileLoading = w.receive([upsert(june('late', 10))]);
  w.finishLoad(ticket, range, answer(june('a', '02')));
  result.afterLoad = titles(w);

  result.appliedAtOnce = w.receive([
    upsert(june('a', '02', 'a renamed')),
    upsert(occ('moved', '2025-08-01T08:00:00Z', '2025-08-01T09:00:00Z')),
    upsert(june('bob', '03'), 'bob@example.com'),
    remove('late'),
  ]);
  result.afterChanges = titles(w);
  const edge = occ('edge', '2025-05-31T23:00:00Z', '2025-06-01T00:00:00Z');
  result.endsAtRangeStart = w.receive([upsert(edge)]) && titles(w);

  w = new CalendarWindow();
  const first = w.beginLoad();
  const second = w.beginLoad();
  result.newestWins = [
    w.finishLoad(second, range, answer(june('new', '05'))),
    w.finishLoad(first, range, answer(june('old', '05'))),
    titles(w),
  ];
  ticket = w.beginLoad();
  result.failed = [w.failLoad(ticket), w.holds(range), w.receive([remove('new')]), titles(w)];
  return result;
}"""


def test_loads_and_changes_in_any_order_give_the_calendar_as_it_is_now(page: Page, server: LiveServer) -> None:
    page.goto(server.page_url)
    result: dict[str, Any] = page.evaluate(SCENARIOS)
    assert result["queuedWhileLoading"] is False
    assert result["afterLoad"] == ["a", "late"]  # the change that came during the load is not lost
    assert result["appliedAtOnce"] is True
    assert result["afterChanges"] == ["a renamed"]  # renamed; moved out of June; Bob's is not Alice's; deleted
    assert result["endsAtRangeStart"] == ["a renamed"]  # ends exactly when the range starts: not in it
    assert result["newestWins"] == [True, False, ["new"]]
    assert result["failed"] == [True, False, True, []]  # a failed load keeps what was there, but is stale
