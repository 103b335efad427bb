"""The store read behind each incremental sync page: the whole mailbox's stored view vs only the page's scope.

An incremental page (a change notified by Exchange) is diffed against what the store holds for the items it
touches. Reading the mailbox's whole stored view costs in proportion to its calendar; reading the page's scope
(:class:`~tc_calendar.sync.diff.StoredScope`: the changed item's id and UID) costs in proportion to the change.
Runs the real store on SQLite in a temporary directory (and on PostgreSQL with ``--database URL``), fills one
mailbox with N events, then times both reads for a one-item page. The baseline is the whole-view read, measured
in the same run. Prints a table and writes bench/results/store_reads.json.

    .venv/bin/python bench/store_reads.py [--events 100,1000,5000] [--repeat 30] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tc_calendar.model import Attendee, Occurrence, OccurrenceKey, Response, Role
from tc_calendar.store import Store, upgrade_async
from tc_calendar.sync.actions import PutOccurrence
from tc_calendar.sync.content_hash import content_hash
from tc_calendar.sync.diff import StoredScope

RESULTS = Path(__file__).parent / "results" / "store_reads.json"
MAILBOX = "room.large@corp.example"
START = datetime(2026, 6, 1, 8, tzinfo=UTC)


def event(n: int) -> PutOccurrence:
    occurrence = Occurrence(
        OccurrenceKey(f"uid-{n}"),
        f"Booking {n}",
        START + timedelta(minutes=30 * n),
        START + timedelta(minutes=30 * n + 25),
        organizer=Attendee(MAILBOX, "Large room", Role.ORGANIZER, Response.ORGANIZER),
    )
    return PutOccurrence(MAILBOX, f"item-{n}", occurrence, Response.ORGANIZER, True, content_hash(occurrence))


async def timed(read: Any, repeat: int) -> float:
    """Median milliseconds of ``repeat`` reads."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await read()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def measure(url: str, sizes: list[int], repeat: int) -> list[dict[str, Any]]:
    await upgrade_async(url)
    rows = []
    async with Store.open(url) as store:
        filled = 0
        for size in sizes:
            for first in range(filled, size, 500):
                await store.apply([event(n) for n in range(first, min(size, first + 500))])
            filled = size
            changed = size // 2
            scope = StoredScope(frozenset({f"item-{changed}"}), frozenset({f"uid-{changed}"}))
            whole = await timed(lambda: store.stored_views(MAILBOX), repeat)
            scoped = await timed(lambda scope=scope: store.stored_views(MAILBOX, scope), repeat)
            rows.append({"events": size, "whole_ms": whole, "scoped_ms": scoped, "speedup": whole / scoped})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", default="100,1000,5000", help="mailbox sizes, comma-separated, ascending")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database", help="a database URL (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.events.split(","))
    with tempfile.TemporaryDirectory() as directory:
        url = args.database or f"sqlite:///{directory}/bench.db"
        rows = asyncio.run(measure(url, sizes, args.repeat))
    print(f"{'events':>7} {'whole view ms':>14} {'page scope ms':>14} {'speedup':>8}")
    for row in rows:
        print(f"{row['events']:>7} {row['whole_ms']:>14.2f} {row['scoped_ms']:>14.2f} {row['speedup']:>7.1f}x")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    database = "given" if args.database else "sqlite"
    RESULTS.write_text(json.dumps({"database": database, "repeat": args.repeat, "rows": rows}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
