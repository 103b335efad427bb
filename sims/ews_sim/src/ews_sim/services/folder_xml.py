"""Folders to EWS XML (``t:CalendarFolder`` / ``t:Folder``) in BaseFolderType order."""

from __future__ import annotations

import base64

from lxml import etree

from ews_sim.soap import children
from ews_sim.world.model import Folder
from ews_sim.xml_names import local_name, t

FOLDER_ORDER = (
    "FolderId",
    "ParentFolderId",
    "FolderClass",
    "DisplayName",
    "TotalCount",
    "ChildFolderCount",
    "EffectiveRights",
    "DistinguishedFolderId",
    "UnreadCount",
)
DEFAULT_FOLDER_FIELDS = frozenset({"FolderId", "DisplayName", "TotalCount", "ChildFolderCount", "UnreadCount"})
_VIRTUAL_PREFIX = "ews-sim-virtual:"

# Distinguished folders every Exchange mailbox has; the world models only those a calendar connector needs,
# the others are answered as empty folders so that clients probing them (exchangelib asks for "sentitems"
# before sending a meeting response) see what Exchange would show.
VIRTUAL_FOLDERS = {
    "sentitems": ("Sent Items", "IPF.Note"),
    "drafts": ("Drafts", "IPF.Note"),
    "outbox": ("Outbox", "IPF.Note"),
    "deleteditems": ("Deleted Items", "IPF.Note"),
    "inbox": ("Inbox", "IPF.Note"),
}


def virtual_folder(smtp: str, distinguished: str, parent_id: str | None) -> Folder:
    display, folder_class = VIRTUAL_FOLDERS[distinguished]
    raw = f"{_VIRTUAL_PREFIX}{smtp}:{distinguished}".encode()
    return Folder(
        folder_id=base64.b64encode(raw).decode(),
        change_key="AQAAAA==",
        distinguished_id=distinguished,
        display_name=display,
        folder_class=folder_class,
        parent_folder_id=parent_id,
    )


def parse_virtual_id(folder_id: str) -> tuple[str, str] | None:
    """(smtp, distinguished id) of a virtual folder id, else None."""
    try:
        raw = base64.b64decode(folder_id, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not raw.startswith(_VIRTUAL_PREFIX):
        return None
    smtp, _, dist = raw[len(_VIRTUAL_PREFIX) :].rpartition(":")
    return (smtp, dist) if dist in VIRTUAL_FOLDERS else None


def folder_fields(shape_elem: etree._Element | None) -> set[str]:
    fields = {"FolderId"}
    if shape_elem is None:
        return fields
    base = (shape_elem.findtext(t("BaseShape")) or "IdOnly").strip()
    if base == "Default":
        fields |= DEFAULT_FOLDER_FIELDS
    elif base == "AllProperties":
        fields |= set(FOLDER_ORDER)
    for path in children(shape_elem.find(t("AdditionalProperties"))):
        if local_name(path.tag) == "FieldURI":
            fields.add(path.get("FieldURI", "").split(":", 1)[-1])
    return fields


def folder_element(folder: Folder, fields: set[str]) -> etree._Element:
    is_calendar = folder.folder_class == "IPF.Appointment"
    elem = etree.Element(t("CalendarFolder" if is_calendar else "Folder"))
    for name in FOLDER_ORDER:
        if name not in fields:
            continue
        if name == "FolderId":
            etree.SubElement(elem, t("FolderId"), Id=folder.folder_id, ChangeKey=folder.change_key)
        elif name == "ParentFolderId" and folder.parent_folder_id:
            etree.SubElement(elem, t("ParentFolderId"), Id=folder.parent_folder_id)
        elif name == "FolderClass" and folder.folder_class:
            etree.SubElement(elem, t("FolderClass")).text = folder.folder_class
        elif name == "DisplayName":
            etree.SubElement(elem, t("DisplayName")).text = folder.display_name
        elif name == "TotalCount":
            etree.SubElement(elem, t("TotalCount")).text = str(folder.total_count)
        elif name == "ChildFolderCount":
            etree.SubElement(elem, t("ChildFolderCount")).text = str(folder.child_folder_count)
        elif name == "EffectiveRights":
            rights = etree.SubElement(elem, t("EffectiveRights"))
            for right in (
                "CreateAssociated",
                "CreateContents",
                "CreateHierarchy",
                "Delete",
                "Modify",
                "Read",
                "ViewPrivateItems",
            ):
                etree.SubElement(rights, t(right)).text = "true"
        elif name == "DistinguishedFolderId" and folder.distinguished_id:
            etree.SubElement(elem, t("DistinguishedFolderId")).text = folder.distinguished_id
        elif name == "UnreadCount" and not is_calendar:
            etree.SubElement(elem, t("UnreadCount")).text = str(folder.unread_count)
    return elem
