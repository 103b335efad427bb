"""OData query options and ``Prefer`` preferences as Graph's calendar endpoints read them.

``$select``, ``$top``, ``$skip``, ``$orderby`` (start/dateTime, end/dateTime, subject, createdDateTime,
lastModifiedDateTime) and ``$filter`` (comparisons joined by ``and`` on start/dateTime, end/dateTime, subject,
iCalUId, type, isCancelled, seriesMasterId); ``Prefer: outlook.timezone="..."``, ``outlook.body-content-type``,
``odata.maxpagesize=N``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from graph_sim.errors import GraphError, bad_request
from graph_sim.eventjson import EVENT_PROPERTIES, Rendering
from graph_sim.timezones import parse_graph_datetime, to_iana

_PREFERENCE = re.compile(r'\s*([A-Za-z0-9_.\-]+)\s*(?:=\s*("([^"]*)"|[^,;]*))?')


@dataclass
class Preferences:
    zone_label: str = "UTC"
    zone: str = "UTC"
    zone_applied: bool = False
    body_type: str = "html"
    max_page_size: int | None = None
    applied: list[str] = field(default_factory=list)

    def rendering(self, graph_url: str) -> Rendering:
        return Rendering(self.zone_label, self.zone, self.body_type, graph_url)


def preferences(headers: Mapping[str, str] | list[str]) -> Preferences:
    """The preferences of every ``Prefer`` header (several headers or comma-separated values)."""
    values = headers if isinstance(headers, list) else [headers.get("prefer", "")]
    prefs = Preferences()
    for header in values:
        for part in _split(header):
            match = _PREFERENCE.match(part)
            if not match:
                continue
            name = match.group(1).lower()
            value = match.group(3) if match.group(3) is not None else (match.group(2) or "").strip()
            if name == "outlook.timezone":
                zone = to_iana(value)
                if zone is not None:
                    prefs.zone_label, prefs.zone, prefs.zone_applied = value, zone, True
                    prefs.applied.append(f'outlook.timezone="{value}"')
            elif name == "outlook.body-content-type" and value.lower() in ("text", "html"):
                prefs.body_type = value.lower()
                prefs.applied.append(f'outlook.body-content-type="{value.lower()}"')
            elif name == "idtype" and value.lower() == "immutableid":
                prefs.applied.append('IdType="ImmutableId"')  # the simulator's ids never change anyway
            elif name == "odata.maxpagesize":
                try:
                    size = int(value)
                except ValueError:
                    continue
                if size > 0:
                    prefs.max_page_size = size
                    prefs.applied.append(f"odata.maxpagesize={size}")
    return prefs


def _split(header: str) -> list[str]:
    parts, current, quoted = [], "", False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p for p in parts if p.strip()]


# -- query options ------------------------------------------------------------------------------------------------

Getter = Callable[[dict[str, Any]], Any]


def _start(e: dict[str, Any]) -> Any:
    return e["_start_utc"]


def _end(e: dict[str, Any]) -> Any:
    return e["_end_utc"]


_FIELDS: dict[str, Getter] = {
    "start/datetime": _start,
    "end/datetime": _end,
    "subject": lambda e: e["subject"],
    "icaluid": lambda e: e["iCalUId"],
    "type": lambda e: e["type"],
    "iscancelled": lambda e: e["isCancelled"],
    "seriesmasterid": lambda e: e["seriesMasterId"],
    "createddatetime": lambda e: e["createdDateTime"],
    "lastmodifieddatetime": lambda e: e["lastModifiedDateTime"],
    "isallday": lambda e: e["isAllDay"],
}
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and a > b,
    "ge": lambda a, b: a is not None and a >= b,
    "lt": lambda a, b: a is not None and a < b,
    "le": lambda a, b: a is not None and a <= b,
}
_CLAUSE = re.compile(
    r"^\s*([A-Za-z/]+)\s+(eq|ne|gt|ge|lt|le)\s+('(?:[^']|'')*'|true|false|null|[0-9TZ:\-.+]+)\s*$", re.I
)


def _invalid_filter() -> GraphError:
    return bad_request("Invalid filter clause", "BadRequest")


def parse_filter(text: str) -> Callable[[dict[str, Any]], bool]:
    clauses = re.split(r"\s+and\s+", text.strip(), flags=re.I)
    tests: list[Callable[[dict[str, Any]], bool]] = []
    for clause in clauses:
        match = _CLAUSE.match(clause.strip("() "))
        if not match:
            raise _invalid_filter()
        path, op, literal = match.group(1).lower(), match.group(2).lower(), match.group(3)
        getter = _FIELDS.get(path)
        if getter is None:
            raise GraphError(
                400, "ErrorInvalidProperty", f"The property '{match.group(1)}' does not support filtering."
            )
        value: Any
        if literal.startswith("'"):
            value = literal[1:-1].replace("''", "'")
        elif literal.lower() in ("true", "false"):
            value = literal.lower() == "true"
        elif literal.lower() == "null":
            value = None
        else:
            value = literal
        if path in ("start/datetime", "end/datetime", "createddatetime", "lastmodifieddatetime"):
            try:
                value = parse_graph_datetime(str(value), "UTC")
            except ValueError as exc:
                raise _invalid_filter() from exc
            if path in ("createddatetime", "lastmodifieddatetime"):
                getter = _as_datetime(getter)
        compare = _OPS[op]
        tests.append(functools.partial(_test, getter, compare, value))
    return lambda e: all(t(e) for t in tests)


def _test(getter: Getter, compare: Callable[[Any, Any], bool], value: Any, event: dict[str, Any]) -> bool:
    return compare(getter(event), value)


def _sort_key(getter: Getter, event: dict[str, Any]) -> tuple[bool, Any]:
    value = getter(event)
    return (value is None, value)


def _as_datetime(getter: Getter) -> Getter:
    return lambda e: parse_graph_datetime(str(getter(e)).rstrip("Z"), "UTC")


def parse_orderby(text: str) -> list[tuple[Getter, bool]]:
    keys: list[tuple[Getter, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words:
            continue
        getter = _FIELDS.get(words[0].lower())
        if getter is None:
            raise GraphError(400, "ErrorInvalidProperty", f"The property '{words[0]}' does not support sorting.")
        descending = len(words) > 1 and words[1].lower() == "desc"
        keys.append((getter, descending))
    return keys


def parse_select(text: str | None) -> list[str] | None:
    if not text:
        return None
    fields = [f.strip() for f in text.split(",") if f.strip()]
    for name in fields:
        if name not in EVENT_PROPERTIES:
            raise GraphError(
                400,
                "RequestBroker--ParseUri",
                f"Could not find a property named '{name}' on type 'microsoft.graph.event'.",
            )
    return fields


def parse_int(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise bad_request(f"Invalid value for query option '{name}': '{value}'.")
    return number


def parse_window(params: Mapping[str, str]) -> tuple[datetime, datetime]:
    """``startDateTime`` and ``endDateTime`` (ISO 8601; without an offset they are UTC), required together."""
    lowered = {k.lower(): v for k, v in params.items()}
    start, end = lowered.get("startdatetime"), lowered.get("enddatetime")
    if not start or not end:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters StartDateTime and "
            "EndDateTime.",
        )
    try:
        return _instant(start), _instant(end)
    except ValueError as exc:
        raise GraphError(
            400, "ErrorInvalidParameter", f"The parameter 'StartDateTime' or 'EndDateTime' is not valid: {exc}"
        ) from exc


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace(" ", "+"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sort_and_filter(
    events: list[dict[str, Any]], params: Mapping[str, str], default_order: list[tuple[Getter, bool]] | None = None
) -> list[dict[str, Any]]:
    result = list(events)
    lowered = {k.lower(): v for k, v in params.items()}
    if lowered.get("$filter"):
        keep = parse_filter(lowered["$filter"])
        result = [e for e in result if keep(e)]
    order = parse_orderby(lowered["$orderby"]) if lowered.get("$orderby") else (default_order or [])
    for getter, descending in reversed(order):
        result.sort(key=functools.partial(_sort_key, getter), reverse=descending)
    return result
