"""ConvertId: translate item ids between formats.

exchangelib sends ``ConvertId`` of a dummy id to learn the server version when none is configured; Exchange
answers with ``ErrorInvalidIdMalformed`` for that id, and the response header carries ServerVersionInfo.
The simulator's ids are opaque strings valid in every format, so a known id converts to itself.
"""

from __future__ import annotations

from lxml import etree

from ews_sim import soap
from ews_sim.services.common import per_item
from ews_sim.services.context import RequestContext
from ews_sim.xml_names import XSI_NS, m

OPERATION = "ConvertId"
FORMATS = frozenset({"EwsLegacyId", "EwsId", "EntryId", "HexEntryId", "StoreId", "OwaId"})


def handle(ctx: RequestContext) -> etree._Element:
    destination = ctx.payload.get("DestinationFormat", "EwsId")
    root, messages = soap.response_root(OPERATION)
    for source in soap.children(ctx.payload.find(m("SourceIds"))):

        def one(source: etree._Element = source) -> None:
            source_id = source.get("Id", "")
            mailbox = source.get("Mailbox", "")
            if destination not in FORMATS or source.get("Format") not in FORMATS:
                raise soap.EwsError("ErrorInvalidRequest", "Unknown id format.")
            owner = ctx.world.mailbox_of_id(source_id)  # InvalidIdMalformed for ids that are not ours
            msg = soap.success_message(messages, OPERATION)
            etree.SubElement(
                msg, m("AlternateId"), {"Format": destination, "Id": source_id, "Mailbox": mailbox or owner}
            ).set(f"{{{XSI_NS}}}type", "t:AlternateIdType")  # AlternateId is declared with the abstract base type

        per_item(messages, OPERATION, one)
    return root
