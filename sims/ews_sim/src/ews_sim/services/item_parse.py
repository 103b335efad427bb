"""Calendar item XML in requests (CreateItem, UpdateItem's SetItemField) to world keyword arguments.

The world's write methods take Python values: ``subject``, ``body``/``body_type``, ``start``/``end`` (aware
UTC), ``all_day``, ``location``, ``time_zone`` (IANA), ``recurrence``, attendee lists (``required``,
``optional``, ``resources`` as SMTP or (SMTP, name) pairs), ``categories``, ``extended_properties``,
``legacy_free_busy_status``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from lxml import etree

from ews_sim import timezones
from ews_sim.services.calendar_xml import ExtendedFieldPath, parse_datetime
from ews_sim.soap import EwsError, children, text_of
from ews_sim.world import recurrence as rec
from ews_sim.world.model import BodyType, LegacyFreeBusyStatus
from ews_sim.xml_names import local_name, t

_MONTHS = {
    name: i
    for i, name in enumerate(
        (
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ),
        start=1,
    )
}

#: FieldURI (without prefix) -> world keyword, for SetItemField/DeleteItemField.
FIELD_KEYWORDS = {
    "Subject": "subject",
    "Body": "body",
    "Start": "start",
    "End": "end",
    "IsAllDayEvent": "all_day",
    "Location": "location",
    "StartTimeZone": "time_zone",
    "EndTimeZone": "time_zone",
    "MeetingTimeZone": "time_zone",
    "Recurrence": "recurrence",
    "RequiredAttendees": "required",
    "OptionalAttendees": "optional",
    "Resources": "resources",
    "Categories": "categories",
    "LegacyFreeBusyStatus": "legacy_free_busy_status",
    "ExtendedProperty": "extended_properties",
}

#: What DeleteItemField sets a property to.
CLEARED: dict[str, Any] = {
    "subject": "",
    "body": "",
    "location": "",
    "recurrence": None,
    "required": [],
    "optional": [],
    "resources": [],
    "categories": [],
}


def _bool(text: str | None) -> bool:
    return (text or "").strip().lower() in ("true", "1")


def _date(text: str) -> date:
    """``xs:date``, possibly with a zone suffix (``2024-01-01Z``, ``2024-01-01+02:00``)."""
    raw = text.strip()[:10]
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise EwsError("ErrorInvalidRecurrence", f"Invalid date '{text}'.") from exc


def parse_recurrence(elem: etree._Element) -> rec.Recurrence:
    kids = children(elem)
    if len(kids) != 2:
        raise EwsError("ErrorInvalidRecurrence", "A recurrence needs one pattern and one range.")
    p_elem, r_elem = kids
    kind = local_name(p_elem.tag)

    def num(name: str, default: int | None = None) -> int:
        text = text_of(p_elem, t(name))
        if text is None:
            if default is None:
                raise EwsError("ErrorInvalidRecurrence", f"{kind} needs {name}.")
            return default
        return int(text)

    def days() -> str:
        return (text_of(p_elem, t("DaysOfWeek")) or "").strip()

    pattern: rec.Pattern
    try:
        if kind == "DailyRecurrence":
            pattern = rec.DailyPattern(interval=num("Interval"))
        elif kind == "WeeklyRecurrence":
            pattern = rec.WeeklyPattern(
                days_of_week=tuple(rec.DayOfWeek(d) for d in days().split()),
                interval=num("Interval"),
                first_day_of_week=rec.DayOfWeek(text_of(p_elem, t("FirstDayOfWeek")) or "Sunday"),
            )
        elif kind == "AbsoluteMonthlyRecurrence":
            pattern = rec.AbsoluteMonthlyPattern(day_of_month=num("DayOfMonth"), interval=num("Interval"))
        elif kind == "RelativeMonthlyRecurrence":
            pattern = rec.RelativeMonthlyPattern(
                days_of_week=rec.DayOfWeek(days()),
                day_of_week_index=rec.DayOfWeekIndex(text_of(p_elem, t("DayOfWeekIndex")) or ""),
                interval=num("Interval"),
            )
        elif kind == "AbsoluteYearlyRecurrence":
            pattern = rec.AbsoluteYearlyPattern(
                day_of_month=num("DayOfMonth"), month=_MONTHS[text_of(p_elem, t("Month")) or ""]
            )
        elif kind == "RelativeYearlyRecurrence":
            pattern = rec.RelativeYearlyPattern(
                days_of_week=rec.DayOfWeek(days()),
                day_of_week_index=rec.DayOfWeekIndex(text_of(p_elem, t("DayOfWeekIndex")) or ""),
                month=_MONTHS[text_of(p_elem, t("Month")) or ""],
            )
        else:
            raise EwsError("ErrorInvalidRecurrence", f"Unsupported recurrence pattern {kind}.")
    except (ValueError, KeyError) as exc:
        raise EwsError("ErrorInvalidRecurrence", f"Invalid {kind}: {exc}") from exc
    rkind = local_name(r_elem.tag)
    start = _date(text_of(r_elem, t("StartDate")) or "")
    range_: rec.Range
    if rkind == "NoEndRecurrence":
        range_ = rec.NoEndRecurrence(start)
    elif rkind == "EndDateRecurrence":
        range_ = rec.EndDateRecurrence(start, _date(text_of(r_elem, t("EndDate")) or ""))
    elif rkind == "NumberedRecurrence":
        range_ = rec.NumberedRecurrence(start, int(text_of(r_elem, t("NumberOfOccurrences")) or "0"))
    else:
        raise EwsError("ErrorInvalidRecurrence", f"Unsupported recurrence range {rkind}.")
    return rec.Recurrence(pattern, range_)


def parse_attendees(elem: etree._Element) -> list[str | tuple[str, str]]:
    out: list[str | tuple[str, str]] = []
    for att in children(elem):
        mbox = att.find(t("Mailbox"))
        smtp = text_of(mbox, t("EmailAddress"))
        if not smtp:
            raise EwsError("ErrorInvalidRecipients", "An attendee has no EmailAddress.")
        name = text_of(mbox, t("Name"))
        out.append((smtp, name) if name else smtp)
    return out


def parse_extended(elem: etree._Element) -> tuple[tuple[str, str | int, str], Any]:
    path = elem.find(t("ExtendedFieldURI"))
    if path is None:
        raise EwsError("ErrorInvalidExtendedProperty", "ExtendedProperty without ExtendedFieldURI.")
    key = ExtendedFieldPath.from_element(path).key
    values = elem.find(t("Values"))
    if values is not None:
        return key, [v.text or "" for v in children(values)]
    return key, text_of(elem, t("Value")) or ""


def calendar_fields(item: etree._Element, default_zone: str | None) -> dict[str, Any]:
    """Every property present on a request's ``t:CalendarItem`` as world keywords."""
    out: dict[str, Any] = {}
    zone = default_zone
    for child in children(item):
        name = local_name(child.tag)
        if name in ("StartTimeZone", "MeetingTimeZone", "EndTimeZone"):
            iana = timezones.zone_from_element(child)
            if iana is not None and name != "EndTimeZone":
                zone = iana
                out["time_zone"] = iana
    for child in children(item):
        name = local_name(child.tag)
        text = child.text or ""
        if name == "Subject":
            out["subject"] = text
        elif name == "Body":
            out["body"] = text
            out["body_type"] = BodyType.HTML if child.get("BodyType") == "HTML" else BodyType.TEXT
        elif name in ("Start", "End"):
            out[name.lower()] = parse_datetime(text, zone)
        elif name == "IsAllDayEvent":
            out["all_day"] = _bool(text)
        elif name == "Location":
            out["location"] = text
        elif name == "Recurrence":
            out["recurrence"] = parse_recurrence(child)
        elif name in ("RequiredAttendees", "OptionalAttendees", "Resources"):
            out[FIELD_KEYWORDS[name]] = parse_attendees(child)
        elif name == "Categories":
            out["categories"] = [c.text or "" for c in children(child)]
        elif name == "LegacyFreeBusyStatus":
            out["legacy_free_busy_status"] = LegacyFreeBusyStatus(text)
        elif name == "ExtendedProperty":
            key, value = parse_extended(child)
            out.setdefault("extended_properties", {})[key] = value
        elif name == "UID":
            out["uid"] = text
    return out
