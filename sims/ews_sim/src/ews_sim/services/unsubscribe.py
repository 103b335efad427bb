"""Unsubscribe: end a pull or streaming subscription."""

from __future__ import annotations

from lxml import etree

from ews_sim import soap
from ews_sim.services.common import per_item
from ews_sim.services.context import RequestContext
from ews_sim.xml_names import m

OPERATION = "Unsubscribe"


def handle(ctx: RequestContext) -> etree._Element:
    root, messages = soap.response_root(OPERATION)

    def one() -> None:
        ctx.world.unsubscribe(soap.text_of(ctx.payload, m("SubscriptionId")) or "")
        soap.success_message(messages, OPERATION)

    per_item(messages, OPERATION, one)
    return root
