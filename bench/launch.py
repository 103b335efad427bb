"""Conference launch delay: from an occurrence's start time to TrueConf Server receiving ``run``.

Runs the real launcher over a real store (SQLite in a temporary directory) against the TrueConf Server simulator
on 127.0.0.1. ``--meetings`` linked meetings start over ``--spread`` seconds; the delay of each is the
simulator's record of the ``run`` call minus the meeting's start. The baseline, measured in the same run, is one
bare ``run`` round trip through the same REST client: the ratio says how much the scheduling itself adds.
Prints a table and writes bench/results/launch.json.

    .venv/bin/python bench/launch.py [--meetings 40] [--spread 8]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tc_calendar.launch_scheduler import LaunchScheduler
from tc_calendar.model import Attendee, ConferenceLink, Occurrence, OccurrenceKey, Response, Role
from tc_calendar.store import Store, upgrade_async
from tc_calendar.sync.actions import PutOccurrence
from tc_calendar.trueconf.client import TrueConfClient
from tc_calendar.trueconf.users import InMemoryUserCache, UserResolver
from tcs_sim.runner import SimServer
from tcs_sim.seed import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, seed_world
from tcs_sim.state import World

RESULTS = Path(__file__).parent / "results" / "launch.json"
ORGANIZER = "alice@example.test"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def linked_meeting(index: int, start: datetime) -> Occurrence:
    cid = f"bench_{index}"
    return Occurrence(
        key=OccurrenceKey(f"bench-{index}"),
        title=f"Bench {index}",
        start=start,
        end=start + timedelta(minutes=30),
        organizer=Attendee(ORGANIZER, "Alice", Role.ORGANIZER, Response.ORGANIZER),
        attendees=(Attendee("bob@example.test", "Bob", Role.REQUIRED, Response.ACCEPTED),),
        conference=ConferenceLink(cid, f"https://tcs.example.test/c/{cid}"),
    )


async def baseline_round_trip(client: TrueConfClient, sim: SimServer, samples: int = 20) -> list[float]:
    sim.world.create_conference({"id": "bench_baseline", "topic": "baseline", "owner": "alice"})
    timings = []
    for _ in range(samples):
        began = time.perf_counter()
        await client.run_conference("bench_baseline")
        timings.append((time.perf_counter() - began) * 1000)
        sim.world.stop_conference("bench_baseline")
    return timings


async def measure(meetings: int, spread: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, SimServer(seed_world(World())) as sim:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await upgrade_async(url)
        store = Store.open(url)
        client = TrueConfClient.connect(sim.url, client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET)
        try:
            baseline = await baseline_round_trip(client, sim)
            first = datetime.now(UTC) + timedelta(seconds=2)
            starts = {}
            for index in range(meetings):
                start = first + timedelta(seconds=spread * index / max(1, meetings - 1))
                starts[f"bench_{index}"] = start
                sim.world.create_conference({"id": f"bench_{index}", "topic": "bench", "owner": "alice"})
                occurrence = linked_meeting(index, start)
                digest = hashlib.sha256(repr(occurrence).encode()).hexdigest()
                await store.apply([PutOccurrence(ORGANIZER, f"item-{index}", occurrence, Response.ORGANIZER,
                                                 True, digest)])
            launcher = LaunchScheduler(store, client, UserResolver(client, InMemoryUserCache()))
            stop = asyncio.Event()
            running = asyncio.create_task(launcher.run(stop))
            deadline = time.monotonic() + spread + 30
            # The simulator records runs in its own thread; polling its records is the simple way to wait.
            while time.monotonic() < deadline and not all(sim.world.runs_of(cid) for cid in starts):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            stop.set()
            await running
            delays = [
                (sim.world.runs_of(cid)[0].at - start.timestamp()) * 1000
                for cid, start in starts.items() if sim.world.runs_of(cid)
            ]
        finally:
            await client.aclose()
            await store.close()
    return {
        "meetings": meetings,
        "started": len(delays),
        "baseline_run_ms_p50": statistics.median(baseline),
        "launch_delay_ms_p50": percentile(delays, 0.5) if delays else None,
        "launch_delay_ms_p99": percentile(delays, 0.99) if delays else None,
        "launch_delay_ms_max": max(delays) if delays else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meetings", type=int, default=40)
    parser.add_argument("--spread", type=float, default=8.0, help="seconds over which the meetings start")
    args = parser.parse_args()
    result = asyncio.run(measure(args.meetings, args.spread))
    base = result["baseline_run_ms_p50"]
    print(f"{'meetings':>8}  {'started':>7}  {'run RTT p50':>11}  {'delay p50':>9}  {'delay p99':>9}  {'p50/RTT':>7}")
    p50, p99 = result["launch_delay_ms_p50"], result["launch_delay_ms_p99"]
    ratio = p50 / base if p50 is not None and base else float("nan")
    print(f"{result['meetings']:>8}  {result['started']:>7}  {base:>9.1f}ms  {p50 or 0:>7.1f}ms  {p99 or 0:>7.1f}ms  "
          f"{ratio:>7.1f}")
    result["delay_p50_over_baseline"] = ratio
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
