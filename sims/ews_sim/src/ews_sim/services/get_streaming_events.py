"""GetStreamingEvents: a long-lived chunked HTTP response, one SOAP envelope per chunk.

As in Exchange: an envelope with ``t:Notification``s whenever events arrive, a notification-less envelope
with ``ConnectionStatus=OK`` every keep-alive interval while nothing happens, and a last envelope with
``ConnectionStatus=Closed`` when ``ConnectionTimeout`` (minutes, 1..30) runs out. Unknown or expired
subscriptions are refused up front in a single, non-streaming response.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from lxml import etree

from ews_sim import soap
from ews_sim.services.common import as_soap_error
from ews_sim.services.context import RequestContext, StreamingReply
from ews_sim.services.notification_xml import notification_element
from ews_sim.world import errors as werr
from ews_sim.world.changes import Event, SubscriptionKind
from ews_sim.xml_names import m, t

OPERATION = "GetStreamingEvents"
STOP_CHECK_SECONDS = 0.5  # how soon an open stream notices that the server stops


def _message(
    notifications: dict[str, list[Event]] | None = None,
    status: str = "OK",
    error: soap.EwsError | None = None,
    error_ids: list[str] | None = None,
) -> bytes:
    root, messages = soap.response_root(OPERATION)
    if error is not None:
        msg = soap.error_message(messages, OPERATION, error)
        if error_ids:
            ids = etree.SubElement(msg, m("ErrorSubscriptionIds"))
            for sub_id in error_ids:
                etree.SubElement(ids, t("SubscriptionId")).text = sub_id
    else:
        msg = soap.success_message(messages, OPERATION)
        if notifications:
            container = etree.SubElement(msg, m("Notifications"))
            for sub_id, events in notifications.items():
                if events:
                    container.append(notification_element(sub_id, events))
    etree.SubElement(msg, m("ConnectionStatus")).text = status
    return soap.envelope(root)


def _stream(ctx: RequestContext, sub_ids: list[str], timeout_minutes: int) -> Iterator[bytes]:
    settings = ctx.settings
    deadline = time.monotonic() + timeout_minutes * settings.connection_timeout_unit_seconds
    last_sent = time.monotonic()
    # The first envelope goes out at once: clients see the connection is established.
    yield _message()
    while not ctx.stopping.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        wait = min(remaining, max(0.0, settings.streaming_keepalive_seconds - (time.monotonic() - last_sent)))
        wait = min(wait, STOP_CHECK_SECONDS)
        try:
            events = ctx.world.wait_for_events(sub_ids, wait) if wait > 0 else {}
        except werr.StreamingConnectionDropped:
            raise
        except werr.EwsError as exc:
            yield _message(status="Closed", error=as_soap_error(exc), error_ids=sub_ids)
            return
        if events:
            yield _message(events)
            last_sent = time.monotonic()
        elif time.monotonic() - last_sent >= settings.streaming_keepalive_seconds:
            yield _message()
            last_sent = time.monotonic()
    if ctx.stopping.is_set():
        return  # the server is going away; the connection is cut without a Closed message
    yield _message(status="Closed")


def handle(ctx: RequestContext) -> etree._Element | StreamingReply:
    payload = ctx.payload
    sub_ids = [e.text.strip() for e in soap.children(payload.find(m("SubscriptionIds"))) if e.text]
    try:
        timeout = int(soap.text_of(payload, m("ConnectionTimeout")) or "0")
    except ValueError:
        timeout = 0
    root, messages = soap.response_root(OPERATION)
    if not sub_ids or not 1 <= timeout <= 30:
        soap.error_message(
            messages,
            OPERATION,
            soap.EwsError(
                "ErrorInvalidRequest", "SubscriptionIds and a ConnectionTimeout of 1 to 30 minutes are required."
            ),
        )
        return root
    for sub_id in sub_ids:
        try:
            sub = ctx.world.subscription(sub_id)
        except werr.EwsError as exc:
            msg = soap.error_message(messages, OPERATION, as_soap_error(exc))
            ids = etree.SubElement(msg, m("ErrorSubscriptionIds"))
            etree.SubElement(ids, t("SubscriptionId")).text = sub_id
            return root
        if sub.kind != SubscriptionKind.STREAMING:
            # Exchange refuses pull subscriptions on the streaming endpoint.
            msg = soap.error_message(
                messages,
                OPERATION,
                soap.EwsError("ErrorInvalidSubscription", "The subscription is not a streaming subscription."),
            )
            ids = etree.SubElement(msg, m("ErrorSubscriptionIds"))
            etree.SubElement(ids, t("SubscriptionId")).text = sub_id
            return root
        if sub.expired:
            msg = soap.error_message(messages, OPERATION, as_soap_error(werr.ExpiredSubscription()))
            ids = etree.SubElement(msg, m("ErrorSubscriptionIds"))
            etree.SubElement(ids, t("SubscriptionId")).text = sub_id
            return root
    return StreamingReply(_stream(ctx, sub_ids, timeout))
