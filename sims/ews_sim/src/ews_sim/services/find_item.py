"""FindItem on a calendar folder: with a CalendarView (occurrences expanded server-side) or paged by
IndexedPageItemView (singles and recurring masters, never expanded).

Exchange semantics kept here: a CalendarView returns at most MaxEntriesReturned items, earliest first, and
sets ``IncludesLastItemInRange="false"`` when it cut the list (the client must narrow the window; there is no
offset). IndexedPageItemView pages with Offset/BasePoint and reports ``IndexedPagingOffset`` for the next page.
A CalendarView may span at most 732 days (``ErrorCalendarViewRangeTooBig``) and no answer holds more than
1000 items (EWSFindCountLimit). Without a CalendarView, Restriction and SortOrder are evaluated
(services/restriction.py); a CalendarView is always in Exchange's order, by start.
"""

from __future__ import annotations

from datetime import timedelta

from lxml import etree

from ews_sim import soap
from ews_sim.services.calendar_xml import Shape, calendar_item_element, parse_datetime
from ews_sim.services.common import per_item
from ews_sim.services.context import RequestContext
from ews_sim.services.refs import resolve_folder
from ews_sim.services.restriction import apply_restriction, apply_sort
from ews_sim.world.model import CalendarItem
from ews_sim.xml_names import m, t

OPERATION = "FindItem"
#: EWSFindCountLimit of Exchange 2016's default throttling policy: no FindItem answer holds more items.
FIND_COUNT_LIMIT = 1000
MAX_CALENDAR_VIEW_RANGE = timedelta(days=732)


def _int_attr(elem: etree._Element, name: str, default: int | None) -> int | None:
    value = elem.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise soap.EwsError(
            "ErrorInvalidPagingMaxRows" if name == "MaxEntriesReturned" else "ErrorInvalidRequest",
            f"Invalid {name} '{value}'.",
        ) from exc


def _calendar_view(ctx: RequestContext, smtp: str, view: etree._Element) -> tuple[list[CalendarItem], dict[str, str]]:
    start_text, end_text = view.get("StartDate"), view.get("EndDate")
    if not start_text or not end_text:
        raise soap.EwsError("ErrorSchemaValidation", "CalendarView requires StartDate and EndDate.")
    start = parse_datetime(start_text, ctx.request.timezone_id and _iana(ctx.request.timezone_id))
    end = parse_datetime(end_text, ctx.request.timezone_id and _iana(ctx.request.timezone_id))
    if end < start:
        raise soap.EwsError("ErrorCalendarEndDateIsEarlierThanStartDate", "EndDate is earlier than StartDate.")
    if end - start > MAX_CALENDAR_VIEW_RANGE:
        # The store expands recurrences over at most two years (732 days) per query.
        raise soap.EwsError("ErrorCalendarViewRangeTooBig", "The CalendarView range is too big.")
    items = ctx.world.calendar_view(smtp, start, end)
    limit = _int_attr(view, "MaxEntriesReturned", None)
    if limit is not None and limit < 1:
        raise soap.EwsError("ErrorInvalidPagingMaxRows", "MaxEntriesReturned must be positive.")
    total = len(items)
    page = items[: min(limit or FIND_COUNT_LIMIT, FIND_COUNT_LIMIT)]
    attrs = {"TotalItemsInView": str(total), "IncludesLastItemInRange": "true" if len(page) == total else "false"}
    return page, attrs


def _indexed(view: etree._Element | None, items: list[CalendarItem]) -> tuple[list[CalendarItem], dict[str, str]]:
    total = len(items)
    offset = 0
    limit: int | None = None
    if view is not None:
        offset = _int_attr(view, "Offset", 0) or 0
        limit = _int_attr(view, "MaxEntriesReturned", None)
        if view.get("BasePoint", "Beginning") == "End":
            # Offset counts back from the end; the page still runs forward from there.
            offset = max(0, total - offset - (limit or total))
    page = items[offset : offset + min(limit or FIND_COUNT_LIMIT, FIND_COUNT_LIMIT)]
    nxt = offset + len(page)
    attrs = {
        "IndexedPagingOffset": str(nxt),
        "TotalItemsInView": str(total),
        "IncludesLastItemInRange": "true" if nxt >= total else "false",
    }
    return page, attrs


def _iana(windows_id: str) -> str | None:
    from ews_sim.timezones import UnknownTimeZone, iana_name

    try:
        return iana_name(windows_id)
    except UnknownTimeZone:
        return None


def handle(ctx: RequestContext) -> etree._Element:
    payload = ctx.payload
    shape = Shape.parse(payload.find(m("ItemShape")), ctx.request.requested_version)
    root, messages = soap.response_root(OPERATION)
    calendar_view = payload.find(m("CalendarView"))
    indexed_view = payload.find(m("IndexedPageItemView"))
    for ref in soap.children(payload.find(m("ParentFolderIds"))):

        def one(ref: etree._Element = ref) -> None:
            folder = resolve_folder(ctx, ref)
            smtp = ctx.world.mailbox_of_id(folder.folder_id) if folder.folder_class == "IPF.Appointment" else None
            if calendar_view is not None:
                if smtp is None:
                    raise soap.EwsError("ErrorInvalidOperation", "CalendarView is only valid on calendar folders.")
                page, attrs = _calendar_view(ctx, smtp, calendar_view)
            else:
                items = ctx.world.find_items(smtp) if smtp is not None else []
                items = apply_restriction(items, payload.find(m("Restriction")))
                items = apply_sort(items, payload.find(m("SortOrder")))
                page, attrs = _indexed(indexed_view, items)
            msg = soap.success_message(messages, OPERATION)
            root_folder = etree.SubElement(msg, m("RootFolder"))
            for key in ("IndexedPagingOffset", "TotalItemsInView", "IncludesLastItemInRange"):
                if key in attrs:
                    root_folder.set(key, attrs[key])
            items_elem = etree.SubElement(root_folder, t("Items"))
            for item in page:
                items_elem.append(calendar_item_element(item, shape))

        per_item(messages, OPERATION, one)
    return root
