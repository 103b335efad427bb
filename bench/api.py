"""Change-log -> client push latency of the WebSocket API: 1 client, 1,000 clients, and 1,000 clients while 1,000
mailboxes do their initial sync in the same process.

Runs the real API over a real store (SQLite in a temporary directory) on 127.0.0.1. For each change, the clock
starts when ``store.apply`` has committed (the store rings the feed) and stops when a client has decoded the
notification carrying it. Changes are made one at a time, each after every client got the previous one
(latency, not throughput under overload); the first few are a warm-up and not counted. Per row: the latency of
every delivery (p50, p95, p99), and per change the latency to the *last* client (p50, p95, p99; the goal
is p99 < 1 s), with the load average of the machine at the end of the row.

Clients subscribe as a TrueConf Server does (server sign-in). With ``--users own`` (the default) client ``k``
subscribes to the changed calendar and to one synchronized mailbox (``user{k}``), as a web page showing one
person's calendar beside another's does; with ``--users all`` every client subscribes to every calendar.

The sync row (``--sync-mailboxes``, 0 to skip) starts the sync service with the EWS provider in this process,
over the same store, against the Exchange simulator in its own process (``--latency-ms`` added to every request,
3 meetings per organizer, as bench/sync.py), once every client is subscribed; changes are made and measured
while it runs (at most ``--changes`` of them; the row says how many fell within the sync).

Two modes: ``in-process`` (clients share the server's event loop, so the numbers include the clients' own
work: an upper bound) and ``external`` (clients in a second process, as real peers are). Prints a table and
writes bench/results/api.json. Absolute numbers depend on the machine and its load; compare rows of one run.

    .venv/bin/python bench/api.py [--changes 50] [--clients 1,1000] [--sync-mailboxes 1000] [--users own]
        [--modes external] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "api"))
sys.path.insert(0, str(Path(__file__).parent))

from api_harness import ALICE, SECRET, SERVER_ID, meeting, put, running_api

from tc_calendar.api.client import ApiClient, ServerAuth
from tc_calendar.api.limits import ApiLimits
from tc_calendar.store import Store, upgrade_async

RESULTS = Path(__file__).parent / "results" / "api.json"
WARMUP = 3
#: Seconds a change may take to reach every client before the row stops (and counts the misses).
ALL_WITHIN = 120


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def raise_file_limit(clients: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * clients + 256)), hard))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def mailbox(n: int) -> str:
    """The n-th synchronized mailbox of the sync row (bench/sync.py's naming)."""
    return f"user{n:05d}@bench.test"


def users_of(client: int, users: str) -> list[str] | str:
    return "*" if users == "all" else [ALICE, mailbox(client)]


async def run_clients(
    url: str,
    clients: int,
    users: str,
    on_ready: Callable[[], Awaitable[None]],
    on_all: Callable[[int], Awaitable[None]],
    stop: Awaitable[Any],
) -> dict[int, list[float]]:
    """Connect and subscribe ``clients`` clients; report each measured cursor every client got; return the
    receive times of the measured changes (those in ALICE's calendar) until ``stop``."""
    auth = ServerAuth(SERVER_ID, SECRET)
    connected: list[ApiClient] = []
    for first in range(0, clients, 100):  # in steps, so a busy machine authenticates each within its time
        step = range(first, min(clients, first + 100))
        connected += await asyncio.gather(*(ApiClient.connect(url, auth, open_timeout=120) for _ in step))
    subs = await asyncio.gather(*(c.subscribe(users_of(n, users)) for n, c in enumerate(connected)))
    received: dict[int, list[float]] = {}

    async def consume(sub: Any) -> None:
        async for note in sub:
            now = time.time()
            for change in note["changes"]:
                if change["user"] != ALICE:
                    continue
                times = received.setdefault(change["cursor"], [])
                times.append(now)
                if len(times) == clients:
                    await on_all(change["cursor"])

    consumers = [asyncio.create_task(consume(sub)) for sub in subs]
    await on_ready()
    await stop
    for task in consumers:
        task.cancel()
    await asyncio.gather(*(c.close() for c in connected), return_exceptions=True)
    return received


class SyncLoad:
    """The initial sync of ``mailboxes`` mailboxes in this process, over ``store``, from the EWS simulator in a
    process of its own (bench/sync.py's scenario and settings)."""

    def __init__(self, store: Store, mailboxes: int, latency_ms: int, workdir: Path) -> None:
        from sync import FAST, LOGIN, PASSWORD, SeparateSimulator, scenario_of
        from tc_calendar.engine.planner import DiffPlanner
        from tc_calendar.engine.service import SyncService
        from tc_calendar.providers._ews_session import EndpointSettings
        from tc_calendar.providers.ews import EwsProvider

        scenario, self.users = scenario_of(mailboxes, 3)
        self.sim = SeparateSimulator(scenario, latency_ms, workdir)
        endpoint = EndpointSettings(self.sim.url, auth="basic", timeout_seconds=30, server_version="Exchange2016")
        provider = EwsProvider(endpoint, [(LOGIN, PASSWORD)])
        options = replace(FAST, max_window_syncs=16)
        self.service = SyncService(store, [provider], [self.users], planner=DiffPlanner(), options=options)
        self.seconds: float | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        began = time.perf_counter()
        await self.service.start()

        async def synced() -> None:
            await self.service.wait_synced(within=900)
            self.seconds = time.perf_counter() - began

        self._task = asyncio.create_task(synced())

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        await self.service.stop(grace_seconds=10)
        try:
            self.sim.stop()
        except subprocess.TimeoutExpired:  # a busy machine: do not lose the row over a slow exit
            self.sim.process.kill()


class LoopProbe:
    """How late the event loop runs a 20 ms timer (its stalls), and how far the API's change feed trails the log."""

    def __init__(self, store: Store, feed: Any) -> None:
        self.lags_ms: list[float] = []
        self.feed_behind = 0
        self._store, self._feed = store, feed
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        n = 0
        while True:
            asked = loop.time()
            await asyncio.sleep(0.02)
            self.lags_ms.append((loop.time() - asked - 0.02) * 1000)
            n += 1
            if n % 25 == 0:
                self.feed_behind = max(self.feed_behind, await self._store.latest_cursor() - self._feed.head)

    def close(self) -> dict[str, float]:
        self._task.cancel()
        lags = self.lags_ms or [0.0]
        return {"loop_lag_p99_ms": round(percentile(lags, 0.99), 1), "loop_lag_max_ms": round(max(lags), 1),
                "feed_behind_max_changes": self.feed_behind}


async def write_changes(
    store: Store, label: str, changes: int, wait_all: Callable[[int], Awaitable[None]], sync: SyncLoad | None
) -> dict[int, float]:
    """Make the changes one at a time; with ``sync``, only while it runs (the warm-up included)."""
    committed: dict[int, float] = {}
    for n in range(-WARMUP, changes):
        if sync is not None and not sync.running:
            break
        applied = await store.apply([put(ALICE, meeting(f"bench-{label}-{n}", attendees=()))])
        if n >= 0:
            committed[applied[-1].cursor] = time.time()
        try:
            await wait_all(applied[-1].cursor)
        except TimeoutError:  # the row says how many clients missed it
            print(f"change {applied[-1].cursor} did not reach every client within {ALL_WITHIN} s", file=sys.stderr)
            break
    return committed


async def measure(
    store: Store, clients: int, changes: int, mode: str, users: str, sync_mailboxes: int, latency_ms: int,
    workdir: Path,
) -> dict[str, Any]:
    limits = ApiLimits(
        max_connections_per_address=clients + 10, rate_per_second=1000, rate_burst=1000, auth_timeout=120
    )
    label = f"{mode}-{clients}-{sync_mailboxes}"
    async with AsyncExitStack() as stack:
        sync = None
        if sync_mailboxes:
            sync = SyncLoad(store, sync_mailboxes, latency_ms, workdir)
            stack.push_async_callback(sync.close)
        api = await stack.enter_async_context(running_api(store, limits=limits))
        if mode == "in-process":
            everyone: dict[int, asyncio.Event] = {}
            ready, stop = asyncio.Event(), asyncio.Event()

            async def mark_ready() -> None:
                ready.set()

            async def mark_all(cursor: int) -> None:
                everyone.setdefault(cursor, asyncio.Event()).set()

            async def wait_all(cursor: int) -> None:
                await asyncio.wait_for(everyone.setdefault(cursor, asyncio.Event()).wait(), ALL_WITHIN)

            clients_task = asyncio.create_task(run_clients(api.url, clients, users, mark_ready, mark_all, stop.wait()))
            await asyncio.wait_for(ready.wait(), 300)
            if sync is not None:
                await sync.start()
            probe = LoopProbe(store, api.app.state.api.feed)
            cpu = cpu_seconds()
            committed = await write_changes(store, label, changes, wait_all, sync)
            cpu = cpu_seconds() - cpu
            probed = probe.close()
            stop.set()
            received = await clients_task
        else:
            process = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--client-side", api.url, str(clients), users,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=256 * 1024 * 1024,  # the receive times come back as one JSON line
            )
            assert process.stdout is not None and process.stdin is not None
            stdout, stdin = process.stdout, process.stdin
            assert (await asyncio.wait_for(stdout.readline(), 300)).strip() == b"ready"
            if sync is not None:
                await sync.start()

            async def wait_all_external(cursor: int) -> None:
                async with asyncio.timeout(ALL_WITHIN):
                    while True:
                        line = (await stdout.readline()).split()
                        if line and line[0] == b"all" and int(line[1]) >= cursor:
                            return

            try:
                probe = LoopProbe(store, api.app.state.api.feed)
                cpu = cpu_seconds()
                committed = await write_changes(store, label, changes, wait_all_external, sync)
                cpu = cpu_seconds() - cpu
                probed = probe.close()
                stdin.write(b"stop\n")
                await stdin.drain()
                while not (line := await asyncio.wait_for(stdout.readline(), 120)).startswith(b"{"):
                    pass
                raw = json.loads(line.decode())
                await process.wait()
            finally:
                if process.returncode is None:
                    process.kill()
            received = {int(k): v for k, v in raw.items()}
        load = os.getloadavg()
        sync_seconds = sync.seconds if sync is not None else None
        sync_done = sync is not None and not sync.running
    latencies = [(t - committed[c]) * 1000 for c, times in received.items() if c in committed for t in times] or [
        float("nan")
    ]
    last = [(max(times) - committed[c]) * 1000 for c, times in received.items() if c in committed] or [float("nan")]
    missed = sum(clients - len(received.get(c, [])) for c in committed)
    return {
        "mode": mode,
        "clients": clients,
        "users": users,
        "syncing_mailboxes": sync_mailboxes,
        "changes": len(committed),
        "sync_seconds": round(sync_seconds, 1) if sync_seconds is not None else None,
        "sync_finished_before_the_changes": sync_done,
        "deliveries": len(latencies),
        "deliveries_missed": missed,
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "max_ms": round(max(latencies), 1),
        "mean_ms": round(statistics.fmean(latencies), 1),
        "last_client_p50_ms": round(percentile(last, 0.50), 1),
        "last_client_p95_ms": round(percentile(last, 0.95), 1),
        "last_client_p99_ms": round(percentile(last, 0.99), 1),
        "load_average": [round(x, 2) for x in load],
        # This process's CPU (API, store, and with a sync row the sync too) per change made: it does not depend on
        # how busy the machine is, the latencies do.
        "server_cpu_ms_per_change": round(cpu * 1000 / max(1, len(committed) + WARMUP), 1),
        **probed,
    }


