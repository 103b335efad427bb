"""The Microsoft Graph provider: Exchange Online calendars behind the
:class:`~tc_calendar.providers.base.CalendarProvider` protocol (msal tokens, httpx requests).

What it does on the wire, and why:

* **Window sync = one calendarView/delta round.** ``GET /users/{mailbox}/calendarView/delta`` over the cache
  window, with ``Prefer: outlook.timezone="UTC"`` and ``odata.maxpagesize``, following ``@odata.nextLink`` to
  ``@odata.deltaLink``. The round's events are the window's content and its delta link is the mailbox's
  checkpoint, committed with them in one transaction. A delta link follows only its own window, so the provider
  is ``window_bound_checkpoint``: when the window slides, the engine starts a new round.
* **Incremental sync = the delta link, page by page.** Each page (changed events, ``@removed`` ids) is committed
  with the next link it leads to; the page with the new delta link completes the round. A delta link Graph no
  longer accepts (410 ``syncStateNotFound``/``resyncRequired``) raises
  :class:`~tc_calendar.providers.base.InvalidSyncStateError` and the engine runs a new round over the window,
  which its diff against the store turns into exactly the missing changes: nothing lost, nothing doubled.
* **Series.** calendarView reports instances (occurrences and exceptions), not masters; each is an item of its
  own. The series' pattern, which instances lack, is read from the master (one request per series and round,
  batched) so that users see "Weekly on Monday" as through EWS.
* **Changes.** With a public ``notificationUrl``, one subscription per mailbox on ``/users/{id}/events``, renewed
  before it expires; a trusted notification (:mod:`tc_calendar.providers.graph_notifications`) wakes the
  mailbox's sync loop for a delta round, and lifecycle notifications renew or re-create the subscription. Without
  one, :meth:`GraphProvider.watch` wakes every mailbox each ``poll_interval``. Either way every mailbox gets a
  reconciling delta round each ``reconcile_interval``.
* **Throttling** is per mailbox (:mod:`tc_calendar.providers._graph_http`): Retry-After honoured, at most 4
  requests in flight, simultaneous GETs of many mailboxes sent as JSON batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from tc_calendar.addresses import MailboxAddress
from tc_calendar.metrics import Metrics
from tc_calendar.providers import graph_mapping
from tc_calendar.providers._graph_http import GraphHttp, TokenSource
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
from tc_calendar.providers.graph_notifications import Delivery, GraphInbox, notification_urls
from tc_calendar.records import ItemKind, RecurrencePattern, RemoteItem, SyncBatch, WindowSnapshot
from tc_calendar.sync.window import SyncWindow, WindowRead

log = logging.getLogger(__name__)

MAX_SUBSCRIPTION_MINUTES = 10080
"""Graph's longest lifetime of a subscription to events (7 days)."""

SERIES_BY_ID = 4
"""Up to this many series patterns are read by master id (one batch); more are listed with one paged query."""

MASTERS_FILTER = "type eq 'seriesMaster'"

WATCH_GROUP = 100
"""Mailboxes per watch task: their subscriptions are created and renewed together."""

JsonObject = Mapping[str, Any]


@dataclass(slots=True)
class _Subscription:
    id: str
    mailbox: str
    client_state: str
    expires: datetime


