"""The Exchange Web Services provider: exchangelib behind the :class:`~tc_calendar.providers.base.CalendarProvider`
protocol.

What it does on the wire, and why:

* Every mailbox is read by impersonation (``ExchangeImpersonation`` header) with one of the provider's service
  accounts, picked by a stable hash of the address, so load spreads evenly and a mailbox always uses the same one.
* exchangelib is blocking; each call runs in the service account's :class:`~tc_calendar.providers.pool.BlockingPool`.
  Each of its HTTP requests waits for one of the account's ``maxConcurrency`` slots and holds it until its answer
  arrives; the pool has half as many threads again, which write requests and parse answers meanwhile. Streaming
  connections get their own threads and sessions, so a long-lived stream never eats the budget.
* A window read is one FindItem with a CalendarView (ids, types and times of singles, occurrences and
  exceptions, expanded by the server) from the window's start to the singles' limit (two years on, the most a
  CalendarView spans), followed by GetItem in chunks for the details (attendees, body, organizer) of the singles
  and of the series with occurrences within ``cache.forward``: never one request per item.
* Incremental changes come from SyncFolderItems with the IdOnly shape, one page per call, then GetItem in
  chunks. SyncFolderItems on a calendar folder reports singles and recurring masters only (exceptions live
  inside their master), so for a master we also fetch its modified occurrences and hand them over as
  ``exceptions``.
* exchangelib sends every request and reads every answer's envelope (impersonation, authentication, server
  version, SOAP faults, throttling, per-item errors), but the items of GetItem, FindItem and SyncFolderItems
  answers are read from their XML by :mod:`~tc_calendar.providers.ews_mapping`, not turned into exchangelib
  objects: that was most of the CPU of an initial sync.
* Notifications: one streaming subscription per mailbox (Exchange subscriptions are per mailbox), but one
  GetStreamingEvents connection per service account carries up to 200 of them, so 10,000 mailboxes need a
  handful of connections, not 10,000.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from exchangelib.items import ID_ONLY
from exchangelib.properties import RecurringMasterItemId, StatusEvent
from exchangelib.services import FindItem, GetItem, GetStreamingEvents, SubscribeToStreaming, SyncFolderItems
from exchangelib.services.common import item_ids_element
from exchangelib.services.sync_folder_hierarchy import SyncFolder
from exchangelib.util import MNS, create_element

from tc_calendar.addresses import MailboxAddress, pick_credential
from tc_calendar.backoff import STREAM_RETRY
from tc_calendar.metrics import Metrics
from tc_calendar.providers import ews_mapping, ews_payloads
from tc_calendar.providers._ews_errors import map_error
from tc_calendar.providers._ews_session import Budget, EndpointSettings, ServiceAccount
from tc_calendar.providers.base import (
    AuthError,
    InvalidSyncStateError,
    MailboxError,
    MailboxNotification,
    NotificationKind,
    ProviderError,
    SubscriptionExpiredError,
    ThrottledError,
    TransientError,
)
from tc_calendar.providers.pool import BlockingPool, setup_calls
from tc_calendar.records import ItemKind, RemoteItem, SyncBatch, WindowSnapshot
from tc_calendar.sync.window import SyncWindow, WindowRead

log = logging.getLogger(__name__)

T = TypeVar("T")

_IN_SERIES = ("Occurrence", "Exception")

MAX_SUBSCRIPTIONS_PER_CONNECTION = 200
"""Exchange accepts up to 200 subscription ids in one GetStreamingEvents request."""

CALENDAR_VIEW_PAGE = 1000
"""Items asked of one CalendarView: Exchange's default EWSFindCountLimit, above which it cuts the answer."""