async def client_side(url: str, clients: int, users: str) -> None:
    """The external clients: print ``ready``, ``all <cursor>`` lines, then (after ``stop`` on stdin) the receive
    times as JSON."""
    raise_file_limit(clients)

    async def ready() -> None:
        print("ready", flush=True)

    async def all_got(cursor: int) -> None:
        print(f"all {cursor}", flush=True)

    stop = asyncio.to_thread(sys.stdin.readline)
    received = await run_clients(url, clients, users, ready, all_got, stop)
    print(json.dumps(received), flush=True)


async def main(args: argparse.Namespace) -> list[dict[str, Any]]:
    client_counts = [int(c) for c in args.clients.split(",")]
    raise_file_limit(max(client_counts) * 2)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, upgrade_async(url)).result()
        async with Store.open(url) as store:
            for mode in args.modes.split(","):
                for clients in client_counts:
                    rows.append(await measure(store, clients, args.changes, mode, args.users, 0, 0, Path(tmp)))
                    print(json.dumps(rows[-1]), flush=True)
                if args.sync_mailboxes:
                    rows.append(await measure(store, max(client_counts), args.changes, mode, args.users,
                                              args.sync_mailboxes, args.latency_ms, Path(tmp)))
                    print(json.dumps(rows[-1]), flush=True)
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--client-side":
        asyncio.run(client_side(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--clients", default="1,1000")
    parser.add_argument("--sync-mailboxes", type=int, default=1000,
                        help="a row with the most clients while this many mailboxes sync (0: none)")
    parser.add_argument("--latency-ms", type=int, default=20, help="added by the simulator to every EWS request")
    parser.add_argument("--users", choices=("own", "all"), default="own",
                        help="own: each client subscribes to the changed calendar and one mailbox; all: to all")
    parser.add_argument("--modes", default="external")
    args = parser.parse_args()
    rows = asyncio.run(main(args))
    header = ("mode", "clients", "syncing", "changes", "missed", "p50 ms", "p95 ms", "p99 ms", "last p50", "last p95",
              "last p99", "load 1m", "CPU ms/chg")
    widths = (11, 7, 7, 7, 6, 8, 8, 8, 8, 8, 8, 7, 10)
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, widths, strict=True)))
    for row in rows:
        values = (row["mode"], row["clients"], row["syncing_mailboxes"], row["changes"], row["deliveries_missed"],
                  row["p50_ms"],
                  row["p95_ms"], row["p99_ms"], row["last_client_p50_ms"], row["last_client_p95_ms"],
                  row["last_client_p99_ms"], row["load_average"][0], row["server_cpu_ms_per_change"])
        print(" ".join(f"{v!s:>{w}}" for v, w in zip(values, widths, strict=True)))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"benchmark": "api push latency", "rows": rows}, indent=2) + "\n")
    print(f"written {RESULTS}")
