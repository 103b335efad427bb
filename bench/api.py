"""Change-log -> client push latency of the WebSocket API, with 1 and 1,000 subscribed clients.

Runs the real API over a real store (SQLite in a temporary directory) on 127.0.0.1, clients and server in one
process and one event loop (so the numbers include the clients' own work: an upper bound). For each change, the
clock starts when ``store.apply`` has committed (the store rings the feed), and stops when a client has
decoded the notification carrying it. Changes are made one at a time, each after every client got the last
one (latency, not throughput under overload). Prints a table and writes bench/results/api.json.

    .venv/bin/python bench/api.py [--changes 50] [--clients 1,1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "api"))

from api_harness import ALICE, meeting, put, running_api

from tc_calendar.api.client import ApiClient
from tc_calendar.api.limits import ApiLimits
from tc_calendar.store import Store, upgrade_async

RESULTS = Path(__file__).parent / "results" / "api.json"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(store: Store, clients: int, changes: int) -> dict[str, Any]:
    limits = ApiLimits(max_connections_per_address=clients + 10, rate_per_second=1000, rate_burst=1000)
    async with running_api(store, limits=limits) as api:
        connected = await asyncio.gather(*(ApiClient.connect(api.url, api.auth) for _ in range(clients)))
        start = await store.latest_cursor()
        subs = await asyncio.gather(*(c.subscribe("*", start) for c in connected))
        received: dict[int, list[float]] = {}
        arrived = asyncio.Event()
        expected_cursor = 0

        async def consume(sub: Any) -> None:
            async for note in sub:
                now = time.perf_counter()
                for change in note["changes"]:
                    times = received.setdefault(change["cursor"], [])
                    times.append(now)
                    if change["cursor"] == expected_cursor and len(times) == clients:
                        arrived.set()

        consumers = [asyncio.create_task(consume(sub)) for sub in subs]
        committed: dict[int, float] = {}
        warmup = 3  # the first changes pay for lazy set-up (caches, buffers); not counted
        for n in range(-warmup, changes):  # one change at a time: latency, not throughput under overload
            arrived.clear()
            applied = await store.apply([put(ALICE, meeting(f"bench-{clients}-{n}", attendees=()))])
            if n >= 0:
                committed[applied[-1].cursor] = time.perf_counter()
            expected_cursor = applied[-1].cursor
            await asyncio.wait_for(arrived.wait(), 60)
        for task in consumers:
            task.cancel()
        await asyncio.gather(*(c.close() for c in connected), return_exceptions=True)
    latencies = [(t - committed[c]) * 1000 for c, times in received.items() if c in committed for t in times]
    return {
        "clients": clients,
        "changes": changes,
        "deliveries": len(latencies),
        "p50_ms": round(percentile(latencies, 0.50), 3),
        "p99_ms": round(percentile(latencies, 0.99), 3),
        "max_ms": round(max(latencies), 3),
        "mean_ms": round(statistics.fmean(latencies), 3),
    }


async def main(client_counts: list[int], changes: int) -> list[dict[str, Any]]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * max(client_counts) + 256)), hard))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, upgrade_async(url)).result()
        async with Store.open(url) as store:
            for clients in client_counts:
                rows.append(await measure(store, clients, changes))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--clients", default="1,1000")
    args = parser.parse_args()
    rows = asyncio.run(main([int(c) for c in args.clients.split(",")], args.changes))
    print(f"{'clients':>8} {'deliveries':>11} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    for row in rows:
        print(f"{row['clients']:>8} {row['deliveries']:>11} {row['p50_ms']:>9} {row['p99_ms']:>9} {row['max_ms']:>9}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"benchmark": "api push latency", "rows": rows}, indent=2) + "\n")
    print(f"written {RESULTS}")
