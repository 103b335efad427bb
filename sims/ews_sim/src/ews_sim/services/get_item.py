"""GetItem: calendar items by ItemId, OccurrenceItemId or RecurringMasterItemId, one response message each."""

from __future__ import annotations

from lxml import etree

from ews_sim import soap
from ews_sim.services.calendar_xml import Shape, calendar_item_element
from ews_sim.services.common import per_item
from ews_sim.services.context import RequestContext
from ews_sim.services.refs import resolve_item
from ews_sim.xml_names import m

OPERATION = "GetItem"


def handle(ctx: RequestContext) -> etree._Element:
    shape = Shape.parse(ctx.payload.find(m("ItemShape")), ctx.request.requested_version)
    root, messages = soap.response_root(OPERATION)
    for ref in soap.children(ctx.payload.find(m("ItemIds"))):

        def one(ref: etree._Element = ref) -> None:
            item = resolve_item(ctx, ref)
            msg = soap.success_message(messages, OPERATION)
            etree.SubElement(msg, m("Items")).append(calendar_item_element(item, shape))

        per_item(messages, OPERATION, one)
    return root
