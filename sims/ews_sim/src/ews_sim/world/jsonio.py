"""JSON shapes shared by the control API and scenario files: recurrences, datetimes, items.

Recurrence as JSON (keys in snake case; unused keys are rejected)::

    {"pattern": "weekly", "interval": 1, "days": ["Monday", "Wednesday"], "first_day_of_week": "Monday",
     "start_date": "2026-03-02", "end_date": "2026-06-30"}          # or "count": 10, or neither: no end

``pattern`` is one of daily, weekly, absolute_monthly (``day_of_month``), relative_monthly (``index``: First..
Last, ``day``: Monday.. or Day/Weekday/WeekendDay), absolute_yearly (``day_of_month``, ``month`` 1-12),
relative_yearly (``index``, ``day``, ``month``). ``start_date`` defaults to the item's start date.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from typing import Any

from ews_sim.world.errors import InvalidRequest
from ews_sim.world.model import CalendarItem
from ews_sim.world.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    DayOfWeek,
    DayOfWeekIndex,
    EndDateRecurrence,
    NoEndRecurrence,
    NumberedRecurrence,
    Pattern,
    Recurrence,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeeklyPattern,
)

_PATTERN_KEYS = {
    "daily": {"interval"},
    "weekly": {"interval", "days", "first_day_of_week"},
    "absolute_monthly": {"interval", "day_of_month"},
    "relative_monthly": {"interval", "index", "day"},
    "absolute_yearly": {"day_of_month", "month"},
    "relative_yearly": {"index", "day", "month"},
}
_RANGE_KEYS = {"pattern", "start_date", "end_date", "count"}


def parse_datetime(value: Any) -> datetime:
    """An ISO 8601 string (``Z`` or offset for an instant; naive means wall time in the item's zone)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise InvalidRequest(f"not a date-time: {value!r}")
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidRequest(f"not an ISO 8601 date-time: {value!r}") from exc


def parse_date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidRequest(f"not an ISO 8601 date: {value!r}") from exc


def _pattern_name(text: str) -> str:
    name = text.strip().replace("-", "_").lower()
    for suffix in ("_recurrence", "recurrence", "_pattern"):
        name = name.removesuffix(suffix)
    aliases = {
        "absolutemonthly": "absolute_monthly",
        "relativemonthly": "relative_monthly",
        "absoluteyearly": "absolute_yearly",
        "relativeyearly": "relative_yearly",
    }
    return aliases.get(name, name)


_DAYS = {d.value.lower(): d for d in DayOfWeek}
_INDEXES = {i.value.lower(): i for i in DayOfWeekIndex}


def _day(value: Any) -> DayOfWeek:
    day = _DAYS.get(str(value).strip().lower())
    if day is None:
        raise InvalidRequest(f"not a day of the week: {value!r}")
    return day


def _index(value: Any) -> DayOfWeekIndex:
    index = _INDEXES.get(str(value).strip().lower())
    if index is None:
        raise InvalidRequest(f"not a day-of-week index (First..Fourth, Last): {value!r}")
    return index


def parse_recurrence(
    data: dict[str, Any], default_start: date, parse_day: Callable[[Any], date] = parse_date
) -> Recurrence:
    """A :class:`Recurrence` from its JSON shape; ``parse_day`` reads start_date/end_date (scenarios pass one
    that understands relative dates)."""
    if not isinstance(data, dict) or "pattern" not in data:
        raise InvalidRequest("a recurrence is an object with a 'pattern'")
    name = _pattern_name(str(data["pattern"]))
    if name not in _PATTERN_KEYS:
        raise InvalidRequest(f"unknown recurrence pattern {data['pattern']!r}")
    unknown = set(data) - _RANGE_KEYS - _PATTERN_KEYS[name]
    if unknown:
        raise InvalidRequest(f"unknown keys for a {name} recurrence: {sorted(unknown)}")
    interval = int(data.get("interval", 1))
    pattern: Pattern
    if name == "daily":
        pattern = DailyPattern(interval)
    elif name == "weekly":
        days = data.get("days")
        if isinstance(days, str):
            days = [days]
        if not days:
            raise InvalidRequest("a weekly recurrence needs 'days'")
        first = _day(data.get("first_day_of_week", "Monday"))
        pattern = WeeklyPattern(tuple(_day(d) for d in days), interval, first)
    elif name == "absolute_monthly":
        pattern = AbsoluteMonthlyPattern(int(data["day_of_month"]), interval)
    elif name == "relative_monthly":
        pattern = RelativeMonthlyPattern(_day(data["day"]), _index(data["index"]), interval)
    elif name == "absolute_yearly":
        pattern = AbsoluteYearlyPattern(int(data["day_of_month"]), int(data["month"]))
    else:
        pattern = RelativeYearlyPattern(_day(data["day"]), _index(data["index"]), int(data["month"]))
    start = parse_day(data["start_date"]) if "start_date" in data else default_start
    if "count" in data and "end_date" in data:
        raise InvalidRequest("a recurrence ends by 'count' or by 'end_date', not both")
    if "count" in data:
        return Recurrence(pattern, NumberedRecurrence(start, int(data["count"])))
    if "end_date" in data:
        return Recurrence(pattern, EndDateRecurrence(start, parse_day(data["end_date"])))
    return Recurrence(pattern, NoEndRecurrence(start))


def recurrence_to_json(recurrence: Recurrence) -> dict[str, Any]:
    pattern, rng = recurrence.pattern, recurrence.range
    out: dict[str, Any]
    if isinstance(pattern, DailyPattern):
        out = {"pattern": "daily", "interval": pattern.interval}
    elif isinstance(pattern, WeeklyPattern):
        out = {
            "pattern": "weekly",
            "interval": pattern.interval,
            "days": [d.value for d in pattern.days_of_week],
            "first_day_of_week": pattern.first_day_of_week.value,
        }
    elif isinstance(pattern, AbsoluteMonthlyPattern):
        out = {"pattern": "absolute_monthly", "interval": pattern.interval, "day_of_month": pattern.day_of_month}
    elif isinstance(pattern, RelativeMonthlyPattern):
        out = {
            "pattern": "relative_monthly",
            "interval": pattern.interval,
            "index": pattern.day_of_week_index.value,
            "day": pattern.days_of_week.value,
        }
    elif isinstance(pattern, AbsoluteYearlyPattern):
        out = {"pattern": "absolute_yearly", "day_of_month": pattern.day_of_month, "month": pattern.month}
    else:
        out = {
            "pattern": "relative_yearly",
            "index": pattern.day_of_week_index.value,
            "day": pattern.days_of_week.value,
            "month": pattern.month,
        }
    out["start_date"] = rng.start_date.isoformat()
    if isinstance(rng, NumberedRecurrence):
        out["count"] = rng.number_of_occurrences
    elif isinstance(rng, EndDateRecurrence):
        out["end_date"] = rng.end_date.isoformat()
    return out


def extended_key_to_json(key: Any) -> str:
    """``(set, name, type)`` as ``"set|name|type"``."""
    if isinstance(key, tuple):
        return "|".join(str(part) for part in key)
    return str(key)


def extended_key_from_json(text: str) -> tuple[str, str | int, str]:
    parts = text.split("|")
    if len(parts) != 3:
        raise InvalidRequest(f"extended property keys look like 'set|name|type': {text!r}")
    name: str | int = int(parts[1], 0) if parts[1].lower().startswith("0x") or parts[1].isdigit() else parts[1]
    return parts[0], name, parts[2]


def to_json(value: Any) -> Any:
    """World values as plain JSON: dataclasses as dicts, enums as values, datetimes as ISO strings."""
    if isinstance(value, Recurrence):
        return recurrence_to_json(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {extended_key_to_json(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [to_json(v) for v in value]
        return sorted(items) if isinstance(value, set | frozenset) else items
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, CalendarItem):  # computed properties EWS also returns
            out["display_to"], out["display_cc"] = value.display_to, value.display_cc
        return out
    return value