class _SyncFolderItems(SyncFolderItems):  # type: ignore[misc]  # exchangelib has no type hints
    """SyncFolderItems whose error answers raise their error, and whose changes are read from the XML.

    exchangelib reads the SyncState of an answer before its ResponseClass, so an error answer (the mailbox is
    unavailable, moving, unknown) fails with an AttributeError instead of its Exchange error. Each change is only
    an id and a change key (IdOnly): :func:`ews_mapping.sync_change` reads them without building an item object.
    """

    def _elem_to_obj(self, elem: Any) -> Any:
        return ews_mapping.sync_change(elem)

    def get_payload(self, sync_state: Any, max_changes_returned: int, **_: Any) -> Any:
        # Always the impersonated mailbox's calendar, ids only, nothing ignored: the only SyncFolderItems we send.
        return ews_payloads.sync_folder_items(self.account.primary_smtp_address, sync_state, max_changes_returned)

    def _get_element_container(self, message: Any, name: Any = None) -> Any:
        if message.find(f"{{{MNS}}}SyncState") is None:
            return super(SyncFolder, self)._get_element_container(message=message, name=name)
        return super()._get_element_container(message=message, name=name)


class _GetItemXml(GetItem):  # type: ignore[misc]  # exchangelib has no type hints
    """GetItem for the calendar properties ``ews_mapping`` reads, handing over the answer's ``t:CalendarItem``
    elements as they are.

    exchangelib still sends the request and reads the answer's envelope and response messages (impersonation,
    authentication, throttling, per-item errors such as ErrorItemNotFound), but does not build an object per item:
    ``ews_mapping`` reads the elements straight into records, for a fraction of the CPU.
    """

    _SHAPE = ews_payloads.item_shape(ews_mapping.FETCH_FIELD_URIS)

    def _elem_to_obj(self, elem: Any) -> Any:
        return elem

    def get_payload(self, items: Any, additional_fields: Any, shape: Any) -> Any:
        if all(isinstance(item, tuple) for item in items):
            return ews_payloads.get_item(self._SHAPE, items)
        # RecurringMasterItemId references: exchangelib writes them.
        payload = create_element(f"m:{self.SERVICE_NAME}")
        payload.append(copy.deepcopy(self._SHAPE))
        payload.append(item_ids_element(items=items, version=self.account.version))
        return payload


class _GetItemIdsXml(_GetItemXml):
    """GetItem for ids and change keys only (see :class:`_GetItemXml`)."""

    _SHAPE = ews_payloads.item_shape(())


class _CalendarView(NamedTuple):
    """What a CalendarView asks for: [start, end), at most ``max_items`` entries."""

    start: datetime
    end: datetime
    max_items: int


class _FindItemXml(FindItem):  # type: ignore[misc]  # exchangelib has no type hints
    """FindItem with a CalendarView asking for ``ews_mapping.VIEW_FIELD_URIS``, whose answer's ``t:CalendarItem``
    elements are handed over as they are (see :class:`_GetItemXml`)."""

    _SHAPE = ews_payloads.item_shape(ews_mapping.VIEW_FIELD_URIS)

    def _elem_to_obj(self, elem: Any) -> Any:
        return elem

    def get_payload(self, folders: Any, calendar_view: _CalendarView, **_: Any) -> Any:
        return ews_payloads.find_in_calendar_view(
            self._SHAPE,
            self.account.primary_smtp_address,
            calendar_view.start,
            calendar_view.end,
            calendar_view.max_items,
        )


class _SubscribeXml(SubscribeToStreaming):  # type: ignore[misc]  # exchangelib has no type hints
    """A streaming subscription to the impersonated mailbox's calendar, named by its distinguished id."""

    def get_payload(self, folders: Any, event_types: Any) -> Any:
        return ews_payloads.subscribe_streaming(self.account.primary_smtp_address, event_types)


