"""Steps through the event loop per store call: PostgreSQL round trips and SQLite thread hops.

Each round trip to PostgreSQL (asyncpg) and each step through aiosqlite's thread is one wait for the event loop; on
a connector busy parsing Exchange answers every such wait lasts until the loop comes round again, and the writers
of the change log take them one writer at a time. These counts do not depend on how busy the machine is, unlike
the times in ``sync.py``. The calls are those of a mailbox's sync: a batch of 9 meetings with a checkpoint and
the sync success (``apply``), the read of the mailbox's stored view, a checkpoint read and a status write.

Counted at the driver: asyncpg's ``execute`` (simple queries: BEGIN, COMMIT, ROLLBACK), a prepared statement's
``fetch``, ``executemany``, ``fetchrow`` and statement preparations missing from the caches; aiosqlite's calls into
its thread. Runs SQLite in a temporary directory, and PostgreSQL with ``--pg-url`` (default ``TC_CALENDAR_TEST_PG``;
a new schema, dropped afterwards).

    .venv/bin/python bench/store_trips.py [--pg-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import tempfile
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite.core
import asyncpg
from asyncpg import connection as asyncpg_connection
from asyncpg import prepared_stmt
from sqlalchemy.engine import make_url

from tc_calendar.model import Attendee, Occurrence, OccurrenceKey, Response, Role
from tc_calendar.store import Store, upgrade_async
from tc_calendar.store.records import ConfiguredMailbox
from tc_calendar.sync.actions import Action, PutOccurrence, RecordSyncSuccess, SaveCheckpoint
from tc_calendar.sync.content_hash import content_hash

RESULTS = Path(__file__).parent / "results" / "store_trips.json"
USERS = [f"user{n:03d}@bench.test" for n in range(40)]
START = datetime(2026, 6, 1, 8, tzinfo=UTC)
CALLS = 20

trips: Counter[str] = Counter()


def _count(cls: Any, name: str, label: str) -> None:
    original = getattr(cls, name)

    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        trips[label] += 1
        return await original(self, *args, **kwargs)

    setattr(cls, name, counted)


def instrument() -> None:
    for name in ("execute", "executemany", "fetchrow"):
        _count(asyncpg_connection.Connection, name, f"pg {name}")
    _count(prepared_stmt.PreparedStatement, "fetch", "pg bind+execute")
    original = asyncpg_connection.Connection._get_statement

    async def get_statement(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        record_class = kwargs.get("record_class") or self._protocol.get_record_class()
        key = (query, record_class, kwargs.get("ignore_custom_codec", False))
        if not kwargs.get("use_cache", True) or self._stmt_cache.get(key) is None:
            trips["pg prepare"] += 1
        return await original(self, query, *args, **kwargs)

    asyncpg_connection.Connection._get_statement = get_statement
    hop = aiosqlite.core.Connection._execute

    async def hopped(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips[f"sqlite {getattr(fn, '__name__', 'call')}"] += 1
        return await hop(self, fn, *args, **kwargs)

    aiosqlite.core.Connection._execute = hopped


def first_sync(users: list[str], n: int) -> list[Action]:
    """Mailbox n's first sync: its own 3 meetings and the 6 it is invited to, then its checkpoint and success."""
    me = users[n]
    actions: list[Action] = []
    for day in range(3):
        for organizer_index in (n, n - 1, n - 2):
            organizer = users[organizer_index % len(users)]
            start = START + timedelta(days=day, hours=organizer_index % 9)
            occurrence = Occurrence(
                OccurrenceKey(f"uid-{organizer_index % len(users)}-{day}"), f"{organizer} #{day}", start,
                start + timedelta(minutes=30),
                organizer=Attendee(organizer, organizer, Role.ORGANIZER, Response.ORGANIZER),
                attendees=tuple(Attendee(users[(organizer_index + k) % len(users)], "", Role.REQUIRED)
                                for k in (1, 2)),
            )
            mine = organizer == me
            actions.append(PutOccurrence(me, f"item-{me}-{organizer_index}-{day}", occurrence,
                                         Response.ORGANIZER if mine else Response.NO_RESPONSE, mine,
                                         content_hash(occurrence)))
    return [*actions, SaveCheckpoint(me, "state", START, START + timedelta(days=60)), RecordSyncSuccess(me)]


async def measure(url: str) -> dict[str, dict[str, float]]:
    await upgrade_async(url)
    async with Store.open(url) as store:
        await store.register_config_mailboxes([ConfiguredMailbox(user) for user in USERS])
        for n in range(CALLS):  # as in a long run: connections open, statements prepared
            await store.apply(first_sync(USERS, n))
        calls: dict[str, Callable[[int], Awaitable[Any]]] = {
            "apply (9 meetings, checkpoint, success)": lambda n: store.apply(first_sync(USERS, n)),
            "stored_views (read)": lambda n: store.stored_views(USERS[n]),
            "load_sync_starts (read)": lambda n: store.load_sync_starts([USERS[n]]),
            "set_mailbox_state (write)": lambda n: store.record_sync_success(USERS[n]),
        }
        found = {}
        for name, call in calls.items():
            trips.clear()
            for n in range(CALLS, 2 * CALLS):
                await call(n)
            found[name] = {kind: count / CALLS for kind, count in sorted(trips.items())}
        return found


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg-url", default=os.environ.get("TC_CALENDAR_TEST_PG"),
                        help="PostgreSQL server URL (default: TC_CALENDAR_TEST_PG); without it SQLite only")
    args = parser.parse_args()
    instrument()
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = await measure(f"sqlite:///{Path(tmp) / 'trips.db'}")
    if args.pg_url:
        dsn = make_url(args.pg_url).set(drivername="postgresql").render_as_string(False)
        schema = f"tcc_bench_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute(f'CREATE SCHEMA "{schema}"')
            url = make_url(args.pg_url).update_query_dict({"schema": schema}).render_as_string(False)
            results["postgresql"] = await measure(url)
        finally:
            await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            await admin.close()
    print(f"{'call':42} " + " ".join(f"{name:>10}" for name in results))
    for call in results["sqlite"]:
        print(f"{call:42} " + " ".join(f"{sum(found[call].values()):>10.1f}" for found in results.values()))
    for name, found in results.items():
        for call, kinds in found.items():
            print(f"  {name} {call}: {kinds}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
