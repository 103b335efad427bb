"""From what one mailbox holds to what its user sees: provider records -> occurrences.

One event is identified by its iCalendar UID (plus the original start for an occurrence of a series), so the copies
of a meeting in the organizer's and every attendee's mailbox all describe the same :class:`OccurrenceKey`. The
shared content is built only from fields that are the same in every copy; what differs per mailbox (the user's own
answer, whether this is the organizer's copy) travels beside it, as the store's contract asks
(:mod:`tc_calendar.sync.actions`).

Who sees an item (seed 4.1: "if the person ... is added to the list of invited participants or is the creator of
the event"):

* the organizer (the organizer field is the mailbox; an appointment without attendees is its owner's own);
* an attendee, required or optional, listed by address;
* a user whose own calendar holds the item and who answered it (Accepted or Tentative) although not listed by
  address: invited through a distribution list or by a forwarded invitation, which Exchange records in the
  user's own calendar only;
* nobody else: an unanswered or declined copy in the calendar of someone not invited (a delegate's copy of the
  owner's meetings, a stale forward) is not shown, since seed 4.1 ties visibility to the invitation.

Delegation (seed 4.1.2): the organizer shown is the item's organizer, which Exchange sets to the owner when a
delegate schedules on the owner's behalf; the delegate never appears as organizer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace

from tc_calendar.model import Attendee, ConferenceLink, Occurrence, OccurrenceKey, Response, Role
from tc_calendar.records import BodyType, ItemKind, RecurrencePattern, RemoteAttendee, RemoteItem
from tc_calendar.sync.html_text import html_to_text, tidy_text
from tc_calendar.sync.links import LinkFinder
from tc_calendar.sync.recurrence import RecurrenceError, describe, expand
from tc_calendar.sync.window import SyncWindow

log = logging.getLogger(__name__)

_ANSWERED = (Response.ACCEPTED, Response.TENTATIVE)


@dataclass(frozen=True, slots=True)
class SeenOccurrence:
    """One occurrence as one mailbox holds it; everything a :class:`~tc_calendar.sync.actions.PutOccurrence` needs
    but the content hash. ``item_id`` is the Exchange item it came from (a series' master for expanded ones)."""

    mailbox: str
    item_id: str
    occurrence: Occurrence
    my_response: Response
    from_organizer_copy: bool


def _invitees(item: RemoteItem) -> list[tuple[RemoteAttendee, Role]]:
    return [(a, Role.REQUIRED) for a in item.required_attendees] + [(a, Role.OPTIONAL) for a in item.optional_attendees]


def is_organizer_copy(item: RemoteItem) -> bool:
    """Whether the mailbox is the organizer's (the owner's, for a meeting a delegate scheduled)."""
    if item.my_response is Response.ORGANIZER:
        return True
    if item.organizer is None or not item.organizer.email:
        return not item.required_attendees and not item.optional_attendees
    return item.organizer.email == item.mailbox


def is_visible(item: RemoteItem) -> bool:
    """Whether the mailbox's user sees the item; see the module documentation for the rule."""
    if is_organizer_copy(item):
        return True
    if any(a.email == item.mailbox for a, _ in _invitees(item)):
        return True
    return item.my_response in _ANSWERED


def my_response(item: RemoteItem) -> Response:
    """The user's own answer: Organizer for the organizer; else the mailbox's own record of it; else what the
    attendee list says about the user."""
    if is_organizer_copy(item):
        return Response.ORGANIZER
    if item.my_response not in (Response.NO_RESPONSE, Response.ORGANIZER):
        return item.my_response
    for attendee, _ in _invitees(item):
        if attendee.email == item.mailbox and attendee.response is not Response.ORGANIZER:
            return attendee.response
    return Response.NO_RESPONSE


def attendees(item: RemoteItem) -> tuple[Attendee | None, tuple[Attendee, ...]]:
    """The organizer and the invitees, each person once (required, optional, then rooms and other resources),
    the organizer not repeated among the invitees, in the order Exchange lists them."""
    organizer = None
    if item.organizer is not None and item.organizer.email:
        organizer = Attendee(item.organizer.email, item.organizer.name, Role.ORGANIZER, Response.ORGANIZER)
    elif is_organizer_copy(item):
        organizer = Attendee(item.mailbox, "", Role.ORGANIZER, Response.ORGANIZER)
    seen = {organizer.email} if organizer else set()
    out = []
    for attendee, role in [*_invitees(item), *((r, Role.RESOURCE) for r in item.resources)]:
        if attendee.email in seen:
            continue
        seen.add(attendee.email)
        response = Response.NO_RESPONSE if attendee.response is Response.ORGANIZER else attendee.response
        out.append(Attendee(attendee.email, attendee.name, role, response, attendee.last_response_time))
    return organizer, tuple(out)


def description(item: RemoteItem) -> str:
    """The body as safe plain text."""
    if item.body.type is BodyType.HTML:
        return html_to_text(item.body.content)
    return tidy_text(item.body.content)


def conference(item: RemoteItem, text: str, links: LinkFinder) -> ConferenceLink | None:
    """The linked conference: location first, then the item's online-meeting addresses, then the visible
    description, then the raw body (links hidden behind an HTML anchor's text)."""
    raw = item.body.content if item.body.type is BodyType.HTML else ""
    return links.find([item.location, *item.meeting_urls, text, raw])


def _occurrence(item: RemoteItem, key: OccurrenceKey, links: LinkFinder, summary: str | None) -> Occurrence:
    organizer, invitees = attendees(item)
    text = description(item)
    return Occurrence(
        key=key,
        title=item.subject,
        start=item.start,
        end=item.end,
        all_day=item.is_all_day,
        location=item.location.strip(),
        description=text,
        organizer=organizer,
        attendees=invitees,
        cancelled=item.is_cancelled,
        conference=conference(item, text, links),
        recurrence_summary=summary,
        is_exception=item.kind is ItemKind.EXCEPTION,
        sensitivity=item.sensitivity,
    )


def item_uid(item: RemoteItem) -> str:
    """The UID every occurrence of ``item`` is keyed by."""
    # Exchange gives every calendar item a UID; an item created without one by some client still needs an identity.
    return item.uid or f"item:{item.item_id}"


def _seen(item: RemoteItem, occurrence: Occurrence, item_id: str) -> SeenOccurrence:
    return SeenOccurrence(item.mailbox, item_id, occurrence, my_response(item), is_organizer_copy(item))


def _expand_master(
    master: RemoteItem, pattern: RecurrencePattern, window: SyncWindow, links: LinkFinder
) -> list[SeenOccurrence]:
    summary = describe(pattern)
    try:
        expanded = expand(
            pattern,
            first_start=master.start,
            first_end=master.end,
            timezone=master.start_timezone,
            window=window,
            all_day=master.is_all_day,
            modified=master.modified_occurrences,
            deleted=master.deleted_occurrences,
        )
    except RecurrenceError as exc:
        log.warning("%s: series %s (%r) skipped: %s", master.mailbox, master.uid, master.subject, exc)
        return []
    full = {e.recurrence_id: e for e in master.exceptions if e.recurrence_id is not None}
    base = _occurrence(master, OccurrenceKey(item_uid(master)), links, summary)
    out = []
    for found in expanded:
        key = OccurrenceKey(item_uid(master), found.original_start)
        exception = full.get(found.original_start)
        if exception is not None:
            occurrence = replace(_occurrence(exception, key, links, summary), is_exception=True)
            out.append(_seen(exception, occurrence, master.item_id))
            continue
        occurrence = replace(base, key=key, start=found.start, end=found.end, is_exception=found.modified is not None)
        out.append(_seen(master, occurrence, master.item_id))
    return out


def normalize_item(item: RemoteItem, window: SyncWindow, links: LinkFinder) -> list[SeenOccurrence]:
    """The occurrences of one item that its mailbox's user sees in ``window`` (none when not visible).

    Guide 3.1.2 bounds recurring events by ``backward``/``forward``: a series is expanded, and an occurrence or
    exception handed over on its own is kept, within ``[window.start, window.end)``; a single meeting is kept from
    ``window.start`` up to the safety limit ``window.singles_end`` (:meth:`SyncWindow.shows`)."""
    if not is_visible(item):
        return []
    if item.kind is ItemKind.MASTER and item.recurrence is not None:
        return _expand_master(item, item.recurrence, window, links)
    if not window.shows(item.start, item.end, recurring=item.kind is not ItemKind.SINGLE):
        return []
    key = OccurrenceKey(item_uid(item), item.recurrence_id if _in_series(item) else None)
    summary = describe(item.recurrence) if item.recurrence is not None else None
    return [_seen(item, _occurrence(item, key, links, summary), source_item_id(item))]


def _in_series(item: RemoteItem) -> bool:
    return item.kind in (ItemKind.OCCURRENCE, ItemKind.EXCEPTION) and item.recurrence_id is not None


def source_item_id(item: RemoteItem) -> str:
    """The Exchange item an item's occurrences are filed under: the series' master for an occurrence or exception
    whose master is known (so deleting the master reaches them), else the item itself."""
    if _in_series(item) and item.master_item_id:
        return item.master_item_id
    return item.item_id


def normalize_changes(
    items: Iterable[RemoteItem], window: SyncWindow, links: LinkFinder
) -> dict[str, list[SeenOccurrence]]:
    """A page of changed items as :func:`tc_calendar.sync.diff.plan_incremental` takes it: for each item, by its
    own id, everything it now shows, possibly nothing.

    Incremental sync reports singles and masters, whose occurrences are filed under their own id, so a master's
    group is complete and what it no longer produces is dropped. A lone occurrence or exception is filed under its
    master (:func:`source_item_id`) but grouped under its own id, so it never drops its siblings."""
    out: dict[str, list[SeenOccurrence]] = {}
    for item in items:
        out.setdefault(item.item_id, []).extend(normalize_item(item, window, links))
    return out


def normalize_items(items: Iterable[RemoteItem], window: SyncWindow, links: LinkFinder) -> list[SeenOccurrence]:
    """All occurrences of a mailbox's items, one per key: an occurrence or exception read as its own item wins
    over the same occurrence expanded from its master."""
    found: dict[OccurrenceKey, SeenOccurrence] = {}
    direct: set[OccurrenceKey] = set()
    for item in items:
        from_master = item.kind is ItemKind.MASTER
        for seen in normalize_item(item, window, links):
            key = seen.occurrence.key
            if from_master and key in direct:
                continue
            found[key] = seen
            if not from_master:
                direct.add(key)
    return sorted(found.values(), key=_order)


def _order(seen: SeenOccurrence) -> tuple[object, ...]:
    key = seen.occurrence.key
    return (seen.occurrence.start, key.uid, key.recurrence_id or seen.occurrence.start)