class EwsProvider:
    """Reads calendars of many mailboxes on one EWS endpoint with one or more impersonation service accounts."""

    window_bound_checkpoint = False
    notifies_subscriptions = True
    """SyncFolderItems' SyncState follows the whole calendar folder: a window slide reads only the new slice."""

    def __init__(
        self,
        endpoint: EndpointSettings,
        credentials: Sequence[tuple[str, str]],
        *,
        metrics: Metrics | None = None,
        fetch_chunk_size: int = 50,
        sync_page_size: int = 256,
        streaming_minutes: int = 30,
        stream_retry_seconds: float = 1.0,
        calendar_view_page: int = CALENDAR_VIEW_PAGE,
        budgets: Sequence[Budget] | None = None,
    ) -> None:
        """``budgets``: each service account's slots for requests on the wire, when worker processes share them
        (``providers/workers.py``); None: this provider's own."""
        if not credentials:
            raise ValueError("an EWS provider needs at least one service account")
        if budgets is not None and len(budgets) != len(credentials):
            raise ValueError("an EWS provider needs one budget per service account")
        self.endpoint = endpoint
        self._accounts = [
            ServiceAccount(endpoint, login, password, budgets[index] if budgets is not None else None)
            for index, (login, password) in enumerate(credentials)
        ]
        self._pools = [
            BlockingPool(f"ews-{index}-{account.login}", endpoint.threads)
            for index, account in enumerate(self._accounts)
        ]
        self._metrics = metrics
        self._fetch_chunk_size = fetch_chunk_size
        self._sync_page_size = sync_page_size
        self._streaming_minutes = streaming_minutes
        self._stream_retry_seconds = stream_retry_seconds
        self._calendar_view_page = calendar_view_page
        self._closed = False
        self._streams = [0 for _ in self._accounts]

    @classmethod
    def from_settings(cls, settings: Any, *, metrics: Metrics | None = None, **options: Any) -> EwsProvider:
        """Build from one ``calendarProviders`` entry (:class:`tc_calendar.config.models.CalendarProvider`)."""
        endpoint, credentials = endpoint_of(settings)
        return cls(endpoint, credentials, metrics=metrics, **options)

    # ------------------------------------------------------------------------------------------ plumbing

    def credential_index(self, mailbox: str) -> int:
        """Which service account serves ``mailbox`` (stable across restarts)."""
        return pick_credential(mailbox, len(self._accounts))

    def throttle_key(self, mailbox: str) -> str:
        """Exchange throttles per service account: the mailboxes it impersonates wait together."""
        return self.service_login(mailbox)

    def credential_key(self, mailbox: str) -> str:
        return self.service_login(mailbox)

    def service_login(self, mailbox: str) -> str:
        return self._accounts[self.credential_index(mailbox)].login

    def partition(self, mailboxes: Iterable[str]) -> list[list[str]]:
        """Groups of mailboxes that can share one notification connection (same service account, <= 200)."""
        by_account: dict[int, list[str]] = {}
        for mailbox in mailboxes:
            by_account.setdefault(self.credential_index(mailbox), []).append(MailboxAddress(mailbox))
        groups: list[list[str]] = []
        for index in sorted(by_account):
            members = by_account[index]
            for start in range(0, len(members), MAX_SUBSCRIPTIONS_PER_CONNECTION):
                groups.append(members[start : start + MAX_SUBSCRIPTIONS_PER_CONNECTION])
        return groups

    def _count(self, operation: str, result: str) -> None:
        if self._metrics is not None:
            self._metrics.ews_requests.labels(operation=operation, result=result).inc()

    async def _call(self, mailbox: str, operation: str, fn: Callable[[ServiceAccount], T]) -> T:
        """Run ``fn(service_account)`` in that account's pool; count it; map exchangelib errors."""
        if self._closed:
            raise ProviderError("the EWS provider is closed", mailbox=mailbox)
        index = self.credential_index(mailbox)
        account = self._accounts[index]
        try:
            result = await self._pools[index].run(fn, account)
        except Exception as exc:
            error = map_error(exc, mailbox=mailbox, login=account.login, endpoint=self.endpoint.url)
            self._count(operation, _result_label(error))
            if isinstance(error, MailboxError | AuthError):
                account.forget(mailbox)
            raise error from exc
        self._count(operation, "ok")
        return result

    # ------------------------------------------------------------------------------------------ reads

    async def initial_items(self, mailbox: str, read: WindowRead) -> AsyncIterator[RemoteItem]:
        """Singles and series of a window (or of what slid in): CalendarViews for what is in it, then GetItem in
        chunks.

        One CalendarView per range of ``read.views()`` (one for a window sync; ids, item types and times only:
        FindItem cannot return UIDs, exchangelib treats them as a GetItem field) lists every single, occurrence and
        exception there. The singles ``read`` wants are fetched as they are. For a series with an occurrence or
        exception ``read`` wants, we fetch its *master* with its modified occurrences, exactly as an incremental
        sync does when SyncFolderItems reports the master: first the master ids of the occurrences (GetItem with
        ``RecurringMasterItemId``, ids only), then each master once. Both paths therefore give the sync core the
        same records, expand series the same way and file every occurrence under the master's item id, so a later
        deletion of the master reaches them and a window resync of an unchanged series writes nothing. Occurrences
        the view lists beyond ``read.series`` (a window sync's view runs to the singles' limit) are not resolved.
        """
        mailbox = MailboxAddress(mailbox)
        found: dict[str, ews_mapping.ViewRow] = {}
        for view in read.views():
            for row in await self._calendar_view(mailbox, view):
                found.setdefault(row.item_id, row)
        singles: list[tuple[str, str]] = []
        in_series: list[RecurringMasterItemId] = []
        for item_id, (_, key, kind, start, end) in found.items():
            recurring = kind in _IN_SERIES
            if not read.wants(start, end, recurring=recurring):
                continue
            if recurring:
                in_series.append(RecurringMasterItemId(id=item_id, changekey=key))
            else:
                singles.append((item_id, key))
        for chunk in _chunks(singles, self._fetch_chunk_size):
            for item in await self._fetch(mailbox, chunk):
                if item.kind is not ItemKind.MASTER:
                    yield item
        master_ids: dict[str, tuple[str, str | None]] = {}
        for chunk in _chunks(in_series, self._fetch_chunk_size):
            for item_id, changekey in await self._fetch_ids(mailbox, chunk):
                master_ids.setdefault(item_id, (item_id, changekey))
        masters: list[RemoteItem] = []
        for id_chunk in _chunks(list(master_ids.values()), self._fetch_chunk_size):
            masters.extend(await self._fetch(mailbox, id_chunk))
        for item in await self._with_exceptions(mailbox, masters):
            yield item

    async def _calendar_view(self, mailbox: str, view: SyncWindow) -> list[ews_mapping.ViewRow]:
        """Every item a CalendarView over ``view`` lists: (id, changekey, item type, start, end).

        Exchange returns at most ``calendar_view_page`` items per CalendarView, earliest first, and a CalendarView
        cannot be paged (exchangelib would ask for the same page again forever): when a view is full, the next one
        starts at the last start listed, and items listed twice are kept once.
        """
        page_size = self._calendar_view_page
        listed: list[ews_mapping.ViewRow] = []
        seen: set[str] = set()
        start = view.start
        while True:
            page = await self._view_page(mailbox, SyncWindow(start, view.end), page_size)
            fresh = [row for row in page if row[0] not in seen]
            seen.update(row[0] for row in fresh)
            listed.extend(fresh)
            if len(page) < page_size:
                return listed
            if not fresh:
                raise ProviderError(
                    f"more than {page_size} calendar items of {mailbox} overlap {start.isoformat()}: the calendar "
                    "view cannot list them all",
                    mailbox=mailbox,
                )
            start = max(start, max(row[3] for row in page))

    async def _view_page(self, mailbox: str, view: SyncWindow, page_size: int) -> list[ews_mapping.ViewRow]:
        calendar_view = _CalendarView(view.start, view.end, page_size)

        def find(account: ServiceAccount) -> list[ews_mapping.ViewRow]:
            found = _FindItemXml(account=account.account(mailbox)).call(
                folders=[account.calendar(mailbox)],
                additional_fields=None,
                restriction=None,
                order_fields=None,
                shape=ID_ONLY,
                query_string=None,
                depth="Shallow",
                calendar_view=calendar_view,
                max_items=page_size,
                offset=0,
            )
            rows = []
            for elem in found:
                if isinstance(elem, Exception):
                    raise elem
                rows.append(ews_mapping.view_row(elem))
            return rows

        return await self._call(mailbox, "FindItem", find)

    async def _fetch_ids(self, mailbox: str, ids: Sequence[Any]) -> list[tuple[str, str | None]]:
        """GetItem returning only ids: resolves ``RecurringMasterItemId`` references to their masters."""

        def get(account: ServiceAccount) -> list[tuple[str, str | None]]:
            found = _GetItemIdsXml(account=account.account(mailbox), chunk_size=len(ids)).call(
                items=list(ids), additional_fields=None, shape=ID_ONLY
            )
            refs = (ews_mapping.item_ref(elem) for elem in found if not isinstance(elem, Exception))
            return [ref for ref in refs if ref is not None]

        return await self._call(mailbox, "GetItem", get)

    async def _fetch(self, mailbox: str, ids: Sequence[Any]) -> list[RemoteItem]:
        """GetItem for one chunk; items that vanished meanwhile (ErrorItemNotFound per item) are left out."""

        def get(account: ServiceAccount) -> list[RemoteItem]:
            found = _GetItemXml(account=account.account(mailbox), chunk_size=len(ids)).call(
                items=list(ids), additional_fields=None, shape=ID_ONLY
            )
            mapped: list[RemoteItem] = []
            for elem in found:
                if isinstance(elem, Exception):
                    continue
                try:
                    mapped.append(ews_mapping.to_remote_item(mailbox, elem))
                except ews_mapping.ItemMappingError as exc:
                    log.warning("%s", exc)
            return mapped

        return await self._call(mailbox, "GetItem", get)

    async def get_items(self, mailbox: str, item_ids: Sequence[str]) -> list[RemoteItem]:
        mailbox = MailboxAddress(mailbox)
        found: list[RemoteItem] = []
        for chunk in _chunks([(item_id, None) for item_id in item_ids], self._fetch_chunk_size):
            found.extend(await self._fetch(mailbox, chunk))
        return found

    async def _with_exceptions(self, mailbox: str, items: list[RemoteItem]) -> list[RemoteItem]:
        """Attach the full modified occurrences to each master, fetched in chunks for all masters at once."""
        wanted = [
            modified.item_id
            for item in items
            if item.kind is ItemKind.MASTER
            for modified in item.modified_occurrences
            if modified.item_id
        ]
        if not wanted:
            return items
        exceptions: dict[str, list[RemoteItem]] = {}
        for exception in await self.get_items(mailbox, wanted):
            exceptions.setdefault(exception.uid, []).append(exception)
        return [
            ews_mapping.with_exceptions(item, exceptions.get(item.uid, ())) if item.kind is ItemKind.MASTER else item
            for item in items
        ]

    async def sync_changes(self, mailbox: str, sync_state: str | None) -> SyncBatch:
        """One page of SyncFolderItems (IdOnly), then the changed items in full."""
        mailbox = MailboxAddress(mailbox)
        changed, deleted, state, last = await self._sync_page(mailbox, sync_state)
        items: list[RemoteItem] = []
        for chunk in _chunks(changed, self._fetch_chunk_size):
            items.extend(await self._fetch(mailbox, chunk))
        items = await self._with_exceptions(mailbox, items)
        return SyncBatch(mailbox, tuple(items), tuple(deleted), state, last)

    async def read_window(self, mailbox: str, window: SyncWindow, sync_state: str | None) -> WindowSnapshot:
        """SyncFolderItems' latest SyncState *first* (from ``sync_state`` when Exchange still accepts it), then
        the window's items: a change in between is replayed by the next incremental sync, never missed."""
        try:
            latest = await self.latest_sync_state(mailbox, sync_state)
        except InvalidSyncStateError:
            if sync_state is None:
                raise
            latest = await self.latest_sync_state(mailbox, None)
        items = [item async for item in self.initial_items(mailbox, WindowRead.of(window))]
        return WindowSnapshot(tuple(items), latest)

    async def latest_sync_state(self, mailbox: str, sync_state: str | None = None) -> str:
        """Page SyncFolderItems to the end with ids only and return the final SyncState.

        The initial sync reads the window with a CalendarView; it only needs SyncFolderItems' *state* to continue
        from, not the (possibly years of) items it would list, so nothing is fetched here. Take the state
        *before* the window read: a change in between is then replayed, never missed.
        """
        mailbox = MailboxAddress(mailbox)
        while True:
            _, _, sync_state, last = await self._sync_page(mailbox, sync_state)
            if last:
                return sync_state

    async def _sync_page(
        self, mailbox: str, sync_state: str | None
    ) -> tuple[list[tuple[str, str | None]], list[str], str, bool]:
        page_size = self._sync_page_size

        def sync(account: ServiceAccount) -> tuple[list[tuple[str, str | None]], list[str], str, bool]:
            calendar = account.calendar(mailbox)
            service = _SyncFolderItems(account=account.account(mailbox))
            changed: dict[str, tuple[str, str | None]] = {}
            deleted: list[str] = []
            for change in service.call(
                folder=calendar,
                shape=ID_ONLY,
                additional_fields=None,
                sync_state=sync_state,
                ignore=None,
                max_changes_returned=page_size,
                sync_scope=None,
            ):
                if isinstance(change, Exception):
                    raise change
                if change is None:
                    continue
                if change.kind in ("Create", "Update"):
                    changed[change.item_id] = (change.item_id, change.changekey)
                elif change.kind == "Delete":
                    changed.pop(change.item_id, None)
                    deleted.append(change.item_id)
            return list(changed.values()), deleted, service.sync_state, bool(service.includes_last_item_in_range)

        return await self._call(mailbox, "SyncFolderItems", sync)

    # ------------------------------------------------------------------------------------------ notifications

    async def watch(self, mailboxes: Sequence[str]) -> AsyncIterator[MailboxNotification]:
        """Streaming notifications for ``mailboxes``, one connection per service account and 200 mailboxes.

        Yields ``CHANGED`` when Exchange reports an event for a mailbox, and ``RESYNC`` for every mailbox of a
        connection whose subscription was (re)created or whose stream broke, since events may have been missed
        in between; the consumer then runs an incremental sync (SyncFolderItems catches up from its state). A
        new subscription's ``RESYNC`` carries the time it was in place by (``since``): a sync that began after
        it needs no other, so the first sync of a mailbox subscribed before it is not followed by a second. Each
        mailbox's Subscribe is told as soon as it ends (``notifies_subscriptions``): its ``RESYNC``, or ``UNWATCHED``
        when it failed. Mailboxes that cannot be subscribed (denied, not found) are left out and retried on each
        reconnect.
        Raises :class:`AuthError` when a service account is rejected and :class:`ProviderError` when streaming
        keeps failing, so the consumer can fall back to polling.
        """
        queue: asyncio.Queue[MailboxNotification | BaseException] = asyncio.Queue()
        groups = self.partition(mailboxes)
        accounts = [self.credential_index(group[0]) for group in groups]
        for index in set(accounts):
            wanted = self._streams[index] + accounts.count(index)
            if wanted > self.endpoint.max_streams:
                # Exchange refuses more hanging connections per account; these mailboxes are polled instead.
                raise ProviderError(
                    f"service account {self._accounts[index].login!r} would need {wanted} streaming connections, "
                    f"more than {self.endpoint.max_streams}; {len(mailboxes)} mailboxes are polled instead (add "
                    "service accounts to calendarProviders[].credentials to stream them)"
                )
        for index in accounts:
            self._streams[index] += 1
        tasks = [
            asyncio.create_task(self._stream_group(group, queue), name=f"ews-stream-{group[0]}") for group in groups
        ]
        try:
            while True:
                got = await queue.get()
                if isinstance(got, BaseException):
                    raise got
                yield got
        finally:
            for index in accounts:
                self._streams[index] -= 1
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _subscribe(self, mailbox: str) -> tuple[str, float]:
        """A streaming subscription for ``mailbox``: its id, and the ``time.monotonic()`` it was in place by."""

        def subscribe(account: ServiceAccount) -> tuple[str, float]:
            # Not calendar.subscribe_to_streaming(): exchangelib wants the folder's id there, which costs a GetFolder;
            # Exchange takes the distinguished id with the mailbox as well.
            subscription = _SubscribeXml(account=account.account(mailbox)).get(
                folders=[account.calendar(mailbox)], event_types=ews_payloads.STREAMING_EVENT_TYPES
            )
            return str(subscription), time.monotonic()

        # Taking turns with the reads: at a start with thousands of mailboxes, the first syncs must not wait for
        # every Subscribe, or no calendar appears until all mailboxes are subscribed.
        with setup_calls():
            return await self._call(mailbox, "Subscribe", subscribe)

    async def _subscribe_telling(
        self, mailbox: str, queue: asyncio.Queue[MailboxNotification | BaseException]
    ) -> tuple[str, float]:
        """:meth:`_subscribe`, told to the consumer at once rather than with the group's other Subscribes: a first
        sync waiting for this mailbox's subscription reads as soon as it is made or refused."""
        try:
            subscription, since = await self._subscribe(mailbox)
        except Exception:
            queue.put_nowait(MailboxNotification(mailbox, NotificationKind.UNWATCHED))
            raise
        # Changes before the subscription were not notified: a sync that began reading after it has them.
        queue.put_nowait(MailboxNotification(mailbox, NotificationKind.RESYNC, since=since))
        return subscription, since

    async def _stream_group(
        self, mailboxes: list[str], queue: asyncio.Queue[MailboxNotification | BaseException]
    ) -> None:
        subscriptions: dict[str, str] = {}
        failures = 0
        while not self._closed:
            missing = [m for m in mailboxes if m not in subscriptions.values()]
            # Subscribe concurrently; the service account's pool bounds how many requests are in flight.
            subscribing = (self._subscribe_telling(m, queue) for m in missing)
            results = await asyncio.gather(*subscribing, return_exceptions=True)
            failed: dict[str, ProviderError] = {}
            for mailbox, result in zip(missing, results, strict=True):
                if isinstance(result, tuple):
                    subscription, _ = result
                    subscriptions[subscription] = mailbox
                elif isinstance(result, MailboxError):
                    log.warning("cannot watch %s: %s", mailbox, result)
                elif isinstance(result, AuthError):
                    queue.put_nowait(result)
                    return
                elif isinstance(result, ProviderError):
                    failed[mailbox] = result
                elif isinstance(result, BaseException):
                    raise result
            if failed and not subscriptions:
                # Subscribe itself fails (ErrorInternalServerError, HTTP 500, a malformed answer, throttling): the
                # consumer shows the mailboxes as not streaming, polls them meanwhile and retries with back-off.
                queue.put_nowait(_subscribe_failed(next(iter(failed.values()))))
                return
            if failed:
                # Some are subscribed: stream those; the short connection below retries the others within a minute.
                log.warning(
                    "cannot subscribe %s to notifications yet (%s); retrying with the next connection",
                    ", ".join(failed), next(iter(failed.values())),
                )
            if not subscriptions:
                await asyncio.sleep(self._stream_retry_seconds * 30)
                continue
            try:
                # While some mailboxes could not be subscribed, keep connections short so they are retried soon.
                unwatched = len(subscriptions) < len(mailboxes)
                # The connection impersonates one of the subscribed mailboxes (Exchange's anchor mailbox): never
                # one that could not be subscribed, or a broken mailbox would silence the whole group.
                anchor = next(iter(subscriptions.values()))
                await self._stream(anchor, subscriptions, queue, 1 if unwatched else self._streaming_minutes)
                failures = 0
            except SubscriptionExpiredError as exc:
                log.info("streaming subscriptions expired (%s); re-subscribing %d mailboxes", exc, len(subscriptions))
                subscriptions.clear()
            except AuthError as exc:
                queue.put_nowait(exc)
                return
            except ProviderError as exc:
                failures += 1
                log.warning("streaming connection failed (%s); reconnecting", exc)
                for mailbox in subscriptions.values():
                    queue.put_nowait(MailboxNotification(mailbox, NotificationKind.RESYNC))
                if failures >= 8:
                    queue.put_nowait(ProviderError(f"streaming keeps failing: {exc}"))
                    return
                await asyncio.sleep(_retry_delay(exc, failures))

    async def _stream(
        self,
        anchor: str,
        subscriptions: dict[str, str],
        queue: asyncio.Queue[MailboxNotification | BaseException],
        minutes: int,
    ) -> None:
        """One GetStreamingEvents connection in its own thread, until Exchange closes it (after ``minutes``) or we
        are cancelled."""
        loop = asyncio.get_running_loop()
        account = self._accounts[self.credential_index(anchor)]
        done: asyncio.Future[None] = loop.create_future()
        service_box: list[Any] = []
        stop = threading.Event()

        def deliver(item: MailboxNotification) -> None:
            queue.put_nowait(item)

        def finish(error: BaseException | None) -> None:
            if done.done():
                return
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)

        def run() -> None:
            error: BaseException | None = None
            try:
                service = GetStreamingEvents(account=account.account(anchor))
                service_box.append(service)
                for notification in service.call(
                    subscription_ids=list(subscriptions), connection_timeout=minutes
                ):
                    if stop.is_set():
                        break
                    if isinstance(notification, Exception):
                        raise notification
                    mailbox = subscriptions.get(notification.subscription_id)
                    real = [e for e in notification.events or () if not isinstance(e, StatusEvent)]
                    if mailbox is not None and real:
                        ids = tuple(str(e.item_id.id) for e in real if getattr(e, "item_id", None) is not None)
                        loop.call_soon_threadsafe(deliver, MailboxNotification(mailbox, NotificationKind.CHANGED, ids))
            except Exception as exc:
                if not stop.is_set():
                    error = map_error(exc, mailbox=None, login=account.login, endpoint=self.endpoint.url)
            if not stop.is_set():
                with contextlib.suppress(RuntimeError):  # the loop may be gone when we are stopped at shutdown
                    loop.call_soon_threadsafe(finish, error)

        thread = threading.Thread(target=run, name=f"tc-ews-stream-{account.login}", daemon=True)
        self._count("GetStreamingEvents", "started")
        thread.start()
        try:
            await done
        finally:
            stop.set()
            if service_box:
                # Closing a response another thread is reading can block until the server sends again; close it
                # from a throwaway thread so that shutdown and re-subscription never wait for Exchange.
                threading.Thread(target=_stop_streaming, args=(service_box[0],), daemon=True).start()

    async def aclose(self) -> None:
        self._closed = True
        for pool in self._pools:
            pool.close()
        for account in self._accounts:
            account.close()


