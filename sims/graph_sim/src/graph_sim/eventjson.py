"""World calendar items as Graph v1.0 ``event`` JSON, and Graph JSON as world changes.

Pure functions: no sockets. Follows the v1.0 ``event`` resource: ids and ``changeKey`` from the world, ``start``
and ``end`` as ``dateTimeTimeZone`` in the zone asked for with ``Prefer: outlook.timezone`` (UTC otherwise),
``type`` singleInstance/occurrence/exception/seriesMaster, ``seriesMasterId`` and ``originalStart`` on instances,
``recurrence`` (patternedRecurrence) on masters only, attendees with ``status {response, time}``.
``iCalUId`` is Exchange's Global Object Id in hex: the series' own on singles and masters, and one per instance
(the original start date written into it) on occurrences and exceptions, as Graph documents.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ews_sim.world import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    Attendee,
    BodyType,
    CalendarItem,
    CalendarItemType,
    DailyPattern,
    DayOfWeek,
    DayOfWeekIndex,
    EndDateRecurrence,
    LegacyFreeBusyStatus,
    NoEndRecurrence,
    NumberedRecurrence,
    Recurrence,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    ResponseType,
    WeeklyPattern,
)
from ews_sim.world.recurrence import to_local
from graph_sim.errors import GraphError, bad_request
from graph_sim.ids import rest_id, user_id
from graph_sim.timezones import graph_datetime, parse_graph_datetime, to_iana, to_windows

#: Extended property holding a Teams join URL (events created through Graph with isOnlineMeeting).
ONLINE_MEETING_KEY = ("PublicStrings", "GraphSimOnlineMeetingJoinUrl", "String")

#: Every property of microsoft.graph.event this simulator serves, in Graph's order ($select checks against it).
EVENT_PROPERTIES = (
    "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "transactionId",
    "originalStartTimeZone", "originalEndTimeZone", "iCalUId", "reminderMinutesBeforeStart", "isReminderOn",
    "hasAttachments", "subject", "bodyPreview", "importance", "sensitivity", "isAllDay", "isCancelled",
    "isOrganizer", "responseRequested", "seriesMasterId", "showAs", "type", "webLink", "onlineMeetingUrl",
    "isOnlineMeeting", "onlineMeetingProvider", "allowNewTimeProposals", "isDraft", "hideAttendees",
    "originalStart", "responseStatus", "body", "start", "end", "location", "locations", "recurrence",
    "attendees", "organizer", "onlineMeeting",
)  # fmt: skip

_RESPONSES = {
    ResponseType.UNKNOWN: "none",
    ResponseType.ORGANIZER: "organizer",
    ResponseType.TENTATIVE: "tentativelyAccepted",
    ResponseType.ACCEPT: "accepted",
    ResponseType.DECLINE: "declined",
    ResponseType.NO_RESPONSE_RECEIVED: "notResponded",
}
_TYPES = {
    CalendarItemType.SINGLE: "singleInstance",
    CalendarItemType.OCCURRENCE: "occurrence",
    CalendarItemType.EXCEPTION: "exception",
    CalendarItemType.RECURRING_MASTER: "seriesMaster",
}
_SHOW_AS = {
    LegacyFreeBusyStatus.FREE: "free",
    LegacyFreeBusyStatus.TENTATIVE: "tentative",
    LegacyFreeBusyStatus.BUSY: "busy",
    LegacyFreeBusyStatus.OOF: "oof",
    LegacyFreeBusyStatus.WORKING_ELSEWHERE: "workingElsewhere",
    LegacyFreeBusyStatus.NO_DATA: "unknown",
}
_SHOW_AS_BACK = {v: k for k, v in _SHOW_AS.items()}
_SENSITIVITY = {"Normal": "normal", "Personal": "personal", "Private": "private", "Confidential": "confidential"}
_SENSITIVITY_BACK = {v: k for k, v in _SENSITIVITY.items()}
_NEVER = "0001-01-01T00:00:00Z"
_GOID_CLASS = "040000008200E00074C5B7101A82E008"


@dataclass(frozen=True)
class Rendering:
    """How the client asked to see events: ``Prefer`` zone (label as given, IANA zone) and body type."""

    zone_label: str = "UTC"
    zone: str = "UTC"
    body_type: str = "html"  # "html" | "text"
    graph_url: str = "https://graph.microsoft.com/v1.0"


def offset_datetime(value: datetime | None) -> str:
    """A DateTimeOffset as Graph writes it (UTC, 7 fractional digits)."""
    if value is None:
        return _NEVER
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S") + f".{value.microsecond:06d}0Z"


def _response_time(value: datetime | None) -> str:
    return _NEVER if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ical_uid(item: CalendarItem) -> str:
    """Graph's iCalUId: the Global Object Id, with the instance's original start date in it for instances."""
    goid = item.uid.upper()
    if not (goid.startswith(_GOID_CLASS) and len(goid) >= 40 and all(c in "0123456789ABCDEF" for c in goid)):
        data = b"vCal-Uid" + (1).to_bytes(4, "little") + item.uid.encode() + b"\x00"
        goid = _GOID_CLASS + "00000000" + "0" * 32 + len(data).to_bytes(4, "little").hex().upper() + data.hex().upper()
    if item.original_start is not None:
        day = to_local(item.original_start, item.start_time_zone).date()
        goid = goid[:32] + f"{day.year:04X}{day.month:02X}{day.day:02X}" + goid[40:]
    return goid


def text_of_html(content: str) -> str:
    text = re.sub(r"(?is)<(script|style|head).*?</\1>", "", content)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(text).strip()


def html_of_text(content: str) -> str:
    escaped = html.escape(content).replace("\r\n", "\n").replace("\n", "<br>\r\n")
    return (
        '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n</head>\r\n'
        f'<body>\r\n<div class="PlainText">{escaped}</div>\r\n</body>\r\n</html>\r\n'
    )


def _body(item: CalendarItem, wanted: str) -> dict[str, str]:
    is_html = item.body.body_type == BodyType.HTML
    if wanted == "text":
        return {"contentType": "text", "content": text_of_html(item.body.content) if is_html else item.body.content}
    return {"contentType": "html", "content": item.body.content if is_html else html_of_text(item.body.content)}


def _preview(item: CalendarItem) -> str:
    text = text_of_html(item.body.content) if item.body.body_type == BodyType.HTML else item.body.content
    return " ".join(text.split())[:255]


def _when(instant: datetime, item: CalendarItem, how: Rendering) -> dict[str, str]:
    if item.is_all_day:  # all-day events are floating: local midnights of the event, in any zone asked for
        local = to_local(instant, item.start_time_zone)
        return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S") + ".0000000", "timeZone": how.zone_label}
    return {"dateTime": graph_datetime(instant, how.zone), "timeZone": how.zone_label}


def _location(name: str) -> dict[str, Any]:
    if not name:
        return {
            "displayName": "",
            "locationType": "default",
            "uniqueIdType": "unknown",
            "address": {},
            "coordinates": {},
        }
    return {"displayName": name, "locationType": "default", "uniqueId": name, "uniqueIdType": "private"}


def _email(address: str, name: str) -> dict[str, str]:
    return {"name": name or address, "address": address}


def _attendee(attendee: Attendee, kind: str) -> dict[str, Any]:
    return {
        "type": kind,
        "status": {"response": _RESPONSES[attendee.response_type], "time": _response_time(attendee.last_response_time)},
        "emailAddress": _email(attendee.mailbox.email_address, attendee.mailbox.name),
    }


def recurrence_json(recurrence: Recurrence, time_zone: str) -> dict[str, Any]:
    """EWS recurrence as Graph's patternedRecurrence."""
    p = recurrence.pattern
    pattern: dict[str, Any] = {
        "type": "daily",
        "interval": 1,
        "month": 0,
        "dayOfMonth": 0,
        "firstDayOfWeek": "sunday",
        "index": "first",
    }
    if isinstance(p, DailyPattern):
        pattern.update(type="daily", interval=p.interval)
    elif isinstance(p, WeeklyPattern):
        pattern.update(
            type="weekly",
            interval=p.interval,
            daysOfWeek=[_day_names(d) for d in p.days_of_week],
            firstDayOfWeek=p.first_day_of_week.value.lower(),
        )
    elif isinstance(p, AbsoluteMonthlyPattern):
        pattern.update(type="absoluteMonthly", interval=p.interval, dayOfMonth=p.day_of_month)
    elif isinstance(p, RelativeMonthlyPattern):
        pattern.update(
            type="relativeMonthly",
            interval=p.interval,
            daysOfWeek=_days(p.days_of_week),
            index=p.day_of_week_index.value.lower(),
        )
    elif isinstance(p, AbsoluteYearlyPattern):
        pattern.update(type="absoluteYearly", month=p.month, dayOfMonth=p.day_of_month)
    elif isinstance(p, RelativeYearlyPattern):
        pattern.update(
            type="relativeYearly",
            month=p.month,
            daysOfWeek=_days(p.days_of_week),
            index=p.day_of_week_index.value.lower(),
        )
    if "daysOfWeek" not in pattern:
        pattern["daysOfWeek"] = []
    r = recurrence.range
    rng: dict[str, Any] = {
        "type": "noEnd",
        "startDate": r.start_date.isoformat(),
        "endDate": "0001-01-01",
        "recurrenceTimeZone": to_windows(time_zone),
        "numberOfOccurrences": 0,
    }
    if isinstance(r, EndDateRecurrence):
        rng.update(type="endDate", endDate=r.end_date.isoformat())
    elif isinstance(r, NumberedRecurrence):
        rng.update(type="numbered", numberOfOccurrences=r.number_of_occurrences)
    return {"pattern": pattern, "range": rng}


