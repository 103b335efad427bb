"""The control API: one JSON-friendly method per command, and ``dispatch`` for the HTTP mapping.

Parameters and results are plain JSON values: strings, numbers, booleans, lists, dicts; datetimes as ISO 8601
strings (with offset or ``Z``, or naive meaning the mailbox's zone); recurrences as dicts in the shape described
in :mod:`ews_sim.world.jsonio`; occurrences by 1-based index or original start. The protocol layer maps
``POST /control/<command>`` with a JSON object body to ``dispatch(command, body)``. An unknown command raises
:class:`UnknownCommand` (a KeyError); bad parameters raise :class:`~ews_sim.world.errors.InvalidRequest`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from ews_sim.world.core import SimClock, World
from ews_sim.world.errors import InvalidRequest
from ews_sim.world.jsonio import (
    extended_key_from_json,
    parse_datetime,
    parse_recurrence,
    to_json,
)
from ews_sim.world.model import BodyType, CalendarItem
from ews_sim.world.recurrence import to_local
from ews_sim.world.store import instant

JsonDict = dict[str, Any]


class UnknownCommand(InvalidRequest, KeyError):
    """``dispatch`` was given a command that does not exist."""

    def __str__(self) -> str:
        return str(self.args[0])


_COMMANDS = (
    "add_mailbox",
    "add_service_account",
    "grant_delegate",
    "revoke_delegate",
    "list_mailboxes",
    "create_appointment",
    "create_meeting",
    "respond",
    "update_meeting",
    "update_occurrence",
    "delete_occurrence",
    "cancel_meeting",
    "update_item",
    "delete_item",
    "calendar_view",
    "find_items",
    "get_item",
    "items_by_uid",
    "availability",
    "server_busy",
    "http_error",
    "ews_error",
    "latency",
    "max_concurrency",
    "drop_streaming",
    "expire_subscriptions",
    "invalidate_sync_states",
    "mailbox_unavailable",
    "item_corrupt",
    "clear_faults",
    "faults",
    "counters",
    "reset_counters",
    "now",
    "advance_clock",
    "set_clock",
    "load_scenario",
    "reset",
    "find_mailboxes",
    "populate",
)


class Control:
    """Commands (each takes keyword parameters and returns a JSON dict):

    directory: ``add_mailbox(smtp, display_name, time_zone?, password?, language?,
    auto_accept?)``,
    ``add_service_account(login, password, impersonation?)``, ``grant_delegate(owner, delegate)``,
    ``revoke_delegate(owner, delegate)``, ``list_mailboxes()``, ``find_mailboxes(query)``, ``reset()``;
    calendars: ``create_appointment(mailbox, subject, start, end, ...)``, ``create_meeting(organizer, subject,
    start, end, required?, optional?, resources?, location?, body?, body_type?, all_day?, time_zone?,
    recurrence?, send_invitations?, as_delegate?, uid?)``,
    ``respond(attendee, uid, response, occurrence?, keep_in_calendar?)``,
    ``update_meeting(organizer, uid, ...changes)``, ``update_occurrence(organizer, uid, occurrence,
    ...changes)``, ``delete_occurrence(organizer, uid, occurrence)``, ``cancel_meeting(organizer, uid)``,
    ``update_item(item_id, ...changes)``, ``delete_item(item_id, delete_type?)``,
    ``calendar_view(mailbox, start, end)``, ``find_items(mailbox)``, ``get_item(item_id)``, ``items_by_uid(uid)``,
    ``availability(mailbox, start, end)``;
    faults: ``server_busy(count?, backoff_ms?, account?, operation?)`` (count null: until cleared),
    ``http_error(status, count?, operation?)``, ``ews_error(response_code?, count?, operation?, message?)``,
    ``latency(ms)``, ``max_concurrency(limit)``, ``drop_streaming()``,
    ``expire_subscriptions(mailbox?)``, ``invalidate_sync_states(mailbox)``, ``mailbox_unavailable(mailbox,
    unavailable?, move_in_progress?, seconds?, response_code?)``, ``item_corrupt(item_id, corrupt?)``,
    ``clear_faults()``, ``faults()``;
    counters: ``counters()``, ``reset_counters()``;
    time: ``now()``, ``advance_clock(seconds)``, ``set_clock(now)`` (the last two need a SimClock);
    scenarios: ``load_scenario(scenario? | path?, now?)``, ``populate(mailboxes?, meetings_per_mailbox?, seed?,
    domain?)`` (a generated organisation for load tests).
    """

    def __init__(self, world: World) -> None:
        self.world = world

    def commands(self) -> list[str]:
        """Names accepted by :meth:`dispatch`."""
        return list(_COMMANDS)

    def dispatch(self, command: str, params: JsonDict | None = None) -> JsonDict:
        """Run ``command`` with ``params`` as keyword arguments and return its JSON result."""
        if command not in _COMMANDS:
            raise UnknownCommand(f"unknown control command {command!r}")
        method = getattr(self, command)
        try:
            result: JsonDict = method(**(params or {}))
        except (TypeError, ValueError) as exc:  # wrong, missing or malformed parameters
            raise InvalidRequest(f"{command}: {exc}") from exc
        return result

    # -- helpers --------------------------------------------------------------------------------------------

    def _zone(self, smtp: str, time_zone: str | None) -> str:
        return time_zone or self.world.mailbox(smtp).time_zone

    def _recurrence(self, data: Any, start: datetime, zone: str) -> Any:
        if data is None:
            return None
        return parse_recurrence(data, to_local(instant(start, zone), zone).date())

    def _occurrence(self, value: Any) -> int | datetime:
        if isinstance(value, int):
            return value
        return parse_datetime(value)

    def _changes(self, smtp: str | None, changes: JsonDict, current: CalendarItem | None = None) -> JsonDict:
        """JSON change values as world values (datetimes, recurrence, extended property keys). A new recurrence
        starts on the new start's date, or on the ``current`` item's."""
        out = dict(changes)
        for name in ("start", "end"):
            if name in out and out[name] is not None:
                out[name] = parse_datetime(out[name])
        if out.get("recurrence") is not None:
            zone = out.get("time_zone") or (current.start_time_zone if current else None)
            zone = zone or (self.world.mailbox(smtp).time_zone if smtp else "UTC")
            start = out.get("start") or (current.start if current else None)
            if start is None:
                raise InvalidRequest("a new recurrence needs 'start' too")
            out["recurrence"] = self._recurrence(out["recurrence"], start, zone)
        if "extended_properties" in out:
            out["extended_properties"] = {extended_key_from_json(k): v for k, v in out["extended_properties"].items()}
        return out

    # -- directory ------------------------------------------------------------------------------------------

    def add_mailbox(
        self,
        smtp: str,
        display_name: str,
        time_zone: str = "UTC",
        password: str | None = None,
        language: str = "en",
        auto_accept: bool = False,
    ) -> JsonDict:
        mailbox = self.world.add_mailbox(smtp, display_name, time_zone, password, language, auto_accept)
        return {"mailbox": to_json(mailbox)}

    def add_service_account(self, login: str, password: str, impersonation: bool = True) -> JsonDict:
        account = self.world.add_service_account(login, password, impersonation)
        return {"account": {"login": account.login, "impersonation": account.impersonation}}

    def grant_delegate(self, owner: str, delegate: str) -> JsonDict:
        self.world.grant_delegate(owner, delegate)
        return {"ok": True}

    def revoke_delegate(self, owner: str, delegate: str) -> JsonDict:
        self.world.revoke_delegate(owner, delegate)
        return {"ok": True}

    def list_mailboxes(self) -> JsonDict:
        return {"mailboxes": to_json(self.world.mailboxes())}

    def find_mailboxes(self, query: str) -> JsonDict:
        return {"mailboxes": to_json(self.world.find_mailboxes(query))}

    def reset(self) -> JsonDict:
        self.world.reset()
        return {"ok": True}

    # -- calendars ------------------------------------------------------------------------------------------

    def create_appointment(
        self,
        mailbox: str,
        subject: str,
        start: str,
        end: str,
        body: str = "",
        body_type: str = "Text",
        location: str = "",
        all_day: bool = False,
        time_zone: str | None = None,
        recurrence: JsonDict | None = None,
        categories: list[str] | None = None,
        extended_properties: JsonDict | None = None,
        sensitivity: str = "Normal",
    ) -> JsonDict:
        zone = self._zone(mailbox, time_zone)
        begin = parse_datetime(start)
        item = self.world.create_appointment(
            mailbox,
            subject,
            begin,
            parse_datetime(end),
            body=body,
            body_type=BodyType(body_type),
            location=location,
            all_day=all_day,
            time_zone=zone,
            recurrence=self._recurrence(recurrence, begin, zone),
            categories=categories or [],
            extended_properties={extended_key_from_json(k): v for k, v in (extended_properties or {}).items()},
            sensitivity=sensitivity,
        )
        return {"item": to_json(item)}

    def create_meeting(
        self,
        organizer: str,
        subject: str,
        start: str,
        end: str,
        required: list[Any] | None = None,
        optional: list[Any] | None = None,
        resources: list[Any] | None = None,
        body: str = "",
        body_type: str = "Text",
        location: str = "",
        all_day: bool = False,
        time_zone: str | None = None,
        recurrence: JsonDict | None = None,
        send_invitations: bool = True,
        as_delegate: str | None = None,
        uid: str | None = None,
        extended_properties: JsonDict | None = None,
        sensitivity: str = "Normal",
    ) -> JsonDict:
        zone = self._zone(organizer, time_zone)
        begin = parse_datetime(start)
        item = self.world.create_meeting(
            organizer,
            subject,
            begin,
            parse_datetime(end),
            required=_attendees(required),
            optional=_attendees(optional),
            resources=_attendees(resources),
            body=body,
            body_type=BodyType(body_type),
            location=location,
            all_day=all_day,
            time_zone=zone,
            recurrence=self._recurrence(recurrence, begin, zone),
            send_invitations=send_invitations,
            as_delegate=as_delegate,
            uid=uid,
            extended_properties={extended_key_from_json(k): v for k, v in (extended_properties or {}).items()},
            sensitivity=sensitivity,
        )
        return {"item": to_json(item), "uid": item.uid}

    def respond(
        self, attendee: str, uid: str, response: str, occurrence: Any = None, keep_in_calendar: bool = False
    ) -> JsonDict:
        occ = None if occurrence is None else self._occurrence(occurrence)
        item = self.world.respond(attendee, uid, response, occurrence=occ, keep_in_calendar=keep_in_calendar)
        return {"item": to_json(item)}

    def update_meeting(self, organizer: str, uid: str, **changes: Any) -> JsonDict:
        current = next((i for i in self.world.items_by_uid(uid) if i.mailbox == organizer.lower()), None)
        converted = self._changes(organizer, changes, current)
        for name in ("required", "optional", "resources"):
            if name in converted:
                converted[name] = _attendees(converted[name])
        return {"item": to_json(self.world.update_meeting(organizer, uid, **converted))}

    def update_occurrence(self, organizer: str, uid: str, occurrence: Any, **changes: Any) -> JsonDict:
        item = self.world.update_occurrence(
            organizer, uid, self._occurrence(occurrence), **self._changes(organizer, changes)
        )
        return {"item": to_json(item)}

    def delete_occurrence(self, organizer: str, uid: str, occurrence: Any, as_delegate: str | None = None) -> JsonDict:
        self.world.delete_occurrence(organizer, uid, self._occurrence(occurrence), as_delegate=as_delegate)
        return {"ok": True}

    def cancel_meeting(self, organizer: str, uid: str, as_delegate: str | None = None) -> JsonDict:
        self.world.cancel_meeting(organizer, uid, as_delegate=as_delegate)
        return {"ok": True}

    def update_item(self, item_id: str, **changes: Any) -> JsonDict:
        smtp = self.world.mailbox_of_id(item_id)
        current = self.world.get_item(item_id) if "recurrence" in changes else None
        return {"item": to_json(self.world.update_item(item_id, **self._changes(smtp, changes, current)))}

    def delete_item(self, item_id: str, delete_type: str = "HardDelete") -> JsonDict:
        self.world.delete_item(item_id, delete_type)
        return {"ok": True}

    def calendar_view(self, mailbox: str, start: str, end: str) -> JsonDict:
        zone = self._zone(mailbox, None)
        begin, finish = instant(parse_datetime(start), zone), instant(parse_datetime(end), zone)
        return {"items": to_json(self.world.calendar_view(mailbox, begin, finish))}

    def find_items(self, mailbox: str) -> JsonDict:
        return {"items": to_json(self.world.find_items(mailbox))}

    def get_item(self, item_id: str) -> JsonDict:
        return {"item": to_json(self.world.get_item(item_id))}

    def availability(self, mailbox: str, start: str, end: str) -> JsonDict:
        zone = self._zone(mailbox, None)
        begin, finish = instant(parse_datetime(start), zone), instant(parse_datetime(end), zone)
        return {"slots": to_json(self.world.availability(mailbox, begin, finish))}

    def items_by_uid(self, uid: str) -> JsonDict:
        return {"items": to_json(self.world.items_by_uid(uid))}

    # -- faults ---------------------------------------------------------------------------------------------

    def server_busy(
        self, count: int | None = 1, backoff_ms: int = 5000, account: str | None = None, operation: str | None = None
    ) -> JsonDict:
        self.world.gate.server_busy(count, backoff_ms, account, operation)
        return self.faults()

    def http_error(self, status: int, count: int = 1, operation: str | None = None) -> JsonDict:
        if status not in (401, 403, 500, 502, 503, 504):
            raise InvalidRequest("status must be one of 401, 403, 500, 502, 503, 504")
        if count < 1:
            raise InvalidRequest("count must be at least 1")
        self.world.gate.fail_http(status, count, operation)
        return self.faults()

    def ews_error(
        self,
        response_code: str = "ErrorInternalServerError",
        count: int = 1,
        operation: str | None = None,
        message: str | None = None,
    ) -> JsonDict:
        if not response_code.startswith("Error"):
            raise InvalidRequest("response_code must be an EWS ResponseCode (ErrorInternalServerError, ...)")
        if count < 1:
            raise InvalidRequest("count must be at least 1")
        self.world.gate.fail_ews(response_code, count, operation, message)
        return self.faults()

    def latency(self, ms: int) -> JsonDict:
        self.world.gate.set_latency(ms)
        return self.faults()

    def max_concurrency(self, limit: int) -> JsonDict:
        if limit < 1:
            raise InvalidRequest("limit must be at least 1")
        self.world.gate.set_max_concurrency(limit)
        return self.faults()

    def drop_streaming(self) -> JsonDict:
        self.world.drop_streaming_connections()
        return {"ok": True}

    def expire_subscriptions(self, mailbox: str | None = None) -> JsonDict:
        return {"expired": self.world.expire_subscriptions(mailbox)}

    def invalidate_sync_states(self, mailbox: str) -> JsonDict:
        self.world.invalidate_sync_states(mailbox)
        return {"ok": True}

    def mailbox_unavailable(
        self,
        mailbox: str,
        unavailable: bool = True,
        move_in_progress: bool = False,
        seconds: float | None = None,
        response_code: str | None = None,
    ) -> JsonDict:
        self.world.set_mailbox_unavailable(
            mailbox, unavailable, move_in_progress=move_in_progress, seconds=seconds, response_code=response_code
        )
        return {"ok": True}

    def item_corrupt(self, item_id: str, corrupt: bool = True) -> JsonDict:
        self.world.set_item_corrupt(item_id, corrupt)
        return {"ok": True}

    def clear_faults(self) -> JsonDict:
        self.world.clear_faults()
        return self.faults()

    def faults(self) -> JsonDict:
        settings: JsonDict = to_json(self.world.gate.settings())
        settings["unavailable_mailboxes"] = self.world.unavailable_mailboxes()
        return {"faults": settings}

    # -- counters and time ----------------------------------------------------------------------------------

    def counters(self) -> JsonDict:
        return {"counters": self.world.gate.counters()}

    def reset_counters(self) -> JsonDict:
        self.world.gate.reset_counters()
        return {"ok": True}

    def _sim_clock(self) -> SimClock:
        if not isinstance(self.world.clock, SimClock):
            raise InvalidRequest("the world runs on a fixed clock; start it with a SimClock to move time")
        return self.world.clock

    def now(self) -> JsonDict:
        return {"now": self.world.clock().isoformat()}

    def advance_clock(self, seconds: float) -> JsonDict:
        return {"now": self._sim_clock().advance(seconds).isoformat()}

    def set_clock(self, now: str) -> JsonDict:
        when = parse_datetime(now)
        if when.tzinfo is None:
            raise InvalidRequest("set_clock needs an offset or Z")
        return {"now": self._sim_clock().set(when).isoformat()}

    # -- scenarios ------------------------------------------------------------------------------------------

    def populate(
        self, mailboxes: int = 100, meetings_per_mailbox: int = 5, seed: int = 1, domain: str = "load.example"
    ) -> JsonDict:
        from ews_sim.world.generate import populate

        population = populate(self.world, mailboxes, meetings_per_mailbox, seed=seed, domain=domain)
        return {"mailboxes": list(population.mailboxes), "meetings": list(population.meetings)}

    def load_scenario(
        self, scenario: JsonDict | None = None, path: str | None = None, now: str | None = None
    ) -> JsonDict:
        from ews_sim.world.scenario import load_scenario

        if (scenario is None) == (path is None):
            raise InvalidRequest("give either 'scenario' (an object) or 'path'")
        source: JsonDict | Path = scenario if scenario is not None else Path(str(path))
        uids = load_scenario(source, self.world, None if now is None else parse_datetime(now))
        return {"meetings": uids}


def _attendees(values: list[Any] | None) -> list[Any]:
    """Attendees as "smtp" or {"smtp": ..., "name": ...} or [smtp, name]."""
    out: list[Any] = []
    for value in values or []:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict) and "smtp" in value:
            out.append((value["smtp"], value.get("name", "")))
        elif isinstance(value, list | tuple) and len(value) == 2:
            out.append((str(value[0]), str(value[1])))
        else:
            raise InvalidRequest(f"not an attendee: {value!r}")
    return out
