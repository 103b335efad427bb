"""DeleteItem: calendar items and occurrences.

An organizer deleting a meeting with ``SendMeetingCancellations`` other than ``SendToNone`` cancels it for
every attendee (one occurrence: it becomes a deleted occurrence everywhere); an attendee or a plain
appointment just loses the item. Exchange answers each id with an empty success message.
"""

from __future__ import annotations

from lxml import etree

from ews_sim import soap
from ews_sim.services.common import per_item
from ews_sim.services.context import RequestContext
from ews_sim.services.create_item import organizer_of
from ews_sim.services.refs import resolve_item
from ews_sim.world.model import CalendarItemType
from ews_sim.xml_names import m

OPERATION = "DeleteItem"


def handle(ctx: RequestContext) -> etree._Element:
    payload = ctx.payload
    send = payload.get("SendMeetingCancellations", "SendToAllAndSaveCopy")
    root, messages = soap.response_root(OPERATION)
    for ref in soap.children(payload.find(m("ItemIds"))):

        def one(ref: etree._Element = ref) -> None:
            item = resolve_item(ctx, ref)
            occurrence_like = item.calendar_item_type in (CalendarItemType.OCCURRENCE, CalendarItemType.EXCEPTION)
            notify = send != "SendToNone" and item.is_organizer and item.is_meeting
            if notify and occurrence_like:
                ctx.world.delete_occurrence(
                    organizer_of(item), item.uid, item.original_start or item.instance_index or 0
                )
            elif notify:
                ctx.world.cancel_meeting(organizer_of(item), item.uid)
            else:
                ctx.world.delete_item(item.item_id)
            soap.success_message(messages, OPERATION)

        per_item(messages, OPERATION, one)
    return root
