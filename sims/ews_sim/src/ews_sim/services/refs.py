"""Resolving the folder and item ids of a request to world objects, with Exchange's access checks.

An id names its mailbox; acting on another mailbox than the request's own needs impersonation of that
mailbox or delegate rights -- the world decides (AccessDenied otherwise).
"""

from __future__ import annotations

from lxml import etree

from ews_sim.services.context import RequestContext
from ews_sim.services.folder_xml import VIRTUAL_FOLDERS, parse_virtual_id, virtual_folder
from ews_sim.soap import EwsError, text_of
from ews_sim.world.errors import FolderNotFound
from ews_sim.world.model import CalendarItem, Folder
from ews_sim.xml_names import local_name, t


def _check_mailbox(ctx: RequestContext, smtp: str) -> None:
    """May this request open items of ``smtp``? Asked once per mailbox and request: a GetItem of many items of one
    mailbox is one access check, not one per item (each check copies the mailbox)."""
    key = smtp.casefold()
    if key in ctx.opened_for_items:
        return
    ctx.open_mailbox(smtp)
    ctx.opened_for_items.add(key)


def resolve_folder(ctx: RequestContext, elem: etree._Element) -> Folder:
    """A ``t:FolderId`` or ``t:DistinguishedFolderId`` (with an optional ``t:Mailbox``)."""
    name = local_name(elem.tag)
    if name == "DistinguishedFolderId":
        dist = elem.get("Id", "")
        smtp = text_of(elem, f"{t('Mailbox')}/{t('EmailAddress')}")
        mailbox = ctx.open_mailbox(smtp)
        try:
            return ctx.world.distinguished_folder(mailbox.smtp, dist)
        except FolderNotFound:
            if dist not in VIRTUAL_FOLDERS:
                raise
        root = ctx.world.distinguished_folder(mailbox.smtp, "msgfolderroot")
        return virtual_folder(mailbox.smtp, dist, root.folder_id)
    if name == "FolderId":
        folder_id = elem.get("Id", "")
        virtual = parse_virtual_id(folder_id)
        if virtual is not None:
            mailbox = ctx.open_mailbox(virtual[0])
            root = ctx.world.distinguished_folder(mailbox.smtp, "msgfolderroot")
            return virtual_folder(mailbox.smtp, virtual[1], root.folder_id)
        _check_mailbox(ctx, ctx.world.mailbox_of_id(folder_id))
        return ctx.world.folder(folder_id)
    raise EwsError("ErrorInvalidRequest", f"Unexpected folder id element {name}.")


def resolve_item(ctx: RequestContext, elem: etree._Element) -> CalendarItem:
    """A ``t:ItemId``, ``t:OccurrenceItemId`` (master id + 1-based InstanceIndex) or ``t:RecurringMasterItemId``
    (the id of an occurrence or exception, answered with its series' master)."""
    name = local_name(elem.tag)
    world = ctx.world
    if name in ("ItemId", "ReferenceItemId"):
        item_id = elem.get("Id", "")
        smtp = world.mailbox_of_id(item_id)
        _check_mailbox(ctx, smtp)
        item = world.get_item(item_id, smtp)
    elif name == "OccurrenceItemId":
        master_id = elem.get("RecurringMasterId", "")
        _check_mailbox(ctx, world.mailbox_of_id(master_id))
        try:
            index = int(elem.get("InstanceIndex", ""))
        except ValueError as exc:
            raise EwsError("ErrorInvalidValueForProperty", "InstanceIndex must be an integer.") from exc
        item = world.get_occurrence(master_id, index)
    elif name == "RecurringMasterItemId":
        occ_id = elem.get("OccurrenceId", "")
        _check_mailbox(ctx, world.mailbox_of_id(occ_id))
        item = world.get_recurring_master(occ_id)
    else:
        raise EwsError("ErrorInvalidRequest", f"Unexpected item id element {name}.")
    change_key = elem.get("ChangeKey")
    ctx.notes["last_change_key"] = change_key or ""
    return item


def item_id_element(tag: str, item: CalendarItem) -> etree._Element:
    return etree.Element(t(tag), Id=item.item_id, ChangeKey=item.change_key)
