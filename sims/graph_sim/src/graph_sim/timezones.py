"""Time zones as Graph names them: Windows ids ("W. Europe Standard Time") or IANA names ("Europe/Berlin")."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ews_sim.timezones import UnknownTimeZone, iana_name, windows_id


def to_iana(name: str) -> str | None:
    """The IANA zone of a Windows or IANA name; None when neither is known."""
    if name in ("UTC", "Etc/UTC", "tzone://Microsoft/Utc", "Coordinated Universal Time"):
        return "UTC"
    try:
        return iana_name(name)
    except UnknownTimeZone:
        pass  # not a Windows id; try IANA
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def to_windows(iana: str) -> str:
    try:
        return windows_id(iana)
    except UnknownTimeZone:
        return iana  # a zone without a Windows id keeps its IANA name


def graph_datetime(instant: datetime, zone: str) -> str:
    """Graph's dateTime string (7 fractional digits, no offset) of ``instant`` in IANA ``zone``."""
    local = instant.astimezone(UTC if zone == "UTC" else ZoneInfo(zone))
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f".{local.microsecond:06d}0"


def parse_graph_datetime(value: str, zone: str) -> datetime:
    """An aware instant from a Graph dateTimeTimeZone (``value`` is wall time in IANA ``zone``)."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1]
    if "." in text:
        head, frac = text.split(".", 1)
        digits = "".join(ch for ch in frac if ch.isdigit())[:6]
        text = f"{head}.{digits.ljust(6, '0')}" if digits else head
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    return parsed.replace(tzinfo=UTC if zone == "UTC" else ZoneInfo(zone)).astimezone(UTC)
