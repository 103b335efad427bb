"""Notification events (GetEvents, GetStreamingEvents) to ``t:Notification`` XML."""

from __future__ import annotations

from lxml import etree

from ews_sim.services.calendar_xml import ews_datetime
from ews_sim.world.changes import Event, EventType
from ews_sim.xml_names import t

_ORDER = (
    "CopiedEvent",
    "CreatedEvent",
    "DeletedEvent",
    "ModifiedEvent",
    "MovedEvent",
    "NewMailEvent",
    "StatusEvent",
    "FreeBusyChangedEvent",
)


def event_element(event: Event, *, with_watermark: bool = True) -> etree._Element:
    """One event in BaseObjectChangedEventType order: Watermark, TimeStamp, FolderId|ItemId, ParentFolderId,
    then OldItemId/OldFolderId and OldParentFolderId for moves and copies."""
    elem = etree.Element(t(str(event.event_type)))
    if with_watermark:
        etree.SubElement(elem, t("Watermark")).text = event.watermark
    if event.event_type == EventType.STATUS:
        return elem
    etree.SubElement(elem, t("TimeStamp")).text = ews_datetime(event.timestamp)
    if event.item_id is not None:
        etree.SubElement(elem, t("ItemId"), Id=event.item_id, ChangeKey=event.change_key or "")
    else:
        etree.SubElement(elem, t("FolderId"), Id=event.folder_id or "")
    etree.SubElement(elem, t("ParentFolderId"), Id=event.parent_folder_id)
    if event.event_type in (EventType.MOVED, EventType.COPIED):
        if event.item_id is not None:
            etree.SubElement(elem, t("OldItemId"), Id=event.old_item_id or event.item_id)
        else:
            etree.SubElement(elem, t("OldFolderId"), Id=event.old_item_id or event.folder_id or "")
        etree.SubElement(elem, t("OldParentFolderId"), Id=event.old_parent_folder_id or event.parent_folder_id)
    return elem


def notification_element(
    subscription_id: str,
    events: list[Event],
    *,
    previous_watermark: str | None = None,
    more_events: bool | None = None,
) -> etree._Element:
    """``t:Notification``: SubscriptionId, PreviousWatermark and MoreEvents (pull only), then the events."""
    elem = etree.Element(t("Notification"))
    etree.SubElement(elem, t("SubscriptionId")).text = subscription_id
    if previous_watermark is not None:
        etree.SubElement(elem, t("PreviousWatermark")).text = previous_watermark
    if more_events is not None:
        etree.SubElement(elem, t("MoreEvents")).text = "true" if more_events else "false"
    for event in events:
        elem.append(event_element(event))
    return elem
