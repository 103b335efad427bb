"""Subscribe: pull and streaming notification subscriptions on folders of one mailbox.

Pull subscriptions return a SubscriptionId and a Watermark; streaming ones only a SubscriptionId (Exchange
gives streaming subscriptions no watermark). Push subscriptions need a callback the simulator cannot reach
and are refused as ``ErrorInvalidSubscriptionRequest``.
"""

from __future__ import annotations

from lxml import etree

from ews_sim import soap
from ews_sim.services.common import per_item
from ews_sim.services.context import RequestContext
from ews_sim.services.refs import resolve_folder
from ews_sim.world.changes import SubscriptionKind
from ews_sim.xml_names import local_name, m, t

OPERATION = "Subscribe"
_KINDS = {
    "PullSubscriptionRequest": SubscriptionKind.PULL,
    "StreamingSubscriptionRequest": SubscriptionKind.STREAMING,
}


def handle(ctx: RequestContext) -> etree._Element:
    root, messages = soap.response_root(OPERATION)
    requests = soap.children(ctx.payload)

    def one() -> None:
        if len(requests) != 1 or local_name(requests[0].tag) not in _KINDS:
            raise soap.EwsError(
                "ErrorInvalidSubscriptionRequest", "Only pull and streaming subscriptions are supported."
            )
        req = requests[0]
        kind = _KINDS[local_name(req.tag)]
        all_folders = req.get("SubscribeToAllFolders", "false").lower() == "true"
        folders = [resolve_folder(ctx, f) for f in soap.children(req.find(t("FolderIds")))]
        smtp = ctx.world.mailbox_of_id(folders[0].folder_id) if folders else ctx.open_mailbox().smtp
        event_types = [e.text.strip() for e in soap.children(req.find(t("EventTypes"))) if e.text]
        if not event_types:
            raise soap.EwsError("ErrorInvalidSubscriptionRequest", "EventTypes must name at least one event type.")
        timeout_text = soap.text_of(req, t("Timeout"))
        timeout = int(timeout_text) if timeout_text else 30
        if kind == SubscriptionKind.PULL and not 1 <= timeout <= 1440:
            raise soap.EwsError("ErrorInvalidSubscriptionRequest", "Timeout must be between 1 and 1440 minutes.")
        sub_id, watermark = ctx.world.subscribe(
            smtp,
            kind,
            event_types,
            folder_ids=[f.folder_id for f in folders] or None,
            all_folders=all_folders,
            watermark=soap.text_of(req, t("Watermark")),
            timeout_minutes=timeout,
            owner_login=ctx.account.login,
        )
        msg = soap.success_message(messages, OPERATION)
        etree.SubElement(msg, m("SubscriptionId")).text = sub_id
        if kind == SubscriptionKind.PULL:
            etree.SubElement(msg, m("Watermark")).text = watermark

    per_item(messages, OPERATION, one)
    return root