def _day_names(day: DayOfWeek) -> str:
    return day.value.lower()


def _days(day: DayOfWeek) -> list[str]:
    if day == DayOfWeek.DAY:
        return ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
    if day == DayOfWeek.WEEKDAY:
        return ["monday", "tuesday", "wednesday", "thursday", "friday"]
    if day == DayOfWeek.WEEKEND_DAY:
        return ["saturday", "sunday"]
    return [day.value.lower()]


def event_json(item: CalendarItem, how: Rendering) -> dict[str, Any]:
    """The full Graph event of a world item (single, master, occurrence or exception)."""
    event_id = rest_id(item.item_id)
    join_url = item.extended_properties.get(ONLINE_MEETING_KEY)
    organizer = item.organizer
    attendees = (
        [_attendee(a, "required") for a in item.required_attendees]
        + [_attendee(a, "optional") for a in item.optional_attendees]
        + [_attendee(a, "resource") for a in item.resources]
    )
    web_link = (
        "https://outlook.office365.com/owa/?itemid=" + event_id.replace("=", "%3D") + "&exvsurl=1&path=/calendar/item"
    )
    my_response = ResponseType.ORGANIZER if item.is_organizer else item.my_response_type
    event: dict[str, Any] = {
        "@odata.etag": f'W/"{item.change_key}"',
        "id": event_id,
        "createdDateTime": offset_datetime(item.date_time_created),
        "lastModifiedDateTime": offset_datetime(item.last_modified_time),
        "changeKey": item.change_key,
        "categories": list(item.categories),
        "transactionId": None,
        "originalStartTimeZone": to_windows(item.start_time_zone),
        "originalEndTimeZone": to_windows(item.end_time_zone),
        "iCalUId": ical_uid(item),
        "reminderMinutesBeforeStart": item.reminder_minutes_before_start,
        "isReminderOn": item.reminder_is_set,
        "hasAttachments": False,
        "subject": item.subject,
        "bodyPreview": _preview(item),
        "importance": item.importance.lower(),
        "sensitivity": _SENSITIVITY.get(item.sensitivity, "normal"),
        "isAllDay": item.is_all_day,
        "isCancelled": item.is_cancelled,
        "isOrganizer": item.is_organizer,
        "responseRequested": item.is_response_requested,
        "seriesMasterId": rest_id(item.recurring_master_id) if item.recurring_master_id else None,
        "showAs": _SHOW_AS[item.legacy_free_busy_status],
        "type": _TYPES[item.calendar_item_type],
        "webLink": web_link,
        "onlineMeetingUrl": None,
        "isOnlineMeeting": bool(item.is_online_meeting or join_url),
        "onlineMeetingProvider": "teamsForBusiness" if join_url else "unknown",
        "allowNewTimeProposals": item.allow_new_time_proposal,
        "isDraft": False,
        "hideAttendees": False,
    }
    if item.original_start is not None:
        event["originalStart"] = item.original_start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event.update(
        {
            "responseStatus": {
                "response": _RESPONSES[my_response],
                "time": _response_time(item.appointment_reply_time),
            },
            "body": _body(item, how.body_type),
            "start": _when(item.start, item, how),
            "end": _when(item.end, item, how),
            "location": _location(item.location),
            "locations": [_location(item.location)] if item.location else [],
            "recurrence": recurrence_json(item.recurrence, item.start_time_zone) if item.recurrence else None,
            "attendees": attendees,
            "organizer": {"emailAddress": _email(organizer.email_address, organizer.name)} if organizer else None,
            "onlineMeeting": {"joinUrl": join_url} if join_url else None,
        }
    )
    return event


