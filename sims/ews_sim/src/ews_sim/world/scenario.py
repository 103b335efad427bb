"""Scenario files: a JSON description of an organisation and its calendars, relative to "today".

Scenarios drive the world only through its public methods, exactly as users would (invite, answer, move,
cancel), so a loaded scenario has the same journal, change keys and attendee copies as a live one. See the
"Scenario files" section of sims/ews_sim/README.md for the format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from ews_sim.world.core import World
from ews_sim.world.errors import WorldError
from ews_sim.world.jsonio import extended_key_from_json, parse_recurrence
from ews_sim.world.recurrence import DayOfWeek, to_local, to_utc

#: The demo organisation shipped with the package.
DEMO_SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "demo.json"

_TOP_KEYS = {"description", "service_accounts", "mailboxes", "delegates", "appointments", "meetings"}
_RELATIVE = re.compile(
    r"^(?P<day>today|tomorrow|yesterday|(?:[+-]\d+[dw])+)?\s*(?P<time>\d{1,2}:\d{2})?$", re.IGNORECASE
)
_OFFSET = re.compile(r"([+-]\d+)([dw])", re.IGNORECASE)
_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?\s*(?:(?P<h>\d+)h)?\s*(?:(?P<m>\d+)m(?:in)?)?$", re.IGNORECASE)
_WEEKDAYS = [DayOfWeek.MONDAY, DayOfWeek.TUESDAY, DayOfWeek.WEDNESDAY, DayOfWeek.THURSDAY, DayOfWeek.FRIDAY,
             DayOfWeek.SATURDAY, DayOfWeek.SUNDAY]  # fmt: skip
_INDEXES = ["First", "Second", "Third", "Fourth", "Last"]


class ScenarioError(ValueError):
    """The scenario is not valid; the message names the offending entry."""


class TimeSpecs:
    """Reads the scenario's time notations relative to ``now``.

    * ``"+2d 09:00"``, ``"-1w 14:30"``, ``"+1w+2d 10:00"``, ``"today 08:00"``, ``"tomorrow"``: a day relative to
      today in the given zone, at a wall time (default 00:00);
    * ``"2026-03-02T09:00"``: an explicit wall time in the zone; with ``Z`` or an offset: an instant;
    * ``"10:30"`` alone: that time on a base day (exceptions: the day of the occurrence).
    """

    def __init__(self, now: datetime) -> None:
        self.now = now.astimezone(UTC)

    def day(self, spec: Any, time_zone: str) -> date:
        text = str(spec).strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
        match = _RELATIVE.match(text)
        if not match or not match.group("day"):
            raise ScenarioError(f"not a date: {spec!r}")
        return self._relative_day(match.group("day"), time_zone)

    def _relative_day(self, text: str, time_zone: str) -> date:
        today = to_local(self.now, time_zone).date()
        word = text.lower()
        if word == "today":
            return today
        if word == "tomorrow":
            return today + timedelta(days=1)
        if word == "yesterday":
            return today - timedelta(days=1)
        days = 0
        for amount, unit in _OFFSET.findall(text):
            days += int(amount) * (7 if unit.lower() == "w" else 1)
        return today + timedelta(days=days)

    def instant(self, spec: Any, time_zone: str, base_day: date | None = None) -> datetime:
        """An aware UTC datetime for a time spec."""
        text = str(spec).strip()
        match = _RELATIVE.match(text)
        if match and (match.group("day") or match.group("time")):
            if match.group("day"):
                day = self._relative_day(match.group("day"), time_zone)
            elif base_day is not None:
                day = base_day
            else:
                raise ScenarioError(f"a bare time needs a day: {spec!r}")
            at = _wall_time(match.group("time")) if match.group("time") else time()
            return to_utc(datetime.combine(day, at), time_zone)
        try:
            value = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ScenarioError(f"not a time: {spec!r}") from exc
        if value.tzinfo is None:
            return to_utc(value, time_zone)
        return value.astimezone(UTC)


def _wall_time(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    try:
        return time(hours, minutes)
    except ValueError as exc:
        raise ScenarioError(f"not a time of day: {text!r}") from exc


def parse_duration(spec: Any) -> timedelta:
    """``"30m"``, ``"1h"``, ``"1h30m"``, ``"2d"``, or a number of minutes."""
    if isinstance(spec, int | float):
        return timedelta(minutes=spec)
    match = _DURATION.match(str(spec).strip())
    if not match or not any(match.groupdict().values()):
        raise ScenarioError(f"not a duration: {spec!r}")
    parts = {k: int(v or 0) for k, v in match.groupdict().items()}
    return timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"])


def _check_keys(entry: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(entry) - allowed
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {sorted(unknown)}")


class _Loader:
    def __init__(self, world: World, now: datetime) -> None:
        self.world = world
        self.times = TimeSpecs(now)
        self.uids: dict[str, str] = {}

    def zone_of(self, smtp: str, entry: dict[str, Any]) -> str:
        return str(entry.get("time_zone") or self.world.mailbox(smtp).time_zone)

    def span(self, entry: dict[str, Any], tz: str) -> tuple[datetime, datetime]:
        start = self.times.instant(entry["start"], tz)
        if "end" in entry:
            end = self.times.instant(entry["end"], tz)
        elif entry.get("all_day") and "duration" not in entry:
            end = start + timedelta(days=1)
        else:
            end = start + parse_duration(entry.get("duration", "30m"))
        return start, end

    def recurrence(self, data: dict[str, Any] | None, start: datetime, tz: str) -> Any:
        if data is None:
            return None
        local = to_local(start, tz).date()
        filled = dict(data)
        pattern = str(filled.get("pattern", "")).lower()
        weekday = _WEEKDAYS[local.weekday()].value
        if pattern == "weekly":
            filled.setdefault("days", [weekday])
        if pattern in ("absolute_monthly", "absolute_yearly"):
            filled.setdefault("day_of_month", local.day)
        if pattern in ("absolute_yearly", "relative_yearly"):
            filled.setdefault("month", local.month)
        if pattern in ("relative_monthly", "relative_yearly"):
            filled.setdefault("day", weekday)
            filled.setdefault("index", _INDEXES[min((local.day - 1) // 7, 4)])
        return parse_recurrence(filled, local, lambda spec: self.times.day(spec, tz))

    def occurrence(self, organizer: str, uid: str, spec: Any, tz: str) -> int | datetime:
        """An occurrence by index, by explicit start, or (relative day) the first one on or after that day."""
        if isinstance(spec, int):
            return spec
        text = str(spec)
        if "T" in text or ":" in text:
            return self.times.instant(text, tz)
        day = self.times.day(text, tz)
        begin = to_utc(datetime.combine(day, time()), tz)
        candidates = [
            item.original_start
            for item in self.world.calendar_view(organizer, begin - timedelta(days=2), begin + timedelta(days=400))
            if item.uid == uid and item.original_start is not None and to_local(item.original_start, tz).date() >= day
        ]
        if candidates:
            return min(candidates)
        raise ScenarioError(f"no occurrence on or after {text}")

    def extended(self, entry: dict[str, Any]) -> dict[Any, Any]:
        return {extended_key_from_json(k): v for k, v in entry.get("extended_properties", {}).items()}

    # -- sections -------------------------------------------------------------------------------------------

    def mailbox(self, entry: dict[str, Any]) -> None:
        _check_keys(entry, {"smtp", "name", "time_zone", "password", "title", "language", "auto_accept"}, "mailbox")
        self.world.add_mailbox(entry["smtp"], entry.get("name", entry["smtp"]), entry.get("time_zone", "UTC"),
                               entry.get("password"), entry.get("language", "en"),
                               bool(entry.get("auto_accept", False)))  # fmt: skip

    def service_account(self, entry: dict[str, Any]) -> None:
        _check_keys(entry, {"login", "password", "impersonation"}, "service account")
        self.world.add_service_account(entry["login"], entry["password"], bool(entry.get("impersonation", True)))

    def delegate(self, entry: dict[str, Any]) -> None:
        _check_keys(entry, {"owner", "delegate"}, "delegate")
        self.world.grant_delegate(entry["owner"], entry["delegate"])

    def appointment(self, entry: dict[str, Any]) -> None:
        _check_keys(
            entry,
            {"id", "mailbox", "subject", "start", "end", "duration", "all_day", "time_zone", "location", "body",
             "body_type", "recurrence", "categories", "extended_properties", "sensitivity"},
            "appointment",
        )  # fmt: skip
        smtp = entry["mailbox"]
        tz = self.zone_of(smtp, entry)
        start, end = self.span(entry, tz)
        item = self.world.create_appointment(
            smtp,
            entry["subject"],
            start,
            end,
            body=entry.get("body", ""),
            body_type=entry.get("body_type", "Text"),
            location=entry.get("location", ""),
            all_day=bool(entry.get("all_day", False)),
            time_zone=tz,
            recurrence=self.recurrence(entry.get("recurrence"), start, tz),
            categories=entry.get("categories", []),
            extended_properties=self.extended(entry),
            sensitivity=entry.get("sensitivity", "Normal"),
        )
        if "id" in entry:
            self.uids[entry["id"]] = item.uid

    def meeting(self, entry: dict[str, Any]) -> None:
        _check_keys(
            entry,
            {"id", "organizer", "subject", "start", "end", "duration", "all_day", "time_zone", "location", "body",
             "body_type", "required", "optional", "resources", "recurrence", "as_delegate", "send_invitations",
             "extended_properties", "updates", "exceptions", "deleted_occurrences", "responses",
             "occurrence_responses", "cancelled", "sensitivity"},
            "meeting",
        )  # fmt: skip
        organizer = entry["organizer"]
        tz = self.zone_of(organizer, entry)
        start, end = self.span(entry, tz)
        item = self.world.create_meeting(
            organizer,
            entry["subject"],
            start,
            end,
            required=_people(entry.get("required", [])),
            optional=_people(entry.get("optional", [])),
            resources=_people(entry.get("resources", [])),
            body=entry.get("body", ""),
            body_type=entry.get("body_type", "Text"),
            location=entry.get("location", ""),
            all_day=bool(entry.get("all_day", False)),
            time_zone=tz,
            recurrence=self.recurrence(entry.get("recurrence"), start, tz),
            send_invitations=bool(entry.get("send_invitations", True)),
            as_delegate=entry.get("as_delegate"),
            extended_properties=self.extended(entry),
            sensitivity=entry.get("sensitivity", "Normal"),
        )
        uid = item.uid
        if "id" in entry:
            self.uids[entry["id"]] = uid
        delegate = entry.get("as_delegate")
        for update in entry.get("updates", []):
            changes = dict(update)
            if "start" in changes or "end" in changes:
                merged = {"start": changes.get("start", entry["start"]), **changes}
                if "end" not in changes and "duration" not in changes:
                    merged["duration"] = entry.get("duration", "30m")
                changes["start"], changes["end"] = self.span(merged, tz)
                changes.pop("duration", None)
            for name in ("required", "optional", "resources"):
                if name in changes:
                    changes[name] = _people(changes[name])
            self.world.update_meeting(organizer, uid, as_delegate=delegate, **changes)
        for exception in entry.get("exceptions", []):
            changes = dict(exception)
            occurrence = self.occurrence(organizer, uid, changes.pop("occurrence"), tz)
            if "start" in changes or "end" in changes or "duration" in changes:
                original = self._original_start(organizer, uid, occurrence)
                base_day = to_local(original, tz).date()
                if "start" in changes:
                    changes["start"] = self.times.instant(changes["start"], tz, base_day)
                if "end" in changes:
                    changes["end"] = self.times.instant(changes["end"], tz, base_day)
                if "duration" in changes:
                    changes["end"] = changes.get("start", original) + parse_duration(changes.pop("duration"))
            self.world.update_occurrence(organizer, uid, occurrence, as_delegate=delegate, **changes)
        for spec in entry.get("deleted_occurrences", []):
            occurrence = self.occurrence(organizer, uid, spec, tz)
            self.world.delete_occurrence(organizer, uid, occurrence, as_delegate=delegate)
        for attendee, response in entry.get("responses", {}).items():
            if isinstance(response, dict):  # {"response": "Decline", "keep_in_calendar": true}
                _check_keys(response, {"response", "keep_in_calendar"}, "response")
                self.world.respond(attendee, uid, response["response"],
                                   keep_in_calendar=bool(response.get("keep_in_calendar")))  # fmt: skip
            else:
                self.world.respond(attendee, uid, response)
        for answer in entry.get("occurrence_responses", []):
            _check_keys(answer, {"attendee", "occurrence", "response"}, "occurrence response")
            occurrence = self.occurrence(organizer, uid, answer["occurrence"], tz)
            self.world.respond(answer["attendee"], uid, answer["response"], occurrence=occurrence)
        if entry.get("cancelled"):
            self.world.cancel_meeting(organizer, uid, as_delegate=delegate)

    def _original_start(self, organizer: str, uid: str, occurrence: int | datetime) -> datetime:
        if isinstance(occurrence, datetime):
            return occurrence
        (master,) = [i for i in self.world.find_items(organizer) if i.uid == uid]
        found = self.world.get_occurrence(master.item_id, occurrence).original_start
        assert found is not None
        return found


def _people(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if isinstance(value, dict):
            out.append((value["smtp"], value.get("name", "")))
        else:
            out.append(value)
    return out


def _describe(section: str, index: int, entry: Any) -> str:
    label = ""
    if isinstance(entry, dict):
        label = str(entry.get("id") or entry.get("subject") or entry.get("smtp") or entry.get("login") or "")
    return f"{section}[{index}]" + (f" ({label})" if label else "")


def load_scenario(source: str | Path | dict[str, Any], world: World, now: datetime | None = None) -> dict[str, str]:
    """Populate ``world`` from a scenario file path or an already parsed dict.

    Relative times (``"+2d 09:00"``) are resolved against ``now`` (default: the world's clock) in the zone of
    the mailbox concerned. Returns the map of scenario ``id`` -> UID so tests can refer to meetings.
    Raises :class:`ScenarioError` naming the entry that failed.
    """
    if isinstance(source, dict):
        data = source
    else:
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ScenarioError(f"cannot read scenario {source}: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError("a scenario is a JSON object")
    _check_keys(data, _TOP_KEYS, "scenario")
    loader = _Loader(world, now or world.clock())
    sections: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
        ("mailboxes", loader.mailbox),
        ("service_accounts", loader.service_account),
        ("delegates", loader.delegate),
        ("appointments", loader.appointment),
        ("meetings", loader.meeting),
    ]
    for section, handler in sections:
        entries = data.get(section, [])
        if not isinstance(entries, list):
            raise ScenarioError(f"{section} must be a list")
        for index, entry in enumerate(entries):
            try:
                if not isinstance(entry, dict):
                    raise ScenarioError("each entry is an object")
                handler(entry)
            except (WorldError, ScenarioError, KeyError, ValueError, TypeError) as exc:
                detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
                raise ScenarioError(f"{_describe(section, index, entry)}: {detail}") from exc
    return dict(loader.uids)
