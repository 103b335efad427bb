"""Calendar items to EWS XML (``t:CalendarItem``), honouring the requested item shape.

Elements are emitted in the order of ``ItemType`` followed by ``CalendarItemType`` in types.xsd -- EWS
responses are validated against sequences, and clients with strict parsers rely on it. Times are UTC with a
trailing ``Z``, as Exchange writes them when the request carries no ``DateTimePrecision``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
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


def ews_datetime(value: datetime) -> str:
    """UTC ``xs:dateTime`` with ``Z``, as in every Exchange response."""
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
    """``<t:Mailbox>`` (EmailAddressType) wrapped in ``tag`` when tag is not "Mailbox"."""
    mbox = etree.Element(t("Mailbox"))
    if address.name:
        etree.SubElement(mbox, t("Name")).text = xml_safe(address.name)
    etree.SubElement(mbox, t("EmailAddress")).text = xml_safe(address.email_address)
    etree.SubElement(mbox, t("RoutingType")).text = address.routing_type
    etree.SubElement(mbox, t("MailboxType")).text = address.mailbox_type
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


def _producers(item: CalendarItem, body_shape: str = "Best") -> dict[str, Callable[[], etree._Element | None]]:
    occurrence_like = item.calendar_item_type in (CalendarItemType.OCCURRENCE, CalendarItemType.EXCEPTION)
    attendee_names = [a.mailbox.name or a.mailbox.email_address for a in item.required_attendees]
    cc_names = [a.mailbox.name or a.mailbox.email_address for a in item.optional_attendees]
    created = item.date_time_created or item.last_modified_time or item.start
    modified = item.last_modified_time or created

    def categories() -> etree._Element | None:
        if not item.categories:
            return None
        elem = etree.Element(t("Categories"))
        for c in item.categories:
            etree.SubElement(elem, t("String")).text = xml_safe(c)
        return elem

    def body() -> etree._Element:
        content, body_type = body_text.render(item.body.content, str(item.body.body_type), body_shape)
        elem = _text("Body", content)
        elem.set("BodyType", body_type)
        elem.set("IsTruncated", "false")
        return elem

    def response_objects() -> etree._Element:
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

    def effective_rights() -> etree._Element:
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

    def text_body() -> etree._Element:
        elem = _text("TextBody", body_text.plain(item.body.content, str(item.body.body_type)))
        elem.set("BodyType", "Text")
        elem.set("IsTruncated", "false")
        return elem

    def list_of(tag: str, inner: str, infos: list[OccurrenceInfo]) -> etree._Element | None:
        if not infos:
            return None
        elem = etree.Element(t(tag))
        for occ in infos:
            elem.append(_occurrence(inner, occ))
        return elem

    def deleted() -> etree._Element | None:
        if not item.deleted_occurrences:
            return None
        elem = etree.Element(t("DeletedOccurrences"))
        for d in item.deleted_occurrences:
            etree.SubElement(elem, t("DeletedOccurrence")).append(_text("Start", d.start))
        return elem

    def tz(tag: str, zone: str) -> etree._Element | None:
        try:
            return timezones.definition(t(tag), zone)
        except timezones.UnknownTimeZone:
            return None

    def windows_name() -> etree._Element | None:
        try:
            return _text("TimeZone", timezones.windows_id(item.start_time_zone))
        except timezones.UnknownTimeZone:
            return None

    master = item.calendar_item_type == CalendarItemType.RECURRING_MASTER
    return {
        "ItemId": lambda: etree.Element(t("ItemId"), Id=item.item_id, ChangeKey=item.change_key),
        "ParentFolderId": lambda: etree.Element(t("ParentFolderId"), Id=item.parent_folder_id),
        "ItemClass": lambda: _text("ItemClass", item.item_class),
        "Subject": lambda: _text("Subject", item.subject),
        "Sensitivity": lambda: _text("Sensitivity", item.sensitivity),
        "Body": body,
        "DateTimeReceived": lambda: _text("DateTimeReceived", created),
        "Size": lambda: _text("Size", 1024 + len(item.body.content.encode()) + len(item.subject.encode())),
        "Categories": categories,
        "Importance": lambda: _text("Importance", item.importance),
        "IsSubmitted": lambda: _text("IsSubmitted", False),
        "IsDraft": lambda: _text("IsDraft", False),
        "IsFromMe": lambda: _text("IsFromMe", False),
        "IsResend": lambda: _text("IsResend", False),
        "IsUnmodified": lambda: _text("IsUnmodified", False),
        "DateTimeSent": lambda: _text("DateTimeSent", created),
        "DateTimeCreated": lambda: _text("DateTimeCreated", created),
        "ReminderIsSet": lambda: _text("ReminderIsSet", item.reminder_is_set),
        "ReminderMinutesBeforeStart": lambda: _text("ReminderMinutesBeforeStart", item.reminder_minutes_before_start),
        "DisplayCc": lambda: _text("DisplayCc", "; ".join(cc_names)),
        "DisplayTo": lambda: _text("DisplayTo", "; ".join(attendee_names)),
        "HasAttachments": lambda: _text("HasAttachments", False),
        "Culture": lambda: _text("Culture", "en-US"),
        "ResponseObjects": response_objects,
        "EffectiveRights": effective_rights,
        "ConversationId": lambda: etree.Element(
            t("ConversationId"), Id=base64.b64encode(hashlib.sha1(item.uid.encode()).digest()).decode()
        ),
        "LastModifiedName": lambda: _text(
            "LastModifiedName", item.organizer.name if item.organizer and item.is_organizer else item.mailbox
        ),
        "LastModifiedTime": lambda: _text("LastModifiedTime", modified),
        "IsAssociated": lambda: _text("IsAssociated", False),
        "Preview": lambda: _text(
            "Preview", body_text.plain(item.body.content, str(item.body.body_type))[: body_text.PREVIEW_LENGTH]
        ),
        "TextBody": text_body,
        "UID": lambda: _text("UID", item.uid),
        "RecurrenceId": lambda: (
            _text("RecurrenceId", item.original_start) if occurrence_like and item.original_start else None
        ),
        "DateTimeStamp": lambda: _text("DateTimeStamp", item.date_time_stamp or modified),
        "Start": lambda: _text("Start", item.start),
        "End": lambda: _text("End", item.end),
        "OriginalStart": lambda: (
            _text("OriginalStart", item.original_start) if occurrence_like and item.original_start else None
        ),
        "IsAllDayEvent": lambda: _text("IsAllDayEvent", item.is_all_day),
        "LegacyFreeBusyStatus": lambda: _text("LegacyFreeBusyStatus", item.legacy_free_busy_status),
        "Location": lambda: _text("Location", item.location) if item.location else None,
        "IsMeeting": lambda: _text("IsMeeting", item.is_meeting),
        "IsCancelled": lambda: _text("IsCancelled", item.is_cancelled),
        # Exchange quirk (documented for the IsRecurring element): true on occurrences and exceptions and on an
        # attendee's recurring master, but false on the organizer's recurring master.
        "IsRecurring": lambda: _text("IsRecurring", occurrence_like or (master and not item.is_organizer)),
        "MeetingRequestWasSent": lambda: _text("MeetingRequestWasSent", item.is_meeting and item.is_organizer),
        "IsResponseRequested": lambda: _text("IsResponseRequested", item.is_response_requested),
        "CalendarItemType": lambda: _text("CalendarItemType", item.calendar_item_type),
        "MyResponseType": lambda: _text("MyResponseType", item.my_response_type),
        "Organizer": lambda: mailbox_element("Organizer", item.organizer) if item.organizer else None,
        "RequiredAttendees": lambda: _attendees("RequiredAttendees", item.required_attendees),
        "OptionalAttendees": lambda: _attendees("OptionalAttendees", item.optional_attendees),
        "Resources": lambda: _attendees("Resources", item.resources),
        "ConflictingMeetingCount": lambda: _text("ConflictingMeetingCount", 0),
        "AdjacentMeetingCount": lambda: _text("AdjacentMeetingCount", 0),
        "Duration": lambda: _text("Duration", _duration(item.end - item.start)),
        "TimeZone": windows_name,
        "AppointmentSequenceNumber": lambda: _text("AppointmentSequenceNumber", item.appointment_sequence_number),
        "AppointmentState": lambda: _text("AppointmentState", item.appointment_state),
        "Recurrence": lambda: (
            recurrence_element(item.recurrence, item.start_time_zone)
            if master and item.recurrence is not None
            else None
        ),
        "FirstOccurrence": lambda: (
            _occurrence("FirstOccurrence", item.first_occurrence) if master and item.first_occurrence else None
        ),
        "LastOccurrence": lambda: (
            _occurrence("LastOccurrence", item.last_occurrence) if master and item.last_occurrence else None
        ),
        "ModifiedOccurrences": lambda: (
            list_of("ModifiedOccurrences", "Occurrence", item.modified_occurrences) if master else None
        ),
        "DeletedOccurrences": lambda: deleted() if master else None,
        "MeetingTimeZone": lambda: timezones.meeting_time_zone(t("MeetingTimeZone"), item.start_time_zone),
        "StartTimeZone": lambda: tz("StartTimeZone", item.start_time_zone),
        "EndTimeZone": lambda: tz("EndTimeZone", item.end_time_zone),
        "ConferenceType": lambda: _text("ConferenceType", 0),
        "AllowNewTimeProposal": lambda: _text("AllowNewTimeProposal", True),
        "IsOnlineMeeting": lambda: _text("IsOnlineMeeting", False),
        "MeetingWorkspaceUrl": lambda: _text("MeetingWorkspaceUrl", ""),
        "NetShowUrl": lambda: _text("NetShowUrl", ""),
        "IsOrganizer": lambda: _text("IsOrganizer", item.is_organizer),
    }


def calendar_item_element(item: CalendarItem, shape: Shape) -> etree._Element:
    """``<t:CalendarItem>`` with the shape's properties, in schema order."""
    elem = etree.Element(t("CalendarItem"))
    producers = _producers(item, shape.body_type)
    for name in ALL_FIELDS:
        if name not in shape.fields:
            continue
        if name == "ExtendedProperty":
            for prop in _extended_properties(item, shape.extended):
                elem.append(prop)
            continue
        produce = producers.get(name)
        if produce is None:
            continue
        child = produce()
        if child is not None:
            elem.append(child)
    return elem
