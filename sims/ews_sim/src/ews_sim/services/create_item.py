"""CreateItem: new calendar items (appointments, or meetings sent to attendees) and meeting responses
(AcceptItem, TentativelyAcceptItem, DeclineItem), CancelCalendarItem and RemoveItem -- all mapped onto the
world's meeting semantics, as Outlook's actions map onto Exchange's.

Exchange answers a created calendar item with its ``ItemId`` only, and a sent response object with an empty
``m:Items`` (the response message goes out; nothing is returned to the caller).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from ews_sim import soap, timezones
from ews_sim.services.common import per_item
from ews_sim.services.context import RequestContext
from ews_sim.services.item_parse import calendar_fields
from ews_sim.services.refs import item_id_element, resolve_folder, resolve_item
from ews_sim.world.model import CalendarItem, CalendarItemType, ResponseType
from ews_sim.xml_names import local_name, m, t

OPERATION = "CreateItem"

_APPOINTMENT_ARGS = {
    "body",
    "body_type",
    "location",
    "all_day",
    "time_zone",
    "recurrence",
    "categories",
    "extended_properties",
    "uid",
}
_MEETING_ARGS = {
    "required",
    "optional",
    "resources",
    "body",
    "body_type",
    "location",
    "all_day",
    "time_zone",
    "recurrence",
    "uid",
    "extended_properties",
}
_RESPONSES = {
    "AcceptItem": ResponseType.ACCEPT,
    "TentativelyAcceptItem": ResponseType.TENTATIVE,
    "DeclineItem": ResponseType.DECLINE,
}


def default_zone(ctx: RequestContext) -> str | None:
    """The zone naive request times are in: the TimeZoneContext header's, else none (UTC)."""
    if ctx.request.timezone_id:
        try:
            return timezones.iana_name(ctx.request.timezone_id)
        except timezones.UnknownTimeZone:
            return None
    return None


def organizer_of(item: CalendarItem) -> str:
    return item.organizer.email_address if item.organizer is not None else item.mailbox


def _create_calendar_item(ctx: RequestContext, elem: etree._Element, target_smtp: str, send: str) -> CalendarItem:
    fields = calendar_fields(elem, default_zone(ctx))
    for required in ("start", "end"):
        if required not in fields:
            raise soap.EwsError("ErrorMissingInformation", f"A calendar item needs {required.title()}.")
    subject = fields.pop("subject", "")
    start, end = fields.pop("start"), fields.pop("end")
    if end < start:
        raise soap.EwsError("ErrorCalendarEndDateIsEarlierThanStartDate", "EndDate is earlier than StartDate.")
    has_attendees = any(fields.get(k) for k in ("required", "optional", "resources"))
    # Creating in someone else's calendar without impersonation is a delegate acting for the owner.
    acting = ctx.account.smtp
    as_delegate = acting if (not ctx.impersonating and acting and acting.casefold() != target_smtp.casefold()) else None
    if has_attendees:
        args = {k: v for k, v in fields.items() if k in _MEETING_ARGS}
        item = ctx.world.create_meeting(
            target_smtp, subject, start, end, send_invitations=send != "SendToNone", as_delegate=as_delegate, **args
        )
    else:
        args = {k: v for k, v in fields.items() if k in _APPOINTMENT_ARGS}
        item = ctx.world.create_appointment(target_smtp, subject, start, end, **args)
    rest: dict[str, Any] = {k: v for k, v in fields.items() if k not in _MEETING_ARGS | _APPOINTMENT_ARGS}
    if rest:
        item = ctx.world.update_item(item.item_id, **rest)
    return item


def _respond(ctx: RequestContext, elem: etree._Element, kind: str) -> None:
    ref = elem.find(t("ReferenceItemId"))
    if ref is None:
        raise soap.EwsError("ErrorMissingInformation", f"{kind} needs a ReferenceItemId.")
    ref_item = resolve_item(ctx, ref)
    if kind in _RESPONSES:
        if ref_item.is_organizer:
            raise soap.EwsError("ErrorInvalidOperation", "The organizer cannot respond to their own meeting.")
        if ref_item.calendar_item_type in (CalendarItemType.OCCURRENCE, CalendarItemType.EXCEPTION):
            ctx.world.respond(ref_item.mailbox, ref_item.uid, _RESPONSES[kind], occurrence=ref_item.original_start)
        else:
            ctx.world.respond(ref_item.mailbox, ref_item.item_id, _RESPONSES[kind])
    elif kind == "CancelCalendarItem":
        if not ref_item.is_organizer:
            raise soap.EwsError("ErrorInvalidOperation", "Only the organizer can cancel a meeting.")
        if ref_item.calendar_item_type in (CalendarItemType.OCCURRENCE, CalendarItemType.EXCEPTION):
            ctx.world.delete_occurrence(
                organizer_of(ref_item), ref_item.uid, ref_item.original_start or ref_item.instance_index or 0
            )
        else:
            ctx.world.cancel_meeting(organizer_of(ref_item), ref_item.uid)
    elif kind == "RemoveItem":
        # An attendee removes a cancelled meeting from their calendar.
        ctx.world.delete_item(ref_item.item_id)


def handle(ctx: RequestContext) -> etree._Element:
    payload = ctx.payload
    send = payload.get("SendMeetingInvitations", "SendToAllAndSaveCopy")
    root, messages = soap.response_root(OPERATION)
    saved = payload.find(m("SavedItemFolderId"))
    for elem in soap.children(payload.find(m("Items"))):
        kind = local_name(elem.tag)

        def one(elem: etree._Element = elem, kind: str = kind) -> None:
            if kind == "CalendarItem":
                target = None
                if saved is not None and len(saved):
                    folder = resolve_folder(ctx, saved[0])
                    target = ctx.world.mailbox_of_id(folder.folder_id)
                if target is None:
                    target = ctx.open_mailbox().smtp
                item = _create_calendar_item(ctx, elem, target, send)
                msg = soap.success_message(messages, OPERATION)
                created = etree.SubElement(etree.SubElement(msg, m("Items")), t("CalendarItem"))
                created.append(item_id_element("ItemId", item))
            elif kind in (*_RESPONSES, "CancelCalendarItem", "RemoveItem"):
                _respond(ctx, elem, kind)
                msg = soap.success_message(messages, OPERATION)
                etree.SubElement(msg, m("Items"))
            else:
                raise soap.EwsError("ErrorInvalidOperation", f"CreateItem of {kind} is not supported by this server.")

        per_item(messages, OPERATION, one)
    return root
