"""Time zones between the world (IANA names) and EWS (Windows zone ids and TimeZoneDefinition elements).

The IANA <-> Windows mapping is Unicode CLDR's windowsZones.xml (data/windows_zones.json notes the version).
Exchange describes a zone in responses as a ``TimeZoneDefinition`` (Periods, TransitionsGroups, Transitions);
the simulator derives the yearly rule from the IANA zone via zoneinfo for the current year, which is what an
Exchange server's registry-based definition expresses too.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree

from ews_sim.xml_names import t

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class UnknownTimeZone(ValueError):
    """A Windows zone id or IANA name the simulator cannot map (EWS answers ``ErrorTimeZone``)."""


@cache
def _tables() -> tuple[dict[str, str], dict[str, str]]:
    raw = json.loads(resources.files("ews_sim").joinpath("data/windows_zones.json").read_text(encoding="utf-8"))
    to_windows: dict[str, str] = {}
    to_iana: dict[str, str] = {}
    for iana, (windows, territory) in raw["iana_to_windows"].items():
        to_windows[iana] = windows
        if territory == "001":  # CLDR's "golden" zone for each Windows id
            to_iana[windows] = iana
    for iana, windows in to_windows.items():
        to_iana.setdefault(windows, iana)
    return to_windows, to_iana


def windows_id(iana: str) -> str:
    """The Windows zone id of an IANA name ("UTC" for UTC and its aliases)."""
    if iana in ("UTC", "Etc/UTC", "Z"):
        return "UTC"
    try:
        return _tables()[0][iana]
    except KeyError:
        raise UnknownTimeZone(iana) from None


def iana_name(windows: str) -> str:
    """The canonical IANA name of a Windows zone id."""
    if windows == "UTC":
        return "UTC"
    try:
        return _tables()[1][windows]
    except KeyError:
        raise UnknownTimeZone(windows) from None


def _duration(delta: timedelta) -> str:
    """xs:duration for a whole number of minutes, as Exchange writes biases (``-PT1H``, ``PT5H30M``)."""
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else ""
    minutes = abs(minutes)
    hours, mins = divmod(minutes, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{mins}M" if mins else "")
    return sign + (text if text != "PT" else "PT0H")


@dataclass(frozen=True)
class _Transition:
    to_daylight: bool
    month: int
    weekday: str
    occurrence: int  # 1..4, or -1 for "last"
    time_offset: timedelta  # local wall time (before the change) of the switch


def _transitions(zone: ZoneInfo, year: int) -> list[_Transition]:
    found: list[_Transition] = []
    day = datetime(year, 1, 1, tzinfo=UTC)
    prev = day.astimezone(zone).utcoffset()
    while day.year == year:
        nxt = day + timedelta(hours=1)
        off = nxt.astimezone(zone).utcoffset()
        if off != prev and off is not None and prev is not None:
            local_before = nxt.replace(tzinfo=None) + prev
            d = local_before.date()
            nth = (d.day - 1) // 7 + 1
            is_last = (d + timedelta(days=7)).month != d.month
            found.append(
                _Transition(
                    to_daylight=bool(nxt.astimezone(zone).dst()),
                    month=d.month,
                    weekday=_WEEKDAYS[d.weekday()],
                    occurrence=-1 if is_last else nth,
                    time_offset=timedelta(hours=local_before.hour, minutes=local_before.minute),
                )
            )
        prev = off
        day = nxt
    return found


@cache
def _definition_parts(iana: str) -> tuple[timedelta, timedelta | None, tuple[_Transition, ...]]:
    try:
        zone = ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimeZone(iana) from exc
    year = date.today().year
    jan = datetime(year, 1, 15, 12, tzinfo=UTC).astimezone(zone)
    jul = datetime(year, 7, 15, 12, tzinfo=UTC).astimezone(zone)
    standard = jan if not jan.dst() else jul
    daylight = jul if not jan.dst() else jan
    std_off = standard.utcoffset() or timedelta(0)
    if not daylight.dst():
        return std_off, None, ()
    return std_off, daylight.utcoffset(), tuple(_transitions(zone, year))


def definition(tag: str, iana: str) -> etree._Element:
    """A ``TimeZoneDefinitionType`` element named ``tag`` (e.g. ``t:StartTimeZone``) describing ``iana``."""
    return copy.deepcopy(_definition(tag, iana))


@cache
def _definition(tag: str, iana: str) -> etree._Element:
    win = windows_id(iana)
    std_off, dst_off, transitions = _definition_parts(iana)
    elem = etree.Element(tag)
    elem.set("Id", win)
    elem.set("Name", win)
    std_id = f"trule:Microsoft/Registry/{win}/1-Standard"
    dst_id = f"trule:Microsoft/Registry/{win}/1-Daylight"
    periods = etree.SubElement(elem, t("Periods"))
    p = etree.SubElement(periods, t("Period"), Bias=_duration(-std_off), Name="Standard", Id=std_id)
    if dst_off is not None:
        etree.SubElement(periods, t("Period"), Bias=_duration(-dst_off), Name="Daylight", Id=dst_id)
    groups = etree.SubElement(elem, t("TransitionsGroups"))
    group = etree.SubElement(groups, t("TransitionsGroup"), Id="0")
    if dst_off is None or not transitions:
        tr = etree.SubElement(group, t("Transition"))
        etree.SubElement(tr, t("To"), Kind="Period").text = p.get("Id")
    else:
        for tr_info in transitions:
            tr = etree.SubElement(group, t("RecurringDayTransition"))
            etree.SubElement(tr, t("To"), Kind="Period").text = dst_id if tr_info.to_daylight else std_id
            etree.SubElement(tr, t("TimeOffset")).text = _duration(tr_info.time_offset)
            etree.SubElement(tr, t("Month")).text = str(tr_info.month)
            etree.SubElement(tr, t("DayOfWeek")).text = tr_info.weekday
            etree.SubElement(tr, t("Occurrence")).text = str(tr_info.occurrence)
    top = etree.SubElement(elem, t("Transitions"))
    tr = etree.SubElement(top, t("Transition"))
    etree.SubElement(tr, t("To"), Kind="Group").text = "0"
    return elem


def zone_from_element(elem: etree._Element | None) -> str | None:
    """IANA name for a request's ``StartTimeZone``/``EndTimeZone``/``TimeZoneDefinition`` (by Id) or
    ``MeetingTimeZone`` (by ``TimeZoneName``, as pre-2010 requests send it). None when absent."""
    if elem is None:
        return None
    win = elem.get("Id") or elem.get("TimeZoneName")
    if not win:
        return None
    return iana_name(win)


_MONTH_NAMES = (
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
)
_INDEX_NAMES = {1: "First", 2: "Second", 3: "Third", 4: "Fourth", -1: "Last"}


def meeting_time_zone(tag: str, iana: str) -> etree._Element:
    """The Exchange 2007 ``TimeZoneType`` (``MeetingTimeZone``): a base offset and yearly Standard/Daylight rules.

    Offsets are biases as in the Windows registry: BaseOffset is minus the standard UTC offset, the Daylight
    Offset minus the extra daylight saving hour.
    """
    return copy.deepcopy(_meeting_time_zone(tag, iana))


@cache
def _meeting_time_zone(tag: str, iana: str) -> etree._Element:
    std_off, dst_off, transitions = _definition_parts(iana)
    elem = etree.Element(tag)
    elem.set("TimeZoneName", windows_id(iana))
    etree.SubElement(elem, t("BaseOffset")).text = _duration(-std_off)
    if dst_off is None or len(transitions) != 2:
        return elem
    to_std = next(tr for tr in transitions if not tr.to_daylight)
    to_dst = next(tr for tr in transitions if tr.to_daylight)
    for name, tr, offset in (("Standard", to_std, timedelta(0)), ("Daylight", to_dst, -(dst_off - std_off))):
        change = etree.SubElement(elem, t(name), TimeZoneName=name)
        etree.SubElement(change, t("Offset")).text = _duration(offset)
        rule = etree.SubElement(change, t("RelativeYearlyRecurrence"))
        etree.SubElement(rule, t("DaysOfWeek")).text = tr.weekday
        etree.SubElement(rule, t("DayOfWeekIndex")).text = _INDEX_NAMES[tr.occurrence]
        etree.SubElement(rule, t("Month")).text = _MONTH_NAMES[tr.month - 1]
        minutes = int(tr.time_offset.total_seconds() // 60)
        etree.SubElement(change, t("Time")).text = f"{minutes // 60:02d}:{minutes % 60:02d}:00"
    return elem
