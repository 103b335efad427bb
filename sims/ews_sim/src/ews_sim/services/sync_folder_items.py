"""SyncFolderItems: net changes of a calendar folder since a SyncState, at most MaxChangesReturned per call.

Without SyncState the first call returns every item as a Create. ``IncludesLastItemInRange=false`` tells the
client to call again with the returned state. Occurrences are never listed: a changed occurrence shows up as
an Update of its recurring master, as in Exchange.
"""

from __future__ import annotations

from lxml import etree

from ews_sim import soap
from ews_sim.services.calendar_xml import Shape, calendar_item_element
from ews_sim.services.common import per_item
from ews_sim.services.context import RequestContext
from ews_sim.services.refs import resolve_folder
from ews_sim.world.changes import ChangeKind
from ews_sim.world.model import CalendarItem
from ews_sim.xml_names import m, t

OPERATION = "SyncFolderItems"
MAX_CHANGES_LIMIT = 512  # Exchange rejects MaxChangesReturned outside 1..512


def handle(ctx: RequestContext) -> etree._Element:
    payload = ctx.payload
    shape = Shape.parse(payload.find(m("ItemShape")), ctx.request.requested_version)
    root, messages = soap.response_root(OPERATION)

    def one() -> None:
        folder_ref = payload.find(m("SyncFolderId"))
        if folder_ref is None or not len(folder_ref):
            raise soap.EwsError("ErrorInvalidRequest", "SyncFolderId is required.")
        folder = resolve_folder(ctx, folder_ref[0])
        state = soap.text_of(payload, m("SyncState")) or None
        try:
            max_changes = int(soap.text_of(payload, m("MaxChangesReturned")) or "512")
        except ValueError as exc:
            raise soap.EwsError("ErrorInvalidRequest", "MaxChangesReturned must be an integer.") from exc
        if not 1 <= max_changes <= MAX_CHANGES_LIMIT:
            raise soap.EwsError("ErrorInvalidRequest", "MaxChangesReturned must be between 1 and 512.")
        result = ctx.world.sync_folder_items(folder.folder_id, state, max_changes)
        msg = soap.success_message(messages, OPERATION)
        etree.SubElement(msg, m("SyncState")).text = result.sync_state
        etree.SubElement(msg, m("IncludesLastItemInRange")).text = (
            "true" if result.includes_last_item_in_range else "false"
        )
        ignored = {i.get("Id") for i in soap.children(payload.find(m("Ignore")))}
        changes = etree.SubElement(msg, m("Changes"))
        for change in result.changes:
            if change.item_id in ignored:
                continue  # m:Ignore lists items whose changes the client does not want reported
            if change.kind == ChangeKind.DELETE:
                entry = etree.SubElement(changes, t("Delete"))
                etree.SubElement(entry, t("ItemId"), Id=change.item_id, ChangeKey=change.change_key or "")
                continue
            entry = etree.SubElement(changes, t("Create" if change.kind == ChangeKind.CREATE else "Update"))
            item = change.item
            if not isinstance(item, CalendarItem):
                raise soap.EwsError("ErrorInternalServerError", "A change without its item.")
            entry.append(calendar_item_element(item, shape))

    before = len(messages)
    per_item(messages, OPERATION, one)
    if len(messages) > before and messages[-1].get("ResponseClass") == "Error":
        # Exchange quirk: error messages of SyncFolderItems still carry an empty SyncState and
        # IncludesLastItemInRange=true (exchangelib reads both before looking at the ResponseCode).
        etree.SubElement(messages[-1], m("SyncState"))
        etree.SubElement(messages[-1], m("IncludesLastItemInRange")).text = "true"
    return root
