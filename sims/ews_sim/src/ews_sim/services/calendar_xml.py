"""Calendar items to EWS XML (``t:CalendarItem``), honouring the requested item shape.

Elements are emitted in the order of ``ItemType`` followed by ``CalendarItemType`` in types.xsd -- EWS
responses are validated against sequences, and clients with strict parsers rely on it. Times are UTC with a
trailing ``Z``, as Exchange writes them when the request carries no ``DateTimePrecision``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from lxml import etree

from ews_sim import timezones
from ews_sim.services import body_text
from ews_sim.soap import EwsError, children, xml_safe
from ews_sim.world import recurrence as rec
from ews_sim.world.model import Attendee, CalendarItem, CalendarItemType, EmailAddress, OccurrenceInfo
from ews_sim.xml_names import local_name, t

# Element order of ItemType then CalendarItemType (types.xsd of Exchange 2016), restricted to what we emit.
ITEM_ORDER = (
    "ItemId",
    "ParentFolderId",
    "ItemClass",
    "Subject",
    "Sensitivity",
    "Body",
    "DateTimeReceived",
    "Size",
    "Categories",
    "Importance",
    "IsSubmitted",
    "IsDraft",
    "IsFromMe",
    "IsResend",
    "IsUnmodified",
    "DateTimeSent",
    "DateTimeCreated",
    "ResponseObjects",
    "ReminderDueBy",
    "ReminderIsSet",
    "ReminderMinutesBeforeStart",
    "DisplayCc",
    "DisplayTo",
    "HasAttachments",
    "ExtendedProperty",
    "Culture",
    "EffectiveRights",
    "LastModifiedName",
    "LastModifiedTime",
    "IsAssociated",
    "ConversationId",
    "Preview",
    "TextBody",
)
CALENDAR_ORDER = (
    "UID",
    "RecurrenceId",
    "DateTimeStamp",
    "Start",
    "End",
    "OriginalStart",
    "IsAllDayEvent",
    "LegacyFreeBusyStatus",
    "Location",
    "IsMeeting",
    "IsCancelled",
    "IsRecurring",
    "MeetingRequestWasSent",
    "IsResponseRequested",
    "CalendarItemType",
    "MyResponseType",
    "Organizer",
    "RequiredAttendees",
    "OptionalAttendees",
    "Resources",
    "ConflictingMeetingCount",
    "AdjacentMeetingCount",
    "Duration",
    "TimeZone",
    "AppointmentReplyTime",
    "AppointmentSequenceNumber",
    "AppointmentState",
    "Recurrence",
    "FirstOccurrence",
    "LastOccurrence",
    "ModifiedOccurrences",
    "DeletedOccurrences",
    "MeetingTimeZone",
    "StartTimeZone",
    "EndTimeZone",
    "ConferenceType",
    "AllowNewTimeProposal",
    "IsOnlineMeeting",
    "MeetingWorkspaceUrl",
    "NetShowUrl",
    "IsOrganizer",
)
ALL_FIELDS = ITEM_ORDER + CALENDAR_ORDER

# BaseShape "Default" for calendar items, as Exchange returns it.
DEFAULT_FIELDS = frozenset(
    {
        "ItemId",
        "ParentFolderId",
        "ItemClass",
        "Subject",
        "Sensitivity",
        "HasAttachments",
        "IsAssociated",
        "Start",
        "End",
        "LegacyFreeBusyStatus",
        "Location",
        "CalendarItemType",
        "Organizer",
        "UID",
    }
)
# Properties Exchange leaves out of AllProperties unless asked for by name.
NOT_IN_ALL_PROPERTIES = frozenset(
    {"ExtendedProperty", "ReminderDueBy", "AppointmentReplyTime", "MeetingTimeZone", "TextBody", "Preview"}
)

# RequestServerVersion decides which schema the response follows: Exchange 2007 clients know only
# MeetingTimeZone (StartTimeZone/EndTimeZone came with Exchange 2010), IsOrganizer came with Exchange 2013.
EXCHANGE_2007 = frozenset({"Exchange2007", "Exchange2007_SP1"})
PRE_2013 = EXCHANGE_2007 | {"Exchange2009", "Exchange2010", "Exchange2010_SP1", "Exchange2010_SP2", "Exchange2012"}


@lru_cache(maxsize=65536)
def ews_datetime(value: datetime) -> str:
    """UTC ``xs:dateTime`` with ``Z``, as in every Exchange response (cached: the items of a calendar share their
    times, and equal datetimes are the same instant, so they format alike)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(text: str, default_zone: str | None = None) -> datetime:
    """A request ``xs:dateTime``: ``Z``, an offset, or naive (then in the TimeZoneContext zone, else UTC)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise EwsError("ErrorInvalidValueForProperty", f"Invalid dateTime value '{text}'.") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(default_zone) if default_zone else UTC)
    return value.astimezone(UTC)


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    out = "P" + (f"{days}D" if days else "")
    time_part = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs else "")
    return out + ("T" + time_part if time_part else ("" if days else "T0S"))


@dataclass(frozen=True)
class ExtendedFieldPath:
    """An ``ExtendedFieldURI`` (attributes as sent) and the world's key for it."""

    attrs: tuple[tuple[str, str], ...]

    @property
    def key(self) -> tuple[str, str | int, str]:
        a = dict(self.attrs)
        # GUIDs compare case-insensitively; they are stored lower-case, distinguished set names as sent.
        set_id = a["PropertySetId"].lower() if "PropertySetId" in a else a.get("DistinguishedPropertySetId", "")
        name: str | int
        if "PropertyTag" in a:
            name = int(a["PropertyTag"], 0)
        elif "PropertyId" in a:
            name = int(a["PropertyId"])
        else:
            name = a.get("PropertyName", "")
        return set_id, name, a.get("PropertyType", "String")

    @classmethod
    def from_element(cls, elem: etree._Element) -> ExtendedFieldPath:
        return cls(tuple(sorted((k, v) for k, v in elem.attrib.items())))


