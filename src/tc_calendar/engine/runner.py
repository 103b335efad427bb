"""The sync loop of one mailbox: initial (window) sync, incremental sync on notifications, back-off.

Each admitted mailbox has one :class:`MailboxWorker` task that owns the mailbox's sync state and back-off;
nothing else writes that mailbox's events. One cycle is either

* a **window sync**: the provider's snapshot of the window with the checkpoint to continue from
  (:meth:`~tc_calendar.providers.base.CalendarProvider.read_window`: EWS takes SyncFolderItems' latest SyncState
  *first*, then reads the window with a CalendarView; Graph runs a calendarView/delta round), diffed against the
  store. Series are read within ``cache.backward``/``cache.forward``, single meetings from the same start up
  to the safety limit (:mod:`tc_calendar.sync.window`). Used for the first sync, after an invalid checkpoint,
  when the window settings change, and when the window slides for a provider whose checkpoint follows only its
  window (Graph's delta link; a folder-wide checkpoint reads only what slid in). The diff emits only real
  differences, so a resync of an unchanged calendar writes no change-log entry. A change that lands while the
  window is read is replayed by the next incremental sync, which the diff makes a no-op, so nothing is lost or
  doubled; or
* an **incremental sync**: pages of changes (SyncFolderItems, delta) from the stored checkpoint.

Every page of actions is applied in one store transaction together with the SyncState (``SaveCheckpoint``) it
leads to, so a crash at any point either loses the whole page (it is fetched again from the old state) or
keeps it with its state: never half, never twice. The last page of a cycle also carries the mailbox's status
(``ok``, time of success: ``RecordSyncSuccess``), so a successful cycle is a single write transaction.

A cycle runs when a notification arrives, when the poll interval passes (a safety net while streaming works,
short while it does not), or when the window slides. Failures are classified by the provider errors:
throttling waits the server's back-off on the service account's gate (all its mailboxes wait), transient
failures back off exponentially with jitter, mailbox and credential failures put the mailbox in state
``error`` with the message and retry slowly; one mailbox's failure never touches another's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from tc_calendar.addresses import pick_credential
from tc_calendar.backoff import BackoffPolicy, ThrottleGate
from tc_calendar.clocks import WallClock
from tc_calendar.engine.ports import AccountFailureHook, NotifyHook, SyncPlanner, SyncStore
from tc_calendar.failure_log import describe, reported_elsewhere
from tc_calendar.metrics import Metrics
from tc_calendar.model import Change
from tc_calendar.providers.base import (
    AuthError,
    CalendarProvider,
    InvalidSyncStateError,
    MailboxError,
    MailboxErrorReason,
    NotificationKind,
    ProviderError,
    ThrottledError,
)
from tc_calendar.providers.pool import urgent_calls
from tc_calendar.records import RemoteItem, SyncBatch
from tc_calendar.runtime.flag import Flag, wait_any
from tc_calendar.store.records import MailboxState, SyncStart
from tc_calendar.sync.actions import Action, RecordSyncSuccess, SaveCheckpoint
from tc_calendar.sync.window import SyncWindow, current_window, next_slide, slide_read

log = logging.getLogger(__name__)
_T = TypeVar("_T")


class SyncFailed(Exception):
    """An unexpected error in one mailbox's sync, summed up in one line; ``cause`` keeps the library's error for
    a traceback when debug logging is on."""

    def __init__(self, message: str, cause: BaseException) -> None:
        super().__init__(message)
        self.cause = cause

TRANSIENT_FAILURES_BEFORE_ERROR = 3
"""Consecutive transient failures after which a healthy mailbox is shown in state ``error``."""


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """Timing and policy of the sync loops; the defaults suit production, tests shorten them."""

    auto_sync: bool = False
    """``cache.autoSync``: ``False`` keeps out events last changed before the mailbox was first seen."""
    backward_months: int = 2
    """``cache.backward``: series and single meetings are kept from this many months ago."""
    forward_months: int = 3
    """``cache.forward``: series are expanded this many months ahead; single meetings are kept beyond it
    (:mod:`tc_calendar.sync.window`)."""
    poll_interval: float = 900.0
    """Seconds between safety-net incremental syncs while notifications work."""
    fallback_poll_interval: float = 30.0
    """Seconds between incremental syncs while a mailbox's notification stream is down."""
    transient_retry: BackoffPolicy = field(default_factory=lambda: BackoffPolicy(base=1.0, cap=300.0))
    error_retry: BackoffPolicy = field(default_factory=lambda: BackoffPolicy(base=30.0, cap=900.0, jitter=0.2))
    notification_retry: BackoffPolicy = field(default_factory=lambda: BackoffPolicy(base=2.0, cap=300.0))
    """Between attempts to get a group's notifications back (Subscribe failing, a stream that keeps breaking)."""
    slide_spread: float = 3600.0
    """Window slides are spread over this many seconds after midnight UTC, so mailboxes do not all ask at once
    (a slide reads one day: a FindItem and a GetItem or two per mailbox)."""
    max_window_syncs: int = 8
    """Window syncs running at once per provider, each from its read to its write (initial syncs of many mailboxes
    queue in priority order)."""
    roster_refresh_interval: float = 30.0
    """Seconds between looks at the store for mailboxes requested on demand elsewhere (the API, another node)."""
    on_demand_idle: float = 30 * 86400.0
    """An on-demand mailbox no client asked for in this many seconds (30 days) is dropped: no longer synchronized,
    its events no longer kept, its licence slot free. Asking again brings it back."""
    existence_check_timeout: float = 10.0
    """How long asking Exchange whether a mailbox asked for the first time exists may take."""
    syncing_after: float = 5.0
    """A first sync still reading Exchange after this many seconds (from getting its turn) is shown in state
    ``syncing`` until it commits. A quicker one goes from ``pending`` straight to ``ok``: the state would be
    visible for too short a time to be seen, and writing it costs a store write per mailbox."""
    subscription_wait: float = 30.0
    """At most this many seconds a mailbox's first sync waits for its streaming subscription to be made or refused
    (providers that ``notifies_subscriptions``; it is told at once either way, this only bounds a silent one)."""


