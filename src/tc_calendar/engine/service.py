"""The sync service: everything that keeps the store in step with the calendar servers, behind start/stop.

Construct it with :meth:`SyncService.from_settings` (one EWS or Graph provider per ``calendarProviders`` entry)
or with explicit providers (tests), then ``await start()`` and, at shutdown, ``await stop()``.
``request_mailbox`` is what the API calls when a user's calendar is asked for; ``status`` and the metrics
object show how the mailboxes are doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from tc_calendar.addresses import MailboxAddress
from tc_calendar.backoff import ThrottleGate
from tc_calendar.clocks import WallClock, utc_now
from tc_calendar.engine.mailboxes import Admission, MailboxRoster
from tc_calendar.engine.ports import NotifyHook, SyncPlanner, SyncStore
from tc_calendar.engine.runner import EngineContext, MailboxWorker, SyncOptions
from tc_calendar.engine.streaming import NotificationHub
from tc_calendar.metrics import Metrics
from tc_calendar.providers.base import (
    CalendarProvider,
    MailboxError,
    MailboxErrorReason,
    MailboxNotification,
    NotificationKind,
)
from tc_calendar.providers.graph_notifications import GraphInbox
from tc_calendar.runtime import repeat
from tc_calendar.store.records import ConfiguredMailbox, MailboxOrigin, MailboxState, MailboxStatus, SyncStart
from tc_calendar.sync.window import SyncWindow, WindowRead

log = logging.getLogger(__name__)

MailboxRequestResult = Literal["queued", "synced", "over_limit", "unknown"]


@dataclass(frozen=True, slots=True)
class MailboxRuntime:
    """A mailbox as the running service sees it (the store's :class:`MailboxStatus` plus live details)."""

    status: MailboxStatus
    streaming: bool
    cycles: int


def _last_asked(status: MailboxStatus) -> datetime:
    """When a client last asked for a mailbox (or it was registered, if never since)."""
    return status.last_requested_at or status.requested_at or status.first_seen_at


class SyncService:
    """Runs one :class:`MailboxWorker` per admitted mailbox and one notification hub per provider."""

    def __init__(
        self,
        store: SyncStore,
        providers: Sequence[CalendarProvider],
        configured_users: Sequence[Sequence[str]],
        *,
        planner: SyncPlanner,
        options: SyncOptions | None = None,
        account_limit: int | None = None,
        notify: NotifyHook | None = None,
        clock: WallClock = utc_now,
        metrics: Metrics | None = None,
        node_id: str | None = None,
        lease_ttl: float = 90.0,
        max_mailboxes: int | None = None,
    ) -> None:
        if len(configured_users) != len(providers):
            raise ValueError("configured_users needs one list of users per provider")
        self._store = store
        self._providers = list(providers)
        self._configured = [[MailboxAddress(user) for user in users] for users in configured_users]
        self._account_limit = account_limit
        self._metrics = metrics
        self._context = EngineContext(
            store,
            planner,
            options or SyncOptions(),
            clock=clock,
            notify=notify,
            metrics=metrics,
            account_failed=self._account_failed,
            mailbox_missing=self._mailbox_missing,
        )
        self._roster = MailboxRoster(self._configured, account_limit)
        self._workers: dict[str, MailboxWorker] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._gates: dict[tuple[int, str], ThrottleGate] = {}
        #: The credentials (provider index, credential key) each running worker's mailbox is read with.
        self._accounts: dict[str, tuple[int, str]] = {}
        self._slots = [asyncio.Semaphore(self._context.options.max_window_syncs) for _ in self._providers]
        self._hubs: list[NotificationHub] = []
        self._streaming: dict[str, bool] = {}
        self._lock = asyncio.Lock()
        self._started = False
        self._refresher: asyncio.Task[None] | None = None
        # The host name by default: a restarted instance takes its own leases back at once instead of waiting for
        # them to expire. Several instances on one host need distinct ids.
        self.node_id = node_id or socket.gethostname()
        self._lease_ttl = lease_ttl
        self._max_mailboxes = max_mailboxes
        self._held: set[str] = set()
        self._leases_loaded = False
        #: Running removals of on-demand mailboxes, by address (see :meth:`_drop`).
        self._drops: dict[str, asyncio.Task[None]] = {}
        #: When this node last recorded a request for a mailbox (monotonic), to write it at most every few minutes.
        self._touched: dict[str, float] = {}

    @classmethod
    def from_settings(
        cls,
        settings: Any,
        store: SyncStore,
        *,
        notify: NotifyHook | None = None,
        metrics: Metrics | None = None,
        clock: WallClock = utc_now,
        options: SyncOptions | None = None,
        planner: SyncPlanner | None = None,
        provider_options: dict[str, Any] | None = None,
        graph_options: dict[str, Any] | None = None,
        graph_inbox: GraphInbox | None = None,
        node_id: str | None = None,
        lease_ttl: float = 90.0,
        max_mailboxes: int | None = None,
    ) -> SyncService:
        """Build from :class:`tc_calendar.config.Settings`: one provider per ``calendarProviders`` entry by its
        ``type`` (EWS or Graph; ``provider_options`` tune EWS ones, ``graph_options`` Graph ones, ``graph_inbox``
        receives Graph change notifications), users, ``cache`` and ``accountLimit``."""
        from tc_calendar.engine.planner import DiffPlanner
        from tc_calendar.providers.factory import build_providers

        providers = build_providers(
            settings.calendar_providers, workers=getattr(settings, "workers", None), metrics=metrics,
            graph_inbox=graph_inbox, ews_options=provider_options, graph_options=graph_options,
        )  # fmt: skip
        options = dataclasses.replace(
            options or SyncOptions(),
            auto_sync=settings.cache.auto_sync,
            backward_months=settings.cache.backward,
            forward_months=settings.cache.forward,
        )
        return cls(
            store,
            providers,
            [list(entry.users) for entry in settings.calendar_providers],
            planner=planner or DiffPlanner.from_settings(settings),
            options=options,
            account_limit=settings.account_limit,
            notify=notify,
            clock=clock,
            metrics=metrics,
            node_id=node_id,
            lease_ttl=lease_ttl,
            max_mailboxes=max_mailboxes,
        )

    @property
    def providers(self) -> tuple[CalendarProvider, ...]:
        """One provider per ``calendarProviders`` entry, in the file's order."""
        return tuple(self._providers)

    # ------------------------------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Register the configured mailboxes, then start notifications and the sync loops, users first."""
        if self._started:
            return
        self._started = True
        await self._store.register_config_mailboxes(
            [ConfiguredMailbox(email, provider) for provider, users in enumerate(self._configured) for email in users]
        )
        statuses = await self._store.list_mailboxes()
        on_demand = [
            s.email for s in statuses if s.origin is MailboxOrigin.ON_DEMAND and s.state is not MailboxState.DISABLED
        ]
        self._roster = MailboxRoster(self._configured, self._account_limit, on_demand)
        for provider in self._providers:
            self._hubs.append(
                NotificationHub(
                    provider, self._on_notification, self._on_health, retry=self._context.options.notification_retry
                )
            )
        await self._apply_limit()
        await self._lease_round()
        await self._reconcile()
        await self._clear_unsynced(await self._store.list_mailboxes())
        await self._publish_states()
        self._refresher = asyncio.create_task(self._housekeeping(), name="sync:housekeeping")

    async def _housekeeping(self) -> None:
        """Every few seconds: pick up mailboxes registered on demand elsewhere (the API's registry, another
        node) and renew this node's mailbox leases, taking free ones and letting go of lost ones."""
        interval = min(self._context.options.roster_refresh_interval, self._lease_ttl / 3)

        async def round_() -> float:
            statuses = await self._store.list_mailboxes()
            new = [
                s.email
                for s in statuses
                if s.origin is MailboxOrigin.ON_DEMAND
                and s.state is not MailboxState.DISABLED
                and self._roster.get(s.email) is None
            ]
            for email in new:
                self._roster.request(email)
            gone = await self._dropped_elsewhere(statuses)
            for email in gone:
                await self._drop(email)
            cutoff = self._context.clock() - timedelta(seconds=self._context.options.on_demand_idle)
            idle = [email for email in self._idle_on_demand(statuses, cutoff) if await self._still_idle(email, cutoff)]
            for email in idle:
                log.info("%s: no client asked for this calendar in %s; no longer synchronized", email,
                         timedelta(seconds=self._context.options.on_demand_idle))
                await self._drop(email, requested_before=cutoff)
            if new or gone or idle:
                statuses = await self._store.list_mailboxes()
                await self._apply_limit(statuses)
            await self._lease_round()
            await self._reconcile()
            await self._publish_states(statuses)
            return self._next_round_in(statuses, interval)

        await repeat(round_, what="mailbox housekeeping (roster and leases)", log=log, interval=interval,
                     stop=self._context.stopping, first_after=interval)

    async def _dropped_elsewhere(self, statuses: Sequence[MailboxStatus]) -> list[str]:
        """On-demand mailboxes on this node's roster that are no longer in the store (another node dropped them)."""
        present = {s.email for s in statuses}
        candidates = [
            e.email for e in self._roster.entries() if e.origin is MailboxOrigin.ON_DEMAND and e.email not in present
        ]
        # Asked for here since ``statuses`` was read: registered now, so still there.
        return [email for email in candidates if await self._store.get_mailbox(email) is None]

    def _idle_on_demand(self, statuses: Sequence[MailboxStatus], cutoff: datetime) -> list[str]:
        """On-demand mailboxes no client asked for since ``cutoff`` (``on_demand_idle`` ago)."""
        return [
            s.email
            for s in statuses
            if s.origin is MailboxOrigin.ON_DEMAND and _last_asked(s) < cutoff and s.email not in self._drops
        ]

    async def _still_idle(self, email: str, cutoff: datetime) -> bool:
        """Whether ``email`` is still idle now: a client on any node may have asked for it since the round read
        the mailboxes, and dropping it would empty a calendar that was just asked for."""
        status = await self._store.get_mailbox(email)
        return status is not None and _last_asked(status) < cutoff

    def _mailbox_missing(self, email: str) -> None:
        """A loop found that Exchange has no mailbox ``email``: an on-demand one is dropped (a configured one stays
        in error until an administrator corrects ``users``)."""
        entry = self._roster.get(email)
        if entry is not None and entry.origin is MailboxOrigin.ON_DEMAND and email not in self._drops:
            log.info("%s: Exchange has no such mailbox; forgetting it", email)
            self._drops[email] = asyncio.create_task(self._forget_missing(email), name=f"sync:drop:{email}")

    async def _forget_missing(self, email: str) -> None:
        """Drop a mailbox Exchange does not know, then give its slot to the next one at once."""
        try:
            await self._drop(email)
            if not self._context.stopping.is_set():
                await self._apply_limit()
                await self._lease_round()
                await self._reconcile()
                await self._publish_states()
        except Exception:
            log.exception("%s: forgetting the mailbox failed; the next sync failure tries again", email)
        finally:
            self._drops.pop(email, None)

    async def _drop(self, email: str, requested_before: datetime | None = None) -> None:
        """Forget an on-demand mailbox: stop its loop, clear what its user sees, delete it; the mailboxes after it
        move up in the roster (one over the limit may get the freed slot). With ``requested_before`` (an idle
        mailbox), the row is kept if a client asked for it meanwhile: the next round synchronizes it again."""
        task = self._tasks.pop(email, None)
        self._workers.pop(email, None)
        self._accounts.pop(email, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._roster.forget(email)
        self._held.discard(email)
        self._touched.pop(email, None)
        status = await self._store.get_mailbox(email)
        if status is not None and status.origin is MailboxOrigin.ON_DEMAND:
            if status.event_count:
                stored = await self._store.stored_views(email)
                await self._context.commit(
                    self._context.planner.full(email, [], stored, self._context.window(), None), None
                )
            if not await self._store.forget_mailbox(email, requested_before=requested_before):
                log.info("%s: asked for again while it was being dropped; it is synchronized again", email)

    async def _lease_round(self) -> None:
        """Renew this node's mailbox leases and take free ones, up to ``max_mailboxes``.

        Several connector instances on one PostgreSQL share the mailboxes this way (``FOR UPDATE SKIP LOCKED``
        in the store); a node that dies stops renewing and its mailboxes pass to the others after ``lease_ttl``.
        A restarted node (same ``node_id``) first takes back what it held, without waiting for expiry.
        """
        ttl = timedelta(seconds=self._lease_ttl)
        if not self._leases_loaded:
            statuses = await self._store.list_mailboxes()
            self._held |= {s.email for s in statuses if s.lease_owner == self.node_id}
            self._leases_loaded = True
        count = await self._store.announce_node(self.node_id, ttl)
        # A client may ask for a mailbox while this round waits for the database (request_mailbox leases it and
        # adds it to _held): the round removes what it found lost or handed over, and keeps what was added.
        before = set(self._held)
        kept = set(await self._store.renew_leases(self.node_id, ttl)) & before
        lost = before - kept
        if lost:
            log.warning("leases lost to another node: %s", ", ".join(sorted(lost)))
        share = count.share if self._max_mailboxes is None else min(count.share, self._max_mailboxes)
        given: set[str] = set()
        if len(kept) > share:
            given = await self._hand_over(kept, len(kept) - share, count.nodes)
        self._held -= lost | given
        room = share - len(self._held)
        taken = await self._store.lease_mailboxes(self.node_id, room, ttl) if room > 0 else []
        self._held |= set(taken)
        if taken:
            log.info("%s now synchronizes %d more mailboxes (%d in all)", self.node_id, len(taken), len(self._held))

    async def _hand_over(self, held: set[str], count: int, nodes: int) -> set[str]:
        """Give up ``count`` of the mailboxes this node holds (the last in priority order) so that other nodes get
        their part; their loops end before the leases are released, so no two nodes ever sync one mailbox."""
        order = {entry.email: index for index, entry in enumerate(self._roster.entries())}
        given = sorted(held, key=lambda email: order.get(email, -1))[-count:]
        async with self._lock:
            tasks = [task for task in (self._tasks.pop(email, None) for email in given) if task is not None]
            for email in given:
                self._workers.pop(email, None)
                self._accounts.pop(email, None)
            for task in tasks:
                task.cancel()  # an open transaction rolls back; the next holder resumes from the checkpoint
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._store.release_leases(self.node_id, given)
        log.info("%s hands %d mailboxes to the other nodes (%d nodes share them)", self.node_id, len(given), nodes)
        return set(given)

    def _next_round_in(self, statuses: Sequence[MailboxStatus], interval: float) -> float:
        """Seconds until the next housekeeping round: ``interval``, or sooner when another node's lease runs out
        before that, so a dead node's mailboxes are taken over as soon as its leases expire."""
        now = self._context.clock()
        expiries = [
            (s.lease_expires_at - now).total_seconds()
            for s in statuses
            if s.lease_owner not in (None, self.node_id) and s.lease_expires_at is not None and s.lease_expires_at > now
        ]
        return min([interval, *(expiry + 0.05 for expiry in expiries)])

    async def _apply_limit(self, statuses: Sequence[MailboxStatus] | None = None) -> None:
        """Store the roster's split: ``over_limit`` beyond the limit, and ``pending`` for a mailbox that was over
        it and now has room (an on-demand mailbox before it was dropped, a larger licence), so it is leased."""
        stored = {s.email: s.state for s in (statuses if statuses is not None else await self._store.list_mailboxes())}
        for entry in self._roster.entries():
            state = stored.get(entry.email)
            if not entry.admitted and state is not MailboxState.OVER_LIMIT:
                await self._store.set_mailbox_state(entry.email, MailboxState.OVER_LIMIT)
            elif entry.admitted and state is MailboxState.OVER_LIMIT:
                await self._store.set_mailbox_state(entry.email, MailboxState.PENDING)

    async def _clear_unsynced(self, statuses: Sequence[MailboxStatus]) -> None:
        """Remove from the views what mailboxes no longer synchronized still show (removed from ``users``, or
        over the limit): their copies would go stale, and a stale meeting is worse than none."""
        for status in statuses:
            if status.state not in (MailboxState.DISABLED, MailboxState.OVER_LIMIT) or status.event_count == 0:
                continue
            stored = await self._store.stored_views(status.email)
            # The plan ends with a checkpoint without SyncState: if the mailbox comes back, it starts over with a
            # window sync instead of resuming from a state whose changes are no longer in the store.
            actions = self._context.planner.full(status.email, [], stored, self._context.window(), None)
            changes = await self._context.commit(actions, None)
            log.info("%s is no longer synchronized (%s): %d changes", status.email, status.state.value, len(changes))

    async def stop(self, grace_seconds: float = 30.0) -> None:
        """Stop gracefully: no new cycles start, running store transactions finish, then connections close."""
        if not self._started:
            return
        self._context.stopping.set()
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        for hub in self._hubs:
            await hub.close()
        for drop in list(self._drops.values()):  # a dropped mailbox is dropped again when its sync fails next time
            drop.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await drop
        tasks = list(self._tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace_seconds)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for provider in self._providers:
            with contextlib.suppress(Exception):
                await provider.aclose()
        with contextlib.suppress(Exception):  # an expired lease frees itself anyway
            await self._store.release_lease(self.node_id)
            await self._store.forget_node(self.node_id)
        self._held.clear()
        self._leases_loaded = False
        self._workers.clear()
        self._accounts.clear()
        self._tasks.clear()
        self._started = False

    async def _reconcile(self) -> None:
        """Run a worker for every admitted mailbox this node holds the lease of (in priority order), and stop
        the workers of mailboxes it no longer holds."""
        async with self._lock:
            held = [entry for entry in self._roster.admitted() if entry.email in self._held]
            admitted: dict[int, list[str]] = {}
            for entry in held:
                admitted.setdefault(entry.provider, []).append(entry.email)
            starting = [entry for entry in held if entry.email not in self._workers]
            starts = await self._sync_starts([entry.email for entry in starting])
            for entry in starting:  # in priority order
                self._start_worker(entry.email, entry.provider, starts.get(entry.email))
            for email in [e for e in self._workers if e not in self._held]:
                self._workers.pop(email)
                self._accounts.pop(email, None)
                task = self._tasks.pop(email)
                task.cancel()  # an open transaction rolls back; the new holder resumes from the checkpoint
            for provider, emails in admitted.items():
                self._hubs[provider].watch(emails)

    async def _sync_starts(self, emails: Sequence[str]) -> Mapping[str, SyncStart]:
        """What the store holds for the loops about to start, in one query (a loop whose start is missing here,
        for instance because this read failed, reads its own and handles a failure like any other)."""
        if not emails:
            return {}
        try:
            return await self._store.load_sync_starts(emails)
        except Exception:
            log.debug("reading the sync starts of %d mailboxes together failed", len(emails), exc_info=True)
            return {}

    def _start_worker(self, email: str, provider_index: int, start: SyncStart | None) -> None:
        provider = self._providers[provider_index]
        gate = self._gates.setdefault((provider_index, provider.throttle_key(email)), ThrottleGate())
        # A mailbox not yet watched is subscribed next (``_reconcile``): its first sync waits for that.
        awaits_subscription = provider.notifies_subscriptions and not self._hubs[provider_index].watches(email)
        worker = MailboxWorker(
            email,
            provider,
            gate,
            self._slots[provider_index],
            self._context,
            start,
            streaming=self._streaming.get(email, False),
            awaits_subscription=awaits_subscription,
        )
        self._workers[email] = worker
        self._accounts[email] = (provider_index, provider.credential_key(email))
        self._tasks[email] = asyncio.create_task(self._run_worker(worker), name=f"sync:{email}")

    async def _run_worker(self, worker: MailboxWorker) -> None:
        try:
            await worker.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: sync loop crashed", worker.email)

    async def _account_failed(self, email: str, message: str) -> None:
        """Exchange rejected the service account serving ``email``: every mailbox this node syncs with that
        account is in error, in one write, instead of one by one as each loop gets its turn."""
        account = self._accounts.get(email)
        same = [e for e, a in self._accounts.items() if a == account] if account is not None else [email]
        for other in same:
            worker = self._workers.get(other)
            if worker is not None and other != email:
                worker.note_account_error(message)
        await self._store.record_sync_errors(same, message)

    # ------------------------------------------------------------------------------------------ notifications

    def _on_notification(self, notification: MailboxNotification) -> None:
        worker = self._workers.get(notification.mailbox)
        if worker is not None:
            worker.trigger(notification.kind, notification.since)

    def _on_health(self, mailboxes: Sequence[str], healthy: bool) -> None:
        for mailbox in mailboxes:
            self._streaming[mailbox] = healthy
            worker = self._workers.get(mailbox)
            if worker is not None:
                worker.set_streaming(healthy)
        if self._metrics is not None:
            self._metrics.notifications_failing.set(sum(not streaming for streaming in self._streaming.values()))

    # ------------------------------------------------------------------------------------------ API

    async def request_mailbox(self, email: str) -> MailboxRequestResult:
        """A client asked for ``email``'s calendar: "synced" when it is ready, "queued" while its (initial) sync
        is pending or being retried, "over_limit" when the account limit keeps it out, "unknown" when Exchange
        has no such mailbox (then it is not kept and takes no slot).

        Before a mailbox asked for the first time is registered, the provider is asked whether it exists, so an
        unknown address never enters the roster or the store.
        """
        address = MailboxAddress(email)
        dropping = self._drops.get(address)
        if dropping is not None:
            await dropping
            return "unknown"
        worker = self._workers.get(address)
        if worker is not None:
            await self._touch(address)
            return "synced" if worker.synced_once.is_set() else "queued"
        if self._roster.get(address) is None and await self._unknown_to_provider(
            address, self._roster.provider_for(address)
        ):
            return "unknown"
        admission = self._roster.request(address)
        entry = self._roster.get(address)
        assert entry is not None
        await self._store.register_on_demand_mailbox(address, entry.provider)
        await self._touch(address)
        if admission is Admission.OVER_LIMIT:
            await self._store.set_mailbox_state(address, MailboxState.OVER_LIMIT)
            await self._publish_states()
            return "over_limit"
        if not self._started:
            return "queued"
        if self._max_mailboxes is None or len(self._held) < self._max_mailboxes:
            ttl = timedelta(seconds=self._lease_ttl)
            if await self._store.lease_mailbox(address, self.node_id, ttl):
                self._held.add(address)
        await self._reconcile()
        await self._publish_states()
        return "queued"

    async def _unknown_to_provider(self, email: str, provider_index: int) -> bool:
        """Whether the provider says it has no mailbox ``email``: a calendar view of one second (one cheap
        request). False when it cannot tell within ``existence_check_timeout`` (then the mailbox is registered as a
        real one; its loop finds out later and forgets it)."""
        now = self._context.clock()
        second = SyncWindow(now, now + timedelta(seconds=1))
        items = self._providers[provider_index].initial_items(email, WindowRead(second, second))
        try:
            async with asyncio.timeout(self._context.options.existence_check_timeout):
                async for _ in items:
                    break
        except MailboxError as exc:
            return exc.reason is MailboxErrorReason.NOT_FOUND
        except Exception:
            log.debug("%s: could not ask Exchange whether the mailbox exists", email, exc_info=True)
        finally:
            if isinstance(items, AsyncGenerator):
                with contextlib.suppress(Exception):
                    await items.aclose()
        return False

    async def _touch(self, email: str) -> None:
        """Record that a client asked for ``email``, at most every few minutes per mailbox (a write per request
        would cost the store more than the answer); precise enough for an idle time of days."""
        interval = min(300.0, self._context.options.on_demand_idle / 4)
        now = time.monotonic()
        if now - self._touched.get(email, -interval) < interval:
            return
        self._touched[email] = now
        with contextlib.suppress(Exception):  # the request is served anyway; the next one records it
            await self._store.touch_mailbox(email)

    def trigger(self, email: str) -> None:
        """Ask for an incremental sync of ``email`` now (e.g. from an admin command)."""
        worker = self._workers.get(MailboxAddress(email))
        if worker is not None:
            worker.trigger(NotificationKind.CHANGED)

    async def wait_synced(self, emails: Sequence[str] | None = None, within: float = 30.0) -> None:
        """Wait until the given (default: all admitted) mailboxes completed a sync cycle once."""
        workers = [self._workers[MailboxAddress(e)] for e in emails] if emails else list(self._workers.values())
        waits = asyncio.gather(*(w.synced_once.wait() for w in workers))
        # Given up (cancelled or out of time), the gathered waits end cancelled: take that outcome here, or asyncio
        # reports it as an error never retrieved.
        waits.add_done_callback(lambda done: done.cancelled() or done.exception())
        await asyncio.wait_for(waits, within)

    async def status(self) -> list[MailboxRuntime]:
        """Every known mailbox, in priority order, with its live streaming state (for ``tc_calendar status``)."""
        statuses = await self._store.list_mailboxes()
        await self._publish_states(statuses)
        return [
            MailboxRuntime(
                status,
                self._streaming.get(status.email, False),
                self._workers[status.email].cycles if status.email in self._workers else 0,
            )
            for status in statuses
        ]

    async def _publish_states(self, statuses: Sequence[MailboxStatus] | None = None) -> None:
        if self._metrics is None:
            return
        if statuses is None:
            statuses = await self._store.list_mailboxes()
        counts: dict[str, int] = {}
        for status in statuses:
            counts[status.state.value] = counts.get(status.state.value, 0) + 1
        self._metrics.set_mailbox_states(counts)
