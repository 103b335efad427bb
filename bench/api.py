"""Change-log -> client push latency of the WebSocket API, with 1 and 1,000 subscribed clients.

Runs the real API over a real store (SQLite in a temporary directory) on 127.0.0.1. For each change, the clock
starts when ``store.apply`` has committed (the store rings the feed) and stops when a client has decoded the
notification carrying it. Changes are made one at a time, each after every client got the previous one
(latency, not throughput under overload); the first few are a warm-up and not counted.

Two modes: ``in-process`` (clients share the server's event loop, so the numbers include the clients' own
work: an upper bound) and ``external`` (clients in a second process, as real peers are). Prints a table and
writes bench/results/api.json. Absolute numbers depend on the machine and its load; compare rows of one run.

    .venv/bin/python bench/api.py [--changes 50] [--clients 1,1000] [--modes in-process,external]
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
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "api"))

from api_harness import ALICE, SECRET, SERVER_ID, meeting, put, running_api

from tc_calendar.api.client import ApiClient, ServerAuth
from tc_calendar.api.limits import ApiLimits
from tc_calendar.store import Store, upgrade_async

RESULTS = Path(__file__).parent / "results" / "api.json"
WARMUP = 3


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def raise_file_limit(clients: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * clients + 256)), hard))


async def run_clients(
    url: str,
    clients: int,
    start: int,
    total: int,
    on_ready: Callable[[], Awaitable[None]],
    on_all: Callable[[int], Awaitable[None]],
) -> dict[int, list[float]]:
    """Connect and subscribe ``clients`` clients; report each cursor every client got; return receive times."""
    auth = ServerAuth(SERVER_ID, SECRET)
    connected = await asyncio.gather(*(ApiClient.connect(url, auth) for _ in range(clients)))
    subs = await asyncio.gather(*(c.subscribe("*", start) for c in connected))
    received: dict[int, list[float]] = {}
    finished = asyncio.Event()

    async def consume(sub: Any) -> None:
        async for note in sub:
            now = time.time()
            for change in note["changes"]:
                times = received.setdefault(change["cursor"], [])
                times.append(now)
                if len(times) == clients:
                    await on_all(change["cursor"])
                    if change["cursor"] == start + total:
                        finished.set()

    consumers = [asyncio.create_task(consume(sub)) for sub in subs]
    await on_ready()
    await asyncio.wait_for(finished.wait(), 300)
    for task in consumers:
        task.cancel()
    await asyncio.gather(*(c.close() for c in connected), return_exceptions=True)
    return received


async def write_changes(
    store: Store, label: str, changes: int, wait_all: Callable[[int], Awaitable[None]]
) -> dict[int, float]:
    committed: dict[int, float] = {}
    for n in range(-WARMUP, changes):
        applied = await store.apply([put(ALICE, meeting(f"bench-{label}-{n}", attendees=()))])
        if n >= 0:
            committed[applied[-1].cursor] = time.time()
        await wait_all(applied[-1].cursor)
    return committed


async def measure(store: Store, clients: int, changes: int, mode: str) -> dict[str, Any]:
    limits = ApiLimits(max_connections_per_address=clients + 10, rate_per_second=1000, rate_burst=1000)
    async with running_api(store, limits=limits) as api:
        start = await store.latest_cursor()
        total = WARMUP + changes
        if mode == "in-process":
            everyone: dict[int, asyncio.Event] = {}
            ready = asyncio.Event()

            async def mark_ready() -> None:
                ready.set()

            async def mark_all(cursor: int) -> None:
                everyone.setdefault(cursor, asyncio.Event()).set()

            async def wait_all(cursor: int) -> None:
                await asyncio.wait_for(everyone.setdefault(cursor, asyncio.Event()).wait(), 60)

            clients_task = asyncio.create_task(run_clients(api.url, clients, start, total, mark_ready, mark_all))
            await asyncio.wait_for(ready.wait(), 120)
            committed = await write_changes(store, f"{mode}-{clients}", changes, wait_all)
            received = await clients_task
        else:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--client-side",
                api.url,
                str(clients),
                str(start),
                str(total),
                stdout=asyncio.subprocess.PIPE,
                limit=256 * 1024 * 1024,  # the receive times come back as one JSON line
            )
            assert process.stdout is not None
            stdout = process.stdout
            assert (await asyncio.wait_for(stdout.readline(), 120)).strip() == b"ready"

            async def wait_all_external(cursor: int) -> None:
                while True:
                    line = (await asyncio.wait_for(stdout.readline(), 60)).split()
                    if line and line[0] == b"all" and int(line[1]) >= cursor:
                        return

            committed = await write_changes(store, f"{mode}-{clients}", changes, wait_all_external)
            raw = json.loads((await asyncio.wait_for(stdout.readline(), 120)).decode())
            await process.wait()
            received = {int(k): v for k, v in raw.items()}
    latencies = [(t - committed[c]) * 1000 for c, times in received.items() if c in committed for t in times]
    return {
        "mode": mode,
        "clients": clients,
        "changes": changes,
        "deliveries": len(latencies),
        "p50_ms": round(percentile(latencies, 0.50), 3),
        "p99_ms": round(percentile(latencies, 0.99), 3),
        "max_ms": round(max(latencies), 3),
        "mean_ms": round(statistics.fmean(latencies), 3),
    }


async def client_side(url: str, clients: int, start: int, total: int) -> None:
    """The external clients: print ``ready``, ``all <cursor>`` lines, then the receive times as JSON."""
    raise_file_limit(clients)

    async def ready() -> None:
        print("ready", flush=True)

    async def all_got(cursor: int) -> None:
        print(f"all {cursor}", flush=True)

    received = await run_clients(url, clients, start, total, ready, all_got)
    print(json.dumps(received), flush=True)


async def main(client_counts: list[int], changes: int, modes: list[str]) -> list[dict[str, Any]]:
    raise_file_limit(max(client_counts) * 2)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, upgrade_async(url)).result()
        async with Store.open(url) as store:
            for mode in modes:
                for clients in client_counts:
                    rows.append(await measure(store, clients, changes, mode))
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--client-side":
        asyncio.run(client_side(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--clients", default="1,1000")
    parser.add_argument("--modes", default="in-process,external")
    args = parser.parse_args()
    rows = asyncio.run(main([int(c) for c in args.clients.split(",")], args.changes, args.modes.split(",")))
    print(f"{'mode':>11} {'clients':>8} {'deliveries':>11} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    for row in rows:
        print(
            f"{row['mode']:>11} {row['clients']:>8} {row['deliveries']:>11} {row['p50_ms']:>9} {row['p99_ms']:>9} "
            f"{row['max_ms']:>9}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"benchmark": "api push latency", "rows": rows}, indent=2) + "\n")
    print(f"written {RESULTS}")
