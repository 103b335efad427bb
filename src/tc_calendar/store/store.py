"""The :class:`Store`: the connector's only door to its database.

Each method runs in its own transaction on a connection from the pool and returns plain values (domain types of
:mod:`tc_calendar.model` or the records of :mod:`tc_calendar.store.records`); no session or connection ever
reaches a caller. Time comes from an injectable clock so that tests of leases and launches are exact.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tc_calendar.addresses import MailboxAddress
from tc_calendar.clocks import WallClock, utc_now
from tc_calendar.failure_log import FailureLog
from tc_calendar.model import Change, ChangeKind, Occurrence, OccurrenceKey, Response
from tc_calendar.store import applying, caches, changelog, launches, mailboxes, reads
from tc_calendar.store.engine import connection_limit, create_engine, is_postgresql, writer
from tc_calendar.store.errors import DatabaseError
from tc_calendar.store.group_commit import GroupCommit
from tc_calendar.store.notify import NOTIFIER_OPTION, ChangeListener, ChangeListeners, PostgresChangeListener
from tc_calendar.store.records import (
    ConfiguredMailbox,
    LaunchRecord,
    LaunchState,
    MailboxState,
    MailboxStatus,
    NodeCount,
    SyncStart,
    TrueConfUser,
)
from tc_calendar.sync.actions import Action
from tc_calendar.sync.diff import StoredScope, StoredView

log = logging.getLogger(__name__)

GROUP_BATCHES = 100
"""At most this many waiting sync batches are written in one transaction."""
GROUP_ACTIONS = 5_000
"""... and at most this many actions (a larger batch alone still goes)."""
GROUP_GATHER_POSTGRESQL = 0.05
"""On PostgreSQL, under a steady stream of batches, a group waits at most this many seconds for more (see below)."""
GROUP_GATHER_BATCHES = 10
"""... and no longer than it has this many batches. Under a steady stream
(:data:`~tc_calendar.store.group_commit.STREAM_GROUPS` groups written back to back) a group waits until it has this
many batches, or for as long as the last group took to write, at most ``GROUP_GATHER_POSTGRESQL``. Its transactions
are quick, so groups stayed at about 2 batches during an initial sync and each paid a transaction's fixed cost on
both sides. When as many batches are waiting already, or on SQLite, where the writer is the limit of an initial
sync, nothing waits (bench/README.md)."""


def _describe(error: BaseException) -> str:
    """The driver's own message, without the SQL statement and parameters SQLAlchemy appends."""
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__