@dataclass(slots=True)
class _Checkpoint:
    sync_state: str | None
    window: SyncWindow | None


def _slid_forward(old: SyncWindow, new: SyncWindow) -> bool:
    """Whether ``new`` is ``old`` moved forward in time with some overlap (the daily slide)."""
    return old.start <= new.start and old.end <= new.end and new.start < old.end and (old.end - old.start).days > 0


class EngineContext:
    """What every worker of one service shares: store, planner, options, clock, hooks, metrics."""

    def __init__(
        self,
        store: SyncStore,
        planner: SyncPlanner,
        options: SyncOptions,
        *,
        clock: WallClock,
        notify: NotifyHook | None,
        metrics: Metrics | None,
        account_failed: AccountFailureHook | None = None,
        mailbox_missing: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.planner = planner
        self.options = options
        self.clock = clock
        self.notify = notify
        self.metrics = metrics
        self.account_failed = account_failed
        #: Told (synchronously) when Exchange says a mailbox does not exist; the service decides what to do.
        self.mailbox_missing = mailbox_missing
        self.stopping = Flag()

    def window(self) -> SyncWindow:
        return current_window(self.clock, self.options.backward_months, self.options.forward_months)

    async def commit(self, actions: Sequence[Action], pending_since: float | None) -> list[Change]:
        """Apply one transaction; then tell the metrics and the notify hook about what changed."""
        changes = await self.store.apply(actions)
        if changes:
            # tc_calendar_changes is counted by whoever receives the notify hook (the service wiring), not here.
            if self.metrics is not None and pending_since is not None:
                self.metrics.sync_latency.observe(time.monotonic() - pending_since)
            if self.notify is not None:
                try:
                    result = self.notify(changes)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    log.exception("the change notify hook failed (the change log has the changes)")
        return changes


class MailboxWorker:
    """The sync loop of one mailbox (see the module docstring)."""

    def __init__(
        self,
        email: str,
        provider: CalendarProvider,
        gate: ThrottleGate,
        window_slots: asyncio.Semaphore,
        context: EngineContext,
        start: SyncStart | None = None,
        *,
        streaming: bool = False,
        awaits_subscription: bool = False,
    ) -> None:
        """``start`` is what the store held for the mailbox when the loop began, if the service read it already
        (it reads those of all the loops it starts together in one query); otherwise the loop reads its own.
        ``streaming``: whether the mailbox's notifications work (see :meth:`set_streaming`).
        ``awaits_subscription``: the mailbox is being subscribed to notifications by a provider that tells when
        (``notifies_subscriptions``), so its first sync reads after that (see :meth:`_until_subscribed`)."""
        self.email = email
        self.provider = provider
        self.gate = gate
        self.context = context
        self._window_slots = window_slots
        self._wake = Flag()
        self._pending_since: float | None = None
        self._read_since: float | None = None
        """When the latest read of changes from the checkpoint began (window or incremental sync)."""
        self._resync_since: float | None = None
        self._woken_by_change = False
        self._streaming = streaming
        self._subscription_told = Flag()
        """The mailbox's subscription was made or refused, or none is awaited: its first sync may read."""
        if not awaits_subscription:
            self._subscription_told.set()
        self._checkpoint: _Checkpoint | None = None
        self._force_window_sync = False
        self._slide_offset = pick_credential(email, 1000) / 1000 * context.options.slide_spread
        self.state: MailboxState | None = None
        self.last_error: str | None = None
        self.synced_once = Flag()
        self.cycles = 0
        self._transient_failures = 0
        self._last_ok_write = 0.0
        self._start = start
        self._first_seen_at: datetime | None = None
        # The store held none of this mailbox's events and no SyncState when the loop started (a mailbox's copies
        # are written only by its own loop), so its first window sync has nothing to diff against: no read.
        self._sees_nothing = False

    # ------------------------------------------------------------------------------------------ triggers

    def trigger(self, kind: NotificationKind = NotificationKind.CHANGED, since: float | None = None) -> None:
        """A change may be waiting in Exchange: run an incremental sync soon.

        A ``RESYNC`` for changes up to ``since`` (``time.monotonic()``: a subscription made then, every later
        change is notified) needs no sync of its own when a read from the checkpoint begins after it: it is
        dropped when this loop's latest read began later, and forgotten when the next read begins, unless
        something else asked for a sync meanwhile. So the first sync of a mailbox subscribed before it reads
        is not followed by a second one.

        An ``UNWATCHED`` (the subscription was refused) asks for no sync: it only lets a first sync that waits for
        the subscription read now.
        """
        if kind is NotificationKind.UNWATCHED:
            self._subscription_told.set()
            return
        if kind is NotificationKind.RESYNC and since is not None:
            self._subscription_told.set()
            if self._read_since is not None and self._read_since >= since:
                return
            self._resync_since = max(since, self._resync_since or since)
        else:
            self._woken_by_change = True
        if self._pending_since is None:
            self._pending_since = time.monotonic()
        self._wake.set()

    def _reading(self) -> None:
        """A read of changes from the checkpoint (window or incremental sync) begins now."""
        self._read_since = time.monotonic()
        if self._resync_since is not None and not self._woken_by_change and self._read_since >= self._resync_since:
            self._wake.clear()
            self._pending_since = None
        self._resync_since = None

    def set_streaming(self, healthy: bool) -> None:
        """Whether notifications for this mailbox work; if not, poll at the short fallback interval."""
        changed = healthy != self._streaming
        self._streaming = healthy
        if not healthy:
            self._subscription_told.set()  # no subscription is coming for now: a first sync reads without it
        if changed and not healthy:
            self._wake.set()

    # ------------------------------------------------------------------------------------------ loop

    async def run(self) -> None:
        options = self.context.options
        failures = 0
        while not self.context.stopping.is_set():
            try:
                await self.gate.wait()
                await self._cycle()
                failures = 0
                wait = options.poll_interval if self._streaming else options.fallback_poll_interval
            except ThrottledError as exc:  # every mailbox of the service account waits as long as Exchange asked
                self.gate.hold(options.transient_retry.delay(failures, asked=exc.backoff_seconds))
                # "<mailbox>: Exchange throttles service account ...; backing off 30.0s", as docs/operations.md says
                log.info("%s", exc if exc.mailbox else f"{self.email}: {exc}")
                self._wake.set()
                wait = 0.0
            except InvalidSyncStateError as exc:
                log.warning("%s: %s", self.email, exc)
                self._force_window_sync = True
                self._wake.set()
                wait = 0.0
            except AuthError as exc:
                failures += 1
                await self._record_account_error(exc)
                wait = options.error_retry.delay(failures)
            except MailboxError as exc:
                failures += 1
                await self._record_error(exc)
                wait = options.error_retry.delay(failures)
                if exc.reason is MailboxErrorReason.NOT_FOUND and self.context.mailbox_missing is not None:
                    self.context.mailbox_missing(self.email)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                if reported_elsewhere(exc):  # the database is down: the store logs that once, for every mailbox
                    log.debug("%s: sync failed: %s", self.email, exc)
                    wait = options.transient_retry.delay(failures)
                    await self._sleep(wait)
                    continue
                if not isinstance(exc, ProviderError):
                    exc = SyncFailed(f"sync failed: {describe(exc)}", exc)
                await self._record_error(exc, transient=True)
                wait = options.transient_retry.delay(failures)
            await self._sleep(wait)

    async def _sleep(self, seconds: float) -> None:
        """Wait for a trigger, the timeout, the next window slide, or shutdown, whichever comes first."""
        if self._wake.is_set() or self.context.stopping.is_set():
            return
        now = self.context.clock()
        until_slide = (next_slide(now) - now).total_seconds() + self._slide_offset
        await wait_any(max(0.0, min(seconds, until_slide)), self._wake, self.context.stopping)

    async def _cycle(self) -> None:
        log.debug("%s: sync cycle %d", self.email, self.cycles + 1)
        pending_since = self._pending_since
        self._pending_since = None
        self._wake.clear()
        self._woken_by_change = False
        self.cycles += 1
        try:
            checkpoint = await self._load_checkpoint()
            window = self.context.window()
            if self._force_window_sync or checkpoint.sync_state is None or checkpoint.window is None:
                await self._window_sync(window, checkpoint, pending_since)
            elif checkpoint.window == window:
                # Ahead of the initial syncs queued for the service account: a change waits on this one.
                with urgent_calls():
                    await self._incremental_sync(window, checkpoint, pending_since)
            elif _slid_forward(checkpoint.window, window) and not self.provider.window_bound_checkpoint:
                await self._slide(checkpoint.window, window, checkpoint, pending_since)
            else:  # the window settings changed, or the checkpoint follows only the old window: read it all again
                await self._window_sync(window, checkpoint, pending_since)
        except BaseException:
            # Keep the trigger so the retry measures latency from the first notification.
            if pending_since is not None and self._pending_since is None:
                self._pending_since = pending_since
            raise
        await self._record_ok()  # a no-op when the cycle's last commit carried the success

    async def _load_checkpoint(self) -> _Checkpoint:
        if self._checkpoint is None:
            start = self._start or (await self.context.store.load_sync_starts([self.email])).get(self.email)
            stored = None if start is None else start.checkpoint
            if start is not None:
                self._first_seen_at = start.first_seen_at
                # Without a SyncState the first cycle is a window sync, which uses (and clears) this.
                self._sees_nothing = start.event_count == 0 and start.checkpoint.sync_state is None
            window = None
            if stored is not None and stored.window_start is not None and stored.window_end is not None:
                window = SyncWindow(stored.window_start, stored.window_end)
            self._checkpoint = _Checkpoint(stored.sync_state if stored else None, window)
        return self._checkpoint

    # ------------------------------------------------------------------------------------------ window sync

    async def _window_sync(self, window: SyncWindow, checkpoint: _Checkpoint, pending_since: float | None) -> None:
        first = checkpoint.sync_state is None and self.state is not MailboxState.OK
        if first:
            await self._until_subscribed()
        # The slot is held until the commit: a window read waiting for the store holds the whole window in memory
        # (when the store lags behind the reads at a start with 10,000 mailboxes, about a thousand of them did).
        async with self._window_slots:
            reading = self._read_window(window, checkpoint)
            sync_state, items = await (self._showing_syncing(reading) if first else reading)
            admitted = await self._admit(items)
            stored = {} if self._sees_nothing else await self.context.store.stored_views(self.email)
            self._sees_nothing = False
            actions = self.context.planner.full(self.email, admitted, stored, window, sync_state)
            changes = await self._commit_last(actions, pending_since)
        self._checkpoint = _Checkpoint(sync_state, window)
        self._force_window_sync = False
        log.info(
            "%s: window %s..%s synced: %d items, %d changes",
            self.email,
            window.start.date(),
            window.end.date(),
            len(admitted),
            len(changes),
        )

    async def _until_subscribed(self) -> None:
        """Wait until the provider tells of the mailbox's subscription (bounded by ``subscription_wait``).

        A first read that begins before the subscription is in place misses what changes in between, which
        nothing notifies: a second read catches up (see :meth:`trigger`). Waiting, outside the window slots, costs
        the first read one Subscribe's time (subscriptions take their turns ahead of reads in the provider's pool)
        and saves that read: at a start with 1,000 mailboxes, about 4% of the requests.
        """
        if not self._subscription_told.is_set():
            await wait_any(self.context.options.subscription_wait, self._subscription_told, self.context.stopping)
            self._subscription_told.set()  # a retried first sync does not wait again

    async def _read_window(self, window: SyncWindow, checkpoint: _Checkpoint) -> tuple[str, list[RemoteItem]]:
        """The provider's snapshot of the window with the checkpoint to continue from (see the module docstring)."""
        start_state = None if self._force_window_sync else checkpoint.sync_state
        self._reading()
        snapshot = await self.provider.read_window(self.email, window, start_state)
        return snapshot.sync_state, list(snapshot.items)

    async def _showing_syncing(self, work: Awaitable[_T]) -> _T:
        """Await ``work``; once it has run ``syncing_after`` seconds, show the mailbox in state ``syncing``.

        The write happens here, in the worker, while ``work`` goes on: it is over before the commit that records
        the outcome (``ok``) or before an error is recorded, so it can never land after them.
        """
        task = asyncio.ensure_future(work)
        try:
            done, _ = await asyncio.wait([task], timeout=self.context.options.syncing_after)
            if not done:
                await self._set_state(MailboxState.SYNCING)
            return await task
        finally:
            task.cancel()  # only when the worker itself is cancelled or the write failed

    async def _slide(
        self, old: SyncWindow, new: SyncWindow, checkpoint: _Checkpoint, pending_since: float | None
    ) -> None:
        """The daily move of the window, without reading it all again.

        Only what slid in is read from Exchange (:func:`~tc_calendar.sync.window.slide_read`): the series with
        occurrences in ``[old.end, new.end)``, expanded over the whole new window, and the single meetings that
        came within the singles' limit. What slid out is dropped from the store's own record. The SyncState stays:
        changes since the last incremental sync are picked up by the next one, and replaying what the slice
        already brought is a no-op.
        """
        items = [item async for item in self.provider.initial_items(self.email, slide_read(old, new))]
        admitted = await self._admit(items)
        stored = await self.context.store.stored_views(self.email)
        slid_out = [
            occurrence.key
            for occurrence, _ in await self.context.store.load_view(self.email, old.start, new.start)
            if not new.overlaps(occurrence.start, occurrence.end)
        ]
        actions = self.context.planner.slide(self.email, admitted, slid_out, stored, new, checkpoint.sync_state)
        changes = await self._commit_last(actions, pending_since)
        self._checkpoint = _Checkpoint(checkpoint.sync_state, new)
        if self._resync_since is not None:  # a slide reads no changes: the catch-up asked for is still due
            self._wake.set()
        log.info(
            "%s: window moved to %s..%s: %d items read, %d changes",
            self.email,
            new.start.date(),
            new.end.date(),
            len(admitted),
            len(changes),
        )

    # ------------------------------------------------------------------------------------------ incremental

    async def _incremental_sync(
        self, window: SyncWindow, checkpoint: _Checkpoint, pending_since: float | None
    ) -> None:
        sync_state = checkpoint.sync_state
        self._reading()
        while True:
            batch = await self.provider.sync_changes(self.email, sync_state)
            admitted = await self._admit(list(batch.items))
            if len(admitted) != len(batch.items):
                batch = SyncBatch(
                    batch.mailbox, tuple(admitted), batch.deleted_item_ids, batch.sync_state, batch.includes_last
                )
            actions: list[Action] = []
            if batch.items or batch.deleted_item_ids:
                scope = self.context.planner.incremental_scope(batch)
                stored = await self.context.store.stored_views(self.email, scope)
                actions = self.context.planner.incremental(self.email, batch, stored, window)
            elif batch.sync_state != sync_state:
                actions = [SaveCheckpoint(self.email, batch.sync_state, window.start, window.end)]
            if actions:
                commit = self._commit_last if batch.includes_last else self.context.commit
                changes = await commit(actions, pending_since)
                if changes:
                    log.debug("%s: %d changes", self.email, len(changes))
            sync_state = batch.sync_state
            self._checkpoint = _Checkpoint(sync_state, window)
            if batch.includes_last:
                return

    # ------------------------------------------------------------------------------------------ autoSync

    async def _admit(self, items: list[RemoteItem]) -> list[RemoteItem]:
        """``cache.autoSync: false``: only items created or changed since the mailbox was first seen.

        Seed 3.1.2: "previously created events will not be displayed or synchronized ..., but other events will
        be". An item counts as new when Exchange's LastModifiedTime is at or after the mailbox's first-seen time
        (recorded by the store when the mailbox was registered); an old event that is edited later becomes
        visible from then on, because it was "changed afterwards".
        """
        if self.context.options.auto_sync:
            return items
        since = await self._first_seen()
        if since is None:
            return items
        # Exchange keeps LastModifiedTime in whole seconds: an item changed in the second of the first start counts.
        since = since.replace(microsecond=0)
        return [item for item in items if item.last_modified is None or item.last_modified >= since]

    async def _first_seen(self) -> datetime | None:
        """Read once per worker: the store sets ``first_seen_at`` when it registers the mailbox and never again."""
        if self._first_seen_at is None:
            status = await self.context.store.get_mailbox(self.email)
            self._first_seen_at = None if status is None else status.first_seen_at
        return self._first_seen_at

    # ------------------------------------------------------------------------------------------ status

    async def _set_state(self, state: MailboxState) -> None:
        self.state = state
        await self.context.store.set_mailbox_state(self.email, state)

    def _success_due(self) -> bool:
        """Whether the store should hear of this cycle's success: a state to change, or a minute since the last."""
        return (
            self.state is not MailboxState.OK
            or self.last_error is not None
            or time.monotonic() - self._last_ok_write > 60
        )

    def _success_written(self) -> None:
        self.last_error = None
        self.state = MailboxState.OK
        self._last_ok_write = time.monotonic()

    async def _commit_last(self, actions: Sequence[Action], pending_since: float | None) -> list[Change]:
        """The cycle's last commit: when a success is due, it is recorded in the same transaction
        (``RecordSyncSuccess``), so a successful cycle costs one write, not two."""
        if not self._success_due():
            return await self.context.commit(actions, pending_since)
        changes = await self.context.commit([*actions, RecordSyncSuccess(self.email)], pending_since)
        self._success_written()
        return changes

    async def _record_ok(self) -> None:
        self._transient_failures = 0
        if self._success_due():
            await self.context.store.record_sync_success(self.email)
            self._success_written()
        self.synced_once.set()

    def note_account_error(self, message: str) -> None:
        """The service account serving this mailbox was rejected (another mailbox's loop found out): the store
        already shows this mailbox in error; remember it so a success is written and the same failure is not
        logged again."""
        self.last_error = message
        self.state = MailboxState.ERROR

    async def _record_account_error(self, exc: AuthError) -> None:
        if self.context.account_failed is None:
            await self._record_error(exc)
            return
        message = str(exc) or type(exc).__name__
        if message != self.last_error:
            log.warning("%s: %s", self.email, message)
        self.note_account_error(message)
        with contextlib.suppress(Exception):  # the database may be what failed; the loop retries anyway
            await self.context.account_failed(self.email, message)

    async def _record_error(self, exc: BaseException, *, transient: bool = False) -> None:
        message = str(exc) or type(exc).__name__
        if message != self.last_error:  # once per distinct failure; the library's traceback only when debugging
            cause = exc.cause if isinstance(exc, SyncFailed) else None
            trace = cause if cause is not None and log.isEnabledFor(logging.DEBUG) else None
            log.warning("%s: %s", self.email, message, exc_info=trace)
        self.last_error = message
        if transient:
            self._transient_failures += 1
            if self.state is MailboxState.OK and self._transient_failures < TRANSIENT_FAILURES_BEFORE_ERROR:
                return  # a passing network failure does not make a healthy mailbox "broken"
        self.state = MailboxState.ERROR
        with contextlib.suppress(Exception):  # the database may be what failed; the loop retries anyway
            await self.context.store.record_sync_error(self.email, message)
