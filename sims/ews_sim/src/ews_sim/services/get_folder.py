"""GetFolder: folders by FolderId or DistinguishedFolderId (``calendar``, ``root``, ``msgfolderroot``...)."""

from __future__ import annotations

from lxml import etree

from ews_sim import soap
from ews_sim.services.common import per_item
from ews_sim.services.context import RequestContext
from ews_sim.services.folder_xml import folder_element, folder_fields
from ews_sim.services.refs import resolve_folder
from ews_sim.xml_names import m

OPERATION = "GetFolder"


def handle(ctx: RequestContext) -> etree._Element:
    fields = folder_fields(ctx.payload.find(m("FolderShape")))
    root, messages = soap.response_root(OPERATION)
    for ref in soap.children(ctx.payload.find(m("FolderIds"))):

        def one(ref: etree._Element = ref) -> None:
            folder = resolve_folder(ctx, ref)
            msg = soap.success_message(messages, OPERATION)
            etree.SubElement(msg, m("Folders")).append(folder_element(folder, fields))

        per_item(messages, OPERATION, one)
    return root