def select(event: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """``$select``: the chosen properties plus ``@odata.etag`` and ``id``, as Graph always returns them."""
    if not fields:
        return event
    keep = {"@odata.etag", "id", *fields}
    return {k: v for k, v in event.items() if k in keep}


def removed_json(event_id: str) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.event", "id": event_id, "@removed": {"reason": "deleted"}}


def notification_resource(smtp: str, item_id: str) -> str:
    return f"Users/{user_id(smtp)}/Events/{rest_id(item_id)}"


# -- Graph JSON in -----------------------------------------------------------------------------------------------


def _zone_of(value: dict[str, Any], default: str) -> str:
    name = value.get("timeZone") or default
    zone = to_iana(str(name))
    if zone is None:
        raise GraphError(
            400,
            "TimeZoneNotSupportedException",
            f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{name}'.",
        )
    return zone


def _instant(value: Any, field: str, default_zone: str) -> tuple[datetime, str]:
    if not isinstance(value, dict) or "dateTime" not in value:
        raise bad_request(f"The property '{field}' must be a dateTimeTimeZone.", "ErrorInvalidRequest")
    zone = _zone_of(value, default_zone)
    try:
        return parse_graph_datetime(str(value["dateTime"]), zone), zone
    except ValueError as exc:
        raise bad_request(
            f"Cannot convert the literal '{value['dateTime']}' to the expected type 'Edm.DateTimeOffset'."
        ) from exc


_PATTERN_FIELDS = {"type", "interval", "month", "dayOfMonth", "daysOfWeek", "firstDayOfWeek", "index"}


def parse_recurrence(data: Any) -> Recurrence:
    """Graph's patternedRecurrence as a world Recurrence."""
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("pattern"), dict)
        or not isinstance(data.get("range"), dict)
    ):
        raise bad_request("recurrence needs a pattern and a range.", "ErrorInvalidRecurrence")
    p, r = data["pattern"], data["range"]
    kind = p.get("type")
    interval = int(p.get("interval") or 1)
    days = [str(d).capitalize() for d in p.get("daysOfWeek") or []]
    index = DayOfWeekIndex(str(p.get("index") or "first").capitalize())
    try:
        pattern: Any
        if kind == "daily":
            pattern = DailyPattern(interval)
        elif kind == "weekly":
            pattern = WeeklyPattern(
                tuple(DayOfWeek(d) for d in days),
                interval,
                DayOfWeek(str(p.get("firstDayOfWeek") or "sunday").capitalize()),
            )
        elif kind == "absoluteMonthly":
            pattern = AbsoluteMonthlyPattern(int(p["dayOfMonth"]), interval)
        elif kind == "relativeMonthly":
            pattern = RelativeMonthlyPattern(_one_day(days), index, interval)
        elif kind == "absoluteYearly":
            pattern = AbsoluteYearlyPattern(int(p["dayOfMonth"]), int(p["month"]))
        elif kind == "relativeYearly":
            pattern = RelativeYearlyPattern(_one_day(days), index, int(p["month"]))
        else:
            raise bad_request(f"Unknown recurrence pattern type '{kind}'.", "ErrorInvalidRecurrence")
        start = date.fromisoformat(str(r["startDate"]))
        rng: Any
        if r.get("type") == "endDate":
            rng = EndDateRecurrence(start, date.fromisoformat(str(r["endDate"])))
        elif r.get("type") == "numbered":
            rng = NumberedRecurrence(start, int(r["numberOfOccurrences"]))
        elif r.get("type") == "noEnd":
            rng = NoEndRecurrence(start)
        else:
            raise bad_request(f"Unknown recurrence range type '{r.get('type')}'.", "ErrorInvalidRecurrence")
    except (KeyError, ValueError) as exc:
        raise bad_request(f"The recurrence is not valid: {exc}", "ErrorInvalidRecurrence") from exc
    return Recurrence(pattern, rng)


