"""The World: the state of a simulated Exchange organisation and every operation on it.

Pure Python (no sockets, no XML). The protocol layer's handlers call the read side (``open_mailbox``,
``calendar_view``, ``find_items``, ``get_item``, ``sync_folder_items``, subscriptions) and ``gate`` for faults;
tests, scenarios and the control API call the write side, which behaves as Outlook users would
(``create_meeting``, ``respond``, ``update_meeting``, ``cancel_meeting``...).

All methods are thread-safe: one re-entrant lock guards the state, and a condition on it wakes streaming
waiters when the journal grows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from ews_sim.world.changes import Event, EventBatch, EventType, Subscription, SubscriptionKind, SyncResult
from ews_sim.world.faults import Gate
from ews_sim.world.model import (
    Account,
    BodyType,
    CalendarItem,
    Folder,
    Mailbox,
    ResponseType,
)
from ews_sim.world.recurrence import Recurrence

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class SimClock:
    """A clock that runs with real time plus an adjustable offset (the control API can move time forward)."""

    def __init__(self, base: Clock = utc_now) -> None:
        raise NotImplementedError

    def __call__(self) -> datetime:
        raise NotImplementedError

    def advance(self, seconds: float) -> datetime:
        raise NotImplementedError

    def set(self, when: datetime) -> datetime:
        raise NotImplementedError


#: Attendee spec accepted by meeting methods: an SMTP address, or (smtp, display name) for outside people.
AttendeeSpec = str | tuple[str, str]


class World:
    """A simulated Exchange organisation."""

    def __init__(self, clock: Clock = utc_now) -> None:
        self.clock = clock
        self.gate = Gate()
        self.lock = threading.RLock()
        raise NotImplementedError

    # -- directory ------------------------------------------------------------------------------------------

    def add_mailbox(self, smtp: str, display_name: str, time_zone: str = "UTC", password: str | None = None) -> Mailbox:
        """Create a mailbox with its folders. With ``password`` its user can log in (login = SMTP address)."""
        raise NotImplementedError

    def add_service_account(self, login: str, password: str, impersonation: bool = True) -> Account:
        """A service account; with ``impersonation`` it holds ApplicationImpersonation over every mailbox."""
        raise NotImplementedError

    def authenticate(self, login: str, password: str) -> Account | None:
        """The account for these credentials, or None. Logins compare case-insensitively; ``DOMAIN\\user`` and
        ``user@domain`` forms of a service login are accepted too."""
        raise NotImplementedError

    def account(self, login: str) -> Account | None:
        raise NotImplementedError

    def can_impersonate(self, account: Account, smtp: str) -> bool:
        raise NotImplementedError

    def grant_delegate(self, owner: str, delegate: str) -> None:
        """Give ``delegate`` Editor (delegate) rights on ``owner``'s calendar."""
        raise NotImplementedError

    def revoke_delegate(self, owner: str, delegate: str) -> None:
        raise NotImplementedError

    def mailboxes(self) -> list[Mailbox]:
        raise NotImplementedError

    def mailbox(self, smtp: str) -> Mailbox:
        """The mailbox, or NonExistentMailbox; MailboxUnavailable while a fault makes it unavailable."""
        raise NotImplementedError

    def open_mailbox(self, account: Account, smtp: str | None = None, *, impersonate: bool = False) -> Mailbox:
        """The mailbox ``account`` may read: its own (``smtp`` None), an impersonated one, or a delegated one.

        Raises ImpersonateUserDenied (impersonation without the role), NonExistentMailbox, AccessDenied
        (another mailbox without delegate rights), MailboxUnavailable.
        """
        raise NotImplementedError

    def folder(self, folder_id: str) -> Folder:
        """A folder by its id (FolderNotFound / InvalidIdMalformed)."""
        raise NotImplementedError

    def distinguished_folder(self, smtp: str, distinguished_id: str) -> Folder:
        """``calendar``, ``inbox``, ``deleteditems``, ``msgfolderroot`` or ``root`` of a mailbox."""
        raise NotImplementedError

    def mailbox_of_id(self, item_or_folder_id: str) -> str:
        """The SMTP address an ItemId/FolderId belongs to (InvalidIdMalformed if it is not one of ours)."""
        raise NotImplementedError

    # -- reading calendars ----------------------------------------------------------------------------------

    def calendar_view(self, smtp: str, start: datetime, end: datetime) -> list[CalendarItem]:
        """FindItem with a CalendarView: singles overlapping [start, end) and occurrences/exceptions of masters
        (never masters), sorted by (start, end, item_id) so that paging is stable."""
        raise NotImplementedError

    def find_items(self, smtp: str) -> list[CalendarItem]:
        """FindItem without a view: singles and recurring masters, sorted by (start, item_id)."""
        raise NotImplementedError

    def get_item(self, item_id: str, smtp: str | None = None) -> CalendarItem:
        """A single, a master, an occurrence or an exception by its ItemId. With ``smtp``, the id must belong to
        that mailbox (ItemNotFound otherwise). InvalidIdMalformed for ids that are not ours."""
        raise NotImplementedError

    def get_occurrence(self, master_id: str, instance_index: int) -> CalendarItem:
        """EWS OccurrenceItemId: the ``instance_index``-th (1-based) occurrence of a series.

        Raises OccurrenceIndexOutOfRange, OccurrenceDeleted, ItemNotFound (master gone or not a master).
        """
        raise NotImplementedError

    def get_recurring_master(self, item_id: str) -> CalendarItem:
        """EWS RecurringMasterItemId: the master of an occurrence/exception (or the master itself)."""
        raise NotImplementedError

    def items_by_uid(self, uid: str) -> list[CalendarItem]:
        """Every mailbox's copy of a meeting (organizer's and attendees'), singles/masters only."""
        raise NotImplementedError

    # -- appointments (non-meetings) and raw edits ----------------------------------------------------------

    def create_appointment(
        self,
        smtp: str,
        subject: str,
        start: datetime,
        end: datetime,
        *,
        body: str = "",
        body_type: BodyType = BodyType.TEXT,
        location: str = "",
        all_day: bool = False,
        time_zone: str | None = None,
        recurrence: Recurrence | None = None,
        categories: Sequence[str] = (),
        extended_properties: dict[Any, Any] | None = None,
        uid: str | None = None,
    ) -> CalendarItem:
        """An appointment (no attendees) in ``smtp``'s calendar. Naive datetimes are in ``time_zone``
        (default: the mailbox's zone); all-day items are snapped to local midnights."""
        raise NotImplementedError

    def update_item(self, item_id: str, **changes: Any) -> CalendarItem:
        """Edit one item in place without notifying anyone (subject, body, body_type, location, start, end,
        all_day, time_zone, recurrence, categories, extended_properties, legacy_free_busy_status...)."""
        raise NotImplementedError

    def delete_item(self, item_id: str) -> None:
        """Delete a single/master (or, given an occurrence id, that occurrence) without notifying anyone."""
        raise NotImplementedError

    # -- meetings -------------------------------------------------------------------------------------------

    def create_meeting(
        self,
        organizer: str,
        subject: str,
        start: datetime,
        end: datetime,
        *,
        required: Iterable[AttendeeSpec] = (),
        optional: Iterable[AttendeeSpec] = (),
        resources: Iterable[AttendeeSpec] = (),
        body: str = "",
        body_type: BodyType = BodyType.TEXT,
        location: str = "",
        all_day: bool = False,
        time_zone: str | None = None,
        recurrence: Recurrence | None = None,
        send_invitations: bool = True,
        as_delegate: str | None = None,
        uid: str | None = None,
        extended_properties: dict[Any, Any] | None = None,
    ) -> CalendarItem:
        """Schedule a meeting: the organizer's item plus a copy (same UID) in each attendee mailbox in this world.

        Attendee copies have MyResponseType NoResponseReceived; the organizer's attendees start Unknown. With
        ``send_invitations=False`` only the organizer's item exists. With ``as_delegate`` a delegate of
        ``organizer`` acts: AccessDenied without delegate rights; the item is in ``organizer``'s calendar and
        ``organizer`` is the organizer. Returns the organizer's item.
        """
        raise NotImplementedError

    def respond(
        self,
        attendee: str,
        uid_or_item_id: str,
        response: ResponseType | str,
        *,
        occurrence: datetime | int | None = None,
    ) -> CalendarItem | None:
        """Accept, Tentative or Decline (the whole series, or one occurrence by original start or index).

        The attendee's MyResponseType changes and the organizer's copy records the attendee's ResponseType and
        LastResponseTime. As in Exchange's default, a declined meeting is removed from the attendee's calendar
        (a declined occurrence becomes a deleted occurrence there). Returns the attendee's item (None if gone).
        """
        raise NotImplementedError

    def update_meeting(self, organizer: str, uid: str, **changes: Any) -> CalendarItem:
        """The organizer edits the meeting and sends the update to all attendees.

        ``changes``: subject, body, body_type, location, start, end, all_day, time_zone, recurrence, required,
        optional, resources (full new attendee lists). A time change resets responses (attendees must respond
        again, declined attendees get the meeting back); removed attendees get a cancellation, added ones an
        invitation. AppointmentSequenceNumber increases on time, location or attendee changes.
        """
        raise NotImplementedError

    def update_occurrence(self, organizer: str, uid: str, occurrence: datetime | int, **changes: Any) -> CalendarItem:
        """Modify one occurrence (by original start or 1-based index): an exception in every copy.

        ``changes``: subject, body, location, start, end. Returns the organizer's exception.
        """
        raise NotImplementedError

    def delete_occurrence(self, organizer: str, uid: str, occurrence: datetime | int) -> None:
        """Cancel one occurrence: it becomes a DeletedOccurrence in every copy."""
        raise NotImplementedError

    def cancel_meeting(self, organizer: str, uid: str) -> None:
        """Cancel the meeting: the organizer's item is deleted; attendee copies stay, IsCancelled, their subject
        prefixed with "Canceled: " (until the attendee removes them with :meth:`delete_item`)."""
        raise NotImplementedError

    # -- change tracking ------------------------------------------------------------------------------------

    def sync_folder_items(self, folder_id: str, sync_state: str | None, max_changes: int = 512) -> SyncResult:
        """SyncFolderItems on a calendar folder: net changes (one per item) since ``sync_state``.

        Unpackable as ``changes, new_state, includes_last_item_in_range``. Raises InvalidSyncStateData for a
        garbled state, one from another folder, or one invalidated by a fault.
        """
        raise NotImplementedError

    def subscribe(
        self,
        smtp: str,
        kind: SubscriptionKind | str = SubscriptionKind.PULL,
        event_types: Iterable[EventType | str] = (),
        *,
        folder_ids: Iterable[str] | None = None,
        all_folders: bool = False,
        watermark: str | None = None,
        timeout_minutes: int = 30,
        owner_login: str | None = None,
    ) -> tuple[str, str]:
        """Create a subscription on folders of one mailbox (default: its calendar). Returns (id, watermark).

        With ``watermark`` (from an earlier subscription) events after it are delivered; InvalidWatermark if
        it is not ours. Empty ``event_types`` means every type.
        """
        raise NotImplementedError

    def get_events(self, subscription_id: str, watermark: str | None = None) -> EventBatch:
        """GetEvents on a pull subscription; resets its expiry timer.

        SubscriptionNotFound for unknown ids, ExpiredSubscription once ``timeout_minutes`` passed without a
        call (or after the expire fault).
        """
        raise NotImplementedError

    def wait_for_events(self, subscription_ids: Sequence[str], timeout: float) -> dict[str, list[Event]]:
        """Block (real time, up to ``timeout`` seconds) until streaming subscriptions have new events; return and
        mark them delivered. Returns {} on timeout. Raises StreamingConnectionDropped when the drop fault fires,
        SubscriptionNotFound/ExpiredSubscription for bad ids."""
        raise NotImplementedError

    def unsubscribe(self, subscription_id: str) -> None:
        raise NotImplementedError

    def subscription(self, subscription_id: str) -> Subscription:
        raise NotImplementedError

    # -- faults held by the world (request-level ones are on ``self.gate``) -------------------------------

    def set_mailbox_unavailable(self, smtp: str, unavailable: bool = True, *, move_in_progress: bool = False) -> None:
        """Make a mailbox answer ErrorMailboxStoreUnavailable (or ErrorMailboxMoveInProgress) until cleared."""
        raise NotImplementedError

    def invalidate_sync_states(self, smtp: str) -> None:
        """Every sync state issued so far for the mailbox's folders becomes ErrorInvalidSyncStateData."""
        raise NotImplementedError

    def expire_subscriptions(self, smtp: str | None = None) -> int:
        """Expire subscriptions (of one mailbox, or all); returns how many."""
        raise NotImplementedError

    def drop_streaming_connections(self) -> None:
        """Wake every :meth:`wait_for_events` caller with StreamingConnectionDropped."""
        raise NotImplementedError

    def clear_faults(self) -> None:
        """Switch off every fault (gate ones too)."""
        raise NotImplementedError
