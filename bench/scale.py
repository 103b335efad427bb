"""Many mailboxes on one node: initial sync time, the connector's peak RSS, the simulators' RSS and CPU, and
Exchange change -> WebSocket client latency once the initial sync is over.

Everything runs as separate processes, as in production: ``--simulators`` EWS simulators (``python -m ews_sim``,
each serving its own share of the mailboxes, with its own service account and URL: one ``ews`` entry each in the
connector's config) and the connector (``tc_calendar run``, SQLite store, standard-edition licence from a
registration server simulator in this process). Each mailbox holds ``--events`` events: it organizes half of them
with the next mailbox of its simulator as attendee, and is invited to the other half.

* Initial sync: from the connector's start until every mailbox is ``ok`` in the store (as ``/health`` counts them).
  The run stops by itself, with a report, when that count does not move for ``--stall`` seconds or the sync takes
  longer than ``--limit``; past the limit the changes below are made during the initial sync, in mailboxes
  already synchronized.
* RSS: the connector's peak resident set (VmHWM; with its child processes, the EWS workers, each at its own peak)
  and the simulators' peak and CPU seconds, read from /proc.
* Change -> client: ``--clients`` WebSocket clients subscribe to ``--changes`` mailboxes spread over all
  simulators; a meeting is created in one of them at a time, and the clock stops when the client subscribed to
  that mailbox receives its upsert.

The first size is the baseline of the same run (its latencies and per-mailbox figures).

    .venv/bin/python bench/scale.py [--mailboxes 100,10000] [--events 10] [--simulators 4] [--changes 50]
        [--clients 10] [--latency-ms 20]

Prints a table and writes bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from procfs import children_of

from reg_sim import KeySpec, RegServer
from tc_calendar.api.client import ApiClient, ServerAuth
from tc_calendar.crypto import SecretBox
from tc_calendar.licensing.registration import Installation, register_online

RESULTS = Path(__file__).parent / "results" / "scale.json"
SERVER_ID, API_SECRET = "tcs.bench.test#vcs", "bench API secret"
LICENCE_KEY = "STD-SCALE"
START = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def users_of(mailboxes: int) -> list[str]:
    return [f"user{n:05d}@bench.test" for n in range(mailboxes)]


def partition(users: list[str], parts: int) -> list[list[str]]:
    """Mailboxes shared round-robin between the simulators (each change then lands on every simulator in turn)."""
    return [users[k::parts] for k in range(parts)]


MAILBOXES_PER_ACCOUNT = 1000
"""Service accounts per simulator: one per this many mailboxes. Exchange allows a service account 10 hanging
(streaming) connections of 200 subscriptions each, so one account streams at most 2,000 mailboxes."""


def scenario_of(users: list[str], events: int, accounts: list[tuple[str, str]]) -> dict[str, Any]:
    """``users`` each organizing ``events // 2`` meetings with the next of them as attendee: ``events`` per
    calendar (its own and the previous mailbox's invitations)."""
    own = max(1, events // 2)
    meetings = []
    for n, organizer in enumerate(users):
        attendee = users[(n + 1) % len(users)]
        for m in range(own):
            start = START + timedelta(days=3 * m, hours=n % 9)
            meetings.append({"organizer": organizer, "subject": f"{organizer} #{m}", "start": start.isoformat(),
                             "duration": "30m", "required": [attendee] if attendee != organizer else []})
    return {
        "service_accounts": [{"login": login, "password": password, "impersonation": True}
                             for login, password in accounts],
        "mailboxes": [{"smtp": user, "name": user.split("@")[0], "time_zone": "Europe/Berlin"} for user in users],
        "meetings": meetings,
    }


@dataclass
class ProcessSampler:
    """Peak RSS and CPU seconds of some processes, read from /proc every ``interval`` seconds on a thread."""

    pids: dict[str, int]
    interval: float = 0.5
    peak_rss_kib: dict[str, int] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        # The connector's EWS worker processes, and multiprocessing's resource tracker that comes with them.
        for pid in children_of(self.pids["connector"]):
            self.pids.setdefault(f"connector child {pid}", pid)
        for name, pid in self.pids.items():
            with contextlib.suppress(OSError, ValueError, IndexError):
                status = Path(f"/proc/{pid}/status").read_text()
                hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
                self.peak_rss_kib[name] = max(self.peak_rss_kib.get(name, 0), hwm)
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                self.cpu_seconds[name] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


class Simulator:
    """``python -m ews_sim`` serving one share of the mailboxes."""

    def __init__(self, index: int, users: list[str], events: int, latency_ms: int, workdir: Path) -> None:
        count = -(-len(users) // MAILBOXES_PER_ACCOUNT)
        self.accounts = [(f"svc-bench-{index}-{k}", f"Bench!pass{index}.{k}") for k in range(count)]
        path = workdir / f"scenario-{index}.json"
        path.write_text(json.dumps(scenario_of(users, events, self.accounts)))
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "ews_sim", "--http", "--port", "0", "--scenario", str(path),
             "--latency-ms", str(latency_ms), "--no-validate"],
            stdout=subprocess.PIPE, stderr=(workdir / f"ews-sim-{index}.log").open("wb"), text=True,
        )  # fmt: skip
        self.users = users

    def wait_ready(self) -> None:
        assert self.process.stdout is not None
        lines = [self.process.stdout.readline() for _ in range(2)]
        if not all("=" in line for line in lines):
            raise RuntimeError(f"the EWS simulator did not start: {lines}")
        self.url = lines[0].split("url=", 1)[1].strip()
        self.control = lines[1].split("control=", 1)[1].strip()

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/", 1)[0])

    def command(self, name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.post(f"{self.control}/{name}", json=params or {}, timeout=60).json()
        return answer

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def write_config(directory: Path, sims: list[Simulator], port: int, reg: RegServer) -> Path:
    box = SecretBox.load_or_create(directory / "calendar.key")
    config = {
        "wsPort": port,
        "keyFile": str(directory / "calendar.key"),
        "sqlitePath": "calendar.db",
        "registration": {"server": reg.url, "publicKey": reg.registry.public_key},
        "launchConference": False,
        "cache": {"autoSync": True, "backward": 1, "forward": 2},
        "productWhitelist": {"tcs": [SERVER_ID]},
        "api": {"host": "127.0.0.1", "secret": box.encrypt(API_SECRET)},
        "calendarProviders": [{
            "type": "ews", "host": "127.0.0.1", "port": sim.port, "scheme": "http", "path": "/EWS/Exchange.asmx",
            "exchangeVersion": "Exchange2016", "auth": "basic",
            "credentials": [{"login": login, "password": box.encrypt(password)} for login, password in sim.accounts],
            "users": sim.users,
        } for sim in sims],
    }  # fmt: skip
    path = directory / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def start_connector(config: Path, log: Any) -> subprocess.Popen[bytes]:
    """``tc_calendar run`` in a process of its own, its output in ``log``."""
    return subprocess.Popen([sys.executable, "-m", "tc_calendar", "run", "--config", str(config)],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


CHANGE_TIMEOUT = 60.0
"""A change that has not reached its client after this long counts as not delivered (an infinite latency)."""


class Stalled(Exception):
    """The initial sync stopped progressing, or took longer than the limit."""


def mailbox_states(database: Path) -> dict[str, int]:
    """Mailboxes by state, read from the connector's SQLite file (read-only; WAL lets readers in while it writes).
    Not /health: its 3 s budget for the store runs out on a busy machine with 10,000 mailboxes."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)) as db:
            return dict(db.execute("SELECT state, count(*) FROM mailboxes GROUP BY state").fetchall())
    except sqlite3.Error:
        return {}


async def wait_synced(database: Path, mailboxes: int, stall: float, limit: float,
                      connector: subprocess.Popen[bytes], progress: list[tuple[float, int]]) -> float:
    """Seconds until every mailbox is ``ok``; :class:`Stalled` if the count stops moving or the connector exits."""
    started = time.perf_counter()
    last_change, last_ok = started, -1
    while True:
        if connector.poll() is not None:
            raise Stalled(f"the connector exited with status {connector.returncode}")
        ok = (await asyncio.to_thread(mailbox_states, database)).get("ok", last_ok)
        now = time.perf_counter()
        if ok != last_ok:
            last_change, last_ok = now, ok
            if not progress or now - started >= progress[-1][0] + 30:
                progress.append((round(now - started, 1), ok))
                print(f"  {progress[-1][0]:>7.1f} s: {ok} of {mailboxes} mailboxes synced", flush=True)
        if ok >= mailboxes:
            return now - started
        if now - last_change > stall:
            raise Stalled(f"{max(ok, 0)} of {mailboxes} mailboxes synced; no progress for {stall:.0f} s")
        if now - started > limit:
            raise Stalled(f"{max(ok, 0)} of {mailboxes} mailboxes synced after {limit:.0f} s (--limit)")
        await asyncio.sleep(1.0)


def synced_mailboxes(database: Path) -> set[str]:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)) as db:
            return {email for (email,) in db.execute("SELECT email FROM mailboxes WHERE state = 'ok'")}
    except sqlite3.Error:  # not created yet
        return set()


async def measure_changes(url: str, sims: list[Simulator], changes: int, clients: int,
                          only: set[str] | None = None) -> list[float]:
    """Change -> client latency, one change at a time, over ``clients`` WebSocket clients, in mailboxes spread
    over every simulator (of ``only``, if given)."""
    targets = []
    for n in range(changes):
        sim = sims[n % len(sims)]
        eligible = [user for user in sim.users if only is None or user in only] or sim.users
        targets.append((sim, eligible[(n // len(sims) * 7919) % len(eligible)]))
    watched: list[list[str]] = [[] for _ in range(clients)]
    owner: dict[str, int] = {}
    for _, user in targets:
        if user not in owner:
            owner[user] = len(owner) % clients
            watched[owner[user]].append(user)
    connections = [await ApiClient.connect(url, ServerAuth(SERVER_ID, API_SECRET)) for _ in range(clients)]
    try:
        subscriptions = [await c.subscribe(users) if users else None for c, users in zip(connections, watched,
                                                                                       strict=True)]
        latencies: list[float] = []
        for n, (sim, user) in enumerate(targets):
            title = f"scale change {n}"
            start = START + timedelta(days=20, hours=n % 10, minutes=n)
            began = time.perf_counter()
            await asyncio.to_thread(sim.command, "create_meeting", {
                "organizer": user, "subject": title, "start": start.isoformat(),
                "end": (start + timedelta(minutes=30)).isoformat(), "required": [],
            })  # fmt: skip
            subscription = subscriptions[owner[user]]
            assert subscription is not None

            async def arrived(subscription: Any = subscription, title: str = title, user: str = user) -> None:
                async for note in subscription:
                    if any(c["kind"] == "upsert" and c["user"] == user and c["occurrence"]["title"] == title
                           for c in note["changes"]):
                        return

            try:
                await asyncio.wait_for(arrived(), CHANGE_TIMEOUT)
            except TimeoutError:
                print(f"  change {n} in {user} did not reach its client within {CHANGE_TIMEOUT:.0f} s", flush=True)
                latencies.append(math.inf)
                continue
            latencies.append(time.perf_counter() - began)
        return latencies
    finally:
        for connection in connections:
            with contextlib.suppress(Exception):
                await connection.close()


async def run(mailboxes: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    directory = workdir / f"n{mailboxes}"
    directory.mkdir()
    parts = max(1, min(args.simulators, mailboxes))
    shares = partition(users_of(mailboxes), parts)
    loading = time.perf_counter()
    sims = [Simulator(k, share, args.events, args.latency_ms, directory) for k, share in enumerate(shares)]
    connector: subprocess.Popen[bytes] | None = None
    sampler: ProcessSampler | None = None
    result: dict[str, Any] = {"mailboxes": mailboxes, "events_per_mailbox": args.events, "simulators": parts,
                              "latency_ms": args.latency_ms}
    progress: list[tuple[float, int]] = []
    try:
        for sim in sims:
            sim.wait_ready()
        result["simulator_load_seconds"] = round(time.perf_counter() - loading, 1)
        with RegServer() as reg:
            reg.registry.add_key(LICENCE_KEY, KeySpec("standard", None, 365))
            port = free_port()
            config = write_config(directory, sims, port, reg)
            await register_online(LICENCE_KEY, Installation.from_config(config), datetime.now(UTC))
        for sim in sims:
            sim.command("reset_counters")
        log = (directory / "connector.log").open("wb")
        loadavg_before = os.getloadavg()
        connector = start_connector(config, log)
        sampler = ProcessSampler({"connector": connector.pid,
                                  **{f"simulator {k}": sim.process.pid for k, sim in enumerate(sims)}})
        cpu_at_start = dict(sampler.cpu_seconds)
        database = directory / "calendar.db"
        try:
            initial: float | None = await wait_synced(database, mailboxes, args.stall, args.limit, connector,
                                                      progress)
        except Stalled as exc:
            result["stalled"] = str(exc)
            print(f"{mailboxes} mailboxes: STALLED: {exc}", flush=True)
            if connector.poll() is not None:
                return result
            initial = None
        sampler.sample()
        result["initial_sync_seconds"] = round(initial, 1) if initial is not None else None
        result["synced_at_measurement"] = len(synced_mailboxes(database))
        result["load_average_at_start"] = [round(x, 1) for x in loadavg_before]
        result["load_average_after_sync"] = [round(x, 1) for x in os.getloadavg()]
        result["sync_cpu_seconds"] = {
            name: round(cpu - cpu_at_start.get(name, 0.0), 1) for name, cpu in sampler.cpu_seconds.items()
        }
        requests: dict[str, int] = {}
        for sim in sims:
            for op, row in sim.command("counters")["counters"].items():
                if op != "GetStreamingEvents":
                    requests[op] = requests.get(op, 0) + row["total"]
        result["ews_requests"] = requests
        result["ews_requests_per_mailbox"] = round(sum(requests.values()) / mailboxes, 2)
        await asyncio.sleep(2.0)
        # Unfinished: changes in mailboxes already synchronized, while the others still sync.
        only = synced_mailboxes(database) if initial is None else None
        result["changes_made"] = "during the initial sync" if initial is None else "after the initial sync"
        latencies = await measure_changes(f"ws://127.0.0.1:{port}/ws", sims, args.changes, args.clients, only)
        result["changes"] = len(latencies)
        result["clients"] = args.clients
        result["changes_not_delivered"] = sum(1 for value in latencies if math.isinf(value))
        for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            value = percentile(latencies, q)
            # JSON has no infinity: a percentile among the undelivered changes is written as null
            result[f"change_to_client_{name}_ms"] = (
                round(value * 1000, 1) if value is not None and not math.isinf(value) else None
            )
        delivered = [value for value in latencies if not math.isinf(value)]
        result["change_to_client_mean_ms"] = round(statistics.mean(delivered) * 1000, 1) if delivered else None
    finally:
        if sampler is not None:
            sampler.stop()
            # The connector's process and its children, each at its own peak: an upper bound of their sum.
            result["connector_peak_rss_mib"] = round(
                sum(v for k, v in sampler.peak_rss_kib.items() if k.startswith("connector")) / 1024, 1
            )
            result["connector_child_processes"] = sum(1 for k in sampler.pids if k.startswith("connector child"))
            result["connector_peak_rss_mib_by_process"] = {
                k: round(v / 1024, 1) for k, v in sampler.peak_rss_kib.items() if k.startswith("connector")
            }
            sims_rss = [v for k, v in sampler.peak_rss_kib.items() if k.startswith("simulator")]
            result["simulator_peak_rss_mib"] = [round(v / 1024, 1) for v in sims_rss]
            result["cpu_seconds_total"] = {k: round(v, 1) for k, v in sampler.cpu_seconds.items()}
        result["sync_progress"] = progress
        if connector is not None and connector.poll() is None:
            connector.terminate()
            try:
                connector.wait(60)
            except subprocess.TimeoutExpired:
                connector.kill()
        for sim in sims:
            sim.stop()
    return result


def print_table(rows: list[dict[str, Any]]) -> None:
    header = ("mailboxes", "sims", "initial s", "s/mbx vs base", "req/mbx", "conn RSS MiB", "sim RSS MiB (max)",
              "conn CPU s", "sims CPU s", "p50 ms", "p95 ms", "p99 ms")
    widths = (9, 4, 9, 13, 7, 12, 17, 10, 10, 7, 7, 7)
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, widths, strict=True)))
    base = rows[0]
    for row in rows:
        if "changes" not in row:
            print(f"{row['mailboxes']:>9} stalled: {row.get('stalled')}")
            continue
        if row["changes_not_delivered"]:
            print(f"{row['mailboxes']:>9} {row['changes_not_delivered']} of {row['changes']} changes did not reach "
                  f"their client within {CHANGE_TIMEOUT:.0f} s (percentiles among them: None)")
        if row["initial_sync_seconds"] is None:
            print(f"{row['mailboxes']:>9} not synced within the limit: {row.get('synced_at_measurement')} mailboxes "
                  "synced; the latencies below are of changes made during the initial sync")
        ratio = None
        if base.get("initial_sync_seconds") and row["initial_sync_seconds"]:
            per_mailbox = row["initial_sync_seconds"] / row["mailboxes"]
            ratio = per_mailbox / (base["initial_sync_seconds"] / base["mailboxes"])
        cpu = row.get("sync_cpu_seconds", {})
        sims_cpu = sum(v for k, v in cpu.items() if k.startswith("simulator"))
        connector_cpu = sum(v for k, v in cpu.items() if k.startswith("connector"))
        print(
            f"{row['mailboxes']:>9} {row['simulators']:>4} {row['initial_sync_seconds']!s:>9} "
            f"{(f'{ratio:.2f}' if ratio else '-'):>13} {row['ews_requests_per_mailbox']:>7} "
            f"{row['connector_peak_rss_mib']:>12} {max(row['simulator_peak_rss_mib']):>17} "
            f"{connector_cpu:>10.1f} {sims_cpu:>10.1f} {row['change_to_client_p50_ms']!s:>7} "
            f"{row['change_to_client_p95_ms']!s:>7} {row['change_to_client_p99_ms']!s:>7}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mailboxes", default="100,10000", help="sizes, the first is the baseline")
    parser.add_argument("--events", type=int, default=10, help="events per mailbox")
    parser.add_argument("--simulators", type=int, default=4, help="EWS simulator processes sharing the mailboxes")
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--latency-ms", type=int, default=20, help="added by the simulators to every EWS request")
    parser.add_argument("--stall", type=float, default=120.0, help="stop when no mailbox completes for this long")
    parser.add_argument("--limit", type=float, default=1800.0,
                        help="stop waiting for the initial sync after this long, and measure the changes during it")
    parser.add_argument("--keep", type=Path, default=None, help="keep the logs and databases in this directory")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for count in (int(n) for n in args.mailboxes.split(",")):
            row = await run(count, args, workdir)
            rows.append(row)
            print(json.dumps(row), flush=True)
            RESULTS.parent.mkdir(exist_ok=True)  # after every size: a later failure keeps the earlier rows
            RESULTS.write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    print_table(rows)


if __name__ == "__main__":
    asyncio.run(main())
