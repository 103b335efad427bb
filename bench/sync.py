"""Sync engine: initial sync of many mailboxes, and notification -> change-log latency, against the EWS simulator.

Runs the real sync service (exchangelib over 127.0.0.1 to ews_sim, a real SQLite store in a temporary directory).

* Initial sync: N mailboxes, each organizing ``--meetings`` meetings with two other mailboxes as attendees.
  Measures the time until every mailbox completed its first sync and the EWS requests it took, per operation
  and per mailbox. The baseline row is one mailbox; other rows are compared with it (requests per mailbox should
  stay flat: batching, not one request per item).
* Latency: with every mailbox synced and streaming, the organizer schedules one meeting at a time; the clock
  starts when the simulator has stored it and stops when the store's change log holds its entries for all
  three users.

    .venv/bin/python bench/sync.py [--mailboxes 1,50,200] [--meetings 5] [--changes 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "engine"))

from sync_harness import FAST

from ews_sim.server import EwsSimulator
from ews_sim.world import World
from tc_calendar.engine.planner import DiffPlanner
from tc_calendar.engine.service import SyncService
from tc_calendar.providers._ews_session import EndpointSettings
from tc_calendar.providers.ews import EwsProvider
from tc_calendar.store import Store, upgrade_async

RESULTS = Path(__file__).parent / "results" / "sync.json"
LOGIN, PASSWORD = "svc-bench", "Bench!pass1"
START = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def build_world(mailboxes: int, meetings: int) -> tuple[World, list[str]]:
    world = World()
    world.add_service_account(LOGIN, PASSWORD, impersonation=True)
    users = [f"user{n:05d}@bench.test" for n in range(mailboxes)]
    for user in users:
        world.add_mailbox(user, user.split("@")[0], "Europe/Berlin")
    for n, organizer in enumerate(users):
        others = [users[(n + k) % len(users)] for k in (1, 2) if len(users) > k]
        for m in range(meetings):
            start = START + timedelta(days=m, hours=n % 9)
            world.create_meeting(organizer, f"{organizer} #{m}", start, start + timedelta(minutes=30), required=others)
    return world, users


async def run(mailboxes: int, meetings: int, changes: int, workdir: Path) -> dict[str, Any]:
    world, users = build_world(mailboxes, meetings)
    url = f"sqlite:///{workdir / f'sync-{mailboxes}.db'}"
    await upgrade_async(url)
    store = Store.open(url)
    with EwsSimulator(world, host="127.0.0.1", port=0) as sim:
        endpoint = EndpointSettings(sim.url, auth="basic", timeout_seconds=30, server_version="Exchange2016")
        provider = EwsProvider(endpoint, [(LOGIN, PASSWORD)])
        seen: set[str] = set()
        arrived = asyncio.Event()

        def notify(committed: Any) -> None:
            seen.update(change.user for change in committed)
            arrived.set()

        service = SyncService(
            store, [provider], [users], planner=DiffPlanner(), options=replace(FAST, max_window_syncs=16), notify=notify
        )
        world.gate.reset_counters()
        started = time.perf_counter()
        await service.start()
        await service.wait_synced(within=600)
        initial = time.perf_counter() - started
        counters = world.gate.counters()
        requests = {op: row["total"] for op, row in counters.items() if op != "GetStreamingEvents"}

        latencies: list[float] = []
        await asyncio.sleep(0.5)
        for n in range(changes):
            seen.clear()
            organizer = users[n % len(users)]
            others = [users[(n + k) % len(users)] for k in (1, 2) if len(users) > k]
            start = START + timedelta(days=40, hours=n)
            began = time.perf_counter()
            world.create_meeting(organizer, f"change {n}", start, start + timedelta(minutes=30), required=others)
            wanted = {organizer, *others}
            while not wanted <= seen:  # the notify hook runs right after each commit
                arrived.clear()
                await arrived.wait()
            latencies.append(time.perf_counter() - began)
        await service.stop(grace_seconds=10)
    await store.close()
    total = sum(requests.values())
    return {
        "mailboxes": mailboxes,
        "meetings_per_organizer": meetings,
        "initial_sync_seconds": round(initial, 3),
        "ews_requests": requests,
        "ews_requests_per_mailbox": round(total / mailboxes, 2),
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "latency_p95_ms": round(sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000, 1) if latencies else None,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mailboxes", default="1,50,200")
    parser.add_argument("--meetings", type=int, default=5)
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in (int(n) for n in args.mailboxes.split(",")):
            rows.append(await run(count, args.meetings, args.changes, Path(tmp)))
    base = rows[0]
    header = ("mailboxes", "initial s", "s/mailbox vs base", "req/mailbox", "p50 ms", "p95 ms")
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, (9, 9, 17, 11, 7, 7), strict=True)))
    for row in rows:
        per_mailbox = row["initial_sync_seconds"] / row["mailboxes"]
        ratio = per_mailbox / (base["initial_sync_seconds"] / base["mailboxes"])
        print(
            f"{row['mailboxes']:>9} {row['initial_sync_seconds']:>9.2f} {ratio:>17.2f} "
            f"{row['ews_requests_per_mailbox']:>11} {row['latency_p50_ms']!s:>7} {row['latency_p95_ms']!s:>7}"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