def world_key(key: tuple[object, ...]) -> tuple[str, str | int, str]:
    """Normalise a world extended-property key for comparison (GUIDs and set names are case-insensitive)."""
    set_id, name, ptype = key
    return str(set_id).lower(), name if isinstance(name, int) else str(name), str(ptype)


@dataclass
class Shape:
    """Which properties to return: the BaseShape's set plus AdditionalProperties."""

    fields: set[str] = field(default_factory=lambda: {"ItemId"})
    extended: list[ExtendedFieldPath] = field(default_factory=list)
    body_type: str = "Best"

    @classmethod
    def parse(cls, shape_elem: etree._Element | None, version: str | None = None) -> Shape:
        shape = cls()._parse(shape_elem)
        if version in EXCHANGE_2007:
            if shape.fields & {"StartTimeZone", "EndTimeZone"}:
                shape.fields.add("MeetingTimeZone")
            shape.fields -= {"StartTimeZone", "EndTimeZone", "IsOrganizer"}
        elif version in PRE_2013:
            shape.fields.discard("IsOrganizer")
        return shape

    def _parse(self, shape_elem: etree._Element | None) -> Shape:
        shape = self
        if shape_elem is None:
            return shape
        base = (shape_elem.findtext(t("BaseShape")) or "IdOnly").strip()
        if base == "Default":
            shape.fields |= DEFAULT_FIELDS
        elif base == "AllProperties":
            shape.fields |= set(ALL_FIELDS) - NOT_IN_ALL_PROPERTIES
        body_type = shape_elem.findtext(t("BodyType"))
        if body_type:
            shape.body_type = body_type.strip()
        for path in children(shape_elem.find(t("AdditionalProperties"))):
            name = local_name(path.tag)
            if name == "FieldURI":
                uri = path.get("FieldURI", "")
                shape.fields.add(uri.split(":", 1)[-1])
            elif name == "ExtendedFieldURI":
                shape.extended.append(ExtendedFieldPath.from_element(path))
                shape.fields.add("ExtendedProperty")
        return shape


