"""The sync service: everything that keeps the store in step with the calendar servers, behind start/stop.

Construct it with :meth:`SyncService.from_settings` (one EWS provider per ``calendarProviders`` entry) or with
explicit providers (tests, other provider types), then ``await start()`` and, at shutdown, ``await stop()``.
``request_mailbox`` is what the API calls when a user's calendar is asked for; ``status`` and the metrics
object show how the mailboxes are doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tc_calendar.engine.backoff import ThrottleGate
from tc_calendar.engine.mailboxes import Admission, MailboxRoster, normalize_email
from tc_calendar.engine.ports import Clock, NotifyHook, SyncPlanner, SyncStore
from tc_calendar.engine.runner import EngineContext, MailboxWorker, SyncOptions
from tc_calendar.engine.streaming import NotificationHub
from tc_calendar.metrics import Metrics
from tc_calendar.providers.base import CalendarProvider, MailboxNotification, NotificationKind
from tc_calendar.store.records import ConfiguredMailbox, MailboxOrigin, MailboxState, MailboxStatus
from tc_calendar.sync.window import system_clock

log = logging.getLogger(__name__)

MailboxRequestResult = Literal["queued", "synced", "over_limit"]


@dataclass(frozen=True, slots=True)
class MailboxRuntime:
    """A mailbox as the running service sees it (the store's :class:`MailboxStatus` plus live details)."""

    status: MailboxStatus
    streaming: bool
    cycles: int


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
        clock: Clock = system_clock,
        metrics: Metrics | None = None,
    ) -> None:
        if len(configured_users) != len(providers):
            raise ValueError("configured_users needs one list of users per provider")
        self._store = store
        self._providers = list(providers)
        self._configured = [[normalize_email(user) for user in users] for users in configured_users]
        self._account_limit = account_limit
        self._metrics = metrics
        self._context = EngineContext(
            store, planner, options or SyncOptions(), clock=clock, notify=notify, metrics=metrics
        )
        self._roster = MailboxRoster(self._configured, account_limit)
        self._workers: dict[str, MailboxWorker] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._gates: dict[tuple[int, int], ThrottleGate] = {}
        self._slots = [asyncio.Semaphore(self._context.options.max_window_syncs) for _ in self._providers]
        self._hubs: list[NotificationHub] = []
        self._streaming: dict[str, bool] = {}
        self._lock = asyncio.Lock()
        self._started = False
        self._refresher: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Any,
        store: SyncStore,
        *,
        notify: NotifyHook | None = None,
        metrics: Metrics | None = None,
        clock: Clock = system_clock,
        options: SyncOptions | None = None,
        planner: SyncPlanner | None = None,
        provider_options: dict[str, Any] | None = None,
    ) -> SyncService:
        """Build from :class:`tc_calendar.config.Settings`: EWS providers, users, ``cache`` and ``accountLimit``."""
        from tc_calendar.engine.planner import DiffPlanner
        from tc_calendar.providers.ews import EwsProvider

        providers = [
            EwsProvider.from_settings(entry, metrics=metrics, **(provider_options or {}))
            for entry in settings.calendar_providers
        ]
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
        )

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
            self._hubs.append(NotificationHub(provider, self._on_notification, self._on_health))
        await self._reconcile()
        await self._clear_unsynced(await self._store.list_mailboxes())
        await self._publish_states()
        self._refresher = asyncio.create_task(self._refresh_roster(), name="sync:roster")

    async def _refresh_roster(self) -> None:
        """Pick up mailboxes registered on demand by the API (or another node) without telling us directly."""
        while not self._context.stopping.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._context.stopping.wait(), self._context.options.roster_refresh_interval)
            if self._context.stopping.is_set():
                return
            try:
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
                if new:
                    await self._reconcile()
                    await self._publish_states()
            except Exception:
                log.exception("looking for mailboxes requested on demand failed; trying again later")

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
        self._tasks.clear()
        self._started = False

    async def _reconcile(self) -> None:
        """Start workers for admitted mailboxes (in priority order) and mark the others over the limit."""
        async with self._lock:
            admitted: dict[int, list[str]] = {}
            for entry in self._roster.entries():
                if not entry.admitted:
                    await self._store.set_mailbox_state(entry.email, MailboxState.OVER_LIMIT)
                    continue
                admitted.setdefault(entry.provider, []).append(entry.email)
                if entry.email not in self._workers:
                    self._start_worker(entry.email, entry.provider)
            for provider, emails in admitted.items():
                self._hubs[provider].watch(emails)

    def _start_worker(self, email: str, provider_index: int) -> None:
        provider = self._providers[provider_index]
        credential = getattr(provider, "credential_index", None)
        gate_key = (provider_index, credential(email) if credential is not None else 0)
        gate = self._gates.setdefault(gate_key, ThrottleGate())
        worker = MailboxWorker(email, provider, gate, self._slots[provider_index], self._context)
        worker.set_streaming(self._streaming.get(email, False))
        self._workers[email] = worker
        self._tasks[email] = asyncio.create_task(self._run_worker(worker), name=f"sync:{email}")

    async def _run_worker(self, worker: MailboxWorker) -> None:
        try:
            await worker.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: sync loop crashed", worker.email)

    # ------------------------------------------------------------------------------------------ notifications

    def _on_notification(self, notification: MailboxNotification) -> None:
        worker = self._workers.get(notification.mailbox)
        if worker is not None:
            worker.trigger(notification.kind)

    def _on_health(self, mailboxes: Sequence[str], healthy: bool) -> None:
        for mailbox in mailboxes:
            self._streaming[mailbox] = healthy
            worker = self._workers.get(mailbox)
            if worker is not None:
                worker.set_streaming(healthy)

    # ------------------------------------------------------------------------------------------ API

    async def request_mailbox(self, email: str) -> MailboxRequestResult:
        """A client asked for ``email``'s calendar: "synced" when it is ready, "queued" while its (initial) sync
        is pending or being retried, "over_limit" when the account limit keeps it out."""
        address = normalize_email(email)
        worker = self._workers.get(address)
        if worker is not None:
            return "synced" if worker.synced_once.is_set() else "queued"
        admission = self._roster.request(address)
        entry = self._roster.get(address)
        assert entry is not None
        await self._store.register_on_demand_mailbox(address, entry.provider)
        if admission is Admission.OVER_LIMIT:
            await self._store.set_mailbox_state(address, MailboxState.OVER_LIMIT)
            await self._publish_states()
            return "over_limit"
        if self._started:
            await self._reconcile()
            await self._publish_states()
        return "queued"

    async def on_mailbox_requested(self, email: str) -> None:
        """The API's hook after it registered an on-demand mailbox (``StoreMailboxRegistry(on_request=...)``)."""
        await self.request_mailbox(email)

    def trigger(self, email: str) -> None:
        """Ask for an incremental sync of ``email`` now (e.g. from an admin command)."""
        worker = self._workers.get(normalize_email(email))
        if worker is not None:
            worker.trigger(NotificationKind.CHANGED)

    async def wait_synced(self, emails: Sequence[str] | None = None, within: float = 30.0) -> None:
        """Wait until the given (default: all admitted) mailboxes completed a sync cycle once."""
        workers = [self._workers[normalize_email(e)] for e in emails] if emails else list(self._workers.values())
        await asyncio.wait_for(asyncio.gather(*(w.synced_once.wait() for w in workers)), within)

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
