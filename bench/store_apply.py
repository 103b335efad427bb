"""The store alone under an initial sync's writes: many mailboxes' first batches applied at once, no Exchange.

Each of ``--mailboxes`` mailboxes applies its first sync (its own 3 meetings and the 6 it is invited to, with
its checkpoint and sync success), ``--concurrency`` at a time, as the sync service's window syncs do. Per store:
wall time, this process's CPU, write transactions and SQL statements per mailbox (batches that wait for the
writer's turn are written together: docs/sync.md), and with PostgreSQL its server's CPU. SQLite runs in a
temporary directory, PostgreSQL with ``--pg-url`` (default ``TC_CALENDAR_TEST_PG``; a new schema, dropped
afterwards). The baseline is SQLite in the same run.

    .venv/bin/python bench/store_apply.py [--mailboxes 1000] [--concurrency 16] [--stores sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))

from store_trips import first_sync

from sync import _admin, cpu_seconds, postgres_cpu_seconds
from tc_calendar.store import Store, upgrade_async
from tc_calendar.store.records import ConfiguredMailbox
from tc_calendar.sync.actions import Action

RESULTS = Path(__file__).parent / "results" / "store_apply.json"


async def measure(url: str, mailboxes: int, concurrency: int) -> dict[str, Any]:
    users = [f"user{n:05d}@bench.test" for n in range(mailboxes)]
    await upgrade_async(url)
    async with Store.open(url) as store:
        await store.register_config_mailboxes([ConfiguredMailbox(user) for user in users])
        counted = {"commits": 0, "statements": 0}
        engine = store._engine.sync_engine
        event.listen(engine, "commit", lambda *_: counted.__setitem__("commits", counted["commits"] + 1))
        event.listen(
            engine, "before_cursor_execute", lambda *_: counted.__setitem__("statements", counted["statements"] + 1)
        )
        batches = [first_sync(users, n) for n in range(mailboxes)]
        slots = asyncio.Semaphore(concurrency)

        async def apply(actions: list[Action]) -> None:
            async with slots:
                await store.apply(actions)

        cpu_before, pg_before, started = cpu_seconds(), postgres_cpu_seconds(), time.perf_counter()
        await asyncio.gather(*(apply(actions) for actions in batches))
        wall = time.perf_counter() - started
        cpu, pg_cpu = cpu_seconds() - cpu_before, postgres_cpu_seconds() - pg_before
    return {
        "mailboxes": mailboxes,
        "concurrency": concurrency,
        "seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "postgres_cpu_seconds": round(pg_cpu, 3),
        "write_transactions_per_mailbox": round(counted["commits"] / mailboxes, 3),
        "statements_per_mailbox": round(counted["statements"] / mailboxes, 3),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("TC_CALENDAR_TEST_PG"))
    args = parser.parse_args()
    stores = [name.strip() for name in args.stores.split(",") if name.strip()]
    if "postgresql" in stores and not args.pg_url:
        parser.error("--stores postgresql needs --pg-url or TC_CALENDAR_TEST_PG")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in stores:
            if name == "sqlite":
                results[name] = await measure(f"sqlite:///{Path(tmp) / 'apply.db'}", args.mailboxes, args.concurrency)
                continue
            schema = f"tcc_apply_{secrets.token_hex(4)}"
            await _admin(args.pg_url, f'CREATE SCHEMA "{schema}"')
            try:
                url = make_url(args.pg_url).update_query_dict({"schema": schema}).render_as_string(False)
                results[name] = await measure(url, args.mailboxes, args.concurrency)
            finally:
                await _admin(args.pg_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    base = next(iter(results.values()))
    print(f"{'store':>10} {'mailboxes':>9} {'s':>7} {'vs base':>7} {'CPU s':>6} {'PG CPU s':>8} {'writes/mbx':>10} "
          f"{'SQL/mbx':>7}")  # fmt: skip
    for name, row in results.items():
        print(f"{name:>10} {row['mailboxes']:>9} {row['seconds']:>7.2f} {row['seconds'] / base['seconds']:>7.2f} "
              f"{row['cpu_seconds']:>6.2f} {row['postgres_cpu_seconds']:>8.2f} "
              f"{row['write_transactions_per_mailbox']:>10} {row['statements_per_mailbox']:>7}")  # fmt: skip
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