def _text(tag: str, value: object) -> etree._Element:
    elem = etree.Element(t(tag))
    if isinstance(value, bool):
        elem.text = "true" if value else "false"
    elif isinstance(value, datetime):
        elem.text = ews_datetime(value)
    else:
        elem.text = xml_safe(str(value))
    return elem


def mailbox_element(tag: str, address: EmailAddress) -> etree._Element:
    """``<t:Mailbox>`` (EmailAddressType) wrapped in ``tag`` when tag is not "Mailbox".

    A copy of one built once per address: the same organizers and attendees appear in item after item, and
    copying the subtree (in C) costs a fifth of building it element by element."""
    template = _mailbox_template(tag, address.email_address, address.name, address.routing_type, address.mailbox_type)
    return copy.deepcopy(template)


@lru_cache(maxsize=16384)
def _mailbox_template(tag: str, email_address: str, name: str, routing_type: str, mailbox_type: str) -> etree._Element:
    """The element :func:`mailbox_element` copies; never handed out itself, so never changed."""
    mbox = etree.Element(t("Mailbox"))
    if name:
        etree.SubElement(mbox, t("Name")).text = xml_safe(name)
    etree.SubElement(mbox, t("EmailAddress")).text = xml_safe(email_address)
    etree.SubElement(mbox, t("RoutingType")).text = routing_type
    etree.SubElement(mbox, t("MailboxType")).text = mailbox_type
    if tag == "Mailbox":
        return mbox
    outer = etree.Element(t(tag))
    outer.append(mbox)
    return outer


def _attendees(tag: str, attendees: list[Attendee]) -> etree._Element | None:
    if not attendees:
        return None
    outer = etree.Element(t(tag))
    for att in attendees:
        a = etree.SubElement(outer, t("Attendee"))
        a.append(mailbox_element("Mailbox", att.mailbox))
        etree.SubElement(a, t("ResponseType")).text = str(att.response_type)
        if att.last_response_time is not None:
            etree.SubElement(a, t("LastResponseTime")).text = ews_datetime(att.last_response_time)
    return outer


def _occurrence(tag: str, occ: OccurrenceInfo) -> etree._Element:
    elem = etree.Element(t(tag))
    etree.SubElement(elem, t("ItemId"), Id=occ.item_id, ChangeKey=occ.change_key)
    elem.append(_text("Start", occ.start))
    elem.append(_text("End", occ.end))
    elem.append(_text("OriginalStart", occ.original_start))
    return elem


