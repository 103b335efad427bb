"""Conference launch delay: from an occurrence's start time to TrueConf Server receiving ``run``.

Runs the real launcher over a real store (SQLite in a temporary directory) against the TrueConf Server simulator
on 127.0.0.1. ``--meetings`` linked meetings start over ``--spread`` seconds (0: all at the same moment), the
first one ``--lead`` seconds plus two from now, so the launcher (preparing ``--lead`` seconds ahead; 60 in
production, ``--lead 0`` does everything at the start) has time to prepare each; the delay of each is the
simulator's record of the ``run`` call minus the meeting's start. The baseline, measured in the same run, is one
bare ``run`` round trip through the same REST client: the ratio says how much the scheduling itself adds.
Prints a table and writes bench/results/launch.json.

    .venv/bin/python bench/launch.py [--meetings 40] [--spread 8] [--lead 5]
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

from tc_calendar.launch_scheduler import LaunchScheduler, SchedulerOptions
from tc_calendar.model import Attendee, ConferenceLink, Occurrence, OccurrenceKey, Response, Role
from tc_calendar.store import Store, upgrade_async
from tc_calendar.sync.actions import PutOccurrence
from tc_calendar.trueconf.client import TrueConfClient
from tc_calendar.trueconf.launch_plan import LaunchPolicy
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


async def baseline_together(client: TrueConfClient, sim: SimServer, count: int) -> list[float]:
    """``count`` bare ``run`` calls sent at once: the floor for meetings that start at the same moment."""
    cids = [f"bench_together_{n}" for n in range(count)]
    for cid in cids:
        sim.world.create_conference({"id": cid, "topic": "baseline", "owner": "alice"})
    await asyncio.gather(*(client.get_conference(cid) for cid in cids))  # connections open, as after preparing
    sent = time.time()
    await asyncio.gather(*(client.run_conference(cid) for cid in cids))
    return [(sim.world.runs_of(cid)[0].at - sent) * 1000 for cid in cids]


async def measure(meetings: int, spread: float, lead: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, SimServer(seed_world(World())) as sim:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await upgrade_async(url)
        store = Store.open(url)
        client = TrueConfClient.connect(sim.url, client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET)
        try:
            baseline = await baseline_round_trip(client, sim)
            together = await baseline_together(client, sim, meetings) if spread == 0 else None
            first = datetime.now(UTC) + timedelta(seconds=lead + 2)
            starts = {}
            for index in range(meetings):
                start = first + timedelta(seconds=spread * index / max(1, meetings - 1))
                starts[f"bench_{index}"] = start
                sim.world.create_conference({"id": f"bench_{index}", "topic": "bench", "owner": "alice"})
                occurrence = linked_meeting(index, start)
                digest = hashlib.sha256(repr(occurrence).encode()).hexdigest()
                await store.apply([PutOccurrence(ORGANIZER, f"item-{index}", occurrence, Response.ORGANIZER,
                                                 True, digest)])
            options = SchedulerOptions(policy=LaunchPolicy(lead=timedelta(seconds=lead)))
            launcher = LaunchScheduler(store, client, UserResolver(client, InMemoryUserCache()), options=options)
            stop = asyncio.Event()
            running = asyncio.create_task(launcher.run(stop))
            deadline = time.monotonic() + lead + spread + 30
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
        "spread_s": spread,
        "lead_s": lead,
        "started": len(delays),
        "baseline_run_ms_p50": statistics.median(baseline),
        "baseline_runs_together_ms_p50": percentile(together, 0.5) if together else None,
        "baseline_runs_together_ms_p99": percentile(together, 0.99) if together else None,
        "launch_delay_ms_p50": percentile(delays, 0.5) if delays else None,
        "launch_delay_ms_p99": percentile(delays, 0.99) if delays else None,
        "launch_delay_ms_max": max(delays) if delays else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meetings", type=int, default=40)
    parser.add_argument("--spread", type=float, default=8.0, help="seconds over which the meetings start")
    parser.add_argument("--lead", type=float, default=5.0, help="seconds before the start to prepare")
    args = parser.parse_args()
    result = asyncio.run(measure(args.meetings, args.spread, args.lead))
    base = result["baseline_run_ms_p50"]
    print(f"{'lead':>5}  {'spread':>6}  {'meetings':>8}  {'started':>7}  {'run RTT p50':>11}  {'delay p50':>9}  "
          f"{'delay p99':>9}  {'p50/RTT':>7}")
    p50, p99 = result["launch_delay_ms_p50"], result["launch_delay_ms_p99"]
    ratio = p50 / base if p50 is not None and base else float("nan")
    print(f"{args.lead:>4.0f}s  {args.spread:>5.0f}s  {result['meetings']:>8}  {result['started']:>7}  "
          f"{base:>9.1f}ms  {p50 or 0:>7.1f}ms  {p99 or 0:>7.1f}ms  {ratio:>7.1f}")
    result["delay_p50_over_baseline"] = ratio
    if result["baseline_runs_together_ms_p50"] is not None:
        print(f"{result['meetings']} bare runs sent at once reach the server after p50 "
              f"{result['baseline_runs_together_ms_p50']:.1f}ms, p99 {result['baseline_runs_together_ms_p99']:.1f}ms")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