class Store:
    """Async repository over SQLite or PostgreSQL; build it with :meth:`open` and close it when done."""

    def __init__(self, engine: AsyncEngine, clock: WallClock = utc_now, *, connections: int | None = None) -> None:
        """``connections``: how many connections ``engine``'s pool hands out at once (None: no limit)."""
        self._engine = engine
        postgresql = is_postgresql(engine)
        #: Names this store's NOTIFYs, so that it can tell its own commits from other instances' (store/notify.py).
        self._notifier = secrets.token_hex(8)
        self._writer = writer(engine).execution_options(**{NOTIFIER_OPTION: self._notifier})
        # A read of several queries (occurrences, then their attendees) sees one snapshot. SQLite's deferred
        # BEGIN in WAL mode does that already.
        self._reader = engine.execution_options(isolation_level="REPEATABLE READ") if postgresql else engine
        # A read or write of one statement needs no transaction around it on PostgreSQL: the statement is atomic and
        # sees one snapshot by itself, and BEGIN and COMMIT (or ROLLBACK) would be two more round trips, each a wait
        # for the server and then for the event loop (bench/store_trips.py). SQLite's BEGIN takes no trip to a server.
        self._one_statement_reader = engine.execution_options(isolation_level="AUTOCOMMIT") if postgresql else engine
        self._one_statement_writer = (
            self._writer.execution_options(isolation_level="AUTOCOMMIT") if postgresql else self._writer
        )
        self._clock = clock
        # SQLite lets one transaction write at a time. Writers queue here, in the process, instead of each
        # holding a pooled connection while SQLite makes it wait: with many mailboxes syncing at once the
        # waiting writers would otherwise exhaust the pool and starve the reads.
        self._write_turn = asyncio.Lock() if not postgresql else None
        # On PostgreSQL, writers of occurrences and of the change log queue behind one advisory lock (commit order
        # is cursor order). They queue here first, so that at most one of them per process holds a connection while
        # it waits for that lock: a thousand mailboxes syncing at once would otherwise hold every pooled connection
        # idle and the pool would time out on everyone else.
        self._log_turn = asyncio.Lock() if postgresql else None
        # Whoever needs a connection waits here, in the event loop, as long as it takes, rather than in the pool,
        # which gives up after its pool_timeout: no caller fails for want of a connection.
        self._connection_turns = asyncio.Semaphore(connections) if connections else None
        self._listeners = ChangeListeners()
        self._batches: GroupCommit[Sequence[Action], list[Change]] = GroupCommit(
            self._apply_group,
            size_of=len,
            max_items=GROUP_BATCHES,
            max_size=GROUP_ACTIONS,
            max_gather=GROUP_GATHER_POSTGRESQL if postgresql else 0.0,
            gather_until=GROUP_GATHER_BATCHES,
        )
        self._remote: PostgresChangeListener | None = None
        #: An outage is logged here once, with a count while it lasts and once when it ends.
        self._outage = FailureLog(log, "the database", leave_database_errors=False)

    @classmethod
    def open(cls, url: str, *, clock: WallClock = utc_now, **engine_options: Any) -> Store:
        """A store on the (already migrated) database at ``url``; connections are made lazily."""
        return cls(create_engine(url, **engine_options), clock, connections=connection_limit(engine_options))

    async def close(self) -> None:
        if self._remote is not None:
            await self._remote.stop()
        await self._engine.dispose()

    def add_change_listener(self, listener: ChangeListener) -> None:
        """Call ``listener()`` after every commit that appended change-log entries (a wake-up, not the data)."""
        self._listeners.add(listener)

    def remove_change_listener(self, listener: ChangeListener) -> None:
        self._listeners.remove(listener)

    async def listen_to_other_instances(self) -> None:
        """On PostgreSQL, also wake the listeners when another connector instance appends (no-op on SQLite)."""
        if self._remote is None and is_postgresql(self._engine):
            self._remote = PostgresChangeListener(
                self._engine, self._listeners, self._connection_turns, own_notifier=self._notifier
            )
            await self._remote.start()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _failed(self, error: BaseException, doing: str) -> DatabaseError:
        """The error to raise for a failed database operation; logged here, once per outage, not by callers."""
        failure = DatabaseError(f"database {doing} failed: {_describe(error)}")
        failure.__cause__ = error
        self._outage.failed(failure)
        return failure

    @asynccontextmanager
    async def _connection_turn(self) -> AsyncIterator[None]:
        """Wait until the pool has a connection to spare (released after the connection went back to the pool)."""
        if self._connection_turns is None:
            yield
        else:
            async with self._connection_turns:
                yield

    @asynccontextmanager
    async def _read(self, *, one_statement: bool = False) -> AsyncIterator[AsyncConnection]:
        """A read in one snapshot; ``one_statement`` for a read of a single statement (or of several whose results
        need not agree with each other), which then runs outside a transaction (see :meth:`__init__`)."""
        reader = self._one_statement_reader if one_statement else self._reader
        try:
            async with self._connection_turn(), reader.connect() as connection:
                yield connection
        except (DBAPIError, OSError) as error:
            raise self._failed(error, "read") from error
        self._outage.succeeded()

    @asynccontextmanager
    async def _write(self, logged: bool = False, *, one_statement: bool = False) -> AsyncIterator[AsyncConnection]:
        """One write transaction; ``logged`` for writes that queue behind other writers of the change log
        (:func:`~tc_calendar.store.changelog.serialize_writers`); ``one_statement`` for a write of a single statement,
        which then runs outside a transaction on PostgreSQL (see :meth:`__init__`).

        The turn (SQLite: every write; PostgreSQL: a logged write) is taken before a pooled connection. On SQLite it is
        handed on right after the commit: giving the connection back to the pool (its reset) is another step through
        aiosqlite's thread, which the next writer need not wait for. On PostgreSQL it is handed on just before the
        COMMIT: the transaction still holds the change log's advisory lock until its commit is durable, so the next
        writer's BEGIN and lock request travel while the server flushes the commit, and its first read comes after it
        (commit order stays cursor order, and each batch still reads what the one before it wrote)."""
        turn = self._write_turn if self._write_turn is not None else self._log_turn if logged else None
        if turn is not None:
            await turn.acquire()
        try:
            engine = self._one_statement_writer if one_statement else self._writer
            async with self._connection_turn(), engine.connect() as connection:
                try:
                    transaction = await connection.begin()
                    try:
                        yield connection
                    except BaseException:
                        await transaction.rollback()
                        raise
                    if turn is not None and self._write_turn is None:
                        turn.release()  # PostgreSQL: before the commit (see above)
                        turn = None
                    await transaction.commit()
                finally:
                    if turn is not None and self._write_turn is not None:
                        turn.release()
                        turn = None
        except (DBAPIError, OSError) as error:
            raise self._failed(error, "write") from error
        finally:
            if turn is not None:
                turn.release()
        self._outage.succeeded()

    # --- occurrences -------------------------------------------------------------------------------------------

    async def apply(self, actions: Sequence[Action]) -> list[Change]:
        """Apply one batch of sync actions atomically; return the change-log entries it appended (maybe none).

        Batches that wait for the writer's turn meanwhile are written in one transaction with it
        (:mod:`~tc_calendar.store.group_commit`); each is still all or nothing, and its entries are its own."""
        return await self._batches.submit(actions)

    async def _apply_group(self, group: list[Sequence[Action]]) -> list[list[Change] | BaseException]:
        """One transaction for the group; if it fails, each batch alone, so that an error stays with its batch."""
        try:
            async with self._write(logged=True) as connection:
                outcomes: list[list[Change] | BaseException] = list(
                    await applying.apply_batches(connection, group, self._clock())
                )
        except Exception as error:
            if len(group) == 1:
                return [error]
            outcomes = [await self._apply_alone(actions) for actions in group]
        cursors = [changes[-1].cursor for changes in outcomes if isinstance(changes, list) and changes]
        if cursors:
            self._listeners.fire(max(cursors))
        return outcomes

    async def _apply_alone(self, actions: Sequence[Action]) -> list[Change] | BaseException:
        try:
            async with self._write(logged=True) as connection:
                return await applying.apply_actions(connection, actions, self._clock())
        except Exception as error:
            return error

    async def load_view(self, user: str, start: datetime, end: datetime) -> list[tuple[Occurrence, Response]]:
        async with self._read() as connection:
            return await reads.load_view(connection, MailboxAddress(user), start, end)

    async def get_occurrence(self, key: OccurrenceKey) -> Occurrence | None:
        async with self._read() as connection:
            return await reads.get_occurrence(connection, key)

    async def get_occurrences(self, keys: Collection[OccurrenceKey]) -> dict[OccurrenceKey, Occurrence]:
        """Many occurrences in one read (keys not stored are left out)."""
        async with self._read() as connection:
            return await reads.get_occurrences(connection, list(keys))

    async def item_ids(self, mailbox: str) -> dict[OccurrenceKey, str]:
        """Key -> Exchange item id each occurrence came from in the mailbox."""
        async with self._read(one_statement=True) as connection:
            return await reads.item_ids(connection, MailboxAddress(mailbox))

    async def stored_views(self, mailbox: str, scope: StoredScope | None = None) -> dict[OccurrenceKey, StoredView]:
        """Key -> item id, own-copy hash, answer and whether it is the organizer's copy, for the sync core; only the
        part an incremental page can touch when ``scope`` is given."""
        async with self._read(one_statement=True) as connection:
            return await reads.stored_views(connection, MailboxAddress(mailbox), scope)

    async def launches_between(self, start: datetime, end: datetime) -> list[Occurrence]:
        """Occurrences with a conference link, not cancelled, starting in ``[start, end)``, by start."""
        async with self._read() as connection:
            return await reads.conference_occurrences(connection, start, end)

    # --- change log ---------------------------------------------------------------------------------------------

    async def changes_after(self, cursor: int, users: set[str] | None = None, limit: int = 1000) -> list[Change]:
        """Entries after ``cursor`` in order (for ``users`` only, unless None); resume from the last one's cursor."""
        wanted: set[str] | None = None if users is None else {MailboxAddress(user) for user in users}
        async with self._read(one_statement=True) as connection:
            return await changelog.changes_after(connection, cursor, wanted, limit)

    async def latest_cursor(self) -> int:
        async with self._read(one_statement=True) as connection:
            return await changelog.latest_cursor(connection)

    async def append_change(
        self, kind: ChangeKind, user: str, key: OccurrenceKey | None = None, payload: dict[str, object] | None = None
    ) -> Change:
        """Append one entry that is not about event content (conference started or failed, mailbox state)."""
        entry = changelog.NewChange(kind, MailboxAddress(user), key, dict(payload or {}))
        async with self._write(logged=True) as connection:
            await changelog.serialize_writers(connection)
            (change,) = await changelog.append(connection, [entry], self._clock())
        self._listeners.fire(change.cursor)
        return change

    async def pruned_through(self) -> int:
        """The highest cursor ever pruned (0 if none): a client resuming from below it must reload."""
        async with self._read(one_statement=True) as connection:
            return await changelog.pruned_through(connection)

    async def prune_changes(self, before: datetime) -> int:
        """Forget entries older than ``before`` (clients further behind must reload their view)."""
        async with self._write() as connection:
            return await changelog.prune_before(connection, before)

    # --- mailboxes ----------------------------------------------------------------------------------------------

    async def register_config_mailboxes(self, entries: Sequence[ConfiguredMailbox]) -> None:
        """Make the config mailboxes exactly ``entries`` in this order (mailboxes no longer listed are disabled)."""
        async with self._write(logged=True) as connection:
            await mailboxes.register_config(connection, entries, self._clock())

    async def register_on_demand_mailbox(self, email: str, provider_index: int = 0) -> bool:
        """Add a mailbox a client asked for; True when it was not known before."""
        async with self._write(logged=True) as connection:
            return await mailboxes.register_on_demand(connection, email, provider_index, self._clock())

    async def list_mailboxes(self) -> list[MailboxStatus]:
        async with self._read(one_statement=True) as connection:
            return await mailboxes.list_statuses(connection)

    async def attendee_directory(self, emails: Sequence[str]) -> dict[str, tuple[str, bool]]:
        """Names of ``emails`` and whether each is a room, as meetings' attendee lists say (``users.list``)."""
        async with self._read() as connection:
            return await reads.attendee_directory(connection, [MailboxAddress(email) for email in emails])

    async def get_mailbox(self, email: str) -> MailboxStatus | None:
        async with self._read(one_statement=True) as connection:
            return await mailboxes.get_status(connection, email)

    async def touch_mailbox(self, email: str) -> None:
        """A client asked for ``email``'s calendar now."""
        async with self._write(one_statement=True) as connection:
            await mailboxes.update_mailbox(connection, email, last_requested_at=self._clock())

    async def forget_mailbox(self, email: str, *, requested_before: datetime | None = None) -> bool:
        """Delete an on-demand mailbox (clear what its user sees first); config mailboxes are kept. With
        ``requested_before``, only if no client asked for it since (see :func:`mailboxes.forget_on_demand`)."""
        async with self._write() as connection:
            return await mailboxes.forget_on_demand(connection, email, requested_before)

    async def set_mailbox_state(self, email: str, state: MailboxState) -> None:
        async with self._write(one_statement=True) as connection:
            await mailboxes.update_mailbox(connection, email, state=state.value)

    async def record_sync_success(self, email: str) -> None:
        """The mailbox synchronized: state ``ok`` and the time of success (the last error is kept for admins)."""
        async with self._write(one_statement=True) as connection:
            await mailboxes.update_mailbox(
                connection, email, state=MailboxState.OK.value, last_success_at=self._clock()
            )

    async def record_sync_error(self, email: str, error: str) -> None:
        async with self._write(one_statement=True) as connection:
            now = self._clock()
            await mailboxes.update_mailbox(
                connection, email, state=MailboxState.ERROR.value, last_error=error, last_error_at=now
            )

    async def record_sync_errors(self, emails: Collection[str], error: str) -> None:
        """The same failure for many mailboxes in one transaction (a service account Exchange rejects), so a
        reader sees all of them in error or none."""
        async with self._write() as connection:
            await mailboxes.record_errors(connection, sorted({MailboxAddress(e) for e in emails}), error, self._clock())

    async def load_sync_starts(self, emails: Collection[str]) -> dict[str, SyncStart]:
        """Checkpoint and first-seen time of each registered mailbox of ``emails`` (by lower-case address), read
        together: the sync loops of many mailboxes start at once."""
        async with self._read(one_statement=True) as connection:
            return await mailboxes.load_sync_starts(connection, list(emails))

    async def lease_mailboxes(self, owner: str, limit: int, ttl: timedelta) -> list[str]:
        """Lease up to ``limit`` more mailboxes that nobody holds (or whose lease expired); returns them."""
        async with self._write() as connection:
            return await mailboxes.lease_free(connection, owner, limit, self._clock(), ttl)

    async def lease_mailbox(self, email: str, owner: str, ttl: timedelta) -> bool:
        """Take (or renew) one mailbox's lease unless another owner holds it; True when ``owner`` holds it."""
        async with self._write() as connection:
            return await mailboxes.lease_one(connection, email, owner, self._clock(), ttl)

    async def renew_leases(self, owner: str, ttl: timedelta) -> list[str]:
        """Extend all of ``owner``'s leases at once (one write per node and round, not one per mailbox)."""
        async with self._write(one_statement=True) as connection:
            return await mailboxes.renew_all(connection, owner, self._clock(), ttl)

    async def release_lease(self, owner: str, email: str | None = None) -> None:
        """Release one lease, or all of ``owner``'s (at shutdown) when ``email`` is None."""
        async with self._write() as connection:
            await mailboxes.release(connection, owner, email)

    async def release_leases(self, owner: str, emails: Collection[str]) -> None:
        """Give up ``owner``'s leases of ``emails`` (more than its part, now that more nodes share the database)."""
        async with self._write() as connection:
            await mailboxes.release_some(connection, owner, list(emails))

    async def announce_node(self, node: str, ttl: timedelta) -> NodeCount:
        """Say that ``node`` is alive for ``ttl``; how many nodes are alive and how many mailboxes they share."""
        async with self._write() as connection:
            return await mailboxes.announce_node(connection, node, self._clock(), ttl)

    async def forget_node(self, node: str) -> None:
        async with self._write() as connection:
            await mailboxes.forget_node(connection, node)

    # --- conference launches -------------------------------------------------------------------------------------

    async def claim_launch(self, key: OccurrenceKey, conference_id: str, scheduled_at: datetime, owner: str) -> bool:
        """True for exactly one caller per occurrence, ever: that caller starts the conference."""
        async with self._write() as connection:
            return await launches.claim(connection, key, conference_id, scheduled_at, owner, self._clock())

    async def claim_launches(
        self, wanted: Sequence[tuple[OccurrenceKey, str, datetime]], owner: str
    ) -> dict[OccurrenceKey, tuple[LaunchRecord, bool]]:
        """Claim many (key, conference ID, start) in one transaction: each key's record and whether ``owner`` just
        claimed it (see :func:`launches.claim_many`)."""
        async with self._write() as connection:
            return await launches.claim_many(connection, wanted, owner, self._clock())

    async def mark_runs_sent(self, keys: Sequence[OccurrenceKey], owner: str) -> set[OccurrenceKey]:
        """Write down that ``owner`` sends ``run`` now for many claims, in one transaction; returns those ``owner``
        still holds (see :func:`launches.mark_runs_sent`)."""
        async with self._write() as connection:
            return await launches.mark_runs_sent(connection, keys, owner, self._clock())

    async def finish_launch(
        self,
        key: OccurrenceKey,
        state: LaunchState,
        error: str | None = None,
        late: bool = False,
        *,
        run_refused: bool = False,
        permanent: bool = False,
        owner: str | None = None,
    ) -> None:
        """Record how a claimed start ended; ``run_refused`` when TrueConf Server answered the ``run`` of this
        attempt that it did not start, ``permanent`` for a failure retrying cannot help, ``owner`` to record it
        only while that caller still holds the claim (see :func:`launches.finish`)."""
        async with self._write() as connection:
            await launches.finish(connection, key, state, error, late, self._clock(), run_refused, permanent, owner)

    async def release_launch(self, key: OccurrenceKey, owner: str, state: LaunchState, reason: str) -> None:
        """Hand back ``owner``'s claim in progress as ``released`` or ``skipped``; see :func:`launches.release`."""
        async with self._write() as connection:
            await launches.release(connection, key, owner, state, reason, self._clock())

    async def retry_launch(
        self,
        key: OccurrenceKey,
        owner: str,
        scheduled_at: datetime | None = None,
        conference_id: str | None = None,
        stale_before: datetime | None = None,
    ) -> bool:
        """Claim a failed or released launch again, or take over one claimed before ``stale_before``, for its current
        start time; True for exactly one caller (see :func:`launches.retry`)."""
        async with self._write() as connection:
            return await launches.retry(
                connection, key, owner, self._clock(), scheduled_at, conference_id, stale_before
            )

    async def get_launch(self, key: OccurrenceKey) -> LaunchRecord | None:
        async with self._read(one_statement=True) as connection:
            return await launches.get(connection, key)

    async def get_launches(self, keys: Collection[OccurrenceKey]) -> dict[OccurrenceKey, LaunchRecord]:
        """The launch records of those of ``keys`` that have one, in one read."""
        async with self._read(one_statement=True) as connection:
            return await launches.get_many(connection, list(keys))

    async def list_launches(
        self, states: Collection[LaunchState] | None = None, limit: int = 1000
    ) -> list[LaunchRecord]:
        async with self._read(one_statement=True) as connection:
            return await launches.list_launches(connection, states, limit)

    async def prune_launches(self, before: datetime) -> int:
        """Forget finished launches scheduled before ``before`` (keep it behind the sync window's start)."""
        async with self._write() as connection:
            return await launches.prune_before(connection, before)

    # --- caches ----------------------------------------------------------------------------------------------

    async def upsert_trueconf_users(self, users: Sequence[TrueConfUser]) -> None:
        async with self._write() as connection:
            await caches.upsert_trueconf_users(connection, users)

    async def lookup_trueconf_users(self, emails: Iterable[str]) -> dict[str, TrueConfUser]:
        async with self._read(one_statement=True) as connection:
            return await caches.lookup_trueconf_users(connection, emails)

    async def get_meta(self, key: str) -> str | None:
        async with self._read(one_statement=True) as connection:
            return await caches.get_meta(connection, key)

    async def set_meta(self, key: str, value: str) -> None:
        async with self._write(one_statement=True) as connection:
            await caches.set_meta(connection, key, value)

    async def set_meta_default(self, key: str, value: str) -> str:
        """Store ``value`` unless the key is set; return what is stored (e.g. a generated secret, first one wins)."""
        async with self._write() as connection:
            return await caches.set_meta_default(connection, key, value)