_MONTHS = (
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


def _zoned_date(value: date, zone: str) -> str:
    """``xs:date`` with the zone's offset on that day, as Exchange writes recurrence range dates."""
    offset = datetime(value.year, value.month, value.day, 12, tzinfo=ZoneInfo(zone)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return f"{value.isoformat()}Z"
    sign = "+" if minutes > 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{value.isoformat()}{sign}{hours:02d}:{mins:02d}"


def recurrence_element(recurrence: rec.Recurrence, zone: str) -> etree._Element:
    """``t:Recurrence``: one pattern element then one range element."""
    elem = etree.Element(t("Recurrence"))
    p = recurrence.pattern
    if isinstance(p, rec.DailyPattern):
        pe = etree.SubElement(elem, t("DailyRecurrence"))
        etree.SubElement(pe, t("Interval")).text = str(p.interval)
    elif isinstance(p, rec.WeeklyPattern):
        pe = etree.SubElement(elem, t("WeeklyRecurrence"))
        etree.SubElement(pe, t("Interval")).text = str(p.interval)
        etree.SubElement(pe, t("DaysOfWeek")).text = " ".join(str(d) for d in p.days_of_week)
        etree.SubElement(pe, t("FirstDayOfWeek")).text = str(p.first_day_of_week)
    elif isinstance(p, rec.AbsoluteMonthlyPattern):
        pe = etree.SubElement(elem, t("AbsoluteMonthlyRecurrence"))
        etree.SubElement(pe, t("Interval")).text = str(p.interval)
        etree.SubElement(pe, t("DayOfMonth")).text = str(p.day_of_month)
    elif isinstance(p, rec.RelativeMonthlyPattern):
        pe = etree.SubElement(elem, t("RelativeMonthlyRecurrence"))
        etree.SubElement(pe, t("Interval")).text = str(p.interval)
        etree.SubElement(pe, t("DaysOfWeek")).text = str(p.days_of_week)
        etree.SubElement(pe, t("DayOfWeekIndex")).text = str(p.day_of_week_index)
    elif isinstance(p, rec.AbsoluteYearlyPattern):
        pe = etree.SubElement(elem, t("AbsoluteYearlyRecurrence"))
        etree.SubElement(pe, t("DayOfMonth")).text = str(p.day_of_month)
        etree.SubElement(pe, t("Month")).text = _MONTHS[p.month - 1]
    else:
        pe = etree.SubElement(elem, t("RelativeYearlyRecurrence"))
        etree.SubElement(pe, t("DaysOfWeek")).text = str(p.days_of_week)
        etree.SubElement(pe, t("DayOfWeekIndex")).text = str(p.day_of_week_index)
        etree.SubElement(pe, t("Month")).text = _MONTHS[p.month - 1]
    r = recurrence.range
    if isinstance(r, rec.NoEndRecurrence):
        re_ = etree.SubElement(elem, t("NoEndRecurrence"))
        etree.SubElement(re_, t("StartDate")).text = _zoned_date(r.start_date, zone)
    elif isinstance(r, rec.EndDateRecurrence):
        re_ = etree.SubElement(elem, t("EndDateRecurrence"))
        etree.SubElement(re_, t("StartDate")).text = _zoned_date(r.start_date, zone)
        etree.SubElement(re_, t("EndDate")).text = _zoned_date(r.end_date, zone)
    else:
        re_ = etree.SubElement(elem, t("NumberedRecurrence"))
        etree.SubElement(re_, t("StartDate")).text = _zoned_date(r.start_date, zone)
        etree.SubElement(re_, t("NumberOfOccurrences")).text = str(r.number_of_occurrences)
    return elem


def _extended_properties(item: CalendarItem, wanted: list[ExtendedFieldPath]) -> list[etree._Element]:
    stored = {world_key(k): v for k, v in item.extended_properties.items()}
    out: list[etree._Element] = []
    for path in wanted:
        key = world_key(path.key)
        if key not in stored:
            continue
        value = stored[key]
        prop = etree.Element(t("ExtendedProperty"))
        etree.SubElement(prop, t("ExtendedFieldURI"), dict(path.attrs))
        if isinstance(value, list | tuple):
            values = etree.SubElement(prop, t("Values"))
            for v in value:
                etree.SubElement(values, t("Value")).text = _ext_value(v)
        else:
            etree.SubElement(prop, t("Value")).text = _ext_value(value)
        out.append(prop)
    return out


def _ext_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return ews_datetime(value)
    return xml_safe(str(value))


# -- one producer per property: (item, body shape) -> its element, or None to leave it out ------------------------
# Module-level functions rather than closures made per item: building sixty closures for every item rendered
# cost more than rendering the handful of properties a request asks for.

Producer = Callable[[CalendarItem, str], "etree._Element | None"]


def _occurrence_like(item: CalendarItem) -> bool:
    return item.calendar_item_type in (CalendarItemType.OCCURRENCE, CalendarItemType.EXCEPTION)


def _is_master(item: CalendarItem) -> bool:
    return item.calendar_item_type == CalendarItemType.RECURRING_MASTER


def _created(item: CalendarItem) -> datetime:
    return item.date_time_created or item.last_modified_time or item.start


def _modified(item: CalendarItem) -> datetime:
    return item.last_modified_time or _created(item)


def _categories(item: CalendarItem, body_shape: str) -> etree._Element | None:
    if not item.categories:
        return None
    elem = etree.Element(t("Categories"))
    for c in item.categories:
        etree.SubElement(elem, t("String")).text = xml_safe(c)
    return elem


def _body(item: CalendarItem, body_shape: str) -> etree._Element:
    content, body_type = body_text.render(item.body.content, str(item.body.body_type), body_shape)
    elem = _text("Body", content)
    elem.set("BodyType", body_type)
    elem.set("IsTruncated", "false")
    return elem


def _response_objects(item: CalendarItem, body_shape: str) -> etree._Element:
    """What Outlook offers on the item: responses for an attendee, cancelling for the organizer."""
    elem = etree.Element(t("ResponseObjects"))
    if item.is_meeting and not item.is_organizer:
        names = ["AcceptItem", "TentativelyAcceptItem", "DeclineItem", "ReplyToItem", "ReplyAllToItem"]
        names += ["RemoveItem"] if item.is_cancelled else []
    elif item.is_meeting:
        names = ["CancelCalendarItem", "ReplyToItem", "ReplyAllToItem"]
    else:
        names = []
    for name in [*names, "ForwardItem"]:
        etree.SubElement(elem, t(name))
    return elem


def _effective_rights(item: CalendarItem, body_shape: str) -> etree._Element:
    elem = etree.Element(t("EffectiveRights"))
    for name, value in (
        ("CreateAssociated", False),
        ("CreateContents", False),
        ("CreateHierarchy", False),
        ("Delete", True),
        ("Modify", True),
        ("Read", True),
        ("ViewPrivateItems", True),
    ):
        elem.append(_text(name, value))
    return elem


def _text_body(item: CalendarItem, body_shape: str) -> etree._Element:
    elem = _text("TextBody", body_text.plain(item.body.content, str(item.body.body_type)))
    elem.set("BodyType", "Text")
    elem.set("IsTruncated", "false")
    return elem


def _modified_occurrences(item: CalendarItem, body_shape: str) -> etree._Element | None:
    if not _is_master(item) or not item.modified_occurrences:
        return None
    elem = etree.Element(t("ModifiedOccurrences"))
    for occ in item.modified_occurrences:
        elem.append(_occurrence("Occurrence", occ))
    return elem


def _deleted_occurrences(item: CalendarItem, body_shape: str) -> etree._Element | None:
    if not _is_master(item) or not item.deleted_occurrences:
        return None
    elem = etree.Element(t("DeletedOccurrences"))
    for d in item.deleted_occurrences:
        etree.SubElement(elem, t("DeletedOccurrence")).append(_text("Start", d.start))
    return elem


def _zone_definition(tag: str, zone: str) -> etree._Element | None:
    try:
        return timezones.definition(t(tag), zone)
    except timezones.UnknownTimeZone:
        return None


def _windows_name(item: CalendarItem, body_shape: str) -> etree._Element | None:
    try:
        return _text("TimeZone", timezones.windows_id(item.start_time_zone))
    except timezones.UnknownTimeZone:
        return None


def _conversation_id(item: CalendarItem, body_shape: str) -> etree._Element:
    return etree.Element(t("ConversationId"), Id=base64.b64encode(hashlib.sha1(item.uid.encode()).digest()).decode())


def _last_modified_name(item: CalendarItem, body_shape: str) -> etree._Element:
    return _text("LastModifiedName", item.organizer.name if item.organizer and item.is_organizer else item.mailbox)


def _preview(item: CalendarItem, body_shape: str) -> etree._Element:
    return _text("Preview", body_text.plain(item.body.content, str(item.body.body_type))[: body_text.PREVIEW_LENGTH])


def _when_occurrence(tag: str) -> Producer:
    """RecurrenceId and OriginalStart: the original start, on occurrences and exceptions only."""

    def produce(item: CalendarItem, body_shape: str) -> etree._Element | None:
        return _text(tag, item.original_start) if _occurrence_like(item) and item.original_start else None

    return produce


def _boundary_occurrence(tag: str, attribute: str) -> Producer:
    """FirstOccurrence and LastOccurrence, on recurring masters only."""

    def produce(item: CalendarItem, body_shape: str) -> etree._Element | None:
        info: OccurrenceInfo | None = getattr(item, attribute)
        return _occurrence(tag, info) if _is_master(item) and info else None

    return produce


def _fixed(tag: str, value: object) -> Producer:
    """A property every calendar item has with the same value."""
    return lambda item, body_shape: _text(tag, value)


def _attribute(tag: str, attribute: str) -> Producer:
    """A property that is one attribute of the item, as text."""
    return lambda item, body_shape: _text(tag, getattr(item, attribute))


_PRODUCERS: dict[str, Producer] = {
    "ItemId": lambda item, _: etree.Element(t("ItemId"), Id=item.item_id, ChangeKey=item.change_key),
    "ParentFolderId": lambda item, _: etree.Element(t("ParentFolderId"), Id=item.parent_folder_id),
    "ItemClass": _attribute("ItemClass", "item_class"),
    "Subject": _attribute("Subject", "subject"),
    "Sensitivity": _attribute("Sensitivity", "sensitivity"),
    "Body": _body,
    "DateTimeReceived": lambda item, _: _text("DateTimeReceived", _created(item)),
    "Size": lambda item, _: _text("Size", 1024 + len(item.body.content.encode()) + len(item.subject.encode())),
    "Categories": _categories,
    "Importance": _attribute("Importance", "importance"),
    "IsSubmitted": _fixed("IsSubmitted", False),
    "IsDraft": _fixed("IsDraft", False),
    "IsFromMe": _fixed("IsFromMe", False),
    "IsResend": _fixed("IsResend", False),
    "IsUnmodified": _fixed("IsUnmodified", False),
    "DateTimeSent": lambda item, _: _text("DateTimeSent", _created(item)),
    "DateTimeCreated": lambda item, _: _text("DateTimeCreated", _created(item)),
    "ReminderIsSet": _attribute("ReminderIsSet", "reminder_is_set"),
    "ReminderMinutesBeforeStart": _attribute("ReminderMinutesBeforeStart", "reminder_minutes_before_start"),
    "DisplayCc": _attribute("DisplayCc", "display_cc"),
    "DisplayTo": _attribute("DisplayTo", "display_to"),
    "HasAttachments": _fixed("HasAttachments", False),
    "Culture": _fixed("Culture", "en-US"),
    "ResponseObjects": _response_objects,
    "EffectiveRights": _effective_rights,
    "ConversationId": _conversation_id,
    "LastModifiedName": _last_modified_name,
    "LastModifiedTime": lambda item, _: _text("LastModifiedTime", _modified(item)),
    "IsAssociated": _fixed("IsAssociated", False),
    "Preview": _preview,
    "TextBody": _text_body,
    "UID": _attribute("UID", "uid"),
    "RecurrenceId": _when_occurrence("RecurrenceId"),
    "DateTimeStamp": lambda item, _: _text("DateTimeStamp", item.date_time_stamp or _modified(item)),
    "Start": _attribute("Start", "start"),
    "End": _attribute("End", "end"),
    "OriginalStart": _when_occurrence("OriginalStart"),
    "IsAllDayEvent": _attribute("IsAllDayEvent", "is_all_day"),
    "LegacyFreeBusyStatus": _attribute("LegacyFreeBusyStatus", "legacy_free_busy_status"),
    "Location": lambda item, _: _text("Location", item.location) if item.location else None,
    "IsMeeting": _attribute("IsMeeting", "is_meeting"),
    "IsCancelled": _attribute("IsCancelled", "is_cancelled"),
    # Exchange quirk (documented for the IsRecurring element): true on occurrences and exceptions and on an
    # attendee's recurring master, but false on the organizer's recurring master.
    "IsRecurring": lambda item, _: _text(
        "IsRecurring", _occurrence_like(item) or (_is_master(item) and not item.is_organizer)
    ),
    "MeetingRequestWasSent": lambda item, _: _text("MeetingRequestWasSent", item.is_meeting and item.is_organizer),
    "IsResponseRequested": _attribute("IsResponseRequested", "is_response_requested"),
    "CalendarItemType": _attribute("CalendarItemType", "calendar_item_type"),
    "MyResponseType": _attribute("MyResponseType", "my_response_type"),
    "Organizer": lambda item, _: mailbox_element("Organizer", item.organizer) if item.organizer else None,
    "RequiredAttendees": lambda item, _: _attendees("RequiredAttendees", item.required_attendees),
    "OptionalAttendees": lambda item, _: _attendees("OptionalAttendees", item.optional_attendees),
    "Resources": lambda item, _: _attendees("Resources", item.resources),
    "ConflictingMeetingCount": _fixed("ConflictingMeetingCount", 0),
    "AdjacentMeetingCount": _fixed("AdjacentMeetingCount", 0),
    "Duration": lambda item, _: _text("Duration", _duration(item.end - item.start)),
    "TimeZone": _windows_name,
    "AppointmentSequenceNumber": _attribute("AppointmentSequenceNumber", "appointment_sequence_number"),
    "AppointmentState": _attribute("AppointmentState", "appointment_state"),
    "Recurrence": lambda item, _: (
        recurrence_element(item.recurrence, item.start_time_zone)
        if _is_master(item) and item.recurrence is not None
        else None
    ),
    "FirstOccurrence": _boundary_occurrence("FirstOccurrence", "first_occurrence"),
    "LastOccurrence": _boundary_occurrence("LastOccurrence", "last_occurrence"),
    "ModifiedOccurrences": _modified_occurrences,
    "DeletedOccurrences": _deleted_occurrences,
    "MeetingTimeZone": lambda item, _: timezones.meeting_time_zone(t("MeetingTimeZone"), item.start_time_zone),
    "StartTimeZone": lambda item, _: _zone_definition("StartTimeZone", item.start_time_zone),
    "EndTimeZone": lambda item, _: _zone_definition("EndTimeZone", item.end_time_zone),
    "ConferenceType": _fixed("ConferenceType", 0),
    "AllowNewTimeProposal": _fixed("AllowNewTimeProposal", True),
    "IsOnlineMeeting": _fixed("IsOnlineMeeting", False),
    "MeetingWorkspaceUrl": _fixed("MeetingWorkspaceUrl", ""),
    "NetShowUrl": _fixed("NetShowUrl", ""),
    "IsOrganizer": _attribute("IsOrganizer", "is_organizer"),
}


@lru_cache(maxsize=256)
def _field_order(fields: frozenset[str]) -> tuple[str, ...]:
    """The properties of a shape in schema order (a request renders many items with one shape: sorted once)."""
    return tuple(name for name in ALL_FIELDS if name in fields and (name in _PRODUCERS or name == "ExtendedProperty"))


def calendar_item_element(item: CalendarItem, shape: Shape) -> etree._Element:
    """``<t:CalendarItem>`` with the shape's properties, in schema order."""
    elem = etree.Element(t("CalendarItem"))
    body_shape = shape.body_type
    for name in _field_order(frozenset(shape.fields)):
        if name == "ExtendedProperty":
            for prop in _extended_properties(item, shape.extended):
                elem.append(prop)
            continue
        child = _PRODUCERS[name](item, body_shape)
        if child is not None:
            elem.append(child)
    return elem
