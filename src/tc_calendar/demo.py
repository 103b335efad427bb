"""``tc_calendar demo``: the whole product on one machine, with a little life going on.

It starts the shipped scenario (a 20-person company) as a **hybrid organization**: the Berlin head office's
mailboxes on an on-premises Exchange Server read through EWS (the Exchange simulator), the branch offices'
mailboxes (Moscow, New York, London, Tokyo) in Exchange Online read through Microsoft Graph (the Graph simulator
serving the same Exchange world, so a meeting between the two halves is one meeting). With them run the TrueConf
Server simulator and the connector on SQLite with the web calendar, exactly as ``tc_calendar run`` would run
against real servers: the demo writes a real ``config.json`` (two ``calendarProviders`` entries, encrypted
secrets, a key file) and loads it. Then every ``--pace`` seconds someone does something in Exchange (answers an
invitation, moves or cancels a meeting, books a TrueConf meeting that starts a minute later, organized in turn
by an on-premises and a cloud user) so a newcomer watches real-time sync and automatic start for both kinds of
mailbox.

Graph changes arrive by change notifications: the Graph simulator posts them to the connector's own HTTP server
(``/graph/notifications``), over plain http on loopback, which it allows for this local demo
(``allow_http_notifications``); Microsoft Graph itself requires a public https URL (docs/graph.md).

The simulators are separate packages (``ews_sim``, ``graph_sim``, ``tcs_sim``) installed next to the connector by
``scripts/demo``; they are imported here only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import logging
import secrets
import shutil
import signal
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from tc_calendar.config import load_settings
from tc_calendar.crypto import SecretBox
from tc_calendar.engine.runner import SyncOptions
from tc_calendar.service import RunningConnector, running_connector
from tc_calendar.sync.links import LinkFinder

log = logging.getLogger("tc_calendar.demo")

WEB_LOGIN = "admin"
TCS_SERVER_ID = "tcs.example.com#vcs"
SERVICE_LOGIN = "svc-trueconf"
SCENARIO_TCS_URL = "https://tcs.example.com"
HEAD_OFFICE_ZONE = "Europe/Berlin"
"""The head office's mailboxes (and its meeting room) stay on Exchange Server; every other office is in Exchange
Online."""
GRAPH_POLL_SECONDS = 5
"""Polling pace of a cloud mailbox whose subscription could not be made (notifications are the normal path)."""


@dataclass
class DemoWorld:
    """The running simulators and what the demo knows about the scenario."""

    ews: Any
    tcs: Any
    meeting_uids: dict[str, str]
    mailboxes: list[str]
    service_password: str
    web_password: str
    ca_bundle: str | None
    graph: Any = None
    cloud_mailboxes: list[str] = field(default_factory=list)
    """The mailboxes in Exchange Online, read through Graph; the others are on-premises, read through EWS."""

    @property
    def onprem_mailboxes(self) -> list[str]:
        return [m for m in self.mailboxes if m not in self.cloud_mailboxes]

    def stop(self) -> None:
        self.ews.stop()
        if self.graph is not None:
            self.graph.stop()
        self.tcs.stop()


@dataclass
class RunningDemo:
    connector: RunningConnector
    world: DemoWorld
    life: DemoLife

    @property
    def page_url(self) -> str:
        return f"{self.connector.http_url}/calendar/"


def _scenario() -> dict[str, Any]:
    text = resources.files("ews_sim").joinpath("scenarios/demo.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def start_simulators(
    web_password: str, *, ews_port: int = 0, tcs_port: int = 0, graph_port: int = 0
) -> DemoWorld:
    """One Exchange world served over EWS and over Microsoft Graph (each over HTTPS with its own self-signed
    certificate), TrueConf Server with matching users; each on the given port, or any free one (0)."""
    from ews_sim.server import EwsSimulator
    from ews_sim.world import World as ExchangeWorld
    from ews_sim.world.scenario import load_scenario
    from graph_sim.server import GraphSimulator
    from tcs_sim.runner import SimServer
    from tcs_sim.seed import seed_world
    from tcs_sim.state import World as TrueConfWorld

    scenario = _scenario()
    users = [
        {"id": m["smtp"].split("@")[0].replace(".", "_"), "email": m["smtp"], "display_name": m["name"]}
        for m in scenario["mailboxes"]
    ]
    tcs = SimServer(seed_world(TrueConfWorld(server_name="tcs.example.com"), users, conferences=False),
                    port=tcs_port).start()
    # The scenario's links name the company's TrueConf Server; point them at the simulator so Join works.
    scenario = json.loads(json.dumps(scenario).replace(SCENARIO_TCS_URL, tcs.url))
    owner = users[0]["id"]
    for conference_id in _linked_conferences(scenario):
        tcs.world.create_conference({"id": conference_id, "topic": conference_id, "owner": owner})
    exchange_world = ExchangeWorld()
    uids = load_scenario(scenario, exchange_world)
    service = next(a for a in scenario["service_accounts"] if a.get("impersonation"))
    mailboxes = [m["smtp"] for m in scenario["mailboxes"]]
    cloud = [m["smtp"] for m in scenario["mailboxes"] if m.get("time_zone") != HEAD_OFFICE_ZONE]
    ews = EwsSimulator(exchange_world, host="127.0.0.1", port=ews_port, https=True).start()
    ca_bundle = ews.certificate.cert_file if ews.certificate is not None else None
    try:
        graph = GraphSimulator(exchange_world, host="127.0.0.1", port=graph_port, allow_http_notifications=True)
        graph.start()
    except BaseException:
        ews.stop()
        tcs.stop()
        raise
    return DemoWorld(ews, tcs, uids, mailboxes, service["password"], web_password, ca_bundle, graph, cloud)


def _linked_conferences(scenario: dict[str, Any]) -> list[str]:
    """The conferences the scenario's meetings link to, found by the connector's own link rules, so the
    TrueConf simulator has exactly the conferences the connector will try to start."""
    finder = LinkFinder()
    found = set()
    for meeting in scenario.get("meetings", []):
        link = finder.find([str(meeting.get("location", "")), str(meeting.get("body", ""))])
        if link is not None:
            found.add(link.conference_id)
    return sorted(found)


def write_config(directory: Path, world: DemoWorld, port: int) -> Path:
    """A real config.json for the demo world: an EWS provider for the on-premises mailboxes and a Graph provider
    (change notifications to this connector's ``port``) for the cloud ones, encrypted secrets under a fresh key
    file, SQLite beside it."""
    from tcs_sim.seed import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    box = SecretBox.load_or_create(directory / "calendar.key")
    providers: list[dict[str, Any]] = [
        {
            "host": "127.0.0.1",
            "port": world.ews.port,
            "path": "/EWS/Exchange.asmx",
            "type": "ews",
            "auth": "basic",
            "caBundle": world.ca_bundle,
            "exchangeVersion": "Exchange2016",
            "credentials": [{"login": SERVICE_LOGIN, "password": box.encrypt(world.service_password)}],
            "users": world.onprem_mailboxes,
        }
    ]
    if world.graph is not None and world.cloud_mailboxes:
        graph = world.graph
        providers.append({
            "type": "graph",
            "tenantId": graph.tenant_id,
            "clientId": graph.client_id,
            "clientSecret": box.encrypt(graph.client_secret),
            "authorityHost": graph.base_url,
            "graphHost": graph.base_url,
            "caBundle": graph.ca_file,
            # Plain http on loopback, which the Graph simulator allows for this demo; Microsoft Graph needs the
            # public https URL of the connector (docs/graph.md, "Notifications or polling").
            "notificationUrl": f"http://127.0.0.1:{port or 4315}/graph/notifications",
            "pollIntervalSeconds": GRAPH_POLL_SECONDS,
            "users": world.cloud_mailboxes,
        })
    config: dict[str, Any] = {
        "wsPort": port or 4315,  # 0 (any free port) is passed to the service directly, not through the file
        "launchConference": True,
        "temporalConfParticipantsMode": False,
        "cache": {"autoSync": True, "backward": 1, "forward": 2},
        "productWhitelist": {"tcs": [TCS_SERVER_ID]},
        "calendarProviders": providers,
        "sqlitePath": "calendar.db",
        "api": {"host": "127.0.0.1"},
        "web": {"users": {WEB_LOGIN: box.encrypt(world.web_password)}},
        "trueconf": {
            "url": world.tcs.url,
            "clientId": DEFAULT_CLIENT_ID,
            "clientSecret": box.encrypt(DEFAULT_CLIENT_SECRET),
            "apiVersion": "v4",
        },
    }
    path = directory / "config.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


QUICK_SYNC_PEOPLE: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Anna Schmidt", "anna.schmidt@nordwind.example",
     ("lukas.weber@nordwind.example", "sophie.mueller@nordwind.example"), ("paul.schulz@nordwind.example",)),
    ("John Miller", "john.miller@nordwind.example",
     ("emily.davis@nordwind.example", "sophie.mueller@nordwind.example"), ("ivan.petrov@nordwind.example",)),
)
"""Who books the quick syncs, in turn: the organizer's name and address, required and optional attendees."""


@dataclass
class DemoLife:
    """Small, visible changes in Exchange, one every ``pace`` seconds, each announced on the console."""

    world: DemoWorld
    pace: float
    say: Callable[[str], None]
    quick_sync_lead: timedelta = timedelta(seconds=60)
    step: int = 0
    quick_syncs: int = 0
    coffee_uid: str | None = None
    moved_hours: int = 0
    done: list[str] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.pace)
            if stop.is_set():
                return
            try:
                self.act()
            except Exception as exc:  # a scenario that changed under us must not end the demo
                log.warning("demo step skipped: %s", exc)

    def act(self) -> str:
        actions = (self.book_quick_sync, self.answer, self.move, self.cancel)
        message = actions[self.step % len(actions)]()
        self.step += 1
        self.done.append(message)
        self.say(message)
        return message

    @property
    def _exchange(self) -> Any:
        return self.world.ews.world

    def book_quick_sync(self) -> str:
        """A TrueConf meeting a minute ahead, booked in turn by an on-premises organizer (Anna Schmidt, through
        EWS) and a cloud one (John Miller, through Graph), with attendees from both halves of the organization."""
        self.quick_syncs += 1
        conference_id = f"quick_sync_{self.quick_syncs}"
        name, organizer, required, optional = QUICK_SYNC_PEOPLE[(self.quick_syncs - 1) % len(QUICK_SYNC_PEOPLE)]
        owner = organizer.split("@")[0].replace(".", "_")
        self.world.tcs.world.create_conference({"id": conference_id, "topic": "Quick sync", "owner": owner})
        start = (datetime.now(UTC) + self.quick_sync_lead).replace(microsecond=0)
        self._exchange.create_meeting(
            organizer, f"Quick sync #{self.quick_syncs}", start, start + timedelta(minutes=15),
            required=list(required), optional=list(optional),
            location=f"{self.world.tcs.url}/c/{conference_id}",
            body=f"A short TrueConf meeting. Join: {self.world.tcs.url}/c/{conference_id}",
        )
        where = "in Exchange Online" if organizer in self.world.cloud_mailboxes else "on Exchange Server"
        return (f"{name} ({where}) booked 'Quick sync #{self.quick_syncs}' at {start:%H:%M:%S} UTC with a TrueConf "
                "link; watch it start on the TrueConf Server simulator")

    def answer(self) -> str:
        uid = self.meeting_uid("launch-planning")
        attendees = _attendee_addresses(self._organizer_item(uid))
        attendee = attendees[(self.step // 4) % len(attendees)]
        answer = ("Accept", "Tentative")[(self.step // 4) % 2]
        self._exchange.respond(attendee, uid, answer)
        return f"{attendee} answered '{answer}' to 'Launch planning'"

    def move(self) -> str:
        uid = self.meeting_uid("customer-demo")
        organizer_item = self._organizer_item(uid)
        delta = timedelta(hours=1 if self.moved_hours <= 0 else -1)
        self.moved_hours += 1 if delta > timedelta(0) else -1
        start = organizer_item.start + delta
        self._exchange.update_meeting(organizer_item.mailbox, uid, start=start, end=organizer_item.end + delta)
        return f"'Product demo for Acme Corp' moved to {start:%a %H:%M} UTC"

    def cancel(self) -> str:
        if self.coffee_uid is None:
            uid = self.meeting_uid("uk-partner-call")
            item = self._organizer_item(uid)
            self._exchange.cancel_meeting(item.mailbox, uid)
            message = "'UK partner call' was cancelled; attendees see 'Canceled: UK partner call'"
        else:
            self._exchange.cancel_meeting("marie.hoffmann@nordwind.example", self.coffee_uid)
            message = "'Coffee chat' was cancelled"
        start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
        coffee = self._exchange.create_meeting(
            "marie.hoffmann@nordwind.example", "Coffee chat", start, start + timedelta(minutes=30),
            required=["jonas.fischer@nordwind.example"], location="Kitchen, 3rd floor",
        )
        self.coffee_uid = coffee.uid
        return message + "; Marie Hoffmann booked a new 'Coffee chat' for tomorrow 10:00 UTC"

    def meeting_uid(self, scenario_id: str) -> str:
        return self.world.meeting_uids[scenario_id]

    def _organizer_item(self, uid: str) -> Any:
        for item in self._exchange.items_by_uid(uid):
            if item.is_organizer and item.recurring_master_id is None:
                return item
        raise LookupError(f"no organizer copy of {uid}")


def _attendee_addresses(item: Any) -> list[str]:
    return [a.mailbox.email_address for a in (*item.required_attendees, *item.optional_attendees)]


@contextlib.asynccontextmanager
async def running_demo(
    directory: Path,
    *,
    port: int = 4315,
    pace: float = 20.0,
    say: Callable[[str], None] = print,
    ews_port: int = 0,
    tcs_port: int = 0,
    graph_port: int = 0,
) -> AsyncIterator[RunningDemo]:
    """The demo world and the connector on it; everything stops when the block exits."""
    await asyncio.to_thread(_fresh_directory, directory)
    # The connector's port is taken first: the Graph provider's notification URL names it.
    listener = _listen("127.0.0.1", port)
    world = await asyncio.to_thread(
        functools.partial(
            start_simulators, secrets.token_urlsafe(9), ews_port=ews_port, tcs_port=tcs_port, graph_port=graph_port
        )
    )
    try:
        settings = load_settings(write_config(directory, world, listener.getsockname()[1]))
        options = SyncOptions(auto_sync=True, backward_months=1, forward_months=2, fallback_poll_interval=5.0)
        async with running_connector(settings, sock=listener, sync_options=options) as connector:
            life = DemoLife(world, pace, say)
            stop = asyncio.Event()
            task = asyncio.create_task(life.run(stop), name="demo-life")
            try:
                yield RunningDemo(connector, world, life)
            finally:
                stop.set()
                await task
    finally:
        listener.close()
        world.stop()


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket for the connector's HTTP server (port 0: any free one)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
    except OSError:
        listener.close()
        raise
    return listener


def _fresh_directory(directory: Path) -> None:
    """The scenario is rebuilt relative to today on every start, so yesterday's data would only mislead."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tc_calendar demo",
        description="The whole product on one machine: a hybrid organization (on-premises mailboxes read through "
                    "EWS, Exchange Online mailboxes through Microsoft Graph, one simulated Exchange behind both), "
                    "the TrueConf Server simulator, the connector on SQLite and the web calendar, with a change in "
                    "Exchange every --pace seconds.",
    )
    parser.add_argument("--port", type=int, default=4315,
                        help="port of the web calendar and API (default 4315; 0: any free port)")
    parser.add_argument("--dir", type=Path, default=Path("var/demo"),
                        help="where the demo keeps its config and data; emptied at start (default var/demo)")
    parser.add_argument("--pace", type=float, default=20.0,
                        help="seconds between simulated changes in Exchange (default 20)")
    parser.add_argument("--ews-port", type=int, default=0, metavar="PORT",
                        help="port of the Exchange simulator (HTTPS; default 0: any free port)")
    parser.add_argument("--graph-port", type=int, default=0, metavar="PORT",
                        help="port of the Microsoft Graph simulator (HTTPS; default 0: any free port)")
    parser.add_argument("--tcs-port", type=int, default=0, metavar="PORT",
                        help="port of the TrueConf Server simulator (default 0: any free port)")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with running_demo(args.dir, port=args.port, pace=args.pace, ews_port=args.ews_port,
                            tcs_port=args.tcs_port, graph_port=args.graph_port,
                            say=lambda text: print(f"[demo] {text}", flush=True)) as demo:
        print(_banner(demo), flush=True)
        await stop.wait()
    print("[demo] stopped", flush=True)


def _banner(demo: RunningDemo) -> str:
    world = demo.world
    return "\n".join([
        "",
        "tc-calendar demo is running.",
        f"  Web calendar:        {demo.page_url}",
        f"  Sign in as:          {WEB_LOGIN} / {world.web_password}",
        f"  Health and metrics:  {demo.connector.http_url}/health  {demo.connector.http_url}/metrics",
        f"  WebSocket API:       {demo.connector.url}",
        f"  Exchange Server:     {world.ews.url} (EWS, service account {SERVICE_LOGIN}): "
        f"{len(world.onprem_mailboxes)} on-premises mailboxes (Berlin)",
        f"  Exchange Online:     {world.graph.graph_url if world.graph else '-'} (Microsoft Graph, change "
        f"notifications): {len(world.cloud_mailboxes)} cloud mailboxes (other offices)",
        f"  TrueConf simulator:  {world.tcs.url}",
        f"  Config and data:     {demo.connector.settings.config_path.parent}",
        "Pick a user (e.g. sophie.mueller@nordwind.example on-premises, john.miller@nordwind.example in the cloud) "
        "and watch the changes below appear. Ctrl+C stops.",
        "",
    ])


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    asyncio.run(_serve(args))
    return 0