def endpoint_of(settings: Any) -> tuple[EndpointSettings, list[tuple[str, str]]]:
    """The endpoint and the service accounts (login, password) of one ``calendarProviders`` entry."""
    endpoint = EndpointSettings(
        url=settings.url,
        auth=settings.auth,
        verify_tls=settings.verify_tls,
        ca_bundle=settings.ca_bundle,
        timeout_seconds=settings.timeout_seconds,
        max_concurrency=settings.max_concurrency,
        server_version=_exchange_version(settings),
    )
    credentials = [(c.login, c.password.get_secret_value()) for c in settings.credentials]
    return endpoint, credentials


def _exchange_version(settings: Any) -> str | None:
    """``exchangeVersion`` of a provider entry (skips exchangelib's version probe), if the file sets it."""
    value = getattr(settings, "exchange_version", None)
    if value is None:
        value = (getattr(settings, "model_extra", None) or {}).get("exchangeVersion")
    return str(value) if value else None


def _stop_streaming(service: Any) -> None:
    try:
        service.stop_streaming()
    except Exception:  # the reader thread may have closed it already
        log.debug("stopping a finished stream", exc_info=True)


def _result_label(error: ProviderError) -> str:
    if isinstance(error, ThrottledError):
        return "throttled"
    if isinstance(error, TransientError):
        return "transient"
    if isinstance(error, AuthError):
        return "auth"
    if isinstance(error, MailboxError):
        return "mailbox"
    return type(error).__name__.removesuffix("Error").lower() or "error"


def _subscribe_failed(cause: ProviderError) -> ProviderError:
    """The error that ends a group's notifications when Subscribe failed for all of its mailboxes."""
    message = f"Subscribe failed: {cause}"
    if isinstance(cause, ThrottledError):
        return ThrottledError(message, backoff_seconds=cause.backoff_seconds)
    return TransientError(message)


def _retry_delay(error: ProviderError, failures: int) -> float:
    """How long the streaming connection waits before trying again: as long as Exchange asked when it throttles,
    else the stream back-off the engine uses too."""
    return STREAM_RETRY.delay(failures, asked=error.backoff_seconds if isinstance(error, ThrottledError) else None)


def _chunks(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
