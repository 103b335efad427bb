"""Two connector nodes, one killed with SIGKILL: takeover time, changes lost and duplicated, conferences started.

Starts two ``tc_calendar run`` processes on a new schema of the PostgreSQL server ``--database`` (default
``TC_CALENDAR_TEST_PG``), the Exchange and TrueConf Server simulators on threads of this process, and a WebSocket
client on each node. Once the nodes share the ``--mailboxes`` mailboxes, one node is killed; a meeting is created
in one of the mailboxes every ``--pace`` seconds from then until a few seconds after the survivor holds every
lease, and ``--conferences`` linked meetings start just after the lease time. Takeover is the time from the kill to
the survivor holding every mailbox's lease (its baseline: ``cluster.leaseSeconds``); lost and duplicated count the
meetings whose upsert reached the survivor's client zero times or more than once; each conference must be started
once. Prints a table and writes bench/results/nodes.json.

    TC_CALENDAR_TEST_PG=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/nodes.py \\
        [--mailboxes 40] [--lease 10] [--pace 0.25] [--conferences 10]
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
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "service"))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))  # the tests' own helpers, which node_processes uses

from node_processes import SERVICE_LOGIN, SERVICE_PASSWORD, Node, eventually, holders, listen, write_config

from ews_sim.server import EwsSimulator
from ews_sim.world import World
from ports import free_port
from tc_calendar.store import Store, upgrade_async
from tcs_sim.runner import SimServer
from tcs_sim.seed import seed_world
from tcs_sim.state import World as TrueConfWorld

RESULTS = Path(__file__).parent / "results" / "nodes.json"


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").difference_update_query(["schema"]).render_as_string(False)


async def measure(server: str, mailboxes: int, lease: float, pace: float, conferences: int) -> dict[str, Any]:
    schema = f"tcc_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(_dsn(server))
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(server).update_query_dict({"schema": schema}).render_as_string(False)
    users = [f"user{n:03d}@corp.test" for n in range(mailboxes)]
    world = World()
    world.add_service_account(SERVICE_LOGIN, SERVICE_PASSWORD, impersonation=True)
    for user in users:
        world.add_mailbox(user, user.split("@")[0], "Europe/Berlin")
    tcs_users = [{"id": user.split("@")[0], "email": user, "display_name": user} for user in users]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    nodes: list[Node] = []
    try:
        await upgrade_async(url)
        with tempfile.TemporaryDirectory() as tmp, EwsSimulator(world, host="127.0.0.1", port=0) as exchange, \
                SimServer(seed_world(TrueConfWorld(), users=tcs_users)) as trueconf:
            store = Store.open(url)
            for name in ("node-a", "node-b"):
                port = free_port()
                config = write_config(Path(tmp) / name, Path(tmp) / "calendar.key", name, url, exchange, trueconf,
                                      port, users, lease)
                nodes.append(Node(name, config, port, Path(tmp) / f"{name}.log"))
            a, b = nodes
            for node in nodes:
                node.start()

            async def shared() -> bool:
                states = {s.state.value for s in await store.list_mailboxes()}
                return set((await holders(store)).values()) == {a.name, b.name} and states == {"ok"}

            await eventually(shared, what="both nodes synchronizing", within=120)
            on_a = sorted(email for email, owner in (await holders(store)).items() if owner == a.name)
            survivor = await listen(b)
            await listen(a)

            soon = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=lease + 6)
            cids = {}
            for index in range(conferences):
                cid, user = f"880{index:04d}", (on_a + users)[index % len(on_a + users)]
                trueconf.world.create_conference({"id": cid, "topic": cid, "owner": user.split("@")[0]})
                world.create_meeting(user, f"Conference {cid}", soon, soon + timedelta(minutes=30),
                                     location=f"{trueconf.url}/c/{cid}")
                cids[cid] = (user, f"Conference {cid}")
            await eventually(lambda: asyncio.sleep(0, set(cids.values()) <= set(survivor.upserts())),
                             what="the linked meetings at the survivor's client")

            killed = time.monotonic()
            a.kill()
            made: dict[tuple[str, str], float] = {}
            takeover: float | None = None
            index = 0
            while time.monotonic() < killed + 120 and (takeover is None or time.monotonic() < killed + takeover + 3):
                user = (on_a + users)[index % (len(on_a) + len(users))]
                title = f"Made {index}"
                world.create_meeting(user, title, tomorrow + timedelta(minutes=index), tomorrow + timedelta(hours=2))
                made[(user, title)] = time.monotonic()
                index += 1
                if takeover is None and set((await holders(store)).values()) == {b.name}:
                    takeover = time.monotonic() - killed
                await asyncio.sleep(pace)
            with_conferences = set(made) | set(cids.values())
            try:
                await eventually(lambda: asyncio.sleep(0, with_conferences <= set(survivor.upserts())),
                                 what="every change at the survivor", within=60)
                await eventually(lambda: asyncio.sleep(0, all(trueconf.world.runs_of(cid) for cid in cids)),
                                 what="every conference started", within=60)
            except AssertionError as exc:
                print(exc)
            await asyncio.sleep(lease)  # what would come twice has had time to
            received: Counter[tuple[str, str]] = survivor.upserts()
            runs = [len(trueconf.world.runs_of(cid)) for cid in cids]
            result = {
                "mailboxes": mailboxes,
                "lease_s": lease,
                "mailboxes_on_killed_node": len(on_a),
                "takeover_s": takeover,
                "changes_made_after_kill": len(made),
                "changes_lost": sum(1 for change in with_conferences if received[change] == 0),
                "changes_duplicated": sum(1 for change in with_conferences if received[change] > 1),
                "conferences": conferences,
                "conferences_started_once": sum(1 for n in runs if n == 1),
                "conferences_started_twice_or_more": sum(1 for n in runs if n > 1),
            }
            await store.close()
    finally:
        for node in nodes:
            node.stop()
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=os.environ.get("TC_CALENDAR_TEST_PG"),
                        help="PostgreSQL server URL (default: TC_CALENDAR_TEST_PG)")
    parser.add_argument("--mailboxes", type=int, default=40)
    parser.add_argument("--lease", type=float, default=10.0, help="cluster.leaseSeconds of both nodes")
    parser.add_argument("--pace", type=float, default=0.25, help="seconds between changes made after the kill")
    parser.add_argument("--conferences", type=int, default=10)
    args = parser.parse_args()
    if not args.database:
        parser.error("give --database or set TC_CALENDAR_TEST_PG")
    result = asyncio.run(measure(args.database, args.mailboxes, args.lease, args.pace, args.conferences))
    print(f"{'mailboxes':>9}  {'on killed':>9}  {'lease':>5}  {'takeover':>8}  {'changes':>7}  {'lost':>4}  "
          f"{'dup':>3}  {'conf once':>9}  {'conf twice':>10}")
    takeover = result["takeover_s"]
    print(f"{result['mailboxes']:>9}  {result['mailboxes_on_killed_node']:>9}  {result['lease_s']:>4.0f}s  "
          f"{takeover if takeover is not None else float('nan'):>7.1f}s  {result['changes_made_after_kill']:>7}  "
          f"{result['changes_lost']:>4}  {result['changes_duplicated']:>3}  "
          f"{result['conferences_started_once']:>4}/{result['conferences']:<4}  "
          f"{result['conferences_started_twice_or_more']:>10}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
