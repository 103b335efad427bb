"""FindItem's ``Restriction`` and ``SortOrder`` on calendar items, for the properties a calendar client queries.

Evaluated against the items FindItem would list (singles and recurring masters without a CalendarView), as
Exchange does: a master is compared with its own Start/End (those of its first occurrence). A property this
simulator cannot query is refused with ``ErrorUnsupportedPathForQuery`` rather than silently ignored, so that a
client never believes a filter was applied when it was not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from lxml import etree

from ews_sim.services.calendar_xml import parse_datetime
from ews_sim.soap import EwsError, children
from ews_sim.world.model import CalendarItem
from ews_sim.xml_names import local_name, t

_FIELDS: dict[str, Callable[[CalendarItem], Any]] = {
    "item:Subject": lambda i: i.subject,
    "item:ItemClass": lambda i: i.item_class,
    "item:DateTimeCreated": lambda i: i.date_time_created,
    "item:DateTimeReceived": lambda i: i.date_time_created,
    "item:LastModifiedTime": lambda i: i.last_modified_time,
    "item:Categories": lambda i: list(i.categories),
    "item:Importance": lambda i: i.importance,
    "item:Sensitivity": lambda i: i.sensitivity,
    "calendar:Start": lambda i: i.start,
    "calendar:End": lambda i: i.end,
    "calendar:UID": lambda i: i.uid,
    "calendar:Location": lambda i: i.location,
    "calendar:IsAllDayEvent": lambda i: i.is_all_day,
    "calendar:IsCancelled": lambda i: i.is_cancelled,
    "calendar:IsMeeting": lambda i: i.is_meeting,
    "calendar:IsRecurring": lambda i: i.calendar_item_type in ("Occurrence", "Exception"),
    "calendar:CalendarItemType": lambda i: str(i.calendar_item_type),
    "calendar:MyResponseType": lambda i: str(i.my_response_type),
    "calendar:LegacyFreeBusyStatus": lambda i: str(i.legacy_free_busy_status),
    "calendar:AppointmentSequenceNumber": lambda i: i.appointment_sequence_number,
}

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "IsEqualTo": lambda a, b: a == b,
    "IsNotEqualTo": lambda a, b: a != b,
    "IsGreaterThan": lambda a, b: a > b,
    "IsGreaterThanOrEqualTo": lambda a, b: a >= b,
    "IsLessThan": lambda a, b: a < b,
    "IsLessThanOrEqualTo": lambda a, b: a <= b,
}


def _getter(path: etree._Element) -> Callable[[CalendarItem], Any]:
    uri = path.get("FieldURI", "")
    if local_name(path.tag) != "FieldURI" or uri not in _FIELDS:
        raise EwsError(
            "ErrorUnsupportedPathForQuery",
            f"The property {uri or local_name(path.tag)} cannot be used in a query restriction.",
        )
    return _FIELDS[uri]


def _constant(text: str, like: Any) -> Any:
    if isinstance(like, datetime):
        return parse_datetime(text)
    if isinstance(like, bool):
        return text.strip().lower() == "true"
    if isinstance(like, int):
        return int(text)
    return text


Predicate = Callable[[CalendarItem], bool]


def compile_restriction(elem: etree._Element) -> Predicate:
    """A predicate for one restriction element (the child of ``m:Restriction``)."""
    kind = local_name(elem.tag)
    kids = children(elem)
    if kind in ("And", "Or"):
        parts = [compile_restriction(k) for k in kids]
        return (lambda i: all(p(i) for p in parts)) if kind == "And" else (lambda i: any(p(i) for p in parts))
    if kind == "Not":
        inner = compile_restriction(kids[0])
        return lambda i: not inner(i)
    if kind == "Exists":
        get = _getter(kids[0])
        return lambda i: get(i) not in (None, "", [])
    if kind in _COMPARISONS:
        get = _getter(kids[0])
        constant = kids[1].find(t("Constant")) if len(kids) > 1 else None
        if constant is None:
            raise EwsError("ErrorUnsupportedQueryFilter", "Only comparisons with a constant are supported.")
        compare = _COMPARISONS[kind]
        raw = constant.get("Value", "")

        def comparison(i: CalendarItem) -> bool:
            value = get(i)
            if value is None:
                return False
            return compare(value, _constant(raw, value))

        return comparison
    if kind == "Contains":
        get = _getter(kids[0])
        constant = kids[1] if len(kids) > 1 else None
        needle = constant.get("Value", "") if constant is not None else ""
        mode = elem.get("ContainmentMode", "Substring")
        ignore_case = "IgnoreCase" in elem.get("ContainmentComparison", "Exact")

        def contains(i: CalendarItem) -> bool:
            value = get(i)
            values = value if isinstance(value, list) else [value]
            for v in values:
                hay, pin = (str(v), needle) if not ignore_case else (str(v).casefold(), needle.casefold())
                if (
                    (mode == "FullString" and hay == pin)
                    or (mode == "Prefixed" and hay.startswith(pin))
                    or (mode not in ("FullString", "Prefixed") and pin in hay)
                ):
                    return True
            return False

        return contains
    raise EwsError("ErrorUnsupportedQueryFilter", f"The restriction {kind} is not supported.")


def apply_restriction(items: list[CalendarItem], restriction: etree._Element | None) -> list[CalendarItem]:
    if restriction is None or not len(restriction):
        return items
    predicate = compile_restriction(children(restriction)[0])
    return [i for i in items if predicate(i)]


def _sort_key(get: Callable[[CalendarItem], Any]) -> Callable[[CalendarItem], tuple[bool, Any]]:
    def key(item: CalendarItem) -> tuple[bool, Any]:
        value = get(item)
        return (value is None, value if value is not None else 0)

    return key


def apply_sort(items: list[CalendarItem], sort_order: etree._Element | None) -> list[CalendarItem]:
    """``m:SortOrder``: FieldOrders, the first one most significant."""
    if sort_order is None:
        return items
    ordered = list(items)
    for field_order in reversed(children(sort_order)):
        path = children(field_order)[0]
        get = _getter(path)
        descending = field_order.get("Order", "Ascending") == "Descending"
        ordered.sort(key=_sort_key(get), reverse=descending)
    return ordered