def _one_day(days: list[str]) -> DayOfWeek:
    wanted = set(days)
    if wanted == {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}:
        return DayOfWeek.DAY
    if wanted == {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}:
        return DayOfWeek.WEEKDAY
    if wanted == {"Saturday", "Sunday"}:
        return DayOfWeek.WEEKEND_DAY
    if len(wanted) != 1:
        raise ValueError("a relative pattern takes one day of week (or every day, weekdays, weekend days)")
    return DayOfWeek(days[0])


@dataclass
class EventInput:
    """What a POST or PATCH body asks for, in world terms (only the fields present)."""

    changes: dict[str, Any]
    required: list[tuple[str, str]] | None = None
    optional: list[tuple[str, str]] | None = None
    resources: list[tuple[str, str]] | None = None

    @property
    def has_attendees(self) -> bool:
        return bool(self.required or self.optional or self.resources)


_WRITABLE = {
    "subject", "body", "start", "end", "isAllDay", "location", "locations", "attendees", "recurrence", "sensitivity",
    "showAs", "isOnlineMeeting", "onlineMeetingProvider", "categories", "importance", "isReminderOn",
    "reminderMinutesBeforeStart", "responseRequested", "allowNewTimeProposals", "hideAttendees", "transactionId",
    "originalStartTimeZone", "originalEndTimeZone", "@odata.type",
}  # fmt: skip


