"""Sync engine: initial sync of many mailboxes, and notification -> change-log latency, against the EWS simulator.

Runs the real sync service (exchangelib over 127.0.0.1 to ews_sim) on a real store: SQLite in a temporary directory,
and with ``--stores sqlite,postgresql`` also PostgreSQL (``--pg-url``, default ``TC_CALENDAR_TEST_PG``; a new schema
per run, dropped afterwards). Each mailbox count then runs once per store, one after the other, and the table ends
with PostgreSQL's figures over SQLite's from the same run (goal: at most 1.0).

* Initial sync: N mailboxes, each organizing ``--meetings`` meetings with two other mailboxes as attendees (and
  ``--far-meetings`` single meetings 4, 10 and 16 months ahead, which are kept beyond ``cache.forward``).
  Measures the time until the first and until every mailbox completed its first sync and the EWS requests it took,
  per operation and per mailbox. The baseline row is one mailbox; other rows are compared with it (requests per
  mailbox should stay flat: batching, not one request per item).
* Latency: with every mailbox synced and streaming, and the connector at rest (no request to Exchange but the
  streaming connections for a second; how long that took after the initial sync is ``settled_after_seconds``),
  the organizer schedules one meeting at a time; the clock starts when the bench asks the simulator to store it
  and stops when the store has committed the change-log entries for all three users (the service's notify hook,
  called right after each commit). p95 of 20 changes is the second slowest.

* Lower bound: with ``--latency-ms`` added to every EWS request by the simulator and at most C requests in
  flight (the service account's concurrency budget, or the window syncs allowed at once if fewer), the initial
  sync cannot take less than requests x latency / C. The ratio to it says how much the engine itself adds.
  ``x 3-req bound`` counts only the three requests a mailbox's initial sync needs (goal 1 of bench/README.md).
* Workers: the EWS reads are made by ``--workers`` worker processes (default: as ``workers`` in config.json, one
  per core beyond the first, at most 4; 0: the connector's own process); their CPU counts as the connector's.
* Memory: growth of the process's peak RSS during the initial sync, per mailbox (the simulator runs in the same
  process and its request handling is included, so this is an upper bound for the connector).
* Store and CPU: the store's write transactions and SQL statements per mailbox during the initial sync (these do
  not depend on how busy the machine is), and the CPU seconds this process used (with ``--separate-simulator``,
  the connector's alone), the simulator process's and every PostgreSQL server process's: on a small machine they
  share the cores with the connector.

    .venv/bin/python bench/sync.py [--mailboxes 1,100,1000] [--meetings 3] [--far-meetings 0] [--changes 20]
        [--latency-ms 20] [--stores sqlite,postgresql] [--pg-url postgresql://...] [--workers N]

With ``--provider graph`` the whole connector (``running_connector``, as ``tc_calendar run``) reads the same
scenario from the Graph simulator, once with change notifications (to the connector's own /graph/notifications,
plain http on loopback) and once by polling. Per row: the initial sync against its lower bound (Graph operations x
latency / (4 in flight per mailbox x mailboxes)), Graph operations
per mailbox against the minimum (one delta page per ``maxpagesize`` events, plus one subscription with
notifications), and change -> WebSocket client latency (p50, p95). Each row registers a standard licence for its
mailbox count with the registration simulator (unregistered, the connector syncs 50 accounts, as the free
edition); the waits are bounded (``BOUND_SECONDS``, ``CHANGE_BOUND_SECONDS``) and a row that exceeds one stops the
bench with a message saying what did not happen.

    .venv/bin/python bench/sync.py --provider graph [--mailboxes 1,50] [--changes 20] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "engine"))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))  # the tests' own helpers, which sync_harness uses

from procfs import children_of
from sync_harness import FAST

from ews_sim.server import EwsSimulator
from ews_sim.services.context import ServerSettings
from ews_sim.world import Control, World
from ews_sim.world.scenario import load_scenario
from tc_calendar.collector import collecting_less_often
from tc_calendar.engine.planner import DiffPlanner
from tc_calendar.engine.service import SyncService
from tc_calendar.providers._ews_session import EndpointSettings
from tc_calendar.providers.ews import EwsProvider
from tc_calendar.providers.workers import default_workers, ews_with_workers
from tc_calendar.store import Store, upgrade_async

RESULTS = Path(__file__).parent / "results" / "sync.json"
LOGIN, PASSWORD = "svc-bench", "Bench!pass1"
START = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


#: Where ``--far-meetings`` are placed, in days ahead, in turn: 4, 10 and 16 months, beyond ``forward`` (2 months in
#: FAST) and within the single meetings' safety limit (two years after the window's start).
FAR_DAYS = (122, 305, 487)


def scenario_of(mailboxes: int, meetings: int, far_meetings: int = 0) -> tuple[dict[str, Any], list[str]]:
    """N mailboxes, each organizing ``meetings`` meetings (and ``far_meetings`` single meetings months beyond
    ``cache.forward``) with the next two mailboxes as attendees."""
    users = [f"user{n:05d}@bench.test" for n in range(mailboxes)]
    entries = []
    for n, organizer in enumerate(users):
        others = [users[(n + k) % len(users)] for k in (1, 2) if len(users) > k]
        days = list(range(meetings)) + [FAR_DAYS[m % len(FAR_DAYS)] + m for m in range(far_meetings)]
        for m, day in enumerate(days):
            start = START + timedelta(days=day, hours=n % 9)
            entries.append({"organizer": organizer, "subject": f"{organizer} #{m}", "start": start.isoformat(),
                            "duration": "30m", "required": others})
    scenario = {
        "service_accounts": [{"login": LOGIN, "password": PASSWORD, "impersonation": True}],
        "mailboxes": [{"smtp": user, "name": user.split("@")[0], "time_zone": "Europe/Berlin"} for user in users],
        "meetings": entries,
    }
    return scenario, users


class SeparateSimulator:
    """``python -m ews_sim`` in a process of its own, driven through its control API: the connector's numbers
    then exclude the simulator's CPU (in one process both share one GIL)."""

    def __init__(self, scenario: dict[str, Any], latency_ms: int, workdir: Path) -> None:
        path = workdir / "scenario.json"
        path.write_text(json.dumps(scenario))
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "ews_sim", "--http", "--port", "0", "--scenario", str(path),
             "--latency-ms", str(latency_ms)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert self.process.stdout is not None
        lines = [self.process.stdout.readline() for _ in range(2)]
        self.url = lines[0].split("url=", 1)[1].strip()
        self.control = lines[1].split("control=", 1)[1].strip()

    def command(self, name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.post(f"{self.control}/{name}", json=params or {}, timeout=60).json()
        return answer

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)

    def child_pids(self) -> set[int]:
        return {self.process.pid}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:  # a loaded machine: the figures are taken, only the process is left
            self.process.kill()
            self.process.wait()


def peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu_seconds(excluding: set[int]) -> float:
    """CPU of this process's running children but ``excluding``: the EWS worker processes (Linux ``/proc``)."""
    return sum(process_cpu_seconds(pid) for pid in children_of(os.getpid()) if pid not in excluding)


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU of another process (Linux ``/proc``); 0 when it is gone or unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU of every PostgreSQL server process on this machine (the bench's database shares the cores)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += process_cpu_seconds(int(entry.name))
            except OSError:
                continue
    return total


class StoreCounter:
    """Write transactions (commits) and SQL statements of every engine in this process."""

    def __init__(self) -> None:
        self.commits = 0
        self.statements = 0
        event.listen(Engine, "commit", self._on_commit)
        event.listen(Engine, "before_cursor_execute", self._on_statement)

    def _on_commit(self, *_: Any) -> None:
        self.commits += 1

    def _on_statement(self, *_: Any) -> None:
        self.statements += 1

    def snapshot(self) -> tuple[int, int]:
        return self.commits, self.statements

    def close(self) -> None:
        event.remove(Engine, "commit", self._on_commit)
        event.remove(Engine, "before_cursor_execute", self._on_statement)


class InProcessSimulator:
    """The simulator on a thread of this process (as the tests run it)."""

    def __init__(self, scenario: dict[str, Any], latency_ms: int) -> None:
        self.world = World()
        load_scenario(scenario, self.world)
        self.world.gate.set_latency(latency_ms)
        # Checking every request against the schema is the simulator's own cost, not the connector's.
        self.sim = EwsSimulator(self.world, host="127.0.0.1", port=0, settings=ServerSettings(validate_requests=False))
        self.sim.start()
        self.url = self.sim.url

    def command(self, name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = Control(self.world).dispatch(name, params or {})
        return answer

    def cpu_seconds(self) -> float:
        return 0.0  # counted with the connector's: one process

    def child_pids(self) -> set[int]:
        return set()

    def stop(self) -> None:
        self.sim.stop()


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").difference_update_query(["schema"]).render_as_string(False)


async def _admin(server_url: str, sql: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(server_url), timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def fresh_database(store: str, workdir: Path, mailboxes: int, pg_url: str | None) -> tuple[str, str | None]:
    """A new, migrated database for one run: its URL, and the PostgreSQL schema to drop afterwards."""
    if store == "sqlite":
        url = f"sqlite:///{workdir / f'sync-{mailboxes}-{secrets.token_hex(3)}.db'}"
        await upgrade_async(url)
        return url, None
    assert pg_url is not None
    schema = f"tcc_bench_{secrets.token_hex(4)}"
    await _admin(pg_url, f'CREATE SCHEMA "{schema}"')
    url = make_url(pg_url).update_query_dict({"schema": schema}).render_as_string(False)
    await upgrade_async(url)
    return url, schema


QUIET_SECONDS = 1.0


async def settled(sim: InProcessSimulator | SeparateSimulator, limit: float = 120.0) -> float:
    """Wait until the connector has sent Exchange no request but its streaming connections for ``QUIET_SECONDS``
    (subscriptions and catch-up syncs that follow the initial sync are over); the seconds it took.

    The latency of a change is then measured on a connector at rest, the same way on every store."""
    started = time.perf_counter()

    def busy() -> int:
        counters = sim.command("counters")["counters"]
        return sum(row["total"] for op, row in counters.items() if op != "GetStreamingEvents")

    seen = await asyncio.to_thread(busy)
    while time.perf_counter() - started < limit:
        await asyncio.sleep(QUIET_SECONDS)
        now = await asyncio.to_thread(busy)
        if now == seen:
            break
        seen = now
    return time.perf_counter() - started


async def run(
    mailboxes: int,
    meetings: int,
    changes: int,
    workdir: Path,
    latency_ms: int,
    separate: bool,
    far_meetings: int = 0,
    store_kind: str = "sqlite",
    pg_url: str | None = None,
    workers: int = 0,
) -> dict[str, Any]:
    scenario, users = scenario_of(mailboxes, meetings, far_meetings)
    sim: InProcessSimulator | SeparateSimulator = (
        SeparateSimulator(scenario, latency_ms, workdir) if separate else InProcessSimulator(scenario, latency_ms)
    )
    url, schema = await fresh_database(store_kind, workdir, mailboxes, pg_url)
    store = Store.open(url)
    try:
        endpoint = EndpointSettings(sim.url, auth="basic", timeout_seconds=30, server_version="Exchange2016")
        options = replace(FAST, max_window_syncs=16)
        in_flight = min(endpoint.max_concurrency, options.max_window_syncs)
        provider: Any = (
            ews_with_workers([(endpoint, [(LOGIN, PASSWORD)])], workers)[0] if workers
            else EwsProvider(endpoint, [(LOGIN, PASSWORD)])
        )  # fmt: skip
        seen: set[str] = set()
        arrived = asyncio.Event()

        def notify(committed: Any) -> None:
            seen.update(change.user for change in committed)
            arrived.set()

        service = SyncService(store, [provider], [users], planner=DiffPlanner(), options=options, notify=notify)
        sim.command("reset_counters")
        rss_before = peak_rss_kib()
        counter = StoreCounter()
        cpu_before = cpu_seconds()
        sim_cpu_before = sim.cpu_seconds()
        pg_cpu_before = postgres_cpu_seconds()
        started = time.perf_counter()
        await service.start()
        await asyncio.wait_for(arrived.wait(), 600)  # the first commit: a mailbox's first sync
        first = time.perf_counter() - started
        await service.wait_synced(within=600)
        initial = time.perf_counter() - started
        main_cpu = cpu_seconds() - cpu_before
        workers_cpu = children_cpu_seconds(sim.child_pids())
        cpu = main_cpu + workers_cpu
        sim_cpu = sim.cpu_seconds() - sim_cpu_before
        pg_cpu = postgres_cpu_seconds() - pg_cpu_before
        commits, statements = counter.snapshot()
        counter.close()
        rss_growth = peak_rss_kib() - rss_before
        counters = sim.command("counters")["counters"]
        requests = {op: row["total"] for op, row in counters.items() if op != "GetStreamingEvents"}

        settle = await settled(sim)
        latencies: list[float] = []
        for n in range(changes):
            seen.clear()
            organizer = users[n % len(users)]
            others = [users[(n + k) % len(users)] for k in (1, 2) if len(users) > k]
            start = START + timedelta(days=40, hours=n)
            began = time.perf_counter()
            await asyncio.to_thread(sim.command, "create_meeting", {
                "organizer": organizer, "subject": f"change {n}", "start": start.isoformat(),
                "end": (start + timedelta(minutes=30)).isoformat(), "required": others,
            })
            wanted = {organizer, *others}
            while not wanted <= seen:  # the notify hook runs right after each commit
                arrived.clear()
                await arrived.wait()
            latencies.append(time.perf_counter() - began)
        await service.stop(grace_seconds=10)
    finally:
        await store.close()
        sim.stop()
        if schema is not None and pg_url is not None:
            await _admin(pg_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    total = sum(requests.values())
    lower_bound = total * latency_ms / 1000 / in_flight
    # Goal 1's bound: the three requests a mailbox's initial sync needs (SyncFolderItems, FindItem, GetItem).
    three_request_bound = 3 * mailboxes * latency_ms / 1000 / in_flight
    return {
        "store": store_kind,
        "mailboxes": mailboxes,
        "simulator": "own process" if separate else "this process",
        "latency_ms": latency_ms,
        "requests_in_flight": in_flight,
        "lower_bound_seconds": round(lower_bound, 3),
        "over_lower_bound": round(initial / lower_bound, 2) if lower_bound else None,
        "three_request_bound_seconds": round(three_request_bound, 3),
        "over_three_request_bound": round(initial / three_request_bound, 2),
        "peak_rss_growth_kib_per_mailbox": round(rss_growth / mailboxes, 1),
        "meetings_per_organizer": meetings,
        "far_meetings_per_organizer": far_meetings,
        "first_synced_seconds": round(first, 3),
        "initial_sync_seconds": round(initial, 3),
        "workers": workers,
        "initial_sync_cpu_seconds": round(cpu, 3),
        "initial_sync_workers_cpu_seconds": round(workers_cpu, 3),
        "simulator_cpu_seconds": round(sim_cpu, 3) if separate else None,
        "postgres_cpu_seconds": round(pg_cpu, 3),
        "settled_after_seconds": round(settle, 3),
        "store_writes_per_mailbox": round(commits / mailboxes, 2),
        "sql_statements_per_mailbox": round(statements / mailboxes, 2),
        "ews_requests": requests,
        "ews_requests_per_mailbox": round(total / mailboxes, 2),
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "latency_p95_ms": round(sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000, 1) if latencies else None,
    }


GRAPH_PAGE = 100
"""The Graph provider's default odata.maxpagesize."""

LICENCE_KEY = "STD-BENCH"
BOUND_SECONDS = 600.0
"""The longest the Graph bench waits for the initial sync, and then for every subscription, before it gives up."""
CHANGE_BOUND_SECONDS = 60.0
"""The longest it waits for one change to reach the WebSocket client."""


async def _change_arrives(subscription: Any, title: str) -> None:
    async for note in subscription:
        if any(c["kind"] == "upsert" and c["occurrence"]["title"] == title for c in note["changes"]):
            return
    raise SystemExit(f"the WebSocket subscription ended before {title!r} arrived")


async def run_graph(
    mailboxes: int, meetings: int, changes: int, workdir: Path, latency_ms: int, notifications: bool
) -> dict[str, Any]:
    """The connector over the Graph simulator (see the module docstring)."""
    import socket

    from graph_sim.testing import running as graph_running
    from reg_sim import KeySpec, RegServer
    from tc_calendar.api.client import ApiClient, WebAuth
    from tc_calendar.config import load_settings
    from tc_calendar.crypto import SecretBox
    from tc_calendar.engine.runner import SyncOptions
    from tc_calendar.licensing.registration import Installation, register_online
    from tc_calendar.service import running_connector

    scenario, users = scenario_of(mailboxes, meetings)
    scenario.pop("service_accounts")
    directory = workdir / f"graph-{mailboxes}-{notifications}"
    directory.mkdir()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    with graph_running(scenario=scenario, allow_http_notifications=True) as sim, RegServer() as reg:
        sim.gate.latency_ms = latency_ms
        box = SecretBox.load_or_create(directory / "calendar.key")
        entry: dict[str, Any] = {
            "type": "graph", "tenantId": sim.tenant_id, "clientId": sim.client_id,
            "clientSecret": box.encrypt(sim.client_secret), "authorityHost": sim.base_url, "graphHost": sim.base_url,
            "caBundle": sim.ca_file, "users": users,
            "pollIntervalSeconds": 600 if notifications else 1, "reconcileMinutes": 600,
        }
        if notifications:
            entry["notificationUrl"] = f"http://127.0.0.1:{port}/graph/notifications"
        config = {
            "wsPort": port, "launchConference": False, "cache": {"autoSync": True, "backward": 1, "forward": 2},
            "accountLimit": mailboxes, "productWhitelist": {"tcs": ["tcs.bench.test#vcs"]},
            "calendarProviders": [entry], "sqlitePath": "calendar.db",
            "web": {"users": {"admin": box.encrypt("bench")}},
            "registration": {"server": reg.url, "publicKey": reg.registry.public_key},
        }
        path = directory / "config.json"
        path.write_text(json.dumps(config))
        # Unregistered, the connector runs as the free edition and syncs 50 accounts only: register a standard
        # licence for exactly the mailboxes of this row with the registration simulator.
        reg.registry.add_key(LICENCE_KEY, KeySpec("standard", mailboxes, 30))
        await register_online(LICENCE_KEY, Installation.from_config(path), datetime.now(UTC))
        settings = load_settings(path)
        options = SyncOptions(auto_sync=True, backward_months=1, forward_months=2, poll_interval=600.0,
                              fallback_poll_interval=600.0 if notifications else 1.0, max_window_syncs=16)
        sim.gate.reset_counters()
        started = time.perf_counter()
        async with running_connector(settings, sock=listener, sync_options=options) as connector:
            await connector.sync.wait_synced(within=BOUND_SECONDS)
            initial = time.perf_counter() - started
            left_out = [s.email for s in await connector.store.list_mailboxes() if s.state == "over_limit"]
            if left_out:
                raise SystemExit(f"the licence left {len(left_out)} of {mailboxes} mailboxes out (over_limit); the "
                                 "bench needs all of them")
            # The initial sync is over when every mailbox is subscribed and any catch-up round has run.
            deadline = time.monotonic() + BOUND_SECONDS
            while notifications and len(sim.subscriptions.describe()) < mailboxes:
                if time.monotonic() > deadline:
                    raise SystemExit(f"only {len(sim.subscriptions.describe())} of {mailboxes} mailboxes were "
                                     f"subscribed to change notifications after {BOUND_SECONDS:.0f} s")
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0 if notifications else 0.0)
            initial_ops = sim.gate.counters()
            client = await ApiClient.connect(connector.url, WebAuth("admin", "bench"))
            latencies: list[float] = []
            try:
                subscription = await client.subscribe(users[:1])
                for n in range(changes):
                    start = START + timedelta(days=20, hours=n % 10, minutes=n)
                    began = time.perf_counter()
                    await asyncio.to_thread(sim.world.create_meeting, users[0], f"change {n}", start,
                                            start + timedelta(minutes=30))
                    try:
                        await asyncio.wait_for(_change_arrives(subscription, f"change {n}"), CHANGE_BOUND_SECONDS)
                    except TimeoutError:
                        raise SystemExit(f"change {n} did not reach the WebSocket client within "
                                         f"{CHANGE_BOUND_SECONDS:.0f} s") from None
                    latencies.append(time.perf_counter() - began)
            finally:
                await client.close()
    # Per-mailbox operations: not the token and discovery requests (one per provider), nor $batch envelopes.
    per_mailbox = {op: n for op, n in initial_ops["operations"].items()
                   if op not in ("token", "openid-configuration", "batch")}
    operations = sum(row["total"] for op, row in per_mailbox.items())
    events_per_mailbox = meetings * (1 + min(2, mailboxes - 1))  # its own meetings and those it is invited to
    pages = -(-events_per_mailbox // GRAPH_PAGE)
    minimum = max(1, pages) + (1 if notifications else 0)
    lower_bound = operations * latency_ms / 1000 / (4 * mailboxes)
    return {
        "provider": "graph",
        "changes_by": "notifications" if notifications else "polling (1 s)",
        "mailboxes": mailboxes,
        "latency_ms": latency_ms,
        "initial_sync_seconds": round(initial, 3),
        "lower_bound_seconds": round(lower_bound, 3),
        "over_lower_bound": round(initial / lower_bound, 2) if lower_bound else None,
        "graph_operations": {op: row["total"] for op, row in per_mailbox.items()},
        "graph_http_requests": initial_ops.get("http_requests"),
        "operations_per_mailbox": round(operations / mailboxes, 2),
        "minimum_per_mailbox": minimum,
        "over_minimum": round(operations / mailboxes / minimum, 2),
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "latency_p95_ms": round(sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000, 1) if latencies else None,
    }


async def main_graph(args: argparse.Namespace) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in (int(n) for n in args.mailboxes.split(",")):
            for notifications in (True, False):
                rows.append(await run_graph(count, args.meetings, args.changes, Path(tmp), args.latency_ms,
                                            notifications))
    base = rows[0]
    header = ("mailboxes", "changes by", "initial s", "lower bound s", "x bound", "s/mbx vs base", "ops/mbx",
              "minimum", "x min", "p50 ms", "p95 ms")
    widths = (9, 15, 9, 13, 7, 13, 7, 7, 5, 7, 7)
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, widths, strict=True)))
    for row in rows:
        ratio = (row["initial_sync_seconds"] / row["mailboxes"]) / (base["initial_sync_seconds"] / base["mailboxes"])
        print(
            f"{row['mailboxes']:>9} {row['changes_by']:>15} {row['initial_sync_seconds']:>9.2f} "
            f"{row['lower_bound_seconds']:>13.2f} {row['over_lower_bound']!s:>7} {ratio:>13.2f} "
            f"{row['operations_per_mailbox']:>7} {row['minimum_per_mailbox']:>7} {row['over_minimum']:>5} "
            f"{row['latency_p50_ms']!s:>7} {row['latency_p95_ms']!s:>7}"
        )
    out = RESULTS.with_name("sync-graph.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"rows": rows}, indent=2) + "\n")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mailboxes", default="1,100,1000")
    parser.add_argument("--meetings", type=int, default=3)
    parser.add_argument("--far-meetings", type=int, default=0,
                        help="single meetings per organizer 4, 10 and 16 months ahead, beyond cache.forward")
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=20, help="added by the simulator to every EWS request")
    parser.add_argument("--separate-simulator", action="store_true",
                        help="run the simulator in its own process (the connector's own cost, without the simulator's)")
    parser.add_argument("--provider", choices=("ews", "graph"), default="ews",
                        help="graph: the connector over the Graph simulator, with notifications and with polling")
    parser.add_argument("--stores", default="sqlite",
                        help="comma-separated stores to run each mailbox count on: sqlite, postgresql")
    parser.add_argument("--workers", type=int, default=None,
                        help="EWS worker processes making the reads (default: as config.json's default, one per core "
                             "beyond the first, at most 4; 0: the connector's own process)")
    parser.add_argument("--pg-url", default=os.environ.get("TC_CALENDAR_TEST_PG"),
                        help="PostgreSQL server URL for --stores postgresql (default: TC_CALENDAR_TEST_PG)")
    args = parser.parse_args()
    if args.provider == "graph":
        await main_graph(args)
        return
    stores = [name.strip() for name in args.stores.split(",") if name.strip()]
    if unknown := set(stores) - {"sqlite", "postgresql"}:
        parser.error(f"unknown store(s) {', '.join(sorted(unknown))}: use sqlite, postgresql")
    if "postgresql" in stores and not args.pg_url:
        parser.error("--stores postgresql needs --pg-url or TC_CALENDAR_TEST_PG")
    rows = []
    load_before = os.getloadavg()
    # The garbage collector's thresholds of the service (tc_calendar run), whose sync engine this bench runs alone.
    with tempfile.TemporaryDirectory() as tmp, collecting_less_often():
        for count in (int(n) for n in args.mailboxes.split(",")):
            for store_kind in stores:
                rows.append(await run(count, args.meetings, args.changes, Path(tmp), args.latency_ms,
                                      args.separate_simulator, args.far_meetings, store_kind, args.pg_url,
                                      default_workers() if args.workers is None else args.workers))
    load_after = os.getloadavg()
    base = rows[0]
    header = ("store", "workers", "mailboxes", "first s", "initial s", "lower bound s", "x bound", "x 3-req bound",
              "s/mailbox vs base", "req/mailbox", "p50 ms", "p95 ms", "RSS KiB/mbx", "CPU s", "sim CPU s", "PG CPU s",
              "writes/mbx", "SQL/mbx")
    widths = (10, 7, 9, 7, 9, 13, 7, 13, 17, 11, 7, 7, 11, 6, 9, 8, 10, 7)
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, widths, strict=True)))
    for row in rows:
        per_mailbox = row["initial_sync_seconds"] / row["mailboxes"]
        ratio = per_mailbox / (base["initial_sync_seconds"] / base["mailboxes"])
        print(
            f"{row['store']:>10} {row['workers']:>7} "
            f"{row['mailboxes']:>9} {row['first_synced_seconds']:>7.2f} {row['initial_sync_seconds']:>9.2f} "
            f"{row['lower_bound_seconds']:>13.2f} {row['over_lower_bound']!s:>7} {row['over_three_request_bound']:>13} "
            f"{ratio:>17.2f} "
            f"{row['ews_requests_per_mailbox']:>11} "
            f"{row['latency_p50_ms']!s:>7} {row['latency_p95_ms']!s:>7} {row['peak_rss_growth_kib_per_mailbox']:>11} "
            f"{row['initial_sync_cpu_seconds']:>6.2f} {row['simulator_cpu_seconds']!s:>9} "
            f"{row['postgres_cpu_seconds']:>8.2f} {row['store_writes_per_mailbox']:>10} "
            f"{row['sql_statements_per_mailbox']:>7}"
        )
    ratios = store_ratios(rows)
    if ratios:
        print("\nPostgreSQL / SQLite, same run (goal: <= 1.0)")
        print(f"{'mailboxes':>9} {'initial':>8} {'CPU':>6} {'p50':>6} {'p95':>6}")
        for entry in ratios:
            print(f"{entry['mailboxes']:>9} {entry['initial_sync']!s:>8} {entry['cpu']!s:>6} "
                  f"{entry['latency_p50']!s:>6} {entry['latency_p95']!s:>6}")
    print(f"\nload average (1, 5, 15 min): before {_load(load_before)}, after {_load(load_after)}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "rows": rows, "postgresql_over_sqlite": ratios,
        "load_average_before": list(load_before), "load_average_after": list(load_after),
    }, indent=2) + "\n")


def _load(values: tuple[float, float, float]) -> str:
    return " ".join(f"{value:.1f}" for value in values)


def store_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """PostgreSQL's initial sync, CPU and change -> store latency over SQLite's, per mailbox count of the run."""
    by_key = {(row["store"], row["mailboxes"]): row for row in rows}
    ratios = []
    for (store_kind, count), pg in by_key.items():
        lite = by_key.get(("sqlite", count))
        if store_kind != "postgresql" or lite is None:
            continue

        def over(name: str, pg: dict[str, Any] = pg, lite: dict[str, Any] = lite) -> float | None:
            return round(pg[name] / lite[name], 2) if pg[name] and lite[name] else None

        ratios.append({
            "mailboxes": count,
            "initial_sync": over("initial_sync_seconds"),
            "cpu": over("initial_sync_cpu_seconds"),
            "latency_p50": over("latency_p50_ms"),
            "latency_p95": over("latency_p95_ms"),
        })
    return ratios


if __name__ == "__main__":
    asyncio.run(main())
