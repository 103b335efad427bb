"""Generated organisations for load tests: reproducible, varied, consistent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ews_sim.world import CalendarItemType, Control, SimClock, World
from ews_sim.world.generate import populate

NOW = datetime(2026, 3, 25, 6, tzinfo=UTC)


def summary(world: World) -> list[tuple[str, int, str]]:
    out = []
    for mailbox in world.mailboxes():
        for item in world.calendar_view(mailbox.smtp, NOW - timedelta(days=20), NOW + timedelta(days=40)):
            out.append((mailbox.smtp, item.instance_index or 0, item.subject))
    return sorted(out)


def test_same_seed_same_organisation_and_a_varied_mix() -> None:
    first, second = World(SimClock(lambda: NOW)), World(SimClock(lambda: NOW))
    population = populate(first, mailboxes=20, meetings_per_mailbox=5, seed=7)
    populate(second, mailboxes=20, meetings_per_mailbox=5, seed=7)
    assert summary(first) == summary(second)
    assert len(population.mailboxes) == 20 and len(population.meetings) == 100
    items = [i for m in population.mailboxes for i in world_view(first, m)]
    kinds = {i.calendar_item_type for i in items}
    assert kinds == {CalendarItemType.SINGLE, CalendarItemType.OCCURRENCE, CalendarItemType.EXCEPTION}
    assert any(i.is_cancelled for i in items) and any(i.is_all_day for i in items)
    assert any("https://tcs.example.com/c/" in i.location for i in items)


def world_view(world: World, smtp: str) -> list:
    return world.calendar_view(smtp, NOW - timedelta(days=20), NOW + timedelta(days=40))


def test_control_populates() -> None:
    control = Control(World(SimClock(lambda: NOW)))
    result = control.dispatch("populate", {"mailboxes": 5, "meetings_per_mailbox": 2, "seed": 3})
    assert len(result["mailboxes"]) == 5 and len(result["meetings"]) == 10