def parse_event_input(body: Any, default_zone: str) -> EventInput:
    """A Graph event body (POST or PATCH) as world changes: subject, body, body_type, start, end, time_zone,
    all_day, location, recurrence, sensitivity, legacy_free_busy_status, categories, is_online_meeting."""
    if not isinstance(body, dict):
        raise bad_request("Empty Payload. JSON content expected.")
    unknown = set(body) - _WRITABLE
    if unknown:
        name = sorted(unknown)[0]
        raise bad_request(
            f"The property '{name}' does not exist on type 'microsoft.graph.event'. Make sure to only use property "
            "names that are defined by the type or mark the type as open type.",
            "RequestBodyRead",
        )
    changes: dict[str, Any] = {}
    if "subject" in body:
        changes["subject"] = str(body["subject"] or "")
    if "body" in body:
        b = body["body"] or {}
        changes["body"] = str(b.get("content") or "")
        changes["body_type"] = BodyType.HTML if str(b.get("contentType", "text")).lower() == "html" else BodyType.TEXT
    if "isAllDay" in body:
        changes["all_day"] = bool(body["isAllDay"])
    if "start" in body:
        changes["start"], changes["time_zone"] = _instant(body["start"], "start", default_zone)
    if "end" in body:
        changes["end"], _ = _instant(body["end"], "end", changes.get("time_zone", default_zone))
    if "location" in body:
        changes["location"] = str((body["location"] or {}).get("displayName") or "")
    elif body.get("locations"):
        changes["location"] = str(body["locations"][0].get("displayName") or "")
    if "recurrence" in body:
        changes["recurrence"] = parse_recurrence(body["recurrence"]) if body["recurrence"] else None
    if "sensitivity" in body:
        value = _SENSITIVITY_BACK.get(str(body["sensitivity"]))
        if value is None:
            raise bad_request(f"The value '{body['sensitivity']}' is not valid for sensitivity.")
        changes["sensitivity"] = value
    if "showAs" in body:
        status = _SHOW_AS_BACK.get(str(body["showAs"]))
        if status is None:
            raise bad_request(f"The value '{body['showAs']}' is not valid for showAs.")
        changes["legacy_free_busy_status"] = status
    if "categories" in body:
        changes["categories"] = [str(c) for c in body["categories"] or []]
    if "isOnlineMeeting" in body:
        changes["is_online_meeting"] = bool(body["isOnlineMeeting"])
    result = EventInput(changes)
    if "attendees" in body:
        result.required, result.optional, result.resources = [], [], []
        for entry in body["attendees"] or []:
            address = (entry.get("emailAddress") or {}).get("address")
            if not address:
                raise bad_request("An attendee needs an emailAddress with an address.", "ErrorInvalidRecipients")
            name = str((entry.get("emailAddress") or {}).get("name") or "")
            kind = str(entry.get("type") or "required")
            target = {"required": result.required, "optional": result.optional, "resource": result.resources}.get(kind)
            if target is None:
                raise bad_request(f"The value '{kind}' is not valid for attendee type.")
            target.append((str(address), name))
    return result
