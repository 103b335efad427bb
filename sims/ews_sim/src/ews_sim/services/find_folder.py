"""FindFolder: the subfolders of a mailbox folder (``Traversal="Shallow"``) or all its descendants (``Deep``)."""

from __future__ import annotations

from lxml import etree

from ews_sim import soap
from ews_sim.services.common import per_item
from ews_sim.services.context import RequestContext
from ews_sim.services.folder_xml import folder_element, folder_fields
from ews_sim.services.refs import resolve_folder
from ews_sim.world.model import Folder
from ews_sim.xml_names import m, t

OPERATION = "FindFolder"


def _descendants(folders: list[Folder], parent_id: str, deep: bool) -> list[Folder]:
    out: list[Folder] = []
    for folder in folders:
        if folder.parent_folder_id == parent_id:
            out.append(folder)
            if deep:
                out.extend(_descendants(folders, folder.folder_id, deep))
    return out


def handle(ctx: RequestContext) -> etree._Element:
    payload = ctx.payload
    fields = folder_fields(payload.find(m("FolderShape")))
    deep = payload.get("Traversal", "Shallow") == "Deep"
    root, messages = soap.response_root(OPERATION)
    for ref in soap.children(payload.find(m("ParentFolderIds"))):

        def one(ref: etree._Element = ref) -> None:
            parent = resolve_folder(ctx, ref)
            smtp = ctx.world.mailbox_of_id(parent.folder_id)
            mailbox = ctx.world.mailbox(smtp)
            everything = [ctx.world.distinguished_folder(smtp, dist) for dist in mailbox.folders]
            found = _descendants(everything, parent.folder_id, deep)
            msg = soap.success_message(messages, OPERATION)
            folder_root = etree.SubElement(
                msg,
                m("RootFolder"),
                IndexedPagingOffset=str(len(found)),
                TotalItemsInView=str(len(found)),
                IncludesLastItemInRange="true",
            )
            container = etree.SubElement(folder_root, t("Folders"))
            for folder in found:
                container.append(folder_element(folder, fields))

        per_item(messages, OPERATION, one)
    return root
