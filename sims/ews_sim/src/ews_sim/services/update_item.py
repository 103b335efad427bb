"""UpdateItem: SetItemField / AppendToItemField / DeleteItemField on calendar items and occurrences.

A meeting organizer's change with ``SendMeetingInvitationsOrCancellations`` other than ``SendToNone`` goes
to every attendee (world ``update_meeting``, or ``update_occurrence`` for one occurrence, which turns it into
an exception); otherwise only the item changes. ``ConflictResolution="NeverOverwrite"`` with a stale
ChangeKey fails with ``ErrorIrresolvableConflict`` as in Exchange.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from ews_sim import soap
from ews_sim.services.calendar_xml import ExtendedFieldPath, world_key
from ews_sim.services.common import per_item
from ews_sim.services.context import RequestContext
from ews_sim.services.create_item import default_zone, organizer_of
from ews_sim.services.item_parse import CLEARED, FIELD_KEYWORDS, calendar_fields
from ews_sim.services.refs import item_id_element, resolve_item
from ews_sim.world.model import CalendarItem, CalendarItemType
from ews_sim.xml_names import local_name, m, t

OPERATION = "UpdateItem"

_MEETING_KEYS = {
    "subject",
    "body",
    "body_type",
    "location",
    "start",
    "end",
    "all_day",
    "time_zone",
    "recurrence",
    "required",
    "optional",
    "resources",
}
_OCCURRENCE_KEYS = {"subject", "body", "location", "start", "end"}


def _changes(ctx: RequestContext, updates: etree._Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    zone = default_zone(ctx)
    for update in soap.children(updates):
        kind = local_name(update.tag)
        path = update[0] if len(update) else None
        if path is None:
            raise soap.EwsError("ErrorInvalidPropertyRequest", f"{kind} without a property path.")
        path_kind = local_name(path.tag)
        if kind == "DeleteItemField":
            if path_kind == "ExtendedFieldURI":
                out.setdefault("delete_extended", []).append(path)
                continue
            field = path.get("FieldURI", "").split(":", 1)[-1]
            keyword = FIELD_KEYWORDS.get(field)
            if keyword in CLEARED:
                out[keyword] = CLEARED[keyword]
            continue
        item = update.find(t("CalendarItem"))
        if item is None:
            raise soap.EwsError("ErrorInvalidPropertySet", "Only calendar item properties can be set here.")
        for key, value in calendar_fields(item, zone).items():
            if key == "extended_properties":
                out.setdefault("extended_properties", {}).update(value)
            elif kind == "AppendToItemField" and key in ("required", "optional", "resources", "categories"):
                out.setdefault(f"append_{key}", []).extend(value)
            else:
                out[key] = value
    return out


def _apply(ctx: RequestContext, item: CalendarItem, changes: dict[str, Any], send: str) -> CalendarItem:
    world = ctx.world
    # The world merges extended properties into the item's; None removes one.
    deleted = {world_key(ExtendedFieldPath.from_element(p).key) for p in changes.pop("delete_extended", [])}
    ext: dict[Any, Any] = {k: None for k in item.extended_properties if world_key(k) in deleted}
    for key, value in changes.pop("extended_properties", {}).items():
        for old in item.extended_properties:
            if old != key and world_key(old) == world_key(key):
                ext[old] = None  # the same property spelled differently (GUID case) is replaced
        ext[key] = value
    if ext:
        changes["extended_properties"] = ext
    for key in ("required", "optional", "resources", "categories"):
        extra = changes.pop(f"append_{key}", None)
        if extra:
            current: list[Any] = (
                list(item.categories)
                if key == "categories"
                else [
                    (a.mailbox.email_address, a.mailbox.name)
                    for a in getattr(item, f"{key}_attendees" if key != "resources" else key)
                ]
            )
            changes[key] = current + extra
    meeting_change = (
        send != "SendToNone"
        and item.is_organizer
        and (item.is_meeting or any(k in changes for k in ("required", "optional", "resources")))
    )
    occurrence_like = item.calendar_item_type in (CalendarItemType.OCCURRENCE, CalendarItemType.EXCEPTION)
    if occurrence_like:
        # Clients (exchangelib among them) resend StartTimeZone/EndTimeZone with every time change; an
        # occurrence keeps its series' zone, the zone only serves to read the new times.
        changes.pop("time_zone", None)
    if meeting_change and occurrence_like:
        occ_changes = {k: v for k, v in changes.items() if k in _OCCURRENCE_KEYS}
        rest = {k: v for k, v in changes.items() if k not in _OCCURRENCE_KEYS}
        updated = world.update_occurrence(
            organizer_of(item), item.uid, item.original_start or item.instance_index or 0, **occ_changes
        )
        if rest:
            updated = world.update_item(updated.item_id, **rest)
        return updated
    if meeting_change:
        meeting = {k: v for k, v in changes.items() if k in _MEETING_KEYS}
        rest = {k: v for k, v in changes.items() if k not in _MEETING_KEYS}
        updated = world.update_meeting(organizer_of(item), item.uid, **meeting) if meeting else item
        if rest:
            updated = world.update_item(updated.item_id, **rest)
        return updated
    return world.update_item(item.item_id, **changes)


def handle(ctx: RequestContext) -> etree._Element:
    payload = ctx.payload
    send = payload.get("SendMeetingInvitationsOrCancellations", "SendToAllAndSaveCopy")
    conflict = payload.get("ConflictResolution", "AutoResolve")
    root, messages = soap.response_root(OPERATION)
    for change in soap.children(payload.find(m("ItemChanges"))):

        def one(change: etree._Element = change) -> None:
            ids = [c for c in soap.children(change) if local_name(c.tag) != "Updates"]
            if not ids:
                raise soap.EwsError("ErrorInvalidIdEmpty", "ItemChange has no item id.")
            ref = ids[0]
            item = resolve_item(ctx, ref)
            sent_key = ref.get("ChangeKey")
            if conflict == "NeverOverwrite" and sent_key and sent_key != item.change_key:
                raise soap.EwsError(
                    "ErrorIrresolvableConflict",
                    "The send or update operation could not be performed because the change key "
                    "passed in the request does not match the current change key for the item.",
                )
            updates = change.find(t("Updates"))
            changes = _changes(ctx, updates) if updates is not None else {}
            updated = _apply(ctx, item, changes, send) if changes else item
            msg = soap.success_message(messages, OPERATION)
            items = etree.SubElement(msg, m("Items"))
            etree.SubElement(items, t("CalendarItem")).append(item_id_element("ItemId", updated))
            conflicts = etree.SubElement(msg, m("ConflictResults"))
            etree.SubElement(conflicts, t("Count")).text = "0"

        per_item(messages, OPERATION, one)
    return root
