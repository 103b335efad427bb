"""GetEvents: the next batch of a pull subscription's events (a lone StatusEvent when nothing happened)."""

from __future__ import annotations

from lxml import etree

from ews_sim import soap
from ews_sim.services.common import per_item
from ews_sim.services.context import RequestContext
from ews_sim.services.notification_xml import notification_element
from ews_sim.xml_names import m

OPERATION = "GetEvents"


def handle(ctx: RequestContext) -> etree._Element:
    root, messages = soap.response_root(OPERATION)

    def one() -> None:
        sub_id = soap.text_of(ctx.payload, m("SubscriptionId")) or ""
        watermark = soap.text_of(ctx.payload, m("Watermark"))
        batch = ctx.world.get_events(sub_id, watermark)
        msg = soap.success_message(messages, OPERATION)
        msg.append(
            _rename(
                notification_element(
                    batch.subscription_id,
                    batch.events,
                    previous_watermark=batch.previous_watermark,
                    more_events=batch.more_events,
                )
            )
        )

    per_item(messages, OPERATION, one)
    return root


def _rename(elem: etree._Element) -> etree._Element:
    # GetEventsResponseMessage holds the notification as m:Notification (messages namespace).
    elem.tag = m("Notification")
    return elem