class GraphProvider:
    """Reads calendars of many Exchange Online mailboxes of one tenant with one app registration."""

    window_bound_checkpoint = True
    notifies_subscriptions = False
    """A delta link follows only the window it was made for: a window slide starts a new delta round."""

    def __init__(
        self,
        http: GraphHttp,
        *,
        page_size: int = 100,
        inbox: GraphInbox | None = None,
        notification_url: str | None = None,
        poll_interval: float = 30.0,
        reconcile_interval: float = 1800.0,
        subscription_minutes: int = 4320,
        renew_before: float = 6 * 3600.0,
        series_patterns: bool = True,
        subscribe_wait: float = 15.0,
    ) -> None:
        self.http = http
        self._page_size = page_size
        self._inbox = inbox
        self._urls = notification_urls(notification_url) if notification_url and inbox is not None else None
        self._poll_interval = poll_interval
        self._reconcile_interval = reconcile_interval
        self._subscription_minutes = min(subscription_minutes, MAX_SUBSCRIPTION_MINUTES)
        self._renew_before = renew_before
        self._series_patterns = series_patterns
        self._subscribe_wait = subscribe_wait
        self._first_attempts: dict[str, asyncio.Event] = {}
        self._subscribed: set[str] = set()
        self._read_unsubscribed: set[str] = set()

    @classmethod
    def from_settings(
        cls,
        settings: Any,
        *,
        metrics: Metrics | None = None,
        inbox: GraphInbox | None = None,
        tokens: TokenSource | None = None,
        **options: Any,
    ) -> GraphProvider:
        """Build from one ``"type": "graph"`` entry of ``calendarProviders``
        (:class:`tc_calendar.config.models.GraphProviderSettings`); ``inbox`` receives change notifications when
        the entry has a ``notificationUrl``."""
        from tc_calendar.providers.graph_auth import GraphEndpoints, GraphTokenSource

        endpoints = GraphEndpoints.from_settings(settings)
        verify: bool | str = bool(settings.verify_tls)
        if settings.verify_tls and settings.ca_bundle:
            verify = str(settings.ca_bundle)

        def count(operation: str, result: str) -> None:
            if metrics is not None:
                metrics.graph_requests.labels(operation=operation, result=result).inc()

        http = GraphHttp(
            endpoints.api_root,
            tokens or GraphTokenSource.from_settings(settings),
            verify=verify,
            timeout=float(settings.timeout_seconds),
            max_concurrency=int(settings.max_concurrency),
            count=count,
        )
        url = str(settings.notification_url) if settings.notification_url else None
        return cls(
            http,
            inbox=inbox,
            notification_url=url,
            poll_interval=float(settings.poll_interval_seconds),
            reconcile_interval=float(settings.reconcile_minutes) * 60,
            **options,
        )

    # ------------------------------------------------------------------------------------------ plumbing

    def throttle_key(self, mailbox: str) -> str:
        """Exchange Online throttles an app per mailbox: a throttled mailbox waits alone."""
        return MailboxAddress(mailbox)

    def credential_key(self, mailbox: str) -> str:
        """Every mailbox of a Graph provider is read by its one app registration."""
        return ""

    def partition(self, mailboxes: Sequence[str]) -> list[list[str]]:
        """Groups of up to :data:`WATCH_GROUP` mailboxes, whose subscriptions are kept by one task."""
        members: list[str] = [MailboxAddress(m) for m in mailboxes]
        return [members[start : start + WATCH_GROUP] for start in range(0, len(members), WATCH_GROUP)]

    def _headers(self) -> dict[str, str]:
        return {"Prefer": f'outlook.timezone="UTC", odata.maxpagesize={self._page_size}'}

    async def _get(self, mailbox: str, operation: str, url: str) -> JsonObject:
        body = await self.http.call(mailbox, operation, "GET", url, headers=self._headers())
        return body if isinstance(body, Mapping) else {}

    # ------------------------------------------------------------------------------------------ reads

    async def read_window(self, mailbox: str, window: SyncWindow, sync_state: str | None) -> WindowSnapshot:
        """A new calendarView/delta round over ``window`` up to its singles' limit (``sync_state``, a delta link of
        an older round or window, is not needed: a round's first pages list the whole window).

        A delta link follows only the range it was made for, so the round spans the single meetings' whole range
        (:attr:`SyncWindow.singles_end`): a single meeting moved beyond ``cache.forward`` then stays in view. The
        occurrences of series it lists beyond ``window.end`` are dropped by the sync core."""
        mailbox = MailboxAddress(mailbox)
        await self._after_first_subscription(mailbox)
        url = (
            f"{_user(mailbox)}/calendarView/delta?startDateTime={_instant(window.start)}"
            f"&endDateTime={_instant(window.singles_end)}"
        )
        events: dict[str, JsonObject] = {}
        while True:
            page = await self._get(mailbox, "delta", url)
            for event in page.get("value") or ():
                event_id = str(event.get("id") or "")
                if graph_mapping.is_removed(event):
                    events.pop(event_id, None)
                elif event_id:
                    events[event_id] = event
            next_link = page.get("@odata.nextLink")
            if next_link:
                url = str(next_link)
                continue
            delta_link = page.get("@odata.deltaLink")
            if not delta_link:
                raise ProviderError("a calendarView/delta round ended without a delta link", mailbox=mailbox)
            items = await self._items(mailbox, events.values())
            return WindowSnapshot(tuple(items), str(delta_link))

    async def sync_changes(self, mailbox: str, sync_state: str | None) -> SyncBatch:
        """The next page of the delta round from ``sync_state`` (a next or delta link)."""
        mailbox = MailboxAddress(mailbox)
        if not sync_state or not sync_state.startswith(("https://", "http://")):
            raise InvalidSyncStateError(
                "no Graph delta link saved for this mailbox; reading the window", mailbox=mailbox
            )
        await self._after_first_subscription(mailbox)
        page = await self._get(mailbox, "delta", sync_state)
        changed: dict[str, JsonObject] = {}
        removed: list[str] = []
        for event in page.get("value") or ():
            event_id = str(event.get("id") or "")
            if not event_id:
                continue
            if graph_mapping.is_removed(event):
                changed.pop(event_id, None)
                removed.append(event_id)
            else:
                changed[event_id] = event
        next_link, delta_link = page.get("@odata.nextLink"), page.get("@odata.deltaLink")
        if not next_link and not delta_link:
            raise ProviderError("a calendarView/delta page without a next or delta link", mailbox=mailbox)
        items = await self._items(mailbox, changed.values())
        return SyncBatch(mailbox, tuple(items), tuple(removed), str(next_link or delta_link), not next_link)

    async def initial_items(self, mailbox: str, read: WindowRead) -> AsyncIterator[RemoteItem]:
        """What ``read`` wants, through calendarView (no delta round: no checkpoint comes with them)."""
        mailbox = MailboxAddress(mailbox)
        select = ",".join(graph_mapping.SELECT_FIELDS)
        for view in read.views():
            url: str | None = (
                f"{_user(mailbox)}/calendarView?startDateTime={_instant(view.start)}"
                f"&endDateTime={_instant(view.end)}&$select={select}"
            )
            while url:
                page = await self._get(mailbox, "calendarView", url)
                for item in await self._items(mailbox, page.get("value") or ()):
                    if read.wants(item.start, item.end, recurring=item.kind is not ItemKind.SINGLE):
                        yield item
                url = page.get("@odata.nextLink")

    async def _items(self, mailbox: str, events: Iterable[JsonObject]) -> list[RemoteItem]:
        """Map events to records, series instances with their series' pattern; masters only lend the pattern."""
        events = list(events)
        patterns: dict[str, RecurrencePattern | None] = {}
        for event in events:
            if event.get("type") == "seriesMaster" and event.get("recurrence"):
                patterns[str(event.get("id"))] = _pattern(event, mailbox)
        wanted = {
            str(event["seriesMasterId"])
            for event in events
            if event.get("seriesMasterId") and str(event["seriesMasterId"]) not in patterns
        }
        if self._series_patterns and wanted:
            patterns.update(await self._series(mailbox, sorted(wanted)))
        items = []
        for event in events:
            if event.get("type") == "seriesMaster":
                continue
            try:
                pattern = patterns.get(str(event.get("seriesMasterId") or ""))
                items.append(graph_mapping.to_remote_item(mailbox, event, recurrence=pattern))
            except graph_mapping.GraphMappingError as exc:
                log.warning("%s", exc)
        return items

    async def _series(self, mailbox: str, master_ids: Sequence[str]) -> dict[str, RecurrencePattern | None]:
        """The patterns of these series: a few masters are read by id at once (the client batches the GETs);
        more, as in a window round, are listed with one paged query for the mailbox's masters."""
        if len(master_ids) > SERIES_BY_ID:
            return await self._all_series(mailbox, set(master_ids))

        async def one(master_id: str) -> tuple[str, RecurrencePattern | None]:
            url = f"{_user(mailbox)}/events/{quote(master_id, safe='')}?$select=id,recurrence"
            try:
                return master_id, _pattern(await self._get(mailbox, "seriesMaster", url), mailbox)
            except MailboxError as exc:  # the master is gone (the next delta page removes its instances)
                log.debug("%s: series master %s not readable: %s", mailbox, master_id, exc)
                return master_id, None

        return dict(await asyncio.gather(*(one(master_id) for master_id in master_ids)))

    async def _all_series(self, mailbox: str, wanted: set[str]) -> dict[str, RecurrencePattern | None]:
        found: dict[str, RecurrencePattern | None] = {}
        url: str | None = (
            f"{_user(mailbox)}/events?$filter={quote(MASTERS_FILTER)}&$select=id,recurrence&$top={self._page_size}"
        )
        while url and len(found) < len(wanted):
            page = await self._get(mailbox, "seriesMasters", url)
            for master in page.get("value") or ():
                master_id = str(master.get("id") or "")
                if master_id in wanted:
                    found[master_id] = _pattern(master, mailbox)
            next_link = page.get("@odata.nextLink")
            url = str(next_link) if next_link else None
        return found

    # ------------------------------------------------------------------------------------------ changes

    async def _after_first_subscription(self, mailbox: str) -> None:
        """With notifications, a mailbox's first delta round waits (at most ``subscribe_wait`` seconds) for its
        subscription: a change made after the subscription is notified, and every change before it is in the
        round, so no catch-up round is needed. A read that could not wait is remembered, and the mailbox gets a
        catch-up round once subscribed."""
        if self._urls is None:
            return
        attempted = self._first_attempts.setdefault(mailbox, asyncio.Event())
        if not attempted.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(attempted.wait(), self._subscribe_wait)
        if mailbox not in self._subscribed:
            self._read_unsubscribed.add(mailbox)

    def _attempted(self, mailboxes: Iterable[str]) -> None:
        for mailbox in mailboxes:
            self._first_attempts.setdefault(mailbox, asyncio.Event()).set()

    async def watch(self, mailboxes: Sequence[str]) -> AsyncIterator[MailboxNotification]:
        """Wake-ups for delta rounds: change notifications when a notification URL is set, a timer otherwise,
        and a reconciling round for every mailbox each ``reconcile_interval``."""
        members: list[str] = [MailboxAddress(m) for m in mailboxes]
        if self._urls is None or self._inbox is None:
            async for notification in self._poll(members):
                yield notification
            return
        async for notification in self._notified(members, self._inbox, *self._urls):
            yield notification

    async def _poll(self, mailboxes: list[str]) -> AsyncIterator[MailboxNotification]:
        """Polling: every mailbox of the group each ``poll_interval``, all at once, so their delta requests
        leave together in JSON batches."""
        while True:
            await asyncio.sleep(self._poll_interval)
            for mailbox in mailboxes:
                yield MailboxNotification(mailbox, NotificationKind.CHANGED)

    async def _notified(
        self, mailboxes: list[str], inbox: GraphInbox, notification_url: str, lifecycle_url: str
    ) -> AsyncIterator[MailboxNotification]:
        queue: asyncio.Queue[Delivery] = asyncio.Queue()
        subscriptions: dict[str, _Subscription] = {}
        loop = asyncio.get_running_loop()
        next_reconcile = loop.time() + self._reconcile_interval
        next_poll = loop.time() + self._poll_interval

        async def subscribe(mailbox: str) -> None:
            client_state = secrets.token_urlsafe(24)
            expires = datetime.now(UTC) + timedelta(minutes=self._subscription_minutes)
            created = await self.http.call(
                mailbox,
                "subscribe",
                "POST",
                "/subscriptions",
                body={
                    "changeType": "created,updated,deleted",
                    "notificationUrl": notification_url,
                    "lifecycleNotificationUrl": lifecycle_url,
                    "resource": f"/users/{mailbox}/events",
                    "expirationDateTime": _instant(expires),
                    "clientState": client_state,
                },
            )
            subscription_id = str((created or {}).get("id") or "")
            if not subscription_id:
                raise TransientError("Graph created a subscription without an id", mailbox=mailbox)
            expiry = (created or {}).get("expirationDateTime")
            subscription = _Subscription(
                subscription_id, mailbox, client_state, graph_mapping.parse_instant(expiry) if expiry else expires
            )
            subscriptions[mailbox] = subscription
            inbox.register(subscription_id, mailbox, client_state, queue.put_nowait)
            self._subscribed.add(mailbox)

        async def renew(subscription: _Subscription) -> None:
            expires = datetime.now(UTC) + timedelta(minutes=self._subscription_minutes)
            await self.http.call(
                subscription.mailbox,
                "renew",
                "PATCH",
                f"/subscriptions/{quote(subscription.id, safe='')}",
                body={"expirationDateTime": _instant(expires)},
            )
            subscription.expires = expires

        retry_at: float | None = None  # when to subscribe again the mailboxes whose subscription failed
        retries = 0

        async def subscribe_missing() -> list[str]:
            """Subscribe the mailboxes that have none; returns those that got one now."""
            nonlocal retry_at, retries
            missing = [m for m in mailboxes if m not in subscriptions]
            results = await asyncio.gather(*(subscribe(m) for m in missing), return_exceptions=True)
            done: list[str] = []
            failures: dict[str, Exception] = {}
            for mailbox, result in zip(missing, results, strict=True):
                if result is None:
                    done.append(mailbox)
                elif isinstance(result, MailboxError):
                    log.warning("cannot subscribe to changes of %s (polled instead): %s", mailbox, result)
                elif isinstance(result, Exception):
                    failures[mailbox] = result
                else:
                    raise result
            if failures and not subscriptions:
                raise next(iter(failures.values()))  # nothing subscribed: the hub retries with back-off, loops poll
            if not failures:
                if retries:
                    log.warning("change notifications of %s work again", ", ".join(done))
                retry_at, retries = None, 0
                return done
            # Some failed (a 503, throttling, a validation handshake that timed out): the others are notified; these
            # are subscribed again with back-off, not only at the next reconcile, and polled meanwhile.
            retries += 1
            first = next(iter(failures.values()))
            delay = min(300.0, 2.0**retries)
            if isinstance(first, ThrottledError):
                delay = max(delay, first.backoff_seconds)
            retry_at = loop.time() + delay
            if retries == 1:
                log.warning(
                    "cannot subscribe to changes of %s (%s); polled meanwhile, subscribing again with back-off",
                    ", ".join(failures), first,
                )
            return done

        async def resubscribe(mailbox: str) -> None:
            old = subscriptions.pop(mailbox, None)
            self._subscribed.discard(mailbox)
            if old is not None:
                inbox.unregister(old.id)
            with contextlib.suppress(ProviderError):
                await subscribe(mailbox)

        try:
            try:
                subscribed = await subscribe_missing()
            finally:
                self._attempted(mailboxes)  # the first rounds waiting for these subscriptions go ahead
            for mailbox in subscribed:
                if mailbox in self._read_unsubscribed:
                    # A round read this mailbox before it was subscribed: a change in between is caught now.
                    self._read_unsubscribed.discard(mailbox)
                    yield MailboxNotification(mailbox, NotificationKind.CHANGED)
            while True:
                now_mono = loop.time()
                if retry_at is not None and now_mono >= retry_at:
                    retry_at = None
                    with contextlib.suppress(ProviderError):
                        for mailbox in await subscribe_missing():
                            # Changes while it had no subscription were only polled: a catch-up round now.
                            self._read_unsubscribed.discard(mailbox)
                            yield MailboxNotification(mailbox, NotificationKind.CHANGED)
                    now_mono = loop.time()
                due = min(next_reconcile, next_poll, retry_at if retry_at is not None else next_reconcile)
                renew_at = [
                    s for s in subscriptions.values()
                    if (s.expires - datetime.now(UTC)).total_seconds() <= self._renew_before
                ]  # fmt: skip
                for subscription in renew_at:
                    try:
                        await renew(subscription)
                    except (SubscriptionExpiredError, MailboxError):
                        await resubscribe(subscription.mailbox)
                        yield MailboxNotification(subscription.mailbox, NotificationKind.CHANGED)
                    except ProviderError as exc:
                        log.info("renewing the subscription of %s failed: %s", subscription.mailbox, exc)
                try:
                    delivery = await asyncio.wait_for(queue.get(), timeout=max(0.0, due - now_mono))
                except TimeoutError:
                    delivery = None
                if delivery is not None:
                    if delivery.lifecycle == "reauthorizationRequired":
                        held = subscriptions.get(delivery.mailbox)
                        if held is not None:
                            try:
                                await renew(held)
                            except ProviderError:
                                await resubscribe(delivery.mailbox)
                    elif delivery.lifecycle == "subscriptionRemoved":
                        await resubscribe(delivery.mailbox)
                    yield MailboxNotification(delivery.mailbox, NotificationKind.CHANGED)
                    continue
                now_mono = loop.time()
                if now_mono >= next_poll:
                    next_poll = now_mono + self._poll_interval
                    # Mailboxes without a subscription (refused, or failing) are polled meanwhile.
                    for mailbox in [m for m in mailboxes if m not in subscriptions]:
                        yield MailboxNotification(mailbox, NotificationKind.CHANGED)
                if now_mono >= next_reconcile:
                    next_reconcile = now_mono + self._reconcile_interval
                    for mailbox in mailboxes:
                        yield MailboxNotification(mailbox, NotificationKind.CHANGED)
                    with contextlib.suppress(ProviderError):  # subscribing again is tried at this pace
                        await subscribe_missing()
        finally:
            for subscription in subscriptions.values():
                inbox.unregister(subscription.id)
                self._subscribed.discard(subscription.mailbox)
            await self._unsubscribe(list(subscriptions.values()))

    async def _unsubscribe(self, subscriptions: Sequence[_Subscription]) -> None:
        """Delete subscriptions we no longer listen to (best effort: Graph drops them at expiry anyway)."""

        async def delete(subscription: _Subscription) -> None:
            url = f"/subscriptions/{quote(subscription.id, safe='')}"
            with contextlib.suppress(ProviderError, AuthError, ThrottledError, OSError):
                await self.http.call(subscription.mailbox, "unsubscribe", "DELETE", url)

        if subscriptions:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.gather(*(delete(s) for s in subscriptions)), timeout=5.0)

    async def aclose(self) -> None:
        await self.http.aclose()


def _user(mailbox: str) -> str:
    return f"/users/{quote(mailbox, safe='@')}"


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pattern(event: JsonObject, mailbox: str) -> RecurrencePattern | None:
    try:
        return graph_mapping.recurrence_pattern(event.get("recurrence"))
    except graph_mapping.GraphMappingError as exc:
        log.warning("%s: series %s: %s", mailbox, event.get("id"), exc)
        return None

